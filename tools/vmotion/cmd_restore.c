// SPDX-License-Identifier: GPL-2.0-only
/*
 * restore: take up again, after a reboot or a crash, every migration the
 * records under /var/lib/vmotion say was in progress.  For each record
 * still "migrating": find its disks by their stable identity (device
 * numbers change across boots; the recorded path only when a disk had no
 * identity), check that the device-mapper device is there again, linear
 * on its recorded sources (as the operator's boot configuration rebuilds
 * it), and load the vmotion table again with the same metadata, which
 * must still hold the recorded migration: the kernel resumes where it
 * stopped.  Then follow each to its end and switch, unless --no-switch
 * (given now, or to the migrate that started it) or --no-wait.  A
 * switched record whose device was rebuilt on its old sources (the boot
 * configuration not yet changed) has the device pointed at the destination
 * again, if the metadata confirms the switch; one left at "switching" is
 * settled by the metadata (switch_outcome()), and without metadata is not
 * restored: the destination may hold the only current copy, and which disk
 * is the device's is for the operator to say.  Run at boot by
 * vmotion-restore.service.  The work is migrate's (migrate_start(),
 * migrate_finish()); there is no libdevmapper call here.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "commands.h"
#include "dm-vmotion.h"
#include "dm-vmotion-metadata-format.h"
#include "dm.h"
#include "metadata.h"
#include "state.h"
#include "toollib.h"
#include "util.h"

/* A migration loaded again, to follow once all are loaded */
struct restored {
	char name[128];
	bool no_switch;
	struct device *loaded;
};

struct restore_run {
	bool no_wait, no_switch;
	int failed;
	int nr;
	struct restored list[64];
};

/* A recorded segment: its place in the device and on the source */
struct rec_place {
	uint64_t start, len, src_off, dest_off;
};

/* The segments of the recorded table.  Their number, or -1. */
static int recorded_places(const struct record *r, struct rec_place *p)
{
	const char *line = r->table;
	int n = 0;

	while (*line && n < MAX_SEGMENTS) {
		unsigned long long start, len, off, dest_off;

		if (sscanf(line, "%llu %llu %*s %*s %llu %*s %llu", &start,
			   &len, &off, &dest_off) != 4)
			return -1;
		p[n++] = (struct rec_place){start, len, off, dest_off};
		line += strcspn(line, "\n");
		line += *line == '\n';
	}
	return n;
}

/* A recorded disk: found by identity, or "not present" (1). */
static int find_disk(const char *name, const char *what, const char *id,
		     const char *path, dev_t *dev, char *node, size_t size)
{
	if (!identity_device(id, path, dev, node, size))
		return 0;
	printf("%s: not restoring: its %s (%s%s%s) is not present\n", name,
	       what, *id ? id : path, *id && *path ? ", was " : "",
	       *id ? path : "");
	return 1;
}

/*
 * Each linear segment of @d is where the record says the migration took
 * it from.  If not, and @name, a message saying where it differs.
 */
static bool on_sources(const struct device *d, const struct rec_place *p,
		       const dev_t *src, const char *name)
{
	for (int i = 0; i < d->nr; i++) {
		const struct segment *s = &d->seg[i];

		if (s->start != p[i].start || s->len != p[i].len ||
		    s->src != src[i] || s->src_off != p[i].src_off) {
			if (name)
				err("%s: not restoring: segment %d is linear on %u:%u at %" PRIu64 " (sectors %" PRIu64 "+%" PRIu64 "), the migration was from %u:%u at %" PRIu64 " (sectors %" PRIu64 "+%" PRIu64 ")",
				    name, i, major(s->src), minor(s->src),
				    s->src_off, s->start, s->len,
				    major(src[i]), minor(src[i]), p[i].src_off,
				    p[i].start, p[i].len);
			return false;
		}
	}
	return true;
}

/*
 * The device runs linear on the recorded sources, segment by segment, as
 * migrate found it: 0; 1 if it is not there (yet) or migrating already,
 * with a line; -1 if it is something else, with a message.
 */
static int check_rebuilt(const struct record *r, const struct rec_place *p,
			 const dev_t *src, struct device *d)
{
	if (get_device(r->name, d, false)) {
		printf("%s: not restoring: the device is not there (its boot configuration makes it, linear on its source)\n",
		       r->name);
		return 1;
	}
	if (all_type(d, DM_VMOTION_TARGET)) {
		printf("%s: migrating already ('vmotion status %s'); nothing to restore\n",
		       r->name, r->name);
		return 1;
	}
	if (!all_type(d, "linear") || d->nr != r->nr) {
		err("%s: not restoring: its table is not the linear table of %d segment(s) that was migrating",
		    r->name, r->nr);
		return -1;
	}
	return on_sources(d, p, src, r->name) ? 0 : -1;
}

/*
 * The disks of @r, found, and the device checked: 0 with the metadata
 * areas in @a and the destination's node; 1 to skip; -1 failed.
 */
static int find_migration(const struct record *r, struct device *d,
			  char *dest, size_t size, struct md_area *a)
{
	struct rec_place *p = calloc(MAX_SEGMENTS, sizeof(*p));
	dev_t *src = calloc(MAX_SEGMENTS, sizeof(*src));
	char node[256];
	dev_t dev;
	int rc = -1;

	if (!p || !src) {
		err("%s: out of memory", r->name);
		goto out;
	}
	if (!r->region || !r->nr || recorded_places(r, p) != r->nr) {
		err("%s: not restoring: its record (%s/%s.state) does not say what restore needs (written by an older vmotion?)",
		    r->name, VMOTION_STATE_DIR, r->name);
		goto out;
	}
	rc = find_disk(r->name, "destination", r->dest_id, r->dest_path, &dev,
		       dest, size);
	for (int i = 0; !rc && i < r->nr; i++) {
		const struct rec_segment *s = &r->seg[i];

		rc = find_disk(r->name, "source", s->src_id, s->src_path,
			       &src[i], node, sizeof(node));
		if (rc || !s->md)
			continue;
		rc = find_disk(r->name, "metadata disk", s->md_id, s->md_path,
			       &a[i].dev, a[i].path, sizeof(a[i].path));
		a[i].offset = s->md_off;
		a[i].sectors = md_segment_sectors(p[i].len, r->region);
	}
	if (!rc)
		rc = check_rebuilt(r, p, src, d);
out:
	free(src);
	free(p);
	return rc;
}

static int settle_record(const struct record *r, const char *state);

/*
 * Writes the block device @dev completed since it was made (its I/O
 * statistics); unreadable counts as written.
 */
static unsigned long long writes_since_made(dev_t dev)
{
	unsigned long long rd, rd_merged, rd_sectors, rd_ms, wr = 1;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/stat", major(dev),
		 minor(dev));
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%llu %llu %llu %llu %llu", &rd, &rd_merged,
			   &rd_sectors, &rd_ms, &wr) != 5)
			wr = 1;
		fclose(f);
	}
	return wr;
}

/*
 * A switched migration whose device the boot configuration rebuilt linear
 * on its sources, as it was before the migration (the configuration not
 * yet changed, a power cut right after the switch): the sources lack
 * every write since the switch.  When every segment's metadata says this
 * migration switched, and nothing has the device open yet
 * (vmotion-restore.service runs before the local file systems), the device
 * is pointed at the destination again, as the switch left it.  When that
 * cannot be confirmed (no metadata, metadata saying otherwise, a disk
 * missing) the stale sources must not be served: the device gets an
 * "error" table, every I/O fails until the operator points it at the disk
 * that holds the data.  A device someone has open is refused and left as
 * it is.  Anything else (the device on its destination, not there,
 * another table, its sources gone) is what the operator made of it since:
 * nothing to do, and nothing said beyond a line.
 */
static void restore_switched(const struct record *r, struct restore_run *run)
{
	struct md_area *a = calloc(MAX_SEGMENTS, sizeof(*a));
	struct rec_place *p = calloc(MAX_SEGMENTS, sizeof(*p));
	dev_t *src = calloc(MAX_SEGMENTS, sizeof(*src));
	struct device *d = calloc(1, sizeof(*d));
	struct device *now = calloc(1, sizeof(*now));
	struct table *t = calloc(1, sizeof(*t));
	struct lock l = {.fd = -1};
	char node[256], dest[256], why[512] = "";
	dev_t dest_dev;

	if (!a || !p || !src || !d || !now || !t) {
		err("%s: out of memory", r->name);
		run->failed++;
		goto out;
	}
	/* the device as the stale configuration makes it: quietly, or not */
	if (!r->nr || !r->region || recorded_places(r, p) != r->nr ||
	    !device_exists(r->name))
		goto ended;
	for (int i = 0; i < r->nr; i++)
		if (identity_device(r->seg[i].src_id, r->seg[i].src_path,
				    &src[i], node, sizeof(node)))
			goto ended;
	if (get_device(r->name, d, false) || !all_type(d, "linear") ||
	    d->nr != r->nr || !on_sources(d, p, src, NULL))
		goto ended;

	if (take_device(r->name, "restore", true, &l, now))
		goto fail;
	if (!same_table(now, d)) {
		err("%s: its table changed while restore looked at it; left as it is",
		    r->name);
		goto fail;
	}
	if (now->open_count) {
		err("%s: switched to %s before the system went down, but it is linear on its source again, which lacks every write since, and it is in use (open %d times): left as it is; stop what uses it and point it at %s (vmotion(8), CRASH SAFETY)",
		    r->name, r->dest_path, now->open_count, r->dest_path);
		goto fail;
	}
	if (writes_since_made(now->dev)) {
		err("%s: switched to %s before the system went down, but it is linear on its source again, and has been written since it was made: the source and the destination each hold writes the other lacks; left as it is, for the operator (vmotion(8), CRASH SAFETY)",
		    r->name, r->dest_path);
		goto fail;
	}
	/* what says the destination holds the data */
	if (identity_device(r->dest_id, r->dest_path, &dest_dev, dest,
			    sizeof(dest)))
		snprintf(why, sizeof(why), "its destination (%s) is not present",
			 *r->dest_id ? r->dest_id : r->dest_path);
	for (int i = 0; !*why && i < r->nr; i++) {
		const struct rec_segment *s = &r->seg[i];
		uint8_t uuid[MD_UUID_LEN];
		struct md_header h;
		const char *bad = "";
		int st;

		if (!s->md) {
			snprintf(why, sizeof(why), "segment %d kept no metadata to confirm the switch", i);
			break;
		}
		if (md_uuid_parse(s->md_uuid, uuid)) {
			snprintf(why, sizeof(why), "segment %d's record does not name its migration (no uuid)", i);
			break;
		}
		if (identity_device(s->md_id, s->md_path, &a[i].dev, a[i].path,
				    sizeof(a[i].path))) {
			snprintf(why, sizeof(why), "segment %d's metadata disk (%s) is not present",
				 i, *s->md_id ? s->md_id : s->md_path);
			break;
		}
		st = md_read(a[i].path, s->md_off, &h, &bad);
		if (st || h.state != DM_VMM_SWITCHED ||
		    memcmp(uuid, h.uuid, sizeof(uuid)) ||
		    h.length != p[i].len || h.dest_offset != p[i].dest_off)
			snprintf(why, sizeof(why), "segment %d's metadata (%s:%" PRIu64 ") does not say that migration switched%s%s",
				 i, a[i].path, s->md_off,
				 st > 1 && *bad ? ": " : "", st > 1 ? bad : "");
	}
	/*
	 * A destination found by its path alone (it had no stable identity)
	 * may be another disk after a reboot: only a switched header on it
	 * says it is the one.
	 */
	if (!*why && !*r->dest_id) {
		bool on_dest = false;

		for (int i = 0; i < r->nr; i++)
			on_dest |= a[i].dev == dest_dev;
		if (!on_dest)
			snprintf(why, sizeof(why), "its destination (%s) has no stable identity and no metadata on it to tell it from another disk",
				 r->dest_path);
	}
	t->nr = now->nr;
	for (int i = 0; i < now->nr; i++) {
		t->start[i] = now->seg[i].start;
		t->len[i] = now->seg[i].len;
		if (*why)
			t->params[i][0] = 0;
		else
			snprintf(t->params[i], sizeof(t->params[i]),
				 "%u:%u %" PRIu64, major(dest_dev),
				 minor(dest_dev), p[i].dest_off);
	}
	if (*why) {
		/* the stale copy is not served, whatever comes next */
		t->type = "error";
		err("%s: switched to %s before the system went down, but it is linear on its source again, which lacks every write since, and %s: its table is now \"error\", every I/O fails, until it is pointed at the disk that holds the data (vmotion(8), CRASH SAFETY)",
		    r->name, r->dest_path, why);
		replace_table(r->name, t);
		goto fail;
	}
	t->type = "linear";
	if (replace_table(r->name, t))
		goto fail;
	release_device(&l);
	printf("%s: switched to %s before the system went down, and rebuilt linear on its source since, which lacks the writes made after the switch: pointed at %s again, as the switch left it; the boot configuration must name %s\n",
	       r->name, dest, dest, dest);
	if (strcmp(r->state, REC_SWITCHED))
		settle_record(r, REC_SWITCHED);
	goto out;
ended:
	printf("%s: its migration to %s ended (%s); nothing to restore\n",
	       r->name, r->dest_path, r->state);
	goto out;
fail:
	release_device(&l);
	run->failed++;
out:
	free(t);
	free(now);
	free(d);
	free(src);
	free(p);
	free(a);
}

/* @r's record, in state @state now.  0, or -1 with a message. */
static int settle_record(const struct record *r, const char *state)
{
	struct record *m = malloc(sizeof(*m));
	int rc;

	if (!m) {
		err("%s: out of memory", r->name);
		return -1;
	}
	*m = *r;
	snprintf(m->state, sizeof(m->state), "%s", state);
	m->changed = time(NULL);
	rc = record_write(m);
	free(m);
	return rc;
}

/*
 * A record left at "switching" (the tool stopped during the switch): the
 * switch marks every segment's header switched while the device is
 * suspended in sync, before the resume that moves it to the destination,
 * and puts them back to synced if it backs out.  So with metadata the
 * headers say what happened: 1 all switched (the destination holds the
 * data: from the mark on, the two sides were equal until the resume, and
 * only the destination got writes after it); 0 none (no resume happened:
 * the source holds the data and the migration is in sync); -1 no metadata,
 * or not all alike, or unreadable.
 */
static int switch_outcome(const struct record *r)
{
	int switched = 0;

	for (int i = 0; i < r->nr; i++) {
		const struct rec_segment *s = &r->seg[i];
		uint8_t uuid[MD_UUID_LEN];
		struct md_header h;
		const char *why;
		char node[256];
		dev_t dev;

		if (!s->md || md_uuid_parse(s->md_uuid, uuid) ||
		    identity_device(s->md_id, s->md_path, &dev, node,
				    sizeof(node)) ||
		    md_read(node, s->md_off, &h, &why) ||
		    memcmp(uuid, h.uuid, sizeof(uuid)))
			return -1;
		if (h.state == DM_VMM_SWITCHED)
			switched++;
		else if (h.state != DM_VMM_SYNCED)
			return -1;
	}
	return !r->nr ? -1 : switched == r->nr ? 1 : switched ? -1 : 0;
}

static void restore_one(const struct record *r, void *arg);

/*
 * A switch that was not made: the record goes back to "migrating" (as the
 * switch itself does when it backs out), and the migration is restored.
 * Under the device's lock, with the record and the metadata read again: a
 * switch running meanwhile (restore run by hand) has its own say.
 */
static void restore_unswitched(const struct record *r, struct restore_run *run)
{
	struct record *m = malloc(sizeof(*m));
	struct device *d = calloc(1, sizeof(*d));
	struct lock l = {.fd = -1};

	if (!m || !d) {
		err("%s: out of memory", r->name);
		run->failed++;
		goto out;
	}
	if (take_device(r->name, "restore", true, &l, d) ||
	    record_read(r->name, m) || strcmp(m->state, REC_SWITCHING) ||
	    switch_outcome(m)) {
		err("%s: its record or metadata changed while restore looked at them; not restored",
		    r->name);
		release_device(&l);
		run->failed++;
		goto out;
	}
	snprintf(m->state, sizeof(m->state), REC_MIGRATING);
	m->changed = time(NULL);
	if (record_write(m)) {
		release_device(&l);
		run->failed++;
		goto out;
	}
	release_device(&l);
	restore_one(m, run);
out:
	free(d);
	free(m);
}

/* One record: load its migration again if it was in progress. */
static void restore_one(const struct record *r, void *arg)
{
	struct restore_run *run = arg;
	struct migrate_opts o = {0};
	struct md_area *a = calloc(MAX_SEGMENTS, sizeof(*a));
	struct device *d = calloc(1, sizeof(*d));
	struct restored *done;
	char dest[256];
	int rc;

	if (!strcmp(r->state, REC_SWITCHING)) {
		switch (switch_outcome(r)) {
		case 1:
			printf("%s: was switching to %s when the system went down; its metadata says the switch was made\n",
			       r->name, r->dest_path);
			restore_switched(r, run);
			break;
		case 0:
			printf("%s: was switching to %s when the system went down; its metadata says the switch was not made: the migration is restored\n",
			       r->name, r->dest_path);
			restore_unswitched(r, run);
			break;
		default:
			err("%s: not restoring: its record says it was switching to %s (%s) when it stopped, and no metadata says whether it switched: that disk may hold the only current copy of the data; point the device at the disk that holds it (vmotion(8), RESTORE)",
			    r->name, r->dest_path,
			    *r->dest_id ? r->dest_id : "no identity");
			run->failed++;
		}
		goto out;
	}
	if (!strcmp(r->state, REC_SWITCHED)) {
		restore_switched(r, run);
		goto out;
	}
	if (strcmp(r->state, REC_MIGRATING)) {
		printf("%s: its migration to %s ended (%s); nothing to restore\n",
		       r->name, r->dest_path, r->state);
		goto out;
	}
	if (!a || !d) {
		err("%s: out of memory", r->name);
		run->failed++;
		goto out;
	}
	rc = find_migration(r, d, dest, sizeof(dest), a);
	if (rc) {
		run->failed += rc < 0;
		goto out;
	}
	if (run->nr == (int)(sizeof(run->list) / sizeof(run->list[0]))) {
		err("%s: not restoring: more than %d migrations at once", r->name,
		    run->nr);
		run->failed++;
		goto out;
	}
	o.region_kib = r->region / 2;
	o.rate_kib = r->rate_kib;
	if (*r->mode)
		o.mode = r->mode;
	o.no_switch = r->no_switch || run->no_switch;
	o.restore = r;
	o.areas = a;
	o.wait_lock = true;
	for (int i = 0; i < r->nr; i++)
		if (!a[i].dev)
			printf("%s: segment %d kept no metadata: it is copied again from the start\n",
			       r->name, i);
	if (migrate_start(r->name, dest, &o, d)) {
		err("%s: not restored", r->name);
		run->failed++;
		goto out;
	}
	done = &run->list[run->nr++];
	snprintf(done->name, sizeof(done->name), "%s", r->name);
	done->no_switch = o.no_switch;
	done->loaded = d;
	d = NULL;
out:
	free(d);
	free(a);
}

static int parse_options(int argc, char **argv, struct restore_run *run)
{
	static const struct option opts[] = {
		{"no-wait", no_argument, NULL, 'W'},
		{"no-switch", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		switch (c) {
		case 'W':
			run->no_wait = true;
			break;
		case 'n':
			run->no_switch = true;
			break;
		case 'h':
			command_usage(stdout);
			exit(EXIT_DONE);
		default:
			command_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		command_usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

int cmd_restore(int argc, char **argv)
{
	struct restore_run *run = calloc(1, sizeof(*run));
	struct record *r = calloc(1, sizeof(*r));
	int rc = EXIT_FAILED;

	if (!run || !r) {
		err("out of memory");
		goto out;
	}
	rc = parse_options(argc, argv, run);
	if (rc)
		goto out;
	rc = EXIT_FAILED;
	if (check_target() || for_each_record(r, restore_one, run)) {
		notify_ready();
		goto out;
	}
	/* every table is loaded: the boot may go on (vmotion-restore.service) */
	notify_ready();
	for (int i = 0; i < run->nr; i++) {
		struct restored *m = &run->list[i];

		if (run->no_wait)
			printf("%s: restored; 'vmotion status %s' follows it\n",
			       m->name, m->name);
		else if (migrate_finish(m->name, m->no_switch, m->loaded))
			run->failed++;
	}
	rc = run->failed ? EXIT_FAILED : EXIT_DONE;
out:
	for (int i = 0; run && i < run->nr; i++)
		free(run->list[i].loaded);
	free(r);
	free(run);
	return rc;
}
