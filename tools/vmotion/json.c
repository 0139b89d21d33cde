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

#include "dm-vmotion.h"
#include "dm.h"
#include "json.h"
#include "progress.h"

/*
 * Length of the valid UTF-8 sequence at @s (1-4), or 0: overlong forms,
 * surrogates and code points past U+10FFFF are not valid.
 */
static int utf8_len(const unsigned char *s)
{
	unsigned int c;
	int n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return n;
}

/*
 * A JSON string.  A device-mapper name may hold any byte: a control
 * character, DEL, or a byte that is not part of valid UTF-8 is written as
 * \u00XX (that byte's value), so the output is always valid JSON.
 */
void json_str(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	int n;

	putchar('"');
	while (*s) {
		n = utf8_len(s);
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (n == 1 && *s >= 0x20 && *s != 0x7f)
			putchar(*s);
		else if (n > 1)
			fwrite(s, 1, n, stdout);
		else
			printf("\\u%04x", *s);
		s += n ? n : 1;
	}
	putchar('"');
}

/*
 * A segment's "metadata": null if it keeps none, else where it is and
 * what the kernel says of it (status fields 9 to 12, from 0).
 */
static void json_metadata(const struct segment *s)
{
	printf("\"metadata\": ");
	if (!s->md_dev) {
		printf("null");
		return;
	}
	printf("{\"device\": \"%u:%u\", \"offset\": %" PRIu64 ", \"state\": ",
	       major(s->md_dev), minor(s->md_dev), s->md_off);
	json_str(s->md_state);
	printf(", \"intent_bits\": %" PRIu64 ", \"blocks_written\": %" PRIu64 ", \"recorded_regions\": %" PRIu64 "}",
	       s->md_intents, s->md_writes, s->md_recorded);
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
	printf("\"rate_kib_s\": %" PRIu64 ", \"copied_kib\": %" PRIu64 ", ", p.rate,
	       p.copied_kib);
	printf("\"zero_kib\": %" PRIu64 ", ", p.zero_kib);
	printf("\"mode\": \"%s\", \"mode_in_force\": \"%s\", ", p.mode,
	       p.tracking ? DM_VMOTION_MODE_TRACK : DM_VMOTION_MODE_MIRROR);
	printf("\"redirtied_regions\": %" PRIu64 ", \"pass\": %" PRIu64 ", ",
	       p.redirtied, p.pass);
	printf("\"dest_errors\": %u, \"source_errors\": %u, \"held_writes\": %" PRIu64 ", ",
	       p.dest_errors, p.source_errors, p.held_writes);
	printf("\"paused_by_error\": %s, \"eta_seconds\": ",
	       p.error_paused ? "true" : "false");
	if (left >= 0)
		printf("%ld", left);
	else
		printf("null");
	if (p.md)
		printf(", \"metadata\": \"%s\", \"metadata_recorded_regions\": %" PRIu64,
		       p.md, p.md_recorded);
	else
		printf(", \"metadata\": null, \"metadata_recorded_regions\": null");
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
		printf("\"synced_regions\": %" PRIu64 ", \"total_regions\": %" PRIu64 ", ",
		       s->synced, s->total);
		json_metadata(s);
		putchar('}');
	}
	printf("]}");
}
