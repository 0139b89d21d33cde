// SPDX-License-Identifier: GPL-2.0-only
/*
 * dest: the checks on a destination disk.  check_dest(), before a migration
 * starts, refuses a destination that is not a block device, is the device
 * or its source, is in use, is too small, has larger logical blocks than a
 * source, cannot be probed, or carries a filesystem or partition table
 * signature (one or several, libblkid) unless forced; dest_answers(), before
 * a switch, reads the first block of each segment's destination with
 * O_DIRECT to see that it is still there.  It reads the disks and the
 * device as dm.c describes it; it changes no table, knows nothing of the
 * command line, and libblkid is used here and only here.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <blkid/blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dest.h"
#include "dm.h"
#include "util.h"

/* Logical block size of a device, from sysfs; 0 if unknown. */
static unsigned int sysfs_lbs(dev_t dev)
{
	char path[96];
	unsigned int lbs = 0;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/dev/block/%u:%u/queue/logical_block_size", major(dev),
		 minor(dev));
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%u", &lbs) != 1)
			lbs = 0;
		fclose(f);
	}
	return lbs;
}

/*
 * The destination must take every write a source takes: a larger logical
 * block would raise the device's block size under a mounted filesystem.
 */
static int check_block_size(const struct device *d, const char *path, int fd)
{
	int dest_lbs;

	if (ioctl(fd, BLKSSZGET, &dest_lbs)) {
		err("%s: cannot read its logical block size: %s", path,
		    strerror(errno));
		return -1;
	}
	for (int i = 0; i < d->nr; i++) {
		unsigned int src_lbs = sysfs_lbs(d->seg[i].src);

		if (src_lbs && (unsigned int)dest_lbs > src_lbs) {
			err("%s: the destination's logical block size is %d bytes, larger than the source's (%u:%u, %u bytes): the device's block size would change under its users",
			    path, dest_lbs, major(d->seg[i].src),
			    minor(d->seg[i].src), src_lbs);
			return -1;
		}
	}
	return 0;
}

/*
 * Where signatures live, the first and the last MiB, must read: a disk
 * that cannot be read cannot be told blank (libblkid takes some read
 * errors for an ambivalent result, others for nothing found).
 */
static int check_readable(const char *path, int fd, uint64_t size)
{
	uint64_t span = size < (1 << 20) ? size : (1 << 20);
	char *buf = malloc(span);
	int e = 0;

	if (!buf)
		return -1;
	if (pread(fd, buf, span, 0) != (ssize_t)span ||
	    pread(fd, buf, span, size - span) != (ssize_t)span)
		e = errno ? errno : EIO;
	free(buf);
	if (e) {
		err("%s: cannot read the destination to look for signatures (%s): refusing it",
		    path, strerror(e));
		return -1;
	}
	return 0;
}

/*
 * Signatures on the destination (libblkid): a filesystem, RAID member or
 * partition table, or several at once (ambivalent), are refused unless
 * @force; a disk that cannot be read is refused whatever @force says.
 */
static int check_signatures(const char *path, int fd, const char *force)
{
	const char *type = NULL;
	char what[96];
	blkid_probe pr;
	int r;

	pr = blkid_new_probe();
	if (!pr || blkid_probe_set_device(pr, fd, 0, 0)) {
		err("%s: cannot probe for signatures", path);
		blkid_free_probe(pr);
		return -1;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	r = blkid_do_safeprobe(pr);
	if (r == 0 &&
	    blkid_probe_lookup_value(pr, "TYPE", &type, NULL) &&
	    blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL))
		type = "unknown";
	if (type)
		snprintf(what, sizeof(what), "%s %s signature", article(type), type);
	else
		snprintf(what, sizeof(what), "several signatures (blkid: ambivalent)");
	blkid_free_probe(pr);

	if (r == -1) {
		err("%s: cannot read the destination to look for signatures: refusing it",
		    path);
		return -1;
	}
	if (r == 1)
		return 0;
	if (!force) {
		err("%s: the destination carries %s; refusing to overwrite it (--force to override)",
		    path, what);
		return -1;
	}
	printf("%s: overwriting %s (%s)\n", path, what, force);
	return 0;
}

int check_dest(const struct device *d, const char *path, const char *force,
		      dev_t *dest)
{
	uint64_t need = 0, size = 0;
	struct stat st;
	int fd;

	for (int i = 0; i < d->nr; i++)
		need += d->seg[i].len * 512;

	if (stat(path, &st)) {
		err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISBLK(st.st_mode)) {
		err("%s: not a block device", path);
		return -1;
	}
	*dest = st.st_rdev;
	if (st.st_rdev == d->dev) {
		err("%s: the destination is the device being migrated", path);
		return -1;
	}
	for (int i = 0; i < d->nr; i++) {
		if (st.st_rdev == d->seg[i].src) {
			err("%s: the destination is the source (%u:%u)", path,
			    major(st.st_rdev), minor(st.st_rdev));
			return -1;
		}
	}

	/* exclusive open: fails if mounted, held by dm/md, or open O_EXCL */
	fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0) {
		err("%s: the destination is in use (%s)", path, strerror(errno));
		return -1;
	}
	if (ioctl(fd, BLKGETSIZE64, &size)) {
		err("%s: cannot read its size: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (size < need) {
		err("%s: the destination is too small: %" PRIu64 " bytes, %s needs %" PRIu64,
		    path, size, d->name, need);
		close(fd);
		return -1;
	}

	errno = 0;
	if (check_block_size(d, path, fd) || check_readable(path, fd, size) ||
	    check_signatures(path, fd, force)) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Read the first block of every segment's destination.  A destination that
 * died while the device was idle has had no write the target could see
 * fail, so its status still says synced: this read is what notices, while
 * the source still serves everything.
 */
bool dest_answers(const char *name, const struct device *d)
{
	for (int i = 0; i < d->nr; i++) {
		const struct segment *s = &d->seg[i];
		char *path = blkid_devno_to_devname(s->dest);
		void *buf = NULL;
		ssize_t n = -1;
		int fd = -1, e = ENODEV;

		if (path) {
			fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
			e = fd < 0 ? errno : posix_memalign(&buf, 4096, 4096);
		}
		if (fd >= 0 && !e) {
			n = pread(fd, buf, 4096, (off_t)(s->dest_off * 512) & ~(off_t)4095);
			e = n < 0 ? errno : EIO;
		}
		if (fd >= 0)
			close(fd);
		free(buf);
		free(path);
		if (n != 4096) {
			err("%s: the destination %u:%u does not answer a read (%s); left migrating",
			    name, major(s->dest), minor(s->dest), strerror(e));
			return false;
		}
	}
	return true;
}

#define ZERO_SAMPLES		64
#define ZERO_SAMPLE_BYTES	(64 << 10)

/* @len bytes at @off of @fd: -1 unreadable, 1 not all zero (sector in *@bad) */
static int zero_at(int fd, char *buf, uint64_t off, uint64_t len, uint64_t *bad)
{
	errno = 0;
	if (pread(fd, buf, len, off) != (ssize_t)len)
		return -1;
	for (uint64_t i = 0; i < len; i++) {
		if (buf[i]) {
			*bad = (off + i) / 512;
			return 1;
		}
	}
	return 0;
}

int dest_reads_zero(const char *path, uint64_t sectors, uint64_t *bad)
{
	uint64_t size = sectors * 512, edge = size < (1 << 20) ? size : (1 << 20);
	void *buf = NULL;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0 || (errno = posix_memalign(&buf, 4096, 1 << 20))) {
		err("%s: cannot read it to check that it reads as zeroes: %s",
		    path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	r = zero_at(fd, buf, 0, edge, bad);
	if (!r)
		r = zero_at(fd, buf, size - edge, edge, bad);
	for (int i = 1; !r && i <= ZERO_SAMPLES && size > 2 * edge; i++) {
		uint64_t off = size / (ZERO_SAMPLES + 1) * i / 4096 * 4096;

		if (off + ZERO_SAMPLE_BYTES <= size)
			r = zero_at(fd, buf, off, ZERO_SAMPLE_BYTES, bad);
	}
	if (r < 0)
		err("%s: cannot read it to check that it reads as zeroes: %s",
		    path, strerror(errno ? errno : EIO));
	free(buf);
	close(fd);
	return r;
}

int dest_sectors(const char *path, uint64_t *sectors)
{
	uint64_t bytes;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes)) {
		err("%s: cannot read its size: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	*sectors = bytes / 512;
	return 0;
}

void dev_node(dev_t dev, char *path, size_t size)
{
	char *p = blkid_devno_to_devname(dev);

	snprintf(path, size, "%s", p ? p : "");
	free(p);
}
