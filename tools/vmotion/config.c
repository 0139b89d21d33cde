// SPDX-License-Identifier: GPL-2.0-only
/*
 * config: the migrations config, which new disk each device-mapper device
 * moves to.  read_config() parses and validates the file, reporting every
 * problem as FILE:LINE; entry_matches() says whether a disk, by its udev
 * properties (from the environment of a udev rule, env_prop(), or from
 * udev itself), is an entry's disk; find_disk() finds that disk through
 * libudev; unit_escape() escapes a name for a systemd unit.  It knows
 * nothing of device-mapper or of the command line: the file's path comes
 * from its caller.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <libudev.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

/* Parse and validate; every problem is reported as FILE:LINE: ... */
int read_config(const char *path, struct config *c)
{
	char line[1024];
	int n = 0, bad = 0;
	FILE *f = fopen(path, "r");

	memset(c, 0, sizeof(*c));
	c->path = path;
	if (!f) {
		err("%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *save, *tok, *hash = strchr(line, '#');
		struct entry *e;
		uint64_t kib;

		n++;
		if (hash)
			*hash = '\0';
		tok = strtok_r(line, " \t\r\n", &save);
		if (!tok)
			continue;
		if (c->nr == MAX_ENTRIES) {
			err("%s:%d: more than %d migrations", path, n, MAX_ENTRIES);
			bad++;
			break;
		}
		e = &c->e[c->nr];
		e->line = n;
		if (strlen(tok) >= sizeof(e->dm) || strchr(tok, '/')) {
			err("%s:%d: invalid device-mapper name '%s'", path, n, tok);
			bad++;
			continue;
		}
		snprintf(e->dm, sizeof(e->dm), "%s", tok);
		tok = strtok_r(NULL, " \t\r\n", &save);
		if (!tok || !strchr(tok, '=') || sscanf(tok, "%15[^=]=%255s", e->kind, e->value) != 2) {
			err("%s:%d: %s: expected a disk identity: serial=..., wwn=... or by-id=...",
			    path, n, e->dm);
			bad++;
			continue;
		}
		if (strcmp(e->kind, "serial") && strcmp(e->kind, "wwn") &&
		    strcmp(e->kind, "by-id")) {
			err("%s:%d: unknown disk identity '%s' (serial, wwn or by-id)",
			    path, n, e->kind);
			bad++;
			continue;
		}
		while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
			char *val = NULL;

			if (!strcmp(tok, "--no-switch")) {
				e->no_switch = true;
				continue;
			}
			if (strcmp(tok, "--rate") && strcmp(tok, "--region-size")) {
				err("%s:%d: unknown option '%s' (--rate, --region-size, --no-switch)",
				    path, n, tok);
				bad++;
				break;
			}
			val = strtok_r(NULL, " \t\r\n", &save);
			if (!val || parse_kib(val, &kib)) {
				err("%s:%d: %s needs a size such as 200M, not '%s'",
				    path, n, tok, val ? val : "");
				bad++;
				break;
			}
			if (!strcmp(tok, "--region-size") &&
			    (kib < 4 || kib > 1024 * 1024 || (kib & (kib - 1)))) {
				err("%s:%d: invalid region size '%s': a power of two from 4K to 1G",
				    path, n, val);
				bad++;
				break;
			}
			snprintf(!strcmp(tok, "--rate") ? e->rate : e->region,
				 sizeof(e->rate), "%s", val);
		}
		for (int i = 0; i < c->nr; i++) {
			if (!strcmp(c->e[i].dm, e->dm)) {
				err("%s:%d: %s already has a migration on line %d",
				    path, n, e->dm, c->e[i].line);
				bad++;
			}
			if (!strcmp(c->e[i].kind, e->kind) &&
			    !strcmp(c->e[i].value, e->value)) {
				err("%s:%d: disk %s=%s is already the destination on line %d",
				    path, n, e->kind, e->value, c->e[i].line);
				bad++;
			}
		}
		c->nr++;
	}
	fclose(f);
	return bad ? -1 : 0;
}

/* Does a disk with these udev properties match @e? (NULL: property unset) */
bool entry_matches(const struct entry *e,
			  const char *(*prop)(void *, const char *), void *ctx)
{
	const char *v;

	if (!strcmp(e->kind, "serial"))
		return ((v = prop(ctx, "ID_SERIAL")) && !strcmp(v, e->value)) ||
		       ((v = prop(ctx, "ID_SERIAL_SHORT")) && !strcmp(v, e->value));
	if (!strcmp(e->kind, "wwn"))
		return ((v = prop(ctx, "ID_WWN")) && !strcmp(v, e->value)) ||
		       ((v = prop(ctx, "ID_WWN_WITH_EXTENSION")) && !strcmp(v, e->value));
	v = prop(ctx, "DEVLINKS");
	if (v) {
		char link[300];
		const char *p = v;

		snprintf(link, sizeof(link), "/dev/disk/by-id/%s", e->value);
		while ((p = strstr(p, link))) {
			char end = p[strlen(link)];

			if ((p == v || p[-1] == ' ') && (end == ' ' || end == '\0'))
				return true;
			p++;
		}
	}
	return false;
}

const char *env_prop(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static const char *udev_prop(void *ctx, const char *name)
{
	return udev_device_get_property_value(ctx, name);
}

/* systemd-escape for a unit instance name */
void unit_escape(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (; *in && n + 5 < size; in++) {
		unsigned char ch = *in;

		if (isalnum(ch) || ch == '_' || ch == ':' || (ch == '.' && n))
			out[n++] = ch;
		else if (ch == '/')
			out[n++] = '-';
		else
			n += snprintf(out + n, size - n, "\\x%02x", ch);
	}
	out[n] = '\0';
}

/* The disk (devnode) that matches @e, found through udev. */
int find_disk(const struct entry *e, char *path, size_t size)
{
	struct udev *udev = udev_new();
	struct udev_enumerate *en = udev ? udev_enumerate_new(udev) : NULL;
	struct udev_list_entry *le;
	int found = 0;

	if (!en) {
		err("cannot talk to udev");
		goto out;
	}
	udev_enumerate_add_match_subsystem(en, "block");
	udev_enumerate_add_match_property(en, "DEVTYPE", "disk");
	udev_enumerate_scan_devices(en);
	udev_list_entry_foreach(le, udev_enumerate_get_list_entry(en)) {
		struct udev_device *dev = udev_device_new_from_syspath(udev,
					udev_list_entry_get_name(le));

		if (!dev)
			continue;
		if (entry_matches(e, udev_prop, dev) && udev_device_get_devnode(dev)) {
			snprintf(path, size, "%s", udev_device_get_devnode(dev));
			found++;
		}
		udev_device_unref(dev);
	}
out:
	udev_enumerate_unref(en);
	udev_unref(udev);
	if (found == 1)
		return 0;
	err("%s=%s: %s", e->kind, e->value,
	    found ? "more than one disk matches; refusing" : "no such disk");
	return -1;
}
