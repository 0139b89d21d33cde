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
#include "dm-vmotion-metadata.h"

#define DM_MSG_PREFIX "vmotion"

/*
 * Copies registered at a time: MAX_COPIES when the device is idle (no
 * application bio mapped in the last BUSY_WINDOW, none in flight, not just
 * resumed: vm_busy()).  While it is busy, the copier's
 * level (copies in flight, their size, a rest after each) follows the
 * application's latency: see pace_control().  After a copy that the
 * application's I/O competed with, the copier also rests so that it keeps
 * the disks for at most busy_copy_share percent of the time (a cap).
 */
#define MAX_COPIES		8
#define BUSY_WINDOW		(HZ / 10)
/* Adjacent unsynced regions are copied together, up to this many sectors. */
#define MAX_BATCH_SECTORS	2048U
#define DEFAULT_BUSY_SHARE	100U
/*
 * Latency control (pace_control()): a period ends once PACE_PERIOD_NS have
 * passed and PACE_MIN_IOS application bios ended in it, or after
 * PACE_MAX_PERIODS of those times; each ended read or write's latency is
 * compared with its class's baseline (enum vm_pace_class), the class's mean
 * over a period in which no copy ran (if PACE_MIN_CLASS_IOS of it ended).
 * The baselines are measured after PACE_FIRST_PROBE periods of a busy
 * device, then every PACE_PROBE_EVERY periods (a probe: a period while the
 * copies in flight drain, then one to measure, run on as the control's
 * are).  If the I/Os' latencies are on average within copy_latency_target
 * percent of their baselines the copier goes up a level, else down to half
 * its level; down to half as well at the end of a period, however few I/Os
 * ended in it, if bios in flight have waited longer than the target allows
 * (pace_stall_at()).  Without a baseline, or while a class without one is
 * a quarter of the I/O (PACE_MIN_CLASS_IOS at least), it goes no higher
 * than PACE_START_LEVEL, and probes early once.
 */
#define PACE_PERIOD_NS		(100 * NSEC_PER_MSEC)
#define PACE_MAX_PERIODS	10U
#define PACE_PROBE_EVERY	20U
#define PACE_FIRST_PROBE	3U
#define PACE_MIN_IOS		16UL
#define PACE_MIN_CLASS_IOS	4UL
#define DEFAULT_LATENCY_TARGET	50U
#define PACE_START_LEVEL	2U
/* A region written within one to two of these is hot: copied last */
#define HEAT_AGE		HZ
/*
 * Rate limiting: a copy moves at most 1/8 s of the rate at a time, a
 * region in several chunks if need be, and never less than 4 KiB.
 */
#define RATE_SLICES_PER_SEC	8U
#define MIN_CHUNK_SECTORS	8U
/* Regions a search looks at under the lock before it lets go of it */
#define SEARCH_REGIONS		16384UL
#define WRITES_HASH_BITS	10
/*
 * Metadata: regions newly in sync are committed at most this often; a
 * write-intent bit is cleared once its region has been idle for one to two
 * of these (md's bitmap daemon_sleep, which defaults to 5 s).
 */
#define MD_COMMIT_PERIOD	HZ
#define MD_CLEAR_PERIOD		(5 * HZ)
/*
 * skip_zeroes: each copy reads its chunk into a buffer of 1 MiB, or of one
 * discard block of the destination up to 8 MiB.
 */
/*
 * mode auto: track while each pass of the copier leaves at most
 * AUTO_SHRINK_NUM/AUTO_SHRINK_DEN of the regions it started with, the rest
 * would take more than AUTO_MIRROR_MSEC to copy at the last pass's speed,
 * and fewer than AUTO_MAX_PASSES passes have run; then mirror.
 */
#define AUTO_SHRINK_NUM		3U
#define AUTO_SHRINK_DEN		4U
#define AUTO_MIRROR_MSEC	500U
#define AUTO_MAX_PASSES		16UL

/* Most regions one copy covers: a batch of the smallest regions */
#define MAX_COPY_REGIONS	(MAX_BATCH_SECTORS / DM_VMOTION_MIN_REGION_SECTORS)

#define ZERO_BUF_SECTORS	2048U
#define ZERO_BUF_MAX_SECTORS	16384U

/* The copier's levels while the device is busy; the last is the idle one */
static const struct {
	unsigned int copies;	/* in flight at a time */
	unsigned int sectors;	/* adjacent regions batched, at most */
	bool rest;		/* after a copy the application competed
				 * with, a rest at least as long as the copy
				 */
} pace_levels[] = {
	{ 1, 256, true },
	{ 1, 256, false },
	{ 1, 1024, false },
	{ 2, 1024, false },
	{ 2, MAX_BATCH_SECTORS, false },
	{ 4, MAX_BATCH_SECTORS, false },
	{ MAX_COPIES, MAX_BATCH_SECTORS, false },
};

#define PACE_TOP_LEVEL		(ARRAY_SIZE(pace_levels) - 1)

static unsigned int busy_copy_share = DEFAULT_BUSY_SHARE;
static unsigned int copy_latency_target = DEFAULT_LATENCY_TARGET;

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
		 "Most of the time the copier may keep the disks while the application does I/O, in percent (1-100, default 100)");

static int set_copy_latency_target(const char *val,
				   const struct kernel_param *kp)
{
	unsigned int target;
	int r = kstrtouint(val, 10, &target);

	if (r)
		return r;
	if (target > 1000)
		return -EINVAL;
	WRITE_ONCE(copy_latency_target, target);
	return 0;
}

static const struct kernel_param_ops copy_latency_target_ops = {
	.set = set_copy_latency_target,
	.get = param_get_uint,
};
module_param_cb(copy_latency_target, &copy_latency_target_ops,
		&copy_latency_target, 0644);
MODULE_PARM_DESC(copy_latency_target,
		 "How much the copier may raise the application's mean I/O latency while it does I/O, in percent (0-1000, default 50; 0: the copier keeps the least level, one 128 KiB copy then a rest, or tracking is paced by its reads)");

/* Bits of vmotion->flags */
enum {
	VM_SUSPENDED,		/* no new copies: between presuspend and resume */
	VM_PAUSED,		/* no new copies: "pause" message */
	VM_ERROR_PAUSED,	/* on_error pause: no copy until "resume" */
	VM_DEST_OUT,		/* on_error pause after a destination error:
				 * writes go to the source alone
				 */
	VM_FAILED,		/* migration failed; I/O goes to the source only */
	VM_UNSYNC_ALL,		/* the worker owes a clear of the whole bitmap */
	VM_SYNCED,		/* all regions in sync, destination flushed,
				 * event raised
				 */
	VM_EVENT,		/* a dm event is owed to userspace */
	VM_RATE_CHANGED,	/* the rate limit starts again from now */
	VM_POSTSUSPENDED,	/* from postsuspend to resume: the worker idles */
	VM_MD_OFF,		/* the metadata is no longer kept: an error, or
				 * it records the end of the migration
				 */
	VM_MD_ERROR,		/* ... because its device failed */
	VM_MIRROR_ON,		/* failed, but writes still go to both devices:
				 * the metadata could not record the failure
				 */
};

enum vm_on_error {
	ON_ERROR_PAUSE,
	ON_ERROR_FAIL,
};

enum vm_mode {
	MODE_MIRROR,
	MODE_TRACK,
	MODE_AUTO,
};

enum vm_copy_state {
	COPY_WAITING,	/* chunk registered, waiting for writes in flight */
	COPY_RUNNING,	/* chunk given to kcopyd */
	COPY_RESTING,	/* between two chunks of a copy */
};

struct vmotion;

/*
 * A copy of adjacent unsynced regions [region, region + nr), that is of
 * the target's sectors [pos, end), done in chunks [pos, chunk_end).
 * Sectors before @pos are on the destination: writes to them go to both
 * devices.  While a chunk is registered (WAITING or RUNNING), writes to
 * [pos, end) are held on @deferred; between chunks (RESTING) they go to
 * the source, and the next chunk waits for them.
 */
struct vm_copy {
	struct vmotion *v;
	struct list_head list;	/* on v->copies while registered */
	unsigned long region;
	unsigned long nr;
	sector_t pos;
	sector_t chunk_end;
	sector_t end;
	enum vm_copy_state state;
	unsigned int waiting;	/* writes in flight to the chunk */
	bool spoiled;		/* must not mark its regions in sync: an error,
				 * or a write that raced it, concerned them
				 */
	u64 start_ns;		/* when the chunk was started */
	unsigned long app_bios;	/* app_bios() then */
	struct bio_list deferred;
	/*
	 * Buffered copies (skip_zeroes, or tracked): the chunk is read into
	 * @buf and written by @work
	 */
	struct work_struct work;
	void *buf;
	/*
	 * Tracking (mode track, or auto before it mirrors): a rest after
	 * the chunk is timed from its read of the source, @read_ns (see
	 * copy_done())
	 */
	bool paced;
	u64 read_ns;
	/* dest_zeroed holds for its regions: zero pieces need no I/O */
	bool dest_zero;
	/*
	 * Regions (from @region) a tracked write changed on the source alone
	 * while the copy had them: they stay unsynced when it ends.
	 */
	DECLARE_BITMAP(redirty, MAX_COPY_REGIONS);
};

/* The latency control's phases: see pace_control() */
enum vm_pace_phase {
	PACE_CONTROL,		/* copies by the level */
	PACE_DRAIN,		/* no new copy: those in flight end */
	PACE_MEASURE,		/* no copy: the baseline is measured */
};

/*
 * The latency control's classes of reads and writes: those the source alone
 * served, and writes that waited for the destination as well (mirrored).
 * Each has its own baseline: a distant destination makes a mirrored write
 * wait its round trip however little the copier does.
 */
enum vm_pace_class {
	PACE_SOURCE,
	PACE_MIRRORED,
	PACE_CLASSES,
};

/*
 * Per CPU: application bios mapped; ended in all (@done); reads and writes
 * with data mapped (@timed) and ended (@timed_done); those ended without an
 * error, and their latencies summed in microseconds, by class (unsigned
 * long: read whole, and a difference survives wrapping)
 */
struct vm_app_io {
	unsigned long mapped;
	unsigned long done;
	unsigned long timed;
	unsigned long timed_done;
	unsigned long ended[PACE_CLASSES];
	unsigned long lat_us[PACE_CLASSES];
};

struct vmotion {
	struct dm_target *ti;

	struct dm_dev *source_dev;
	struct dm_dev *dest_dev;
	sector_t source_start;
	sector_t dest_start;
	sector_t region_size;
	/* Smallest copy: 4 KiB, or a logical block of the source */
	sector_t min_chunk;

	/* Feature arguments, as given (rate may change by message) */
	unsigned int rate;	/* KiB/s, 0 = unlimited */
	bool rate_given;
	bool nosync;
	bool no_discard_passdown;
	enum vm_on_error on_error;
	bool on_error_given;
	enum vm_mode mode;	/* may change by message */
	bool mode_given;
	bool skip_zeroes;
	bool dest_zeroed;
	/* either: the copier checks for zeroes */
	bool zero_copy;
	/* resumed once: dest_zeroed is printed as skip_zeroes (see emit) */
	bool started;
	/* Discards go to the destination as well */
	bool discard_to_dest;

	/*
	 * skip_zeroes: the copier reads each chunk into a buffer of
	 * @zero_buf_sectors and checks it in pieces of @zero_grain sectors,
	 * the destination's discard granularity.  dest_zeroed: regions whose
	 * destination blocks something wrote since the table was made (a
	 * copy, a mirrored write or discard) no longer read as zeroes there.
	 */
	sector_t zero_grain;
	sector_t zero_buf_sectors;
	unsigned long *dest_touched;
	/*
	 * Buffered copies: any table has the client and the workqueue; the
	 * buffers come with skip_zeroes, or with the first mode other than
	 * mirror (@copy_buffers: all there, see alloc_copy_buffers())
	 */
	struct dm_io_client *io;
	struct workqueue_struct *copy_wq;
	bool copy_buffers;

	unsigned long flags;
	struct dm_vmb *bitmap;

	/* Persistent metadata (feature "metadata"), or NULL */
	struct dm_dev *md_dev;
	sector_t md_start;
	struct dm_vmm *md;
	bool md_loaded;		/* by the first preresume */
	/* worker-only: jiffies of the last commit of each kind */
	unsigned long md_committed;
	unsigned long md_cleared;

	/*
	 * @lock protects: the writes in flight, hashed by region; the
	 * registered copies; bios released by finished copies, to be mapped
	 * again by the worker; the copy cursor and sweep; @unsyncs; and the
	 * changes of VM_SYNCED, VM_ERROR_PAUSED, VM_DEST_OUT, VM_FAILED and
	 * VM_UNSYNC_ALL.  Every write takes it twice (map, end_io), in sync
	 * or not: the error paths and the copier's drain rely on every write
	 * being known.
	 */
	spinlock_t lock;
	DECLARE_HASHTABLE(writes, WRITES_HASH_BITS);
	struct list_head copies;
	struct list_head free_copies;
	unsigned int nr_copies;
	struct bio_list deferred;
	/* writes waiting for their region's write-intent bit */
	struct bio_list intent_wait;
	unsigned long cursor;
	/* Copying regions not written lately; one found in this sweep */
	bool cold_pass;
	bool sweep_found;
	/* Times a region in sync became unsynced */
	unsigned long unsyncs;
	/*
	 * Mode in force: writes to regions in sync (or being copied) go to
	 * the source alone and unsync them (track), or to both (mirror).
	 */
	bool tracking;
	/* Regions a tracked write took out of sync, or out of a copy */
	unsigned long redirtied;
	/*
	 * Passes of the copier over the unsynced regions, counted from 1 at
	 * the first resume; at the start of this one: unsynced regions,
	 * time, copied sectors (mode auto decides from them).
	 */
	unsigned long pass;
	unsigned long pass_left;
	u64 pass_start_ns;
	u64 pass_copied;
	/* mode auto: the pass it started in; the worker logs its decision */
	unsigned long auto_pass0;
	const char *auto_why;
	unsigned long auto_left;

	/*
	 * Earliest time the rate limit lets the next chunk start: the
	 * worker's, and resume's while the worker idles
	 */
	u64 rate_next_ns;
	/* Worker-only: jiffies of the last dm_vmb_age_written() */
	unsigned long aged;
	/*
	 * Earliest time the next chunk may start while the device is busy,
	 * set as a chunk the application competed with ends; @rest_timer
	 * wakes the worker then.
	 */
	u64 rest_until_ns;
	struct hrtimer rest_timer;
	/*
	 * jiffies of the last application bio mapped, or of the resume;
	 * written without a lock
	 */
	unsigned long last_io;
	/* Application bios mapped and ended, per CPU: see app_bios() */
	struct vm_app_io __percpu *app_io;
	/*
	 * Latency control (pace_control()), written by the worker only: the
	 * level (read by copy_done() too), the phase and the periods left in
	 * it, when the period started and the sums then, and by class the
	 * baseline latency (us, read by vmotion_status()) and when it was
	 * measured.  @pace_start_ns 0: the control starts again (busy again,
	 * resumed, copies allowed again).
	 */
	unsigned int pace_level;
	enum vm_pace_phase pace_phase;
	unsigned int pace_left;
	u64 pace_start_ns;
	unsigned long pace_ios[PACE_CLASSES];
	unsigned long pace_lat_us[PACE_CLASSES];
	unsigned long pace_base_us[PACE_CLASSES];
	u64 pace_base_ns[PACE_CLASSES];
	/*
	 * @pace_measuring: the baseline is being measured (read by
	 * vmotion_end_io()).  @pace_hurried: a probe was started early for a
	 * class without a baseline since the last one on schedule.
	 * @pace_probe_stalled: bios waited a second or more during this
	 * probe.  @pace_probe_ns: when the last two probes ended.
	 * @pace_done_ns: when the worker last saw an application bio end (or
	 * the control start), @pace_waiting the bios in flight then,
	 * @pace_done the number ended then.
	 */
	bool pace_measuring;
	bool pace_hurried;
	bool pace_probe_stalled;
	u64 pace_probe_ns[2];
	u64 pace_done_ns;
	long pace_waiting;
	unsigned long pace_done;

	atomic64_t copied_sectors;
	atomic64_t zero_sectors;	/* copied without writing data */
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

/* Bits of vm_bio->flags (VB_TIMED for every bio, the rest for writes) */
enum {
	VB_TRACKED,	/* in v->writes */
	VB_FULL,	/* covers a whole unsynced region: syncs it if it succeeds */
	VB_DEST_ERROR,	/* the destination half failed */
	VB_EMPTY_FLUSH,	/* no data: [start, end) means nothing */
	VB_UNCOUNTED,	/* mapped while a chunk of its region waited, not
			 * counted by it (tracking)
			 */
	VB_HELD,	/* held until a copy's chunk ended */
	VB_TIMED,	/* a read or a write with data (not a flush, discard
			 * or write-zeroes): its latency counts
			 */
	VB_MIRRORED,	/* sent to the destination as well */
};

/* Per-bio data: @start_ns and @flags for every bio, the rest for writes only */
struct vm_bio {
	struct vmotion *v;
	u64 start_ns;		/* when the target was given it */
	struct hlist_node node;
	unsigned long region;
	sector_t start;		/* target sectors [start, end) */
	sector_t end;
	unsigned long flags;
};

/*---------------------------------------------------------------------------*/
/* Helpers */

static const char *vm_name(struct vmotion *v)
{
	return dm_table_device_name(v->ti->table);
}

/* NOTE: any context.  From postsuspend to resume the worker does nothing. */
static void wake_worker(struct vmotion *v)
{
	mod_delayed_work(v->wq, &v->worker, 0);
}

/*
 * Application bios mapped and not ended: its queue depth on the device.
 * Read without synchronisation: a bio that ends on another CPU than it
 * was mapped on may be counted ended and not mapped for a moment.
 */
static long app_in_flight(struct vmotion *v)
{
	unsigned long n = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct vm_app_io *io = per_cpu_ptr(v->app_io, cpu);

		n += READ_ONCE(io->mapped) - READ_ONCE(io->done);
	}
	return (long)n;
}

/*
 * The application has done I/O in the last BUSY_WINDOW, or waits for some:
 * writes held for a copy map nothing new, and a device whose application
 * the copier holds up must not look idle to it.
 */
static bool vm_busy(struct vmotion *v)
{
	return time_before(jiffies, READ_ONCE(v->last_io) + BUSY_WINDOW) ||
	       app_in_flight(v) > 0;
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
		n += READ_ONCE(per_cpu_ptr(v->app_io, cpu)->mapped);
	return n;
}

/* The application's counts so far, summed over the CPUs, into @sum. */
static void app_sum(struct vmotion *v, struct vm_app_io *sum)
{
	int cpu, i;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		struct vm_app_io *io = per_cpu_ptr(v->app_io, cpu);

		sum->mapped += READ_ONCE(io->mapped);
		sum->done += READ_ONCE(io->done);
		sum->timed += READ_ONCE(io->timed);
		sum->timed_done += READ_ONCE(io->timed_done);
		for (i = 0; i < PACE_CLASSES; i++) {
			sum->ended[i] += READ_ONCE(io->ended[i]);
			sum->lat_us[i] += READ_ONCE(io->lat_us[i]);
		}
	}
}

static void raise_event(struct vmotion *v)
{
	set_bit(VM_EVENT, &v->flags);
	wake_worker(v);
}

/* Writes are mirrored to the destination: not failed, not out. */
static bool dest_in_path(struct vmotion *v)
{
	return (!test_bit(VM_FAILED, &v->flags) ||
		test_bit(VM_MIRROR_ON, &v->flags)) &&
	       !test_bit(VM_DEST_OUT, &v->flags);
}

/*
 * Writes to regions in sync go to the source alone (mode track, or auto
 * before it mirrors).  Not once the migration has failed: if the metadata
 * could not record the failure (VM_MIRROR_ON), its bitmaps still count and
 * writes must reach both devices as they do in mirror.
 */
static bool vm_tracking(struct vmotion *v)
{
	return READ_ONCE(v->tracking) && !test_bit(VM_FAILED, &v->flags);
}

static bool may_copy(struct vmotion *v)
{
	return !test_bit(VM_SUSPENDED, &v->flags) &&
	       !test_bit(VM_PAUSED, &v->flags) &&
	       !test_bit(VM_ERROR_PAUSED, &v->flags) &&
	       !test_bit(VM_UNSYNC_ALL, &v->flags) &&
	       !test_bit(VM_FAILED, &v->flags) && dest_in_path(v);
}

static sector_t region_start(struct vmotion *v, unsigned long region)
{
	return dm_vmb_region_to_sector(v->bitmap, region);
}

/* End of region @region + @nr - 1, the last one possibly short. */
static sector_t regions_end(struct vmotion *v, unsigned long region,
			    unsigned long nr)
{
	return min_t(sector_t, region_start(v, region + nr), v->ti->len);
}

/* Does @bio overwrite the whole of its region? */
static bool bio_covers_region(struct vmotion *v, struct vm_bio *vb)
{
	return vb->start == region_start(v, vb->region) &&
	       vb->end == regions_end(v, vb->region, 1);
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

/*
 * Unregister @c; the writes it held go back to the worker, which maps
 * them again.
 *
 * NOTE: caller holds v->lock.
 */
static void __drop_copy(struct vmotion *v, struct vm_copy *c)
{
	bio_list_merge(&v->deferred, &c->deferred);
	bio_list_init(&c->deferred);
	list_move(&c->list, &v->free_copies);
	v->nr_copies--;
}

/*
 * Drop every copy that kcopyd does not have: the copier has stopped
 * (pause, suspend, failure).  A chunk waiting for writes never starts.
 * When the destination has left the write path, a chunk kcopyd has will
 * not make its regions in sync either, and the writes it holds go on at
 * once (to the source) instead of waiting for a destination that may take
 * minutes to time out.
 *
 * NOTE: caller holds v->lock.
 */
static void __cancel_copies(struct vmotion *v)
{
	struct vm_copy *c, *tmp;

	list_for_each_entry_safe(c, tmp, &v->copies, list) {
		if (c->state != COPY_RUNNING) {
			__drop_copy(v, c);
		} else if (!dest_in_path(v)) {
			c->spoiled = true;
			bio_list_merge(&v->deferred, &c->deferred);
			bio_list_init(&c->deferred);
		}
	}
	/* the worker maps the released writes; postsuspend may wait for us */
	wake_worker(v);
	wake_up(&v->copies_wait);
}

/*
 * Regions in sync that are no longer: a write reached the source alone,
 * or the destination failed.  The whole device (a failed flush) is
 * cleared by the worker, a bounded slice at a time with the lock let go:
 * until then no copy starts and nothing is reported in sync.
 *
 * NOTE: caller holds v->lock.
 */
static void __unsync(struct vmotion *v, unsigned long region, unsigned long nr)
{
	bool all = nr == dm_vmb_nr_regions(v->bitmap), wake = all;

	if (all)
		set_bit(VM_UNSYNC_ALL, &v->flags);
	else if (!dm_vmb_clear_synced(v->bitmap, region, nr))
		return;
	v->unsyncs++;
	/*
	 * The device no longer reads "synced" (a tracked write, a failure):
	 * a dm event, raised by the worker as for reaching sync, so that a
	 * waiter (dmsetup wait, the tool) sees the change without polling.
	 */
	if (test_and_clear_bit(VM_SYNCED, &v->flags)) {
		set_bit(VM_EVENT, &v->flags);
		wake = true;
	}
	if (wake)
		wake_worker(v);
}

/* Spoil the copies of regions [region, region + nr).  NOTE: v->lock held. */
static void __spoil_copies(struct vmotion *v, unsigned long region,
			   unsigned long nr)
{
	struct vm_copy *c;

	list_for_each_entry(c, &v->copies, list)
		if (c->region < region + nr && region < c->region + c->nr)
			c->spoiled = true;
}

/*---------------------------------------------------------------------------*/
/* Errors */

/*
 * The migration has failed: from now on I/O goes to the source alone and
 * no copy starts.  Terminal: only a new table starts again.
 *
 * NOTE: any context; caller holds v->lock.
 */
static void __vm_fail(struct vmotion *v, const char *why)
{
	if (test_and_set_bit(VM_FAILED, &v->flags))
		return;
	DMERR("%s: %s: migration failed, I/O continues on the source",
	      vm_name(v), why);
	__cancel_copies(v);
	raise_event(v);
}

/*
 * A destination write or flush, or a copy, failed on regions
 * [region, region + nr): they are not in sync, and a copy of them in
 * progress does not make them so.  on_error fail ends the migration;
 * on_error pause stops the copier until "resume", and after an error of
 * the destination (@dest) takes it out of the write path meanwhile (a
 * source that cannot be read says nothing against the destination).
 *
 * NOTE: any context; caller holds v->lock.
 */
static void __vm_error(struct vmotion *v, unsigned long region,
		       unsigned long nr, bool dest, const char *why)
{
	bool out;

	__spoil_copies(v, region, nr);
	__unsync(v, region, nr);
	if (dest && test_and_clear_bit(VM_MIRROR_ON, &v->flags))
		DMERR("%s: %s: the destination no longer gets the writes",
		      vm_name(v), why);

	if (v->on_error == ON_ERROR_FAIL) {
		__vm_fail(v, why);
		return;
	}
	if (test_bit(VM_FAILED, &v->flags))
		return;
	out = dest && !test_and_set_bit(VM_DEST_OUT, &v->flags);
	if (test_and_set_bit(VM_ERROR_PAUSED, &v->flags) && !out)
		return;
	DMERR("%s: %s: migration paused, I/O continues on the source%s; message 'resume' retries",
	      vm_name(v), why, dest ? " alone" : "");
	__cancel_copies(v);
	raise_event(v);
}

static void vm_error(struct vmotion *v, unsigned long region,
		     unsigned long nr, bool dest, const char *why)
{
	unsigned long flags;

	spin_lock_irqsave(&v->lock, flags);
	__vm_error(v, region, nr, dest, why);
	spin_unlock_irqrestore(&v->lock, flags);
}

/*---------------------------------------------------------------------------*/
/* Write path */

/* The metadata is kept up to date: there is some, and no error or end. */
static bool md_active(struct vmotion *v)
{
	return v->md && !test_bit(VM_MD_OFF, &v->flags);
}

/*
 * Metadata rule 2: before a write to a region that is in sync, or may be
 * recorded so on disk, is issued to either device, the region's
 * write-intent bit is on stable storage.  Else a crash with the write on
 * one device only would leave a region recorded in sync whose two copies
 * differ.  Writes that need a bit wait on @intent_wait for one commit by
 * the worker, all together; a region whose bit is on costs nothing.
 *
 * NOTE: caller holds v->lock.
 */
static bool __wait_for_intent(struct vmotion *v, struct bio *bio,
			      unsigned long region, struct vm_copy *c)
{
	/*
	 * A region being copied counts: a write below the copy's progress
	 * goes to both devices and may still be in flight when the copy ends
	 * and the region is recorded in sync.  Not while tracking: such a
	 * write goes to the source alone and either leaves the region
	 * unsynced (redirty) or is waited for by the next chunk.
	 */
	if (!md_active(v) ||
	    ((!c || vm_tracking(v)) && !dm_vmb_is_synced(v->bitmap, region) &&
	     !dm_vmm_disk_synced(v->md, region)))
		return false;
	if (dm_vmm_intent_on(v->md, region)) {
		/* the bit stays while the region is written */
		dm_vmm_touch(v->md, region);
		return false;
	}
	bio_list_add(&v->intent_wait, bio);
	return true;
}

/*
 * Point @bio at the source.  An empty flush has no sector to move.
 */
static void remap_to_source(struct vmotion *v, struct bio *bio)
{
	bio_set_dev(bio, v->source_dev->bdev);
	if (bio_sectors(bio))
		bio->bi_iter.bi_sector = v->source_start +
			dm_target_offset(v->ti, bio->bi_iter.bi_sector);
}

static void dest_endio(struct bio *clone)
{
	struct bio *bio = clone->bi_private;
	struct vm_bio *vb = dm_per_bio_data(bio, sizeof(struct vm_bio));
	struct vmotion *v = vb->v;
	unsigned long region = vb->region, nr = 1, flags;

	/*
	 * An empty flush concerns everything written before it.  Not
	 * bio_sectors(): a completed bio has been advanced to its end.
	 */
	if (test_bit(VB_EMPTY_FLUSH, &vb->flags)) {
		region = 0;
		nr = dm_vmb_nr_regions(v->bitmap);
	}
	if (clone->bi_status && bio_op(clone) == REQ_OP_DISCARD) {
		/* advisory: the data is the source's, nothing is lost */
		DMWARN_LIMIT("%s: destination refused a discard (error %d)",
			     vm_name(v), blk_status_to_errno(clone->bi_status));
	} else if (clone->bi_status == BLK_STS_AGAIN) {
		/*
		 * REQ_NOWAIT, and the destination would have had to wait: no
		 * error of the destination, but it does not have the write.
		 * The submitter tries again; meanwhile the region is not in
		 * sync.
		 */
		set_bit(VB_DEST_ERROR, &vb->flags);
		bio->bi_status = BLK_STS_AGAIN;
		spin_lock_irqsave(&v->lock, flags);
		__spoil_copies(v, region, nr);
		__unsync(v, region, nr);
		spin_unlock_irqrestore(&v->lock, flags);
	} else if (clone->bi_status) {
		set_bit(VB_DEST_ERROR, &vb->flags);
		atomic_inc(&v->dest_errors);
		vm_error(v, region, nr, true, "destination write error");
	}
	bio_put(clone);
	/* drops the reference mirror_to_dest() took: may complete @bio */
	bio_endio(bio);
}

/*
 * Send a copy of @bio (not yet remapped) to the destination.  @bio
 * completes only when both halves have: dm core's end_io for it runs once
 * the clone's completion has dropped its extra reference.  Returns false
 * if @bio may not wait (REQ_NOWAIT) and no clone was at hand.
 */
static bool mirror_to_dest(struct vmotion *v, struct bio *bio, bool may_wait)
{
	gfp_t gfp = may_wait ? GFP_NOIO : GFP_NOWAIT;
	struct bio *clone;

	clone = bio_alloc_clone(v->dest_dev->bdev, bio, gfp, &v->bs);
	if (!clone)
		return false;
	if (bio_sectors(bio))
		clone->bi_iter.bi_sector = v->dest_start +
			dm_target_offset(v->ti, bio->bi_iter.bi_sector);
	/* nothing polls the destination's queue for this clone */
	bio_clear_polled(clone);
	clone->bi_end_io = dest_endio;
	clone->bi_private = bio;
	bio_inc_remaining(bio);
	submit_bio_noacct(clone);
	return true;
}

/*
 * Decide where a write, discard, write-zeroes or flush goes:
 *
 *  - destination out of the write path (failed, or paused by an error):
 *    the source alone; a region in sync is not any more;
 *  - region being copied: to both below the copy's progress, held while
 *    a chunk of it is registered, the source alone between chunks;
 *  - region in sync: both devices;
 *  - region not in sync: the source alone; except that a write covering
 *    the whole region goes to both and makes the region in sync, provided
 *    no other write to the region overlaps it in time;
 *  - tracking (mode track, or auto before it mirrors): nothing is held
 *    and nothing waits for the destination.  A write to a region in sync
 *    goes to the source alone and takes it out of sync; one to a copy's
 *    regions goes to the source alone too, and if the copy may already
 *    have read or written what it changes, or is about to, the copy
 *    leaves that region unsynced when it ends (the redirty bits); else
 *    the copy's next chunk waits for it.  Discards go to the source alone
 *    and change no sync state, as in mirror without passdown.
 *
 * Every write with data is tracked until it completes, so that no chunk
 * of its region starts while it is in flight (but a tracked write that a
 * waiting chunk did not count: that chunk leaves the region unsynced).
 * Returns DM_MAPIO_REMAPPED with @bio remapped to the source, or
 * DM_MAPIO_SUBMITTED if it was held back.
 * @may_wait: the caller may sleep for memory (the worker, or a bio without
 * REQ_NOWAIT).
 */
static int map_write(struct vmotion *v, struct bio *bio, bool may_wait)
{
	struct vm_bio *vb = dm_per_bio_data(bio, sizeof(struct vm_bio));
	struct vm_bio *other;
	struct vm_copy *c;
	unsigned long flags;
	bool to_dest = false, wake = false, tracking;
	bool discard = bio_op(bio) == REQ_OP_DISCARD;

	vb->v = v;
	/* mapped again after a hold: that it was held stays */
	vb->flags &= BIT(VB_HELD) | BIT(VB_TIMED);

	if (!bio_sectors(bio)) {
		/*
		 * Empty flush.  Tracking, writes are acknowledged by the
		 * source alone, and the destination is flushed before a region
		 * is recorded or reported in sync.
		 */
		set_bit(VB_EMPTY_FLUSH, &vb->flags);
		to_dest = dest_in_path(v) && !vm_tracking(v);
		goto remap;
	}

	vb->start = dm_target_offset(v->ti, bio->bi_iter.bi_sector);
	vb->end = vb->start + bio_sectors(bio);
	vb->region = dm_vmb_sector_to_region(v->bitmap, vb->start);

	spin_lock_irqsave(&v->lock, flags);
	tracking = vm_tracking(v);
	c = __find_copy(v, vb->region);
	if (__wait_for_intent(v, bio, vb->region, c)) {
		spin_unlock_irqrestore(&v->lock, flags);
		wake_worker(v);
		return DM_MAPIO_SUBMITTED;
	}
	if (!dest_in_path(v)) {
		/* a chunk in flight has raced this write: not in sync */
		if (c)
			c->spoiled = true;
		__unsync(v, vb->region, 1);
		dm_vmb_mark_written(v->bitmap, vb->region);
		goto track;
	}

	if (c && vb->end > c->pos && c->state != COPY_RESTING && !tracking) {
		set_bit(VB_HELD, &vb->flags);
		bio_list_add(&c->deferred, bio);
		spin_unlock_irqrestore(&v->lock, flags);
		atomic64_inc(&v->held_writes);
		return DM_MAPIO_SUBMITTED;
	}
	if (c && tracking) {
		/*
		 * What the copy has read or written of it, or will, is stale.
		 * A discard changes no sync state (as in mirror).
		 */
		if (!discard &&
		    vb->start < (c->state == COPY_RESTING ? c->pos : c->chunk_end) &&
		    !__test_and_set_bit(vb->region - c->region, c->redirty))
			v->redirtied++;
		/* the waiting chunk did not count it: see write_done() */
		if (c->state == COPY_WAITING)
			set_bit(VB_UNCOUNTED, &vb->flags);
		dm_vmb_mark_written(v->bitmap, vb->region);
		goto track;
	}
	if (c) {
		/* below the copy's progress the destination has the data */
		to_dest = vb->start < c->pos && (!discard || v->discard_to_dest);
		if (vb->start >= c->pos)
			dm_vmb_mark_written(v->bitmap, vb->region);
		/* ... and past it now too: dest_zeroed no longer holds there */
		if (to_dest && vb->end > c->pos)
			c->dest_zero = false;
		goto track;
	}

	if (dm_vmb_is_synced(v->bitmap, vb->region)) {
		if (tracking && discard)
			goto track;
		if (tracking) {
			__unsync(v, vb->region, 1);
			v->redirtied++;
			dm_vmb_mark_written(v->bitmap, vb->region);
			/* an idle copier has a region to copy again */
			wake = true;
			goto track;
		}
		to_dest = !discard || v->discard_to_dest;
		goto track;
	}

	/*
	 * Not in sync: a write covering it whole syncs it (write_done()),
	 * unless tracking: it would wait for the destination.
	 */
	dm_vmb_mark_written(v->bitmap, vb->region);
	if (!discard && !tracking && bio_covers_region(v, vb))
		set_bit(VB_FULL, &vb->flags);
track:
	/*
	 * Any write already in flight to this region may land on the source
	 * after this one, so none of them can make the region in sync on its
	 * own any more, whichever way either went.
	 */
	hash_for_each_possible(v->writes, other, node, vb->region) {
		if (other->region != vb->region)
			continue;
		clear_bit(VB_FULL, &other->flags);
		clear_bit(VB_FULL, &vb->flags);
	}
	if (test_bit(VB_FULL, &vb->flags))
		to_dest = true;
	if (to_dest && v->dest_touched)
		__set_bit(vb->region, v->dest_touched);
	set_bit(VB_TRACKED, &vb->flags);
	hash_add(v->writes, &vb->node, vb->region);
	spin_unlock_irqrestore(&v->lock, flags);
	if (wake)
		wake_worker(v);
remap:
	if (to_dest)
		set_bit(VB_MIRRORED, &vb->flags);
	if (to_dest && !mirror_to_dest(v, bio, may_wait)) {
		/* REQ_NOWAIT: the submitter tries again; end_io untracks it */
		bio->bi_status = BLK_STS_AGAIN;
		bio_endio(bio);
		return DM_MAPIO_SUBMITTED;
	}
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
	/* failed on the source: what either device holds is unknown */
	if (error && error != BLK_STS_AGAIN)
		__unsync(v, vb->region, 1);
	/* a write in flight keeps its bit: see clear_intents() */
	if (md_active(v) && dm_vmm_intent_on(v->md, vb->region))
		dm_vmm_touch(v->md, vb->region);
	c = __find_copy(v, vb->region);
	/* a copy of the region marks it in sync itself, if it gets there */
	if (test_bit(VB_FULL, &vb->flags) && !error && !c &&
	    !test_bit(VB_DEST_ERROR, &vb->flags) && dest_in_path(v)) {
		dm_vmb_set_synced(v->bitmap, vb->region, 1);
		wake = dm_vmb_all_synced(v->bitmap);
	}
	/*
	 * A chunk counted the writes in flight to it when it was registered;
	 * writes to it since then were held, or tracked and flagged.
	 */
	if (c && c->state == COPY_WAITING && vb->end > c->pos &&
	    !test_bit(VB_UNCOUNTED, &vb->flags) &&
	    vb->start < c->chunk_end && !WARN_ON_ONCE(!c->waiting) &&
	    !--c->waiting)
		wake = true;
	spin_unlock_irqrestore(&v->lock, flags);

	if (wake)
		wake_worker(v);
}

/*---------------------------------------------------------------------------*/
/* Copier */

/*
 * Writes in flight to the chunk of @c.
 *
 * NOTE: caller holds v->lock.
 */
static unsigned int __writes_to_chunk(struct vmotion *v, struct vm_copy *c)
{
	unsigned int n = 0;
	struct vm_bio *vb;
	unsigned long r;

	for (r = c->region; r < c->region + c->nr; r++)
		hash_for_each_possible(v->writes, vb, node, r)
			if (vb->region == r && vb->end > c->pos &&
			    vb->start < c->chunk_end) {
				clear_bit(VB_UNCOUNTED, &vb->flags);
				n++;
			}
	return n;
}

/*
 * The copy @c is complete: its regions are in sync, but for those a
 * tracked write changed on the source meanwhile.
 *
 * NOTE: caller holds v->lock.
 */
static void __copy_synced(struct vmotion *v, struct vm_copy *c)
{
	unsigned long i;

	if (bitmap_empty(c->redirty, c->nr)) {
		dm_vmb_set_synced(v->bitmap, c->region, c->nr);
		return;
	}
	for (i = 0; i < c->nr; i++)
		if (!test_bit(i, c->redirty))
			dm_vmb_set_synced(v->bitmap, c->region + i, 1);
}

static void copy_done(int read_err, unsigned long write_err, void *context)
{
	struct vm_copy *c = context;
	struct vmotion *v = c->v;
	sector_t len = c->chunk_end - c->pos;
	bool err = read_err || write_err;
	unsigned long flags, r;
	/* outside the lock: it reads every CPU's counter */
	bool competed = app_bios(v) != c->app_bios;
	u64 now = ktime_get_ns();

	if (read_err) {
		atomic_inc(&v->source_errors);
		DMERR("%s: source read error copying sectors %llu+%llu",
		      vm_name(v), (unsigned long long)c->pos,
		      (unsigned long long)len);
	} else if (write_err) {
		atomic_inc(&v->dest_errors);
		DMERR("%s: destination write error copying sectors %llu+%llu",
		      vm_name(v), (unsigned long long)c->pos,
		      (unsigned long long)len);
	}

	spin_lock_irqsave(&v->lock, flags);
	/*
	 * The chunk is on the destination but not yet flushed: a clear pass
	 * (flush, then scan) running now must keep the regions' bits.
	 */
	if (md_active(v))
		for (r = c->region; r < c->region + c->nr; r++)
			dm_vmm_touch(v->md, r);
	if (err) {
		__vm_error(v, c->region, c->nr, !read_err, read_err ?
			   "cannot read the source" : "cannot write the destination");
	} else {
		atomic64_add(len, &v->copied_sectors);
		c->pos = c->chunk_end;
	}
	c->state = COPY_RESTING;
	if (!err && !c->spoiled && c->pos >= c->end && dest_in_path(v)) {
		/* before the held writes are released: they must see it */
		__copy_synced(v, c);
		__drop_copy(v, c);
	} else if (err || c->spoiled || c->pos >= c->end || !may_copy(v)) {
		/* copied again from the start, if ever */
		__drop_copy(v, c);
	} else {
		/* the next chunk later: writes pass meanwhile */
		bio_list_merge(&v->deferred, &c->deferred);
		bio_list_init(&c->deferred);
	}
	if (competed) {
		/*
		 * Rest so that copying takes share% of the time, at most half
		 * of it at the least level, or tracking with the control off:
		 * of the chunk's time, or for a tracked chunk of the time it
		 * read the source (the destination is not the application's:
		 * a distant one must not slow the copy down to its round
		 * trips).
		 */
		unsigned int share = READ_ONCE(busy_copy_share);
		u64 busy_ns = c->paced && c->read_ns ? c->read_ns :
			      now - c->start_ns;

		if ((c->paced && !READ_ONCE(copy_latency_target)) ||
		    pace_levels[READ_ONCE(v->pace_level)].rest)
			share = min(share, 50U);
		v->rest_until_ns = max(v->rest_until_ns,
				       now + div_u64(busy_ns * (100 - share), share));
	}
	/* under the lock: postsuspend cancels the worker once it sees 0 */
	wake_worker(v);
	/* Partner: wait_event() in vmotion_postsuspend() */
	wake_up(&v->copies_wait);
	spin_unlock_irqrestore(&v->lock, flags);
}

/*---------------------------------------------------------------------------*/
/* skip_zeroes: a copier that does not write zeroes */

/* Synchronous dm-io of @sectors at @sector of @bdev from/to @buf. */
static int chunk_io(struct vmotion *v, blk_opf_t opf, struct block_device *bdev,
		    sector_t sector, sector_t sectors, void *buf)
{
	struct dm_io_region where = {
		.bdev = bdev,
		.sector = sector,
		.count = sectors,
	};
	struct dm_io_request req = {
		.bi_opf = opf,
		.notify.fn = NULL,
		.client = v->io,
	};

	return vm_dm_io(&req, &where, buf);
}

/* @sector rounded down to a multiple of @grain (any number of sectors) */
static sector_t grain_down(sector_t sector, sector_t grain)
{
	sector_t q = sector;

	return sector - sector_div(q, grain);
}

/*
 * Make @sectors at @sector of the destination read as zeroes without
 * writing data where the destination can: with dest_zeroed, for regions
 * nothing wrote on the destination since, nothing to do; else a
 * write-zeroes that may unmap; else zeroes are written.  A discard is
 * never used: Linux has no flag that says a discard leaves zeroes (an SSD
 * may return old data after a trim, even after once returning zeroes),
 * and dm-thin, which does unmap to zeroes, ignores a discard of part of a
 * block.  The tool discards a used thin destination's migrated range
 * before the copy and claims dest_zeroed instead (see dm-vmotion.rst,
 * "Zeroes").  The sectors that cost no data write are added to the status
 * counter.
 */
static int zero_dest(struct vmotion *v, struct vm_copy *c, sector_t sector,
		     sector_t sectors)
{
	struct block_device *bdev = v->dest_dev->bdev;
	int r;

	if (c->dest_zero) {
		atomic64_add(sectors, &v->zero_sectors);
		return 0;
	}
	r = blkdev_issue_zeroout(bdev, sector, sectors, GFP_NOIO, 0);
	if (!r && bdev_write_zeroes_sectors(bdev))
		atomic64_add(sectors, &v->zero_sectors);
	return r;
}

/* Sectors [@from, @to) of the chunk in @c->buf to the destination */
static int write_run(struct vmotion *v, struct vm_copy *c, bool zero,
		     sector_t from, sector_t to)
{
	sector_t sector = v->dest_start + c->pos + from;
	void *buf = c->buf + (from << SECTOR_SHIFT);

	if (zero)
		return zero_dest(v, c, sector, to - from);
	return chunk_io(v, REQ_OP_WRITE, v->dest_dev->bdev, sector, to - from,
			buf);
}

/*
 * A buffered copy: the chunk is read whole from the source, then written
 * whole (tracking), or, checking zeroes, in runs: a run of
 * pieces that hold data is written as it is; a run of pieces that read as
 * zeroes goes to zero_dest().  Pieces are the destination's discard
 * blocks, so that a run of zeroes covers whole blocks there.  Writes to
 * the chunk meanwhile are held, or tracked, as for kcopyd (map_write()).
 */
static void buffered_copy_work(struct work_struct *ws)
{
	struct vm_copy *c = container_of(ws, struct vm_copy, work);
	struct vmotion *v = c->v;
	sector_t len = c->chunk_end - c->pos;
	sector_t dest_pos = v->dest_start + c->pos;
	sector_t run = 0, s = 0, e;
	bool zero, run_zero = false;
	u64 t0 = ktime_get_ns();

	if (chunk_io(v, REQ_OP_READ, v->source_dev->bdev,
		     v->source_start + c->pos, len, c->buf)) {
		copy_done(1, 0, c);
		return;
	}
	c->read_ns = ktime_get_ns() - t0;
	if (!v->zero_copy) {
		copy_done(0, !!write_run(v, c, false, 0, len), c);
		return;
	}
	while (s < len) {
		e = grain_down(dest_pos + s, v->zero_grain) + v->zero_grain -
		    dest_pos;
		e = min(e, len);
		zero = !memchr_inv(c->buf + (s << SECTOR_SHIFT), 0,
				   (e - s) << SECTOR_SHIFT);
		if (s > run && zero != run_zero) {
			if (write_run(v, c, run_zero, run, s))
				goto write_error;
			run = s;
		}
		run_zero = zero;
		s = e;
	}
	if (write_run(v, c, run_zero, run, len))
		goto write_error;
	copy_done(0, 0, c);
	return;
write_error:
	copy_done(0, 1, c);
}

/*
 * The copies' buffers, for tracked copies: with the table
 * (a mode other than mirror) or the first "mode" message that needs them,
 * in process context; kept until the table goes.  A buffer a copy has is
 * not touched: it may be copying through it.
 */
static int alloc_copy_buffers(struct vmotion *v)
{
	static DEFINE_MUTEX(lock);
	unsigned int i;
	int r = 0;

	/* Pairs with the release below: a copy sees its buffer set */
	if (smp_load_acquire(&v->copy_buffers))
		return 0;
	mutex_lock(&lock);
	for (i = 0; i < MAX_COPIES && !r; i++) {
		struct vm_copy *c = &v->copy_pool[i];

		if (!c->buf)
			c->buf = kvmalloc(v->zero_buf_sectors << SECTOR_SHIFT,
					  GFP_KERNEL);
		if (!c->buf)
			r = -ENOMEM;
	}
	if (!r) /* Pairs with the acquires here and in buffered() */
		smp_store_release(&v->copy_buffers, true);
	mutex_unlock(&lock);
	if (r)
		DMERR("%s: cannot allocate the copy buffers", vm_name(v));
	return r;
}

/*
 * Is @c's chunk copied through its buffer?  Checking zeroes, always; paced
 * by its reads, once the buffers are there (see alloc_copy_buffers()) and
 * if the chunk fits (the mode may have changed since its size was chosen):
 * else kcopyd copies it.
 */
static bool buffered(struct vmotion *v, struct vm_copy *c)
{
	if (v->zero_copy)
		return true;
	/* Pairs with the release in alloc_copy_buffers(): c->buf is set */
	return c->paced && smp_load_acquire(&v->copy_buffers) &&
	       c->chunk_end - c->pos <= v->zero_buf_sectors;
}

static void start_chunk(struct vmotion *v, struct vm_copy *c)
{
	struct dm_io_region from, to;

	c->read_ns = 0;
	if (buffered(v, c)) {
		c->start_ns = ktime_get_ns();
		c->app_bios = app_bios(v);
		queue_work(v->copy_wq, &c->work);
		return;
	}
	from.bdev = v->source_dev->bdev;
	from.sector = v->source_start + c->pos;
	from.count = c->chunk_end - c->pos;
	to.bdev = v->dest_dev->bdev;
	to.sector = v->dest_start + c->pos;
	to.count = from.count;

	c->start_ns = ktime_get_ns();
	c->app_bios = app_bios(v);
	dm_kcopyd_copy(v->kcopyd, &from, 1, &to, 0, copy_done, c);
}

/*
 * Tracking with the latency control off (copy_latency_target 0): the
 * copier's chunks are paced by their reads of the source alone, and a busy
 * device does not cut them down to one small copy at a time (the
 * application does not share the destination with them).
 */
static bool vm_paced(struct vmotion *v)
{
	return vm_tracking(v) && !READ_ONCE(copy_latency_target);
}

/* How many copies may be registered now. */
static unsigned int max_copies(struct vmotion *v, bool busy)
{
	if (!busy || vm_paced(v))
		return MAX_COPIES;
	return pace_levels[READ_ONCE(v->pace_level)].copies;
}

/* Sectors a new copy batches adjacent regions into. */
static sector_t copy_sectors(struct vmotion *v, bool busy)
{
	if (!busy || vm_paced(v))
		return MAX_BATCH_SECTORS;
	return pace_levels[READ_ONCE(v->pace_level)].sectors;
}

/* Worker-only: the latency control starts a new period, in @phase. */
static void pace_period(struct vmotion *v, enum vm_pace_phase phase, u64 now,
			const struct vm_app_io *sum)
{
	v->pace_phase = phase;
	v->pace_start_ns = now;
	memcpy(v->pace_ios, sum->ended, sizeof(v->pace_ios));
	memcpy(v->pace_lat_us, sum->lat_us, sizeof(v->pace_lat_us));
	WRITE_ONCE(v->pace_measuring, phase == PACE_MEASURE);
}

/*
 * Worker-only: the largest baseline of the classes measured at or after
 * @since_ns (0: however long ago), 0 if none.
 */
static unsigned long pace_base_max(struct vmotion *v, u64 since_ns)
{
	unsigned long base = 0;
	int i;

	for (i = 0; i < PACE_CLASSES; i++)
		if (v->pace_base_ns[i] >= since_ns)
			base = max(base, v->pace_base_us[i]);
	return base;
}

/* Worker-only: the first ns of the last @periods before @now. */
static u64 pace_periods_ago(u64 now, unsigned int periods)
{
	u64 span = (u64)periods * PACE_PERIOD_NS;

	return now > span ? now - span + 1 : 0;
}

/* Copies registered and not resting between chunks. */
static unsigned int active_copies(struct vmotion *v)
{
	struct vm_copy *c;
	unsigned int n = 0;

	spin_lock_irq(&v->lock);
	list_for_each_entry(c, &v->copies, list)
		if (c->state != COPY_RESTING)
			n++;
	spin_unlock_irq(&v->lock);
	return n;
}

/*
 * Worker-only.  How long the application's reads and writes must have
 * waited for a stall: longer than the target allows the slower class (of
 * those measured in the last 4 s or the last two probes: a class the
 * application has stopped using would keep its old baseline), and than a
 * period.
 */
static u64 pace_stall_ns(struct vmotion *v, unsigned int target, u64 now)
{
	/* in the last 4 s, or by one of the last two probes (a slow load's) */
	u64 since = min(pace_periods_ago(now, 2 * PACE_PROBE_EVERY),
			v->pace_probe_ns[0]);
	unsigned long base = pace_base_max(v, since);

	return max_t(u64, (u64)base * (100 + target) * (NSEC_PER_USEC / 100),
		     PACE_PERIOD_NS);
}

/*
 * Worker-only.  Watch the application's reads and writes: whenever one has
 * ended since the last look (or the control starts, or some are in flight
 * after none were), note the time and how many are in flight.  Until the
 * next one ends, those have waited at least as long as it is since.
 */
static void pace_watch(struct vmotion *v, const struct vm_app_io *sum,
		       u64 now, bool start)
{
	unsigned long timed = sum->timed, done = sum->timed_done;

	if (start || done != v->pace_done ||
	    (v->pace_waiting <= 0 && (long)(timed - done) > 0)) {
		v->pace_done = done;
		v->pace_done_ns = now;
		v->pace_waiting = (long)(timed - done);
	}
}

/*
 * Worker-only.  When a stall begins (its first ns): reads or writes that
 * were in flight when the worker last saw one end, still waiting then,
 * have waited longer than pace_stall_ns() (a lower bound on their latency,
 * however few ended in the period).  U64_MAX without any in flight,
 * without a baseline, or at level 0: nothing to tell.
 */
static u64 pace_stall_at(struct vmotion *v, unsigned int target, u64 now)
{
	if (!pace_base_max(v, 0) || !v->pace_level ||
	    v->pace_waiting <= 0)
		return U64_MAX;
	return v->pace_done_ns + pace_stall_ns(v, target, now) + 1;
}

/*
 * Worker-only.  A probe's measuring period has ended: each class of which
 * enough I/O ended in it has a new baseline, its mean (a moving average of
 * the probes; the first after a gap replaces an old one).
 */
static void pace_measured(struct vmotion *v, const struct vm_app_io *sum,
			  u64 now)
{
	int i;

	for (i = 0; i < PACE_CLASSES; i++) {
		unsigned long ios = sum->ended[i] - v->pace_ios[i];
		unsigned long base = v->pace_base_us[i], mean;

		if (ios < PACE_MIN_CLASS_IOS)
			continue;
		/* at least 1: 0 is no baseline */
		mean = max((sum->lat_us[i] - v->pace_lat_us[i]) / ios, 1UL);
		if (base && now - v->pace_base_ns[i] <
		    (u64)2 * PACE_PROBE_EVERY * PACE_PERIOD_NS)
			base = (3 * base + mean) / 4;
		else
			base = mean;
		/* read by vmotion_status() */
		WRITE_ONCE(v->pace_base_us[i], base);
		v->pace_base_ns[i] = now;
	}
}

/*
 * Worker-only.  The latency control, while the device is busy (the control
 * law is in Documentation/dm-vmotion.rst).  Returns the time until which
 * the copier holds its copies for a probe, or 0 if it may copy by its
 * level.
 */
static u64 pace_control(struct vmotion *v, bool busy, u64 now)
{
	unsigned int target = READ_ONCE(copy_latency_target);
	unsigned int level = v->pace_level, top = PACE_TOP_LEVEL;
	unsigned long ios = 0, judged = 0, n;
	struct vm_app_io sum;
	u64 end = v->pace_start_ns + PACE_PERIOD_NS, slowdown = 0, recent;
	bool long_enough, stalled, unmeasured = false, hurry;
	int i;

	if (!busy || vm_paced(v) || !target) {
		if (!target)
			WRITE_ONCE(v->pace_level, 0);
		v->pace_start_ns = 0;
		return 0;
	}
	app_sum(v, &sum);
	pace_watch(v, &sum, now, !v->pace_start_ns);
	if (!v->pace_start_ns) {
		/*
		 * Busy again: the copier goes on at its level (without a
		 * baseline, at most PACE_START_LEVEL) and probes once the
		 * load has lasted PACE_FIRST_PROBE periods, or the usual
		 * number if a baseline is recent.  A stray I/O costs no
		 * probe.
		 */
		pace_period(v, PACE_CONTROL, now, &sum);
		recent = pace_periods_ago(now, PACE_PROBE_EVERY);
		v->pace_left = pace_base_max(v, recent) ?
			       PACE_PROBE_EVERY : PACE_FIRST_PROBE;
		if (!pace_base_max(v, 0))
			WRITE_ONCE(v->pace_level,
				   min(v->pace_level, PACE_START_LEVEL));
		return 0;
	}
	if (now < end)
		return v->pace_phase == PACE_CONTROL ? 0 : end;
	/* a period runs on until enough I/O ended to tell, or long enough */
	long_enough = now >= v->pace_start_ns +
			     PACE_MAX_PERIODS * PACE_PERIOD_NS;
	for (i = 0; i < PACE_CLASSES; i++)
		ios += sum.ended[i] - v->pace_ios[i];

	/*
	 * A probe during which bios waited a second or more (a destination
	 * holding writes) measures nothing: those would end together, their
	 * wait in the baseline.
	 */
	if (v->pace_phase != PACE_CONTROL && v->pace_waiting > 0 &&
	    now - v->pace_done_ns >= PACE_MAX_PERIODS * PACE_PERIOD_NS)
		v->pace_probe_stalled = true;

	switch (v->pace_phase) {
	case PACE_DRAIN:
		/* the copies in flight must not count in the baseline */
		if (active_copies(v) && !long_enough)
			return now + PACE_PERIOD_NS / 10;
		pace_period(v, PACE_MEASURE, now, &sum);
		return now + PACE_PERIOD_NS;
	case PACE_MEASURE:
		/* as long as a period of the control, for as many I/Os */
		if (ios < PACE_MIN_IOS && !long_enough && !v->pace_probe_stalled)
			return now + PACE_PERIOD_NS / 10;
		if (!v->pace_probe_stalled)
			pace_measured(v, &sum, now);
		v->pace_probe_ns[0] = v->pace_probe_ns[1];
		v->pace_probe_ns[1] = now;
		v->pace_left = PACE_PROBE_EVERY;
		break;
	case PACE_CONTROL:
		stalled = now >= pace_stall_at(v, target, now);
		if (ios < PACE_MIN_IOS && !long_enough && !stalled)
			return 0;
		/*
		 * Each I/O is judged against its own class's baseline: the
		 * sum of latency / baseline (in percent) over the I/Os that
		 * ended.  A class without a baseline is not judged; if it is
		 * a quarter of the I/O, the copier goes no higher than
		 * PACE_START_LEVEL (as without any baseline) and probes soon.
		 */
		for (i = 0; i < PACE_CLASSES; i++) {
			n = sum.ended[i] - v->pace_ios[i];
			if (!n)
				continue;
			if (!v->pace_base_us[i]) {
				if (n >= PACE_MIN_CLASS_IOS && 4 * n >= ios)
					unmeasured = true;
				continue;
			}
			judged += n;
			slowdown += div64_u64((u64)(sum.lat_us[i] -
						    v->pace_lat_us[i]) * 100,
					      v->pace_base_us[i]);
		}
		if (unmeasured || !pace_base_max(v, 0))
			top = PACE_START_LEVEL;
		/*
		 * Early, once between two probes on schedule: a class that
		 * the probes do not catch must not keep the copier probing.
		 */
		hurry = unmeasured && !v->pace_hurried && v->pace_left > 1;
		if (hurry) {
			v->pace_hurried = true;
			v->pace_left = 1;
		}
		/* too few I/Os, none waiting long: the level holds */
		if (stalled) {
			level /= 2;
		} else if (ios >= PACE_MIN_IOS) {
			if (judged < PACE_MIN_CLASS_IOS ||
			    slowdown <= (u64)judged * (100 + target))
				level++;
			else
				level /= 2;
		}
		WRITE_ONCE(v->pace_level, min(level, top));
		if (!--v->pace_left) {
			if (!hurry)
				v->pace_hurried = false;
			v->pace_probe_stalled = false;
			pace_period(v, PACE_DRAIN, now, &sum);
			return now + PACE_PERIOD_NS;
		}
		break;
	}
	pace_period(v, PACE_CONTROL, now, &sum);
	return 0;
}

/*
 * Worker-only.  No chunk can start, copies are in flight (so no rest and
 * no probe's hold has the timer): the worker looks again when the control
 * period ends, or, if it ran on for want of I/Os, when those in flight
 * would be stalled or the period ends at the latest; so that a stall is
 * seen even if the copies are stuck as well.
 */
static void pace_wake(struct vmotion *v, u64 now)
{
	unsigned int target = READ_ONCE(copy_latency_target);
	u64 at = v->pace_start_ns + PACE_PERIOD_NS;

	if (!v->pace_start_ns || v->pace_phase != PACE_CONTROL)
		return;
	if (now >= at) {
		at = min(v->pace_start_ns + PACE_MAX_PERIODS * PACE_PERIOD_NS,
			 pace_stall_at(v, target, now));
		at = max(at, now + PACE_PERIOD_NS / 10);
	}
	hrtimer_start(&v->rest_timer, ns_to_ktime(at - now), HRTIMER_MODE_REL);
}

/* Most sectors a chunk moves: 1/8 s of the rate, whole logical blocks. */
static sector_t chunk_sectors(struct vmotion *v, bool busy, unsigned int rate)
{
	sector_t max = max_t(sector_t, copy_sectors(v, busy), v->region_size);
	sector_t sectors;

	if (v->zero_copy || vm_tracking(v))
		max = min(max, v->zero_buf_sectors);

	if (!rate)
		return max;
	/* KiB/s * 2 sectors per KiB / RATE_SLICES_PER_SEC */
	sectors = div_u64((u64)rate * 2, RATE_SLICES_PER_SEC);
	sectors = round_down(sectors, v->min_chunk);
	return clamp_t(sector_t, sectors, v->min_chunk, max);
}

enum { NEXT_FOUND, NEXT_AGAIN, NEXT_NONE };

static const char *mode_name(enum vm_mode mode)
{
	switch (mode) {
	case MODE_TRACK:
		return DM_VMOTION_MODE_TRACK;
	case MODE_AUTO:
		return DM_VMOTION_MODE_AUTO;
	default:
		return DM_VMOTION_MODE_MIRROR;
	}
}

static int parse_mode(const char *arg, enum vm_mode *mode)
{
	if (!strcasecmp(arg, DM_VMOTION_MODE_MIRROR))
		*mode = MODE_MIRROR;
	else if (!strcasecmp(arg, DM_VMOTION_MODE_TRACK))
		*mode = MODE_TRACK;
	else if (!strcasecmp(arg, DM_VMOTION_MODE_AUTO))
		*mode = MODE_AUTO;
	else
		return -EINVAL;
	return 0;
}

/*
 * A pass starts: its unsynced regions, time and copied sectors are what
 * the next decision of mode auto compares with.
 *
 * NOTE: caller holds v->lock.
 */
static void __start_pass(struct vmotion *v)
{
	v->pass++;
	v->pass_left = dm_vmb_nr_regions(v->bitmap) -
		       dm_vmb_nr_synced(v->bitmap);
	v->pass_start_ns = ktime_get_ns();
	v->pass_copied = atomic64_read(&v->copied_sectors);
}

/*
 * Mode auto, at the end of a pass that left @left regions unsynced: why
 * to mirror from now on, or NULL to go on tracking.  Mirroring makes
 * every write to a region in sync wait for the destination, for as long
 * as the rest takes to copy; tracking may never converge.
 *
 * NOTE: caller holds v->lock.
 */
static const char *__auto_mirror(struct vmotion *v, unsigned long left)
{
	u64 ms = div_u64(ktime_get_ns() - v->pass_start_ns, NSEC_PER_MSEC);
	u64 copied = atomic64_read(&v->copied_sectors) - v->pass_copied;
	u64 rate;

	/* a pass that started in sync (a write since): nothing to compare */
	if (!v->pass_left)
		return NULL;
	if ((u64)left * AUTO_SHRINK_DEN > (u64)v->pass_left * AUTO_SHRINK_NUM)
		return "the pass did not shrink the regions to copy by a quarter";
	if (v->pass - v->auto_pass0 + 1 >= AUTO_MAX_PASSES)
		return "too many passes";
	if (!copied || !ms)
		return NULL;
	/* sectors a second, then the milliseconds the rest would take */
	rate = max_t(u64, 1, div64_u64(copied * MSEC_PER_SEC, ms));
	if (mul_u64_u64_div_u64((u64)left * v->region_size, MSEC_PER_SEC, rate) <=
	    AUTO_MIRROR_MSEC)
		return "the rest copies in a moment";
	return NULL;
}

/*
 * The copier has been through every unsynced region: mode auto decides,
 * and the next pass starts.
 *
 * NOTE: caller holds v->lock.
 */
static void __end_pass(struct vmotion *v)
{
	unsigned long left = dm_vmb_nr_regions(v->bitmap) -
			     dm_vmb_nr_synced(v->bitmap);
	const char *why;

	if (v->mode == MODE_AUTO && v->tracking) {
		why = __auto_mirror(v, left);
		if (why) {
			WRITE_ONCE(v->tracking, false);
			/* logged by the worker, the lock let go */
			v->auto_why = why;
			v->auto_left = left;
		}
	}
	__start_pass(v);
	/* tracking, each pass copies its cold regions first, then the rest */
	if (v->tracking) {
		v->cold_pass = true;
		v->sweep_found = false;
	}
}

/*
 * The next region to copy, from a search of at most SEARCH_REGIONS
 * regions, in *@region.  Returns NEXT_FOUND; NEXT_AGAIN when the window
 * searched held none (call again, after letting go of the lock);
 * NEXT_NONE when there is nothing to start now.
 *
 * The cold pass sweeps the regions the application has not written lately;
 * at the end of a sweep that found one it sweeps again (tracking: not);
 * after a sweep that found none, the rest, the hot regions, are copied in
 * ascending order.  That ends a pass; the next starts again from the
 * first region, cold ones first if tracking.
 *
 * NOTE: caller holds v->lock.
 */
static int __next_region(struct vmotion *v, unsigned long *region)
{
	unsigned long nr_regions = dm_vmb_nr_regions(v->bitmap);
	unsigned long end = min(v->cursor + SEARCH_REGIONS, nr_regions);
	unsigned long r;

	if (v->cold_pass)
		r = dm_vmb_next_cold(v->bitmap, v->cursor, end);
	else
		r = dm_vmb_next_unsynced(v->bitmap, v->cursor, end);
	if (r < end) {
		if (__find_copy(v, r))
			return NEXT_NONE;
		v->sweep_found |= v->cold_pass;
		*region = r;
		return NEXT_FOUND;
	}

	v->cursor = end;
	if (end < nr_regions)
		return NEXT_AGAIN;
	if (v->cold_pass) {
		/*
		 * End of a sweep.  Tracking, the regions written meanwhile
		 * would keep the sweeps going: one a pass.
		 */
		v->cold_pass = v->sweep_found && !v->tracking;
		v->sweep_found = false;
		v->cursor = 0;
		return NEXT_AGAIN;
	}
	/* end of the ascending pass: look behind the cursor once copies end */
	if (v->nr_copies || dm_vmb_all_synced(v->bitmap))
		return NEXT_NONE;
	__end_pass(v);
	v->cursor = 0;
	return NEXT_AGAIN;
}

/*
 * Register the next chunk: the next one of a copy in progress, else the
 * first of a new copy of the next unsynced regions.  *@ready tells whether
 * it can start now or waits for writes in flight to it.
 *
 * Returns the copy; ERR_PTR(-EAGAIN) with *@rest_ns set when the copier
 * rests for a busy device; ERR_PTR(-EINPROGRESS) when a search window held
 * nothing (call again); ERR_PTR(-EBUSY) when as many chunks are in flight
 * as may be; ERR_PTR(-ENOENT) when nothing else can start now.
 */
static struct vm_copy *next_chunk(struct vmotion *v, bool busy, u64 now,
				  sector_t max_chunk, bool *ready, u64 *rest_ns)
{
	unsigned long nr_regions = dm_vmb_nr_regions(v->bitmap);
	struct vm_copy *c, *resting;
	unsigned long r, end, max;
	unsigned int active;
	int found;

	spin_lock_irq(&v->lock);
	/* Under the lock: presuspend, pause and errors stop copies under it. */
	if (!may_copy(v))
		goto none;
	if (busy && now < v->rest_until_ns) {
		*rest_ns = v->rest_until_ns - now;
		spin_unlock_irq(&v->lock);
		return ERR_PTR(-EAGAIN);
	}

	/* chunks in flight: as many as copies may be, busy or idle */
	active = 0;
	resting = NULL;
	list_for_each_entry(c, &v->copies, list) {
		if (c->state != COPY_RESTING)
			active++;
		else if (!resting)
			resting = c;
	}
	if (active >= max_copies(v, busy)) {
		spin_unlock_irq(&v->lock);
		return ERR_PTR(-EBUSY);
	}
	c = resting;
	if (c)
		goto chunk;

	if (list_empty(&v->free_copies) || v->nr_copies >= max_copies(v, busy))
		goto none;
	found = __next_region(v, &r);
	if (found == NEXT_AGAIN) {
		spin_unlock_irq(&v->lock);
		return ERR_PTR(-EINPROGRESS);
	}
	if (found == NEXT_NONE)
		goto none;

	/* adjacent unsynced regions, as many as one chunk moves */
	max = clamp_t(unsigned long, max_chunk >> __ffs(v->region_size), 1,
		      MAX_COPY_REGIONS);
	end = r + 1;
	while (end < nr_regions && end - r < max &&
	       !dm_vmb_is_synced(v->bitmap, end) && !__find_copy(v, end) &&
	       !(v->cold_pass && dm_vmb_is_written(v->bitmap, end)))
		end++;
	v->cursor = end;

	c = list_first_entry(&v->free_copies, struct vm_copy, list);
	list_move_tail(&c->list, &v->copies);
	v->nr_copies++;
	c->region = r;
	c->nr = end - r;
	c->pos = region_start(v, r);
	c->end = regions_end(v, r, c->nr);
	c->spoiled = false;
	bitmap_zero(c->redirty, MAX_COPY_REGIONS);
	/* before its first chunk writes anything to the destination */
	if (v->dest_touched) {
		c->dest_zero = find_next_bit(v->dest_touched, end, r) >= end;
		bitmap_set(v->dest_touched, r, c->nr);
	}
chunk:
	c->paced = vm_tracking(v);
	c->chunk_end = min(c->end, c->pos + max_chunk);
	/* checking zeroes: a chunk that is not the last ends on a block */
	if (v->zero_copy && c->chunk_end < c->end &&
	    grain_down(v->dest_start, v->min_chunk) == v->dest_start) {
		sector_t e = grain_down(v->dest_start + c->chunk_end,
					v->zero_grain);

		if (e > v->dest_start + c->pos)
			c->chunk_end = e - v->dest_start;
	}
	c->waiting = __writes_to_chunk(v, c);
	c->state = c->waiting ? COPY_WAITING : COPY_RUNNING;
	*ready = !c->waiting;
	spin_unlock_irq(&v->lock);
	return c;
none:
	spin_unlock_irq(&v->lock);
	return ERR_PTR(-ENOENT);
}

/* Start chunks whose writes have drained and new ones, within the rate. */
static void do_copies(struct vmotion *v)
{
	struct vm_copy *ready[MAX_COPIES];
	struct vm_copy *c;
	unsigned int i, n = 0;

	spin_lock_irq(&v->lock);
	list_for_each_entry(c, &v->copies, list) {
		if (c->state == COPY_WAITING && !c->waiting) {
			c->state = COPY_RUNNING;
			ready[n++] = c;
		}
	}
	spin_unlock_irq(&v->lock);
	for (i = 0; i < n; i++)
		start_chunk(v, ready[i]);

	if (test_and_clear_bit(VM_RATE_CHANGED, &v->flags))
		v->rate_next_ns = 0;

	while (may_copy(v)) {
		unsigned int rate = READ_ONCE(v->rate);
		u64 now = ktime_get_ns();
		bool busy = vm_busy(v);
		u64 rest_ns, hold;
		bool go;

		hold = pace_control(v, busy, now);
		if (hold) {
			/* a probe: no new copy until then */
			hrtimer_start(&v->rest_timer, ns_to_ktime(hold - now),
				      HRTIMER_MODE_REL);
			break;
		}
		if (rate && now < v->rate_next_ns) {
			mod_delayed_work(v->wq, &v->worker,
					 nsecs_to_jiffies(v->rate_next_ns - now) + 1);
			break;
		}

		c = next_chunk(v, busy, now, chunk_sectors(v, busy, rate), &go,
			       &rest_ns);
		if (PTR_ERR(c) == -EINPROGRESS) {
			cond_resched();
			continue;
		}
		if (PTR_ERR(c) == -EAGAIN) {
			hrtimer_start(&v->rest_timer, ns_to_ktime(rest_ns),
				      HRTIMER_MODE_REL);
			break;
		}
		if (IS_ERR(c)) {
			if (PTR_ERR(c) == -EBUSY ||
			    (READ_ONCE(v->nr_copies) && may_copy(v)))
				pace_wake(v, now);
			break;
		}

		if (rate) {
			u64 bytes = (u64)(c->chunk_end - c->pos) << SECTOR_SHIFT;

			/* 64-bit divisor: the rate in bytes passes 4 GiB/s */
			v->rate_next_ns = max(v->rate_next_ns, now) +
				div64_u64(bytes * NSEC_PER_SEC, (u64)rate * 1024);
		}
		if (go)
			start_chunk(v, c);
	}
	/* paused, failed or suspending: the control starts again after */
	if (!may_copy(v))
		v->pace_start_ns = 0;
}

static enum hrtimer_restart rest_timer_fn(struct hrtimer *timer)
{
	struct vmotion *v = container_of(timer, struct vmotion, rest_timer);

	wake_worker(v);
	return HRTIMER_NORESTART;
}

/*
 * Flush the destination.  A failure concerns everything written to it
 * since it was last flushed, which the target does not track: every
 * region.
 */
static int flush_dest(struct vmotion *v)
{
	int r = blkdev_issue_flush(v->dest_dev->bdev);

	if (r) {
		atomic_inc(&v->dest_errors);
		DMERR("%s: destination flush failed (error %d)", vm_name(v), r);
		vm_error(v, 0, dm_vmb_nr_regions(v->bitmap), true,
			 "cannot flush the destination");
	}
	return r;
}

/*---------------------------------------------------------------------------*/
/* Metadata */

/*
 * The metadata cannot be kept any more: writes stop waiting for intent
 * bits.  After an I/O error of its device (@error) the migration fails
 * (rule 4: the source stays the authority; what is on disk no longer
 * tells what is in sync).
 */
static void md_stop(struct vmotion *v, bool error, const char *why)
{
	bool mirror = false;
	int r;

	/*
	 * A failure the header records makes any later load start afresh.
	 * If it cannot be recorded either, the bitmaps on disk stay as they
	 * are: writes keep going to both devices, so that the regions they
	 * record in sync stay so (only the copier stops).
	 */
	r = error && !test_bit(VM_MD_OFF, &v->flags) ?
	    dm_vmm_set_state(v->md, DM_VMM_FAILED) : 0;
	if (r && r != -ESTALE && !test_bit(VM_FAILED, &v->flags) &&
	    dest_in_path(v)) {
		DMERR("%s: %s", vm_name(v),
		      "metadata cannot record the failure: writes still go to both devices; wipe the metadata before using it again");
		mirror = true;
	}
	spin_lock_irq(&v->lock);
	if (!test_and_set_bit(VM_MD_OFF, &v->flags))
		DMINFO("%s: metadata no longer kept: %s", vm_name(v), why);
	if (error) {
		set_bit(VM_MD_ERROR, &v->flags);
		if (mirror && !test_bit(VM_FAILED, &v->flags))
			set_bit(VM_MIRROR_ON, &v->flags);
		__vm_fail(v, why);
	}
	bio_list_merge(&v->deferred, &v->intent_wait);
	bio_list_init(&v->intent_wait);
	spin_unlock_irq(&v->lock);
	wake_worker(v);
}

/* Set the write-intent bits the waiting writes need, then let them go. */
static void commit_intents(struct vmotion *v)
{
	struct bio_list bios;
	struct vm_bio *vb;
	struct bio *bio;
	int r;

	spin_lock_irq(&v->lock);
	bios = v->intent_wait;
	bio_list_init(&v->intent_wait);
	spin_unlock_irq(&v->lock);
	if (bio_list_empty(&bios))
		return;

	bio_list_for_each(bio, &bios) {
		vb = dm_per_bio_data(bio, sizeof(struct vm_bio));
		dm_vmm_stage_intent(v->md, vb->region);
	}
	r = dm_vmm_write_intents(v->md);

	spin_lock_irq(&v->lock);
	bio_list_for_each(bio, &bios) {
		vb = dm_per_bio_data(bio, sizeof(struct vm_bio));
		if (!r)
			dm_vmm_intent_set_on(v->md, vb->region);
	}
	/* mapped again by the worker */
	bio_list_merge(&v->deferred, &bios);
	spin_unlock_irq(&v->lock);
	if (r)
		md_stop(v, true, "cannot write the metadata");
}

/*
 * Metadata rule 1: a region is recorded in sync only once its copy is on
 * stable storage on the destination, so the destination is flushed after
 * the bits are read and before they are written (dm-clone's rule).  Every
 * copy that set a bit had completed before the bit was read.  @force:
 * flush the destination even if no bit changed (sync, suspend).
 */
/* dm_vmm_synced_begin() or _end() over every changed block, one a lock hold */
static void synced_blocks(struct vmotion *v,
			  bool (*step)(struct dm_vmm *md, unsigned long *block))
{
	unsigned long block = 0;
	bool more;

	do {
		spin_lock_irq(&v->lock);
		more = step(v->md, &block);
		spin_unlock_irq(&v->lock);
	} while (more);
}

static int commit_synced(struct vmotion *v, bool force)
{
	bool changed;
	int r;

	v->md_committed = jiffies;
	if (!dest_in_path(v) || test_bit(VM_UNSYNC_ALL, &v->flags))
		return 0;
	changed = dm_vmm_stage_synced(v->md, v->bitmap);
	if (!changed && !force)
		return 0;
	/*
	 * The source too: a copy may have read a write the source had not
	 * yet made stable, and a cut must not leave that write on the
	 * destination alone in a region recorded in sync.
	 */
	r = blkdev_issue_flush(v->source_dev->bdev);
	if (r) {
		DMERR_LIMIT("%s: source flush failed (error %d)", vm_name(v), r);
		return r;
	}
	r = flush_dest(v);
	if (r || !changed)
		return r;

	synced_blocks(v, dm_vmm_synced_begin);
	r = dm_vmm_write_synced(v->md);
	if (r) {
		md_stop(v, true, "cannot write the metadata");
		return r;
	}
	synced_blocks(v, dm_vmm_synced_end);
	return 0;
}

static bool __write_in_flight(struct vmotion *v, unsigned long region)
{
	struct vm_bio *vb;

	hash_for_each_possible(v->writes, vb, node, region)
		if (vb->region == region)
			return true;
	return false;
}

/*
 * The other half of rule 2, md's bitmap daemon: a write-intent bit goes
 * once both devices have been flushed after the last write to its region
 * completed, and no write to it was mapped or completed for a whole
 * MD_CLEAR_PERIOD.  The flushes come first; a write after them touches its
 * region and keeps the bit.  A region recorded in sync but no longer in
 * sync keeps its bit until the next in-sync commit records that.
 */
static void clear_intents(struct vmotion *v, bool suspended)
{
	unsigned long nr = dm_vmb_nr_regions(v->bitmap), r, i, end;
	unsigned long cleared = 0;

	v->md_cleared = jiffies;
	if (!dm_vmm_nr_intents(v->md) || !dest_in_path(v))
		return;
	/* suspended: nothing in flight, and commit_synced() just flushed */
	if (!suspended &&
	    (blkdev_issue_flush(v->source_dev->bdev) || flush_dest(v)))
		return;

	for (r = 0; r < nr; r = end) {
		end = min(nr, r + SEARCH_REGIONS);
		spin_lock_irq(&v->lock);
		for (i = dm_vmm_next_intent(v->md, r, end); i < end;
		     i = dm_vmm_next_intent(v->md, i + 1, end)) {
			if ((dm_vmm_test_and_clear_touched(v->md, i) &&
			     !suspended) || __write_in_flight(v, i) ||
			    (dm_vmm_disk_synced(v->md, i) &&
			     !dm_vmb_is_synced(v->bitmap, i)))
				continue;
			dm_vmm_clear_intent(v->md, i);
			cleared++;
		}
		spin_unlock_irq(&v->lock);
		cond_resched();
	}
	if (cleared && dm_vmm_write_intents(v->md))
		md_stop(v, true, "cannot write the metadata");
}

/* Record a state in the header; the tool's final states stay. */
static void md_set_state(struct vmotion *v, enum dm_vmm_state state)
{
	int r = dm_vmm_set_state(v->md, state);

	if (r == -ESTALE)
		md_stop(v, false, "it records the end of the migration");
	else if (r)
		md_stop(v, true, "cannot write the metadata header");
}

/* The worker's metadata duties, in the order the rules need. */
static void do_metadata(struct vmotion *v)
{
	if (!md_active(v))
		return;
	if (test_bit(VM_FAILED, &v->flags)) {
		/* the bitmaps say nothing true from now on */
		md_set_state(v, DM_VMM_FAILED);
		if (md_active(v))
			md_stop(v, false, "the migration failed");
		return;
	}
	if (time_after_eq(jiffies, v->md_committed + MD_COMMIT_PERIOD))
		commit_synced(v, false);
	if (md_active(v) && time_after_eq(jiffies, v->md_cleared + MD_CLEAR_PERIOD))
		clear_intents(v, false);
	/* a region fell out of sync since the header said synced */
	if (md_active(v) && !test_bit(VM_SYNCED, &v->flags) &&
	    dm_vmm_header(v->md)->state == DM_VMM_SYNCED)
		md_set_state(v, DM_VMM_COPYING);
	/* come back while there is something to commit or clear */
	if (md_active(v) && (dm_vmm_nr_intents(v->md) ||
			     !test_bit(VM_SYNCED, &v->flags)))
		queue_delayed_work(v->wq, &v->worker, MD_COMMIT_PERIOD);
}

/*
 * Every region is in sync: flush the destination, and only then report
 * "synced" and raise the event.  kcopyd writes without FUA, so until this
 * flush the copies may sit in the destination's volatile cache; once the
 * tool switches, the destination is the only copy of the data.  A region
 * that fell out of sync meanwhile (on_error pause) waits for the next
 * time.
 */
static void check_synced(struct vmotion *v)
{
	unsigned long unsyncs;
	bool ready;

	spin_lock_irq(&v->lock);
	ready = !test_bit(VM_SYNCED, &v->flags) && dest_in_path(v) &&
		!test_bit(VM_UNSYNC_ALL, &v->flags) &&
		dm_vmb_all_synced(v->bitmap) && !v->nr_copies;
	unsyncs = v->unsyncs;
	spin_unlock_irq(&v->lock);
	if (!ready)
		return;

	if (md_active(v)) {
		/* everything in sync on disk before the tool may switch */
		if (commit_synced(v, true))
			return;
		md_set_state(v, DM_VMM_SYNCED);
		if (!md_active(v))
			return;
	} else if (flush_dest(v)) {
		return;
	}

	spin_lock_irq(&v->lock);
	ready = unsyncs == v->unsyncs && dest_in_path(v) &&
		!test_bit(VM_UNSYNC_ALL, &v->flags) &&
		dm_vmb_all_synced(v->bitmap);
	if (ready) {
		set_bit(VM_SYNCED, &v->flags);
		set_bit(VM_EVENT, &v->flags);
	}
	spin_unlock_irq(&v->lock);
	if (ready)
		DMINFO("%s: all %lu regions in sync, destination flushed",
		       vm_name(v), dm_vmb_nr_regions(v->bitmap));
}

/*
 * Take every region out of sync (a failed flush), a search window at a
 * time with the lock let go in between.  No region can be set in sync
 * meanwhile: no copy runs, and the destination is out of the write path or
 * the migration has failed.
 */
static void unsync_all(struct vmotion *v)
{
	unsigned long nr = dm_vmb_nr_regions(v->bitmap), r, n;

	for (r = 0; r < nr; r += n) {
		n = min(nr - r, SEARCH_REGIONS);
		spin_lock_irq(&v->lock);
		dm_vmb_clear_synced(v->bitmap, r, n);
		spin_unlock_irq(&v->lock);
		cond_resched();
	}
	spin_lock_irq(&v->lock);
	clear_bit(VM_UNSYNC_ALL, &v->flags);
	spin_unlock_irq(&v->lock);
}

/*---------------------------------------------------------------------------*/
/* Worker */

static void do_worker(struct work_struct *ws)
{
	struct vmotion *v = container_of(to_delayed_work(ws), struct vmotion,
					 worker);
	struct bio_list bios;
	unsigned long left, pass;
	const char *why;
	struct bio *bio;

	/* Suspended: nothing is in flight, and nothing may start. */
	if (test_bit(VM_POSTSUSPENDED, &v->flags))
		return;

	/* Writes that waited for a write-intent bit or a copy */
	if (md_active(v))
		commit_intents(v);
	spin_lock_irq(&v->lock);
	bios = v->deferred;
	bio_list_init(&v->deferred);
	spin_unlock_irq(&v->lock);
	while ((bio = bio_list_pop(&bios)))
		if (map_write(v, bio, true) == DM_MAPIO_REMAPPED)
			dm_submit_bio_remap(bio, NULL);

	if (test_bit(VM_UNSYNC_ALL, &v->flags))
		unsync_all(v);
	do_metadata(v);

	/* cold_pass changes only in this worker, in __next_region() */
	if (v->cold_pass && time_after(jiffies, v->aged + HEAT_AGE)) {
		dm_vmb_age_written(v->bitmap);
		v->aged = jiffies;
	}
	do_copies(v);
	check_synced(v);
	spin_lock_irq(&v->lock);
	why = v->auto_why;
	v->auto_why = NULL;
	left = v->auto_left;
	pass = v->pass;
	spin_unlock_irq(&v->lock);
	if (why)
		DMINFO("%s: mode auto mirrors from pass %lu: %lu regions left, %s",
		       vm_name(v), pass, left, why);

	if (test_and_clear_bit(VM_EVENT, &v->flags))
		dm_table_event(v->ti->table);

	/*
	 * Writes released meanwhile wait for nobody: not for the rate
	 * limit's delay that do_copies() may have set.
	 */
	spin_lock_irq(&v->lock);
	if (!bio_list_empty(&v->deferred) || !bio_list_empty(&v->intent_wait))
		wake_worker(v);
	spin_unlock_irq(&v->lock);
}

/*---------------------------------------------------------------------------*/
/* Target methods */

static int vmotion_map(struct dm_target *ti, struct bio *bio)
{
	struct vmotion *v = ti->private;
	struct vm_bio *vb = dm_per_bio_data(bio, sizeof(struct vm_bio));
	enum req_op op = bio_op(bio);
	unsigned long now = jiffies;

	/* at most one store per tick: the line stays shared between CPUs */
	if (READ_ONCE(v->last_io) != now)
		WRITE_ONCE(v->last_io, now);
	this_cpu_inc(v->app_io->mapped);
	vb->start_ns = ktime_get_ns();
	vb->flags = 0;
	if (op == REQ_OP_READ || (op == REQ_OP_WRITE && bio_sectors(bio))) {
		__set_bit(VB_TIMED, &vb->flags);
		this_cpu_inc(v->app_io->timed);
	}

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

	return map_write(v, bio, !(bio->bi_opf & REQ_NOWAIT));
}

static int vmotion_end_io(struct dm_target *ti, struct bio *bio,
			  blk_status_t *error)
{
	struct vmotion *v = ti->private;
	struct vm_bio *vb;
	/* a discard the source refuses loses nothing: not an error */
	bool counts = *error && *error != BLK_STS_AGAIN &&
		      bio_op(bio) != REQ_OP_DISCARD;

	if (counts)
		atomic_inc(&v->source_errors);
	vb = dm_per_bio_data(bio, sizeof(struct vm_bio));
	this_cpu_inc(v->app_io->done);
	/*
	 * The latency the application sees, for pace_control(); not in the
	 * baseline, a write held for a copy that ended while the probe
	 * drained the copies (its wait is the copier's cost).
	 */
	if (test_bit(VB_TIMED, &vb->flags))
		this_cpu_inc(v->app_io->timed_done);
	if (!*error && test_bit(VB_TIMED, &vb->flags) &&
	    !(test_bit(VB_HELD, &vb->flags) && READ_ONCE(v->pace_measuring))) {
		int class = test_bit(VB_MIRRORED, &vb->flags) ?
			    PACE_MIRRORED : PACE_SOURCE;

		this_cpu_inc(v->app_io->ended[class]);
		this_cpu_add(v->app_io->lat_us[class],
			     div_u64(ktime_get_ns() - vb->start_ns, NSEC_PER_USEC));
	}
	if (!op_is_write(bio_op(bio)))
		return DM_ENDIO_DONE;

	/* a discard changes no sync state, refused or not */
	if (test_bit(VB_TRACKED, &vb->flags))
		write_done(v, vb, bio_op(bio) == REQ_OP_DISCARD ? BLK_STS_OK : *error);

	return DM_ENDIO_DONE;
}

static void vmotion_presuspend(struct dm_target *ti)
{
	struct vmotion *v = ti->private;

	/*
	 * The chunks kcopyd has run to their end; the other copies are
	 * dropped and release the writes they held, which dm core waits for.
	 * Under the lock, so that next_chunk() registers none after it.
	 */
	spin_lock_irq(&v->lock);
	set_bit(VM_SUSPENDED, &v->flags);
	__cancel_copies(v);
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

	/* Partner: wake_up() in copy_done() and __cancel_copies() */
	wait_event(v->copies_wait, !READ_ONCE(v->nr_copies));
	/*
	 * dm core does not flush a target on suspend.  In sync, the suspend
	 * may be the one before the switch: everything acknowledged so far
	 * reaches stable storage on the destination before userspace reads
	 * the status that allows it.
	 */
	if (!md_active(v) && dm_vmb_all_synced(v->bitmap) && dest_in_path(v))
		flush_dest(v);
	/*
	 * The worker may still be queued (a copy's end, a message, an error
	 * just now): from here on it does nothing until resume.  The timer is
	 * armed only by the worker.
	 */
	set_bit(VM_POSTSUSPENDED, &v->flags);
	hrtimer_cancel(&v->rest_timer);
	cancel_delayed_work_sync(&v->worker);
	/*
	 * With metadata, the same flush, then the progress so far: a table
	 * loaded next (the tool's restore, a reboot) starts from here: with
	 * nothing in flight and both devices just flushed, the write-intent
	 * bits can all go.  The device is suspended for the tool's switch or
	 * abort, which write the header next.
	 */
	if (md_active(v) && !commit_synced(v, true) && md_active(v))
		clear_intents(v, true);
	/* An event owed (sync reached, failure) is not lost to the suspend. */
	if (test_and_clear_bit(VM_EVENT, &v->flags))
		dm_table_event(ti->table);
}

/*
 * Load the metadata's state into the bitmap: in sync, what it records in
 * sync without a write-intent bit (rule 3); nosync: everything.
 */
static void md_load(struct vmotion *v)
{
	unsigned long intents = dm_vmm_load(v->md, v->bitmap);

	if (v->nosync)
		dm_vmb_set_synced(v->bitmap, 0, dm_vmb_nr_regions(v->bitmap));
	DMINFO("%s: metadata %pUb: %lu of %lu regions in sync, %lu with a write-intent bit",
	       vm_name(v), dm_vmm_header(v->md)->uuid,
	       dm_vmb_nr_synced(v->bitmap), dm_vmb_nr_regions(v->bitmap),
	       intents);
}

/*
 * Before the first resume, read the metadata again: the table this one
 * replaces may have kept it until its suspend just now.  Before later
 * ones, read its header: the tool writes switched or aborted while the
 * device is suspended.  A switched migration's device does not resume on
 * the source: the destination holds the data.
 */
static int vmotion_preresume(struct dm_target *ti)
{
	struct vmotion *v = ti->private;
	const char *why;
	int r;

	if (!md_active(v))
		return 0;
	if (!v->md_loaded) {
		r = dm_vmm_reload(v->md, &why);
		if (r) {
			DMERR("%s: %s", vm_name(v), why);
			return r;
		}
		md_load(v);
		v->md_loaded = true;
		v->md_committed = jiffies;
		v->md_cleared = jiffies;
		return 0;
	}

	r = dm_vmm_read_state(v->md);
	if (r == DM_VMM_SWITCHED) {
		DMERR("%s: %s", vm_name(v),
		      "metadata records a switched migration: the destination holds the data, not resuming on the source");
		return -EINVAL;
	}
	if (r == DM_VMM_ABORTED)
		md_stop(v, false, "it records an aborted migration");
	else if (r == -ESTALE)
		md_stop(v, false, "it was wiped or formatted again");
	else if (r < 0)
		md_stop(v, true, "cannot read the metadata");
	return 0;
}

static void vmotion_resume(struct dm_target *ti)
{
	struct vmotion *v = ti->private;

	clear_bit(VM_SUSPENDED, &v->flags);
	WRITE_ONCE(v->started, true);
	spin_lock_irq(&v->lock);
	if (!v->pass) {
		__start_pass(v);
		v->auto_pass0 = v->pass;
	}
	spin_unlock_irq(&v->lock);
	v->rate_next_ns = 0;
	v->pace_start_ns = 0;
	/*
	 * Busy for a BUSY_WINDOW: I/O that waited for the resume is mapped
	 * after the worker's first run, which must not take the disks for
	 * an idle device's copies under it.
	 */
	WRITE_ONCE(v->last_io, jiffies);
	clear_bit(VM_POSTSUSPENDED, &v->flags);
	wake_worker(v);
}

static const char *vm_state(struct vmotion *v)
{
	if (test_bit(VM_FAILED, &v->flags))
		return DM_VMOTION_STATE_FAILED;
	if (test_bit(VM_ERROR_PAUSED, &v->flags))
		return DM_VMOTION_STATE_PAUSED;
	if (test_bit(VM_SYNCED, &v->flags) && dm_vmb_all_synced(v->bitmap))
		return DM_VMOTION_STATE_SYNCED;
	if (test_bit(VM_PAUSED, &v->flags))
		return DM_VMOTION_STATE_PAUSED;
	return DM_VMOTION_STATE_COPYING;
}

/* Why the copier is paused: "-", "user" (message) or "error" (on_error). */
static const char *vm_paused_by(struct vmotion *v)
{
	if (test_bit(VM_ERROR_PAUSED, &v->flags))
		return DM_VMOTION_PAUSED_BY_ERROR;
	if (test_bit(VM_PAUSED, &v->flags))
		return DM_VMOTION_PAUSED_BY_USER;
	return DM_VMOTION_PAUSED_BY_NONE;
}

static void emit_features(struct vmotion *v, char *result, unsigned int maxlen,
			  unsigned int *size)
{
	unsigned int sz = *size;
	bool rate = v->rate_given || READ_ONCE(v->rate);
	/*
	 * dest_zeroed promised zeroes when the table started; a table loaded
	 * again from this line must not promise it again once this one has
	 * written the destination: from the first resume it reads skip_zeroes.
	 */
	bool zeroed = v->dest_zeroed && !READ_ONCE(v->started);
	bool skip = v->skip_zeroes || (v->dest_zeroed && !zeroed);
	enum vm_mode mode = READ_ONCE(v->mode);
	bool mode_arg = v->mode_given || mode != MODE_MIRROR;
	unsigned int nr = 2 * rate + v->nosync + v->no_discard_passdown +
			  2 * v->on_error_given + 3 * !!v->md_dev + skip + zeroed +
			  2 * mode_arg;

	if (!nr)
		return;
	DMEMIT(" %u", nr);
	if (rate)
		DMEMIT(" " DM_VMOTION_FEAT_RATE " %u", READ_ONCE(v->rate));
	if (v->nosync)
		DMEMIT(" " DM_VMOTION_FEAT_NOSYNC);
	if (v->no_discard_passdown)
		DMEMIT(" " DM_VMOTION_FEAT_NO_DISCARD);
	if (v->on_error_given)
		DMEMIT(" " DM_VMOTION_FEAT_ON_ERROR " %s",
		       v->on_error == ON_ERROR_FAIL ? DM_VMOTION_ON_ERROR_FAIL :
		       DM_VMOTION_ON_ERROR_PAUSE);
	if (v->md_dev)
		DMEMIT(" " DM_VMOTION_FEAT_METADATA " %s %llu", v->md_dev->name,
		       (unsigned long long)v->md_start);
	if (skip)
		DMEMIT(" " DM_VMOTION_FEAT_SKIP_ZEROES);
	if (zeroed)
		DMEMIT(" " DM_VMOTION_FEAT_DEST_ZEROED);
	if (mode_arg)
		DMEMIT(" " DM_VMOTION_FEAT_MODE " %s", mode_name(mode));
	*size = sz;
}

/* Metadata: "-" none, "ok" kept, "error" its device failed, "off" not kept */
static const char *vm_md_state(struct vmotion *v)
{
	if (!v->md)
		return DM_VMOTION_MD_NONE;
	if (test_bit(VM_MD_ERROR, &v->flags))
		return DM_VMOTION_MD_ERROR;
	if (test_bit(VM_MD_OFF, &v->flags))
		return DM_VMOTION_MD_OFF;
	return DM_VMOTION_MD_OK;
}

/*
 * Status format:
 *
 * <synced regions>/<total regions> <region size> <state> <rate KiB/s>
 * <copied KiB> <dest errors> <source errors> <held writes> <paused by>
 * <metadata> <write-intent bits> <metadata blocks written>
 * <regions recorded in sync> <KiB skipped as zero> <mode>
 * <mode in force> <regions dirtied again> <pass> <copier level>
 * <baseline latency us> <mirrored baseline latency us>
 *
 * Table format: the constructor line, devices as major:minor.
 */
static void vmotion_status(struct dm_target *ti, status_type_t type,
			   unsigned int status_flags, char *result,
			   unsigned int maxlen)
{
	struct vmotion *v = ti->private;
	unsigned int sz = 0;
	unsigned long base_us;
	int i;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%lu/%lu %llu %s %u %llu %d %d %llu %s",
		       dm_vmb_nr_synced(v->bitmap),
		       dm_vmb_nr_regions(v->bitmap),
		       (unsigned long long)v->region_size, vm_state(v),
		       READ_ONCE(v->rate),
		       (unsigned long long)atomic64_read(&v->copied_sectors) / 2,
		       atomic_read(&v->dest_errors),
		       atomic_read(&v->source_errors),
		       (unsigned long long)atomic64_read(&v->held_writes),
		       vm_paused_by(v));
		DMEMIT(" %s %lu %llu %lu", vm_md_state(v),
		       v->md ? dm_vmm_nr_intents(v->md) : 0,
		       v->md ? (unsigned long long)dm_vmm_blocks_written(v->md) : 0,
		       v->md ? dm_vmm_nr_recorded(v->md) : 0);
		DMEMIT(" %llu",
		       (unsigned long long)atomic64_read(&v->zero_sectors) / 2);
		spin_lock_irq(&v->lock);
		DMEMIT(" %s %s %lu %lu", mode_name(v->mode),
		       vm_tracking(v) ? DM_VMOTION_MODE_TRACK : DM_VMOTION_MODE_MIRROR,
		       v->redirtied, v->pass);
		spin_unlock_irq(&v->lock);
		/* the latency control's level while it steers the copier */
		if (may_copy(v) && vm_busy(v) && !vm_paced(v) &&
		    !dm_vmb_all_synced(v->bitmap))
			DMEMIT(" %u", READ_ONCE(v->pace_level));
		else
			DMEMIT(" -");
		for (i = 0; i < PACE_CLASSES; i++) {
			base_us = READ_ONCE(v->pace_base_us[i]);
			if (base_us)
				DMEMIT(" %lu", base_us);
			else
				DMEMIT(" -");
		}
		break;

	case STATUSTYPE_TABLE:
		DMEMIT("%s %llu %s %llu %llu", v->source_dev->name,
		       (unsigned long long)v->source_start, v->dest_dev->name,
		       (unsigned long long)v->dest_start,
		       (unsigned long long)v->region_size);
		emit_features(v, result, maxlen, &sz);
		break;

	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",source_device=%s,source_start=%llu", v->source_dev->name,
		       (unsigned long long)v->source_start);
		DMEMIT(",dest_device=%s,dest_start=%llu,region_size=%llu",
		       v->dest_dev->name, (unsigned long long)v->dest_start,
		       (unsigned long long)v->region_size);
		if (v->md_dev)
			DMEMIT(",metadata_device=%s,metadata_start=%llu",
			       v->md_dev->name, (unsigned long long)v->md_start);
		DMEMIT(";");
		break;
	}
}

/*
 * A new mode applies to the writes mapped from now on.  The writes in
 * flight went one way or the other under the lock, and either leaves the
 * sync state true: a tracked write took its region out of sync (or out of
 * its copy) as it was mapped.  Mode auto starts again by tracking.
 */
static int set_mode(struct vmotion *v, enum vm_mode mode)
{
	if (mode != MODE_MIRROR && alloc_copy_buffers(v))
		return -ENOMEM;
	spin_lock_irq(&v->lock);
	WRITE_ONCE(v->mode, mode);
	WRITE_ONCE(v->tracking, mode != MODE_MIRROR);
	if (mode == MODE_AUTO) {
		/*
		 * A whole pass from here: the first decision compares with
		 * what is unsynced now, over every region, cold ones first.
		 */
		v->cursor = 0;
		v->cold_pass = true;
		v->sweep_found = false;
		v->pass--;
		__start_pass(v);
		v->auto_pass0 = v->pass;
	}
	spin_unlock_irq(&v->lock);
	wake_worker(v);
	return 0;
}

static int vmotion_message(struct dm_target *ti, unsigned int argc,
			   char **argv, char *result, unsigned int maxlen)
{
	struct vmotion *v = ti->private;
	enum vm_mode mode;
	unsigned int rate;
	bool retry;

	if (argc == 1 && !strcasecmp(argv[0], DM_VMOTION_MSG_PAUSE)) {
		spin_lock_irq(&v->lock);
		set_bit(VM_PAUSED, &v->flags);
		__cancel_copies(v);
		spin_unlock_irq(&v->lock);
		return 0;
	}

	if (argc == 1 && !strcasecmp(argv[0], DM_VMOTION_MSG_RESUME)) {
		/* after an error pause: retry; a failure stays */
		spin_lock_irq(&v->lock);
		clear_bit(VM_PAUSED, &v->flags);
		clear_bit(VM_DEST_OUT, &v->flags);
		retry = test_and_clear_bit(VM_ERROR_PAUSED, &v->flags);
		spin_unlock_irq(&v->lock);
		if (retry)
			DMINFO("%s: migration resumed after an error", vm_name(v));
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
		/* a new rate applies at once, not after the old deadline */
		set_bit(VM_RATE_CHANGED, &v->flags);
		wake_worker(v);
		return 0;
	}

	if (argc == 2 && !strcasecmp(argv[0], DM_VMOTION_MSG_MODE)) {
		if (parse_mode(argv[1], &mode)) {
			DMERR("%s: invalid mode '%s' (mirror, track or auto expected)",
			      vm_name(v), argv[1]);
			return -EINVAL;
		}
		return set_mode(v, mode);
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
	 * iterate_devices stacked both devices' limits; discards follow the
	 * source's, as a linear table on the source would (the block layer
	 * splits what goes on to the destination for it).
	 */
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

/*
 * The destination must take every write the source takes: a larger logical
 * block would raise the device's block size under a mounted filesystem.
 * A region must hold whole logical blocks.
 */
static int check_block_sizes(struct vmotion *v, char **error)
{
	unsigned int src = bdev_logical_block_size(v->source_dev->bdev);
	unsigned int dst = bdev_logical_block_size(v->dest_dev->bdev);

	if (dst > src) {
		DMERR("destination logical block size %u is larger than the source's %u",
		      dst, src);
		*error = "Destination logical block size is larger than the source's";
		return -EINVAL;
	}
	if (v->region_size << SECTOR_SHIFT < src) {
		*error = "Region size is smaller than the source's logical block size";
		return -EINVAL;
	}
	v->min_chunk = max_t(sector_t, MIN_CHUNK_SECTORS, src >> SECTOR_SHIFT);
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

static int parse_on_error(struct vmotion *v, struct dm_arg_set *as,
			  unsigned int *argc, char **error)
{
	const char *arg;

	if (v->on_error_given)
		return feature_error("Duplicate feature argument 'on_error'", error);
	if (!*argc)
		return feature_error("Feature argument 'on_error' needs a value", error);
	(*argc)--;
	arg = dm_shift_arg(as);
	if (!strcasecmp(arg, DM_VMOTION_ON_ERROR_FAIL))
		v->on_error = ON_ERROR_FAIL;
	else if (!strcasecmp(arg, DM_VMOTION_ON_ERROR_PAUSE))
		v->on_error = ON_ERROR_PAUSE;
	else
		return feature_error("Invalid on_error policy (fail or pause expected)",
				     error);
	v->on_error_given = true;
	return 0;
}

static int parse_mode_arg(struct vmotion *v, struct dm_arg_set *as,
			  unsigned int *argc, char **error)
{
	const char *arg;

	if (v->mode_given)
		return feature_error("Duplicate feature argument 'mode'", error);
	if (!*argc)
		return feature_error("Feature argument 'mode' needs a value", error);
	(*argc)--;
	arg = dm_shift_arg(as);
	if (parse_mode(arg, &v->mode)) {
		DMERR("invalid mode '%s' (mirror, track or auto expected)", arg);
		return feature_error("Invalid mode (mirror, track or auto expected)",
				     error);
	}
	v->mode_given = true;
	v->tracking = v->mode != MODE_MIRROR;
	return 0;
}

/* metadata <dev> <offset>: the device is opened with the others */
static int parse_metadata(struct vmotion *v, struct dm_arg_set *as,
			  unsigned int *argc, const char **md_path,
			  char **error)
{
	if (*md_path)
		return feature_error("Duplicate feature argument 'metadata'", error);
	if (*argc < 2)
		return feature_error("Feature argument 'metadata' needs a device and an offset",
				     error);
	*argc -= 2;
	*md_path = dm_shift_arg(as);
	return parse_offset(dm_shift_arg(as), &v->md_start,
			    "Invalid metadata offset", error);
}

static int parse_flag(bool *flag, const char *duplicate, char **error)
{
	if (*flag)
		return feature_error(duplicate, error);
	*flag = true;
	return 0;
}

static int parse_features(struct vmotion *v, struct dm_arg_set *as,
			  const char **md_path, char **error)
{
	static const struct dm_arg _args[] = {
		{0, 16, "Invalid number of feature arguments"},
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
		else if (!strcasecmp(arg, DM_VMOTION_FEAT_ON_ERROR))
			r = parse_on_error(v, as, &argc, error);
		else if (!strcasecmp(arg, DM_VMOTION_FEAT_METADATA))
			r = parse_metadata(v, as, &argc, md_path, error);
		else if (!strcasecmp(arg, DM_VMOTION_FEAT_SKIP_ZEROES))
			r = parse_flag(&v->skip_zeroes,
				       "Duplicate feature argument 'skip_zeroes'",
				       error);
		else if (!strcasecmp(arg, DM_VMOTION_FEAT_DEST_ZEROED))
			r = parse_flag(&v->dest_zeroed,
				       "Duplicate feature argument 'dest_zeroed'",
				       error);
		else if (!strcasecmp(arg, DM_VMOTION_FEAT_MODE))
			r = parse_mode_arg(v, as, &argc, error);
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

/*
 * Open the metadata: on its own device, or past the migrated range on the
 * source or the destination; never inside a range the target writes or
 * reads as data.
 */
static int open_metadata(struct dm_target *ti, struct vmotion *v,
			 const char *path, char **error)
{
	struct dm_vmm_geometry g = {
		.length = ti->len,
		.region_size = v->region_size,
		.nr_regions = dm_vmb_nr_regions(v->bitmap),
		.source_offset = v->source_start,
		.source_size = bdev_nr_sectors(v->source_dev->bdev),
		.dest_offset = v->dest_start,
		.dest_size = bdev_nr_sectors(v->dest_dev->bdev),
	};
	sector_t size, md_end;
	const char *why;
	int r;

	r = parse_dev(ti, path, &v->md_dev, "Error opening metadata device",
		      error);
	if (r)
		return r;
	r = -EINVAL;
	if (v->md_start & (DM_VMM_BLOCK_SECTORS - 1) ||
	    bdev_logical_block_size(v->md_dev->bdev) > DM_VMM_BLOCK_SIZE) {
		*error = "Metadata offset not 4 KiB aligned, or its device's blocks are larger";
		goto bad;
	}
	if (g.nr_regions > DM_VMM_MAX_REGIONS) {
		*error = "Too many regions for metadata: use a larger region size";
		goto bad;
	}
	size = dm_vmm_sectors(g.nr_regions);
	md_end = v->md_start + size;
	if (v->md_start > bdev_nr_sectors(v->md_dev->bdev) ||
	    bdev_nr_sectors(v->md_dev->bdev) - v->md_start < size) {
		DMERR("metadata needs %llu sectors at %llu, the device has %llu",
		      (unsigned long long)size, (unsigned long long)v->md_start,
		      (unsigned long long)bdev_nr_sectors(v->md_dev->bdev));
		*error = "Metadata device is too small for offset + metadata size";
		goto bad;
	}
	if (v->md_dev->bdev == v->dest_dev->bdev &&
	    v->md_start < v->dest_start + ti->len && v->dest_start < md_end) {
		*error = "Metadata overlaps the destination's migrated range";
		goto bad;
	}
	if (v->md_dev->bdev == v->source_dev->bdev &&
	    v->md_start < v->source_start + ti->len && v->source_start < md_end) {
		*error = "Metadata overlaps the source's migrated range";
		goto bad;
	}
	v->md = dm_vmm_open(v->md_dev->bdev, v->md_start, &g, &why);
	if (IS_ERR(v->md)) {
		r = PTR_ERR(v->md);
		v->md = NULL;
		*error = (char *)why;
		goto bad;
	}
	md_load(v);
	return 0;
bad:
	dm_put_device(ti, v->md_dev);
	v->md_dev = NULL;
	return r;
}

static void free_buffered_copies(struct vmotion *v)
{
	unsigned int i;

	if (v->copy_wq)
		destroy_workqueue(v->copy_wq);
	for (i = 0; i < MAX_COPIES; i++)
		kvfree(v->copy_pool[i].buf);
	if (v->io)
		dm_io_client_destroy(v->io);
	kvfree(v->dest_touched);
}

/*
 * skip_zeroes or dest_zeroed: the buffers.  dest_zeroed is a promise
 * about the destination when the migration starts: it is kept only if
 * this table starts it (no metadata, or metadata this table has just
 * formatted over an area of zeroes), and for each region only until
 * something writes it on the destination.
 */
static int init_zero_copy(struct vmotion *v, char **error)
{
	sector_t grain = bdev_discard_granularity(v->dest_dev->bdev) >>
			 SECTOR_SHIFT;
	unsigned long nr_regions = dm_vmb_nr_regions(v->bitmap);
	unsigned int i;

	/* whole logical blocks of the source: its reads are in those */
	v->zero_grain = grain_down(max(grain, v->min_chunk) + v->min_chunk - 1,
				   v->min_chunk);
	if (v->zero_grain <= ZERO_BUF_SECTORS)
		v->zero_buf_sectors = grain_down(ZERO_BUF_SECTORS, v->zero_grain);
	else if (v->zero_grain <= ZERO_BUF_MAX_SECTORS)
		v->zero_buf_sectors = v->zero_grain;
	else
		v->zero_buf_sectors = ZERO_BUF_SECTORS;

	if (v->dest_zeroed && v->md && !dm_vmm_was_blank(v->md))
		DMINFO("%s: dest_zeroed ignored: the metadata records an earlier start",
		       vm_name(v));
	else if (v->dest_zeroed) {
		v->dest_touched = kvcalloc(BITS_TO_LONGS(nr_regions),
					   sizeof(unsigned long), GFP_KERNEL);
		if (!v->dest_touched)
			goto nomem;
	}
	for (i = 0; i < MAX_COPIES; i++) {
		v->copy_pool[i].buf = kvmalloc(v->zero_buf_sectors << SECTOR_SHIFT,
					       GFP_KERNEL);
		if (!v->copy_pool[i].buf)
			goto nomem;
	}
	v->copy_buffers = true;
	return 0;
nomem:
	*error = "Cannot allocate the zero-checking copier";
	return -ENOMEM;
}

/*
 * Buffered copies: a dm-io client and a workqueue for any table (modes
 * track and auto use them when the mode changes to one of them); with
 * skip_zeroes or dest_zeroed, buffers sized to the destination's discard
 * granularity as well (paced copies allocate theirs when first used).
 */
static int init_buffered_copies(struct vmotion *v, char **error)
{
	unsigned int i;

	v->zero_buf_sectors = ZERO_BUF_SECTORS;
	for (i = 0; i < MAX_COPIES; i++)
		INIT_WORK(&v->copy_pool[i].work, buffered_copy_work);
	v->io = dm_io_client_create();
	if (IS_ERR(v->io)) {
		v->io = NULL;
		goto nomem;
	}
	v->copy_wq = alloc_workqueue("dm-" DM_MSG_PREFIX "-copy",
				     WQ_MEM_RECLAIM | WQ_UNBOUND, MAX_COPIES);
	if (!v->copy_wq)
		goto nomem;
	if (!v->zero_copy || !init_zero_copy(v, error))
		return 0;
	free_buffered_copies(v);
	return -ENOMEM;
nomem:
	free_buffered_copies(v);
	*error = "Cannot allocate the copier";
	return -ENOMEM;
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
 *   on_error fail|pause   what a destination or copy error does
 *                         (default pause)
 *   metadata <dev> <off>  crash-safe progress kept at <off> sectors of <dev>
 *   skip_zeroes           zeroes read from the source are not written
 *   dest_zeroed           ... nor unmapped: the destination reads as zeroes
 *   mode mirror|track|auto  writes to regions in sync: to both devices, to
 *                         the source alone (copied again), or track then
 *                         mirror (default mirror)
 */
static int vmotion_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	const char *md_path = NULL;
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
	r = parse_features(v, &as, &md_path, &ti->error);
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
			   &ti->error) ||
	    check_block_sizes(v, &ti->error))
		goto bad_devs;

	v->discard_to_dest = !v->no_discard_passdown &&
			     bdev_max_discard_sectors(v->dest_dev->bdev);

	v->bitmap = dm_vmb_create(ti->len, v->region_size, v->nosync);
	if (IS_ERR(v->bitmap)) {
		r = PTR_ERR(v->bitmap);
		ti->error = r == -ENOMEM ? "Cannot allocate region bitmap" :
			    "Too many regions: use a larger region size";
		r = r == -ENOMEM ? r : -EINVAL;
		goto bad_devs;
	}

	if (md_path) {
		r = open_metadata(ti, v, md_path, &ti->error);
		if (r)
			goto bad_metadata;
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

	v->zero_copy = v->skip_zeroes || v->dest_zeroed;
	r = init_buffered_copies(v, &ti->error);
	if (r)
		goto bad_zero_copy;
	if (v->mode != MODE_MIRROR && alloc_copy_buffers(v)) {
		r = -ENOMEM;
		ti->error = "Cannot allocate the copy buffers";
		goto bad_counter;
	}

	v->app_io = alloc_percpu(struct vm_app_io);
	if (!v->app_io) {
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
	bio_list_init(&v->intent_wait);
	init_copies(v);
	v->cold_pass = true;
	v->aged = jiffies;
	INIT_DELAYED_WORK(&v->worker, do_worker);
	vm_hrtimer_setup(&v->rest_timer, rest_timer_fn, CLOCK_MONOTONIC,
			 HRTIMER_MODE_REL);
	init_waitqueue_head(&v->copies_wait);
	atomic64_set(&v->copied_sectors, 0);
	atomic64_set(&v->zero_sectors, 0);
	atomic64_set(&v->held_writes, 0);
	v->last_io = jiffies - BUSY_WINDOW - 1;
	v->pace_level = PACE_START_LEVEL;
	/* the copier starts on resume */
	set_bit(VM_SUSPENDED, &v->flags);

	r = dm_set_target_max_io_len(ti, v->region_size);
	if (r) {
		ti->error = "Cannot set max I/O length";
		goto bad_io_len;
	}
	ti->num_flush_bios = 1;
	/*
	 * Discards as a linear table on the source would take them: none if
	 * the source has none, whatever the destination can do.
	 */
	if (bdev_max_discard_sectors(v->source_dev->bdev)) {
		ti->num_discard_bios = 1;
		ti->discards_supported = true;
	}
	ti->num_write_zeroes_bios = 1;
	ti->per_io_data_size = sizeof(struct vm_bio);
	ti->private = v;

	return 0;

bad_io_len:
	destroy_workqueue(v->wq);
bad_wq:
	free_percpu(v->app_io);
bad_counter:
	free_buffered_copies(v);
bad_zero_copy:
	dm_kcopyd_client_destroy(v->kcopyd);
bad_kcopyd:
	bioset_exit(&v->bs);
bad_bioset:
	if (v->md) {
		dm_vmm_close(v->md);
		dm_put_device(ti, v->md_dev);
	}
bad_metadata:
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

	/* Wait for every copy's completion to have run. */
	free_buffered_copies(v);
	dm_kcopyd_client_destroy(v->kcopyd);
	hrtimer_cancel(&v->rest_timer);
	cancel_delayed_work_sync(&v->worker);
	destroy_workqueue(v->wq);
	free_percpu(v->app_io);
	bioset_exit(&v->bs);
	if (v->md) {
		dm_vmm_close(v->md);
		dm_put_device(ti, v->md_dev);
	}
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
	/* map() never sleeps for a REQ_NOWAIT bio: see mirror_to_dest() */
	.features = DM_TARGET_NOWAIT,
	.module = THIS_MODULE,
	.ctr = vmotion_ctr,
	.dtr = vmotion_dtr,
	.map = vmotion_map,
	.end_io = vmotion_end_io,
	.presuspend = vmotion_presuspend,
	.presuspend_undo = vmotion_presuspend_undo,
	.postsuspend = vmotion_postsuspend,
	.preresume = vmotion_preresume,
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
