// SPDX-License-Identifier: GPL-2.0-only
/*
 * pause, resume, rate, mode: control a running migration.  Each takes the
 * device's lock and sends the vmotion target a message (dm-vmotion.h) on
 * every segment, through dm.c; a rate is for the whole device, and each
 * segment gets its share by length.  There is no libdevmapper call here.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "dm-vmotion.h"
#include "dm.h"
#include "toollib.h"
#include "util.h"

/*
 * Send @msg to every segment, under the device's lock; with @rate_kib
 * (rate set), each segment gets its share of it by length.
 */
static int cmd_messages(const char *name, const char *msg, bool wait,
			const uint64_t *rate_kib)
{
	struct device *d = calloc(1, sizeof(*d));
	struct lock lock = {.fd = -1};
	int rc = EXIT_FAILED;
	char buf[64];

	if (!d || take_device(name, msg, wait, &lock, d))
		goto out;
	if (!all_type(d, DM_VMOTION_TARGET)) {
		err("%s: not migrating (table is not vmotion)", name);
		goto out;
	}
	for (int i = 0; i < d->nr; i++) {
		if (rate_kib)
			snprintf(buf, sizeof(buf), DM_VMOTION_MSG_RATE " %u",
				 segment_rate(d, i, *rate_kib));
		if (message(name, d->seg[i].start, rate_kib ? buf : msg)) {
			err("%s: message '%s' refused: %s", name,
			    rate_kib ? buf : msg, dm_reason(errno));
			goto out;
		}
	}
	rc = EXIT_DONE;
out:
	release_device(&lock);
	free(d);
	return rc;
}

int cmd_pause(int argc, char **argv)
{
	char name[128];
	bool wait;
	int rc = one_device_opts(argc, argv, 0, name, sizeof(name), &wait);

	if (rc)
		return rc;
	return cmd_messages(name, DM_VMOTION_MSG_PAUSE, wait, NULL);
}

int cmd_resume(int argc, char **argv)
{
	char name[128];
	bool wait;
	int rc = one_device_opts(argc, argv, 0, name, sizeof(name), &wait);

	if (rc)
		return rc;
	return cmd_messages(name, DM_VMOTION_MSG_RESUME, wait, NULL);
}

int cmd_rate(int argc, char **argv)
{
	char name[128];
	uint64_t kib;
	bool wait;
	int rc;

	rc = one_device_opts(argc, argv, 1, name, sizeof(name), &wait);
	if (rc)
		return rc;
	if (parse_kib(argv[optind + 1], &kib) || kib > MAX_RATE_KIB) {
		err("invalid rate '%s': e.g. 100M (MiB/s), 512K, or 0 for unlimited",
		    argv[optind + 1]);
		return EXIT_USAGE;
	}
	return cmd_messages(name, DM_VMOTION_MSG_RATE, wait, &kib);
}

int cmd_mode(int argc, char **argv)
{
	char name[128], msg[32];
	const char *mode;
	bool wait;
	int rc;

	rc = one_device_opts(argc, argv, 1, name, sizeof(name), &wait);
	if (rc)
		return rc;
	mode = argv[optind + 1];
	if (!valid_mode(mode)) {
		err("invalid mode '%s': mirror, track or auto", mode);
		return EXIT_USAGE;
	}
	snprintf(msg, sizeof(msg), DM_VMOTION_MSG_MODE " %s", mode);
	return cmd_messages(name, msg, wait, NULL);
}
