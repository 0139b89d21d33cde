// SPDX-License-Identifier: GPL-2.0-only
/*
 * util: what every layer of the vmotion tool shares.  err() prints a message
 * on stderr, prefixed with the program's name; parse_kib() reads a size
 * with a K, M or G suffix, parse_dev_t() a major:minor pair; now() is the
 * monotonic clock in seconds and human() a byte count for people; the
 * signal handling every command shares (an interruption is a flag, and a
 * step that must not be cut holds signals back).  The exit statuses are in
 * util.h.  It knows nothing of device-mapper, of disks, of migrations or of
 * the command line.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dm-vmotion.h"
#include "util.h"

const char *prog = "vmotion";

/*---------------------------------------------------------------------------*/
/* Messages */

void err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*---------------------------------------------------------------------------*/
/* Parsing */

/* "512K", "4M", "1G", "300" (KiB): to KiB.  Returns -1 if invalid. */
int parse_kib(const char *s, uint64_t *kib)
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

int parse_dev_t(const char *s, dev_t *dev)
{
	unsigned int ma, mi;
	char c;

	if (sscanf(s, "%u:%u%c", &ma, &mi, &c) != 2)
		return -1;
	*dev = makedev(ma, mi);
	return 0;
}

/*---------------------------------------------------------------------------*/
/* Time and sizes */

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void human(double bytes, char *buf, size_t size)
{
	const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int i = 0;

	while (bytes >= 1024 && i < 4) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, size, "%.1f %s", bytes, unit[i]);
}

/* "an ext4", "an xfs", "an LVM2_member"; "a gpt", "a swap" */
const char *article(const char *word)
{
	return word && (strchr("aeiouxAEIOUX", word[0]) ||
			!strncmp(word, "LVM", 3)) ? "an" : "a";
}

/*---------------------------------------------------------------------------*/
/* Signals */

volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

void catch_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa = {.sa_handler = on_signal}, old;

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		/* one ignored at startup stays so (nohup's SIGHUP) */
		if (!sigaction(sigs[i], NULL, &old) && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

void block_signals(sigset_t *old)
{
	sigset_t set;

	/* all of them: a Ctrl-Z or Ctrl-\ must not stop or kill us here */
	sigfillset(&set);
	sigprocmask(SIG_BLOCK, &set, old);
}

void restore_signals(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

void test_kill_point(const char *point)
{
	const char *want = getenv("VMOTION_TEST_KILL");

	if (want && !strcmp(want, point)) {
		fprintf(stderr, "%s: VMOTION_TEST_KILL=%s: killed\n", prog, point);
		kill(getpid(), SIGKILL);
	}
}

void test_pause_point(const char *point)
{
	const char *want = getenv("VMOTION_TEST_PAUSE");
	double end;

	if (!want || strcmp(want, point))
		return;
	fprintf(stderr, "%s: VMOTION_TEST_PAUSE=%s: pausing 3 s\n", prog, point);
	/* the whole 3 s, whatever signal comes meanwhile */
	for (end = now() + 3; now() < end;)
		usleep(10000);
}

/*---------------------------------------------------------------------------*/
/* systemd */

void notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	int fd;

	if (!path || (*path != '/' && *path != '@') ||
	    strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (*path == '@')
		sa.sun_path[0] = '\0';	/* an abstract socket */
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
		err("warning: cannot tell systemd the service is ready: %s",
		    strerror(errno));
	close(fd);
}

bool valid_mode(const char *mode)
{
	return !strcmp(mode, DM_VMOTION_MODE_MIRROR) ||
	       !strcmp(mode, DM_VMOTION_MODE_TRACK) ||
	       !strcmp(mode, DM_VMOTION_MODE_AUTO);
}
