// SPDX-License-Identifier: GPL-2.0-only
/*
 * check-config, udev-match: the commands on the migrations config.
 * check-config validates it and lists its migrations; udev-match, run by the
 * udev rule for a new disk, prints the systemd unit to start if the disk is
 * a configured destination.  config_path() says which file: --config FILE
 * or --config=FILE, else $VMOTION_CONFIG, else the default.  Reading,
 * checking and matching are config.c's.
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

#define CONFIG_OPT	"--config"

/* argv[i] names the config ("--config FILE" or "--config=FILE"): FILE, or NULL */
static const char *config_arg(int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	size_t len = strlen(CONFIG_OPT);

	if (strncmp(a, CONFIG_OPT, len))
		return NULL;
	if (a[len] == '=')
		return a + len + 1;
	if (a[len] || *i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

const char *config_path(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *path = config_arg(argc, argv, &i);

		if (path)
			return path;
	}
	return default_config();
}

/*
 * The arguments of check-config and udev-match: at most --config FILE
 * (or --config=FILE).  The config's path, or NULL after a usage message.
 */
static const char *config_only(int argc, char **argv)
{
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *p = config_arg(argc, argv, &i);

		if (p && *p && !path) {
			path = p;
			continue;
		}
		if (p && *p)
			err("%s: --config given twice", argv[0]);
		else if (p || !strcmp(a, CONFIG_OPT))
			err("%s: --config needs a file", argv[0]);
		else
			err("%s: unexpected argument '%s'", argv[0], a);
		usage(stderr);
		return NULL;
	}
	return path ? path : default_config();
}

/*
 * Called by the udev rule (IMPORT{program}) for a new whole disk: print the
 * systemd unit to start if the disk is configured as a destination.  Never
 * fails the rule: problems go to stderr (the udev log), and a config that
 * is refused matches nothing.
 */
int cmd_udev_match(int argc, char **argv)
{
	const char *path = config_only(argc, argv);
	struct config *c;
	char esc[512];

	if (!path)
		return EXIT_USAGE;
	c = calloc(1, sizeof(*c));
	if (!c || read_config(path, c)) {
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
		warn_short_serial(&c->e[i], env_prop, NULL, getenv("DEVNAME"));
	}
	free(c);
	return EXIT_DONE;
}

int cmd_check_config(int argc, char **argv)
{
	const char *path = config_only(argc, argv);
	struct config *c;
	int rc = EXIT_FAILED;

	if (!path)
		return EXIT_USAGE;
	c = calloc(1, sizeof(*c));
	if (!c)
		return EXIT_FAILED;
	if (!read_config(path, c)) {
		for (int i = 0; i < c->nr; i++)
			printf("%s: %s -> disk %s=%s%s%s%s%s%s%s%s\n", c->path, c->e[i].dm,
			       c->e[i].kind, c->e[i].value,
			       *c->e[i].rate ? " --rate " : "", c->e[i].rate,
			       *c->e[i].region ? " --region-size " : "", c->e[i].region,
			       *c->e[i].mode ? " --mode " : "", c->e[i].mode,
			       c->e[i].no_switch ? " --no-switch" : "");
		printf("%s: %d migration(s), valid\n", c->path, c->nr);
		rc = EXIT_DONE;
	}
	free(c);
	return rc;
}
