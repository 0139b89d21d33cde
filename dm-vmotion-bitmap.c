// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The dm-vmotion authors.
 *
 * Region bitmap for dm-vmotion.  See include/dm-vmotion-bitmap.h.
 */
#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/err.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "dm-vmotion-bitmap.h"

struct dm_vmb {
	sector_t dev_sectors;
	unsigned int region_shift;
	unsigned long nr_regions;

	/* Number of bits set in @bits; changed together with them. */
	atomic_long_t nr_synced;
	unsigned long *bits;
};

/*---------------------------------------------------------------------------*/
/* Creation */

struct dm_vmb *dm_vmb_create(sector_t dev_sectors, sector_t region_sectors,
			     bool synced)
{
	struct dm_vmb *vmb;
	u64 nr_regions;

	if (!dev_sectors || !region_sectors || !is_power_of_2(region_sectors))
		return ERR_PTR(-EINVAL);

	/* kvmalloc() refuses more than INT_MAX bytes */
	nr_regions = DIV_ROUND_UP_ULL((u64)dev_sectors, region_sectors);
	if (nr_regions > (u64)INT_MAX * BITS_PER_BYTE)
		return ERR_PTR(-EINVAL);

	vmb = kzalloc(sizeof(*vmb), GFP_KERNEL);
	if (!vmb)
		return ERR_PTR(-ENOMEM);

	vmb->dev_sectors = dev_sectors;
	vmb->region_shift = __ffs(region_sectors);
	vmb->nr_regions = nr_regions;
	vmb->bits = kvcalloc(BITS_TO_LONGS(nr_regions), sizeof(unsigned long),
			     GFP_KERNEL | __GFP_NOWARN);
	if (!vmb->bits) {
		kfree(vmb);
		return ERR_PTR(-ENOMEM);
	}

	if (synced) {
		bitmap_set(vmb->bits, 0, nr_regions);
		atomic_long_set(&vmb->nr_synced, nr_regions);
	}

	return vmb;
}
EXPORT_SYMBOL_GPL(dm_vmb_create);

void dm_vmb_destroy(struct dm_vmb *vmb)
{
	if (!vmb)
		return;
	kvfree(vmb->bits);
	kfree(vmb);
}
EXPORT_SYMBOL_GPL(dm_vmb_destroy);

/*---------------------------------------------------------------------------*/
/* Geometry */

unsigned long dm_vmb_nr_regions(struct dm_vmb *vmb)
{
	return vmb->nr_regions;
}
EXPORT_SYMBOL_GPL(dm_vmb_nr_regions);

sector_t dm_vmb_region_sectors(struct dm_vmb *vmb)
{
	return (sector_t)1 << vmb->region_shift;
}
EXPORT_SYMBOL_GPL(dm_vmb_region_sectors);

unsigned long dm_vmb_sector_to_region(struct dm_vmb *vmb, sector_t sector)
{
	return sector >> vmb->region_shift;
}
EXPORT_SYMBOL_GPL(dm_vmb_sector_to_region);

sector_t dm_vmb_region_to_sector(struct dm_vmb *vmb, unsigned long region)
{
	return (sector_t)region << vmb->region_shift;
}
EXPORT_SYMBOL_GPL(dm_vmb_region_to_sector);

sector_t dm_vmb_region_len(struct dm_vmb *vmb, unsigned long region)
{
	sector_t start = dm_vmb_region_to_sector(vmb, region);

	if (region >= vmb->nr_regions)
		return 0;
	return min_t(sector_t, dm_vmb_region_sectors(vmb),
		     vmb->dev_sectors - start);
}
EXPORT_SYMBOL_GPL(dm_vmb_region_len);

size_t dm_vmb_mem_bytes(struct dm_vmb *vmb)
{
	return sizeof(*vmb) +
	       BITS_TO_LONGS(vmb->nr_regions) * sizeof(unsigned long);
}
EXPORT_SYMBOL_GPL(dm_vmb_mem_bytes);

/*---------------------------------------------------------------------------*/
/* State */

bool dm_vmb_is_synced(struct dm_vmb *vmb, unsigned long region)
{
	if (WARN_ON_ONCE(region >= vmb->nr_regions))
		return false;
	return test_bit(region, vmb->bits);
}
EXPORT_SYMBOL_GPL(dm_vmb_is_synced);

unsigned long dm_vmb_nr_synced(struct dm_vmb *vmb)
{
	return atomic_long_read(&vmb->nr_synced);
}
EXPORT_SYMBOL_GPL(dm_vmb_nr_synced);

bool dm_vmb_all_synced(struct dm_vmb *vmb)
{
	return dm_vmb_nr_synced(vmb) == vmb->nr_regions;
}
EXPORT_SYMBOL_GPL(dm_vmb_all_synced);

unsigned long dm_vmb_set_synced(struct dm_vmb *vmb, unsigned long region,
				unsigned long nr)
{
	unsigned long end, changed = 0;

	if (WARN_ON_ONCE(region > vmb->nr_regions ||
			 nr > vmb->nr_regions - region))
		return 0;

	for (end = region + nr; region < end; region++)
		if (!test_and_set_bit(region, vmb->bits))
			changed++;
	atomic_long_add(changed, &vmb->nr_synced);

	return changed;
}
EXPORT_SYMBOL_GPL(dm_vmb_set_synced);

unsigned long dm_vmb_clear_synced(struct dm_vmb *vmb, unsigned long region,
				  unsigned long nr)
{
	unsigned long end, changed = 0;

	if (WARN_ON_ONCE(region > vmb->nr_regions ||
			 nr > vmb->nr_regions - region))
		return 0;

	for (end = region + nr; region < end; region++)
		if (test_and_clear_bit(region, vmb->bits))
			changed++;
	atomic_long_sub(changed, &vmb->nr_synced);

	return changed;
}
EXPORT_SYMBOL_GPL(dm_vmb_clear_synced);

unsigned long dm_vmb_next_unsynced(struct dm_vmb *vmb, unsigned long region)
{
	if (region >= vmb->nr_regions)
		return vmb->nr_regions;
	return find_next_zero_bit(vmb->bits, vmb->nr_regions, region);
}
EXPORT_SYMBOL_GPL(dm_vmb_next_unsynced);

unsigned long dm_vmb_next_synced(struct dm_vmb *vmb, unsigned long region)
{
	if (region >= vmb->nr_regions)
		return vmb->nr_regions;
	return find_next_bit(vmb->bits, vmb->nr_regions, region);
}
EXPORT_SYMBOL_GPL(dm_vmb_next_synced);

MODULE_DESCRIPTION("dm-vmotion region bitmap");
MODULE_AUTHOR("The dm-vmotion authors");
MODULE_LICENSE("GPL");
