// SPDX-License-Identifier: GPL-2.0-only
/*
 * json: JSON output on stdout.  json_str() prints a quoted, escaped string;
 * json_status() prints one device's migration status as an object of the
 * "devices" array, its summed progress and each segment.  The field names
 * are an interface that scripts parse.  It knows nothing of the command line
 * or of how the device was chosen, and it reads nothing itself: the device
 * comes from dm.c, its progress from progress.c.
 *
 * Copyright (C) 2026 The dm-vmotion authors.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <sys/sysmacros.h>

#include "dm.h"
#include "json.h"
#include "progress.h"

void json_str(const char *s)
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

/* One device's status, an element of the "devices" array. */
void json_status(const struct device *d, bool first)
{
	struct progress p;
	long left;

	progress_of(d, &p);
	left = eta(&p, p.rate * 1024.0);
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
