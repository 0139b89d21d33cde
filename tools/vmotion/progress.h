/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * progress.h: a migration's progress summed over its segments, and
 * following a migration to its end (progress.c).
 */
#ifndef VMOTION_PROGRESS_H
#define VMOTION_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct device;

struct progress {
	uint64_t synced_bytes, total_bytes;
	uint64_t synced, total;
	uint64_t copied_kib;
	uint64_t zero_kib;	/* of copied_kib: zeroes not written (skip_zeroes) */
	uint64_t rate;		/* KiB/s, summed over the segments */
	unsigned int dest_errors, source_errors;
	uint64_t held_writes;
	const char *state;
	bool error_paused;	/* on_error pause: waits for 'resume' */
	/*
	 * the metadata, worst first: "error", "off", "ok"; NULL if no
	 * segment keeps any
	 */
	const char *md;
	uint64_t md_recorded;	/* regions recorded in sync, summed */
	/* the segments' mode, "mixed" if they differ; "mirror" if not said */
	const char *mode;
	bool tracking;		/* a segment's writes go to the source alone */
	uint64_t redirtied;	/* regions dirtied again, summed */
	uint64_t pass;		/* the furthest pass of a segment */
};

void progress_of(const struct device *d, struct progress *p);
double percent(const struct progress *p);
long eta(const struct progress *p, double bytes_per_sec);
int follow(const char *name, bool show);

#endif
