// SPDX-License-Identifier: GPL-2.0-only
/*
 * check-config, udev-match: the commands on the migrations config.
 * check-config validates it and lists its migrations; udev-match, run by the
 * udev rule for a new disk, prints the systemd unit to start if the disk is
 * a configured destination.  config_path() says which file: --config, else
 * $VMOTION_CONFIG, else the default.  Parsing and matching are config.c's.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "util.h"

const char *config_path(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--config"))
			return argv[i + 1];
	return getenv("VMOTION_CONFIG") ? getenv("VMOTION_CONFIG") : DEFAULT_CONFIG;
}

/*
 * Called by the udev rule (IMPORT{program}) for a new whole disk: print the
 * systemd unit to start if the disk is configured as a destination.  Never
 * fails the rule: problems go to stderr (the udev log).
 */
int cmd_udev_match(int argc, char **argv)
{
	struct config *c = calloc(1, sizeof(*c));
	char esc[512];

	if (!c || read_config(config_path(argc, argv), c)) {
		free(c);
		return EXIT_DONE;
	}
	for (int i = 0; i < c->nr; i++) {
		if (entry_matches(&c->e[i], env_prop, NULL)) {
			unit_escape(c->e[i].dm, esc, sizeof(esc));
			printf("VMOTION_DM=%s\nVMOTION_UNIT=vmotion-migrate@%s.service\n",
			       c->e[i].dm, esc);
			break;
		}
	}
	free(c);
	return EXIT_DONE;
}

int cmd_check_config(int argc, char **argv)
{
	struct config *c = calloc(1, sizeof(*c));
	int rc = EXIT_FAILED;

	if (!c)
		return EXIT_FAILED;
	if (!read_config(config_path(argc, argv), c)) {
		for (int i = 0; i < c->nr; i++)
			printf("%s: %s -> disk %s=%s%s%s%s%s%s\n", c->path, c->e[i].dm,
			       c->e[i].kind, c->e[i].value,
			       *c->e[i].rate ? " --rate " : "", c->e[i].rate,
			       *c->e[i].region ? " --region-size " : "", c->e[i].region,
			       c->e[i].no_switch ? " --no-switch" : "");
		printf("%s: %d migration(s), valid\n", c->path, c->nr);
		rc = EXIT_DONE;
	}
	free(c);
	return rc;
}
