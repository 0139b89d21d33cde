// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm: everything the vmotion tool asks of device-mapper, through
 * libdevmapper and nowhere else.  It reads a device's table (live or
 * inactive), and for vmotion segments their status, into struct device (the
 * linear and vmotion table and status lines of dm-vmotion.h are parsed here
 * and only here), lists devices, tells which manager owns a device from its
 * UUID, reads the vmotion target's version, builds the linear table that
 * ends a migration, and reloads, suspends, resumes, replaces a table, sends
 * target messages and waits for events.  A failed call is reported with the
 * kernel's reason (dm_reason()), not a guess.  It knows nothing of what a migration's progress means, of the
 * destination disk's contents, of the migrations config or of the command
 * line; its messages name the device and what device-mapper refused.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "dm-vmotion.h"
#include "dm.h"
#include "util.h"

/* libdevmapper's own messages: the tool reports what failed, once. */
static void quiet(int level, const char *file, int line, int dm_errno_or_class,
		  const char *f, ...)
{
	(void)level, (void)file, (void)line, (void)dm_errno_or_class, (void)f;
}

/*
 * Names go to the kernel as they came from it or from the operator: no
 * mangling, so that a device whose name has odd bytes is found.
 */
void init_dm(void)
{
	dm_log_with_errno_init(quiet);
	dm_set_name_mangling_mode(DM_STRING_MANGLING_NONE);
}

/* Why a device-mapper call failed, from its errno, in an operator's words. */
const char *dm_reason(int e)
{
	switch (e) {
	case ENXIO:
		return "no such device-mapper device";
	case EPERM:
	case EACCES:
		return "permission denied (device-mapper needs root)";
	case ENOENT:
	case ENODEV:
		return "device-mapper is not available (modprobe dm-mod)";
	case EBUSY:
		return "device busy";
	case EINVAL:
		return "refused by the kernel (see dmesg)";
	case 0:
		return "device-mapper call failed";
	default:
		return strerror(e);
	}
}

/* Run @dmt; on failure, errno as the kernel (or libdevmapper) set it. */
static bool run(struct dm_task *dmt)
{
	if (dm_task_run(dmt))
		return true;
	errno = dm_task_get_errno(dmt) ? dm_task_get_errno(dmt) : errno;
	return false;
}

/* A task; NULL with errno set (no /dev/mapper/control, no permission). */
static struct dm_task *task(int type, const char *name)
{
	struct dm_task *dmt;

	errno = 0;
	dmt = dm_task_create(type);
	if (!dmt) {
		errno = errno ? errno : ENODEV;
		return NULL;
	}
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
	dmt = task(DM_DEVICE_INFO, NULL);
	if (!dmt) {
		err("%s: %s", arg, dm_reason(errno));
		return -1;
	}
	if (!dm_task_set_major(dmt, major(st.st_rdev)) ||
	    !dm_task_set_minor(dmt, minor(st.st_rdev)) || !run(dmt)) {
		err("%s: %s", arg, dm_reason(errno));
		dm_task_destroy(dmt);
		return -1;
	}
	if (dm_task_get_info(dmt, &info) && info.exists) {
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

/* The "metadata <dev> <offset>" of a vmotion segment's features, if any. */
static int parse_metadata(struct segment *s)
{
	char f[sizeof(s->features)], *save = NULL, *tok, *dev, *off;
	unsigned long long o;

	snprintf(f, sizeof(f), "%s", s->features);
	for (tok = strtok_r(f, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (strcmp(tok, DM_VMOTION_FEAT_METADATA))
			continue;
		dev = strtok_r(NULL, " ", &save);
		off = strtok_r(NULL, " ", &save);
		if (!dev || !off || sscanf(off, "%llu", &o) != 1 ||
		    parse_dev_t(dev, &s->md_dev))
			return -1;
		s->md_off = o;
	}
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
	return parse_metadata(s);
}

static int parse_vmotion_status(struct segment *s, const char *params)
{
	unsigned long long synced, total, copied, held = 0;
	unsigned long long intents = 0, writes = 0, recorded = 0, zero = 0;
	unsigned long long redirtied = 0, pass = 0;
	unsigned int region;

	/*
	 * held writes, the ninth field, and any added later are optional
	 * (an older module prints fewer)
	 */
	snprintf(s->paused_by, sizeof(s->paused_by), DM_VMOTION_PAUSED_BY_NONE);
	snprintf(s->md_state, sizeof(s->md_state), DM_VMOTION_MD_NONE);
	s->mode[0] = s->mode_in_force[0] = 0;
	if (sscanf(params, "%llu/%llu %u %15s %u %llu %u %u %llu %7s %7s %llu %llu %llu %llu %7s %7s %llu %llu",
		   &synced, &total, &region, s->state, &s->rate, &copied,
		   &s->dest_errors, &s->source_errors, &held, s->paused_by,
		   s->md_state, &intents, &writes, &recorded, &zero, s->mode,
		   s->mode_in_force, &redirtied, &pass) < 8)
		return -1;
	s->redirtied = redirtied;
	s->pass = pass;
	s->zero_kib = zero;
	s->held_writes = held;
	s->md_intents = intents;
	s->md_writes = writes;
	s->md_recorded = recorded;
	s->synced = synced;
	s->total = total;
	s->copied_kib = copied;
	return 0;
}

/*
 * Read a device's table (and, for vmotion segments, status).  Returns -1
 * with a message if it does not exist or cannot be read.
 */
static int read_device(const char *name, struct device *d, bool with_status,
		       bool inactive)
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
		if (!dmt) {
			err("%s: %s", name, dm_reason(errno));
			return -1;
		}
		/* status must not wait for I/O to drain */
		if (pass)
			dm_task_no_flush(dmt);
		if (inactive && !dm_task_query_inactive_table(dmt)) {
			dm_task_destroy(dmt);
			return -1;
		}
		if (!run(dmt)) {
			err("%s: %s", name, dm_reason(errno));
			goto out;
		}
		if (!dm_task_get_info(dmt, &info) || !info.exists) {
			err("%s: no such device-mapper device", name);
			goto out;
		}
		d->dev = makedev(info.major, info.minor);
		d->event_nr = info.event_nr;
		d->suspended = info.suspended;
		d->inactive = info.inactive_table;
		d->open_count = info.open_count;
		if (dm_task_get_uuid(dmt))
			snprintf(d->uuid, sizeof(d->uuid), "%s", dm_task_get_uuid(dmt));
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

/* Whether a device-mapper device @name exists; no message either way. */
bool device_exists(const char *name)
{
	struct dm_task *dmt = task(DM_DEVICE_INFO, name);
	struct dm_info info;
	bool there = dmt && run(dmt) && dm_task_get_info(dmt, &info) &&
		     info.exists;

	if (dmt)
		dm_task_destroy(dmt);
	return there;
}

int get_device(const char *name, struct device *d, bool with_status)
{
	return read_device(name, d, with_status, false);
}

/* The inactive table of a device (none: d->nr is 0), without status. */
int get_inactive(const char *name, struct device *d)
{
	return read_device(name, d, false, true);
}

uint64_t device_sectors(const struct device *d)
{
	uint64_t len = 0;

	for (int i = 0; i < d->nr; i++)
		len += d->seg[i].len;
	return len;
}

/* The same segments, targets and devices (not the status). */
bool same_table(const struct device *a, const struct device *b)
{
	if (a->nr != b->nr || a->dev != b->dev)
		return false;
	for (int i = 0; i < a->nr; i++) {
		const struct segment *x = &a->seg[i], *y = &b->seg[i];

		if (x->start != y->start || x->len != y->len ||
		    strcmp(x->type, y->type) || x->src != y->src ||
		    x->src_off != y->src_off || x->dest != y->dest ||
		    x->dest_off != y->dest_off || x->region != y->region ||
		    x->md_dev != y->md_dev || x->md_off != y->md_off)
			return false;
	}
	return true;
}

/* Is @d's table the linear table @t (as linear_table() builds them)? */
bool table_is(const struct device *d, const struct table *t)
{
	if (d->nr != t->nr)
		return false;
	for (int i = 0; i < d->nr; i++) {
		char params[64];

		if (strcmp(d->seg[i].type, t->type) ||
		    d->seg[i].start != t->start[i] || d->seg[i].len != t->len[i])
			return false;
		snprintf(params, sizeof(params), "%u:%u %" PRIu64,
			 major(d->seg[i].src), minor(d->seg[i].src),
			 d->seg[i].src_off);
		if (strcmp(params, t->params[i]))
			return false;
	}
	return true;
}

/*
 * The manager that owns a device, from its dm UUID, or NULL: it would
 * rebuild the device's old table from its own metadata (lvchange
 * --refresh, lvextend, activation at boot) and undo a move behind its back.
 */
const char *managed_by(const char *uuid)
{
	static const struct {
		const char *prefix;
		const char *manager;
	} owners[] = {
		{"LVM-", "LVM"},
		{"mpath-", "multipath"},
		{"stratis-", "Stratis"},
		{"DMRAID-", "dmraid"},
		{"CRYPT-", "cryptsetup"},
		{"VDO-", "VDO"},
	};

	/* kpartx: part1-..., part2-..., one per partition */
	if (!strncmp(uuid, "part", 4) && uuid[4] >= '0' && uuid[4] <= '9')
		return "kpartx";
	for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++)
		if (!strncmp(uuid, owners[i].prefix, strlen(owners[i].prefix)))
			return owners[i].manager;
	return NULL;
}

/* The vmotion target's version, if the kernel has it registered. */
int target_version(uint32_t version[3])
{
	struct dm_task *dmt = task(DM_DEVICE_LIST_VERSIONS, NULL);
	struct dm_versions *v, *last;
	int r = -1;

	if (!dmt || !run(dmt) || !(v = dm_task_get_versions(dmt)))
		goto out;
	do {
		last = v;
		if (!strcmp(v->name, DM_VMOTION_TARGET)) {
			memcpy(version, v->version, sizeof(v->version));
			r = 0;
			break;
		}
		v = (struct dm_versions *)((char *)v + v->next);
	} while (last != v);
out:
	if (dmt)
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

	if (!dmt || !run(dmt) || !(names = dm_task_get_names(dmt))) {
		err("cannot list device-mapper devices: %s", dm_reason(errno));
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

/* The vmotion table @d was read with, to load again. */
void device_table(const struct device *d, struct table *t)
{
	t->type = DM_VMOTION_TARGET;
	t->nr = d->nr;
	for (int i = 0; i < d->nr; i++) {
		const struct segment *s = &d->seg[i];

		t->start[i] = s->start;
		t->len[i] = s->len;
		snprintf(t->params[i], sizeof(t->params[i]),
			 "%u:%u %" PRIu64 " %u:%u %" PRIu64 " %u%s",
			 major(s->src), minor(s->src), s->src_off, major(s->dest),
			 minor(s->dest), s->dest_off, s->region, s->features);
	}
}

int clear_inactive(const char *name)
{
	struct dm_task *dmt = task(DM_DEVICE_CLEAR, name);
	int ok = dmt && run(dmt);

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
	ok = dm_task_set_cookie(dmt, &cookie, 0) && run(dmt);
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
	int ok = dmt && dm_task_skip_lockfs(dmt) && run(dmt);

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
	ok = ok && run(dmt);
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
		 dm_task_set_message(dmt, msg) && run(dmt);

	if (dmt)
		dm_task_destroy(dmt);
	return ok ? 0 : -1;
}

/* Block until the device's event counter passes @event_nr. */
int wait_event(const char *name, uint32_t event_nr)
{
	struct dm_task *dmt = task(DM_DEVICE_WAITEVENT, name);
	int ok = dmt && dm_task_set_event_nr(dmt, event_nr) && run(dmt);

	if (dmt)
		dm_task_destroy(dmt);
	return ok ? 0 : -1;
}

/*
 * The one target of the device @dev: its type and parameters (table or
 * status).  1 if @dev is a dm device with exactly one target, from sector
 * 0; 0 if not; -1 if it cannot be read.
 */
static int one_target(dev_t dev, int type, char *ttype, size_t tsize,
		      char *params, size_t psize)
{
	uint64_t start, len;
	char *t = NULL, *p = NULL;
	struct dm_task *dmt;
	struct dm_info info;
	void *next;
	int r = -1;

	dmt = task(type, NULL);
	if (!dmt)
		return -1;
	if (type == DM_DEVICE_STATUS)
		dm_task_no_flush(dmt);
	if (!dm_task_set_major(dmt, major(dev)) ||
	    !dm_task_set_minor(dmt, minor(dev)))
		goto out;
	if (!run(dmt)) {
		/* not a device-mapper device */
		if (errno == ENXIO)
			r = 0;
		goto out;
	}
	r = 0;
	if (!dm_task_get_info(dmt, &info) || !info.exists)
		goto out;
	next = dm_get_next_target(dmt, NULL, &start, &len, &t, &p);
	if (next || !t || start)
		goto out;
	snprintf(ttype, tsize, "%s", t);
	snprintf(params, psize, "%s", p ? p : "");
	r = 1;
out:
	dm_task_destroy(dmt);
	return r;
}

int thin_info(dev_t dev, struct thin *t)
{
	char type[32], params[512], pool[64], meta[64], data[64];
	unsigned long long id, sectors, block;
	unsigned int ma, mi;
	int n = 0, r;

	memset(t, 0, sizeof(*t));
	r = one_target(dev, DM_DEVICE_TABLE, type, sizeof(type), params,
		       sizeof(params));
	if (r <= 0 || strcmp(type, "thin"))
		return r < 0 ? -1 : 0;
	/* <pool dev> <dev id> [<external origin dev>] */
	if (sscanf(params, "%63s %llu%n", pool, &id, &n) != 2 ||
	    sscanf(pool, "%u:%u", &ma, &mi) != 2)
		return -1;
	t->external_origin = strspn(params + n, " ") < strlen(params + n);
	if (one_target(makedev(ma, mi), DM_DEVICE_TABLE, type, sizeof(type),
		       params, sizeof(params)) != 1 || strcmp(type, "thin-pool") ||
	    sscanf(params, "%63s %63s %llu", meta, data, &block) != 3)
		return -1;
	t->block = block;
	t->no_zeroing = strstr(params, " skip_block_zeroing") != NULL;
	t->no_discard = strstr(params, " ignore_discard") != NULL;
	if (one_target(dev, DM_DEVICE_STATUS, type, sizeof(type), params,
		       sizeof(params)) != 1 || sscanf(params, "%llu", &sectors) != 1)
		return -1;
	t->mapped = sectors;
	return 1;
}
