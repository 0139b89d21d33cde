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
 * (given now, or to the migrate that started it) or --no-wait.  A record
 * left at "switching" is not restored: the destination may hold the only
 * current copy, and which disk is the device's is for the operator to
 * say.  Run at boot by vmotion-restore.service.  The work is migrate's
 * (migrate_start(), migrate_finish()); there is no libdevmapper call here.
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
#include <sys/sysmacros.h>

#include "commands.h"
#include "dm-vmotion.h"
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
	uint64_t start, len, src_off;
};

/* The segments of the recorded table.  Their number, or -1. */
static int recorded_places(const struct record *r, struct rec_place *p)
{
	const char *line = r->table;
	int n = 0;

	while (*line && n < MAX_SEGMENTS) {
		unsigned long long start, len, off;

		if (sscanf(line, "%llu %llu %*s %*s %llu", &start, &len,
			   &off) != 3)
			return -1;
		p[n++] = (struct rec_place){start, len, off};
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
	for (int i = 0; i < d->nr; i++) {
		const struct segment *s = &d->seg[i];

		if (s->start != p[i].start || s->len != p[i].len ||
		    s->src != src[i] || s->src_off != p[i].src_off) {
			err("%s: not restoring: segment %d is linear on %u:%u at %" PRIu64 " (sectors %" PRIu64 "+%" PRIu64 "), the migration was from %u:%u at %" PRIu64 " (sectors %" PRIu64 "+%" PRIu64 ")",
			    r->name, i, major(s->src), minor(s->src), s->src_off,
			    s->start, s->len, major(src[i]), minor(src[i]),
			    p[i].src_off, p[i].start, p[i].len);
			return -1;
		}
	}
	return 0;
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
		err("%s: not restoring: its record says it was switching to %s (%s) when it stopped: that disk may hold the only current copy of the data; point the device at the disk that holds it (vmotion(8), RESTORE)",
		    r->name, r->dest_path, *r->dest_id ? r->dest_id : "no identity");
		run->failed++;
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
