/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * config.h: the migrations config and the disks it names (config.c).
 */
#ifndef VMOTION_CONFIG_H
#define VMOTION_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define DEFAULT_CONFIG		"/etc/vmotion/migrations.conf"

/*
 * /etc/vmotion/migrations.conf, one migration per line:
 *
 *   <dm device> <kind>=<value> [--rate RATE] [--region-size SIZE] [--no-switch]
 *
 * kind: serial (udev ID_SERIAL or ID_SERIAL_SHORT), wwn (ID_WWN or
 * ID_WWN_WITH_EXTENSION) or by-id (a /dev/disk/by-id/ name).  '#' starts a
 * comment.
 */
#define MAX_ENTRIES 64

struct entry {
	int line;
	char dm[128];
	char kind[16];
	char value[256];
	char rate[32];
	char region[32];
	bool no_switch;
};

struct config {
	const char *path;
	int nr;
	struct entry e[MAX_ENTRIES];
};

int read_config(const char *path, struct config *c);
bool entry_matches(const struct entry *e,
		   const char *(*prop)(void *, const char *), void *ctx);
const char *env_prop(void *ctx, const char *name);
void unit_escape(const char *in, char *out, size_t size);
int find_disk(const struct entry *e, char *path, size_t size);

#endif
