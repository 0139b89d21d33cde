/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * state.h: the migrations vmotion started, as recorded under
 * /var/lib/vmotion (state.c).
 */
#ifndef VMOTION_STATE_H
#define VMOTION_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define VMOTION_STATE_DIR	"/var/lib/vmotion"

/* What a record says happened last */
#define REC_MIGRATING	"migrating"
#define REC_SWITCHING	"switching"	/* written before the suspend */
#define REC_SWITCHED	"switched"
#define REC_ABORTED	"aborted"

#define REC_MAX_SEGMENTS	256

/* What restore needs of a segment beyond its table line */
struct rec_segment {
	char src_id[256];	/* the source's stable identity, "" if none */
	char src_path[256];
	bool md;		/* it keeps metadata: */
	char md_id[256];	/* on this disk, */
	char md_path[256];
	uint64_t md_off;	/* at this sector, */
	char md_uuid[40];	/* for this migration ("" until read back) */
};

struct record {
	char name[128];
	char state[16];
	dev_t dest;		/* as it was when recorded */
	char dest_path[256];
	char dest_id[256];	/* a stable identity: see dest_identity() */
	/*
	 * the vmotion table loaded, one line per segment: room for every
	 * segment's line (start, length, type, parameters of up to 320)
	 */
	char table[REC_MAX_SEGMENTS * 400];
	time_t started;
	time_t changed;
	/* as migrate was told: region size in sectors, rate in KiB/s */
	uint64_t region;
	uint64_t rate_kib;
	bool no_switch;
	int skip_zeroes;	/* 1 skipped, 0 written, -1 not recorded */
	char mode[8];		/* --mode; "" not recorded */
	int nr;			/* segments below: 0 in an older record */
	struct rec_segment seg[REC_MAX_SEGMENTS];
};

/*
 * A stable identity for a disk, from udev: "wwn=...", "serial=..." or, for
 * a device-mapper device, "dm-uuid=..."; a partition adds its number
 * ("serial=...,part=2": its disk's serial is its own too); "" when it has
 * none.
 */
void dest_identity(dev_t dev, char *id, size_t size);

/*
 * The block device whose stable identity is @id, found among the devices
 * udev knows; if @id is "", @path's (device numbers change across boots,
 * paths may too: a path is the last resort).  0, with *@dev and its node
 * in @node; 1 if there is none, or several (@id tells none apart).
 */
int identity_device(const char *id, const char *path, dev_t *dev,
		    char *node, size_t size);

/* Write @r as @r->name's record, atomically.  0, or -1 with a message. */
int record_write(const struct record *r);

/* @name's record.  0; 1 if there is none; -1 with a message if unreadable. */
int record_read(const char *name, struct record *r);

/*
 * A switched migration whose destination is @dev, by its stable identity
 * (a disk without one cannot be told from another that took its number):
 * its record in *@r, true.  A record left at "switching" (the tool died
 * during the switch, the power failed) counts as switched: the destination
 * may hold the only current copy.
 */
bool record_switched_to(dev_t dev, struct record *r);

/*
 * Call @fn for every record, read into @r (the same buffer each time),
 * in name order.  -1 if the directory cannot be read (none: 0).
 */
int for_each_record(struct record *r,
		    void (*fn)(const struct record *r, void *arg), void *arg);

#endif
