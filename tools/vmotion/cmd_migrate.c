// SPDX-License-Identifier: GPL-2.0-only
/*
 * migrate: the migrate command, as an operator would tell it.  Read the
 * device's table, which must be linear; check the destination; load the
 * vmotion table over the same segments, laid end to end on the destination;
 * follow the copy until it is in sync; then switch to the destination,
 * unless --no-switch.  With --from-config, as the systemd unit started by
 * the udev rule runs it, the destination disk and the options come from the
 * migrations config.  The work is done by the layers below (dm.c, dest.c,
 * progress.c, config.c); there is no libdevmapper or libblkid call here.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "commands.h"
#include "config.h"
#include "dest.h"
#include "dm-vmotion.h"
#include "dm.h"
#include "progress.h"
#include "util.h"

#define DEFAULT_REGION_KIB	512

int cmd_migrate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"region-size", required_argument, NULL, 'r'},
		{"rate", required_argument, NULL, 'R'},
		{"no-switch", no_argument, NULL, 'n'},
		{"force", no_argument, NULL, 'f'},
		{"from-config", no_argument, NULL, 'c'},
		{"config", required_argument, NULL, 'C'},
		{NULL, 0, NULL, 0},
	};
	uint64_t region_kib = DEFAULT_REGION_KIB, rate_kib = 0;
	bool from_config = false;
	const char *cfg = config_path(argc, argv);
	char disk[256];
	bool no_switch = false, force = false;
	struct device *d = NULL;
	struct table *t = NULL;
	char name[128];
	dev_t dest;
	int c, rc = EXIT_FAILED;

	while ((c = getopt_long(argc, argv, "r:R:nf", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (parse_kib(optarg, &region_kib) || region_kib < 4 ||
			    region_kib > 1024 * 1024 ||
			    (region_kib & (region_kib - 1))) {
				err("invalid region size '%s': a power of two from 4K to 1G",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'R':
			if (parse_kib(optarg, &rate_kib) || rate_kib > UINT32_MAX) {
				err("invalid rate '%s': e.g. 100M (MiB/s), 512K, or 0 for unlimited",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			no_switch = true;
			break;
		case 'f':
			force = true;
			break;
		case 'c':
			from_config = true;
			break;
		case 'C':
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (from_config) {
		/* the device is named; the disk and the options come from the config */
		struct config *c = calloc(1, sizeof(*c));
		struct entry *e = NULL;

		if (argc - optind != 1 || force) {
			free(c);
			usage(stderr);
			return EXIT_USAGE;
		}
		if (!c || read_config(cfg, c)) {
			free(c);
			return EXIT_FAILED;
		}
		for (int i = 0; i < c->nr; i++)
			if (!strcmp(c->e[i].dm, argv[optind]))
				e = &c->e[i];
		if (!e) {
			err("%s: no migration configured in %s", argv[optind], cfg);
			free(c);
			return EXIT_FAILED;
		}
		if (find_disk(e, disk, sizeof(disk))) {
			free(c);
			return EXIT_FAILED;
		}
		if (*e->rate)
			parse_kib(e->rate, &rate_kib);
		if (*e->region)
			parse_kib(e->region, &region_kib);
		no_switch = e->no_switch;
		printf("%s: %s:%d: disk %s=%s is %s\n", e->dm, cfg, e->line,
		       e->kind, e->value, disk);
		free(c);
		argv[optind + 1] = disk;
		argc = optind + 2;
	}
	if (argc - optind != 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (region_kib < 4 || region_kib > 1024 * 1024 || (region_kib & (region_kib - 1))) {
		err("invalid region size %" PRIu64 "K: a power of two from 4K to 1G", region_kib);
		return EXIT_USAGE;
	}

	d = calloc(1, sizeof(*d));
	t = calloc(1, sizeof(*t));
	if (!d || !t || resolve(argv[optind], name, sizeof(name)) ||
	    get_device(name, d, false))
		goto out;
	if (!all_type(d, "linear")) {
		for (int i = 0; i < d->nr; i++)
			if (strcmp(d->seg[i].type, "linear"))
				err("%s: segment %d (sector %" PRIu64 ") is '%s': only linear tables can be migrated",
				    name, i, d->seg[i].start, d->seg[i].type);
		if (!d->nr)
			err("%s: has no table", name);
		goto out;
	}
	if (check_dest(d, argv[optind + 1], force, &dest))
		goto out;

	/* linear segments laid end to end on the destination */
	t->type = DM_VMOTION_TARGET;
	t->nr = d->nr;
	for (int i = 0; i < d->nr; i++) {
		int n;

		t->start[i] = d->seg[i].start;
		t->len[i] = d->seg[i].len;
		n = snprintf(t->params[i], sizeof(t->params[i]),
			     "%u:%u %" PRIu64 " %u:%u %" PRIu64 " %" PRIu64,
			     major(d->seg[i].src), minor(d->seg[i].src),
			     d->seg[i].src_off, major(dest), minor(dest),
			     d->seg[i].start, region_kib * 2);
		if (rate_kib)
			snprintf(t->params[i] + n, sizeof(t->params[i]) - n,
				 " 2 " DM_VMOTION_FEAT_RATE " %" PRIu64, rate_kib);
	}
	if (replace_table(name, t))
		goto out;
	printf("%s: migrating to %s (%" PRIu64 " KiB regions%s)\n", name,
	       argv[optind + 1], region_kib, rate_kib ? ", rate limited" : "");
	fflush(stdout);

	rc = follow(name, true);
	if (rc == EXIT_DONE && no_switch)
		printf("%s: in sync; run 'vmotion switch %s' to move to the destination\n",
		       name, name);
	else if (rc == EXIT_DONE)
		rc = cmd_switch_dev(name);
out:
	free(t);
	free(d);
	return rc;
}
