// SPDX-License-Identifier: GPL-2.0-only
/*
 * migrate: the migrate command, as an operator would tell it.  Take the
 * device (its lock) and check it: linear, not owned by another manager,
 * not already migrating; check the destination; load the vmotion table
 * over the same segments, laid end to end on the destination, and record
 * the migration; let go of the lock and follow the copy until it is in
 * sync; then switch to the destination, unless --no-switch.  With
 * --from-config, as the systemd unit started by the udev rule runs it, the
 * destination disk and the options come from the migrations config, and a
 * migration that already switched to that disk is not started again.  The
 * work is done by the layers below (toollib.c, dm.c, dest.c, state.c,
 * progress.c, config.c); there is no libdevmapper or libblkid call here.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "commands.h"
#include "config.h"
#include "dest.h"
#include "dm-vmotion-metadata-format.h"
#include "dm-vmotion.h"
#include "dm.h"
#include "metadata.h"
#include "progress.h"
#include "state.h"
#include "toollib.h"
#include "util.h"

#define DEFAULT_REGION_KIB	512
/* See vmotion(8), "Modes", for why */
#define DEFAULT_MODE		DM_VMOTION_MODE_MIRROR

static int bad_region(const char *arg)
{
	err("invalid region size '%s': a power of two from 4K to 1G", arg);
	return EXIT_USAGE;
}

static int parse_region(const char *arg, uint64_t *kib)
{
	if (parse_kib(arg, kib) || *kib < 4 || *kib > 1024 * 1024 ||
	    (*kib & (*kib - 1)))
		return bad_region(arg);
	return 0;
}

static int parse_rate(const char *arg, uint64_t *kib)
{
	if (parse_kib(arg, kib) || *kib > MAX_RATE_KIB) {
		err("invalid rate '%s': e.g. 100M (MiB/s), 512K, or 0 for unlimited",
		    arg);
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * --metadata DEV[:OFFSET]: OFFSET in sectors, or a size with a K, M or G
 * suffix.  A path that names a device as it is (by-path names have
 * colons) has no offset.
 */
static int parse_metadata(const char *arg, char *path, size_t size,
			  uint64_t *offset)
{
	const char *colon = strrchr(arg, ':'), *off;
	struct stat st;
	uint64_t kib;
	char *end;

	*offset = 0;
	if (!colon || !stat(arg, &st)) {
		snprintf(path, size, "%s", arg);
		return 0;
	}
	snprintf(path, size, "%.*s", (int)(colon - arg), arg);
	off = colon + 1;
	errno = 0;
	*offset = strtoull(off, &end, 10);
	if (*off >= '0' && *off <= '9' && !*end && !errno)
		return 0;
	if (!parse_kib(off, &kib) && kib <= UINT64_MAX / 2) {
		*offset = kib * 2;
		return 0;
	}
	err("invalid metadata offset '%s' in '%s': sectors, or a size with a K, M or G suffix",
	    off, arg);
	return -1;
}

static int parse_options(int argc, char **argv, struct migrate_opts *o)
{
	static const struct option opts[] = {
		{"region-size", required_argument, NULL, 'r'},
		{"rate", required_argument, NULL, 'R'},
		{"no-switch", no_argument, NULL, 'n'},
		{"force", no_argument, NULL, 'f'},
		{"from-config", no_argument, NULL, 'c'},
		{"config", required_argument, NULL, 'C'},
		{"wait-lock", no_argument, NULL, 'w'},
		{"metadata", required_argument, NULL, 'm'},
		{"no-metadata", no_argument, NULL, 'M'},
		{"skip-zeroes", no_argument, NULL, 'z'},
		{"no-skip-zeroes", no_argument, NULL, 'Z'},
		{"dest-is-zero", no_argument, NULL, 'D'},
		{"mode", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char path[256];
	uint64_t off;
	int c, rc;

	while ((c = getopt_long(argc, argv, "r:R:nfh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rc = parse_region(optarg, &o->region_kib);
			if (rc)
				return rc;
			o->region_set = true;
			break;
		case 'R':
			rc = parse_rate(optarg, &o->rate_kib);
			if (rc)
				return rc;
			o->rate_set = true;
			break;
		case 'n':
			o->no_switch = true;
			break;
		case 'f':
			o->force = true;
			break;
		case 'c':
			o->from_config = true;
			break;
		case 'C':
			o->config = optarg;
			break;
		case 'w':
			o->wait_lock = true;
			break;
		case 'm':
			if (parse_metadata(optarg, path, sizeof(path), &off))
				return EXIT_USAGE;
			o->metadata = optarg;
			break;
		case 'M':
			o->no_metadata = true;
			break;
		case 'z':
		case 'Z':
			if (o->zeroes != ZEROES_DEFAULT &&
			    o->zeroes != (c == 'z' ? ZEROES_SKIP : ZEROES_WRITE)) {
				err("--skip-zeroes and --no-skip-zeroes: one or the other");
				return EXIT_USAGE;
			}
			o->zeroes = c == 'z' ? ZEROES_SKIP : ZEROES_WRITE;
			break;
		case 'D':
			o->dest_is_zero = true;
			break;
		case 'o':
			if (!valid_mode(optarg)) {
				err("invalid mode '%s': mirror, track or auto", optarg);
				return EXIT_USAGE;
			}
			o->mode = optarg;
			break;
		case 'h':
			command_usage(stdout);
			exit(EXIT_DONE);
		default:
			command_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != (o->from_config ? 1 : 2) ||
	    (o->from_config && o->force) || (o->metadata && o->no_metadata) ||
	    (o->dest_is_zero && o->zeroes == ZEROES_WRITE)) {
		command_usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * --from-config: the disk and the options of the device's config line.
 * What was typed on the command line wins (a --no-switch typed is kept).
 * 1 when there is nothing to do: the migration already switched to it.
 */
static int from_config(const char *dm, struct migrate_opts *o)
{
	struct record *r = calloc(1, sizeof(*r));
	struct entry e;
	struct stat st;
	uint64_t kib;
	int rc = -1;

	if (!r || config_migration(o->config, dm, &e, o->disk, sizeof(o->disk)))
		goto out;
	if (!o->rate_set && *e.rate && !parse_kib(e.rate, &kib))
		o->rate_kib = kib;
	if (!o->region_set && *e.region && !parse_kib(e.region, &kib))
		o->region_kib = kib;
	o->no_switch |= e.no_switch;
	if (!o->mode && *e.mode) {
		snprintf(o->config_mode, sizeof(o->config_mode), "%s", e.mode);
		o->mode = o->config_mode;
	}
	rc = 0;
	if (!stat(o->disk, &st) && record_switched_to(st.st_rdev, r)) {
		if (strcmp(r->name, dm)) {
			/* another device's data: neither done nor to overwrite */
			err("%s: %s switched to %s (recorded in %s/%s.state): it holds that device's data; not migrating %s onto it (remove the record once that data is not needed)",
			    dm, r->name, o->disk, VMOTION_STATE_DIR, r->name, dm);
			rc = -1;
		} else {
			printf("%s: its migration to %s already switched to it (%s/%s.state, %s); not starting it again\n",
			       dm, o->disk, VMOTION_STATE_DIR, dm, r->state);
			rc = 1;
		}
	}
out:
	free(r);
	return rc;
}

/* The device can be migrated: linear, its own, not migrating already. */
static int check_device(const char *name, const struct device *d)
{
	const char *manager = managed_by(d->uuid);

	if (manager && !strcmp(manager, "LVM")) {
		err("%s: an LVM logical volume (UUID %s): LVM would rebuild its old table from its metadata and undo the move; use pvmove",
		    name, d->uuid);
		return -1;
	}
	if (manager) {
		err("%s: managed by %s (UUID %s), which would rebuild its old table and undo the move; refusing",
		    name, manager, d->uuid);
		return -1;
	}
	if (all_type(d, DM_VMOTION_TARGET)) {
		err("%s: already migrating ('vmotion status %s' follows it, 'vmotion abort %s' stops it)",
		    name, name, name);
		return -1;
	}
	if (!all_type(d, "linear")) {
		for (int i = 0; i < d->nr; i++)
			if (strcmp(d->seg[i].type, "linear"))
				err("%s: segment %d (sector %" PRIu64 ") is '%s': only linear tables can be migrated",
				    name, i, d->seg[i].start, d->seg[i].type);
		if (!d->nr)
			err("%s: has no table", name);
		return -1;
	}
	return 0;
}

/*
 * A destination that a migration switched to holds that device's data now
 * (the udev rule sees it again at every boot; the old device may have been
 * rebuilt on its source): refused unless --force.
 */
static int check_finished(const char *path, dev_t dest, bool force)
{
	struct record *r = calloc(1, sizeof(*r));
	int rc = 0;

	if (r && record_switched_to(dest, r)) {
		if (force) {
			printf("%s: overwriting the destination of %s's finished migration (--force)\n",
			       path, r->name);
		} else {
			err("%s: %s switched to it (recorded in %s/%s.state): it holds that device's data now; refusing (--force to override)",
			    path, r->name, VMOTION_STATE_DIR, r->name);
			rc = -1;
		}
	}
	free(r);
	return rc;
}

/*
 * Was @dest the destination of @name's own migration, cut short (the tool
 * killed, the power failed: the device was rebuilt on its source)?  Then
 * what it carries is that migration's partial copy, signatures included,
 * and starting again over it is what is wanted: from the config too,
 * which takes no --force.  Only a record still "migrating" and a stable
 * identity say so; an aborted migration's disk is the operator's again.
 */
static bool own_interrupted(const char *name, const char *path, dev_t dest)
{
	struct record *r = calloc(1, sizeof(*r));
	char id[256];
	bool own;

	dest_identity(dest, id, sizeof(id));
	own = r && *id && !record_read(name, r) &&
	      !strcmp(r->state, REC_MIGRATING) && !strcmp(r->dest_id, id);
	if (own)
		printf("%s: %s holds this device's own interrupted migration (%s/%s.state): starting it again over it\n",
		       name, path, VMOTION_STATE_DIR, name);
	free(r);
	return own;
}

/*
 * Where each segment's metadata goes: where --metadata says; else at the
 * end of the destination if it has room past the migrated range; else
 * nowhere (in memory, as before metadata existed), with a line saying so.
 * Restore's are the recorded ones.
 */
static int plan_metadata(const char *name, const struct device *d,
			 const char *dest_path, dev_t dest,
			 const struct migrate_opts *o, struct md_area *a)
{
	uint64_t region = o->region_kib * 2, need = md_device_sectors(d, region);
	uint64_t len = 0, size, off;
	char path[256];
	struct stat st;

	memset(a, 0, d->nr * sizeof(*a));
	if (o->restore) {
		memcpy(a, o->areas, d->nr * sizeof(*a));
		for (int i = 0; i < d->nr; i++)
			if (a[i].dev && md_check(d, dest, &a[i], a[i].sectors))
				return -1;
		return 0;
	}
	if (o->no_metadata)
		return 0;
	if (o->metadata) {
		if (parse_metadata(o->metadata, path, sizeof(path), &off))
			return -1;
		if (stat(path, &st) || !S_ISBLK(st.st_mode)) {
			err("%s: the metadata device is not a block device%s%s",
			    path, errno ? ": " : "", errno ? strerror(errno) : "");
			return -1;
		}
		md_layout(d, region, st.st_rdev, path, off, a);
		return md_check(d, dest, a, need);
	}
	len = device_sectors(d);
	if (dest_sectors(dest_path, &size))
		return -1;
	if (size >= len + need) {
		off = (size - need) / DM_VMOTION_MIN_REGION_SECTORS *
		      DM_VMOTION_MIN_REGION_SECTORS;
		if (off >= len) {
			md_layout(d, region, dest, dest_path, off, a);
			return md_check(d, dest, a, need);
		}
	}
	printf("%s: %s has no room past the migrated range for the %" PRIu64 " sectors of metadata: progress will not survive a crash (--metadata DEV[:OFFSET] keeps it elsewhere)\n",
	       name, dest_path, need);
	return 0;
}

/*
 * The uuid @r records for segment @i's metadata, if @r is the record of a
 * migration in progress whose segment @i kept it where @a is.
 */
static bool recorded_uuid(const struct record *r, int i,
			  const struct md_area *a, uint8_t *uuid)
{
	char node[256];
	dev_t dev;

	if (!r || strcmp(r->state, REC_MIGRATING) || i >= r->nr ||
	    !r->seg[i].md || r->seg[i].md_off != a->offset ||
	    md_uuid_parse(r->seg[i].md_uuid, uuid))
		return false;
	return !identity_device(r->seg[i].md_id, r->seg[i].md_path, &dev,
				node, sizeof(node)) && dev == a->dev;
}

/*
 * Segment @i's header, before the load.  A switched migration's is
 * refused unless --force: the destination holds that device's data.  The
 * header of this device's own migration in progress (@r), made for the
 * same segment, is kept: the kernel resumes it.  Anything else is wiped,
 * its 4 KiB header block and nothing more, and the kernel formats a new
 * migration on the load.  Restore resumes, or refuses.
 */
static int prepare_area(const char *name, const struct segment *s, int i,
			const struct migrate_opts *o, const struct record *r,
			struct md_area *a)
{
	uint64_t region = o->region_kib * 2;
	const char *why = "";
	struct md_header h;
	uint8_t uuid[MD_UUID_LEN];
	char u[MD_UUID_STR] = "";
	int st = md_read(a->path, a->offset, &h, &why);

	if (st < 0)
		return -1;
	if (!st)
		md_uuid_str(h.uuid, u, sizeof(u));
	if (!st && h.state == DM_VMM_SWITCHED && !o->force) {
		err("%s:%" PRIu64 " records a switched migration %s (of %" PRIu64 " sectors): the destination holds the data; refusing to start %s over it (--force to override)",
		    a->path, a->offset, u, h.length, name);
		return -1;
	}
	if (!st && (h.state == DM_VMM_COPYING || h.state == DM_VMM_SYNCED) &&
	    recorded_uuid(r, i, a, uuid) && !memcmp(uuid, h.uuid, sizeof(uuid)) &&
	    h.length == s->len && h.region_size == region &&
	    h.source_offset == s->src_off && h.dest_offset == s->start) {
		printf("%s: segment %d resumes migration %s from its metadata (%s:%" PRIu64 ", %s)\n",
		       name, i, u, a->path, a->offset, md_state_name(h.state));
		a->resumes = true;
		return 0;
	}
	if (o->restore) {
		err("%s: %s:%" PRIu64 " does not hold the recorded migration %s (%s%s): not restoring it ('vmotion migrate' starts it again)",
		    name, a->path, a->offset, r->seg[i].md_uuid,
		    st == 1 ? "it has no header" : st == 2 ? why :
		    "it holds migration ", st ? "" : u);
		return -1;
	}
	if (!st && h.state == DM_VMM_SWITCHED)
		printf("%s:%" PRIu64 ": overwriting switched migration %s's metadata (--force)\n",
		       a->path, a->offset, u);
	return st == 1 ? 0 : md_wipe(a->path, a->offset);
}

static int prepare_metadata(const char *name, const struct device *d,
			    const struct migrate_opts *o, struct md_area *a)
{
	struct record *own = o->restore ? NULL : calloc(1, sizeof(*own));
	const struct record *r = o->restore;
	int rc = 0;

	if (own && !record_read(name, own))
		r = own;
	for (int i = 0; !rc && i < d->nr; i++)
		if (a[i].dev)
			rc = prepare_area(name, &d->seg[i], i, o, r, &a[i]);
	free(own);
	return rc;
}

/*
 * Zeroes.  skip_zeroes (--skip-zeroes, or by default onto a dm-thin
 * volume): what reads as zeroes on the source is not written as data on
 * the destination (the kernel uses a write-zeroes that may unmap, where
 * the destination has one).  dest_zeroed: the destination reads as zeroes
 * where the migration writes, so zeroes cost it nothing at all:
 *  - a thin volume with no block mapped (its status says so exactly);
 *  - a thin volume with blocks mapped, once *@discard: the migrated range
 *    is discarded before the load (an unmapped dm-thin block reads as
 *    zeroes; a partial block at its end is zeroed);
 *  - with --dest-is-zero, another disk whose samples read as zeroes
 *    (dest_reads_zero()), or whatever they read with --force.
 * Not onto a thin volume that reads an external origin, nor in a pool
 * with skip_block_zeroing (a block the copier skipped and the application
 * later writes in part would show the pool's old data).  Never on
 * restore: by then the destination holds part of the migration.
 */
static int plan_zeroes(const char *name, const struct device *d,
		       const char *dest_path, dev_t dest,
		       const struct migrate_opts *o, bool *skip, bool *zeroed,
		       bool *discard, struct thin *tp)
{
	struct thin t;
	int thin = thin_info(dest, &t), r;
	uint64_t bad;

	*tp = t;
	*skip = o->zeroes == ZEROES_SKIP || o->dest_is_zero ||
		(o->zeroes == ZEROES_DEFAULT && thin == 1);
	*zeroed = false;
	*discard = false;
	if (thin == 1 && (t.external_origin || t.no_zeroing)) {
		const char *why = t.external_origin ?
			"reads an external origin where it maps no block" :
			"is in a pool with skip_block_zeroing (a block written in part shows old data)";

		if (o->dest_is_zero) {
			err("%s: --dest-is-zero: the thin volume %s %s", name,
			    dest_path, why);
			return EXIT_FAILED;
		}
		if (o->zeroes == ZEROES_DEFAULT) {
			printf("%s: the thin volume %s %s: writing zeroes as data\n",
			       name, dest_path, why);
			*skip = false;
		}
		return 0;
	}
	if (o->restore) {
		if (o->restore->skip_zeroes >= 0)
			*skip = o->restore->skip_zeroes;
		return 0;
	}
	if (!*skip)
		return 0;
	if (thin == 1) {
		if (o->dest_is_zero && t.mapped) {
			err("%s: --dest-is-zero: %s is a thin volume with %" PRIu64 " sectors mapped, not all zeroes (without the option its blocks are discarded first)",
			    name, dest_path, t.mapped);
			return EXIT_FAILED;
		}
		if (t.mapped && t.no_discard) {
			printf("%s: the thin volume %s maps blocks and its pool ignores discards: writing zeroes\n",
			       name, dest_path);
			return 0;
		}
		*discard = t.mapped > 0;
		*zeroed = true;
		return 0;
	}
	if (!o->dest_is_zero)
		return 0;
	r = dest_reads_zero(dest_path, device_sectors(d), &bad);
	if (r < 0)
		return EXIT_FAILED;
	if (r && !o->force) {
		err("%s: --dest-is-zero: %s has data at sector %" PRIu64 " (--force takes it as zeroed anyway)",
		    name, dest_path, bad);
		return EXIT_FAILED;
	}
	if (r)
		printf("%s: %s has data at sector %" PRIu64 "; taking it as reading zeroes all the same (--force)\n",
		       name, dest_path, bad);
	*zeroed = true;
	return 0;
}

/*
 * A thin volume with blocks mapped (@t, as plan_zeroes() read it), for
 * dest_zeroed: discard the migrated range (dm-thin unmaps the whole blocks
 * inside, which then read as zeroes) and zero what is left of a block at
 * its end.
 */
static int discard_thin(const char *name, const struct device *d,
			const char *dest_path, const struct thin *t)
{
	uint64_t bytes = device_sectors(d) * 512, range[2];
	int fd = open(dest_path, O_WRONLY | O_CLOEXEC), r = -1;

	errno = 0;
	if (fd < 0 || !t->block)
		goto out;
	range[0] = 0;
	range[1] = bytes;
	if (ioctl(fd, BLKDISCARD, range))
		goto out;
	range[0] = bytes / (t->block * 512) * (t->block * 512);
	range[1] = bytes - range[0];
	if (range[1] && ioctl(fd, BLKZEROOUT, range))
		goto out;
	r = 0;
	printf("%s: discarded the old data on the thin volume %s (%" PRIu64 " sectors were mapped)\n",
	       name, dest_path, t->mapped);
out:
	if (r)
		err("%s: cannot discard the thin volume %s: %s", name, dest_path,
		    strerror(errno ? errno : EIO));
	if (fd >= 0)
		close(fd);
	return r;
}

/* --mode, or the default */
static const char *migrate_mode(const struct migrate_opts *o)
{
	return o->mode ? o->mode : DEFAULT_MODE;
}

/*
 * The linear segments, laid end to end on @dest, each with its metadata
 * area if it has one; a rate shared by length.
 */
static void vmotion_table(const struct device *d, dev_t dest,
			  const struct migrate_opts *o,
			  const struct md_area *a, bool skip, bool zeroed,
			  struct table *t)
{
	t->type = DM_VMOTION_TARGET;
	t->nr = d->nr;
	for (int i = 0; i < d->nr; i++) {
		unsigned int rate = segment_rate(d, i, o->rate_kib);
		char feat[128] = "";
		int n = 0, args = 0;

		if (rate) {
			n += snprintf(feat + n, sizeof(feat) - n,
				      " " DM_VMOTION_FEAT_RATE " %u", rate);
			args += 2;
		}
		if (a[i].dev) {
			n += snprintf(feat + n, sizeof(feat) - n,
				      " " DM_VMOTION_FEAT_METADATA " %u:%u %" PRIu64,
				      major(a[i].dev), minor(a[i].dev), a[i].offset);
			args += 3;
		}
		if (skip && !zeroed) {
			n += snprintf(feat + n, sizeof(feat) - n,
				      " " DM_VMOTION_FEAT_SKIP_ZEROES);
			args++;
		}
		if (zeroed) {
			n += snprintf(feat + n, sizeof(feat) - n,
				      " " DM_VMOTION_FEAT_DEST_ZEROED);
			args++;
		}
		if (strcmp(migrate_mode(o), DM_VMOTION_MODE_MIRROR)) {
			n += snprintf(feat + n, sizeof(feat) - n,
				      " " DM_VMOTION_FEAT_MODE " %s", migrate_mode(o));
			args += 2;
		}
		t->start[i] = d->seg[i].start;
		t->len[i] = d->seg[i].len;
		n = snprintf(t->params[i], sizeof(t->params[i]),
			     "%u:%u %" PRIu64 " %u:%u %" PRIu64 " %" PRIu64,
			     major(d->seg[i].src), minor(d->seg[i].src),
			     d->seg[i].src_off, major(dest), minor(dest),
			     d->seg[i].start, o->region_kib * 2);
		if (args)
			snprintf(t->params[i] + n, sizeof(t->params[i]) - n,
				 " %d%s", args, feat);
	}
}

/*
 * What was started, for restore, switch, and the next boot's udev rule:
 * with each segment's source and metadata area by stable identity, and
 * the uuid the kernel gave (or kept for) each area, read back now.
 */
static void record_start(const char *name, const char *path, dev_t dest,
			 const struct device *d, const struct migrate_opts *o,
			 const struct md_area *a, bool skip,
			 const struct table *t)
{
	struct record *r = calloc(1, sizeof(*r));
	size_t used = 0;

	if (!r)
		return;
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->state, sizeof(r->state), REC_MIGRATING);
	r->dest = dest;
	snprintf(r->dest_path, sizeof(r->dest_path), "%s", path);
	dest_identity(dest, r->dest_id, sizeof(r->dest_id));
	for (int i = 0; i < t->nr && used < sizeof(r->table); i++)
		used += snprintf(r->table + used, sizeof(r->table) - used,
				 "%" PRIu64 " %" PRIu64 " %s %s\n", t->start[i],
				 t->len[i], t->type, t->params[i]);
	r->region = o->region_kib * 2;
	r->rate_kib = o->rate_kib;
	r->no_switch = o->no_switch;
	r->skip_zeroes = skip;
	snprintf(r->mode, sizeof(r->mode), "%s", migrate_mode(o));
	r->nr = d->nr < REC_MAX_SEGMENTS ? d->nr : REC_MAX_SEGMENTS;
	for (int i = 0; i < r->nr; i++) {
		struct rec_segment *s = &r->seg[i];
		const struct segment *ds = &d->seg[i];
		const char *why;
		struct md_header h;

		dest_identity(ds->src, s->src_id, sizeof(s->src_id));
		dev_node(ds->src, s->src_path, sizeof(s->src_path));
		if (!a[i].dev)
			continue;
		s->md = true;
		s->md_off = a[i].offset;
		dest_identity(a[i].dev, s->md_id, sizeof(s->md_id));
		snprintf(s->md_path, sizeof(s->md_path), "%s", a[i].path);
		if (!md_read(a[i].path, a[i].offset, &h, &why))
			md_uuid_str(h.uuid, s->md_uuid, sizeof(s->md_uuid));
		else
			err("%s: warning: cannot read back the header at %s:%" PRIu64 ": its record cannot tell restore which migration it is",
			    name, a[i].path, a[i].offset);
	}
	if (o->restore)
		r->started = o->restore->started;
	else
		r->started = time(NULL);
	r->changed = time(NULL);
	record_write(r);
	free(r);
}

/*
 * Under the lock: check the device and the destination, load the table.
 * The reload and the resume are not cut by a signal; a vmotion killed
 * between them leaves an inactive table the next one clears (toollib.c).
 * On success *@loaded is the device as it runs now.
 */
int migrate_start(const char *name, const char *dest_path,
		  const struct migrate_opts *o, struct device *loaded)
{
	struct device *d = calloc(1, sizeof(*d));
	struct table *t = calloc(1, sizeof(*t));
	struct md_area *a = calloc(MAX_SEGMENTS, sizeof(*a));
	struct lock lock = {.fd = -1}, dest_lock = {.fd = -1};
	const char *force;
	int rc = EXIT_FAILED;
	char stale[128];
	struct stat st;
	bool skip, zeroed, discard;
	struct thin thin;
	sigset_t old;
	dev_t dest;

	if (!d || !t || !a ||
	    take_device(name, o->restore ? "restore" : "migrate", o->wait_lock,
			&lock, d) ||
	    check_device(name, d))
		goto out;
	/*
	 * The destination is checked and loaded under its own lock: its
	 * exclusive open in check_dest() is closed before the load, and
	 * device-mapper lets any number of tables claim a disk.
	 */
	if (!stat(dest_path, &st) && S_ISBLK(st.st_mode) &&
	    lock_device(st.st_rdev, true, dest_path, "migrate", o->wait_lock,
			&dest_lock, stale, sizeof(stale)))
		goto out;
	force = o->force ? "--force" : NULL;
	if (o->restore)
		force = "its own interrupted migration, restored";
	else if (!force && dest_lock.fd >= 0 &&
		 own_interrupted(name, dest_path, st.st_rdev))
		force = "its own interrupted migration";
	if (check_dest(d, dest_path, force, &dest) ||
	    check_finished(dest_path, dest, o->force))
		goto out;
	/* before the metadata is written: it maps blocks of a thin volume */
	rc = plan_zeroes(name, d, dest_path, dest, o, &skip, &zeroed, &discard,
			 &thin);
	if (rc)
		goto out;
	rc = EXIT_FAILED;
	if (plan_metadata(name, d, dest_path, dest, o, a) ||
	    prepare_metadata(name, d, o, a))
		goto out;
	/* a migration resumed from its metadata: the destination has its data */
	for (int i = 0; i < d->nr; i++)
		if (a[i].resumes)
			discard = zeroed = false;
	if (discard && discard_thin(name, d, dest_path, &thin))
		goto out;
	test_pause_point("migrate-checked");
	vmotion_table(d, dest, o, a, skip, zeroed, t);
	block_signals(&old);
	if (interrupted) {
		err("%s: interrupted before anything changed", name);
		rc = EXIT_INTR;
	} else if (reload(name, t)) {
		err("%s: the kernel refused the %s table (see dmesg): %s; nothing changed",
		    name, t->type, dm_reason(errno));
	} else {
		test_kill_point("migrate-loaded");
		if (resume(name)) {
			err("%s: resume with the %s table failed (see dmesg); the old table stays",
			    name, t->type);
			clear_inactive(name);
			resume(name);
		} else {
			rc = EXIT_DONE;
		}
	}
	restore_signals(&old);
	if (rc)
		goto out;
	record_start(name, dest_path, dest, d, o, a, skip, t);
	if (get_device(name, loaded, false)) {
		err("%s: cannot read the device it now runs: 'vmotion wait %s' follows the migration",
		    name, name);
		rc = EXIT_FAILED;
		goto out;
	}
	printf("%s: migrating to %s (%" PRIu64 " KiB regions%s%s%s)", name,
	       dest_path, o->region_kib,
	       strcmp(migrate_mode(o), DM_VMOTION_MODE_MIRROR) ? ", mode " : "",
	       strcmp(migrate_mode(o), DM_VMOTION_MODE_MIRROR) ? migrate_mode(o) : "",
	       o->rate_kib ? ", rate limited" : "");
	if (a[0].dev)
		printf(", metadata on %s at sector %" PRIu64, a[0].path,
		       a[0].offset);
	if (zeroed)
		printf(", zeroes skipped: the destination reads as zeroes");
	else if (skip)
		printf(", zeroes sent as write-zeroes where the destination has them");
	printf("\n");
	fflush(stdout);
out:
	unlock_device(&dest_lock, NULL);
	release_device(&lock);
	free(a);
	free(t);
	free(d);
	return rc;
}

int migrate_finish(const char *name, bool no_switch,
		   const struct device *loaded)
{
	int rc = follow(name, true);

	if (rc == EXIT_DONE && no_switch)
		printf("%s: in sync; run 'vmotion switch %s' to move to the destination\n",
		       name, name);
	else if (rc == EXIT_DONE)
		rc = cmd_switch_dev(name, loaded, true);
	return rc;
}

int cmd_migrate(int argc, char **argv)
{
	struct migrate_opts o = {.region_kib = DEFAULT_REGION_KIB};
	struct device *loaded = NULL;
	const char *dest_path;
	char name[128];
	int rc;

	rc = parse_options(argc, argv, &o);
	if (rc)
		return rc;
	if (o.from_config) {
		rc = from_config(argv[optind], &o);
		if (rc)
			return rc < 0 ? EXIT_FAILED : EXIT_DONE;
		dest_path = o.disk;
	} else {
		dest_path = argv[optind + 1];
	}
	loaded = calloc(1, sizeof(*loaded));
	rc = EXIT_FAILED;
	if (!loaded || resolve(argv[optind], name, sizeof(name)) ||
	    check_target())
		goto out;
	rc = migrate_start(name, dest_path, &o, loaded);
	if (!rc)
		rc = migrate_finish(name, o.no_switch, loaded);
out:
	free(loaded);
	return rc;
}

/*
 * metadata-size: the sectors of metadata a device needs, one area per
 * segment laid one after another, for a region size (the device's own if
 * it is migrating, else --region-size or the default).
 */
int cmd_metadata_size(int argc, char **argv)
{
	static const struct option opts[] = {
		{"region-size", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct device *d = calloc(1, sizeof(*d));
	uint64_t region_kib = DEFAULT_REGION_KIB, need;
	bool region_set = false;
	char name[128];
	int c, rc = EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (parse_region(optarg, &region_kib))
				goto out;
			region_set = true;
			break;
		case 'h':
			command_usage(stdout);
			free(d);
			exit(EXIT_DONE);
		default:
			command_usage(stderr);
			goto out;
		}
	}
	if (argc - optind != 1) {
		command_usage(stderr);
		goto out;
	}
	rc = EXIT_FAILED;
	if (!d || resolve(argv[optind], name, sizeof(name)) ||
	    get_device(name, d, false))
		goto out;
	if (!d->nr) {
		err("%s: has no table", name);
		goto out;
	}
	if (!region_set && all_type(d, DM_VMOTION_TARGET))
		region_kib = d->seg[0].region / 2;
	need = md_device_sectors(d, region_kib * 2);
	printf("%s: %" PRIu64 " sectors (%" PRIu64 " KiB) of metadata for %d segment%s with %" PRIu64 " KiB regions\n",
	       name, need, need / 2, d->nr, d->nr == 1 ? "" : "s", region_kib);
	rc = EXIT_DONE;
out:
	free(d);
	return rc;
}
