// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmotion: move a device-mapper device's data to another disk while it is
 * in use, with the kernel's vmotion target.  See vmotion(8).  This file is
 * the command line only: the table of commands with their synopses, help,
 * --version and main().  Each command is in a cmd_*.c file (commands.h) and
 * parses its own arguments; the layers below them know nothing of the
 * command line: toollib.c (what commands that change a device share),
 * dm.c (device-mapper), lock.c, state.c (records of migrations), dest.c
 * (the destination disk), progress.c (a migration's progress, following
 * it), json.c, config.c (migrations.conf) and util.c.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "dm-vmotion.h"
#include "dm.h"
#include "util.h"

#ifndef VMOTION_VERSION
#define VMOTION_VERSION "unknown"
#endif

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;	/* after "vmotion NAME" */
	const char *summary;
} commands[] = {
	{"migrate", cmd_migrate,
	 "[--region-size SIZE] [--rate RATE] [--no-switch] [--force] [--wait-lock]\n"
	 "                       [--metadata DEV[:OFFSET] | --no-metadata]\n"
	 "                       [--skip-zeroes | --no-skip-zeroes] [--dest-is-zero] [--mode MODE]\n"
	 "                       <dm device> <dest device>\n"
	 "       vmotion migrate --from-config [--config FILE] [--rate RATE] [--region-size SIZE] [--no-switch]\n"
	 "                       [--metadata DEV[:OFFSET] | --no-metadata] <dm device>",
	 "move the device's data to the destination, then switch to it"},
	{"status", cmd_status, "[--json] [<dm device>...]",
	 "show the migrations (all of them, or those named)"},
	{"wait", cmd_wait, "<dm device>",
	 "wait until the migration is in sync (0), or failed or paused by an error (1)"},
	{"switch", cmd_switch, "[--wait-lock] <dm device>",
	 "move a device in sync onto its destination"},
	{"abort", cmd_abort, "[--wait-lock] <dm device>",
	 "stop the migration: back to linear on the source"},
	{"pause", cmd_pause, "[--wait-lock] <dm device>", "stop copying"},
	{"resume", cmd_resume, "[--wait-lock] <dm device>",
	 "copy again (after pause, or after an error is fixed)"},
	{"rate", cmd_rate, "[--wait-lock] <dm device> <RATE>",
	 "limit the copy to RATE per second for the whole device (0: none)"},
	{"mode", cmd_mode, "[--wait-lock] <dm device> mirror|track|auto",
	 "how writes reach the destination while copying (see vmotion(8))"},
	{"restore", cmd_restore, "[--no-wait] [--no-switch]",
	 "take up again the migrations recorded in progress (at boot)"},
	{"metadata-size", cmd_metadata_size, "[--region-size SIZE] <dm device>",
	 "the sectors of metadata a migration of the device needs"},
	{"check-config", cmd_check_config, "[--config FILE]",
	 "validate the migrations config, line by line"},
	{"udev-match", cmd_udev_match, "[--config FILE]",
	 "the udev rule's helper: print the unit to start for a new disk"},
	{"help", NULL, "[COMMAND]", "this text, or a command's"},
};

#define NR_COMMANDS	(sizeof(commands) / sizeof(commands[0]))

/* The command running, for command_usage() */
static const struct command *running;

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

void usage(FILE *f)
{
	for (size_t i = 0; i < NR_COMMANDS; i++)
		fprintf(f, "%s %s %s %s\n", i ? "      " : "usage:", prog,
			commands[i].name, commands[i].synopsis);
	fprintf(f, "SIZE and RATE (per second) take K, M, G suffixes; a bare number is KiB;\n"
		"a metadata OFFSET is in sectors, or takes K, M, G.\n"
		"'vmotion help COMMAND' or 'vmotion COMMAND --help' for one command; vmotion(8) for all.\n");
}

static void usage_of(FILE *f, const struct command *c)
{
	fprintf(f, "usage: %s %s %s\n%s.\n", prog, c->name, c->synopsis,
		c->summary);
	fprintf(f, "SIZE and RATE (per second) take K, M, G suffixes; a bare number is KiB.\n");
}

void command_usage(FILE *f)
{
	if (running)
		usage_of(f, running);
	else
		usage(f);
}

static int help(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		usage(stdout);
		return EXIT_DONE;
	}
	c = find_command(argv[1]);
	if (argc > 2 || !c) {
		err("help: %s", c ? "one command at a time" : "no such command");
		usage(stderr);
		return EXIT_USAGE;
	}
	usage_of(stdout, c);
	return EXIT_DONE;
}

int one_device(int argc, char **argv, int extra, char *name, size_t size)
{
	bool wait;

	return one_device_opts(argc, argv, extra, name, size, &wait) ?:
	       (wait ? (usage(stderr), EXIT_USAGE) : EXIT_DONE);
}

int one_device_opts(int argc, char **argv, int extra, char *name,
		    size_t size, bool *wait)
{
	static const struct option opts[] = {
		{"wait-lock", no_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*wait = false;
	/* "+": a rate such as -1 after the device is an argument */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			*wait = true;
			break;
		case 'h':
			command_usage(stdout);
			exit(EXIT_DONE);
		default:
			command_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1 + extra) {
		command_usage(stderr);
		return EXIT_USAGE;
	}
	return resolve(argv[optind], name, size) ? EXIT_FAILED : EXIT_DONE;
}

int main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return EXIT_DONE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("vmotion %s (vmotion target interface %d.%d)\n",
		       VMOTION_VERSION, DM_VMOTION_VERSION_MAJOR,
		       DM_VMOTION_VERSION_MINOR);
		return EXIT_DONE;
	}
	c = find_command(argv[1]);
	if (!c) {
		err("unknown command '%s'", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!c->run)
		return help(argc - 1, argv + 1);
	init_dm();
	catch_signals();
	running = c;
	/* getopt's own messages start with argv[0]: "vmotion: ..." */
	argv[1] = (char *)prog;
	return c->run(argc - 1, argv + 1);
}
