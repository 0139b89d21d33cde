// SPDX-License-Identifier: GPL-2.0-only
/*
 * toollib: the steps every command that changes a device takes before it
 * acts (lvm2's toollib.c is the model).  take_device() locks the device
 * (lock.c) and reads it (dm.c), and looks at what the device says of the
 * last command: a vmotion killed between its table load and its resume
 * leaves an inactive table (which may hold the destination open), one
 * killed in a switch leaves the device suspended; since the lock says such
 * a vmotion died holding it, both are undone (the inactive table cleared,
 * the device resumed on its live table, which is the table it had before
 * that command).  A device suspended by something else is not ours to
 * resume: it is refused.  check_target() makes sure the kernel's vmotion
 * target is there in a version this tool speaks.  It knows nothing of the
 * command line.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "dm-vmotion.h"
#include "toollib.h"
#include "util.h"

/* Undo what a vmotion that died holding the lock left on @d. */
static int recover(const char *name, struct device *d, const char *stale)
{
	if (!d->inactive && !d->suspended)
		return 0;
	err("%s: the last vmotion on it (PID %s) died in the middle; %s%s",
	    name, stale, d->inactive ? "clearing the table it left loaded" : "",
	    d->suspended ? (d->inactive ? " and resuming the device" :
			    "resuming the device") : "");
	if (d->inactive && clear_inactive(name)) {
		err("%s: cannot clear the inactive table: %s", name,
		    dm_reason(errno));
		return -1;
	}
	if (d->suspended && resume(name)) {
		err("%s: cannot resume it: %s", name, dm_reason(errno));
		return -1;
	}
	return get_device(name, d, true);
}

int take_device(const char *name, const char *cmd, bool wait,
		struct lock *l, struct device *d)
{
	char stale[128];

	l->fd = -1;
	/* the device number names the lock */
	if (get_device(name, d, false) ||
	    lock_device(d->dev, false, name, cmd, wait, l, stale,
			 sizeof(stale)))
		return -1;
	if (get_device(name, d, true) || (*stale && recover(name, d, stale))) {
		/* what the dead holder left is still to undo: say so next time */
		unlock_device(l, *stale ? stale : NULL);
		return -1;
	}
	if (d->suspended) {
		err("%s: suspended, and not by vmotion: refusing to touch it ('dmsetup info %s'; resume it when whoever suspended it is done)",
		    name, name);
		release_device(l);
		return -1;
	}
	return 0;
}

void release_device(struct lock *l)
{
	unlock_device(l, NULL);
}

unsigned int segment_rate(const struct device *d, int i, uint64_t rate_kib)
{
	uint64_t total = 0, share;

	if (!rate_kib)
		return 0;
	for (int j = 0; j < d->nr; j++)
		total += d->seg[j].len;
	/* 128-bit: a rate of 2^32 KiB/s times 2^40 sectors */
	share = (unsigned __int128)rate_kib * d->seg[i].len / total;
	return share ? share : 1;
}

int check_target(void)
{
	struct utsname u;
	uint32_t v[3];

	if (target_version(v)) {
		/* dm core loads it on a table load; we want its version now */
		if (system("modprobe -q dm-vmotion 2>/dev/null") ||
		    target_version(v)) {
			uname(&u);
			err("the kernel has no vmotion target, and 'modprobe dm-vmotion' did not load one (is dm-vmotion installed for %s?)",
			    u.release);
			return -1;
		}
	}
	if (v[0] != DM_VMOTION_VERSION_MAJOR || v[1] < DM_VMOTION_VERSION_MINOR) {
		err("the kernel's vmotion target is version %u.%u.%u; this vmotion needs %u.%u or a later %u.x",
		    v[0], v[1], v[2], DM_VMOTION_VERSION_MAJOR,
		    DM_VMOTION_VERSION_MINOR, DM_VMOTION_VERSION_MAJOR);
		return -1;
	}
	return 0;
}
