/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * toollib.h: what the commands that change a device share (toollib.c).
 */
#ifndef VMOTION_TOOLLIB_H
#define VMOTION_TOOLLIB_H

#include <stdbool.h>
#include <stdint.h>

#include "dm.h"
#include "lock.h"

/*
 * Lock the device @name for @cmd and read its table and status into @d.
 * What a vmotion that died in the middle of a command left is undone first;
 * a device someone else suspended is refused.  0, or -1 with a message.
 */
int take_device(const char *name, const char *cmd, bool wait,
		struct lock *l, struct device *d);
void release_device(struct lock *l);

/*
 * Segment @i's share of a rate for the whole device, by length: at least
 * 1 KiB/s when there is a limit (0 is none).
 */
unsigned int segment_rate(const struct device *d, int i, uint64_t rate_kib);

/* The vmotion target is there, in a version this tool speaks.  0 or -1. */
int check_target(void);

#endif
