/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * commands.h: the vmotion commands, one entry point each, called with the
 * command's own arguments (argv[0] is the command's name), each parsing them
 * and returning an exit status; and what the commands share.
 */
#ifndef VMOTION_COMMANDS_H
#define VMOTION_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <stdint.h>

struct device;
struct md_area;
struct record;

/* cmd_migrate.c */
int cmd_migrate(int argc, char **argv);

/* What a migration is started with: migrate's options, or restore's record */
struct migrate_opts {
	uint64_t region_kib;
	uint64_t rate_kib;
	bool region_set, rate_set;
	bool no_switch, force, from_config, wait_lock;
	const char *config;
	char disk[256];		/* --from-config: the disk found for it */
	const char *metadata;	/* --metadata DEV[:OFFSET] */
	bool no_metadata;
	/* --skip-zeroes, --no-skip-zeroes, or the default (a thin destination) */
	enum { ZEROES_DEFAULT, ZEROES_SKIP, ZEROES_WRITE } zeroes;
	bool dest_is_zero;	/* --dest-is-zero */
	const char *mode;	/* --mode: mirror, track or auto */
	char config_mode[8];	/* --from-config: its line's --mode */
	/*
	 * restore: the recorded migration, whose metadata areas (resolved,
	 * one per segment; dev 0: none) must hold it to resume it
	 */
	const struct record *restore;
	const struct md_area *areas;
};

/*
 * Check, load and record a migration of @name onto @dest_path (under the
 * device's lock); on success *@loaded is the device as it runs now.  Then
 * migrate_finish() follows it to its end and switches, unless @no_switch.
 * Exit statuses.
 */
int migrate_start(const char *name, const char *dest_path,
		  const struct migrate_opts *o, struct device *loaded);
int migrate_finish(const char *name, bool no_switch,
		   const struct device *loaded);

/* cmd_restore.c */
int cmd_restore(int argc, char **argv);
int cmd_metadata_size(int argc, char **argv);

/* cmd_status.c */
int cmd_status(int argc, char **argv);
int cmd_wait(int argc, char **argv);

/* cmd_switch.c */
int cmd_switch(int argc, char **argv);
int cmd_abort(int argc, char **argv);
int cmd_switch_dev(const char *name, const struct device *expected, bool wait);

/* cmd_control.c */
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_rate(int argc, char **argv);
int cmd_mode(int argc, char **argv);

/* cmd_config.c */
int cmd_check_config(int argc, char **argv);
int cmd_udev_match(int argc, char **argv);
const char *config_path(int argc, char **argv);

/* vmotion.c */
void usage(FILE *f);
/* The synopsis of the command running (every command's if none). */
void command_usage(FILE *f);
/*
 * The arguments of a command on one device, <dm device> and @extra more,
 * resolved to its dm name; one_device_opts() also takes --wait-lock.  On
 * success argv[optind] is the device.  An exit status: 0, or what to exit
 * with (usage, or the device does not exist).
 */
int one_device(int argc, char **argv, int extra, char *name, size_t size);
int one_device_opts(int argc, char **argv, int extra, char *name,
		    size_t size, bool *wait);

#endif
