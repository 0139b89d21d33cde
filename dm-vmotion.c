// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The dm-vmotion authors.
 *
 * dm-vmotion: move a device's data to another disk while it is in use.
 *
 * The target sits where a linear target was.  Reads go to the source.
 * Writes to regions already copied go to both disks and complete when both
 * have them; writes to regions not yet copied go to the source alone, and
 * kcopyd carries them over with the rest of the region.  A region bitmap
 * records which regions are in sync.  Once every region is, userspace swaps
 * in a linear table on the destination.
 *
 * See Documentation/dm-vmotion.rst.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/dm-kcopyd.h>
#include <linux/hashtable.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "dm-vmotion.h"
#include "dm-vmotion-bitmap.h"
#include "dm-vmotion-compat.h"

#define DM_MSG_PREFIX "vmotion"

/*
 * Copies in flight at a time: MAX_COPIES when the device is idle, BUSY_COPIES
 * while the application has done I/O in the last BUSY_WINDOW.  After a copy
 * that the application's I/O competed with, the copier also rests, so that
 * it keeps the disks for at most busy_copy_share percent of the time
 * (measured: make bench).
 */
#define MAX_COPIES		8
#define BUSY_COPIES		1
#define BUSY_WINDOW		(HZ / 10)
/* Adjacent unsynced regions are copied together, up to this many sectors. */
#define MAX_BATCH_SECTORS	2048U
#define BUSY_BATCH_SECTORS	256U
#define DEFAULT_BUSY_SHARE	50U
/* A region written within one to two of these is hot: copied last */
#define HEAT_AGE		HZ

static unsigned int busy_copy_share = DEFAULT_BUSY_SHARE;

static int set_busy_copy_share(const char *val, const struct kernel_param *kp)
{
	unsigned int share;
	int r = kstrtouint(val, 10, &share);

	if (r)
		return r;
	if (share < 1 || share > 100)
		return -EINVAL;
	WRITE_ONCE(busy_copy_share, share);
	return 0;
}

static const struct kernel_param_ops busy_copy_share_ops = {
	.set = set_busy_copy_share,
	.get = param_get_uint,
};
module_param_cb(busy_copy_share, &busy_copy_share_ops, &busy_copy_share, 0644);
MODULE_PARM_DESC(busy_copy_share,
		 "Percentage of the time the copier may keep the disks while the application does I/O (1-100, default 50)");
/* Rate limiting: a copy moves at most 1/8 s of the configured rate. */
#define RATE_SLICES_PER_SEC	8U
#define WRITES_HASH_BITS	10

/* Bits of vmotion->flags */
enum {
	VM_SUSPENDED,		/* no new copies: between presuspend and resume */
	VM_PAUSED,		/* no new copies: "pause" message */
	VM_FAILED,		/* migration failed; I/O goes to the source only */
	VM_SYNCED_REPORTED,	/* the sync event has been raised */
	VM_EVENT,		/* a dm event is owed to userspace */
};

struct vmotion;

/*
 * A copy of adjacent unsynced regions [region, region + nr).  From the
 * moment it is registered, writes to its regions are held on @deferred until
 * it is done.  It starts once the @waiting writes that were already in
 * flight to its regions have completed.
 */
struct vm_copy {
	struct vmotion *v;
	struct list_head list;	/* on v->copies while registered */
	unsigned long region;
	unsigned long nr;
	unsigned int waiting;
	bool running;
	u64 start_ns;		/* when kcopyd was given it */
	unsigned long app_bios;	/* app_bios() then */
	struct bio_list deferred;
};

struct vmotion {
	struct dm_target *ti;

	struct dm_dev *source_dev;
	struct dm_dev *dest_dev;
	sector_t source_start;
	sector_t dest_start;
	sector_t region_size;

	/* Feature arguments, as given (rate may change by message) */
	unsigned int rate;	/* KiB/s, 0 = unlimited */
	bool rate_given;
	bool nosync;
	bool no_discard_passdown;
	/* Discards go to the destination as well */
	bool discard_to_dest;

	unsigned long flags;
	struct dm_vmb *bitmap;

	/*
	 * @lock protects: writes in flight to the source alone (regions
	 * not yet in sync), hashed by region; the registered copies; bios
	 * released by finished copies, to be mapped again by the worker; the
	 * copy cursor and sweep.
	 */
	spinlock_t lock;
	DECLARE_HASHTABLE(writes, WRITES_HASH_BITS);
	struct list_head copies;
	struct list_head free_copies;
	unsigned int nr_copies;
	struct bio_list deferred;
	unsigned long cursor;
	/* Copying regions not written lately; one found in this sweep */
	bool cold_pass;
	bool sweep_found;

	/* Worker-only: earliest time the rate limit lets the next copy start */
	u64 rate_next_ns;
	/* Worker-only: jiffies of the last dm_vmb_age_written() */
	unsigned long aged;
	/*
	 * Earliest time the next copy may start while the device is busy,
	 * set as a copy the application competed with ends; @rest_timer
	 * wakes the worker then.
	 */
	u64 rest_until_ns;
	struct hrtimer rest_timer;
	/* jiffies of the last application bio; written without a lock */
	unsigned long last_io;
	/* Application bios mapped, per CPU: see app_bios() */
	unsigned long __percpu *bios_mapped;

	atomic64_t copied_sectors;
	atomic64_t held_writes;	/* writes that waited for a copy */
	atomic_t dest_errors;
	atomic_t source_errors;

	struct workqueue_struct *wq;
	struct delayed_work worker;
	wait_queue_head_t copies_wait;

	struct dm_kcopyd_client *kcopyd;
	struct bio_set bs;
	struct vm_copy copy_pool[MAX_COPIES];
};

/* Per-bio data */
enum {
	VB_TRACKED,	/* in v->writes */
	VB_FULL,	/* covers a whole unsynced region: syncs it if it succeeds */
	VB_DEST_ERROR,	/* the destination half failed */
};

struct vm_bio {
	struct hlist_node node;
	unsigned long region;
	unsigned long flags;
};

/*---------------------------------------------------------------------------*/
/* Helpers */

static const char *vm_name(struct vmotion *v)
{
	return dm_table_device_name(v->ti->table);
}

static void wake_worker(struct vmotion *v)
{
	mod_delayed_work(v->wq, &v->worker, 0);
}

/* The application has done I/O in the last BUSY_WINDOW. */
static bool vm_busy(struct vmotion *v)
{
	return time_before(jiffies, READ_ONCE(v->last_io) + BUSY_WINDOW);
}

/*
 * Application bios mapped so far.  Read without synchronisation: it only
 * tells whether the application did I/O while a copy ran.
 */
static unsigned long app_bios(struct vmotion *v)
{
	unsigned long n = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		n += READ_ONCE(*per_cpu_ptr(v->bios_mapped, cpu));
	return n;
}

static void raise_event(struct vmotion *v)
{
	set_bit(VM_EVENT, &v->flags);
	wake_worker(v);
}

/*
 * The migration has failed: from now on I/O goes to the source alone and
 * no more copies start.
 *
 * NOTE: any context.
 */
static void vm_fail(struct vmotion *v, const char *why, int err)
{
	if (test_and_set_bit(VM_FAILED, &v->flags))
		return;
	DMERR("%s: %s (error %d): migration failed, I/O continues on the source",
	      vm_name(v), why, err);
	raise_event(v);
}

static sector_t region_start(struct vmotion *v, unsigned long region)
{
	return dm_vmb_region_to_sector(v->bitmap, region);
}

static sector_t regions_len(struct vmotion *v, unsigned long region,
			    unsigned long nr)
{
	sector_t end = min_t(sector_t, region_start(v, region + nr), v->ti->len);

	return end - region_start(v, region);
}

static unsigned long bio_region(struct vmotion *v, struct bio *bio)
{
	return dm_vmb_sector_to_region(v->bitmap,
				       dm_target_offset(v->ti, bio->bi_iter.bi_sector));
}

/* Does @bio overwrite the whole of its region? */
static bool bio_covers_region(struct vmotion *v, struct bio *bio,
			      unsigned long region)
{
	sector_t offset = dm_target_offset(v->ti, bio->bi_iter.bi_sector);

	return offset == region_start(v, region) &&
	       bio_sectors(bio) == dm_vmb_region_len(v->bitmap, region);
}

/*
 * The registered copy covering @region, if any.
 *
 * NOTE: caller holds v->lock.
 */
static struct vm_copy *__find_copy(struct vmotion *v, unsigned long region)
{
	struct vm_copy *c;

	list_for_each_entry(c, &v->copies, list)
		if (region >= c->region && region - c->region < c->nr)
			return c;
	return NULL;
}

/*---------------------------------------------------------------------------*/
/* Write path */

static void remap_to_source(struct vmotion *v, struct bio *bio)
{
	bio_set_dev(bio, v->source_dev->bdev);
	bio->bi_iter.bi_sector = v->source_start +
		dm_target_offset(v->ti, bio->bi_iter.bi_sector);
}

static void dest_endio(struct bio *clone)
{
	struct bio *bio = clone->bi_private;
	struct vm_bio *vb = dm_per_bio_data(bio, sizeof(struct vm_bio));

	if (clone->bi_status)
		set_bit(VB_DEST_ERROR, &vb->flags);
	bio_put(clone);
	/* drops the reference mirror_to_dest() took: may complete @bio */
	bio_endio(bio);
}

/*
 * Send a copy of @bio (not yet remapped) to the destination.  @bio
 * completes only when both halves have: dm core's end_io for it runs once
 * the clone's completion has dropped its extra reference.
 */
static void mirror_to_dest(struct vmotion *v, struct bio *bio)
{
	struct bio *clone;

	clone = bio_alloc_clone(v->dest_dev->bdev, bio, GFP_NOIO, &v->bs);
	clone->bi_iter.bi_sector = v->dest_start +
		dm_target_offset(v->ti, bio->bi_iter.bi_sector);
	clone->bi_end_io = dest_endio;
	clone->bi_private = bio;
	bio_inc_remaining(bio);
	submit_bio_noacct(clone);
}

/*
 * Decide where a write, discard, write-zeroes or flush goes:
 *
 *  - migration failed: the source alone;
 *  - region being copied: held until the copy is done;
 *  - region in sync: both devices;
 *  - region not in sync: the source alone, tracked so that no copy of the
 *    region starts before it completes; except that a write covering the
 *    whole region goes to both and makes the region in sync, provided no
 *    other write to the region overlaps it in time.
 *
 * Returns DM_MAPIO_REMAPPED with @bio remapped to the source, or
 * DM_MAPIO_SUBMITTED if it was held back.
 */
static int map_write(struct vmotion *v, struct bio *bio)
{
	struct vm_bio *vb = dm_per_bio_data(bio, sizeof(struct vm_bio));
	struct vm_bio *other;
	struct vm_copy *c;
	unsigned long region, flags;
	bool to_dest = false;
	bool discard = bio_op(bio) == REQ_OP_DISCARD;

	vb->flags = 0;

	if (!bio_sectors(bio)) {
		/* empty flush */
		to_dest = !test_bit(VM_FAILED, &v->flags);
		goto remap;
	}

	region = bio_region(v, bio);

	spin_lock_irqsave(&v->lock, flags);
	if (test_bit(VM_FAILED, &v->flags))
		goto unlock;

	c = __find_copy(v, region);
	if (c) {
		bio_list_add(&c->deferred, bio);
		spin_unlock_irqrestore(&v->lock, flags);
		atomic64_inc(&v->held_writes);
		return DM_MAPIO_SUBMITTED;
	}

	if (dm_vmb_is_synced(v->bitmap, region)) {
		to_dest = !discard || v->discard_to_dest;
		goto unlock;
	}

	/*
	 * Not in sync.  Any write already in flight to this region may land
	 * on the source after this one, so none of them can make the region
	 * in sync on its own any more.
	 */
	vb->region = region;
	dm_vmb_mark_written(v->bitmap, region);
	if (!discard && bio_covers_region(v, bio, region))
		set_bit(VB_FULL, &vb->flags);
	hash_for_each_possible(v->writes, other, node, region) {
		if (other->region != region)
			continue;
		clear_bit(VB_FULL, &other->flags);
		clear_bit(VB_FULL, &vb->flags);
	}
	set_bit(VB_TRACKED, &vb->flags);
	hash_add(v->writes, &vb->node, region);
	to_dest = test_bit(VB_FULL, &vb->flags);
unlock:
	spin_unlock_irqrestore(&v->lock, flags);
remap:
	if (to_dest)
		mirror_to_dest(v, bio);
	remap_to_source(v, bio);
	return DM_MAPIO_REMAPPED;
}

/*
 * A tracked write has completed on both sides.
 *
 * NOTE: any context.
 */
static void write_done(struct vmotion *v, struct vm_bio *vb, blk_status_t error)
{
	struct vm_copy *c;
	unsigned long flags;
	bool wake = false;

	spin_lock_irqsave(&v->lock, flags);
	hash_del(&vb->node);
	if (test_bit(VB_FULL, &vb->flags) && !error &&
	    !test_bit(VB_DEST_ERROR, &vb->flags) &&
	    !test_bit(VM_FAILED, &v->flags)) {
		dm_vmb_set_synced(v->bitmap, vb->region, 1);
		wake = dm_vmb_all_synced(v->bitmap);
	}
	c = __find_copy(v, vb->region);
	if (c && !WARN_ON_ONCE(!c->waiting) && !--c->waiting)
		wake = true;
	spin_unlock_irqrestore(&v->lock, flags);

	if (wake)
		wake_worker(v);
}

/*---------------------------------------------------------------------------*/
/* Copier */

static void copy_done(int read_err, unsigned long write_err, void *context)
{
	struct vm_copy *c = context;
	struct vmotion *v = c->v;
	sector_t len = regions_len(v, c->region, c->nr);
	unsigned long flags;
	/* outside the lock: it reads every CPU's counter */
	bool competed = app_bios(v) != c->app_bios;
	u64 now = ktime_get_ns();

	if (read_err) {
		atomic_inc(&v->source_errors);
		DMERR("%s: source read error copying sectors %llu+%llu",
		      vm_name(v), (unsigned long long)region_start(v, c->region),
		      (unsigned long long)len);
		vm_fail(v, "cannot read the source", -EIO);
	} else if (write_err) {
		atomic_inc(&v->dest_errors);
		DMERR("%s: destination write error copying sectors %llu+%llu",
		      vm_name(v), (unsigned long long)region_start(v, c->region),
		      (unsigned long long)len);
		vm_fail(v, "cannot write the destination", -EIO);
	} else {
		/* before the held writes are released: they must see it */
		dm_vmb_set_synced(v->bitmap, c->region, c->nr);
		atomic64_add(len, &v->copied_sectors);
	}

	spin_lock_irqsave(&v->lock, flags);
	if (competed) {
		/* Rest so that copying takes share% of the time. */
		unsigned int share = READ_ONCE(busy_copy_share);

		v->rest_until_ns = now + div_u64((now - c->start_ns) *
						 (100 - share), share);
	}
	bio_list_merge(&v->deferred, &c->deferred);
	bio_list_init(&c->deferred);
	list_move(&c->list, &v->free_copies);
	v->nr_copies--;
	spin_unlock_irqrestore(&v->lock, flags);

	wake_worker(v);
	/* Partner: wait_event() in vmotion_postsuspend() */
	wake_up(&v->copies_wait);
}

static void start_copy(struct vmotion *v, struct vm_copy *c)
{
	struct dm_io_region from, to;
	sector_t offset = region_start(v, c->region);

	from.bdev = v->source_dev->bdev;
	from.sector = v->source_start + offset;
	from.count = regions_len(v, c->region, c->nr);
	to.bdev = v->dest_dev->bdev;
	to.sector = v->dest_start + offset;
	to.count = from.count;

	c->start_ns = ktime_get_ns();
	c->app_bios = app_bios(v);
	dm_kcopyd_copy(v->kcopyd, &from, 1, &to, 0, copy_done, c);
}

/* How many copies may be in flight now. */
static unsigned int max_copies(bool busy)
{
	return busy ? BUSY_COPIES : MAX_COPIES;
}

/* Regions per copy: adjacent ones batched, smaller at low rates. */
static unsigned long batch_regions(struct vmotion *v, bool busy,
				   unsigned int rate)
{
	u64 sectors = busy ? BUSY_BATCH_SECTORS : MAX_BATCH_SECTORS;

	if (rate)
		sectors = min_t(u64, sectors,
				(u64)rate * 2 / RATE_SLICES_PER_SEC);
	return max_t(u64, 1, sectors >> __ffs(v->region_size));
}

static bool may_copy(struct vmotion *v)
{
	return !test_bit(VM_SUSPENDED, &v->flags) &&
	       !test_bit(VM_PAUSED, &v->flags) &&
	       !test_bit(VM_FAILED, &v->flags);
}

/*
 * The next region of the cold sweep: one the application has not written
 * lately.  At the end of a sweep that found one, sweep again; after a
 * sweep that found none the cold pass is over, and the rest, the hot
 * regions, are copied in ascending order from the start.  Called with
 * v->lock held; returns dm_vmb_nr_regions() when the pass ends.
 */
static unsigned long __next_cold(struct vmotion *v)
{
	unsigned long nr_regions = dm_vmb_nr_regions(v->bitmap);
	unsigned long r = dm_vmb_next_cold(v->bitmap, v->cursor);

	if (r >= nr_regions && v->sweep_found) {
		v->sweep_found = false;
		v->cursor = 0;
		r = dm_vmb_next_cold(v->bitmap, 0);
	}
	if (r < nr_regions) {
		v->sweep_found = true;
		return r;
	}
	v->cold_pass = false;
	v->cursor = 0;
	return r;
}

/*
 * Register the next batch of unsynced regions as a copy.  *@ready tells
 * whether it can start now or waits for writes already in flight to its
 * regions.  Returns ERR_PTR(-ENOENT) when nothing is left to copy, no copy
 * slot is free or copying is stopped, and ERR_PTR(-EAGAIN) with *@rest_ns
 * set when the copier rests for a busy device.
 */
static struct vm_copy *next_copy(struct vmotion *v, bool busy, u64 now,
				 unsigned long max, bool *ready, u64 *rest_ns)
{
	unsigned long nr_regions = dm_vmb_nr_regions(v->bitmap);
	unsigned long r, end, i;
	struct vm_bio *vb;
	struct vm_copy *c;

	spin_lock_irq(&v->lock);
	/* Under the lock: vmotion_presuspend() sets VM_SUSPENDED under it. */
	if (!may_copy(v) || list_empty(&v->free_copies) ||
	    v->nr_copies >= max_copies(busy))
		goto none;
	if (busy && now < v->rest_until_ns) {
		*rest_ns = v->rest_until_ns - now;
		spin_unlock_irq(&v->lock);
		return ERR_PTR(-EAGAIN);
	}

	if (v->cold_pass)
		r = __next_cold(v);
	if (!v->cold_pass) {
		r = dm_vmb_next_unsynced(v->bitmap, v->cursor);
		if (r >= nr_regions && v->cursor && !v->nr_copies) {
			/* Nothing after the cursor: look behind it once more. */
			v->cursor = 0;
			r = dm_vmb_next_unsynced(v->bitmap, 0);
		}
	}
	if (r >= nr_regions || __find_copy(v, r))
		goto none;

	end = r + 1;
	while (end < nr_regions && end - r < max &&
	       !dm_vmb_is_synced(v->bitmap, end) && !__find_copy(v, end) &&
	       !(v->cold_pass && dm_vmb_is_written(v->bitmap, end)))
		end++;

	c = list_first_entry(&v->free_copies, struct vm_copy, list);
	list_move_tail(&c->list, &v->copies);
	v->nr_copies++;
	c->region = r;
	c->nr = end - r;
	c->running = false;
	c->waiting = 0;
	for (i = r; i < end; i++)
		hash_for_each_possible(v->writes, vb, node, i)
			if (vb->region == i)
				c->waiting++;
	v->cursor = end;
	if (!c->waiting)
		c->running = true;
	*ready = c->running;
	spin_unlock_irq(&v->lock);

	return c;
none:
	spin_unlock_irq(&v->lock);
	return ERR_PTR(-ENOENT);
}

/* Start copies whose writes have drained and new ones, within the rate. */
static void do_copies(struct vmotion *v)
{
	struct vm_copy *ready[MAX_COPIES];
	struct vm_copy *c;
	unsigned int i, n = 0;

	spin_lock_irq(&v->lock);
	list_for_each_entry(c, &v->copies, list) {
		if (!c->running && !c->waiting) {
			c->running = true;
			ready[n++] = c;
		}
	}
	spin_unlock_irq(&v->lock);
	for (i = 0; i < n; i++)
		start_copy(v, ready[i]);

	while (may_copy(v)) {
		unsigned int rate = READ_ONCE(v->rate);
		u64 now = ktime_get_ns();
		bool busy = vm_busy(v);
		u64 rest_ns;
		bool ready;

		if (rate && now < v->rate_next_ns) {
			mod_delayed_work(v->wq, &v->worker,
					 nsecs_to_jiffies(v->rate_next_ns - now) + 1);
			break;
		}

		c = next_copy(v, busy, now, batch_regions(v, busy, rate), &ready,
			      &rest_ns);
		if (PTR_ERR(c) == -EAGAIN) {
			hrtimer_start(&v->rest_timer, ns_to_ktime(rest_ns),
				      HRTIMER_MODE_REL);
			break;
		}
		if (IS_ERR(c))
			break;

		if (rate) {
			u64 bytes = (u64)regions_len(v, c->region, c->nr) << SECTOR_SHIFT;

			v->rate_next_ns = max(v->rate_next_ns, now) +
				div_u64(bytes * NSEC_PER_SEC, (u64)rate * 1024);
		}
		if (ready)
			start_copy(v, c);
	}
}

static enum hrtimer_restart rest_timer_fn(struct hrtimer *timer)
{
	struct vmotion *v = container_of(timer, struct vmotion, rest_timer);

	wake_worker(v);
	return HRTIMER_NORESTART;
}

/*---------------------------------------------------------------------------*/
/* Worker */

static void do_worker(struct work_struct *ws)
{
	struct vmotion *v = container_of(to_delayed_work(ws), struct vmotion,
					 worker);
	struct bio_list bios;
	struct bio *bio;

	/* Writes that waited for a copy */
	spin_lock_irq(&v->lock);
	bios = v->deferred;
	bio_list_init(&v->deferred);
	spin_unlock_irq(&v->lock);
	while ((bio = bio_list_pop(&bios)))
		if (map_write(v, bio) == DM_MAPIO_REMAPPED)
			submit_bio_noacct(bio);

	/* cold_pass changes only in this worker, in next_copy() */
	if (v->cold_pass && time_after(jiffies, v->aged + HEAT_AGE)) {
		dm_vmb_age_written(v->bitmap);
		v->aged = jiffies;
	}
	do_copies(v);

	if (dm_vmb_all_synced(v->bitmap) && !test_bit(VM_FAILED, &v->flags) &&
	    !test_and_set_bit(VM_SYNCED_REPORTED, &v->flags)) {
		DMINFO("%s: all %lu regions in sync", vm_name(v),
		       dm_vmb_nr_regions(v->bitmap));
		set_bit(VM_EVENT, &v->flags);
	}

	if (test_and_clear_bit(VM_EVENT, &v->flags))
		dm_table_event(v->ti->table);
}

/*---------------------------------------------------------------------------*/
/* Target methods */

static int vmotion_map(struct dm_target *ti, struct bio *bio)
{
	struct vmotion *v = ti->private;
	enum req_op op = bio_op(bio);
	unsigned long now = jiffies;

	/* at most one store per tick: the line stays shared between CPUs */
	if (READ_ONCE(v->last_io) != now)
		WRITE_ONCE(v->last_io, now);
	this_cpu_inc(*v->bios_mapped);

	if (!op_is_write(op)) {
		remap_to_source(v, bio);
		return DM_MAPIO_REMAPPED;
	}

	/*
	 * dm core splits reads and writes at region boundaries
	 * (max_io_len); on 6.1 it sends discards and write-zeroes whole.
	 */
	if (op == REQ_OP_DISCARD || op == REQ_OP_WRITE_ZEROES) {
		sector_t offset = dm_target_offset(ti, bio->bi_iter.bi_sector);
		sector_t room = v->region_size - (offset & (v->region_size - 1));

		if (bio_sectors(bio) > room)
			dm_accept_partial_bio(bio, room);
	}

	return map_write(v, bio);
}

static int vmotion_end_io(struct dm_target *ti, struct bio *bio,
			  blk_status_t *error)
{
	struct vmotion *v = ti->private;
	struct vm_bio *vb;

	if (!op_is_write(bio_op(bio))) {
		if (*error && *error != BLK_STS_AGAIN)
			atomic_inc(&v->source_errors);
		return DM_ENDIO_DONE;
	}

	vb = dm_per_bio_data(bio, sizeof(struct vm_bio));
	if (test_bit(VB_DEST_ERROR, &vb->flags)) {
		atomic_inc(&v->dest_errors);
		vm_fail(v, "destination write error", -EIO);
	}
	if (*error && *error != BLK_STS_AGAIN)
		atomic_inc(&v->source_errors);
	if (test_bit(VB_TRACKED, &vb->flags))
		write_done(v, vb, *error);

	return DM_ENDIO_DONE;
}

static void vmotion_presuspend(struct dm_target *ti)
{
	struct vmotion *v = ti->private;

	/*
	 * Copies already registered finish: they may hold writes back.
	 * Under the lock, so that next_copy() registers none after it.
	 */
	spin_lock_irq(&v->lock);
	set_bit(VM_SUSPENDED, &v->flags);
	spin_unlock_irq(&v->lock);
}

static void vmotion_presuspend_undo(struct dm_target *ti)
{
	struct vmotion *v = ti->private;

	clear_bit(VM_SUSPENDED, &v->flags);
	wake_worker(v);
}

static void vmotion_postsuspend(struct dm_target *ti)
{
	struct vmotion *v = ti->private;

	/* Partner: wake_up() in copy_done() */
	wait_event(v->copies_wait, !READ_ONCE(v->nr_copies));
	/* The worker arms the timer only while copies may start. */
	hrtimer_cancel(&v->rest_timer);
	cancel_delayed_work_sync(&v->worker);
	/* An event owed (sync reached, failure) is not lost to the suspend. */
	if (test_and_clear_bit(VM_EVENT, &v->flags))
		dm_table_event(ti->table);
}

static void vmotion_resume(struct dm_target *ti)
{
	struct vmotion *v = ti->private;

	clear_bit(VM_SUSPENDED, &v->flags);
	v->rate_next_ns = 0;
	wake_worker(v);
}

static const char *vm_state(struct vmotion *v)
{
	if (test_bit(VM_FAILED, &v->flags))
		return DM_VMOTION_STATE_FAILED;
	if (dm_vmb_all_synced(v->bitmap))
		return DM_VMOTION_STATE_SYNCED;
	if (test_bit(VM_PAUSED, &v->flags))
		return DM_VMOTION_STATE_PAUSED;
	return DM_VMOTION_STATE_COPYING;
}

/*
 * Status format:
 *
 * <synced regions>/<total regions> <region size> <state> <rate KiB/s>
 * <copied KiB> <dest errors> <source errors> <held writes>
 *
 * Table format: the constructor line, devices as major:minor.
 */
static void vmotion_status(struct dm_target *ti, status_type_t type,
			   unsigned int status_flags, char *result,
			   unsigned int maxlen)
{
	struct vmotion *v = ti->private;
	unsigned int sz = 0;
	unsigned int nr_features;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%lu/%lu %llu %s %u %llu %d %d %llu",
		       dm_vmb_nr_synced(v->bitmap),
		       dm_vmb_nr_regions(v->bitmap),
		       (unsigned long long)v->region_size, vm_state(v),
		       READ_ONCE(v->rate),
		       (unsigned long long)atomic64_read(&v->copied_sectors) / 2,
		       atomic_read(&v->dest_errors),
		       atomic_read(&v->source_errors),
		       (unsigned long long)atomic64_read(&v->held_writes));
		break;

	case STATUSTYPE_TABLE:
		DMEMIT("%s %llu %s %llu %llu", v->source_dev->name,
		       (unsigned long long)v->source_start, v->dest_dev->name,
		       (unsigned long long)v->dest_start,
		       (unsigned long long)v->region_size);
		nr_features = (v->rate_given || READ_ONCE(v->rate) ? 2 : 0) +
			      v->nosync + v->no_discard_passdown;
		if (!nr_features)
			break;
		DMEMIT(" %u", nr_features);
		if (v->rate_given || READ_ONCE(v->rate))
			DMEMIT(" " DM_VMOTION_FEAT_RATE " %u", READ_ONCE(v->rate));
		if (v->nosync)
			DMEMIT(" " DM_VMOTION_FEAT_NOSYNC);
		if (v->no_discard_passdown)
			DMEMIT(" " DM_VMOTION_FEAT_NO_DISCARD);
		break;

	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",source_device=%s,source_start=%llu", v->source_dev->name,
		       (unsigned long long)v->source_start);
		DMEMIT(",dest_device=%s,dest_start=%llu,region_size=%llu;",
		       v->dest_dev->name, (unsigned long long)v->dest_start,
		       (unsigned long long)v->region_size);
		break;
	}
}

static int vmotion_message(struct dm_target *ti, unsigned int argc,
			   char **argv, char *result, unsigned int maxlen)
{
	struct vmotion *v = ti->private;
	unsigned int rate;

	if (argc == 1 && !strcasecmp(argv[0], DM_VMOTION_MSG_PAUSE)) {
		set_bit(VM_PAUSED, &v->flags);
		return 0;
	}

	if (argc == 1 && !strcasecmp(argv[0], DM_VMOTION_MSG_RESUME)) {
		clear_bit(VM_PAUSED, &v->flags);
		wake_worker(v);
		return 0;
	}

	if (argc == 2 && !strcasecmp(argv[0], DM_VMOTION_MSG_RATE)) {
		if (kstrtouint(argv[1], 10, &rate)) {
			DMERR("%s: invalid rate '%s' (KiB/s expected)",
			      vm_name(v), argv[1]);
			return -EINVAL;
		}
		WRITE_ONCE(v->rate, rate);
		wake_worker(v);
		return 0;
	}

	DMERR("%s: unsupported message '%s' with %u argument(s)", vm_name(v),
	      argc ? argv[0] : "", argc ? argc - 1 : 0);
	return -EINVAL;
}

static int vmotion_iterate_devices(struct dm_target *ti,
				   iterate_devices_callout_fn fn, void *data)
{
	struct vmotion *v = ti->private;
	int r;

	r = fn(ti, v->source_dev, v->source_start, ti->len, data);
	if (!r)
		r = fn(ti, v->dest_dev, v->dest_start, ti->len, data);
	return r;
}

static void vmotion_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct vmotion *v = ti->private;

	/*
	 * iterate_devices stacked both devices' limits; discards that go to
	 * the source alone follow the source's.
	 */
	if (!v->discard_to_dest)
		vm_set_discard_limits(limits, v->source_dev->bdev);
}

/*---------------------------------------------------------------------------*/
/* Constructor */

static int parse_dev(struct dm_target *ti, const char *path,
		     struct dm_dev **dev, const char *bad_dev, char **error)
{
	/* a line naming a missing or busy device is an invalid line */
	if (dm_get_device(ti, path, dm_table_get_mode(ti->table), dev)) {
		*error = (char *)bad_dev;
		return -EINVAL;
	}
	return 0;
}

static int parse_offset(const char *arg, sector_t *offset, const char *bad,
			char **error)
{
	unsigned long long tmp;
	char dummy;

	if (sscanf(arg, "%llu%c", &tmp, &dummy) != 1 || tmp != (sector_t)tmp) {
		*error = (char *)bad;
		return -EINVAL;
	}
	*offset = tmp;
	return 0;
}

static int check_dev_size(struct dm_target *ti, struct dm_dev *dev,
			  sector_t start, const char *too_small, char **error)
{
	sector_t size = bdev_nr_sectors(dev->bdev);

	if (start > size || size - start < ti->len) {
		*error = (char *)too_small;
		return -EINVAL;
	}
	return 0;
}

static int parse_region_size(struct vmotion *v, const char *arg, char **error)
{
	unsigned int region_size;

	if (kstrtouint(arg, 10, &region_size)) {
		*error = "Invalid region size";
		return -EINVAL;
	}
	if (!is_power_of_2(region_size)) {
		*error = "Region size is not a power of 2";
		return -EINVAL;
	}
	if (region_size < DM_VMOTION_MIN_REGION_SECTORS) {
		*error = "Region size is smaller than 8 sectors";
		return -EINVAL;
	}
	if (region_size > DM_VMOTION_MAX_REGION_SECTORS) {
		*error = "Region size is larger than 2097152 sectors";
		return -EINVAL;
	}
	v->region_size = region_size;
	return 0;
}

/* Feature keywords kept for later versions of the target. */
static bool is_reserved_feature(const char *arg)
{
	return !strcasecmp(arg, "metadata") || !strcasecmp(arg, "mode") ||
	       !strcasecmp(arg, "skip_zeroes");
}

static int parse_rate(struct vmotion *v, struct dm_arg_set *as,
		      unsigned int *argc, char **error)
{
	if (v->rate_given) {
		*error = "Duplicate feature argument 'rate'";
		return -EINVAL;
	}
	if (!*argc) {
		*error = "Feature argument 'rate' needs a value";
		return -EINVAL;
	}
	(*argc)--;
	if (kstrtouint(dm_shift_arg(as), 10, &v->rate)) {
		*error = "Invalid rate (KiB/s expected)";
		return -EINVAL;
	}
	v->rate_given = true;
	return 0;
}

static int feature_error(const char *msg, char **error)
{
	*error = (char *)msg;
	return -EINVAL;
}

static int parse_flag(bool *flag, const char *duplicate, char **error)
{
	if (*flag)
		return feature_error(duplicate, error);
	*flag = true;
	return 0;
}

static int parse_features(struct vmotion *v, struct dm_arg_set *as,
			  char **error)
{
	static const struct dm_arg _args[] = {
		{0, 8, "Invalid number of feature arguments"},
	};
	unsigned int argc;
	const char *arg;
	int r;

	if (!as->argc)
		return 0;

	r = dm_read_arg_group(_args, as, &argc, error);
	if (r)
		return -EINVAL;

	while (argc) {
		arg = dm_shift_arg(as);
		argc--;

		if (!strcasecmp(arg, DM_VMOTION_FEAT_RATE))
			r = parse_rate(v, as, &argc, error);
		else if (!strcasecmp(arg, DM_VMOTION_FEAT_NOSYNC))
			r = parse_flag(&v->nosync,
				       "Duplicate feature argument 'nosync'", error);
		else if (!strcasecmp(arg, DM_VMOTION_FEAT_NO_DISCARD))
			r = parse_flag(&v->no_discard_passdown,
				       "Duplicate feature argument 'no_discard_passdown'",
				       error);
		else if (is_reserved_feature(arg))
			r = feature_error("Feature argument not supported yet", error);
		else
			r = feature_error("Unknown feature argument", error);
		if (r)
			return r;
	}

	if (as->argc) {
		*error = "Unexpected argument after the feature arguments";
		return -EINVAL;
	}
	return 0;
}

static void init_copies(struct vmotion *v)
{
	unsigned int i;

	INIT_LIST_HEAD(&v->copies);
	INIT_LIST_HEAD(&v->free_copies);
	for (i = 0; i < MAX_COPIES; i++) {
		v->copy_pool[i].v = v;
		bio_list_init(&v->copy_pool[i].deferred);
		list_add_tail(&v->copy_pool[i].list, &v->free_copies);
	}
}

/*
 * Construct a vmotion target:
 *
 * <source dev> <source offset> <dest dev> <dest offset> <region size>
 * [<#feature args> [<feature arg>]*]
 *
 * feature args:
 *   rate <KiB/s>          background copy limit, 0 = unlimited
 *   nosync                the destination already holds the data
 *   no_discard_passdown   do not send discards to the destination
 */
static int vmotion_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as;
	struct vmotion *v;
	int r;

	if (argc < 5) {
		ti->error = "Not enough arguments (5 required)";
		return -EINVAL;
	}

	v = kzalloc(sizeof(*v), GFP_KERNEL);
	if (!v) {
		ti->error = "Cannot allocate vmotion context";
		return -ENOMEM;
	}
	v->ti = ti;

	r = parse_offset(argv[1], &v->source_start, "Invalid source offset",
			 &ti->error);
	if (r)
		goto bad_args;
	r = parse_offset(argv[3], &v->dest_start, "Invalid destination offset",
			 &ti->error);
	if (r)
		goto bad_args;
	r = parse_region_size(v, argv[4], &ti->error);
	if (r)
		goto bad_args;

	as.argc = argc - 5;
	as.argv = argv + 5;
	r = parse_features(v, &as, &ti->error);
	if (r)
		goto bad_args;

	r = parse_dev(ti, argv[0], &v->source_dev,
		      "Error opening source device", &ti->error);
	if (r)
		goto bad_args;
	r = parse_dev(ti, argv[2], &v->dest_dev,
		      "Error opening destination device", &ti->error);
	if (r)
		goto bad_dest;

	r = -EINVAL;
	if (v->source_dev->bdev == v->dest_dev->bdev) {
		ti->error = "Source and destination are the same device";
		goto bad_devs;
	}
	if (check_dev_size(ti, v->source_dev, v->source_start,
			   "Source device is too small for offset + length",
			   &ti->error) ||
	    check_dev_size(ti, v->dest_dev, v->dest_start,
			   "Destination device is too small for offset + length",
			   &ti->error))
		goto bad_devs;

	v->discard_to_dest = !v->no_discard_passdown &&
			     bdev_max_discard_sectors(v->dest_dev->bdev);

	v->bitmap = dm_vmb_create(ti->len, v->region_size, v->nosync);
	if (IS_ERR(v->bitmap)) {
		r = PTR_ERR(v->bitmap);
		ti->error = r == -ENOMEM ? "Cannot allocate region bitmap" :
			    "Too many regions: use a larger region size";
		goto bad_devs;
	}

	r = bioset_init(&v->bs, BIO_POOL_SIZE, 0, BIOSET_NEED_RESCUER);
	if (r) {
		ti->error = "Cannot allocate bioset";
		goto bad_bioset;
	}

	v->kcopyd = dm_kcopyd_client_create(NULL);
	if (IS_ERR(v->kcopyd)) {
		r = PTR_ERR(v->kcopyd);
		ti->error = "Cannot create kcopyd client";
		goto bad_kcopyd;
	}

	v->bios_mapped = alloc_percpu(unsigned long);
	if (!v->bios_mapped) {
		r = -ENOMEM;
		ti->error = "Cannot allocate I/O counter";
		goto bad_counter;
	}

	v->wq = alloc_workqueue("dm-" DM_MSG_PREFIX, WQ_MEM_RECLAIM, 0);
	if (!v->wq) {
		r = -ENOMEM;
		ti->error = "Cannot allocate workqueue";
		goto bad_wq;
	}

	spin_lock_init(&v->lock);
	hash_init(v->writes);
	bio_list_init(&v->deferred);
	init_copies(v);
	v->cold_pass = true;
	v->aged = jiffies;
	INIT_DELAYED_WORK(&v->worker, do_worker);
	vm_hrtimer_setup(&v->rest_timer, rest_timer_fn, CLOCK_MONOTONIC,
			 HRTIMER_MODE_REL);
	init_waitqueue_head(&v->copies_wait);
	atomic64_set(&v->copied_sectors, 0);
	atomic64_set(&v->held_writes, 0);
	v->last_io = jiffies - BUSY_WINDOW - 1;
	/* the copier starts on resume */
	set_bit(VM_SUSPENDED, &v->flags);

	r = dm_set_target_max_io_len(ti, v->region_size);
	if (r) {
		ti->error = "Cannot set max I/O length";
		goto bad_io_len;
	}
	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->discards_supported = true;
	ti->num_write_zeroes_bios = 1;
	ti->per_io_data_size = sizeof(struct vm_bio);
	ti->private = v;

	return 0;

bad_io_len:
	destroy_workqueue(v->wq);
bad_wq:
	free_percpu(v->bios_mapped);
bad_counter:
	dm_kcopyd_client_destroy(v->kcopyd);
bad_kcopyd:
	bioset_exit(&v->bs);
bad_bioset:
	dm_vmb_destroy(v->bitmap);
bad_devs:
	dm_put_device(ti, v->dest_dev);
bad_dest:
	dm_put_device(ti, v->source_dev);
bad_args:
	kfree(v);
	return r;
}

static void vmotion_dtr(struct dm_target *ti)
{
	struct vmotion *v = ti->private;

	/* Waits for every copy's completion to have run. */
	dm_kcopyd_client_destroy(v->kcopyd);
	hrtimer_cancel(&v->rest_timer);
	cancel_delayed_work_sync(&v->worker);
	destroy_workqueue(v->wq);
	free_percpu(v->bios_mapped);
	bioset_exit(&v->bs);
	dm_vmb_destroy(v->bitmap);
	dm_put_device(ti, v->dest_dev);
	dm_put_device(ti, v->source_dev);
	kfree(v);
}

/*---------------------------------------------------------------------------*/
/* Module */

static struct target_type vmotion_target = {
	.name = DM_VMOTION_TARGET,
	.version = {DM_VMOTION_VERSION_MAJOR, DM_VMOTION_VERSION_MINOR,
		    DM_VMOTION_VERSION_PATCH},
	.module = THIS_MODULE,
	.ctr = vmotion_ctr,
	.dtr = vmotion_dtr,
	.map = vmotion_map,
	.end_io = vmotion_end_io,
	.presuspend = vmotion_presuspend,
	.presuspend_undo = vmotion_presuspend_undo,
	.postsuspend = vmotion_postsuspend,
	.resume = vmotion_resume,
	.status = vmotion_status,
	.message = vmotion_message,
	.iterate_devices = vmotion_iterate_devices,
	.io_hints = vmotion_io_hints,
};

static int __init dm_vmotion_init(void)
{
	int r = dm_register_target(&vmotion_target);

	if (r < 0)
		DMERR("register failed %d", r);
	return r;
}

static void __exit dm_vmotion_exit(void)
{
	dm_unregister_target(&vmotion_target);
}

module_init(dm_vmotion_init);
module_exit(dm_vmotion_exit);

MODULE_DESCRIPTION(DM_NAME " target for live migration of a device's data");
MODULE_AUTHOR("The dm-vmotion authors");
MODULE_LICENSE("GPL");
