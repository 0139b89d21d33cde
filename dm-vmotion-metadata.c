// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The dm-vmotion authors.
 *
 * Persistent metadata of dm-vmotion.  See include/dm-vmotion-metadata.h
 * for the API and include/dm-vmotion-metadata-format.h for the format.
 *
 * Each bitmap has two images in memory:
 *
 *  - in sync: @synced_disk says what the disk may hold (a bit is set from
 *    the moment a write that sets it is issued, cleared once a write that
 *    clears it has completed); @synced_stage is what the next commit
 *    writes, and the buffer it writes from;
 *  - write intent: @intent_img is what the next write sends, and the
 *    buffer it is sent from; @intent_on has the bits known to be on stable
 *    storage, those a write may rely on.
 *
 * Only the committing thread changes the buffers that are written, and
 * never while they are being written.
 */
#include <linux/bitmap.h>
#include <linux/blkdev.h>
#include <linux/crc32.h>
#include <linux/dm-io.h>
#include <linux/err.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uuid.h>
#include <linux/vmalloc.h>

#include "dm-vmotion-bitmap.h"
#include "dm-vmotion-compat.h"
#include "dm-vmotion-metadata.h"

#define DM_MSG_PREFIX "vmotion metadata"

#define WORDS_PER_BLOCK	(DM_VMM_BLOCK_SIZE / sizeof(__le64))

struct dm_vmm {
	struct block_device *bdev;
	sector_t offset;
	struct dm_io_client *io;
	/* serialises the I/O; see "Contexts" in the header */
	struct mutex io_lock;

	struct dm_vmm_geometry geo;
	struct dm_vmm_header hdr;
	bool formatted;
	bool blank;		/* ... over an area of zeroes */
	void *hdr_block;

	unsigned long nr_words;		/* 64-bit words of a bitmap */
	unsigned long nr_blocks;	/* blocks of a bitmap */

	__le64 *synced_disk;
	__le64 *synced_stage;
	unsigned long *synced_dirty;	/* blocks the next commit writes */
	unsigned long *synced_todo;	/* of them, those not written yet */
	unsigned long nr_recorded;	/* bits of @synced_disk after a commit */
	unsigned long dirty_recorded;	/* of them, in the dirty blocks */

	__le64 *intent_img;
	unsigned long *intent_on;
	unsigned long *intent_dirty;
	unsigned long nr_intents;	/* bits of @intent_on */
	unsigned long *touched;

	atomic64_t blocks_written;
};

/*---------------------------------------------------------------------------*/
/* Header */

u32 dm_vmm_header_csum(const void *sector)
{
	struct dm_vmm_disk_header *dh;
	u8 copy[DM_VMM_HEADER_BYTES];

	memcpy(copy, sector, sizeof(copy));
	dh = (struct dm_vmm_disk_header *)copy;
	dh->csum = 0;
	/* the plain CRC-32 of zlib and of the tool */
	return ~crc32_le(~0U, copy, sizeof(copy));
}
EXPORT_SYMBOL_GPL(dm_vmm_header_csum);

void dm_vmm_header_encode(const struct dm_vmm_header *h, void *block)
{
	struct dm_vmm_disk_header *dh = block;

	memset(block, 0, DM_VMM_BLOCK_SIZE);
	dh->magic = cpu_to_le64(DM_VMM_MAGIC);
	dh->version = cpu_to_le32(h->version);
	dh->state = cpu_to_le32(h->state);
	dh->flags = cpu_to_le32(h->flags);
	memcpy(dh->uuid, h->uuid, sizeof(dh->uuid));
	dh->length = cpu_to_le64(h->length);
	dh->region_size = cpu_to_le64(h->region_size);
	dh->nr_regions = cpu_to_le64(h->nr_regions);
	dh->source_offset = cpu_to_le64(h->source_offset);
	dh->source_size = cpu_to_le64(h->source_size);
	dh->dest_offset = cpu_to_le64(h->dest_offset);
	dh->dest_size = cpu_to_le64(h->dest_size);
	dh->bitmap_blocks = cpu_to_le64(h->bitmap_blocks);
	dh->generation = cpu_to_le64(h->generation);
	dh->csum = cpu_to_le32(dm_vmm_header_csum(block));
}
EXPORT_SYMBOL_GPL(dm_vmm_header_encode);

int dm_vmm_header_decode(const void *block, struct dm_vmm_header *h,
			 const char **why)
{
	const struct dm_vmm_disk_header *dh = block;

	if (!memchr_inv(block, 0, DM_VMM_BLOCK_SIZE))
		return -ENODATA;
	if (le64_to_cpu(dh->magic) != DM_VMM_MAGIC) {
		*why = "Metadata has no vmotion header (bad magic)";
		return -EINVAL;
	}
	if (le32_to_cpu(dh->csum) != dm_vmm_header_csum(block)) {
		*why = "Metadata header checksum is wrong (torn or corrupted header)";
		return -EINVAL;
	}
	h->version = le32_to_cpu(dh->version);
	if (h->version != DM_VMM_VERSION) {
		DMERR("metadata version %u, this module knows %u", h->version,
		      DM_VMM_VERSION);
		*why = "Metadata version is not supported";
		return -EINVAL;
	}
	h->state = le32_to_cpu(dh->state);
	h->flags = le32_to_cpu(dh->flags);
	memcpy(h->uuid, dh->uuid, sizeof(h->uuid));
	h->length = le64_to_cpu(dh->length);
	h->region_size = le64_to_cpu(dh->region_size);
	h->nr_regions = le64_to_cpu(dh->nr_regions);
	h->source_offset = le64_to_cpu(dh->source_offset);
	h->source_size = le64_to_cpu(dh->source_size);
	h->dest_offset = le64_to_cpu(dh->dest_offset);
	h->dest_size = le64_to_cpu(dh->dest_size);
	h->bitmap_blocks = le64_to_cpu(dh->bitmap_blocks);
	h->generation = le64_to_cpu(dh->generation);
	if (h->state < DM_VMM_COPYING || h->state > DM_VMM_FAILED) {
		DMERR("metadata state %u is unknown", h->state);
		*why = "Metadata header has an unknown state";
		return -EINVAL;
	}
	if (h->flags) {
		DMERR("metadata flags %#x are unknown", h->flags);
		*why = "Metadata header has unknown flags";
		return -EINVAL;
	}
	if (h->bitmap_blocks != dm_vmm_bitmap_blocks(h->nr_regions)) {
		*why = "Metadata header is inconsistent (bitmap size)";
		return -EINVAL;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(dm_vmm_header_decode);

static int differs(const char *field, u64 disk, u64 table, const char *msg,
		   const char **why)
{
	if (disk == table)
		return 0;
	DMERR("metadata was made for %s %llu, the table has %llu", field,
	      disk, table);
	*why = msg;
	return -EINVAL;
}

int dm_vmm_header_check(const struct dm_vmm_header *h,
			const struct dm_vmm_geometry *g, const char **why)
{
	return differs("length", h->length, g->length,
		       "Metadata was made for another length", why) ?:
	       differs("region size", h->region_size, g->region_size,
		       "Metadata was made for another region size", why) ?:
	       differs("regions", h->nr_regions, g->nr_regions,
		       "Metadata was made for another number of regions", why) ?:
	       differs("source offset", h->source_offset, g->source_offset,
		       "Metadata was made for another source offset", why) ?:
	       differs("destination offset", h->dest_offset, g->dest_offset,
		       "Metadata was made for another destination offset", why);
}
EXPORT_SYMBOL_GPL(dm_vmm_header_check);

/*---------------------------------------------------------------------------*/
/* I/O */

/* Read or write @sectors at @sector of the metadata area from/to @buf. */
static int md_rw(struct dm_vmm *md, blk_opf_t opf, void *buf, sector_t sector,
		 sector_t sectors)
{
	struct dm_io_region where = {
		.bdev = md->bdev,
		.sector = md->offset + sector,
		.count = sectors,
	};
	struct dm_io_request req = {
		.bi_opf = opf | REQ_SYNC | REQ_META | REQ_PRIO,
		.notify.fn = NULL,
		.client = md->io,
	};
	int r;

	r = vm_dm_io(&req, &where, buf);
	if (r) {
		DMERR_LIMIT("%s of metadata sectors %llu+%llu failed (error %d)",
			    op_is_write(opf) ? "write" : "read",
			    (unsigned long long)where.sector,
			    (unsigned long long)sectors, r);
		return r;
	}
	if (op_is_write(opf))
		atomic64_add(sectors / DM_VMM_BLOCK_SECTORS, &md->blocks_written);
	return 0;
}

static int md_flush(struct dm_vmm *md)
{
	int r = blkdev_issue_flush(md->bdev);

	if (r)
		DMERR_LIMIT("flush of the metadata device failed (error %d)", r);
	return r;
}

static sector_t bitmap_sector(struct dm_vmm *md, unsigned int which,
			      unsigned long block)
{
	return (1 + which * md->nr_blocks + block) * DM_VMM_BLOCK_SECTORS;
}

/* Write the blocks of bitmap @which (0 in sync, 1 intent) set in @dirty. */
static int write_dirty(struct dm_vmm *md, unsigned int which, __le64 *img,
		       unsigned long *dirty)
{
	unsigned long b = 0, e;
	int r;

	for (;;) {
		b = find_next_bit(dirty, md->nr_blocks, b);
		if (b >= md->nr_blocks)
			break;
		e = find_next_zero_bit(dirty, md->nr_blocks, b);
		r = md_rw(md, REQ_OP_WRITE, img + b * WORDS_PER_BLOCK,
			  bitmap_sector(md, which, b),
			  (e - b) * DM_VMM_BLOCK_SECTORS);
		if (r)
			return r;
		bitmap_clear(dirty, b, e - b);
		b = e;
	}
	return 0;
}

static int write_header(struct dm_vmm *md)
{
	md->hdr.generation++;
	dm_vmm_header_encode(&md->hdr, md->hdr_block);
	return md_rw(md, REQ_OP_WRITE | REQ_FUA, md->hdr_block, 0,
		     DM_VMM_BLOCK_SECTORS);
}

/*---------------------------------------------------------------------------*/
/* Open, format, load */

static void md_free(struct dm_vmm *md)
{
	kvfree(md->synced_disk);
	kvfree(md->synced_stage);
	bitmap_free(md->synced_dirty);
	bitmap_free(md->synced_todo);
	kvfree(md->intent_img);
	kvfree(md->intent_on);
	bitmap_free(md->intent_dirty);
	kvfree(md->touched);
	kfree(md->hdr_block);
	if (!IS_ERR_OR_NULL(md->io))
		dm_io_client_destroy(md->io);
	kfree(md);
}

static int md_alloc(struct dm_vmm *md)
{
	size_t bytes = md->nr_blocks * DM_VMM_BLOCK_SIZE;
	gfp_t gfp = GFP_KERNEL | __GFP_NOWARN;

	md->hdr_block = kzalloc(DM_VMM_BLOCK_SIZE, GFP_KERNEL);
	/* vmalloc'ed, page-aligned: written with dm-io from where they are */
	md->synced_disk = vzalloc(bytes);
	md->synced_stage = vzalloc(bytes);
	md->intent_img = vzalloc(bytes);
	md->synced_dirty = bitmap_zalloc(md->nr_blocks, GFP_KERNEL);
	md->synced_todo = bitmap_zalloc(md->nr_blocks, GFP_KERNEL);
	md->intent_dirty = bitmap_zalloc(md->nr_blocks, GFP_KERNEL);
	md->intent_on = kvcalloc(BITS_TO_LONGS(md->geo.nr_regions),
				 sizeof(long), gfp);
	md->touched = kvcalloc(BITS_TO_LONGS(md->geo.nr_regions),
			       sizeof(long), gfp);
	if (!md->hdr_block || !md->synced_disk || !md->synced_stage ||
	    !md->intent_img || !md->synced_dirty || !md->synced_todo ||
	    !md->intent_dirty ||
	    !md->intent_on || !md->touched)
		return -ENOMEM;
	return 0;
}

/* A new migration: zero bitmaps, then the header that makes them valid. */
static int format(struct dm_vmm *md)
{
	const struct dm_vmm_geometry *g = &md->geo;
	int r;

	memset(md->synced_disk, 0, md->nr_blocks * DM_VMM_BLOCK_SIZE);
	memset(md->synced_stage, 0, md->nr_blocks * DM_VMM_BLOCK_SIZE);
	memset(md->intent_img, 0, md->nr_blocks * DM_VMM_BLOCK_SIZE);
	md->nr_recorded = 0;
	r = md_rw(md, REQ_OP_WRITE, md->synced_disk, bitmap_sector(md, 0, 0),
		  md->nr_blocks * DM_VMM_BLOCK_SECTORS) ?:
	    md_rw(md, REQ_OP_WRITE, md->intent_img, bitmap_sector(md, 1, 0),
		  md->nr_blocks * DM_VMM_BLOCK_SECTORS) ?:
	    /* the bitmaps are on stable storage before the header says so */
	    md_flush(md);
	if (r)
		return r;

	md->hdr = (struct dm_vmm_header) {
		.version = DM_VMM_VERSION,
		.state = DM_VMM_COPYING,
		.length = g->length,
		.region_size = g->region_size,
		.nr_regions = g->nr_regions,
		.source_offset = g->source_offset,
		.source_size = g->source_size,
		.dest_offset = g->dest_offset,
		.dest_size = g->dest_size,
		.bitmap_blocks = md->nr_blocks,
	};
	generate_random_uuid(md->hdr.uuid);
	r = write_header(md);
	if (!r) {
		md->formatted = true;
		DMINFO("formatted metadata %pUb: %lu regions, %llu sectors",
		       md->hdr.uuid, g->nr_regions,
		       (unsigned long long)dm_vmm_sectors(g->nr_regions));
	}
	return r;
}

/* Read and check the header; format if there is none yet. */
static int read_header(struct dm_vmm *md, bool may_format, const char **error)
{
	struct dm_vmm_header h;
	int r;

	r = md_rw(md, REQ_OP_READ, md->hdr_block, 0, DM_VMM_BLOCK_SECTORS);
	if (r) {
		*error = "Cannot read the metadata header";
		return r;
	}
	r = dm_vmm_header_decode(md->hdr_block, &h, error);
	if (r == -ENODATA || (!r && (h.state == DM_VMM_ABORTED ||
				     h.state == DM_VMM_FAILED))) {
		if (!may_format) {
			*error = "Metadata was wiped or abandoned since the table was loaded";
			return -EINVAL;
		}
		if (!r)
			DMINFO("metadata %pUb records an %s migration: starting a new one",
			       h.uuid, h.state == DM_VMM_ABORTED ? "aborted" : "failed");
		md->blank = r == -ENODATA;
		r = format(md);
		if (r)
			*error = "Cannot format the metadata";
		return r;
	}
	if (r)
		return r;
	if (h.state == DM_VMM_SWITCHED) {
		DMERR("metadata %pUb records a switched migration: the destination holds the data",
		      h.uuid);
		*error = "Metadata records a switched migration (the destination holds the data)";
		return -EINVAL;
	}
	r = dm_vmm_header_check(&h, &md->geo, error);
	if (r)
		return r;
	if (md->hdr.generation && memcmp(h.uuid, md->hdr.uuid, sizeof(h.uuid))) {
		*error = "Metadata was formatted again since the table was loaded";
		return -EINVAL;
	}
	md->hdr = h;
	return 0;
}

static int read_bitmaps(struct dm_vmm *md, const char **error)
{
	int r;

	r = md_rw(md, REQ_OP_READ, md->synced_disk, bitmap_sector(md, 0, 0),
		  md->nr_blocks * DM_VMM_BLOCK_SECTORS) ?:
	    md_rw(md, REQ_OP_READ, md->intent_img, bitmap_sector(md, 1, 0),
		  md->nr_blocks * DM_VMM_BLOCK_SECTORS);
	if (r) {
		*error = "Cannot read the metadata bitmaps";
		return r;
	}
	memcpy(md->synced_stage, md->synced_disk,
	       md->nr_blocks * DM_VMM_BLOCK_SIZE);
	bitmap_zero(md->synced_dirty, md->nr_blocks);
	bitmap_zero(md->intent_dirty, md->nr_blocks);
	bitmap_zero(md->touched, md->geo.nr_regions);
	return 0;
}

/* A context for @g with zeroed bitmaps, no device and no I/O yet. */
static struct dm_vmm *md_create(const struct dm_vmm_geometry *g,
				const char **error)
{
	struct dm_vmm *md;

	if (g->nr_regions > DM_VMM_MAX_REGIONS) {
		*error = "Too many regions for metadata: use a larger region size";
		return ERR_PTR(-EINVAL);
	}
	md = kzalloc(sizeof(*md), GFP_KERNEL);
	if (!md) {
		*error = "Cannot allocate metadata context";
		return ERR_PTR(-ENOMEM);
	}
	md->geo = *g;
	md->nr_blocks = dm_vmm_bitmap_blocks(g->nr_regions);
	md->nr_words = DIV_ROUND_UP(g->nr_regions, 64);
	mutex_init(&md->io_lock);
	atomic64_set(&md->blocks_written, 0);

	if (md_alloc(md)) {
		md_free(md);
		*error = "Cannot allocate metadata bitmaps";
		return ERR_PTR(-ENOMEM);
	}
	return md;
}

struct dm_vmm *dm_vmm_open(struct block_device *bdev, sector_t offset,
			   const struct dm_vmm_geometry *g, const char **error)
{
	struct dm_vmm *md;
	int r;

	md = md_create(g, error);
	if (IS_ERR(md))
		return md;
	md->bdev = bdev;
	md->offset = offset;
	md->io = dm_io_client_create();
	if (IS_ERR(md->io)) {
		r = PTR_ERR(md->io);
		*error = "Cannot create dm-io client";
		goto bad;
	}

	mutex_lock(&md->io_lock);
	r = read_header(md, true, error);
	if (!r && !md->formatted)
		r = read_bitmaps(md, error);
	mutex_unlock(&md->io_lock);
	if (r)
		goto bad;
	return md;
bad:
	md_free(md);
	return ERR_PTR(r);
}
EXPORT_SYMBOL_GPL(dm_vmm_open);

void dm_vmm_close(struct dm_vmm *md)
{
	md_free(md);
}
EXPORT_SYMBOL_GPL(dm_vmm_close);

#if IS_ENABLED(CONFIG_DM_VMOTION_KUNIT_TEST)
/*
 * For the KUnit tests alone (tests/kunit/dm_vmotion_metadata_kunit.c): a
 * context with no device, for the functions that do no I/O, and the
 * images of the in-sync bitmap (as on disk) and of the write-intent bitmap
 * that dm_vmm_open() would have read.  An ERR_PTR on failure; freed with
 * dm_vmm_close().
 */
struct dm_vmm *dm_vmm_create_for_test(const struct dm_vmm_geometry *g)
{
	const char *error;

	return md_create(g, &error);
}
EXPORT_SYMBOL_GPL(dm_vmm_create_for_test);

__le64 *dm_vmm_synced_img_for_test(struct dm_vmm *md)
{
	return md->synced_disk;
}
EXPORT_SYMBOL_GPL(dm_vmm_synced_img_for_test);

__le64 *dm_vmm_intent_img_for_test(struct dm_vmm *md)
{
	return md->intent_img;
}
EXPORT_SYMBOL_GPL(dm_vmm_intent_img_for_test);
#endif

int dm_vmm_reload(struct dm_vmm *md, const char **error)
{
	int r;

	mutex_lock(&md->io_lock);
	md->formatted = false;
	r = read_header(md, true, error);
	if (!r && !md->formatted)
		r = read_bitmaps(md, error);
	mutex_unlock(&md->io_lock);
	return r;
}
EXPORT_SYMBOL_GPL(dm_vmm_reload);

int dm_vmm_read_state(struct dm_vmm *md)
{
	struct dm_vmm_header h;
	const char *why;
	int r;

	mutex_lock(&md->io_lock);
	r = md_rw(md, REQ_OP_READ, md->hdr_block, 0, DM_VMM_BLOCK_SECTORS);
	if (!r) {
		if (dm_vmm_header_decode(md->hdr_block, &h, &why) ||
		    memcmp(h.uuid, md->hdr.uuid, sizeof(h.uuid)))
			r = -ESTALE;
		else
			r = h.state;
	}
	mutex_unlock(&md->io_lock);
	return r;
}
EXPORT_SYMBOL_GPL(dm_vmm_read_state);

static bool img_test(const __le64 *img, unsigned long r)
{
	return le64_to_cpu(img[r / 64]) & BIT_ULL(r % 64);
}

static void img_set(__le64 *img, unsigned long r)
{
	img[r / 64] |= cpu_to_le64(BIT_ULL(r % 64));
}

static void img_clear(__le64 *img, unsigned long r)
{
	img[r / 64] &= ~cpu_to_le64(BIT_ULL(r % 64));
}

unsigned long dm_vmm_load(struct dm_vmm *md, struct dm_vmb *vmb)
{
	unsigned long r, start, nr = md->geo.nr_regions, intents = 0;

	dm_vmb_clear_synced(vmb, 0, nr);
	bitmap_zero(md->intent_on, nr);
	md->nr_recorded = 0;
	for (r = 0; r < md->nr_words; r++)
		md->nr_recorded += hweight64(le64_to_cpu(md->synced_disk[r]));
	for (r = 0; r < nr; r++) {
		if (!(r % DM_VMM_REGIONS_PER_BLOCK))
			cond_resched();
		if (img_test(md->intent_img, r)) {
			/* a write may have reached one disk only: copy again */
			__set_bit(r, md->intent_on);
			intents++;
			continue;
		}
		if (!img_test(md->synced_disk, r))
			continue;
		for (start = r; r + 1 < nr && img_test(md->synced_disk, r + 1) &&
		     !img_test(md->intent_img, r + 1); r++)
			if (!(r % DM_VMM_REGIONS_PER_BLOCK))
				cond_resched();
		dm_vmb_set_synced(vmb, start, r + 1 - start);
	}
	md->nr_intents = intents;
	return intents;
}
EXPORT_SYMBOL_GPL(dm_vmm_load);

const struct dm_vmm_header *dm_vmm_header(struct dm_vmm *md)
{
	return &md->hdr;
}
EXPORT_SYMBOL_GPL(dm_vmm_header);

bool dm_vmm_formatted(struct dm_vmm *md)
{
	return md->formatted;
}
EXPORT_SYMBOL_GPL(dm_vmm_formatted);

bool dm_vmm_was_blank(struct dm_vmm *md)
{
	return md->formatted && md->blank;
}
EXPORT_SYMBOL_GPL(dm_vmm_was_blank);

int dm_vmm_set_state(struct dm_vmm *md, enum dm_vmm_state state)
{
	struct dm_vmm_header h;
	const char *why;
	int r;

	mutex_lock(&md->io_lock);
	/* the tool writes switched and aborted while the device is suspended */
	r = md_rw(md, REQ_OP_READ, md->hdr_block, 0, DM_VMM_BLOCK_SECTORS);
	if (!r && (dm_vmm_header_decode(md->hdr_block, &h, &why) ||
		   memcmp(h.uuid, md->hdr.uuid, sizeof(h.uuid)))) {
		/* wiped or formatted again: no longer this migration's */
		r = -ESTALE;
	} else if (!r && (h.state == DM_VMM_SWITCHED ||
			  h.state == DM_VMM_ABORTED)) {
		md->hdr.state = h.state;
		r = -ESTALE;
	}
	if (!r && md->hdr.state != state) {
		md->hdr.state = state;
		r = write_header(md);
	}
	mutex_unlock(&md->io_lock);
	return r;
}
EXPORT_SYMBOL_GPL(dm_vmm_set_state);

/*---------------------------------------------------------------------------*/
/* In-sync commits */

bool dm_vmm_stage_synced(struct dm_vmm *md, struct dm_vmb *vmb)
{
	unsigned long i;
	bool any = false;

	for (i = 0; i < md->nr_words; i++) {
		__le64 w = cpu_to_le64(dm_vmb_synced_word(vmb, i));

		md->synced_stage[i] = w;
		if (w != md->synced_disk[i]) {
			__set_bit(i / WORDS_PER_BLOCK, md->synced_dirty);
			any = true;
		}
		if (!(i % WORDS_PER_BLOCK))
			cond_resched();
	}
	return any;
}
EXPORT_SYMBOL_GPL(dm_vmm_stage_synced);

bool dm_vmm_synced_begin(struct dm_vmm *md, unsigned long *block)
{
	unsigned long b = find_next_bit(md->synced_dirty, md->nr_blocks, *block);
	unsigned long i;

	if (!*block)
		md->dirty_recorded = 0;
	if (b >= md->nr_blocks)
		return false;
	for (i = b * WORDS_PER_BLOCK;
	     i < min(md->nr_words, (b + 1) * WORDS_PER_BLOCK); i++) {
		md->dirty_recorded += hweight64(le64_to_cpu(md->synced_disk[i]));
		md->synced_disk[i] |= md->synced_stage[i];
	}
	*block = b + 1;
	return true;
}
EXPORT_SYMBOL_GPL(dm_vmm_synced_begin);

int dm_vmm_write_synced(struct dm_vmm *md)
{
	int r;

	mutex_lock(&md->io_lock);
	/* synced_dirty stays as it is for dm_vmm_synced_end() */
	bitmap_copy(md->synced_todo, md->synced_dirty, md->nr_blocks);
	r = write_dirty(md, 0, md->synced_stage, md->synced_todo) ?:
	    md_flush(md);
	mutex_unlock(&md->io_lock);
	return r;
}
EXPORT_SYMBOL_GPL(dm_vmm_write_synced);

bool dm_vmm_synced_end(struct dm_vmm *md, unsigned long *block)
{
	unsigned long b = find_next_bit(md->synced_dirty, md->nr_blocks, *block);
	unsigned long i, n;

	if (!*block)
		md->nr_recorded -= md->dirty_recorded;
	if (b >= md->nr_blocks)
		return false;
	n = md->nr_recorded;
	for (i = b * WORDS_PER_BLOCK;
	     i < min(md->nr_words, (b + 1) * WORDS_PER_BLOCK); i++) {
		md->synced_disk[i] = md->synced_stage[i];
		n += hweight64(le64_to_cpu(md->synced_disk[i]));
	}
	WRITE_ONCE(md->nr_recorded, n);
	__clear_bit(b, md->synced_dirty);
	*block = b + 1;
	return true;
}
EXPORT_SYMBOL_GPL(dm_vmm_synced_end);

bool dm_vmm_disk_synced(struct dm_vmm *md, unsigned long region)
{
	return img_test(md->synced_disk, region);
}
EXPORT_SYMBOL_GPL(dm_vmm_disk_synced);

unsigned long dm_vmm_nr_recorded(struct dm_vmm *md)
{
	return READ_ONCE(md->nr_recorded);
}
EXPORT_SYMBOL_GPL(dm_vmm_nr_recorded);

/*---------------------------------------------------------------------------*/
/* Write intent */

bool dm_vmm_intent_on(struct dm_vmm *md, unsigned long region)
{
	return test_bit(region, md->intent_on);
}
EXPORT_SYMBOL_GPL(dm_vmm_intent_on);

void dm_vmm_stage_intent(struct dm_vmm *md, unsigned long region)
{
	if (!img_test(md->intent_img, region)) {
		img_set(md->intent_img, region);
		__set_bit(region / DM_VMM_REGIONS_PER_BLOCK, md->intent_dirty);
	}
}
EXPORT_SYMBOL_GPL(dm_vmm_stage_intent);

int dm_vmm_write_intents(struct dm_vmm *md)
{
	int r = 0;

	mutex_lock(&md->io_lock);
	if (!bitmap_empty(md->intent_dirty, md->nr_blocks))
		r = write_dirty(md, 1, md->intent_img, md->intent_dirty) ?:
		    md_flush(md);
	mutex_unlock(&md->io_lock);
	return r;
}
EXPORT_SYMBOL_GPL(dm_vmm_write_intents);

void dm_vmm_intent_set_on(struct dm_vmm *md, unsigned long region)
{
	if (!__test_and_set_bit(region, md->intent_on))
		md->nr_intents++;
}
EXPORT_SYMBOL_GPL(dm_vmm_intent_set_on);

void dm_vmm_clear_intent(struct dm_vmm *md, unsigned long region)
{
	if (__test_and_clear_bit(region, md->intent_on))
		md->nr_intents--;
	if (img_test(md->intent_img, region)) {
		img_clear(md->intent_img, region);
		__set_bit(region / DM_VMM_REGIONS_PER_BLOCK, md->intent_dirty);
	}
}
EXPORT_SYMBOL_GPL(dm_vmm_clear_intent);

unsigned long dm_vmm_next_intent(struct dm_vmm *md, unsigned long region,
				 unsigned long end)
{
	return find_next_bit(md->intent_on, min(end, md->geo.nr_regions),
			     region);
}
EXPORT_SYMBOL_GPL(dm_vmm_next_intent);

unsigned long dm_vmm_nr_intents(struct dm_vmm *md)
{
	return READ_ONCE(md->nr_intents);
}
EXPORT_SYMBOL_GPL(dm_vmm_nr_intents);

void dm_vmm_touch(struct dm_vmm *md, unsigned long region)
{
	__set_bit(region, md->touched);
}
EXPORT_SYMBOL_GPL(dm_vmm_touch);

bool dm_vmm_test_and_clear_touched(struct dm_vmm *md, unsigned long region)
{
	return __test_and_clear_bit(region, md->touched);
}
EXPORT_SYMBOL_GPL(dm_vmm_test_and_clear_touched);

u64 dm_vmm_blocks_written(struct dm_vmm *md)
{
	return atomic64_read(&md->blocks_written);
}
EXPORT_SYMBOL_GPL(dm_vmm_blocks_written);

MODULE_DESCRIPTION(DM_NAME " vmotion persistent metadata");
MODULE_AUTHOR("The dm-vmotion authors");
MODULE_LICENSE("GPL");
