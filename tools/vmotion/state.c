// SPDX-License-Identifier: GPL-2.0-only
/*
 * state: the migrations vmotion started, one record per device-mapper
 * device under /var/lib/vmotion (NAME.state, lines of key=value), so that
 * what happened survives the process and a reboot: a migration that
 * switched to its destination is never started again on that destination
 * (the udev rule sees the disk again at every boot), and the tool can tell
 * a device that already moved from one it never touched.  A record is
 * written whole or not at all: a temporary file, fsync, rename, fsync of
 * the directory.  It knows nothing of device-mapper or of the command line;
 * the disk's identity comes from udev.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "state.h"
#include "util.h"

void dest_identity(dev_t dev, char *id, size_t size)
{
	static const struct {
		const char *prop, *key;
	} keys[] = {
		{"ID_WWN_WITH_EXTENSION", "wwn"},
		{"ID_WWN", "wwn"},
		{"ID_SERIAL", "serial"},
		{"DM_UUID", "dm-uuid"},
	};
	struct udev *udev = udev_new();
	struct udev_device *d = udev ?
		udev_device_new_from_devnum(udev, 'b', dev) : NULL;
	const char *part;
	char path[64], buf[256];
	FILE *f;

	*id = '\0';
	for (size_t i = 0; d && i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = udev_device_get_property_value(d, keys[i].prop);

		if (v && *v) {
			snprintf(id, size, "%s=%s", keys[i].key, v);
			break;
		}
	}
	/* a partition has its disk's WWN and serial: its number tells it */
	part = d && *id ? udev_device_get_sysattr_value(d, "partition") : NULL;
	if (part) {
		size_t n = strlen(id);

		snprintf(id + n, size - n, ",part=%s", part);
	}
	udev_device_unref(d);
	udev_unref(udev);
	if (*id)
		return;
	/* no udev database (a rescue shell): a dm device's UUID from sysfs */
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/dm/uuid", major(dev),
		 minor(dev));
	f = fopen(path, "re");
	if (f && fgets(buf, sizeof(buf), f) && buf[0] != '\n') {
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(id, size, "dm-uuid=%s", buf);
	}
	if (f)
		fclose(f);
}

int identity_device(const char *id, const char *path, dev_t *dev,
		    char *node, size_t size)
{
	struct udev *udev;
	struct udev_enumerate *e;
	struct udev_list_entry *l;
	struct stat st;
	char other[256];
	int found = 0;

	if (!*id) {
		if (stat(path, &st) || !S_ISBLK(st.st_mode))
			return 1;
		*dev = st.st_rdev;
		snprintf(node, size, "%s", path);
		return 0;
	}
	udev = udev_new();
	e = udev ? udev_enumerate_new(udev) : NULL;
	if (!e || udev_enumerate_add_match_subsystem(e, "block") ||
	    udev_enumerate_scan_devices(e)) {
		udev_enumerate_unref(e);
		udev_unref(udev);
		return 1;
	}
	udev_list_entry_foreach(l, udev_enumerate_get_list_entry(e)) {
		struct udev_device *d = udev_device_new_from_syspath(udev,
					udev_list_entry_get_name(l));
		dev_t n = d ? udev_device_get_devnum(d) : 0;
		const char *dn = d ? udev_device_get_devnode(d) : NULL;

		if (n && dn) {
			dest_identity(n, other, sizeof(other));
			if (!strcmp(other, id)) {
				*dev = n;
				snprintf(node, size, "%s", dn);
				found++;
			}
		}
		udev_device_unref(d);
	}
	udev_enumerate_unref(e);
	udev_unref(udev);
	return found == 1 ? 0 : 1;
}

static void record_path(const char *name, char *path, size_t size)
{
	snprintf(path, size, VMOTION_STATE_DIR "/%s.state", name);
}

int record_write(const struct record *r)
{
	char path[512], tmp[520];
	FILE *f;
	int fd, dir, ok;

	if (mkdir(VMOTION_STATE_DIR, 0755) && errno != EEXIST) {
		err("%s: cannot create %s: %s", r->name, VMOTION_STATE_DIR,
		    strerror(errno));
		return -1;
	}
	record_path(r->name, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		err("%s: cannot write %s: %s", r->name, tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "name=%s\nstate=%s\ndest=%u:%u\ndest_path=%s\ndest_id=%s\n",
		r->name, r->state, major(r->dest), minor(r->dest), r->dest_path,
		r->dest_id);
	fprintf(f, "started=%lld\nchanged=%lld\n", (long long)r->started,
		(long long)r->changed);
	fprintf(f, "region=%llu\nrate=%llu\nno_switch=%d\n",
		(unsigned long long)r->region, (unsigned long long)r->rate_kib,
		r->no_switch);
	if (r->skip_zeroes >= 0)
		fprintf(f, "skip_zeroes=%d\n", r->skip_zeroes);
	if (*r->mode)
		fprintf(f, "mode=%s\n", r->mode);
	for (int i = 0; i < r->nr; i++) {
		const struct rec_segment *s = &r->seg[i];

		fprintf(f, "segment.%d.source_id=%s\nsegment.%d.source_path=%s\n",
			i, s->src_id, i, s->src_path);
		if (s->md)
			fprintf(f, "segment.%d.metadata_id=%s\nsegment.%d.metadata_path=%s\nsegment.%d.metadata_offset=%llu\nsegment.%d.metadata_uuid=%s\n",
				i, s->md_id, i, s->md_path, i,
				(unsigned long long)s->md_off, i, s->md_uuid);
	}
	for (const char *p = r->table; *p;) {
		size_t n = strcspn(p, "\n");

		fprintf(f, "table=%.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
	ok = !ferror(f) && !fflush(f) && !fsync(fd);
	ok = !fclose(f) && ok;
	if (ok && rename(tmp, path))
		ok = 0;
	if (!ok) {
		err("%s: cannot write %s: %s", r->name, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	dir = open(VMOTION_STATE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir >= 0) {
		fsync(dir);
		close(dir);
	}
	return 0;
}

/* A "segment.N.KEY" line's value into @r; false if it is not one. */
static bool read_segment(struct record *r, const char *key, const char *v)
{
	struct rec_segment *s;
	unsigned long long off;
	char field[32];
	int i, n = 0;

	if (sscanf(key, "segment.%d.%31s%n", &i, field, &n) != 2 ||
	    key[n] || i < 0 || i >= REC_MAX_SEGMENTS)
		return false;
	s = &r->seg[i];
	if (i >= r->nr)
		r->nr = i + 1;
	if (!strcmp(field, "source_id"))
		snprintf(s->src_id, sizeof(s->src_id), "%s", v);
	else if (!strcmp(field, "source_path"))
		snprintf(s->src_path, sizeof(s->src_path), "%s", v);
	else if (!strcmp(field, "metadata_id"))
		snprintf(s->md_id, sizeof(s->md_id), "%s", v);
	else if (!strcmp(field, "metadata_path"))
		snprintf(s->md_path, sizeof(s->md_path), "%s", v);
	else if (!strcmp(field, "metadata_uuid"))
		snprintf(s->md_uuid, sizeof(s->md_uuid), "%s", v);
	else if (!strcmp(field, "metadata_offset") && sscanf(v, "%llu", &off) == 1)
		s->md_off = off, s->md = true;
	return true;
}

int record_read(const char *name, struct record *r)
{
	char path[512], line[4096];
	unsigned int ma = 0, mi = 0;
	long long t;
	unsigned long long u;
	size_t used = 0;
	FILE *f;

	memset(r, 0, sizeof(*r));
	r->skip_zeroes = -1;
	record_path(name, path, sizeof(path));
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 1;
		err("%s: cannot read %s: %s", name, path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, '=');

		line[strcspn(line, "\n")] = '\0';
		if (!v)
			continue;
		*v++ = '\0';
		if (!strcmp(line, "name"))
			snprintf(r->name, sizeof(r->name), "%s", v);
		else if (!strcmp(line, "state"))
			snprintf(r->state, sizeof(r->state), "%s", v);
		else if (!strcmp(line, "dest") && sscanf(v, "%u:%u", &ma, &mi) == 2)
			r->dest = makedev(ma, mi);
		else if (!strcmp(line, "dest_path"))
			snprintf(r->dest_path, sizeof(r->dest_path), "%s", v);
		else if (!strcmp(line, "dest_id"))
			snprintf(r->dest_id, sizeof(r->dest_id), "%s", v);
		else if (!strcmp(line, "started") && sscanf(v, "%lld", &t) == 1)
			r->started = t;
		else if (!strcmp(line, "changed") && sscanf(v, "%lld", &t) == 1)
			r->changed = t;
		else if (!strcmp(line, "region") && sscanf(v, "%llu", &u) == 1)
			r->region = u;
		else if (!strcmp(line, "rate") && sscanf(v, "%llu", &u) == 1)
			r->rate_kib = u;
		else if (!strcmp(line, "no_switch"))
			r->no_switch = !strcmp(v, "1");
		else if (!strcmp(line, "skip_zeroes"))
			r->skip_zeroes = !strcmp(v, "1");
		else if (!strcmp(line, "mode"))
			snprintf(r->mode, sizeof(r->mode), "%s", v);
		else if (read_segment(r, line, v))
			;
		else if (!strcmp(line, "table") && used < sizeof(r->table))
			used += snprintf(r->table + used, sizeof(r->table) - used,
					 "%s\n", v);
	}
	fclose(f);
	if (strcmp(r->name, name) || !*r->state) {
		err("%s: %s is not a vmotion record", name, path);
		return -1;
	}
	return 0;
}

bool record_switched_to(dev_t dev, struct record *r)
{
	char id[256];
	struct dirent *e;
	DIR *dir = opendir(VMOTION_STATE_DIR);
	bool found = false;

	if (!dir)
		return false;
	dest_identity(dev, id, sizeof(id));
	while (!found && (e = readdir(dir))) {
		size_t n = strlen(e->d_name);
		char name[128];

		if (n <= 6 || n - 6 >= sizeof(name) ||
		    strcmp(e->d_name + n - 6, ".state"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 6), e->d_name);
		if (record_read(name, r) || (strcmp(r->state, REC_SWITCHED) &&
					      strcmp(r->state, REC_SWITCHING)))
			continue;
		found = *id && !strcmp(id, r->dest_id);
	}
	closedir(dir);
	return found;
}

/* NAME.state: NAME into @name; false for another file. */
static bool record_name(const char *file, char *name, size_t size)
{
	size_t n = strlen(file);

	if (n <= 6 || n - 6 >= size || strcmp(file + n - 6, ".state"))
		return false;
	snprintf(name, size, "%.*s", (int)(n - 6), file);
	return true;
}

int for_each_record(struct record *r,
		    void (*fn)(const struct record *r, void *arg), void *arg)
{
	struct dirent **list;
	char name[128];
	int n = scandir(VMOTION_STATE_DIR, &list, NULL, alphasort);

	if (n < 0) {
		if (errno == ENOENT)
			return 0;
		err("cannot read %s: %s", VMOTION_STATE_DIR, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (record_name(list[i]->d_name, name, sizeof(name)) &&
		    !record_read(name, r))
			fn(r, arg);
		free(list[i]);
	}
	free(list);
	return 0;
}
