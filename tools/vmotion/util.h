/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * util.h: what every layer of the vmotion tool shares (util.c): messages,
 * exit statuses, size and device number parsing, time and size display.
 */
#ifndef VMOTION_UTIL_H
#define VMOTION_UTIL_H

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

int parse_kib(const char *s, uint64_t *kib);
int parse_dev_t(const char *s, dev_t *dev);
double now(void);
void human(double bytes, char *buf, size_t size);

#endif
