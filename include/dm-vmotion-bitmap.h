/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The dm-vmotion authors.
 *
 * The region bitmap of dm-vmotion: one bit per region of a device, set
 * when the region is in sync on the destination, and two more that say
 * which regions were written lately while not in sync, so that the copier
 * can leave the application's hot regions for last.  It knows nothing of
 * bios or of the target; the target decides what "in sync" and "written"
 * mean.
 *
 * All functions except create, destroy and dm_vmb_age_written() are safe
 * to call concurrently from any context, interrupt context included: bits
 * are changed with atomic bit operations and the count of synced regions is
 * an atomic counter kept alongside, so it is never recomputed by a scan.
 * Searches take the range to search, so that a caller holding a spinlock
 * bounds the work done under it (a word of 64 regions at a time).
 */
#ifndef DM_VMOTION_BITMAP_H
#define DM_VMOTION_BITMAP_H

#include <linux/types.h>

struct dm_vmb;

/*
 * Create a bitmap for a device of @dev_sectors split into regions of
 * @region_sectors (a power of two); the last region may be shorter.  All
 * regions start unsynced, or synced when @synced is true.
 *
 * May block.  Returns an ERR_PTR on failure: -EINVAL for a bad geometry,
 * -E2BIG for more regions than an unsigned long counts or one allocation
 * holds, -ENOMEM when the bitmap cannot be allocated.
 */
struct dm_vmb *dm_vmb_create(sector_t dev_sectors, sector_t region_sectors,
			     bool synced);

/* May block. */
void dm_vmb_destroy(struct dm_vmb *vmb);

/* Geometry; any context. */
unsigned long dm_vmb_nr_regions(struct dm_vmb *vmb);
sector_t dm_vmb_region_sectors(struct dm_vmb *vmb);
unsigned long dm_vmb_sector_to_region(struct dm_vmb *vmb, sector_t sector);
sector_t dm_vmb_region_to_sector(struct dm_vmb *vmb, unsigned long region);
/* Length of @region in sectors: the region size except for a short last one. */
sector_t dm_vmb_region_len(struct dm_vmb *vmb, unsigned long region);
/* Bytes of memory the bitmap holds (for status and benchmarks). */
size_t dm_vmb_mem_bytes(struct dm_vmb *vmb);

/* State; any context. */
bool dm_vmb_is_synced(struct dm_vmb *vmb, unsigned long region);
unsigned long dm_vmb_nr_synced(struct dm_vmb *vmb);
bool dm_vmb_all_synced(struct dm_vmb *vmb);
/*
 * The in-sync bits of regions [64 * @idx, 64 * @idx + 64) as one number,
 * bit i for region 64 * @idx + i (beyond the last region: 0).  Any
 * context; each bit as it was at some moment of the call.
 */
u64 dm_vmb_synced_word(struct dm_vmb *vmb, unsigned long idx);

/*
 * Mark @nr regions from @region synced (or unsynced).  Returns how many of
 * them changed state.  Any context.
 */
unsigned long dm_vmb_set_synced(struct dm_vmb *vmb, unsigned long region,
				unsigned long nr);
unsigned long dm_vmb_clear_synced(struct dm_vmb *vmb, unsigned long region,
				  unsigned long nr);

/*
 * The first unsynced (synced) region in [@region, @end), or @end when there
 * is none; @end is capped at dm_vmb_nr_regions().  The work done is
 * proportional to @end - @region.  Any context; a concurrent change may or
 * may not be seen.
 */
unsigned long dm_vmb_next_unsynced(struct dm_vmb *vmb, unsigned long region,
				   unsigned long end);
unsigned long dm_vmb_next_synced(struct dm_vmb *vmb, unsigned long region,
				 unsigned long end);

/*
 * Regions written lately: dm_vmb_mark_written() marks @region in the
 * current generation; dm_vmb_age_written() forgets the older generation
 * and starts a new one, so a region marked since the last-but-one age is
 * "written".  Mark and test: any context.  Age: process context, may sleep;
 * one caller at a time; its work is proportional to the words of the
 * bitmap that were marked, plus one bit per word of it.
 */
void dm_vmb_mark_written(struct dm_vmb *vmb, unsigned long region);
bool dm_vmb_is_written(struct dm_vmb *vmb, unsigned long region);
void dm_vmb_age_written(struct dm_vmb *vmb);

/*
 * The first region in [@region, @end) that is neither synced nor written,
 * or @end (capped at dm_vmb_nr_regions()).  Work proportional to
 * @end - @region.  Any context; a concurrent change may or may not be seen.
 */
unsigned long dm_vmb_next_cold(struct dm_vmb *vmb, unsigned long region,
			       unsigned long end);

#endif /* DM_VMOTION_BITMAP_H */
