/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm.h: the vmotion tool's device-mapper layer (dm.c): a device's table
 * and vmotion status as read from the kernel, and the operations on it.
 */
#ifndef VMOTION_DM_H
#define VMOTION_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAX_SEGMENTS		256

struct segment {
	uint64_t start;
	uint64_t len;
	char type[32];
	/* linear: src; vmotion: src and dest */
	dev_t src;
	uint64_t src_off;
	dev_t dest;
	uint64_t dest_off;
	unsigned int region;
	char features[256];
	/* vmotion: its "metadata <dev> <offset>" feature; md_dev 0 if none */
	dev_t md_dev;
	uint64_t md_off;
	/* vmotion status */
	uint64_t synced, total;
	char state[16];
	unsigned int rate;
	uint64_t copied_kib;
	unsigned int dest_errors, source_errors;
	uint64_t held_writes;
	char paused_by[8];
	char md_state[8];	/* "-" none, "ok", "error", "off" */
	uint64_t md_intents;	/* write-intent bits set */
	uint64_t md_writes;	/* metadata blocks written */
	uint64_t md_recorded;	/* regions recorded in sync on disk */
	uint64_t zero_kib;	/* copied without writing data (skip_zeroes) */
	char mode[8];		/* mirror, track, auto ("" from an older module) */
	char mode_in_force[8];	/* mirror or track */
	uint64_t redirtied;	/* regions a tracked write took out of sync */
	uint64_t pass;		/* pass of the copier */
};

struct device {
	char name[128];
	char uuid[130];		/* DM_UUID_LEN */
	dev_t dev;
	uint32_t event_nr;
	bool suspended;
	bool inactive;		/* a table is loaded, waiting for a resume */
	int open_count;		/* openers of the device (mounts, programs) */
	int nr;
	struct segment seg[MAX_SEGMENTS];
};

/* Sectors of @d: its segments, laid end to end from sector 0 */
uint64_t device_sectors(const struct device *d);

/* Load the targets of @t (type and params per segment) and resume. */
struct table {
	int nr;
	uint64_t start[MAX_SEGMENTS], len[MAX_SEGMENTS];
	const char *type;
	char params[MAX_SEGMENTS][320];
};

void init_dm(void);
const char *dm_reason(int e);
int resolve(const char *arg, char *name, size_t size);
bool device_exists(const char *name);
int get_device(const char *name, struct device *d, bool with_status);
int get_inactive(const char *name, struct device *d);
bool same_table(const struct device *a, const struct device *b);
bool table_is(const struct device *d, const struct table *t);
const char *managed_by(const char *uuid);
int target_version(uint32_t version[3]);
bool all_type(const struct device *d, const char *type);
int get_migrating(const char *name, struct device *d, bool with_status);
int for_each_device(void (*fn)(const char *name, void *arg), void *arg);
void linear_table(const struct device *d, bool to_dest, struct table *t);
void device_table(const struct device *d, struct table *t);
int clear_inactive(const char *name);
int resume_at(const char *name, double *resumed_at);
int resume(const char *name);
int suspend(const char *name);
int reload(const char *name, const struct table *t);
int replace_table(const char *name, const struct table *t);
int message(const char *name, uint64_t sector, const char *msg);
int wait_event(const char *name, uint32_t event_nr);
/* A dm-thin volume, as thin_info() reads it */
struct thin {
	uint64_t mapped;	/* sectors mapped */
	uint64_t block;		/* the pool's block size, sectors */
	bool external_origin;	/* unmapped blocks read another device */
	bool no_zeroing;	/* the pool's skip_block_zeroing */
	bool no_discard;	/* the pool's ignore_discard */
};

/*
 * @dev is a dm-thin volume (one "thin" target over all of it): 1 and
 * *@t; 0 if it is something else; -1 if it cannot be read.
 */
int thin_info(dev_t dev, struct thin *t);

#endif
