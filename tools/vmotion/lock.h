/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lock.h: one vmotion at a time on a device (lock.c).
 */
#ifndef VMOTION_LOCK_H
#define VMOTION_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Where the locks live; a tmpfs, emptied at boot */
#define VMOTION_RUN_DIR	"/run/vmotion"

struct lock {
	int fd;
};

/*
 * Take the lock of the device @dev (named @name in messages) for the
 * command @cmd; with @dest, the lock of @dev as a destination.  A lock
 * another vmotion holds is refused ("NAME: already being migrated by PID N
 * (vmotion CMD)") unless @wait, which waits for it.  *@stale, if a previous
 * holder died holding it (SIGKILL, a crash), says which ("PID CMD"), else
 * is "".  0, or -1 with a message.
 */
int lock_device(dev_t dev, bool dest, const char *name, const char *cmd,
		bool wait, struct lock *l, char *stale, size_t size);

/*
 * Release it, emptied: the command finished what it did.  With @leave, the
 * lock says that instead (a holder that died in the middle, whose leavings
 * are still to undo by the next one).
 */
void unlock_device(struct lock *l, const char *leave);

#endif
