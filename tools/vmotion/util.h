/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * util.h: what every layer of the vmotion tool shares (util.c): messages,
 * exit statuses, size and device number parsing, time and size display.
 */
#ifndef VMOTION_UTIL_H
#define VMOTION_UTIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit statuses */
#define EXIT_DONE	0
#define EXIT_FAILED	1	/* migration failed or refused; source intact */
#define EXIT_USAGE	2
#define EXIT_INTR	130	/* interrupted; the migration goes on */

extern const char *prog;

/*
 * Hidden: libblkid calls glibc's err(3), which an exported err() of ours
 * would take the place of.
 */
__attribute__((visibility("hidden"), format(printf, 1, 2)))
void err(const char *fmt, ...);

/* The largest rate the kernel takes, in KiB/s (an unsigned int) */
#define MAX_RATE_KIB	UINT32_MAX

int parse_kib(const char *s, uint64_t *kib);
int parse_dev_t(const char *s, dev_t *dev);
double now(void);
void human(double bytes, char *buf, size_t size);
/* "a" or "an", as said before @word ("an ext4", "a gpt") */
const char *article(const char *word);

/*
 * Signals.  SIGINT, SIGTERM and SIGHUP only set @interrupted (no
 * SA_RESTART: a blocking call returns EINTR); one ignored at startup stays
 * ignored (nohup).  Each command decides what an interruption means where
 * it can act on it.  block_signals() holds back every signal over a step
 * that must not be cut in the middle (a suspended device, a table loaded
 * but not yet resumed); restore_signals() lets them in.
 */
extern volatile sig_atomic_t interrupted;
void catch_signals(void);
void block_signals(sigset_t *old);
void restore_signals(const sigset_t *old);

/*
 * Tell systemd the service is ready (sd_notify's READY=1 on
 * $NOTIFY_SOCKET), when run by a Type=notify unit; nothing otherwise.
 */
void notify_ready(void);

/*
 * For tests: VMOTION_TEST_KILL=<point> makes the process kill itself with
 * SIGKILL when it reaches <point>, as a power cut or an OOM kill would.
 */
void test_kill_point(const char *point);
/* VMOTION_TEST_PAUSE=<point>: wait 3 s there, for a test to act meanwhile */
void test_pause_point(const char *point);

/* Is @mode one the target takes: mirror, track or auto? */
bool valid_mode(const char *mode);

#endif
