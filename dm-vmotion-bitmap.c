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
#include <linux/sched.h>
#include <linux/slab.h>

#include "dm-vmotion-bitmap.h"

struct dm_vmb {
	sector_t dev_sectors;
	unsigned int region_shift;
	unsigned long nr_regions;

	/* Number of bits set in @bits; changed together with them. */
	atomic_long_t nr_synced;
	unsigned long *bits;

	/*
	 * Regions written while not in sync, in two generations: @written[@gen]
	 * now, the other one before the last dm_vmb_age_written().  A bit of
	 * @marked[g] says that word of @written[g] may have a bit set, so that
	 * ageing visits only the words that were written.
	 */
	unsigned long *written[2];
	unsigned long *marked[2];
	unsigned int gen;
};

/*
 * Most regions a bitmap can have: kvmalloc() refuses more than INT_MAX
 * bytes, and region numbers are unsigned longs that callers add search
 * windows to (on 32-bit, half the range leaves room for that).
 */
#define MAX_REGIONS	min_t(u64, ULONG_MAX / 2, (u64)INT_MAX * BITS_PER_BYTE)

static unsigned long *alloc_bits(unsigned long nr)
{
	return kvcalloc(BITS_TO_LONGS(nr), sizeof(unsigned long),
			GFP_KERNEL | __GFP_NOWARN);
}

/*---------------------------------------------------------------------------*/
/* Creation */

struct dm_vmb *dm_vmb_create(sector_t dev_sectors, sector_t region_sectors,
			     bool synced)
{
	struct dm_vmb *vmb;
	u64 nr_regions;

	if (!dev_sectors || !region_sectors || !is_power_of_2(region_sectors))
		return ERR_PTR(-EINVAL);

	/* not DIV_ROUND_UP: dev_sectors + region_sectors may overflow */
	nr_regions = ((u64)dev_sectors >> __ffs(region_sectors)) +
		     !!(dev_sectors & (region_sectors - 1));
	if (nr_regions > MAX_REGIONS)
		return ERR_PTR(-E2BIG);

	vmb = kzalloc(sizeof(*vmb), GFP_KERNEL);
	if (!vmb)
		return ERR_PTR(-ENOMEM);

	vmb->dev_sectors = dev_sectors;
	vmb->region_shift = __ffs(region_sectors);
	vmb->nr_regions = nr_regions;
	vmb->bits = alloc_bits(nr_regions);
	vmb->written[0] = alloc_bits(nr_regions);
	vmb->written[1] = alloc_bits(nr_regions);
	vmb->marked[0] = alloc_bits(BITS_TO_LONGS(nr_regions));
	vmb->marked[1] = alloc_bits(BITS_TO_LONGS(nr_regions));
	if (!vmb->bits || !vmb->written[0] || !vmb->written[1] ||
	    !vmb->marked[0] || !vmb->marked[1]) {
		dm_vmb_destroy(vmb);
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
	kvfree(vmb->written[0]);
	kvfree(vmb->written[1]);
	kvfree(vmb->marked[0]);
	kvfree(vmb->marked[1]);
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
	unsigned long words = BITS_TO_LONGS(vmb->nr_regions);

	return sizeof(*vmb) +
	       (3 * words + 2 * BITS_TO_LONGS(words)) * sizeof(unsigned long);
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

u64 dm_vmb_synced_word(struct dm_vmb *vmb, unsigned long idx)
{
	unsigned long bit = idx * 64;
	u64 w = 0;
	unsigned int i;

	/* 64 regions from a word boundary: one word, or two on 32-bit */
	for (i = 0; i < 64 / BITS_PER_LONG && bit < vmb->nr_regions;
	     i++, bit += BITS_PER_LONG)
		w |= (u64)READ_ONCE(vmb->bits[BIT_WORD(bit)]) << (i * BITS_PER_LONG);
	return w;
}
EXPORT_SYMBOL_GPL(dm_vmb_synced_word);

/*
 * Set (@set) or clear the bits of regions [region, region + nr), whole
 * words at a time with one atomic exchange each; how many changed.
 */
static unsigned long change_bits(struct dm_vmb *vmb, unsigned long region,
				 unsigned long nr, bool set)
{
	unsigned long end = region + nr, changed = 0, old;

	while (region < end) {
		unsigned long *w = &vmb->bits[BIT_WORD(region)];

		if (!(region % BITS_PER_LONG) && end - region >= BITS_PER_LONG) {
			old = xchg(w, set ? ~0UL : 0UL);
			changed += set ? BITS_PER_LONG - hweight_long(old) :
					 hweight_long(old);
			region += BITS_PER_LONG;
			continue;
		}
		if (set ? !test_and_set_bit(region, vmb->bits) :
			  test_and_clear_bit(region, vmb->bits))
			changed++;
		region++;
	}
	return changed;
}

unsigned long dm_vmb_set_synced(struct dm_vmb *vmb, unsigned long region,
				unsigned long nr)
{
	unsigned long changed;

	if (WARN_ON_ONCE(region > vmb->nr_regions ||
			 nr > vmb->nr_regions - region))
		return 0;

	changed = change_bits(vmb, region, nr, true);
	atomic_long_add(changed, &vmb->nr_synced);
	return changed;
}
EXPORT_SYMBOL_GPL(dm_vmb_set_synced);

unsigned long dm_vmb_clear_synced(struct dm_vmb *vmb, unsigned long region,
				  unsigned long nr)
{
	unsigned long changed;

	if (WARN_ON_ONCE(region > vmb->nr_regions ||
			 nr > vmb->nr_regions - region))
		return 0;

	changed = change_bits(vmb, region, nr, false);
	atomic_long_sub(changed, &vmb->nr_synced);
	return changed;
}
EXPORT_SYMBOL_GPL(dm_vmb_clear_synced);

unsigned long dm_vmb_next_unsynced(struct dm_vmb *vmb, unsigned long region,
				   unsigned long end)
{
	end = min(end, vmb->nr_regions);
	if (region >= end)
		return end;
	return find_next_zero_bit(vmb->bits, end, region);
}
EXPORT_SYMBOL_GPL(dm_vmb_next_unsynced);

unsigned long dm_vmb_next_synced(struct dm_vmb *vmb, unsigned long region,
				 unsigned long end)
{
	end = min(end, vmb->nr_regions);
	if (region >= end)
		return end;
	return find_next_bit(vmb->bits, end, region);
}
EXPORT_SYMBOL_GPL(dm_vmb_next_synced);

/*---------------------------------------------------------------------------*/
/* Regions written while not in sync */

void dm_vmb_mark_written(struct dm_vmb *vmb, unsigned long region)
{
	unsigned int gen = READ_ONCE(vmb->gen);
	unsigned long *w = vmb->written[gen];

	if (WARN_ON_ONCE(region >= vmb->nr_regions))
		return;
	/* read first: once the bit is set, the line stays shared */
	if (test_bit(region, w))
		return;
	set_bit(region, w);
	if (!test_bit(BIT_WORD(region), vmb->marked[gen]))
		set_bit(BIT_WORD(region), vmb->marked[gen]);
}
EXPORT_SYMBOL_GPL(dm_vmb_mark_written);

bool dm_vmb_is_written(struct dm_vmb *vmb, unsigned long region)
{
	if (WARN_ON_ONCE(region >= vmb->nr_regions))
		return false;
	return test_bit(region, vmb->written[0]) ||
	       test_bit(region, vmb->written[1]);
}
EXPORT_SYMBOL_GPL(dm_vmb_is_written);

void dm_vmb_age_written(struct dm_vmb *vmb)
{
	unsigned int old = !vmb->gen;
	unsigned long *w = vmb->written[old];
	unsigned long *marked = vmb->marked[old];
	unsigned long words = BITS_TO_LONGS(vmb->nr_regions);
	unsigned long i, n = 0;

	/*
	 * Nobody marks the old generation any more, unless a writer read
	 * @gen a whole generation ago; a mark lost to the clearing only makes
	 * a region look cold early.  These bits order the copies, they never
	 * decide what is in sync.  Clear only the words that were marked, a
	 * word at a time, then make it the current generation.
	 */
	for_each_set_bit(i, marked, words) {
		WRITE_ONCE(w[i], 0);
		clear_bit(i, marked);
		if (!(++n % 4096))
			cond_resched();
	}
	WRITE_ONCE(vmb->gen, old);
}
EXPORT_SYMBOL_GPL(dm_vmb_age_written);

unsigned long dm_vmb_next_cold(struct dm_vmb *vmb, unsigned long region,
			       unsigned long end)
{
	unsigned long i, cold;

	/*
	 * A word at a time: a region is cold where all three bitmaps have a
	 * zero.  The bits past the last region are zero in all three, hence
	 * the min().
	 */
	end = min(end, vmb->nr_regions);
	while (region < end) {
		i = BIT_WORD(region);
		cold = ~(READ_ONCE(vmb->bits[i]) |
			 READ_ONCE(vmb->written[0][i]) |
			 READ_ONCE(vmb->written[1][i]));
		cold &= BITMAP_FIRST_WORD_MASK(region);
		if (cold)
			return min(i * BITS_PER_LONG + __ffs(cold), end);
		region = (i + 1) * BITS_PER_LONG;
	}
	return end;
}
EXPORT_SYMBOL_GPL(dm_vmb_next_cold);

MODULE_DESCRIPTION("dm-vmotion region bitmap");
MODULE_AUTHOR("The dm-vmotion authors");
MODULE_LICENSE("GPL");
