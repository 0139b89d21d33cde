/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The dm-vmotion authors.
 *
 * Interface of the vmotion target shared by the kernel module and the
 * vmotion tool: target name, status fields and messages.
 */
#ifndef DM_VMOTION_H
#define DM_VMOTION_H

#define DM_VMOTION_TARGET		"vmotion"
#define DM_VMOTION_VERSION_MAJOR	1
#define DM_VMOTION_VERSION_MINOR	4
#define DM_VMOTION_VERSION_PATCH	0

/* Region size bounds, in 512-byte sectors (both powers of two). */
#define DM_VMOTION_MIN_REGION_SECTORS	8U
#define DM_VMOTION_MAX_REGION_SECTORS	2097152U	/* 1 GiB */

/*
 * Status INFO line, fields in this order (new fields only ever at the end):
 *
 *   <synced regions>/<total regions> <region size> <state> <rate KiB/s>
 *   <copied KiB> <dest errors> <source errors> <held writes> <paused by>
 *   <metadata> <write-intent bits> <metadata blocks written>
 *   <regions recorded in sync> <KiB skipped as zero> <mode>
 *   <mode in force> <regions dirtied again> <pass> <copier level>
 *   <baseline latency us> <mirrored baseline latency us>
 */
enum dm_vmotion_status_field {
	DM_VMOTION_ST_REGIONS,
	DM_VMOTION_ST_REGION_SIZE,
	DM_VMOTION_ST_STATE,
	DM_VMOTION_ST_RATE,
	DM_VMOTION_ST_COPIED_KIB,
	DM_VMOTION_ST_DEST_ERRORS,
	DM_VMOTION_ST_SOURCE_ERRORS,
	DM_VMOTION_ST_HELD_WRITES,
	DM_VMOTION_ST_PAUSED_BY,
	DM_VMOTION_ST_METADATA,
	DM_VMOTION_ST_INTENT_BITS,
	DM_VMOTION_ST_MD_BLOCKS,
	DM_VMOTION_ST_MD_RECORDED,
	DM_VMOTION_ST_ZERO_KIB,
	DM_VMOTION_ST_MODE,
	DM_VMOTION_ST_MODE_IN_FORCE,
	DM_VMOTION_ST_REDIRTIED,
	DM_VMOTION_ST_PASS,
	DM_VMOTION_ST_COPIER_LEVEL,
	DM_VMOTION_ST_BASELINE_US,
	DM_VMOTION_ST_MIRRORED_BASELINE_US,
	DM_VMOTION_ST_NR_FIELDS
};

#define DM_VMOTION_STATE_COPYING	"copying"
#define DM_VMOTION_STATE_PAUSED		"paused"
#define DM_VMOTION_STATE_SYNCED		"synced"
#define DM_VMOTION_STATE_FAILED		"failed"

/* Why the copier is paused */
#define DM_VMOTION_PAUSED_BY_NONE	"-"
#define DM_VMOTION_PAUSED_BY_USER	"user"
#define DM_VMOTION_PAUSED_BY_ERROR	"error"

/* Metadata, in status */
#define DM_VMOTION_MD_NONE		"-"
#define DM_VMOTION_MD_OK		"ok"
#define DM_VMOTION_MD_ERROR		"error"
#define DM_VMOTION_MD_OFF		"off"

/* Feature arguments of the table line. */
#define DM_VMOTION_FEAT_RATE		"rate"
#define DM_VMOTION_FEAT_NOSYNC		"nosync"
#define DM_VMOTION_FEAT_NO_DISCARD	"no_discard_passdown"
#define DM_VMOTION_FEAT_ON_ERROR	"on_error"
#define DM_VMOTION_FEAT_METADATA	"metadata"
#define DM_VMOTION_FEAT_SKIP_ZEROES	"skip_zeroes"
#define DM_VMOTION_FEAT_DEST_ZEROED	"dest_zeroed"
#define DM_VMOTION_FEAT_MODE		"mode"
#define DM_VMOTION_ON_ERROR_FAIL	"fail"
#define DM_VMOTION_ON_ERROR_PAUSE	"pause"

/* Modes ("mode" feature and message) */
#define DM_VMOTION_MODE_MIRROR		"mirror"
#define DM_VMOTION_MODE_TRACK		"track"
#define DM_VMOTION_MODE_AUTO		"auto"

/* Messages: dmsetup message <dev> 0 <message> [<arg>] */
#define DM_VMOTION_MSG_PAUSE		"pause"
#define DM_VMOTION_MSG_RESUME		"resume"
#define DM_VMOTION_MSG_RATE		"rate"
#define DM_VMOTION_MSG_MODE		"mode"

#endif /* DM_VMOTION_H */
