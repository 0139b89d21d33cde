/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The dm-vmotion authors.
 *
 * Everything in dm-vmotion that depends on the kernel version lives here.
 * The baseline is Linux 6.1 (Debian 12).
 */
#ifndef DM_VMOTION_COMPAT_H
#define DM_VMOTION_COMPAT_H

#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/dm-io.h>
#include <linux/hrtimer.h>
#include <linux/ioprio.h>
#include <linux/mm.h>

/*
 * Discards are passed to the source alone: advertise the source's limits
 * rather than the stacked ones.  Up to 6.9 max_discard_sectors is the
 * limit; since 6.10 the block layer derives it from max_hw_discard_sectors
 * (and overwrites what is set here), so setting both serves every version.
 */
static inline void vm_set_discard_limits(struct queue_limits *limits,
					 struct block_device *bdev)
{
	limits->max_hw_discard_sectors = bdev_max_discard_sectors(bdev);
	limits->max_discard_sectors = bdev_max_discard_sectors(bdev);
	limits->discard_granularity = bdev_discard_granularity(bdev);
}

/*
 * hrtimer_setup() arrived in 6.13 and hrtimer_init() left in 6.15; Kbuild
 * defines VM_HAVE_HRTIMER_SETUP when the kernel's headers have the former.
 */
static inline void vm_hrtimer_setup(struct hrtimer *timer,
				    enum hrtimer_restart (*fn)(struct hrtimer *),
				    clockid_t clock, enum hrtimer_mode mode)
{
#ifdef VM_HAVE_HRTIMER_SETUP
	hrtimer_setup(timer, fn, clock, mode);
#else
	hrtimer_init(timer, clock, mode);
	timer->function = fn;
#endif
}

/*
 * A synchronous dm_io() of one region from or to @buf, which kvmalloc()
 * may have taken from either allocator.  dm_io() gained an I/O priority
 * in 6.9 (and in some stable kernels: Debian's 6.1 has it); Kbuild
 * defines VM_DM_IO_IOPRIO when it is there.
 */
static inline int vm_dm_io(struct dm_io_request *req, struct dm_io_region *where,
			   void *buf)
{
	unsigned long error_bits;

	if (is_vmalloc_addr(buf)) {
		req->mem.type = DM_IO_VMA;
		req->mem.ptr.vma = buf;
	} else {
		req->mem.type = DM_IO_KMEM;
		req->mem.ptr.addr = buf;
	}
#ifdef VM_DM_IO_IOPRIO
	return dm_io(req, 1, where, &error_bits, IOPRIO_DEFAULT);
#else
	return dm_io(req, 1, where, &error_bits);
#endif
}

#endif /* DM_VMOTION_COMPAT_H */
