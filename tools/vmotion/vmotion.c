// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmotion: move a device-mapper device's data to another disk while it is
 * in use, with the kernel's vmotion target.  See vmotion(8).
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <blkid/blkid.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <libudev.h>
#include <linux/fs.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "dm-vmotion.h"

/* Exit statuses */
#define EXIT_DONE	0
#define EXIT_FAILED	1	/* migration failed or refused; source intact */
#define EXIT_USAGE	2
#define EXIT_INTR	130	/* interrupted; the migration goes on */

#define DEFAULT_REGION_KIB	512
#define MAX_SEGMENTS		256
#define DEFAULT_CONFIG		"/etc/vmotion/migrations.conf"
/* Nice value while a device is suspended (LVM's process_priority) */
#define CRITICAL_PRIORITY	-18

static const char *prog = "vmotion";

/*---------------------------------------------------------------------------*/
/* Messages */

static void err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s migrate [--region-size SIZE] [--rate RATE] [--no-switch] [--force] <dm device> <dest device>\n"
		"       %s status [--json] [<dm device>...]\n"
		"       %s wait <dm device>\n"
		"       %s switch <dm device>\n"
		"       %s abort <dm device>\n"
		"       %s pause|resume <dm device>\n"
		"       %s rate <dm device> <RATE>\n"
		"       %s migrate --from-config <dm device>      (as udev/systemd do)\n"
		"       %s check-config [--config FILE]\n"
		"       %s udev-match [--config FILE]              (from the udev rule)\n"
		"SIZE and RATE (per second) take K, M, G suffixes; a bare number is KiB.\n",
		prog, prog, prog, prog, prog, prog, prog, prog, prog, prog);
}

/*---------------------------------------------------------------------------*/
/* Parsing */

/* "512K", "4M", "1G", "300" (KiB): to KiB.  Returns -1 if invalid. */
static int parse_kib(const char *s, uint64_t *kib)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		mult = 1;
		end++;
		break;
	case 'M':
		mult = 1024;
		end++;
		break;
	case 'G':
		mult = 1024 * 1024;
		end++;
		break;
	default:
		return -1;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || v > UINT64_MAX / mult)
		return -1;
	*kib = v * mult;
	return 0;
}

static int parse_dev_t(const char *s, dev_t *dev)
{
	unsigned int ma, mi;
	char c;

	if (sscanf(s, "%u:%u%c", &ma, &mi, &c) != 2)
		return -1;
	*dev = makedev(ma, mi);
	return 0;
}

/*---------------------------------------------------------------------------*/
/* Device-mapper access (libdevmapper) */

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
	/* vmotion status */
	uint64_t synced, total;
	char state[16];
	unsigned int rate;
	uint64_t copied_kib;
	unsigned int dest_errors, source_errors;
	uint64_t held_writes;
	char paused_by[8];
};

struct device {
	char name[128];
	dev_t dev;
	uint32_t event_nr;
	bool suspended;
	int nr;
	struct segment seg[MAX_SEGMENTS];
};

static struct dm_task *task(int type, const char *name)
{
	struct dm_task *dmt = dm_task_create(type);

	if (!dmt)
		return NULL;
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

/* A dm name, /dev/mapper/NAME or /dev/dm-N: the dm name. */
static int resolve(const char *arg, char *name, size_t size)
{
	struct dm_task *dmt;
	struct dm_info info;
	struct stat st;
	const char *n;
	int ok = -1;

	if (!strchr(arg, '/')) {
		snprintf(name, size, "%s", arg);
		return 0;
	}
	if (stat(arg, &st) || !S_ISBLK(st.st_mode)) {
		err("%s: not a block device", arg);
		return -1;
	}
	dmt = dm_task_create(DM_DEVICE_INFO);
	if (!dmt)
		return -1;
	if (dm_task_set_major(dmt, major(st.st_rdev)) &&
	    dm_task_set_minor(dmt, minor(st.st_rdev)) && dm_task_run(dmt) &&
	    dm_task_get_info(dmt, &info) && info.exists) {
		n = dm_task_get_name(dmt);
		if (n) {
			snprintf(name, size, "%s", n);
			ok = 0;
		}
	}
	if (ok)
		err("%s: not a device-mapper device", arg);
	dm_task_destroy(dmt);
	return ok;
}

static int parse_linear(struct segment *s, const char *params)
{
	char dev[64];
	unsigned long long off;

	if (sscanf(params, "%63s %llu", dev, &off) != 2 || parse_dev_t(dev, &s->src))
		return -1;
	s->src_off = off;
	return 0;
}

static int parse_vmotion_table(struct segment *s, const char *params)
{
	char src[64], dest[64];
	unsigned long long so, dof;
	int n = 0;

	if (sscanf(params, "%63s %llu %63s %llu %u%n", src, &so, dest, &dof,
		   &s->region, &n) != 5 ||
	    parse_dev_t(src, &s->src) || parse_dev_t(dest, &s->dest))
		return -1;
	s->src_off = so;
	s->dest_off = dof;
	snprintf(s->features, sizeof(s->features), "%s", params + n);
	return 0;
}

static int parse_vmotion_status(struct segment *s, const char *params)
{
	unsigned long long synced, total, copied, held = 0;
	unsigned int region;

	/* held writes, the ninth field, and any added later are optional */
	snprintf(s->paused_by, sizeof(s->paused_by), DM_VMOTION_PAUSED_BY_NONE);
	if (sscanf(params, "%llu/%llu %u %15s %u %llu %u %u %llu %7s", &synced,
		   &total, &region, s->state, &s->rate, &copied,
		   &s->dest_errors, &s->source_errors, &held, s->paused_by) < 8)
		return -1;
	s->held_writes = held;
	s->synced = synced;
	s->total = total;
	s->copied_kib = copied;
	return 0;
}

/*
 * Read a device's table (and, for vmotion segments, status).  Returns -1
 * with a message if it does not exist or cannot be read.
 */
static int get_device(const char *name, struct device *d, bool with_status)
{
	struct dm_task *dmt;
	struct dm_info info;
	uint64_t start, len;
	char *type, *params;
	void *next = NULL;
	int pass, r = -1;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);

	for (pass = 0; pass < (with_status ? 2 : 1); pass++) {
		dmt = task(pass ? DM_DEVICE_STATUS : DM_DEVICE_TABLE, name);
		if (!dmt)
			return -1;
		/* status must not wait for I/O to drain */
		if (pass)
			dm_task_no_flush(dmt);
		if (!dm_task_run(dmt) || !dm_task_get_info(dmt, &info) ||
		    !info.exists) {
			err("%s: no such device-mapper device", name);
			goto out;
		}
		d->dev = makedev(info.major, info.minor);
		d->event_nr = info.event_nr;
		d->suspended = info.suspended;
		next = NULL;
		d->nr = pass ? d->nr : 0;
		for (int i = 0;; i++) {
			struct segment *s;

			next = dm_get_next_target(dmt, next, &start, &len, &type,
						  &params);
			if (!type)
				break;
			if (i >= MAX_SEGMENTS) {
				err("%s: more than %d segments", name, MAX_SEGMENTS);
				goto out;
			}
			s = &d->seg[i];
			if (!pass) {
				s->start = start;
				s->len = len;
				snprintf(s->type, sizeof(s->type), "%s", type);
				if (!strcmp(type, "linear") && parse_linear(s, params))
					goto bad;
				if (!strcmp(type, DM_VMOTION_TARGET) &&
				    parse_vmotion_table(s, params))
					goto bad;
				d->nr = i + 1;
			} else if (!strcmp(type, DM_VMOTION_TARGET) &&
				   parse_vmotion_status(s, params)) {
				goto bad;
			}
			if (!next)
				break;
			continue;
bad:
			err("%s: cannot parse %s segment at %" PRIu64 ": '%s'",
			    name, type, start, params);
			goto out;
		}
		dm_task_destroy(dmt);
		dmt = NULL;
	}
	return 0;
out:
	dm_task_destroy(dmt);
	return r;
}

static bool all_type(const struct device *d, const char *type)
{
	if (!d->nr)
		return false;
	for (int i = 0; i < d->nr; i++)
		if (strcmp(d->seg[i].type, type))
			return false;
	return true;
}

/* Load the targets of @t (type and params per segment) and resume. */
struct table {
	int nr;
	uint64_t start[MAX_SEGMENTS], len[MAX_SEGMENTS];
	const char *type;
	char params[MAX_SEGMENTS][320];
};

static int clear_inactive(const char *name)
{
	struct dm_task *dmt = task(DM_DEVICE_CLEAR, name);
	int ok = dmt && dm_task_run(dmt);

	if (dmt)
		dm_task_destroy(dmt);
	return ok ? 0 : -1;
}

static double now(void);

/*
 * Resume, then wait for udev to have processed the change.  *@resumed_at,
 * if given, is when I/O flowed again: the end of the ioctl, before udev.
 */
static int resume_at(const char *name, double *resumed_at)
{
	struct dm_task *dmt = task(DM_DEVICE_RESUME, name);
	uint32_t cookie = 0;
	int ok;

	if (!dmt)
		return -1;
	ok = dm_task_set_cookie(dmt, &cookie, 0) && dm_task_run(dmt);
	if (resumed_at)
		*resumed_at = now();
	dm_udev_wait(cookie);
	dm_task_destroy(dmt);
	return ok ? 0 : -1;
}

static int resume(const char *name)
{
	return resume_at(name, NULL);
}

/*
 * Suspend, waiting for I/O in flight (flush) but without freezing a
 * filesystem on top: the data does not move, only its mapping, so there is
 * nothing a freeze would protect and the pause stays short.
 */
static int suspend(const char *name)
{
	struct dm_task *dmt = task(DM_DEVICE_SUSPEND, name);
	int ok = dmt && dm_task_skip_lockfs(dmt) && dm_task_run(dmt);

	if (dmt)
		dm_task_destroy(dmt);
	return ok ? 0 : -1;
}

static int reload(const char *name, const struct table *t)
{
	struct dm_task *dmt = task(DM_DEVICE_RELOAD, name);
	int ok = !!dmt;

	for (int i = 0; ok && i < t->nr; i++)
		ok = dm_task_add_target(dmt, t->start[i], t->len[i], t->type,
					t->params[i]);
	ok = ok && dm_task_run(dmt);
	if (dmt)
		dm_task_destroy(dmt);
	return ok ? 0 : -1;
}

/*
 * Replace the live table with @t: reload, then resume.  If the resume
 * fails, the old table is put back.  Atomic for the application: the
 * device is suspended only between the two.
 */
static int replace_table(const char *name, const struct table *t)
{
	if (reload(name, t)) {
		err("%s: the kernel refused the %s table (see dmesg); nothing changed",
		    name, t->type);
		return -1;
	}
	if (resume(name)) {
		err("%s: resume with the %s table failed (see dmesg); the old table stays",
		    name, t->type);
		clear_inactive(name);
		resume(name);
		return -1;
	}
	return 0;
}

static int message(const char *name, uint64_t sector, const char *msg)
{
	struct dm_task *dmt = task(DM_DEVICE_TARGET_MSG, name);
	int ok = dmt && dm_task_set_sector(dmt, sector) &&
		 dm_task_set_message(dmt, msg) && dm_task_run(dmt);

	if (dmt)
		dm_task_destroy(dmt);
	return ok ? 0 : -1;
}

/* Block until the device's event counter passes @event_nr. */
static int wait_event(const char *name, uint32_t event_nr)
{
	struct dm_task *dmt = task(DM_DEVICE_WAITEVENT, name);
	int ok = dmt && dm_task_set_event_nr(dmt, event_nr) && dm_task_run(dmt);

	if (dmt)
		dm_task_destroy(dmt);
	return ok ? 0 : -1;
}

/*---------------------------------------------------------------------------*/
/* Migration state, summed over segments */

struct progress {
	uint64_t synced_bytes, total_bytes;
	uint64_t synced, total;
	uint64_t copied_kib;
	unsigned int rate;
	unsigned int dest_errors, source_errors;
	uint64_t held_writes;
	const char *state;
	bool error_paused;	/* on_error pause: waits for 'resume' */
};

static void progress_of(const struct device *d, struct progress *p)
{
	bool failed = false, copying = false, paused = false;

	memset(p, 0, sizeof(*p));
	for (int i = 0; i < d->nr; i++) {
		const struct segment *s = &d->seg[i];
		uint64_t region_bytes = (uint64_t)s->region * 512;
		uint64_t bytes = s->len * 512;
		uint64_t done = s->synced * region_bytes;

		p->synced += s->synced;
		p->total += s->total;
		p->total_bytes += bytes;
		p->synced_bytes += done < bytes ? done : bytes;
		p->copied_kib += s->copied_kib;
		p->dest_errors += s->dest_errors;
		p->source_errors += s->source_errors;
		p->held_writes += s->held_writes;
		if (s->rate > p->rate)
			p->rate = s->rate;
		failed |= !strcmp(s->state, DM_VMOTION_STATE_FAILED);
		copying |= !strcmp(s->state, DM_VMOTION_STATE_COPYING);
		paused |= !strcmp(s->state, DM_VMOTION_STATE_PAUSED);
		p->error_paused |= !strcmp(s->paused_by, DM_VMOTION_PAUSED_BY_ERROR);
	}
	p->state = failed ? DM_VMOTION_STATE_FAILED :
		   copying ? DM_VMOTION_STATE_COPYING :
		   paused ? DM_VMOTION_STATE_PAUSED : DM_VMOTION_STATE_SYNCED;
}

static double percent(const struct progress *p)
{
	return p->total_bytes ? 100.0 * p->synced_bytes / p->total_bytes : 100.0;
}

/* Seconds left at @bytes_per_sec, or -1 if unknown. */
static long eta(const struct progress *p, double bytes_per_sec)
{
	if (!strcmp(p->state, DM_VMOTION_STATE_SYNCED))
		return 0;
	if (bytes_per_sec <= 0 || strcmp(p->state, DM_VMOTION_STATE_COPYING))
		return -1;
	return (long)((p->total_bytes - p->synced_bytes) / bytes_per_sec + 0.5);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void human(double bytes, char *buf, size_t size)
{
	const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int i = 0;

	while (bytes >= 1024 && i < 4) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, size, "%.1f %s", bytes, unit[i]);
}

/*---------------------------------------------------------------------------*/
/* status */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_status(const struct device *d, bool json, bool first)
{
	struct progress p;
	long left;

	progress_of(d, &p);
	left = eta(&p, p.rate * 1024.0);
	if (!json) {
		char copied[32];
		char rate[32] = "unlimited";

		if (p.rate)
			snprintf(rate, sizeof(rate), "%u KiB/s", p.rate);
		human(p.copied_kib * 1024.0, copied, sizeof(copied));
		printf("%s: %s%s %.1f%% (%" PRIu64 "/%" PRIu64 " regions), rate %s, copied %s, errors dest %u source %u",
		       d->name, p.state, p.error_paused ? " (error)" : "",
		       percent(&p), p.synced, p.total, rate,
		       copied, p.dest_errors, p.source_errors);
		if (left > 0)
			printf(", ETA %lds", left);
		putchar('\n');
		return;
	}
	printf("%s\n    {\"name\": ", first ? "" : ",");
	json_str(d->name);
	printf(", \"device\": \"%u:%u\", \"state\": \"%s\", \"percent\": %.2f, ",
	       major(d->dev), minor(d->dev), p.state, percent(&p));
	printf("\"synced_regions\": %" PRIu64 ", \"total_regions\": %" PRIu64 ", ",
	       p.synced, p.total);
	printf("\"size_bytes\": %" PRIu64 ", \"synced_bytes\": %" PRIu64 ", ",
	       p.total_bytes, p.synced_bytes);
	printf("\"rate_kib_s\": %u, \"copied_kib\": %" PRIu64 ", ", p.rate,
	       p.copied_kib);
	printf("\"dest_errors\": %u, \"source_errors\": %u, \"held_writes\": %" PRIu64 ", ",
	       p.dest_errors, p.source_errors, p.held_writes);
	printf("\"paused_by_error\": %s, \"eta_seconds\": ",
	       p.error_paused ? "true" : "false");
	if (left >= 0)
		printf("%ld", left);
	else
		printf("null");
	printf(", \"segments\": [");
	for (int i = 0; i < d->nr; i++) {
		const struct segment *s = &d->seg[i];

		printf("%s{\"start\": %" PRIu64 ", \"length\": %" PRIu64 ", ",
		       i ? ", " : "", s->start, s->len);
		printf("\"source\": \"%u:%u\", \"source_offset\": %" PRIu64 ", ",
		       major(s->src), minor(s->src), s->src_off);
		printf("\"dest\": \"%u:%u\", \"dest_offset\": %" PRIu64 ", ",
		       major(s->dest), minor(s->dest), s->dest_off);
		printf("\"region_sectors\": %u, \"state\": \"%s\", ", s->region,
		       s->state);
		printf("\"synced_regions\": %" PRIu64 ", \"total_regions\": %" PRIu64 "}",
		       s->synced, s->total);
	}
	printf("]}");
}

static int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	bool json = false, first = true;
	struct device *d = calloc(1, sizeof(*d));
	char name[128];
	int c, rc = EXIT_DONE;

	while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (c != 'j') {
			usage(stderr);
			return EXIT_USAGE;
		}
		json = true;
	}
	if (json)
		printf("{\"devices\": [");

	if (optind < argc) {
		for (int i = optind; i < argc; i++) {
			if (resolve(argv[i], name, sizeof(name)) ||
			    get_device(name, d, true)) {
				rc = EXIT_FAILED;
				continue;
			}
			if (!all_type(d, DM_VMOTION_TARGET)) {
				err("%s: not migrating (table is not vmotion)", name);
				rc = EXIT_FAILED;
				continue;
			}
			print_status(d, json, first);
			first = false;
		}
	} else {
		struct dm_task *dmt = task(DM_DEVICE_LIST, NULL);
		struct dm_names *names;
		unsigned int next = 0;

		if (!dmt || !dm_task_run(dmt) || !(names = dm_task_get_names(dmt))) {
			err("cannot list device-mapper devices");
			rc = EXIT_FAILED;
		} else if (names->dev) {
			do {
				names = (struct dm_names *)((char *)names + next);
				if (!get_device(names->name, d, true) &&
				    all_type(d, DM_VMOTION_TARGET)) {
					print_status(d, json, first);
					first = false;
				}
				next = names->next;
			} while (next);
		}
		if (dmt)
			dm_task_destroy(dmt);
		if (first && !json)
			printf("no migrations\n");
	}
	if (json)
		printf("%s]}\n", first ? "" : "\n");
	free(d);
	return rc;
}

/*---------------------------------------------------------------------------*/
/* Following a migration */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct waiter {
	const char *name;
	uint32_t event_nr;
	int fd;			/* write end of a pipe: one byte per event */
};

static void *waiter_thread(void *arg)
{
	struct waiter *w = arg;
	char c = 'e';

	for (;;) {
		if (wait_event(w->name, w->event_nr))
			sleep(1);	/* device busy or gone: retry gently */
		else
			w->event_nr++;
		if (write(w->fd, &c, 1) < 0)
			break;
	}
	return NULL;
}

/*
 * Follow a migration until it is synced (0) or failed (1), woken by dm
 * events; progress on @show: a bar on a terminal, a line every 10 s
 * otherwise.
 */
static int follow(const char *name, bool show)
{
	struct device *d = calloc(1, sizeof(*d));
	struct waiter w = {.name = name};
	bool tty = isatty(STDOUT_FILENO);
	double t_last = now(), t_print = 0, speed = 0;
	uint64_t last_bytes = 0;
	struct progress p;
	pthread_t thread;
	int pfd[2], rc = EXIT_FAILED;
	struct sigaction sa = {.sa_handler = on_sigint};

	if (!d || pipe(pfd) || get_device(name, d, true)) {
		free(d);
		return EXIT_FAILED;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	w.event_nr = d->event_nr;
	w.fd = pfd[1];
	pthread_create(&thread, NULL, waiter_thread, &w);
	progress_of(d, &p);
	last_bytes = p.synced_bytes;

	for (;;) {
		struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
		char buf[64];
		double t;

		if (get_device(name, d, true))
			break;
		if (!all_type(d, DM_VMOTION_TARGET)) {
			err("%s: the vmotion table was replaced behind our back", name);
			break;
		}
		progress_of(d, &p);
		t = now();
		if (t - t_last >= 1) {
			double inst = (p.synced_bytes - last_bytes) / (t - t_last);

			speed = speed ? 0.7 * speed + 0.3 * inst : inst;
			last_bytes = p.synced_bytes;
			t_last = t;
		}
		if (show && (tty || t - t_print >= 10 ||
			     strcmp(p.state, DM_VMOTION_STATE_COPYING))) {
			char sp[32];
			long left = eta(&p, speed);
			int width = 30, fill = (int)(percent(&p) * width / 100);

			human(speed, sp, sizeof(sp));
			if (tty) {
				printf("\r%s [", name);
				for (int i = 0; i < width; i++)
					putchar(i < fill ? '#' : '.');
				printf("] %5.1f%% %s/s", percent(&p), sp);
			} else {
				printf("%s: %.1f%% %s/s", name, percent(&p), sp);
			}
			if (left >= 0)
				printf(" ETA %ld:%02ld:%02ld", left / 3600,
				       left / 60 % 60, left % 60);
			else
				printf(" ETA -");
			printf(tty ? "  %s \033[K" : " (%s)\n", p.state);
			fflush(stdout);
			t_print = t;
		}
		if (!strcmp(p.state, DM_VMOTION_STATE_SYNCED)) {
			rc = EXIT_DONE;
			break;
		}
		if (!strcmp(p.state, DM_VMOTION_STATE_FAILED)) {
			err("%s: migration failed (dest errors %u, source errors %u); I/O continues on the source. See dmesg; 'vmotion abort %s' returns to linear on the source",
			    name, p.dest_errors, p.source_errors, name);
			break;
		}
		if (p.error_paused) {
			err("%s: migration paused by an error (dest errors %u, source errors %u); I/O continues on the source. See dmesg; once the cause is fixed, 'vmotion resume %s' retries and 'vmotion wait %s' follows it; 'vmotion abort %s' returns to linear on the source",
			    name, p.dest_errors, p.source_errors, name, name, name);
			break;
		}
		if (interrupted) {
			if (tty && show)
				putchar('\n');
			err("interrupted: the migration goes on in the kernel. Follow it with 'vmotion status %s' or 'vmotion wait %s', stop it with 'vmotion abort %s'",
			    name, name, name);
			rc = EXIT_INTR;
			break;
		}
		if (poll(&pf, 1, tty ? 1000 : 2000) > 0 && read(pfd[0], buf, sizeof(buf)) < 0)
			break;
	}
	if (show && tty && rc != EXIT_INTR)
		putchar('\n');
	pthread_cancel(thread);
	free(d);
	return rc;
}

/*---------------------------------------------------------------------------*/
/* switch, abort */

/* Read a device that must be migrating (all vmotion), status if asked. */
static int get_migrating(const char *name, struct device *d, bool with_status)
{
	if (get_device(name, d, with_status))
		return -1;
	if (!all_type(d, DM_VMOTION_TARGET)) {
		err("%s: not migrating (table is not vmotion)", name);
		return -1;
	}
	return 0;
}

/* The linear table of a vmotion device: onto the destination or the source. */
static void linear_table(const struct device *d, bool to_dest, struct table *t)
{
	t->type = "linear";
	t->nr = d->nr;
	for (int i = 0; i < d->nr; i++) {
		const struct segment *s = &d->seg[i];
		dev_t dev = to_dest ? s->dest : s->src;

		t->start[i] = s->start;
		t->len[i] = s->len;
		snprintf(t->params[i], sizeof(t->params[i]), "%u:%u %" PRIu64,
			 major(dev), minor(dev), to_dest ? s->dest_off : s->src_off);
	}
}

/*
 * The stretch where the device is suspended, as LVM does it: memory locked,
 * so that no page fault waits for I/O to the suspended device, and the
 * priority raised, so that the pause does not wait for the CPU.  Both are
 * best effort.  Returns the nice value to go back to.
 */
static int critical_enter(const char *name)
{
	int prio;

	errno = 0;
	prio = getpriority(PRIO_PROCESS, 0);
	if (errno)
		prio = 0;
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		err("%s: warning: cannot lock memory (%s); going on", name,
		    strerror(errno));
	if (setpriority(PRIO_PROCESS, 0, CRITICAL_PRIORITY))
		err("%s: warning: cannot raise priority (%s); going on", name,
		    strerror(errno));
	return prio;
}

static void critical_leave(int prio)
{
	setpriority(PRIO_PROCESS, 0, prio);
	munlockall();
}

/*
 * Before the suspend, a device not in sync is left as it was.  After it, a
 * write that failed on the destination while the suspend waited for it has
 * taken the device out of sync: it resumes on its vmotion table.
 */
static bool in_sync(const char *name, struct device *d, bool suspended)
{
	struct progress p;

	progress_of(d, &p);
	if (!strcmp(p.state, DM_VMOTION_STATE_SYNCED) && p.synced == p.total)
		return true;
	if (suspended)
		err("%s: fell out of sync during the suspend (%s, %" PRIu64 "/%" PRIu64 " regions): resumed on the vmotion table",
		    name, p.state, p.synced, p.total);
	else
		err("%s: not in sync (%s, %" PRIu64 "/%" PRIu64 " regions): left as it was",
		    name, p.state, p.synced, p.total);
	return false;
}

/*
 * Read the first block of every segment's destination.  A destination that
 * died while the device was idle has had no write the target could see
 * fail, so its status still says synced: this read is what notices, while
 * the source still serves everything.
 */
static bool dest_answers(const char *name, const struct device *d)
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

static int switch_suspended(const char *name, struct device *d)
{
	double t0, t1;

	/* the I/O pause runs from here to the end of the resume */
	t0 = now();
	if (suspend(name)) {
		err("%s: suspend failed", name);
		clear_inactive(name);
		return -1;
	}
	if (get_device(name, d, true)) {
		clear_inactive(name);
		resume(name);
		return -1;
	}
	/* checked again now that no write can fail the destination */
	if (!in_sync(name, d, true)) {
		clear_inactive(name);
		resume(name);
		return -1;
	}
	if (resume_at(name, &t1)) {
		err("%s: resume on the destination failed (see dmesg); back to the vmotion table", name);
		clear_inactive(name);
		resume(name);
		return -1;
	}
	printf("%s: switched to the destination (%u:%u); I/O paused for %.1f ms\n",
	       name, major(d->seg[0].dest), minor(d->seg[0].dest),
	       (t1 - t0) * 1000);
	return 0;
}

/*
 * The linear table is loaded (inactive) before the suspend, so that the
 * pause holds only the suspend, the sync check and the resume that swaps
 * the tables in.
 */
static int cmd_switch_dev(const char *name)
{
	struct device *d = calloc(1, sizeof(*d));
	struct table *t = calloc(1, sizeof(*t));
	int rc = EXIT_FAILED;
	int prio;

	if (!d || !t || get_migrating(name, d, true) || !in_sync(name, d, false) ||
	    !dest_answers(name, d))
		goto out;
	linear_table(d, true, t);
	if (reload(name, t)) {
		err("%s: the kernel refused the linear table (see dmesg); left migrating", name);
		clear_inactive(name);
		goto out;
	}
	prio = critical_enter(name);
	if (!switch_suspended(name, d))
		rc = EXIT_DONE;
	critical_leave(prio);
out:
	free(t);
	free(d);
	return rc;
}

static int cmd_abort_dev(const char *name)
{
	struct device *d = calloc(1, sizeof(*d));
	struct table *t = calloc(1, sizeof(*t));
	int rc = EXIT_FAILED;

	if (!d || !t || get_migrating(name, d, false))
		goto out;
	linear_table(d, false, t);
	if (replace_table(name, t))
		goto out;
	printf("%s: migration aborted; back to linear on the source\n", name);
	rc = EXIT_DONE;
out:
	free(t);
	free(d);
	return rc;
}


/*---------------------------------------------------------------------------*/
/* The migrations config: which new disk each dm device moves to */

/*
 * /etc/vmotion/migrations.conf, one migration per line:
 *
 *   <dm device> <kind>=<value> [--rate RATE] [--region-size SIZE] [--no-switch]
 *
 * kind: serial (udev ID_SERIAL or ID_SERIAL_SHORT), wwn (ID_WWN or
 * ID_WWN_WITH_EXTENSION) or by-id (a /dev/disk/by-id/ name).  '#' starts a
 * comment.
 */
#define MAX_ENTRIES 64

struct entry {
	int line;
	char dm[128];
	char kind[16];
	char value[256];
	char rate[32];
	char region[32];
	bool no_switch;
};

struct config {
	const char *path;
	int nr;
	struct entry e[MAX_ENTRIES];
};

/* Parse and validate; every problem is reported as FILE:LINE: ... */
static int read_config(const char *path, struct config *c)
{
	char line[1024];
	int n = 0, bad = 0;
	FILE *f = fopen(path, "r");

	memset(c, 0, sizeof(*c));
	c->path = path;
	if (!f) {
		err("%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *save, *tok, *hash = strchr(line, '#');
		struct entry *e;
		uint64_t kib;

		n++;
		if (hash)
			*hash = '\0';
		tok = strtok_r(line, " \t\r\n", &save);
		if (!tok)
			continue;
		if (c->nr == MAX_ENTRIES) {
			err("%s:%d: more than %d migrations", path, n, MAX_ENTRIES);
			bad++;
			break;
		}
		e = &c->e[c->nr];
		e->line = n;
		if (strlen(tok) >= sizeof(e->dm) || strchr(tok, '/')) {
			err("%s:%d: invalid device-mapper name '%s'", path, n, tok);
			bad++;
			continue;
		}
		snprintf(e->dm, sizeof(e->dm), "%s", tok);
		tok = strtok_r(NULL, " \t\r\n", &save);
		if (!tok || !strchr(tok, '=') || sscanf(tok, "%15[^=]=%255s", e->kind, e->value) != 2) {
			err("%s:%d: %s: expected a disk identity: serial=..., wwn=... or by-id=...",
			    path, n, e->dm);
			bad++;
			continue;
		}
		if (strcmp(e->kind, "serial") && strcmp(e->kind, "wwn") &&
		    strcmp(e->kind, "by-id")) {
			err("%s:%d: unknown disk identity '%s' (serial, wwn or by-id)",
			    path, n, e->kind);
			bad++;
			continue;
		}
		while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
			char *val = NULL;

			if (!strcmp(tok, "--no-switch")) {
				e->no_switch = true;
				continue;
			}
			if (strcmp(tok, "--rate") && strcmp(tok, "--region-size")) {
				err("%s:%d: unknown option '%s' (--rate, --region-size, --no-switch)",
				    path, n, tok);
				bad++;
				break;
			}
			val = strtok_r(NULL, " \t\r\n", &save);
			if (!val || parse_kib(val, &kib)) {
				err("%s:%d: %s needs a size such as 200M, not '%s'",
				    path, n, tok, val ? val : "");
				bad++;
				break;
			}
			if (!strcmp(tok, "--region-size") &&
			    (kib < 4 || kib > 1024 * 1024 || (kib & (kib - 1)))) {
				err("%s:%d: invalid region size '%s': a power of two from 4K to 1G",
				    path, n, val);
				bad++;
				break;
			}
			snprintf(!strcmp(tok, "--rate") ? e->rate : e->region,
				 sizeof(e->rate), "%s", val);
		}
		for (int i = 0; i < c->nr; i++) {
			if (!strcmp(c->e[i].dm, e->dm)) {
				err("%s:%d: %s already has a migration on line %d",
				    path, n, e->dm, c->e[i].line);
				bad++;
			}
			if (!strcmp(c->e[i].kind, e->kind) &&
			    !strcmp(c->e[i].value, e->value)) {
				err("%s:%d: disk %s=%s is already the destination on line %d",
				    path, n, e->kind, e->value, c->e[i].line);
				bad++;
			}
		}
		c->nr++;
	}
	fclose(f);
	return bad ? -1 : 0;
}

static const char *config_path(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--config"))
			return argv[i + 1];
	return getenv("VMOTION_CONFIG") ? getenv("VMOTION_CONFIG") : DEFAULT_CONFIG;
}

/* Does a disk with these udev properties match @e? (NULL: property unset) */
static bool entry_matches(const struct entry *e,
			  const char *(*prop)(void *, const char *), void *ctx)
{
	const char *v;

	if (!strcmp(e->kind, "serial"))
		return ((v = prop(ctx, "ID_SERIAL")) && !strcmp(v, e->value)) ||
		       ((v = prop(ctx, "ID_SERIAL_SHORT")) && !strcmp(v, e->value));
	if (!strcmp(e->kind, "wwn"))
		return ((v = prop(ctx, "ID_WWN")) && !strcmp(v, e->value)) ||
		       ((v = prop(ctx, "ID_WWN_WITH_EXTENSION")) && !strcmp(v, e->value));
	v = prop(ctx, "DEVLINKS");
	if (v) {
		char link[300];
		const char *p = v;

		snprintf(link, sizeof(link), "/dev/disk/by-id/%s", e->value);
		while ((p = strstr(p, link))) {
			char end = p[strlen(link)];

			if ((p == v || p[-1] == ' ') && (end == ' ' || end == '\0'))
				return true;
			p++;
		}
	}
	return false;
}

static const char *env_prop(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static const char *udev_prop(void *ctx, const char *name)
{
	return udev_device_get_property_value(ctx, name);
}

/* systemd-escape for a unit instance name */
static void unit_escape(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (; *in && n + 5 < size; in++) {
		unsigned char ch = *in;

		if (isalnum(ch) || ch == '_' || ch == ':' || (ch == '.' && n))
			out[n++] = ch;
		else if (ch == '/')
			out[n++] = '-';
		else
			n += snprintf(out + n, size - n, "\\x%02x", ch);
	}
	out[n] = '\0';
}

/*
 * Called by the udev rule (IMPORT{program}) for a new whole disk: print the
 * systemd unit to start if the disk is configured as a destination.  Never
 * fails the rule: problems go to stderr (the udev log).
 */
static int cmd_udev_match(int argc, char **argv)
{
	struct config *c = calloc(1, sizeof(*c));
	char esc[512];

	if (!c || read_config(config_path(argc, argv), c)) {
		free(c);
		return EXIT_DONE;
	}
	for (int i = 0; i < c->nr; i++) {
		if (entry_matches(&c->e[i], env_prop, NULL)) {
			unit_escape(c->e[i].dm, esc, sizeof(esc));
			printf("VMOTION_DM=%s\nVMOTION_UNIT=vmotion-migrate@%s.service\n",
			       c->e[i].dm, esc);
			break;
		}
	}
	free(c);
	return EXIT_DONE;
}

static int cmd_check_config(int argc, char **argv)
{
	struct config *c = calloc(1, sizeof(*c));
	int rc = EXIT_FAILED;

	if (!c)
		return EXIT_FAILED;
	if (!read_config(config_path(argc, argv), c)) {
		for (int i = 0; i < c->nr; i++)
			printf("%s: %s -> disk %s=%s%s%s%s%s%s\n", c->path, c->e[i].dm,
			       c->e[i].kind, c->e[i].value,
			       *c->e[i].rate ? " --rate " : "", c->e[i].rate,
			       *c->e[i].region ? " --region-size " : "", c->e[i].region,
			       c->e[i].no_switch ? " --no-switch" : "");
		printf("%s: %d migration(s), valid\n", c->path, c->nr);
		rc = EXIT_DONE;
	}
	free(c);
	return rc;
}

/* The disk (devnode) that matches @e, found through udev. */
static int find_disk(const struct entry *e, char *path, size_t size)
{
	struct udev *udev = udev_new();
	struct udev_enumerate *en = udev ? udev_enumerate_new(udev) : NULL;
	struct udev_list_entry *le;
	int found = 0;

	if (!en) {
		err("cannot talk to udev");
		goto out;
	}
	udev_enumerate_add_match_subsystem(en, "block");
	udev_enumerate_add_match_property(en, "DEVTYPE", "disk");
	udev_enumerate_scan_devices(en);
	udev_list_entry_foreach(le, udev_enumerate_get_list_entry(en)) {
		struct udev_device *dev = udev_device_new_from_syspath(udev,
					udev_list_entry_get_name(le));

		if (!dev)
			continue;
		if (entry_matches(e, udev_prop, dev) && udev_device_get_devnode(dev)) {
			snprintf(path, size, "%s", udev_device_get_devnode(dev));
			found++;
		}
		udev_device_unref(dev);
	}
out:
	udev_enumerate_unref(en);
	udev_unref(udev);
	if (found == 1)
		return 0;
	err("%s=%s: %s", e->kind, e->value,
	    found ? "more than one disk matches; refusing" : "no such disk");
	return -1;
}

/*---------------------------------------------------------------------------*/
/* migrate */

/* Refuse a destination that is unsafe to overwrite.  0 if it is fine. */
static int check_dest(const struct device *d, const char *path, bool force,
		      dev_t *dest)
{
	uint64_t need = 0, size = 0;
	blkid_probe pr;
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

	pr = blkid_new_probe();
	if (!pr || blkid_probe_set_device(pr, fd, 0, 0)) {
		err("%s: cannot probe for signatures", path);
		close(fd);
		return -1;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	if (blkid_do_safeprobe(pr) == 0) {
		const char *type = NULL;

		if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) &&
		    blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL))
			type = "unknown";
		if (!force) {
			err("%s: the destination carries a %s signature; refusing to overwrite it (--force to override)",
			    path, type);
			blkid_free_probe(pr);
			close(fd);
			return -1;
		}
		printf("%s: overwriting a %s signature (--force)\n", path, type);
	}
	blkid_free_probe(pr);
	close(fd);
	return 0;
}

static int cmd_migrate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"region-size", required_argument, NULL, 'r'},
		{"rate", required_argument, NULL, 'R'},
		{"no-switch", no_argument, NULL, 'n'},
		{"force", no_argument, NULL, 'f'},
		{"from-config", no_argument, NULL, 'c'},
		{"config", required_argument, NULL, 'C'},
		{NULL, 0, NULL, 0},
	};
	uint64_t region_kib = DEFAULT_REGION_KIB, rate_kib = 0;
	bool from_config = false;
	const char *cfg = config_path(argc, argv);
	char disk[256];
	bool no_switch = false, force = false;
	struct device *d = NULL;
	struct table *t = NULL;
	char name[128];
	dev_t dest;
	int c, rc = EXIT_FAILED;

	while ((c = getopt_long(argc, argv, "r:R:nf", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (parse_kib(optarg, &region_kib) || region_kib < 4 ||
			    region_kib > 1024 * 1024 ||
			    (region_kib & (region_kib - 1))) {
				err("invalid region size '%s': a power of two from 4K to 1G",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'R':
			if (parse_kib(optarg, &rate_kib) || rate_kib > UINT32_MAX) {
				err("invalid rate '%s': e.g. 100M (MiB/s), 512K, or 0 for unlimited",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			no_switch = true;
			break;
		case 'f':
			force = true;
			break;
		case 'c':
			from_config = true;
			break;
		case 'C':
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (from_config) {
		/* the device is named; the disk and the options come from the config */
		struct config *c = calloc(1, sizeof(*c));
		struct entry *e = NULL;

		if (argc - optind != 1 || force) {
			free(c);
			usage(stderr);
			return EXIT_USAGE;
		}
		if (!c || read_config(cfg, c)) {
			free(c);
			return EXIT_FAILED;
		}
		for (int i = 0; i < c->nr; i++)
			if (!strcmp(c->e[i].dm, argv[optind]))
				e = &c->e[i];
		if (!e) {
			err("%s: no migration configured in %s", argv[optind], cfg);
			free(c);
			return EXIT_FAILED;
		}
		if (find_disk(e, disk, sizeof(disk))) {
			free(c);
			return EXIT_FAILED;
		}
		if (*e->rate)
			parse_kib(e->rate, &rate_kib);
		if (*e->region)
			parse_kib(e->region, &region_kib);
		no_switch = e->no_switch;
		printf("%s: %s:%d: disk %s=%s is %s\n", e->dm, cfg, e->line,
		       e->kind, e->value, disk);
		free(c);
		argv[optind + 1] = disk;
		argc = optind + 2;
	}
	if (argc - optind != 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (region_kib < 4 || region_kib > 1024 * 1024 || (region_kib & (region_kib - 1))) {
		err("invalid region size %" PRIu64 "K: a power of two from 4K to 1G", region_kib);
		return EXIT_USAGE;
	}

	d = calloc(1, sizeof(*d));
	t = calloc(1, sizeof(*t));
	if (!d || !t || resolve(argv[optind], name, sizeof(name)) ||
	    get_device(name, d, false))
		goto out;
	if (!all_type(d, "linear")) {
		for (int i = 0; i < d->nr; i++)
			if (strcmp(d->seg[i].type, "linear"))
				err("%s: segment %d (sector %" PRIu64 ") is '%s': only linear tables can be migrated",
				    name, i, d->seg[i].start, d->seg[i].type);
		if (!d->nr)
			err("%s: has no table", name);
		goto out;
	}
	if (check_dest(d, argv[optind + 1], force, &dest))
		goto out;

	/* linear segments laid end to end on the destination */
	t->type = DM_VMOTION_TARGET;
	t->nr = d->nr;
	for (int i = 0; i < d->nr; i++) {
		int n;

		t->start[i] = d->seg[i].start;
		t->len[i] = d->seg[i].len;
		n = snprintf(t->params[i], sizeof(t->params[i]),
			     "%u:%u %" PRIu64 " %u:%u %" PRIu64 " %" PRIu64,
			     major(d->seg[i].src), minor(d->seg[i].src),
			     d->seg[i].src_off, major(dest), minor(dest),
			     d->seg[i].start, region_kib * 2);
		if (rate_kib)
			snprintf(t->params[i] + n, sizeof(t->params[i]) - n,
				 " 2 " DM_VMOTION_FEAT_RATE " %" PRIu64, rate_kib);
	}
	if (replace_table(name, t))
		goto out;
	printf("%s: migrating to %s (%" PRIu64 " KiB regions%s)\n", name,
	       argv[optind + 1], region_kib, rate_kib ? ", rate limited" : "");
	fflush(stdout);

	rc = follow(name, true);
	if (rc == EXIT_DONE && no_switch)
		printf("%s: in sync; run 'vmotion switch %s' to move to the destination\n",
		       name, name);
	else if (rc == EXIT_DONE)
		rc = cmd_switch_dev(name);
out:
	free(t);
	free(d);
	return rc;
}

/*---------------------------------------------------------------------------*/
/* Commands on one device */

static int cmd_messages(const char *name, const char *msg)
{
	struct device *d = calloc(1, sizeof(*d));
	int rc = EXIT_FAILED;

	if (!d || get_migrating(name, d, false))
		goto out;
	for (int i = 0; i < d->nr; i++) {
		if (message(name, d->seg[i].start, msg)) {
			err("%s: message '%s' refused", name, msg);
			goto out;
		}
	}
	rc = EXIT_DONE;
out:
	free(d);
	return rc;
}

static int one_device(int argc, char **argv, int extra, char *name, size_t size)
{
	if (argc != 2 + extra) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return resolve(argv[1], name, size) ? EXIT_FAILED : EXIT_DONE;
}

int main(int argc, char **argv)
{
	char name[128], msg[64];
	const char *cmd;
	uint64_t kib;
	int rc;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_DONE;
	}
	cmd = argv[1];
	dm_log_init_verbose(0);

	if (!strcmp(cmd, "migrate"))
		return cmd_migrate(argc - 1, argv + 1);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(cmd, "check-config"))
		return cmd_check_config(argc - 1, argv + 1);
	if (!strcmp(cmd, "udev-match"))
		return cmd_udev_match(argc - 1, argv + 1);

	if (!strcmp(cmd, "rate")) {
		rc = one_device(argc - 1, argv + 1, 1, name, sizeof(name));
		if (rc)
			return rc;
		if (parse_kib(argv[3], &kib) || kib > UINT32_MAX) {
			err("invalid rate '%s': e.g. 100M (MiB/s), 512K, or 0 for unlimited",
			    argv[3]);
			return EXIT_USAGE;
		}
		snprintf(msg, sizeof(msg), DM_VMOTION_MSG_RATE " %" PRIu64, kib);
		return cmd_messages(name, msg);
	}

	rc = one_device(argc - 1, argv + 1, 0, name, sizeof(name));
	if (rc)
		return rc;
	if (!strcmp(cmd, "wait"))
		return follow(name, false);
	if (!strcmp(cmd, "switch"))
		return cmd_switch_dev(name);
	if (!strcmp(cmd, "abort"))
		return cmd_abort_dev(name);
	if (!strcmp(cmd, "pause"))
		return cmd_messages(name, DM_VMOTION_MSG_PAUSE);
	if (!strcmp(cmd, "resume"))
		return cmd_messages(name, DM_VMOTION_MSG_RESUME);

	err("unknown command '%s'", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
