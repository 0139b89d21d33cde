// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The dm-vmotion authors.
 *
 * KUnit tests for the dm-vmotion region bitmap (dm-vmotion-bitmap.c).
 */
#include <kunit/test.h>
#include <linux/blkdev.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/sizes.h>

#include "dm-vmotion-bitmap.h"

static struct dm_vmb *create(struct kunit *test, sector_t dev, sector_t region,
			     bool synced)
{
	struct dm_vmb *vmb = dm_vmb_create(dev, region, synced);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(vmb), "dm_vmb_create(%llu, %llu) = %ld",
			       (unsigned long long)dev,
			       (unsigned long long)region, PTR_ERR(vmb));
	return vmb;
}

/* A device that is an exact multiple of the region size. */
static void geometry_exact(struct kunit *test)
{
	struct dm_vmb *vmb = create(test, 1024, 8, false);

	KUNIT_EXPECT_EQ(test, dm_vmb_nr_regions(vmb), 128UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_region_sectors(vmb), (sector_t)8);
	KUNIT_EXPECT_EQ(test, dm_vmb_region_len(vmb, 0), (sector_t)8);
	KUNIT_EXPECT_EQ(test, dm_vmb_region_len(vmb, 127), (sector_t)8);
	KUNIT_EXPECT_EQ(test, dm_vmb_region_len(vmb, 128), (sector_t)0);
	KUNIT_EXPECT_EQ(test, dm_vmb_sector_to_region(vmb, 0), 0UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_sector_to_region(vmb, 7), 0UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_sector_to_region(vmb, 8), 1UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_sector_to_region(vmb, 1023), 127UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_region_to_sector(vmb, 127), (sector_t)1016);
	dm_vmb_destroy(vmb);
}

/* The last region is short when the size is not a multiple. */
static void geometry_short_last_region(struct kunit *test)
{
	struct dm_vmb *vmb = create(test, 1000, 64, false);

	KUNIT_EXPECT_EQ(test, dm_vmb_nr_regions(vmb), 16UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_region_len(vmb, 14), (sector_t)64);
	KUNIT_EXPECT_EQ(test, dm_vmb_region_len(vmb, 15), (sector_t)(1000 - 960));
	KUNIT_EXPECT_EQ(test, dm_vmb_sector_to_region(vmb, 999), 15UL);

	/* smaller than one region */
	dm_vmb_destroy(vmb);
	vmb = create(test, 5, 8, false);
	KUNIT_EXPECT_EQ(test, dm_vmb_nr_regions(vmb), 1UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_region_len(vmb, 0), (sector_t)5);
	dm_vmb_destroy(vmb);
}

static void create_rejects_bad_geometry(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, PTR_ERR(dm_vmb_create(1024, 12, false)), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(dm_vmb_create(1024, 0, false)), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(dm_vmb_create(0, 8, false)), -EINVAL);
	/* 2^40 sectors in 8-sector regions: 2^37 bits, over kvmalloc's limit */
	KUNIT_EXPECT_EQ(test, PTR_ERR(dm_vmb_create(1ULL << 40, 8, false)),
			-E2BIG);
}

/*
 * The most regions a bitmap takes: half of what an unsigned long counts
 * (on 32-bit: room for search windows past a region number) and what one
 * kvmalloc() holds (INT_MAX bytes); one more is refused before anything
 * is allocated.
 */
static void region_count_limit(struct kunit *test)
{
	u64 max = min_t(u64, ULONG_MAX / 2, (u64)INT_MAX * BITS_PER_BYTE);

	KUNIT_EXPECT_EQ(test, PTR_ERR(dm_vmb_create((max + 1) * 8, 8, false)),
			-E2BIG);
	KUNIT_EXPECT_EQ(test, PTR_ERR(dm_vmb_create(max * 8 + 1, 8, false)),
			-E2BIG);
	/* ~0 sectors in 2^21-sector regions: 2^43 regions */
	KUNIT_EXPECT_EQ(test, PTR_ERR(dm_vmb_create(~(sector_t)0, 1U << 21,
						    false)), -E2BIG);
}

/*
 * 64 TiB at 512 KiB regions is 2^27 regions: 16 MiB for each of the three
 * bitmaps (synced, and two generations of written), plus a bit per word
 * of each written bitmap.
 */
static void large_device(struct kunit *test)
{
	sector_t dev = (sector_t)64 << (40 - SECTOR_SHIFT);
	struct dm_vmb *vmb = dm_vmb_create(dev, 1024, false);
	unsigned long last;

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(vmb), "create: %ld", PTR_ERR(vmb));
	last = dm_vmb_nr_regions(vmb) - 1;
	KUNIT_EXPECT_EQ(test, last + 1, 1UL << 27);
	/* and 2 x 256 KiB of marks, one bit per word of written */
	KUNIT_EXPECT_GE(test, dm_vmb_mem_bytes(vmb), (size_t)3 * SZ_16M + SZ_512K);
	KUNIT_EXPECT_LT(test, dm_vmb_mem_bytes(vmb),
			(size_t)3 * SZ_16M + SZ_512K + 4096);
	dm_vmb_mark_written(vmb, last);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, last - 1, ULONG_MAX), last - 1);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, last, ULONG_MAX), last + 1);
	KUNIT_EXPECT_EQ(test, dm_vmb_set_synced(vmb, last, 1), 1UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_synced(vmb, 0, ULONG_MAX), last);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, last, ULONG_MAX), last + 1);
	dm_vmb_destroy(vmb);
}

static void empty_and_full_maps(struct kunit *test)
{
	struct dm_vmb *vmb = create(test, 8 * 200, 8, false);

	KUNIT_EXPECT_EQ(test, dm_vmb_nr_synced(vmb), 0UL);
	KUNIT_EXPECT_FALSE(test, dm_vmb_all_synced(vmb));
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 0, ULONG_MAX), 0UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 199, ULONG_MAX), 199UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 200, ULONG_MAX), 200UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_synced(vmb, 0, ULONG_MAX), 200UL);
	dm_vmb_destroy(vmb);

	vmb = create(test, 8 * 200, 8, true);
	KUNIT_EXPECT_EQ(test, dm_vmb_nr_synced(vmb), 200UL);
	KUNIT_EXPECT_TRUE(test, dm_vmb_all_synced(vmb));
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 0, ULONG_MAX), 200UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_synced(vmb, 0, ULONG_MAX), 0UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_synced(vmb, 199, ULONG_MAX), 199UL);
	dm_vmb_destroy(vmb);
}

static void first_and_last_region(struct kunit *test)
{
	struct dm_vmb *vmb = create(test, 8 * 130 + 3, 8, false);
	unsigned long last = dm_vmb_nr_regions(vmb) - 1;

	KUNIT_EXPECT_EQ(test, last, 130UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_set_synced(vmb, 0, 1), 1UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_set_synced(vmb, last, 1), 1UL);
	KUNIT_EXPECT_TRUE(test, dm_vmb_is_synced(vmb, 0));
	KUNIT_EXPECT_TRUE(test, dm_vmb_is_synced(vmb, last));
	KUNIT_EXPECT_FALSE(test, dm_vmb_is_synced(vmb, 1));
	KUNIT_EXPECT_FALSE(test, dm_vmb_is_synced(vmb, last - 1));
	KUNIT_EXPECT_EQ(test, dm_vmb_nr_synced(vmb), 2UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 0, ULONG_MAX), 1UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_synced(vmb, 1, ULONG_MAX), last);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, last, ULONG_MAX), last + 1);

	/* setting again changes nothing */
	KUNIT_EXPECT_EQ(test, dm_vmb_set_synced(vmb, last, 1), 0UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_nr_synced(vmb), 2UL);

	/* fill the middle: all synced */
	KUNIT_EXPECT_EQ(test, dm_vmb_set_synced(vmb, 0, last + 1), last - 1);
	KUNIT_EXPECT_TRUE(test, dm_vmb_all_synced(vmb));

	KUNIT_EXPECT_EQ(test, dm_vmb_clear_synced(vmb, last, 1), 1UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_clear_synced(vmb, last, 1), 0UL);
	KUNIT_EXPECT_FALSE(test, dm_vmb_all_synced(vmb));
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 0, ULONG_MAX), last);
	dm_vmb_destroy(vmb);
}

/*
 * Whole words change with one exchange each; the count stays exact when
 * some of their bits were already set, around the words and across them.
 */
static void word_ranges(struct kunit *test)
{
	struct dm_vmb *vmb = create(test, 8 * 1000, 8, false);

	KUNIT_EXPECT_EQ(test, dm_vmb_set_synced(vmb, 70, 3), 3UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_set_synced(vmb, 130, 1), 1UL);
	/* words 1 to 14 whole, and parts of words 0 and 15 */
	KUNIT_EXPECT_EQ(test, dm_vmb_set_synced(vmb, 10, 950), 946UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_nr_synced(vmb), 950UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 10, ULONG_MAX), 960UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_synced(vmb, 0, ULONG_MAX), 10UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_clear_synced(vmb, 0, 1000), 950UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_nr_synced(vmb), 0UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_set_synced(vmb, 0, 1000), 1000UL);
	KUNIT_EXPECT_TRUE(test, dm_vmb_all_synced(vmb));
	KUNIT_EXPECT_EQ(test, dm_vmb_clear_synced(vmb, 64, 64), 64UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 0, ULONG_MAX), 64UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_synced(vmb, 64, ULONG_MAX), 128UL);
	dm_vmb_destroy(vmb);
}

/* Ranges that straddle word boundaries keep the count exact. */
static void ranges_across_words(struct kunit *test)
{
	struct dm_vmb *vmb = create(test, 8 * 300, 8, false);

	KUNIT_EXPECT_EQ(test, dm_vmb_set_synced(vmb, 60, 10), 10UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_set_synced(vmb, 65, 70), 65UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_nr_synced(vmb), 75UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_synced(vmb, 0, ULONG_MAX), 60UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 60, ULONG_MAX), 135UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_clear_synced(vmb, 100, 200), 35UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_nr_synced(vmb), 40UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 60, ULONG_MAX), 100UL);
	dm_vmb_destroy(vmb);
}

struct setter {
	struct dm_vmb *vmb;
	unsigned long first;
	unsigned long step;
	struct completion done;
};

static int set_every(void *data)
{
	struct setter *s = data;
	unsigned long r, nr = dm_vmb_nr_regions(s->vmb);

	for (r = s->first; r < nr; r += s->step) {
		dm_vmb_set_synced(s->vmb, r, 1);
		/* a neighbour's bit is never disturbed */
		if (!dm_vmb_is_synced(s->vmb, r))
			break;
		if (!(r & 255))
			cond_resched();
	}
	complete(&s->done);
	return 0;
}

/* Concurrent setters on interleaved bits of the same words. */
static void concurrent_set(struct kunit *test)
{
	enum { THREADS = 4 };
	struct dm_vmb *vmb = create(test, 8 * 100000, 8, false);
	struct setter s[THREADS];
	struct task_struct *t;
	int i;

	for (i = 0; i < THREADS; i++) {
		s[i].vmb = vmb;
		s[i].first = i;
		s[i].step = THREADS;
		init_completion(&s[i].done);
		t = kthread_run(set_every, &s[i], "vmb-kunit-%d", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	}
	for (i = 0; i < THREADS; i++)
		wait_for_completion(&s[i].done);

	KUNIT_EXPECT_EQ(test, dm_vmb_nr_synced(vmb), 100000UL);
	KUNIT_EXPECT_TRUE(test, dm_vmb_all_synced(vmb));
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 0, ULONG_MAX), 100000UL);
	dm_vmb_destroy(vmb);
}

/*
 * Cold regions are neither synced nor written in either generation; the
 * search leaps across words of all three bitmaps.
 */
static void cold_regions(struct kunit *test)
{
	struct dm_vmb *vmb = create(test, 8 * 300, 8, false);
	unsigned long r;

	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 0, ULONG_MAX), 0UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 300, ULONG_MAX), 300UL);

	/* 0-99 synced, 100-199 written in turns with the synced ones */
	dm_vmb_set_synced(vmb, 0, 100);
	for (r = 100; r < 200; r++) {
		if (r % 2)
			dm_vmb_set_synced(vmb, r, 1);
		else
			dm_vmb_mark_written(vmb, r);
	}
	KUNIT_EXPECT_TRUE(test, dm_vmb_is_written(vmb, 100));
	KUNIT_EXPECT_FALSE(test, dm_vmb_is_written(vmb, 101));
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 0, ULONG_MAX), 200UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 0, ULONG_MAX), 100UL);

	/* 200-299 written in the next generation: nothing is cold */
	dm_vmb_age_written(vmb);
	dm_vmb_mark_written(vmb, 200);
	for (r = 201; r < 300; r++)
		dm_vmb_mark_written(vmb, r);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 0, ULONG_MAX), 300UL);

	/* one more age forgets 100-199, not 200-299 */
	dm_vmb_age_written(vmb);
	KUNIT_EXPECT_FALSE(test, dm_vmb_is_written(vmb, 100));
	KUNIT_EXPECT_TRUE(test, dm_vmb_is_written(vmb, 250));
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 0, ULONG_MAX), 100UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 101, ULONG_MAX), 102UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 199, ULONG_MAX), 300UL);

	/* and another forgets them all; synced regions are never cold */
	dm_vmb_age_written(vmb);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 199, ULONG_MAX), 200UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 299, ULONG_MAX), 299UL);
	dm_vmb_set_synced(vmb, 299, 1);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 299, ULONG_MAX), 300UL);
	dm_vmb_destroy(vmb);
}

/*
 * Searches stop at the end they are given: a caller holding a spinlock
 * bounds its work.  Every search returns the end when the window holds
 * nothing, and the first match inside it otherwise, across words.
 */
static void bounded_searches(struct kunit *test)
{
	struct dm_vmb *vmb = create(test, 8 * 1000, 8, false);

	dm_vmb_set_synced(vmb, 0, 900);
	/* nothing unsynced in [0, 900): each window says so */
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 0, 64), 64UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 64, 128), 128UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 850, 899), 899UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 850, 901), 900UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 0, 899), 899UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 899, 1000), 900UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_synced(vmb, 900, 1000), 1000UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_synced(vmb, 950, 960), 960UL);
	/* an end past the last region is the last region + 1 */
	KUNIT_EXPECT_EQ(test, dm_vmb_next_synced(vmb, 950, ULONG_MAX), 1000UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 1000, ULONG_MAX), 1000UL);
	/* an empty window */
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 950, 950), 950UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 960, 950), 950UL);

	/* cold: a word at a time, across all three bitmaps */
	dm_vmb_mark_written(vmb, 900);
	dm_vmb_age_written(vmb);
	dm_vmb_mark_written(vmb, 901);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 0, ULONG_MAX), 902UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 0, 902), 902UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_next_unsynced(vmb, 0, ULONG_MAX), 900UL);
	dm_vmb_destroy(vmb);
}

/*
 * Ageing clears the words that were marked and no others: after two ages
 * every mark is gone, wherever it was, and the bitmap's other state is
 * untouched.
 */
static void ageing_visits_marked_words(struct kunit *test)
{
	struct dm_vmb *vmb = create(test, 8 * 70000, 8, false);
	unsigned long r;

	dm_vmb_set_synced(vmb, 5, 1);
	for (r = 0; r < 70000; r += 997)
		dm_vmb_mark_written(vmb, r);
	dm_vmb_mark_written(vmb, 69999);
	KUNIT_EXPECT_TRUE(test, dm_vmb_is_written(vmb, 997 * 50));
	KUNIT_EXPECT_TRUE(test, dm_vmb_is_written(vmb, 69999));
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 0, ULONG_MAX), 1UL);
	/* the first age keeps the marks, now a generation old */
	dm_vmb_age_written(vmb);
	KUNIT_EXPECT_TRUE(test, dm_vmb_is_written(vmb, 997 * 50));
	dm_vmb_mark_written(vmb, 3);
	/* the second forgets them, not the new one */
	dm_vmb_age_written(vmb);
	for (r = 0; r < 70000; r += 997)
		KUNIT_EXPECT_FALSE(test, dm_vmb_is_written(vmb, r));
	KUNIT_EXPECT_FALSE(test, dm_vmb_is_written(vmb, 69999));
	KUNIT_EXPECT_TRUE(test, dm_vmb_is_written(vmb, 3));
	KUNIT_EXPECT_TRUE(test, dm_vmb_is_synced(vmb, 5));
	KUNIT_EXPECT_EQ(test, dm_vmb_nr_synced(vmb), 1UL);
	/* and a third, the one left */
	dm_vmb_age_written(vmb);
	dm_vmb_age_written(vmb);
	KUNIT_EXPECT_FALSE(test, dm_vmb_is_written(vmb, 3));
	KUNIT_EXPECT_EQ(test, dm_vmb_next_cold(vmb, 0, ULONG_MAX), 0UL);
	dm_vmb_destroy(vmb);
}

static struct kunit_case dm_vmotion_bitmap_cases[] = {
	KUNIT_CASE(geometry_exact),
	KUNIT_CASE(geometry_short_last_region),
	KUNIT_CASE(create_rejects_bad_geometry),
	KUNIT_CASE(region_count_limit),
	KUNIT_CASE(large_device),
	KUNIT_CASE(empty_and_full_maps),
	KUNIT_CASE(first_and_last_region),
	KUNIT_CASE(ranges_across_words),
	KUNIT_CASE(word_ranges),
	KUNIT_CASE(concurrent_set),
	KUNIT_CASE(cold_regions),
	KUNIT_CASE(bounded_searches),
	KUNIT_CASE(ageing_visits_marked_words),
	{}
};

static struct kunit_suite dm_vmotion_bitmap_suite = {
	.name = "dm-vmotion-bitmap",
	.test_cases = dm_vmotion_bitmap_cases,
};

kunit_test_suite(dm_vmotion_bitmap_suite);

MODULE_LICENSE("GPL");
