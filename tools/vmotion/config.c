// SPDX-License-Identifier: GPL-2.0-only
/*
 * config: the migrations config, which new disk each device-mapper device
 * moves to.  read_config() refuses a file that root does not own or that
 * group or others may write, then parses and validates it, reporting every
 * problem as FILE:LINE; entry_matches() says whether a disk, by its udev
 * properties (from the environment of a udev rule, env_prop(), or from
 * udev itself), is an entry's disk, and warn_short_serial() explains the
 * near miss of a serial= that is only a disk's short serial; find_disk()
 * finds that disk through libudev; config_migration() is all of it for
 * migrate --from-config; unit_escape() escapes a name for a systemd unit.
 * It knows nothing of device-mapper or of the command line: the file's path
 * comes from its caller, or is default_config().
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
#include <sys/stat.h>

#include "config.h"
#include "dm-vmotion.h"
#include "util.h"

#define SPACE " \t\r\n\v\f"

/*
 * Read the next line of @f into @buf (CONFIG_LINE_MAX + 1 bytes) without
 * its newline.  1 if there was one, 0 at the end of the file.  A line
 * longer than CONFIG_LINE_MAX sets *@over and is read to its end all the
 * same, so that the lines after it keep their numbers; *@nul says it held
 * a NUL byte.
 */
static int read_line(FILE *f, char *buf, bool *over, bool *nul)
{
	size_t n = 0;
	int ch;

	*over = *nul = false;
	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (!ch)
			*nul = true;
		if (n < CONFIG_LINE_MAX)
			buf[n++] = ch;
		else
			*over = true;
	}
	buf[n] = '\0';
	return ch != EOF || n || *over || *nul;
}

/*
 * The next word of a line, or NULL at its end or at a comment: a '#' that
 * begins a word (at the start of the line or after white space).  A '#'
 * inside a word is part of it.
 */
static char *next_word(char **p)
{
	char *s = *p + strspn(*p, SPACE), *w;

	if (!*s || *s == '#') {
		*p = s + strlen(s);
		return NULL;
	}
	w = s;
	s += strcspn(s, SPACE);
	if (*s)
		*s++ = '\0';
	*p = s;
	return w;
}

/* The file behind @f may be trusted: root's, not writable by others. */
static int check_owner(FILE *f, const char *path)
{
	struct stat st;
	int bad = 0;

	if (fstat(fileno(f), &st)) {
		err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		err("%s: not a regular file; refusing it", path);
		return -1;
	}
	if (st.st_uid != 0) {
		err("%s: owned by uid %u, not root; refusing it", path,
		    (unsigned int)st.st_uid);
		bad++;
	}
	if (st.st_mode & 0022) {	/* S_IWGRP | S_IWOTH */
		err("%s: writable by group or others (mode %04o); refusing it",
		    path, (unsigned int)(st.st_mode & 07777));
		bad++;
	}
	return bad ? -1 : 0;
}

/*
 * The options after the disk identity; an error is reported as
 * FILE:LINE.  0 or -1.
 */
static int parse_options(const char *path, int n, char **p, struct entry *e)
{
	char *tok, *val;
	uint64_t kib;

	while ((tok = next_word(p))) {
		char *dst;	/* e->rate or e->region, of the same size */

		if (!strcmp(tok, "--no-switch")) {
			e->no_switch = true;
			continue;
		}
		if (!strcmp(tok, "--mode")) {
			val = next_word(p);
			if (!val || !valid_mode(val)) {
				err("%s:%d: invalid mode '%s': mirror, track or auto",
				    path, n, val ? val : "");
				return -1;
			}
			snprintf(e->mode, sizeof(e->mode), "%s", val);
			continue;
		}
		if (!strcmp(tok, "--rate")) {
			dst = e->rate;
		} else if (!strcmp(tok, "--region-size")) {
			dst = e->region;
		} else {
			err("%s:%d: unknown option '%s' (--rate, --region-size, --mode, --no-switch)",
			    path, n, tok);
			return -1;
		}
		val = next_word(p);
		if (val && strlen(val) >= sizeof(e->rate)) {
			err("%s:%d: %s value longer than %zu characters", path,
			    n, tok, sizeof(e->rate) - 1);
			return -1;
		}
		if (!val || parse_kib(val, &kib)) {
			err("%s:%d: %s needs a size such as 200M, not '%s'",
			    path, n, tok, val ? val : "");
			return -1;
		}
		/* the bounds of migrate's --rate and --region-size */
		if (dst == e->rate && kib > UINT32_MAX) {
			err("%s:%d: invalid rate '%s': e.g. 100M (MiB/s), 512K, or 0 for unlimited",
			    path, n, val);
			return -1;
		}
		if (dst == e->region &&
		    (kib < 4 || kib > 1024 * 1024 || (kib & (kib - 1)))) {
			err("%s:%d: invalid region size '%s': a power of two from 4K to 1G",
			    path, n, val);
			return -1;
		}
		snprintf(dst, sizeof(e->rate), "%s", val);
	}
	return 0;
}

/* What a line of the config is */
enum { BLANK, ENTRY, BAD_OPTIONS, BAD_LINE };

/*
 * Line @n, @line, into @e: BLANK (nothing or a comment), ENTRY, BAD_OPTIONS
 * (a migration whose options are wrong, reported) or BAD_LINE (no
 * migration at all, reported).
 */
static int parse_line(const char *path, int n, char *line, struct entry *e)
{
	char *p = line, *tok, *eq;

	tok = next_word(&p);
	if (!tok)
		return BLANK;
	e->file = path;
	e->line = n;
	if (strlen(tok) >= sizeof(e->dm)) {
		err("%s:%d: device-mapper name longer than %zu characters",
		    path, n, sizeof(e->dm) - 1);
		return BAD_LINE;
	}
	if (strchr(tok, '/')) {
		err("%s:%d: invalid device-mapper name '%s'", path, n, tok);
		return BAD_LINE;
	}
	snprintf(e->dm, sizeof(e->dm), "%s", tok);
	tok = next_word(&p);
	eq = tok ? strchr(tok, '=') : NULL;
	if (!eq || eq == tok || !eq[1]) {
		err("%s:%d: %s: expected a disk identity: serial=..., wwn=... or by-id=...",
		    path, n, e->dm);
		return BAD_LINE;
	}
	*eq = '\0';
	if (strcmp(tok, "serial") && strcmp(tok, "wwn") && strcmp(tok, "by-id")) {
		err("%s:%d: unknown disk identity '%s' (serial, wwn or by-id)",
		    path, n, tok);
		return BAD_LINE;
	}
	if (strlen(eq + 1) >= sizeof(e->value)) {
		err("%s:%d: %s= value longer than %zu characters", path, n,
		    tok, sizeof(e->value) - 1);
		return BAD_LINE;
	}
	snprintf(e->kind, sizeof(e->kind), "%s", tok);
	snprintf(e->value, sizeof(e->value), "%s", eq + 1);
	return parse_options(path, n, &p, e) ? BAD_OPTIONS : ENTRY;
}

/* Read, check and validate; every problem is reported as FILE:LINE: ... */
int read_config(const char *path, struct config *c)
{
	char line[CONFIG_LINE_MAX + 1];
	int n = 0, bad = 0;
	bool over, nul;
	FILE *f = fopen(path, "re");

	memset(c, 0, sizeof(*c));
	c->path = path;
	if (!f) {
		err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (check_owner(f, path)) {
		fclose(f);
		return -1;
	}
	while (read_line(f, line, &over, &nul)) {
		struct entry *e;
		int r;

		n++;
		if (over) {
			err("%s:%d: line longer than %d characters", path, n,
			    CONFIG_LINE_MAX);
			bad++;
			continue;
		}
		if (nul) {
			err("%s:%d: line holds a NUL byte", path, n);
			bad++;
			continue;
		}
		if (c->nr == MAX_ENTRIES) {
			char *p = line;

			if (!next_word(&p))
				continue;
			err("%s:%d: more than %d migrations", path, n, MAX_ENTRIES);
			bad++;
			break;
		}
		e = &c->e[c->nr];
		r = parse_line(path, n, line, e);
		if (r == BLANK)
			continue;
		if (r == BAD_LINE) {
			memset(e, 0, sizeof(*e));
			bad++;
			continue;
		}
		if (r == BAD_OPTIONS)	/* still a migration, for the checks below */
			bad++;
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
	if (ferror(f)) {
		err("%s: %s", path, strerror(errno));
		bad++;
	}
	fclose(f);
	return bad ? -1 : 0;
}

static bool prop_is(const char *(*prop)(void *, const char *), void *ctx,
		    const char *name, const char *value)
{
	const char *v = prop(ctx, name);

	return v && !strcmp(v, value);
}

/*
 * Does a disk with these udev properties match @e?  (NULL: unset.)  serial
 * is ID_SERIAL only: ID_SERIAL_SHORT is the bare serial number, which a
 * USB stick and a SAN disk can share (warn_short_serial() says so).
 */
bool entry_matches(const struct entry *e,
		   const char *(*prop)(void *, const char *), void *ctx)
{
	const char *v;

	if (!strcmp(e->kind, "serial"))
		return prop_is(prop, ctx, "ID_SERIAL", e->value);
	if (!strcmp(e->kind, "wwn"))
		return prop_is(prop, ctx, "ID_WWN", e->value) ||
		       prop_is(prop, ctx, "ID_WWN_WITH_EXTENSION", e->value);
	v = prop(ctx, "DEVLINKS");
	if (v) {
		char link[300];
		const char *p = v;
		size_t len;

		snprintf(link, sizeof(link), "/dev/disk/by-id/%s", e->value);
		len = strlen(link);
		while ((p = strstr(p, link))) {
			char end = p[len];

			if ((p == v || p[-1] == ' ') && (end == ' ' || end == '\0'))
				return true;
			p++;
		}
	}
	return false;
}

bool warn_short_serial(const struct entry *e,
		       const char *(*prop)(void *, const char *), void *ctx,
		       const char *devnode)
{
	const char *full = prop(ctx, "ID_SERIAL");
	const char *file = e->file ? e->file : "config";

	if (strcmp(e->kind, "serial") ||
	    !prop_is(prop, ctx, "ID_SERIAL_SHORT", e->value) ||
	    (full && !strcmp(full, e->value)))
		return false;
	if (!devnode || !*devnode)
		devnode = "this disk";
	if (full)
		err("%s:%d: serial=%s is only the short serial of %s (ID_SERIAL=%s): write serial=%s, or use wwn= or by-id=",
		    file, e->line, e->value, devnode, full, full);
	else
		err("%s:%d: serial=%s is only the short serial of %s (it has no ID_SERIAL): use wwn= or by-id=",
		    file, e->line, e->value, devnode);
	return true;
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

/*
 * The disk (devnode) that matches @e, found through udev; a disk whose
 * short serial only is @e's serial= is named on stderr.
 */
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
		const char *node;

		if (!dev)
			continue;
		node = udev_device_get_devnode(dev);
		if (node && entry_matches(e, udev_prop, dev)) {
			snprintf(path, size, "%s", node);
			found++;
		} else {
			warn_short_serial(e, udev_prop, dev, node);
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

const char *default_config(void)
{
	const char *env = getenv("VMOTION_CONFIG");

	return env ? env : DEFAULT_CONFIG;
}

int config_migration(const char *path, const char *dm, struct entry *e,
		     char *disk, size_t size)
{
	struct config *c = calloc(1, sizeof(*c));
	const struct entry *found = NULL;
	int rc = -1;

	if (!path)
		path = default_config();
	if (!c) {
		err("%s: %s", path, strerror(ENOMEM));
		return -1;
	}
	if (read_config(path, c))
		goto out;
	for (int i = 0; i < c->nr; i++)
		if (!strcmp(c->e[i].dm, dm))
			found = &c->e[i];
	if (!found) {
		err("%s: no migration configured in %s", dm, path);
		goto out;
	}
	if (find_disk(found, disk, size))
		goto out;
	*e = *found;
	printf("%s: %s:%d: disk %s=%s is %s\n", e->dm, path, e->line, e->kind,
	       e->value, disk);
	rc = 0;
out:
	free(c);
	return rc;
}
