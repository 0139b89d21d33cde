// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm: everything the vmotion tool asks of device-mapper, through
 * libdevmapper and nowhere else.  It reads a device's table, and for vmotion
 * segments their status, into struct device (the linear and vmotion table
 * and status lines of dm-vmotion.h are parsed here and only here), lists
 * devices, builds the linear table that ends a migration, and reloads,
 * suspends, resumes, replaces a table, sends target messages and waits for
 * events.  It knows nothing of what a migration's progress means, of the
 * destination disk's contents, of the migrations config or of the command
 * line; its messages name the device and what device-mapper refused.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <libdevmapper.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "dm-vmotion.h"
#include "dm.h"
#include "util.h"

/* libdevmapper logs nothing of its own: the tool reports what failed. */
void init_dm(void)
{
	dm_log_init_verbose(0);
}

static struct dm_task *task(int type, const char *name)
{
	struct dm_task *dmt = dm_task_create(type);

	if (!dmt)
		return NULL;
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

/* A dm name, /dev/mapper/NAME or /dev/dm-N: the dm name. */
int resolve(const char *arg, char *name, size_t size)
{
	struct dm_task *dmt;
	struct dm_info info;
	struct stat st;
	const char *n;
	int ok = -1;

	if (!strchr(arg, '/')) {
		snprintf(name, size, "%s", arg);
		return 0;
	}
	if (stat(arg, &st) || !S_ISBLK(st.st_mode)) {
		err("%s: not a block device", arg);
		return -1;
	}
	dmt = dm_task_create(DM_DEVICE_INFO);
	if (!dmt)
		return -1;
	if (dm_task_set_major(dmt, major(st.st_rdev)) &&
	    dm_task_set_minor(dmt, minor(st.st_rdev)) && dm_task_run(dmt) &&
	    dm_task_get_info(dmt, &info) && info.exists) {
		n = dm_task_get_name(dmt);
		if (n) {
			snprintf(name, size, "%s", n);
			ok = 0;
		}
	}
	if (ok)
		err("%s: not a device-mapper device", arg);
	dm_task_destroy(dmt);
	return ok;
}

static int parse_linear(struct segment *s, const char *params)
{
	char dev[64];
	unsigned long long off;

	if (sscanf(params, "%63s %llu", dev, &off) != 2 || parse_dev_t(dev, &s->src))
		return -1;
	s->src_off = off;
	return 0;
}

static int parse_vmotion_table(struct segment *s, const char *params)
{
	char src[64], dest[64];
	unsigned long long so, dof;
	int n = 0;

	if (sscanf(params, "%63s %llu %63s %llu %u%n", src, &so, dest, &dof,
		   &s->region, &n) != 5 ||
	    parse_dev_t(src, &s->src) || parse_dev_t(dest, &s->dest))
		return -1;
	s->src_off = so;
	s->dest_off = dof;
	snprintf(s->features, sizeof(s->features), "%s", params + n);
	return 0;
}

static int parse_vmotion_status(struct segment *s, const char *params)
{
	unsigned long long synced, total, copied, held = 0;
	unsigned int region;

	/* held writes, the ninth field, and any added later are optional */
	snprintf(s->paused_by, sizeof(s->paused_by), DM_VMOTION_PAUSED_BY_NONE);
	if (sscanf(params, "%llu/%llu %u %15s %u %llu %u %u %llu %7s", &synced,
		   &total, &region, s->state, &s->rate, &copied,
		   &s->dest_errors, &s->source_errors, &held, s->paused_by) < 8)
		return -1;
	s->held_writes = held;
	s->synced = synced;
	s->total = total;
	s->copied_kib = copied;
	return 0;
}

/*
 * Read a device's table (and, for vmotion segments, status).  Returns -1
 * with a message if it does not exist or cannot be read.
 */
int get_device(const char *name, struct device *d, bool with_status)
{
	struct dm_task *dmt;
	struct dm_info info;
	uint64_t start, len;
	char *type, *params;
	void *next = NULL;
	int pass, r = -1;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);

	for (pass = 0; pass < (with_status ? 2 : 1); pass++) {
		dmt = task(pass ? DM_DEVICE_STATUS : DM_DEVICE_TABLE, name);
		if (!dmt)
			return -1;
		/* status must not wait for I/O to drain */
		if (pass)
			dm_task_no_flush(dmt);
		if (!dm_task_run(dmt) || !dm_task_get_info(dmt, &info) ||
		    !info.exists) {
			err("%s: no such device-mapper device", name);
			goto out;
		}
		d->dev = makedev(info.major, info.minor);
		d->event_nr = info.event_nr;
		d->suspended = info.suspended;
		next = NULL;
		d->nr = pass ? d->nr : 0;
		for (int i = 0;; i++) {
			struct segment *s;

			next = dm_get_next_target(dmt, next, &start, &len, &type,
						  &params);
			if (!type)
				break;
			if (i >= MAX_SEGMENTS) {
				err("%s: more than %d segments", name, MAX_SEGMENTS);
				goto out;
			}
			s = &d->seg[i];
			if (!pass) {
				s->start = start;
				s->len = len;
				snprintf(s->type, sizeof(s->type), "%s", type);
				if (!strcmp(type, "linear") && parse_linear(s, params))
					goto bad;
				if (!strcmp(type, DM_VMOTION_TARGET) &&
				    parse_vmotion_table(s, params))
					goto bad;
				d->nr = i + 1;
			} else if (!strcmp(type, DM_VMOTION_TARGET) &&
				   parse_vmotion_status(s, params)) {
				goto bad;
			}
			if (!next)
				break;
			continue;
bad:
			err("%s: cannot parse %s segment at %" PRIu64 ": '%s'",
			    name, type, start, params);
			goto out;
		}
		dm_task_destroy(dmt);
		dmt = NULL;
	}
	return 0;
out:
	dm_task_destroy(dmt);
	return r;
}

bool all_type(const struct device *d, const char *type)
{
	if (!d->nr)
		return false;
	for (int i = 0; i < d->nr; i++)
		if (strcmp(d->seg[i].type, type))
			return false;
	return true;
}

/* Read a device that must be migrating (all vmotion), status if asked. */
int get_migrating(const char *name, struct device *d, bool with_status)
{
	if (get_device(name, d, with_status))
		return -1;
	if (!all_type(d, DM_VMOTION_TARGET)) {
		err("%s: not migrating (table is not vmotion)", name);
		return -1;
	}
	return 0;
}

/* Call @fn for every device-mapper device.  -1 if they cannot be listed. */
int for_each_device(void (*fn)(const char *name, void *arg), void *arg)
{
	struct dm_task *dmt = task(DM_DEVICE_LIST, NULL);
	struct dm_names *names;
	unsigned int next = 0;
	int r = 0;

	if (!dmt || !dm_task_run(dmt) || !(names = dm_task_get_names(dmt))) {
		err("cannot list device-mapper devices");
		r = -1;
	} else if (names->dev) {
		do {
			names = (struct dm_names *)((char *)names + next);
			fn(names->name, arg);
			next = names->next;
		} while (next);
	}
	if (dmt)
		dm_task_destroy(dmt);
	return r;
}

/* The linear table of a vmotion device: onto the destination or the source. */
void linear_table(const struct device *d, bool to_dest, struct table *t)
{
	t->type = "linear";
	t->nr = d->nr;
	for (int i = 0; i < d->nr; i++) {
		const struct segment *s = &d->seg[i];
		dev_t dev = to_dest ? s->dest : s->src;

		t->start[i] = s->start;
		t->len[i] = s->len;
		snprintf(t->params[i], sizeof(t->params[i]), "%u:%u %" PRIu64,
			 major(dev), minor(dev), to_dest ? s->dest_off : s->src_off);
	}
}

int clear_inactive(const char *name)
{
	struct dm_task *dmt = task(DM_DEVICE_CLEAR, name);
	int ok = dmt && dm_task_run(dmt);

	if (dmt)
		dm_task_destroy(dmt);
	return ok ? 0 : -1;
}

/*
 * Resume, then wait for udev to have processed the change.  *@resumed_at,
 * if given, is when I/O flowed again: the end of the ioctl, before udev.
 */
int resume_at(const char *name, double *resumed_at)
{
	struct dm_task *dmt = task(DM_DEVICE_RESUME, name);
	uint32_t cookie = 0;
	int ok;

	if (!dmt)
		return -1;
	ok = dm_task_set_cookie(dmt, &cookie, 0) && dm_task_run(dmt);
	if (resumed_at)
		*resumed_at = now();
	dm_udev_wait(cookie);
	dm_task_destroy(dmt);
	return ok ? 0 : -1;
}

int resume(const char *name)
{
	return resume_at(name, NULL);
}

/*
 * Suspend, waiting for I/O in flight (flush) but without freezing a
 * filesystem on top: the data does not move, only its mapping, so there is
 * nothing a freeze would protect and the pause stays short.
 */
int suspend(const char *name)
{
	struct dm_task *dmt = task(DM_DEVICE_SUSPEND, name);
	int ok = dmt && dm_task_skip_lockfs(dmt) && dm_task_run(dmt);

	if (dmt)
		dm_task_destroy(dmt);
	return ok ? 0 : -1;
}

int reload(const char *name, const struct table *t)
{
	struct dm_task *dmt = task(DM_DEVICE_RELOAD, name);
	int ok = !!dmt;

	for (int i = 0; ok && i < t->nr; i++)
		ok = dm_task_add_target(dmt, t->start[i], t->len[i], t->type,
					t->params[i]);
	ok = ok && dm_task_run(dmt);
	if (dmt)
		dm_task_destroy(dmt);
	return ok ? 0 : -1;
}

/*
 * Replace the live table with @t: reload, then resume.  If the resume
 * fails, the old table is put back.  Atomic for the application: the
 * device is suspended only between the two.
 */
int replace_table(const char *name, const struct table *t)
{
	if (reload(name, t)) {
		err("%s: the kernel refused the %s table (see dmesg); nothing changed",
		    name, t->type);
		return -1;
	}
	if (resume(name)) {
		err("%s: resume with the %s table failed (see dmesg); the old table stays",
		    name, t->type);
		clear_inactive(name);
		resume(name);
		return -1;
	}
	return 0;
}

int message(const char *name, uint64_t sector, const char *msg)
{
	struct dm_task *dmt = task(DM_DEVICE_TARGET_MSG, name);
	int ok = dmt && dm_task_set_sector(dmt, sector) &&
		 dm_task_set_message(dmt, msg) && dm_task_run(dmt);

	if (dmt)
		dm_task_destroy(dmt);
	return ok ? 0 : -1;
}

/* Block until the device's event counter passes @event_nr. */
int wait_event(const char *name, uint32_t event_nr)
{
	struct dm_task *dmt = task(DM_DEVICE_WAITEVENT, name);
	int ok = dmt && dm_task_set_event_nr(dmt, event_nr) && dm_task_run(dmt);

	if (dmt)
		dm_task_destroy(dmt);
	return ok ? 0 : -1;
}
