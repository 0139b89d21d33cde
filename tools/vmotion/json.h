/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * json.h: JSON output (json.c).
 */
#ifndef VMOTION_JSON_H
#define VMOTION_JSON_H

#include <stdbool.h>

struct device;

void json_str(const char *s);
void json_status(const struct device *d, bool first);

#endif
