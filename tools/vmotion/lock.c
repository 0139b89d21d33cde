// SPDX-License-Identifier: GPL-2.0-only
/*
 * lock: one vmotion at a time on a device.  Every command that changes a
 * device takes its lock, a file under /run/vmotion named after the device's
 * major:minor, with flock(2): the kernel drops it when the holder dies, so
 * a lock is never left behind.  A destination being checked and loaded has
 * its own lock (dest-MAJ:MIN.lock), so that two migrations cannot both
 * take one disk: device-mapper lets every table claim it.  The holder writes "PID COMMAND" in it and
 * empties it when it is done; a lock found free but not empty was held by
 * a vmotion that died in the middle of a command, and the next holder is
 * told so (toollib.c undoes what such a death can leave).  It knows nothing
 * of device-mapper, of migrations or of the command line.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lock.h"
#include "util.h"

/* What the file says: "PID COMMAND", or "" */
static void holder(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int lock_device(dev_t dev, bool dest, const char *name, const char *cmd,
		bool wait, struct lock *l, char *stale, size_t size)
{
	char path[64], who[128], line[128];
	int fd, n;

	if (mkdir(VMOTION_RUN_DIR, 0700) && errno != EEXIST) {
		err("%s: cannot create %s: %s", name, VMOTION_RUN_DIR, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), VMOTION_RUN_DIR "/%s%u:%u.lock",
		 dest ? "dest-" : "", major(dev), minor(dev));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err("%s: cannot open %s: %s", name, path, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB))) {
		if (errno == EINTR && !interrupted)
			continue;
		if (errno == EWOULDBLOCK) {
			holder(fd, who, sizeof(who));
			if (dest)
				err("%s: another vmotion (PID %s) is taking it as its destination; --wait-lock waits for it",
				    name, *who ? who : "?");
			else
				err("%s: already being migrated by PID %s; 'vmotion status %s' shows it, --wait-lock waits for it",
				    name, *who ? who : "?", name);
		} else if (errno == EINTR) {
			err("%s: interrupted while waiting for the lock", name);
		} else {
			err("%s: cannot lock %s: %s", name, path, strerror(errno));
		}
		close(fd);
		return -1;
	}
	holder(fd, stale, size);
	n = snprintf(line, sizeof(line), "%d (vmotion %s)\n", getpid(), cmd);
	if (ftruncate(fd, 0) || pwrite(fd, line, n, 0) != n) {
		err("%s: cannot write %s: %s", name, path, strerror(errno));
		close(fd);
		return -1;
	}
	l->fd = fd;
	return 0;
}

void unlock_device(struct lock *l, const char *leave)
{
	size_t n = leave ? strlen(leave) : 0;

	if (l->fd < 0)
		return;
	if (ftruncate(l->fd, 0) || (n && pwrite(l->fd, leave, n, 0) != (ssize_t)n))
		err("warning: cannot write the lock file: %s", strerror(errno));
	close(l->fd);
	l->fd = -1;
}
