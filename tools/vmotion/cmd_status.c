// SPDX-License-Identifier: GPL-2.0-only
/*
 * status, wait: what the migrations are doing.  status prints a line per
 * migrating device, every one of them if none is named, or a JSON document
 * with --json (json.c); wait follows one migration to its end, without a
 * display, and its exit status says how it ended.  Devices are read through
 * dm.c, their progress summed by progress.c; there is no libdevmapper call
 * here.
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

#include "commands.h"
#include "dm-vmotion.h"
#include "dm.h"
#include "json.h"
#include "progress.h"
#include "state.h"
#include "util.h"

/* One device's status: a line, or its JSON object. */
static void print_status(const struct device *d, bool json, bool first)
{
	struct progress p;
	char copied[32], zero[32];
	char rate[32] = "unlimited";
	long left;

	if (json) {
		json_status(d, first);
		return;
	}
	progress_of(d, &p);
	left = eta(&p, p.rate * 1024.0);
	if (p.rate)
		snprintf(rate, sizeof(rate), "%" PRIu64 " KiB/s", p.rate);
	human(p.copied_kib * 1024.0, copied, sizeof(copied));
	printf("%s: %s%s %.1f%% (%" PRIu64 "/%" PRIu64 " regions), rate %s, copied %s, errors dest %u source %u",
	       d->name, p.state, p.error_paused ? " (error)" : "",
	       percent(&p), p.synced, p.total, rate,
	       copied, p.dest_errors, p.source_errors);
	if (p.md)
		printf(", metadata %s (%" PRIu64 " regions recorded in sync)",
		       p.md, p.md_recorded);
	if (p.zero_kib) {
		human(p.zero_kib * 1024.0, zero, sizeof(zero));
		printf(", zeroes not written %s", zero);
	}
	if (strcmp(p.mode, DM_VMOTION_MODE_MIRROR) || p.redirtied)
		printf(", mode %s (%s), pass %" PRIu64 ", %" PRIu64 " regions dirtied again",
		       p.mode, p.tracking ? "tracking" : "mirroring", p.pass,
		       p.redirtied);
	/* last, where scripts written before the metadata found it */
	if (left > 0)
		printf(", ETA %lds", left);
	putchar('\n');
}

/* The devices being listed, for status_of() */
struct status_list {
	struct device *d;
	bool json, first;
};

static void status_of(const char *name, void *arg)
{
	struct status_list *l = arg;

	if (!get_device(name, l->d, true) && all_type(l->d, DM_VMOTION_TARGET)) {
		print_status(l->d, l->json, l->first);
		l->first = false;
	}
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool json = false, first = true;
	struct device *d = calloc(1, sizeof(*d));
	char name[128];
	int c, rc = EXIT_DONE;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'h') {
			command_usage(stdout);
			free(d);
			return EXIT_DONE;
		}
		if (c != 'j') {
			command_usage(stderr);
			free(d);
			return EXIT_USAGE;
		}
		json = true;
	}
	if (json)
		printf("{\"devices\": [");

	if (optind < argc) {
		for (int i = optind; i < argc; i++) {
			if (resolve(argv[i], name, sizeof(name)) ||
			    get_device(name, d, true)) {
				rc = EXIT_FAILED;
				continue;
			}
			if (!all_type(d, DM_VMOTION_TARGET)) {
				err("%s: not migrating (table is not vmotion)", name);
				rc = EXIT_FAILED;
				continue;
			}
			print_status(d, json, first);
			first = false;
		}
	} else {
		struct status_list l = {.d = d, .json = json, .first = first};

		if (for_each_device(status_of, &l))
			rc = EXIT_FAILED;
		first = l.first;
		if (first && !json)
			printf("no migrations\n");
	}
	if (json)
		printf("%s]}\n", first ? "" : "\n");
	free(d);
	return rc;
}

/*
 * A device that switched to its destination (it is linear there, and its
 * record says so): what wait would have waited for has happened.
 */
static bool already_switched(const char *name)
{
	struct device *d = calloc(1, sizeof(*d));
	struct record *r = calloc(1, sizeof(*r));
	bool done = d && r && !get_device(name, d, false) &&
		    all_type(d, "linear") && !record_read(name, r) &&
		    !strcmp(r->state, REC_SWITCHED) && d->seg[0].src == r->dest;

	if (done)
		printf("%s: already switched to its destination %s\n", name,
		       *r->dest_path ? r->dest_path : "(recorded)");
	free(r);
	free(d);
	return done;
}

int cmd_wait(int argc, char **argv)
{
	char name[128];
	int rc = one_device(argc, argv, 0, name, sizeof(name));

	if (rc)
		return rc;
	if (already_switched(name))
		return EXIT_DONE;
	return follow(name, false);
}
