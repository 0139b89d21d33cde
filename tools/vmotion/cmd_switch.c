// SPDX-License-Identifier: GPL-2.0-only
/*
 * switch, abort: the two ends of a migration.  switch moves a device that is
 * in sync onto its destination: the linear table is loaded first, the
 * destination must answer a read, and the device is suspended only for a
 * last sync check and the resume that swaps the tables in, with memory
 * locked and priority raised meanwhile; cmd_switch_dev() is also the last
 * step of migrate.  abort puts the device back on linear on its source.
 * The device-mapper work is dm.c's; there is no libdevmapper call here.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>

#include "commands.h"
#include "dest.h"
#include "dm-vmotion.h"
#include "dm.h"
#include "progress.h"
#include "util.h"

/* Nice value while a device is suspended (LVM's process_priority) */
#define CRITICAL_PRIORITY	-18

/*
 * The stretch where the device is suspended, as LVM does it: memory locked,
 * so that no page fault waits for I/O to the suspended device, and the
 * priority raised, so that the pause does not wait for the CPU.  Both are
 * best effort.  Returns the nice value to go back to.
 */
static int critical_enter(const char *name)
{
	int prio;

	errno = 0;
	prio = getpriority(PRIO_PROCESS, 0);
	if (errno)
		prio = 0;
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		err("%s: warning: cannot lock memory (%s); going on", name,
		    strerror(errno));
	if (setpriority(PRIO_PROCESS, 0, CRITICAL_PRIORITY))
		err("%s: warning: cannot raise priority (%s); going on", name,
		    strerror(errno));
	return prio;
}

static void critical_leave(int prio)
{
	setpriority(PRIO_PROCESS, 0, prio);
	munlockall();
}

/*
 * Before the suspend, a device not in sync is left as it was.  After it, a
 * write that failed on the destination while the suspend waited for it has
 * taken the device out of sync: it resumes on its vmotion table.
 */
static bool in_sync(const char *name, struct device *d, bool suspended)
{
	struct progress p;

	progress_of(d, &p);
	if (!strcmp(p.state, DM_VMOTION_STATE_SYNCED) && p.synced == p.total)
		return true;
	if (suspended)
		err("%s: fell out of sync during the suspend (%s, %" PRIu64 "/%" PRIu64 " regions): resumed on the vmotion table",
		    name, p.state, p.synced, p.total);
	else
		err("%s: not in sync (%s, %" PRIu64 "/%" PRIu64 " regions): left as it was",
		    name, p.state, p.synced, p.total);
	return false;
}

static int switch_suspended(const char *name, struct device *d)
{
	double t0, t1;

	/* the I/O pause runs from here to the end of the resume */
	t0 = now();
	if (suspend(name)) {
		err("%s: suspend failed", name);
		clear_inactive(name);
		return -1;
	}
	if (get_device(name, d, true)) {
		clear_inactive(name);
		resume(name);
		return -1;
	}
	/* checked again now that no write can fail the destination */
	if (!in_sync(name, d, true)) {
		clear_inactive(name);
		resume(name);
		return -1;
	}
	if (resume_at(name, &t1)) {
		err("%s: resume on the destination failed (see dmesg); back to the vmotion table", name);
		clear_inactive(name);
		resume(name);
		return -1;
	}
	printf("%s: switched to the destination (%u:%u); I/O paused for %.1f ms\n",
	       name, major(d->seg[0].dest), minor(d->seg[0].dest),
	       (t1 - t0) * 1000);
	return 0;
}

/*
 * The linear table is loaded (inactive) before the suspend, so that the
 * pause holds only the suspend, the sync check and the resume that swaps
 * the tables in.
 */
int cmd_switch_dev(const char *name)
{
	struct device *d = calloc(1, sizeof(*d));
	struct table *t = calloc(1, sizeof(*t));
	int rc = EXIT_FAILED;
	int prio;

	if (!d || !t || get_migrating(name, d, true) || !in_sync(name, d, false) ||
	    !dest_answers(name, d))
		goto out;
	linear_table(d, true, t);
	if (reload(name, t)) {
		err("%s: the kernel refused the linear table (see dmesg); left migrating", name);
		clear_inactive(name);
		goto out;
	}
	prio = critical_enter(name);
	if (!switch_suspended(name, d))
		rc = EXIT_DONE;
	critical_leave(prio);
out:
	free(t);
	free(d);
	return rc;
}

static int cmd_abort_dev(const char *name)
{
	struct device *d = calloc(1, sizeof(*d));
	struct table *t = calloc(1, sizeof(*t));
	int rc = EXIT_FAILED;

	if (!d || !t || get_migrating(name, d, false))
		goto out;
	linear_table(d, false, t);
	if (replace_table(name, t))
		goto out;
	printf("%s: migration aborted; back to linear on the source\n", name);
	rc = EXIT_DONE;
out:
	free(t);
	free(d);
	return rc;
}

int cmd_switch(int argc, char **argv)
{
	char name[128];
	int rc = one_device(argc, argv, 0, name, sizeof(name));

	if (rc)
		return rc;
	return cmd_switch_dev(name);
}

int cmd_abort(int argc, char **argv)
{
	char name[128];
	int rc = one_device(argc, argv, 0, name, sizeof(name));

	if (rc)
		return rc;
	return cmd_abort_dev(name);
}
