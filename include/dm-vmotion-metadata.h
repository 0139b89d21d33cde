/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The dm-vmotion authors.
 *
 * dm-vmotion's persistent metadata (dm-vmotion-metadata.c): a header and
 * two region bitmaps on a block device, in the format of
 * dm-vmotion-metadata-format.h.  It knows regions, bits and commits, never
 * bios: the target decides when a region is in sync and which writes need
 * a write-intent bit, and calls the commits in the order its rules need.
 *
 * Contexts: dm_vmm_open(), _reload(), _load(), the stage, write and state
 * functions may block and are called by one thread at a time (the
 * target's worker, or its constructor and suspend hooks while the worker
 * is stopped).  The bit tests, dm_vmm_touch() and the functions marked
 * "caller's lock" run in any context, under a lock of the caller that
 * serialises them with each other.
 */
#ifndef DM_VMOTION_METADATA_H
#define DM_VMOTION_METADATA_H

#include <linux/blkdev.h>
#include <linux/types.h>

#include "dm-vmotion-metadata-format.h"

struct dm_vmb;
struct dm_vmm;

/* What the table says; checked against what the header says. */
struct dm_vmm_geometry {
	sector_t length;
	sector_t region_size;
	unsigned long nr_regions;
	sector_t source_offset;
	sector_t source_size;
	sector_t dest_offset;
	sector_t dest_size;
};

/* The header in CPU byte order */
struct dm_vmm_header {
	u32 version;
	u32 state;
	u32 flags;
	u8 uuid[16];
	u64 length;
	u64 region_size;
	u64 nr_regions;
	u64 source_offset;
	u64 source_size;
	u64 dest_offset;
	u64 dest_size;
	u64 bitmap_blocks;
	u64 generation;
};

/* Most regions metadata keeps: 16 MiB per bitmap */
#define DM_VMM_MAX_REGIONS	BIT(27)

/* The format's checksum of a header sector (csum field taken as zero). */
u32 dm_vmm_header_csum(const void *sector);

/* Encode @h into the DM_VMM_BLOCK_SIZE bytes at @block, checksum included. */
void dm_vmm_header_encode(const struct dm_vmm_header *h, void *block);

/*
 * Decode the header block at @block.  0; -ENODATA if the block is all
 * zeroes (no metadata yet); -EINVAL with *@why set for a bad magic,
 * checksum or version.
 */
int dm_vmm_header_decode(const void *block, struct dm_vmm_header *h,
			 const char **why);

/*
 * Does @h describe the migration of @g?  0, or -EINVAL with *@why naming
 * the first field that differs (and a log line with both values).
 */
int dm_vmm_header_check(const struct dm_vmm_header *h,
			const struct dm_vmm_geometry *g, const char **why);

/*
 * Open the metadata at @offset sectors of @bdev for @g.  An area that is
 * all zeroes, or that records an aborted or failed migration, is formatted
 * for a new one; a header that does not match, or that records a switched
 * migration, is refused.  The bitmaps are read: call dm_vmm_load().
 * Returns an ERR_PTR with *@error set on failure.
 */
struct dm_vmm *dm_vmm_open(struct block_device *bdev, sector_t offset,
			   const struct dm_vmm_geometry *g, const char **error);
void dm_vmm_close(struct dm_vmm *md);

/*
 * Read the header and bitmaps again (before the first resume), formatting
 * as dm_vmm_open() does; a header that is now another migration's is
 * refused.
 */
int dm_vmm_reload(struct dm_vmm *md, const char **error);

/*
 * The state the header on disk says now (enum dm_vmm_state); -ESTALE if
 * it is no longer this migration's header (wiped, formatted again,
 * unreadable as a header); -EIO and the like for a failed read.
 */
int dm_vmm_read_state(struct dm_vmm *md);

/*
 * Set in @vmb the regions in sync: recorded in sync with no write-intent
 * bit.  Returns how many regions had a write-intent bit.
 */
unsigned long dm_vmm_load(struct dm_vmm *md, struct dm_vmb *vmb);

/* The header as last read or written */
const struct dm_vmm_header *dm_vmm_header(struct dm_vmm *md);
bool dm_vmm_formatted(struct dm_vmm *md);	/* by dm_vmm_open() */
/* ... and the area was all zeroes: not an aborted or failed migration's */
bool dm_vmm_was_blank(struct dm_vmm *md);

/*
 * Write the header with @state.  The tool's final states are never
 * overwritten: if the header on disk says switched or aborted, nothing is
 * written and -ESTALE is returned.
 */
int dm_vmm_set_state(struct dm_vmm *md, enum dm_vmm_state state);

/*
 * In-sync commits: stage @vmb's bits (true if they differ from the disk's),
 * begin (caller's lock: from now on the staged bits may be on disk), write
 * and flush, end (caller's lock: the staged bits are the disk's).  Begin
 * and end do one changed block a call, from *@block (0 the first time),
 * and return false when there is none left: the caller may let go of its
 * lock between two calls.
 */
bool dm_vmm_stage_synced(struct dm_vmm *md, struct dm_vmb *vmb);
bool dm_vmm_synced_begin(struct dm_vmm *md, unsigned long *block);
int dm_vmm_write_synced(struct dm_vmm *md);
bool dm_vmm_synced_end(struct dm_vmm *md, unsigned long *block);
/* May @region be recorded in sync on disk?  Caller's lock. */
bool dm_vmm_disk_synced(struct dm_vmm *md, unsigned long region);
/* Regions recorded in sync by the last commit; any context. */
unsigned long dm_vmm_nr_recorded(struct dm_vmm *md);

/*
 * Write intent.  A bit is "on" once it is on stable storage.  Setting:
 * dm_vmm_stage_intent() for each region, dm_vmm_write_intents(), then
 * dm_vmm_intent_set_on() for each.  Clearing: dm_vmm_clear_intent()
 * (caller's lock, and from the committing thread: it changes the image
 * the next write sends; off at once), then dm_vmm_write_intents().
 */
bool dm_vmm_intent_on(struct dm_vmm *md, unsigned long region);
void dm_vmm_stage_intent(struct dm_vmm *md, unsigned long region);
int dm_vmm_write_intents(struct dm_vmm *md);
void dm_vmm_intent_set_on(struct dm_vmm *md, unsigned long region);
void dm_vmm_clear_intent(struct dm_vmm *md, unsigned long region);
/*
 * The first region in [@region, @end) whose bit is on, or @end (capped at
 * the number of regions).
 */
unsigned long dm_vmm_next_intent(struct dm_vmm *md, unsigned long region,
				 unsigned long end);
unsigned long dm_vmm_nr_intents(struct dm_vmm *md);

/*
 * A write to @region was mapped or completed; dm_vmm_test_and_clear_touched()
 * tells whether one was since the last call.  Caller's lock.
 */
void dm_vmm_touch(struct dm_vmm *md, unsigned long region);
bool dm_vmm_test_and_clear_touched(struct dm_vmm *md, unsigned long region);

/* Metadata blocks written so far (header and bitmaps) */
u64 dm_vmm_blocks_written(struct dm_vmm *md);

#if IS_ENABLED(CONFIG_DM_VMOTION_KUNIT_TEST)
/* For the KUnit tests alone: see dm-vmotion-metadata.c. */
struct dm_vmm *dm_vmm_create_for_test(const struct dm_vmm_geometry *g);
__le64 *dm_vmm_synced_img_for_test(struct dm_vmm *md);
__le64 *dm_vmm_intent_img_for_test(struct dm_vmm *md);
#endif

#endif /* DM_VMOTION_METADATA_H */
