// SPDX-License-Identifier: GPL-2.0-only
/*
 * metadata: a migration's persistent metadata (the vmotion target's
 * "metadata" feature), as the tool sees it.  How many sectors a device
 * needs (one area per segment, each for its own length and region size,
 * laid one after another), where they go, and the checks on that place;
 * and the header block on disk (include/dm-vmotion-metadata-format.h),
 * read, wiped and given a state only with O_DIRECT and fsync, since the
 * kernel reads and writes it past the page cache.  The kernel owns
 * everything else in the area: the tool never writes the bitmaps.  It
 * changes no table and knows nothing of the command line.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dm-vmotion-metadata-format.h"
#include "dm.h"
#include "metadata.h"
#include "util.h"

/*---------------------------------------------------------------------------*/
/* Sizes and places */

uint64_t md_segment_sectors(uint64_t len, uint64_t region)
{
	return dm_vmm_sectors((len + region - 1) / region);
}

uint64_t md_device_sectors(const struct device *d, uint64_t region)
{
	uint64_t need = 0;

	for (int i = 0; i < d->nr; i++)
		need += md_segment_sectors(d->seg[i].len, region);
	return need;
}

void md_layout(const struct device *d, uint64_t region, dev_t dev,
	       const char *path, uint64_t offset, struct md_area *a)
{
	for (int i = 0; i < d->nr; i++) {
		a[i].dev = dev;
		snprintf(a[i].path, sizeof(a[i].path), "%s", path);
		a[i].offset = offset;
		a[i].sectors = md_segment_sectors(d->seg[i].len, region);
		offset += a[i].sectors;
	}
}

/* Do [a, a + alen) and [b, b + blen) share a sector? */
static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* The metadata device's size in sectors; in use by another: refused. */
static int md_disk(const struct md_area *a, bool excl, uint64_t *sectors)
{
	uint64_t bytes;
	int fd = open(a->path, O_RDONLY | O_CLOEXEC | (excl ? O_EXCL : 0));

	if (fd < 0) {
		if (excl && errno == EBUSY)
			err("%s: the metadata device is in use (mounted, or held by another device-mapper or md device)",
			    a->path);
		else
			err("%s: %s", a->path, strerror(errno));
		return -1;
	}
	if (ioctl(fd, BLKGETSIZE64, &bytes)) {
		err("%s: cannot read its size: %s", a->path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	*sectors = bytes / 512;
	return 0;
}

int md_check(const struct device *d, dev_t dest, const struct md_area *a,
	     uint64_t need)
{
	uint64_t size, len = device_sectors(d);
	bool on_source = false;

	if (a->dev == d->dev) {
		err("%s: the metadata device is %s itself", a->path, d->name);
		return -1;
	}
	if (a->offset % DM_VMM_BLOCK_SECTORS) {
		err("%s: metadata offset %" PRIu64 " is not a multiple of 4 KiB (%u sectors)",
		    a->path, a->offset, DM_VMM_BLOCK_SECTORS);
		return -1;
	}
	for (int i = 0; i < d->nr; i++) {
		const struct segment *s = &d->seg[i];

		if (s->src != a->dev)
			continue;
		on_source = true;
		if (overlap(a->offset, need, s->src_off, s->len)) {
			err("%s: the metadata (sectors %" PRIu64 "-%" PRIu64 ") lies on the source's migrated range (sectors %" PRIu64 "-%" PRIu64 " of segment %d)",
			    a->path, a->offset, a->offset + need - 1, s->src_off,
			    s->src_off + s->len - 1, i);
			return -1;
		}
	}
	if (a->dev == dest && overlap(a->offset, need, 0, len)) {
		err("%s: the metadata (sectors %" PRIu64 "-%" PRIu64 ") overlaps the destination's migrated range (sectors 0-%" PRIu64 ")",
		    a->path, a->offset, a->offset + need - 1, len - 1);
		return -1;
	}
	/* the destination was opened exclusively by its own check; a source is ours */
	if (md_disk(a, a->dev != dest && !on_source, &size))
		return -1;
	if (a->offset > size || size - a->offset < need) {
		err("%s: too small for the metadata: %s needs %" PRIu64 " sectors at offset %" PRIu64 ", the device has %" PRIu64 " sectors",
		    a->path, d->name, need, a->offset, size);
		return -1;
	}
	return 0;
}

/*---------------------------------------------------------------------------*/
/* The header block */

/* CRC-32 (IEEE 802.3), as zlib computes it */
static uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffff;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320 & -(c & 1));
	}
	return ~c;
}

static uint32_t header_csum(const uint8_t *block)
{
	uint8_t s[DM_VMM_HEADER_BYTES];

	memcpy(s, block, sizeof(s));
	memset(s + offsetof(struct dm_vmm_disk_header, csum), 0,
	       sizeof(((struct dm_vmm_disk_header *)0)->csum));
	return crc32(s, sizeof(s));
}

/* The block at @offset sectors into a 4 KiB aligned buffer; fd or -1. */
static int read_block(const char *path, uint64_t offset, int flags,
		      void **buf)
{
	int fd = open(path, flags | O_DIRECT | O_CLOEXEC);
	ssize_t n;

	*buf = NULL;
	if (fd < 0) {
		err("%s: cannot open it for its metadata: %s", path,
		    strerror(errno));
		return -1;
	}
	if (posix_memalign(buf, DM_VMM_BLOCK_SIZE, DM_VMM_BLOCK_SIZE)) {
		err("%s: out of memory", path);
		close(fd);
		return -1;
	}
	n = pread(fd, *buf, DM_VMM_BLOCK_SIZE, (off_t)(offset * 512));
	if (n != DM_VMM_BLOCK_SIZE) {
		err("%s: cannot read the metadata header at sector %" PRIu64 ": %s",
		    path, offset, n < 0 ? strerror(errno) : "short read");
		free(*buf);
		*buf = NULL;
		close(fd);
		return -1;
	}
	return fd;
}

static int write_block(int fd, const char *path, uint64_t offset,
		       const void *buf)
{
	errno = 0;
	if (pwrite(fd, buf, DM_VMM_BLOCK_SIZE, (off_t)(offset * 512)) !=
	    DM_VMM_BLOCK_SIZE || fsync(fd)) {
		err("%s: cannot write the metadata header at sector %" PRIu64 ": %s",
		    path, offset, errno ? strerror(errno) : "short write");
		return -1;
	}
	return 0;
}

static int decode(const uint8_t *block, struct md_header *h, const char **why)
{
	const struct dm_vmm_disk_header *dh = (const void *)block;
	size_t i;

	for (i = 0; i < DM_VMM_BLOCK_SIZE && !block[i]; i++)
		;
	if (i == DM_VMM_BLOCK_SIZE)
		return 1;
	if (le64toh(dh->magic) != DM_VMM_MAGIC) {
		*why = "no vmotion metadata header (bad magic)";
		return 2;
	}
	if (le32toh(dh->csum) != header_csum(block)) {
		*why = "the header's checksum is wrong";
		return 2;
	}
	if (le32toh(dh->version) != DM_VMM_VERSION) {
		*why = "a metadata version this tool does not know";
		return 2;
	}
	h->state = le32toh(dh->state);
	if (h->state < DM_VMM_COPYING || h->state > DM_VMM_FAILED ||
	    dh->flags) {
		*why = "an unknown state or flags";
		return 2;
	}
	memcpy(h->uuid, dh->uuid, MD_UUID_LEN);
	h->length = le64toh(dh->length);
	h->region_size = le64toh(dh->region_size);
	h->nr_regions = le64toh(dh->nr_regions);
	h->source_offset = le64toh(dh->source_offset);
	h->dest_offset = le64toh(dh->dest_offset);
	h->generation = le64toh(dh->generation);
	return 0;
}

int md_read(const char *path, uint64_t offset, struct md_header *h,
	    const char **why)
{
	void *buf;
	int fd = read_block(path, offset, O_RDONLY, &buf);
	int r;

	if (fd < 0)
		return -1;
	close(fd);
	r = decode(buf, h, why);
	free(buf);
	return r;
}

int md_wipe(const char *path, uint64_t offset)
{
	void *buf;
	int fd = read_block(path, offset, O_RDWR, &buf);
	int r;

	if (fd < 0)
		return -1;
	memset(buf, 0, DM_VMM_BLOCK_SIZE);
	r = write_block(fd, path, offset, buf);
	close(fd);
	free(buf);
	return r;
}

int md_set_state(const char *path, uint64_t offset, const uint8_t *uuid,
		 uint32_t state, uint32_t *was)
{
	struct dm_vmm_disk_header *dh;
	struct md_header h;
	const char *why = "no header (all zeroes)";
	char u[MD_UUID_STR];
	void *buf;
	int fd = read_block(path, offset, O_RDWR, &buf);
	int r = -1;

	if (fd < 0)
		return -1;
	dh = buf;
	if (decode(buf, &h, &why)) {
		err("%s: the metadata at sector %" PRIu64 " has %s: cannot record the migration %s there",
		    path, offset, why, md_state_name(state));
		goto out;
	}
	if (uuid && memcmp(h.uuid, uuid, MD_UUID_LEN)) {
		md_uuid_str(h.uuid, u, sizeof(u));
		err("%s: the metadata at sector %" PRIu64 " is migration %s's, not this one's: not touching it",
		    path, offset, u);
		goto out;
	}
	if (was)
		*was = h.state;
	dh->state = htole32(state);
	dh->generation = htole64(h.generation + 1);
	dh->csum = 0;
	dh->csum = htole32(header_csum(buf));
	r = write_block(fd, path, offset, buf);
out:
	close(fd);
	free(buf);
	return r;
}

const char *md_state_name(uint32_t state)
{
	static const char *const names[] = {
		[DM_VMM_COPYING] = "copying",
		[DM_VMM_SYNCED] = "synced",
		[DM_VMM_SWITCHED] = "switched",
		[DM_VMM_ABORTED] = "aborted",
		[DM_VMM_FAILED] = "failed",
	};

	return state < sizeof(names) / sizeof(names[0]) && names[state] ?
	       names[state] : "unknown";
}

void md_uuid_str(const uint8_t *u, char *buf, size_t size)
{
	snprintf(buf, size,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
}

int md_uuid_parse(const char *s, uint8_t *uuid)
{
	int n = 0;

	for (; *s && n < 2 * MD_UUID_LEN; s++) {
		int v;

		if (*s == '-')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else
			return -1;
		if (n % 2)
			uuid[n / 2] |= v;
		else
			uuid[n / 2] = v << 4;
		n++;
	}
	return n == 2 * MD_UUID_LEN && !*s ? 0 : -1;
}
