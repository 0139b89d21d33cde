/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dest.h: the checks on a destination disk (dest.c).
 */
#ifndef VMOTION_DEST_H
#define VMOTION_DEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct device;

/*
 * Refuse a destination that is unsafe to overwrite: 0 if it is fine.
 * @force, if not NULL, says why a signature on it is overwritten anyway.
 */
int check_dest(const struct device *d, const char *path, const char *force,
	       dev_t *dest);
bool dest_answers(const char *name, const struct device *d);
/* A disk's size in sectors.  0 or -1 with a message. */
int dest_sectors(const char *path, uint64_t *sectors);
/*
 * Whether the first @sectors of @path read as zeroes where sampled: its
 * first and last MiB and 64 blocks of 64 KiB spread between.  0 if they
 * do; 1 with the first sector that does not in *@bad; -1 with a message.
 */
int dest_reads_zero(const char *path, uint64_t sectors, uint64_t *bad);
/* The /dev node of a block device number ("" if none is known). */
void dev_node(dev_t dev, char *path, size_t size);

#endif
