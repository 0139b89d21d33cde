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

struct device;

/* cmd_migrate.c */
int cmd_migrate(int argc, char **argv);

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
