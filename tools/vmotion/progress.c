// SPDX-License-Identifier: GPL-2.0-only
/*
 * progress: a migration's state summed over a device's segments
 * (progress_of(), percent(), eta()), and follow(), which follows a long
 * migration to its end as lvm2's polldaemon follows a pvmove: a waiter
 * thread wakes it on each device-mapper event, it shows a bar on a terminal
 * or a line every 10 s otherwise, and it stops when the device is in sync,
 * has failed, is paused by an error or the tool is interrupted.  It reads
 * devices through dm.c and changes nothing; it knows nothing of the command
 * line beyond the commands its messages suggest to the operator.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dm-vmotion.h"
#include "dm.h"
#include "progress.h"
#include "util.h"

/*---------------------------------------------------------------------------*/
/* Migration state, summed over segments */

/* A segment's mode, as the kernel names it (an older module: mirror) */
static const char *segment_mode(const struct segment *s)
{
	if (!strcmp(s->mode, DM_VMOTION_MODE_TRACK))
		return DM_VMOTION_MODE_TRACK;
	if (!strcmp(s->mode, DM_VMOTION_MODE_AUTO))
		return DM_VMOTION_MODE_AUTO;
	return DM_VMOTION_MODE_MIRROR;
}

void progress_of(const struct device *d, struct progress *p)
{
	bool failed = false, copying = false, paused = false;
	bool synced = d->nr > 0, md = false, md_error = false, md_off = false;
	bool md_unknown = false;
	const char *mode;

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
		p->zero_kib += s->zero_kib;
		p->dest_errors += s->dest_errors;
		p->source_errors += s->source_errors;
		p->held_writes += s->held_writes;
		/* each segment has its share of the device's rate */
		p->rate += s->rate;
		failed |= !strcmp(s->state, DM_VMOTION_STATE_FAILED);
		copying |= !strcmp(s->state, DM_VMOTION_STATE_COPYING);
		paused |= !strcmp(s->state, DM_VMOTION_STATE_PAUSED);
		/* a segment with no status (read in between two ioctls) is not */
		synced &= !strcmp(s->state, DM_VMOTION_STATE_SYNCED);
		p->error_paused |= !strcmp(s->paused_by, DM_VMOTION_PAUSED_BY_ERROR);
		p->tracking |= !strcmp(s->mode_in_force, DM_VMOTION_MODE_TRACK);
		p->redirtied += s->redirtied;
		if (s->pass > p->pass)
			p->pass = s->pass;
		mode = segment_mode(s);
		if (!p->mode)
			p->mode = mode;
		else if (strcmp(p->mode, mode))
			p->mode = "mixed";
		if (s->md_dev) {
			md = true;
			md_error |= !strcmp(s->md_state, DM_VMOTION_MD_ERROR);
			md_off |= !strcmp(s->md_state, DM_VMOTION_MD_OFF);
			/* a status that does not say (read between two ioctls) */
			md_unknown |= strcmp(s->md_state, DM_VMOTION_MD_OK) &&
				      strcmp(s->md_state, DM_VMOTION_MD_ERROR) &&
				      strcmp(s->md_state, DM_VMOTION_MD_OFF);
			p->md_recorded += s->md_recorded;
		}
	}
	p->md = !md ? NULL : md_error ? DM_VMOTION_MD_ERROR :
		md_off ? DM_VMOTION_MD_OFF : md_unknown ? "unknown" :
		DM_VMOTION_MD_OK;
	if (!p->mode)
		p->mode = DM_VMOTION_MODE_MIRROR;
	p->state = failed ? DM_VMOTION_STATE_FAILED :
		   copying ? DM_VMOTION_STATE_COPYING :
		   paused ? DM_VMOTION_STATE_PAUSED :
		   synced ? DM_VMOTION_STATE_SYNCED : DM_VMOTION_STATE_COPYING;
}

double percent(const struct progress *p)
{
	return p->total_bytes ? 100.0 * p->synced_bytes / p->total_bytes : 100.0;
}

/* Seconds left at @bytes_per_sec, or -1 if unknown. */
long eta(const struct progress *p, double bytes_per_sec)
{
	if (!strcmp(p->state, DM_VMOTION_STATE_SYNCED))
		return 0;
	if (bytes_per_sec <= 0 || strcmp(p->state, DM_VMOTION_STATE_COPYING))
		return -1;
	return (long)((p->total_bytes - p->synced_bytes) / bytes_per_sec + 0.5);
}

/*---------------------------------------------------------------------------*/
/* Following a migration */

/*
 * The waiter thread sleeps in the kernel until the device's next event and
 * writes a byte to a pipe follow() polls.  It takes no signal but SIGUSR1,
 * which stop_waiter() sends to get it out of the ioctl once @stop is set;
 * follow() joins it before its stack, which holds the waiter, goes.
 */
struct waiter {
	const char *name;
	uint32_t event_nr;
	int fd;			/* write end of a pipe: one byte per event */
	bool stop;		/* atomic: follow() is done */
};

static void on_sigusr1(int sig)
{
	(void)sig;
}

static void *waiter_thread(void *arg)
{
	struct waiter *w = arg;
	sigset_t set;
	char c = 'e';

	sigfillset(&set);
	sigdelset(&set, SIGUSR1);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		if (wait_event(w->name, w->event_nr))
			sleep(1);	/* device busy or gone: retry gently */
		else
			w->event_nr++;
		if (write(w->fd, &c, 1) < 0)
			break;
	}
	return NULL;
}

static int start_waiter(pthread_t *thread, struct waiter *w)
{
	struct sigaction sa = {.sa_handler = on_sigusr1};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	return pthread_create(thread, NULL, waiter_thread, w);
}

/* The signal may come just before the ioctl: send it until it is out. */
static void stop_waiter(pthread_t thread, struct waiter *w)
{
	struct timespec ts;

	__atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
	for (;;) {
		pthread_kill(thread, SIGUSR1);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000 * 1000 * 1000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000 * 1000 * 1000;
		}
		if (!pthread_timedjoin_np(thread, NULL, &ts))
			return;
	}
}

/* Passes of mode track after which follow() says how to converge */
#define TRACK_HINT_PASSES	4

/*
 * Follow a migration until it is synced (0) or failed (1), woken by dm
 * events; progress on @show: a bar on a terminal, a line every 10 s
 * otherwise.
 */
int follow(const char *name, bool show)
{
	struct device *d = calloc(1, sizeof(*d));
	struct waiter w = {.name = name};
	bool tty = isatty(STDOUT_FILENO);
	double t_last = now(), t_print = 0, speed = 0;
	uint64_t last_bytes = 0, first_pass;
	bool hinted = false;
	struct progress p;
	pthread_t thread;
	int pfd[2] = {-1, -1}, rc = EXIT_FAILED, e;
	bool waiting;

	if (!d || pipe2(pfd, O_CLOEXEC) || get_device(name, d, true))
		goto out;
	w.event_nr = d->event_nr;
	w.fd = pfd[1];
	e = start_waiter(&thread, &w);
	waiting = !e;
	if (e)
		err("%s: warning: no event thread (%s): following by polling",
		    name, strerror(e));
	progress_of(d, &p);
	last_bytes = p.synced_bytes;
	first_pass = p.pass;

	for (;;) {
		struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
		char buf[64];
		double t;

		if (get_device(name, d, true))
			break;
		if (!all_type(d, DM_VMOTION_TARGET)) {
			err("%s: its vmotion table was replaced by another command (switched or aborted)",
			    name);
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
		/* track alone converges only when the writes let it */
		if (!hinted && !strcmp(p.mode, DM_VMOTION_MODE_TRACK) &&
		    p.pass >= first_pass + TRACK_HINT_PASSES) {
			if (show && tty)
				putchar('\n');
			printf("%s: mode track, pass %" PRIu64 ": writes keep dirtying regions again (%" PRIu64 " so far); 'vmotion mode %s auto' or 'mirror' makes the copy converge\n",
			       name, p.pass, p.redirtied, name);
			hinted = true;
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
	if (waiting)
		stop_waiter(thread, &w);
out:
	if (pfd[0] >= 0) {
		close(pfd[0]);
		close(pfd[1]);
	}
	free(d);
	return rc;
}
