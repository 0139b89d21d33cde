// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmotion: move a device-mapper device's data to another disk while it is
 * in use, with the kernel's vmotion target.  See vmotion(8).  This file is
 * the command line only: the table of commands, usage() and main().  Each
 * command is in a cmd_*.c file (commands.h) and parses its own arguments;
 * the layers below them know nothing of the command line: dm.c
 * (device-mapper), dest.c (the destination disk), progress.c (a migration's
 * progress, following it), json.c, config.c (migrations.conf) and util.c.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "dm.h"
#include "util.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{"migrate",		cmd_migrate},
	{"status",		cmd_status},
	{"wait",		cmd_wait},
	{"switch",		cmd_switch},
	{"abort",		cmd_abort},
	{"pause",		cmd_pause},
	{"resume",		cmd_resume},
	{"rate",		cmd_rate},
	{"check-config",	cmd_check_config},
	{"udev-match",		cmd_udev_match},
};

void usage(FILE *f)
{
	fprintf(f,
		"usage: %s migrate [--region-size SIZE] [--rate RATE] [--no-switch] [--force] <dm device> <dest device>\n"
		"       %s status [--json] [<dm device>...]\n"
		"       %s wait <dm device>\n"
		"       %s switch <dm device>\n"
		"       %s abort <dm device>\n"
		"       %s pause|resume <dm device>\n"
		"       %s rate <dm device> <RATE>\n"
		"       %s migrate --from-config <dm device>      (as udev/systemd do)\n"
		"       %s check-config [--config FILE]\n"
		"       %s udev-match [--config FILE]              (from the udev rule)\n"
		"SIZE and RATE (per second) take K, M, G suffixes; a bare number is KiB.\n",
		prog, prog, prog, prog, prog, prog, prog, prog, prog, prog);
}

int one_device(int argc, char **argv, int extra, char *name, size_t size)
{
	if (argc != 2 + extra) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return resolve(argv[1], name, size) ? EXIT_FAILED : EXIT_DONE;
}

int main(int argc, char **argv)
{
	char name[128];
	int rc;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_DONE;
	}
	init_dm();

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);

	/* an unknown command's argument is checked first, as a device */
	rc = one_device(argc - 1, argv + 1, 0, name, sizeof(name));
	if (rc)
		return rc;
	err("unknown command '%s'", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
