// SPDX-License-Identifier: GPL-2.0-only
/*
 * switch, abort: the two ends of a migration, each under the device's lock
 * (toollib.c).  switch moves a device that is in sync onto its
 * destination: the linear table is loaded first, the destination must
 * answer a read, and the device is suspended only for a last check (the
 * tables are still the ones read, the status still says synced) and the
 * resume that swaps the tables in, with memory locked, priority raised and
 * signals held back meanwhile; cmd_switch_dev() is also the last step of
 * migrate.  abort puts the device back on linear on its source.  Both
 * record how the migration ended (state.c).  The device-mapper work is
 * dm.c's; there is no libdevmapper call here.
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
#include <time.h>

#include <blkid/blkid.h>

#include "commands.h"
#include "dest.h"
#include "dm-vmotion.h"
#include "dm-vmotion-metadata-format.h"
#include "dm.h"
#include "metadata.h"
#include "progress.h"
#include "state.h"
#include "toollib.h"
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
 * taken the device out of sync: it resumes on its vmotion table.  Only a
 * device whose every segment is vmotion can be in sync.
 */
static bool in_sync(const char *name, struct device *d, bool suspended)
{
	struct progress p;

	if (!all_type(d, DM_VMOTION_TARGET)) {
		err("%s: its table is no longer vmotion (another command changed it): left as it is",
		    name);
		return false;
	}
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

/*
 * A segment that tracks (mode track, or auto before it mirrors) sends
 * writes to regions in sync to the source alone: in sync now, it may not
 * be at the suspend, and may never be.  Such a device mirrors from now on
 * and the switch waits for sync; it stays mirroring if the switch does not
 * happen ('vmotion mode' changes it).  An exit status.
 */
static int mirror_first(const char *name, struct device *d)
{
	struct progress p;
	int rc;

	progress_of(d, &p);
	if (!p.tracking)
		return EXIT_DONE;
	printf("%s: mode %s: writes go to both devices from now on, for the switch\n",
	       name, p.mode);
	for (int i = 0; i < d->nr; i++) {
		if (message(name, d->seg[i].start,
			    DM_VMOTION_MSG_MODE " " DM_VMOTION_MODE_MIRROR)) {
			err("%s: message 'mode mirror' refused: %s; not switching",
			    name, dm_reason(errno));
			return EXIT_FAILED;
		}
	}
	test_pause_point("switch-mirroring");
	rc = follow(name, true);
	if (rc)
		return rc;
	return get_device(name, d, true) ? EXIT_FAILED : EXIT_DONE;
}

/*
 * Back to the live table @d: drop the waiting one and resume.  Were the
 * linear table still waiting, the resume would switch onto a destination
 * that failed the check: if it cannot be cleared, @d's table is loaded
 * over it, and if that fails too the device stays suspended.
 */
static void back_out(const char *name, const struct device *d)
{
	struct table *t;

	if (clear_inactive(name)) {
		err("%s: cannot clear the linear table: %s; loading the vmotion table over it",
		    name, dm_reason(errno));
		t = calloc(1, sizeof(*t));
		if (!t || (device_table(d, t), reload(name, t))) {
			err("%s: cannot load it either: left SUSPENDED, since a resume would switch onto the destination unchecked; 'dmsetup clear %s' then 'dmsetup resume %s' puts it back on its vmotion table",
			    name, name, name);
			free(t);
			return;
		}
		free(t);
	}
	if (resume(name))
		err("%s: resume failed: %s; the device is suspended: 'dmsetup resume %s'",
		    name, dm_reason(errno), name);
}

/*
 * The state a migration's metadata records: each segment's header (its
 * area from the table's "metadata" feature), written by the tool only
 * while the vmotion table is suspended, since postsuspend has committed
 * the kernel's progress and nothing else writes the header until a resume.
 */
struct md_mark {
	bool md;		/* the segment keeps metadata */
	char path[256];
	uint64_t offset;
	bool has_uuid;		/* the record names the migration's uuid */
	uint8_t uuid[MD_UUID_LEN];
	uint32_t was;		/* the state it had, to put back */
	bool written;
};

/* @d's segments' metadata areas; NULL with a message if out of memory. */
static struct md_mark *md_marks(const char *name, const struct device *d)
{
	struct md_mark *m = calloc(d->nr, sizeof(*m));
	struct record *r = calloc(1, sizeof(*r));
	bool rec;

	if (!m || !r) {
		err("%s: out of memory", name);
		free(r);
		free(m);
		return NULL;
	}
	/* the record of the migration running, not of an older one */
	rec = !record_read(name, r) && !strcmp(r->state, REC_MIGRATING) &&
	      r->nr == d->nr;
	for (int i = 0; i < d->nr; i++) {
		const struct segment *s = &d->seg[i];

		if (!s->md_dev)
			continue;
		m[i].md = true;
		dev_node(s->md_dev, m[i].path, sizeof(m[i].path));
		m[i].offset = s->md_off;
		m[i].has_uuid = rec && r->seg[i].md && r->seg[i].md_off == s->md_off &&
				!md_uuid_parse(r->seg[i].md_uuid, m[i].uuid);
	}
	free(r);
	return m;
}

/* Put back the state each header had, instead of @state. */
static bool unmark(const char *name, struct md_mark *m, int nr,
		   uint32_t state)
{
	bool ok = true;

	for (int i = 0; m && i < nr; i++) {
		if (!m[i].written)
			continue;
		if (md_set_state(m[i].path, m[i].offset,
				 m[i].has_uuid ? m[i].uuid : NULL, m[i].was, NULL)) {
			err("%s: warning: its metadata at %s:%" PRIu64 " still says %s: the kernel stops keeping it once resumed, and a table naming it is refused (after an abort, 'vmotion migrate' wipes it)",
			    name, m[i].path, m[i].offset, md_state_name(state));
			ok = false;
		}
		m[i].written = false;
	}
	return ok;
}

/* Record @state in every segment's header; all or none (0 or -1). */
static int mark(const char *name, struct md_mark *m, int nr, uint32_t state)
{
	for (int i = 0; i < nr; i++) {
		if (!m[i].md)
			continue;
		if (!*m[i].path ||
		    md_set_state(m[i].path, m[i].offset,
				 m[i].has_uuid ? m[i].uuid : NULL, state,
				 &m[i].was)) {
			err("%s: cannot record %s in segment %d's metadata%s",
			    name, md_state_name(state), i,
			    *m[i].path ? "" : " (its device has no node)");
			unmark(name, m, nr, state);
			return -1;
		}
		m[i].written = true;
	}
	return 0;
}

/*
 * Suspend, check again, resume onto @t.  The pause runs from the suspend
 * to the end of the resume.  After the suspend the device must still be
 * the vmotion table @d was read from, in sync, with @t waiting.
 */
static int switch_suspended(const char *name, struct device *d,
			    const struct table *t, struct md_mark *m)
{
	struct device *now_d = calloc(1, sizeof(*now_d));
	struct device *wait_d = calloc(1, sizeof(*wait_d));
	double t0, t1;
	int r = -1;

	if (!now_d || !wait_d) {
		err("%s: out of memory; not switching", name);
		clear_inactive(name);
		goto out;
	}
	t0 = now();
	if (suspend(name)) {
		err("%s: suspend failed: %s", name, dm_reason(errno));
		back_out(name, d);
		goto out;
	}
	test_kill_point("switch-suspended");
	/* checked again now that no write can fail the destination */
	if (get_device(name, now_d, true) || get_inactive(name, wait_d)) {
		back_out(name, d);
		goto out;
	}
	if (!same_table(now_d, d) || !table_is(wait_d, t)) {
		err("%s: its tables changed under the switch (another tool?): resumed as it was, not switched",
		    name);
		back_out(name, d);
		goto out;
	}
	if (!in_sync(name, now_d, true)) {
		back_out(name, d);
		goto out;
	}
	/*
	 * From here the destination is the authority: the vmotion table is
	 * suspended in sync, so source and destination are equal and flushed,
	 * and every later write goes to the destination alone.  The metadata
	 * says so now, before the resume puts the linear table live: marked
	 * after it, a crash in between would leave "synced" metadata, whose
	 * reload (at boot, on the source) would copy nothing and serve the
	 * source's stale data.  A switch that backs out from here puts the
	 * previous state back before the vmotion table runs again.
	 */
	if (mark(name, m, d->nr, DM_VMM_SWITCHED)) {
		err("%s: not switching: resumed on the vmotion table", name);
		back_out(name, d);
		goto out;
	}
	test_kill_point("switch-marked");
	if (resume_at(name, &t1)) {
		err("%s: resume on the destination failed (see dmesg); back to the vmotion table", name);
		unmark(name, m, d->nr, DM_VMM_SWITCHED);
		back_out(name, d);
		goto out;
	}
	printf("%s: switched to the destination (%u:%u); I/O paused for %.1f ms\n",
	       name, major(d->seg[0].dest), minor(d->seg[0].dest),
	       (t1 - t0) * 1000);
	r = 0;
out:
	free(wait_d);
	free(now_d);
	return r;
}

/*
 * Record where @name is: switching to its destination, switched, back to
 * its source.  0, or -1 with a message.
 */
static int record_state(const char *name, const struct device *d,
			const char *state)
{
	struct record *r = calloc(1, sizeof(*r));
	char *path;
	int rc;

	if (!r) {
		err("%s: out of memory for its record", name);
		return -1;
	}
	/* none yet (a migration loaded by hand), or an older migration's */
	if (record_read(name, r) || r->dest != d->seg[0].dest) {
		memset(r, 0, sizeof(*r));
		r->skip_zeroes = -1;
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->dest = d->seg[0].dest;
		path = blkid_devno_to_devname(r->dest);
		snprintf(r->dest_path, sizeof(r->dest_path), "%s", path ? path : "");
		free(path);
		dest_identity(r->dest, r->dest_id, sizeof(r->dest_id));
		r->started = time(NULL);
	}
	snprintf(r->state, sizeof(r->state), "%s", state);
	r->changed = time(NULL);
	if (!strcmp(state, REC_SWITCHING) && !*r->dest_id)
		err("%s: warning: its destination %s has no stable identity (no WWN, serial or dm UUID): the record of this switch cannot keep a later migration off it",
		    name, *r->dest_path ? r->dest_path : "?");
	rc = record_write(r);
	free(r);
	return rc;
}

/*
 * Under the device's lock: the linear table is loaded (inactive) before
 * the suspend, so that the pause holds only the suspend, the sync check and
 * the resume that swaps the tables in; signals wait until the device runs
 * again, on one table or the other.  @expected, if given, is the table the
 * caller loaded: a device on another table is not switched.
 */
int cmd_switch_dev(const char *name, const struct device *expected, bool wait)
{
	struct device *d = calloc(1, sizeof(*d));
	struct table *t = calloc(1, sizeof(*t));
	struct lock lock = {.fd = -1};
	struct md_mark *m = NULL;
	int rc = EXIT_FAILED;
	sigset_t old;
	int prio;

	if (!d || !t || take_device(name, "switch", wait, &lock, d))
		goto out;
	if (!all_type(d, DM_VMOTION_TARGET)) {
		err("%s: not migrating (table is not vmotion)", name);
		goto out;
	}
	if (expected && !same_table(d, expected)) {
		err("%s: its table is not the one this vmotion loaded (another command changed it): not switching",
		    name);
		goto out;
	}
	rc = mirror_first(name, d);
	if (rc)
		goto out;
	rc = EXIT_FAILED;
	if (!in_sync(name, d, false) || !dest_answers(name, d) ||
	    !(m = md_marks(name, d)))
		goto out;
	linear_table(d, true, t);
	block_signals(&old);
	if (interrupted) {
		restore_signals(&old);
		err("%s: interrupted before the switch: left migrating", name);
		rc = EXIT_INTR;
		goto out;
	}
	/*
	 * Written (and synced) before the suspend: should the power fail
	 * once the device runs on its destination, the next boot must not
	 * start this migration again over the only current copy.
	 */
	if (record_state(name, d, REC_SWITCHING)) {
		restore_signals(&old);
		err("%s: cannot record the switch: not switching", name);
		goto out;
	}
	if (reload(name, t)) {
		err("%s: the kernel refused the linear table (see dmesg); left migrating", name);
		clear_inactive(name);
	} else {
		prio = critical_enter(name);
		if (!switch_suspended(name, d, t, m))
			rc = EXIT_DONE;
		critical_leave(prio);
	}
	/* a failed record of the end leaves "switching", which counts as switched */
	record_state(name, d, rc == EXIT_DONE ? REC_SWITCHED : REC_MIGRATING);
	restore_signals(&old);
	if (interrupted)
		err("%s: interrupted; the switch was not cut in the middle: the device runs on its %s table",
		    name, rc == EXIT_DONE ? "linear (destination)" : "vmotion");
out:
	release_device(&lock);
	free(m);
	free(t);
	free(d);
	return rc;
}

/*
 * Suspend, record the end in the metadata, resume onto the linear table
 * @t on the source (loaded, waiting).  Marked aborted while suspended:
 * from the resume on, writes go to the source alone, and a table naming
 * this metadata loaded later must not take its regions for copied.
 */
static int abort_suspended(const char *name, const struct device *d,
			   struct md_mark *m)
{
	if (suspend(name)) {
		err("%s: suspend failed: %s", name, dm_reason(errno));
		back_out(name, d);
		return -1;
	}
	if (mark(name, m, d->nr, DM_VMM_ABORTED)) {
		err("%s: not aborted: resumed on the vmotion table", name);
		back_out(name, d);
		return -1;
	}
	if (resume(name)) {
		err("%s: resume with the linear table failed (see dmesg); the old table stays",
		    name);
		unmark(name, m, d->nr, DM_VMM_ABORTED);
		back_out(name, d);
		return -1;
	}
	return 0;
}

static int cmd_abort_dev(const char *name, bool wait)
{
	struct device *d = calloc(1, sizeof(*d));
	struct table *t = calloc(1, sizeof(*t));
	struct lock lock = {.fd = -1};
	struct md_mark *m = NULL;
	int rc = EXIT_FAILED;
	sigset_t old;

	if (!d || !t || take_device(name, "abort", wait, &lock, d))
		goto out;
	if (!all_type(d, DM_VMOTION_TARGET)) {
		err("%s: not migrating (table is not vmotion)", name);
		goto out;
	}
	m = md_marks(name, d);
	if (!m)
		goto out;
	linear_table(d, false, t);
	block_signals(&old);
	if (reload(name, t)) {
		err("%s: the kernel refused the linear table (see dmesg); nothing changed",
		    name);
		clear_inactive(name);
	} else if (!abort_suspended(name, d, m)) {
		rc = EXIT_DONE;
	}
	restore_signals(&old);
	if (rc)
		goto out;
	record_state(name, d, REC_ABORTED);
	printf("%s: migration aborted; back to linear on the source\n", name);
out:
	release_device(&lock);
	free(m);
	free(t);
	free(d);
	return rc;
}

int cmd_switch(int argc, char **argv)
{
	char name[128];
	bool wait;
	int rc = one_device_opts(argc, argv, 0, name, sizeof(name), &wait);

	if (rc)
		return rc;
	return cmd_switch_dev(name, NULL, wait);
}

int cmd_abort(int argc, char **argv)
{
	char name[128];
	bool wait;
	int rc = one_device_opts(argc, argv, 0, name, sizeof(name), &wait);

	if (rc)
		return rc;
	return cmd_abort_dev(name, wait);
}
