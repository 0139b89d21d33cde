/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * config.h: the migrations config and the disks it names (config.c).
 */
#ifndef VMOTION_CONFIG_H
#define VMOTION_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define DEFAULT_CONFIG		"/etc/vmotion/migrations.conf"

/* The config when none is named: $VMOTION_CONFIG, else DEFAULT_CONFIG */
const char *default_config(void);

/*
 * /etc/vmotion/migrations.conf, one migration per line:
 *
 *   <dm device> <kind>=<value> [--rate RATE] [--region-size SIZE] [--no-switch]
 *
 * kind, and the udev property of the disk it must equal exactly:
 *   serial  ID_SERIAL (model_serial for ATA and NVMe disks, scsi_id's
 *           identifier for SCSI, the serial for virtio); never
 *           ID_SERIAL_SHORT, which disks on different buses can share
 *   wwn     ID_WWN or ID_WWN_WITH_EXTENSION
 *   by-id   a name in /dev/disk/by-id/ (a word of DEVLINKS)
 * A '#' that begins a word starts a comment.  The file must belong to root
 * and not be writable by group or others.  Lines are at most
 * CONFIG_LINE_MAX characters.
 */
#define MAX_ENTRIES	64
#define CONFIG_LINE_MAX	1024

struct entry {
	const char *file;	/* the config it came from (read_config's @path) */
	int line;
	char dm[128];
	char kind[16];
	char value[256];
	char rate[32];		/* as written, valid; "" if not given */
	char region[32];	/* as written, valid; "" if not given */
	bool no_switch;
	char mode[8];		/* --mode, valid; "" if not given */
};

struct config {
	const char *path;
	int nr;
	struct entry e[MAX_ENTRIES];
};

/*
 * Read and validate @path into @c: the file is refused unless it belongs to
 * root and is not writable by group or others; every problem is reported
 * as FILE:LINE.  0, or -1 with messages.
 */
int read_config(const char *path, struct config *c);

/* Does a disk with these udev properties (NULL: unset) match @e? */
bool entry_matches(const struct entry *e,
		   const char *(*prop)(void *, const char *), void *ctx);
/*
 * If @e is serial=V and V is the disk's ID_SERIAL_SHORT but not its
 * ID_SERIAL (so it does not match), say so on stderr, naming @devnode
 * (NULL: "this disk").  True if it said so.
 */
bool warn_short_serial(const struct entry *e,
		       const char *(*prop)(void *, const char *), void *ctx,
		       const char *devnode);
const char *env_prop(void *ctx, const char *name);
void unit_escape(const char *in, char *out, size_t size);

/* The devnode of the one disk that matches @e, found through udev. 0 or -1. */
int find_disk(const struct entry *e, char *path, size_t size);

/*
 * For migrate --from-config: read and validate @path (NULL: the
 * default_config()), find the migration of the device-mapper device @dm
 * and its disk; fill *@e and @disk (its devnode) and print
 * "<dm>: <path>:<line>: disk <kind>=<value> is <disk>".  0, or -1 with a
 * message.
 */
int config_migration(const char *path, const char *dm, struct entry *e,
		     char *disk, size_t size);

#endif
