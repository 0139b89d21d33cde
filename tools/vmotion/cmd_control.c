// SPDX-License-Identifier: GPL-2.0-only
/*
 * pause, resume, rate: control a running migration.  Each sends the vmotion
 * target a message (dm-vmotion.h) on every segment of the device, through
 * dm.c; there is no libdevmapper call here.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "dm-vmotion.h"
#include "dm.h"
#include "util.h"

static int cmd_messages(const char *name, const char *msg)
{
	struct device *d = calloc(1, sizeof(*d));
	int rc = EXIT_FAILED;

	if (!d || get_migrating(name, d, false))
		goto out;
	for (int i = 0; i < d->nr; i++) {
		if (message(name, d->seg[i].start, msg)) {
			err("%s: message '%s' refused", name, msg);
			goto out;
		}
	}
	rc = EXIT_DONE;
out:
	free(d);
	return rc;
}

int cmd_pause(int argc, char **argv)
{
	char name[128];
	int rc = one_device(argc, argv, 0, name, sizeof(name));

	if (rc)
		return rc;
	return cmd_messages(name, DM_VMOTION_MSG_PAUSE);
}

int cmd_resume(int argc, char **argv)
{
	char name[128];
	int rc = one_device(argc, argv, 0, name, sizeof(name));

	if (rc)
		return rc;
	return cmd_messages(name, DM_VMOTION_MSG_RESUME);
}

int cmd_rate(int argc, char **argv)
{
	char name[128], msg[64];
	uint64_t kib;
	int rc;

	rc = one_device(argc, argv, 1, name, sizeof(name));
	if (rc)
		return rc;
	if (parse_kib(argv[2], &kib) || kib > UINT32_MAX) {
		err("invalid rate '%s': e.g. 100M (MiB/s), 512K, or 0 for unlimited",
		    argv[2]);
		return EXIT_USAGE;
	}
	snprintf(msg, sizeof(msg), DM_VMOTION_MSG_RATE " %" PRIu64, kib);
	return cmd_messages(name, msg);
}
