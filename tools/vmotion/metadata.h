/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * metadata.h: a migration's persistent metadata as the tool sees it
 * (metadata.c): how much a device needs, where each segment's area lies,
 * the checks on that place, and the header on disk (read, wipe, state).
 */
#ifndef VMOTION_METADATA_H
#define VMOTION_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct device;

#define MD_UUID_LEN	16
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", as the kernel logs it (%pUb) */
#define MD_UUID_STR	37

/* One segment's metadata area */
struct md_area {
	dev_t dev;		/* 0: none (in-memory mode) */
	char path[256];
	uint64_t offset;	/* sectors */
	uint64_t sectors;
	bool resumes;		/* holds this migration's progress: resumed */
};

/* The fields of a header the tool looks at */
struct md_header {
	uint32_t state;		/* enum dm_vmm_state */
	uint8_t uuid[MD_UUID_LEN];
	uint64_t length, region_size, nr_regions;
	uint64_t source_offset, dest_offset;
	uint64_t generation;
};

/* Sectors of metadata one segment of @len sectors needs (@region sectors) */
uint64_t md_segment_sectors(uint64_t len, uint64_t region);
/* ... and the whole device, its segments' areas one after another */
uint64_t md_device_sectors(const struct device *d, uint64_t region);

/*
 * Lay @d's segments' areas one after another from @offset on @dev (@path).
 */
void md_layout(const struct device *d, uint64_t region, dev_t dev,
	       const char *path, uint64_t offset, struct md_area *a);

/*
 * Refuse an area that is too small for @d, is the device itself, overlaps
 * the destination's migrated range (@dest, from sector 0, laid end to end)
 * or a source's, or lies on a disk in use by something else.  0 or -1
 * with a message that names the values.
 */
int md_check(const struct device *d, dev_t dest, const struct md_area *a,
	     uint64_t need);

/*
 * Read the header at @offset sectors of @path (O_DIRECT).  0: a valid
 * header, in *@h; 1: none (the block is all zeroes); 2: something else
 * (*@why says what); -1: cannot read, with a message.
 */
int md_read(const char *path, uint64_t offset, struct md_header *h,
	    const char **why);

/* Zero the 4 KiB header block (O_DIRECT, fsync).  0 or -1 with a message. */
int md_wipe(const char *path, uint64_t offset);

/*
 * Set the state of the header at @offset of @path to @state: read, check
 * magic, checksum and (if @uuid) the uuid, write back with its checksum,
 * O_DIRECT and fsync.  *@was, if given, is the state it had.  0 or -1 with
 * a message.
 */
int md_set_state(const char *path, uint64_t offset, const uint8_t *uuid,
		 uint32_t state, uint32_t *was);

const char *md_state_name(uint32_t state);
void md_uuid_str(const uint8_t *uuid, char *buf, size_t size);
int md_uuid_parse(const char *s, uint8_t *uuid);

#endif
