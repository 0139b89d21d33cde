/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The dm-vmotion authors.
 *
 * On-disk format of dm-vmotion's metadata (the "metadata" feature), shared
 * by the kernel module and the vmotion tool.  All fields little-endian.
 *
 *   block 0                      header: struct dm_vmm_disk_header in its
 *                                first 512 bytes (one sector, written
 *                                whole or not at all), the rest zero
 *   blocks 1 .. B                in-sync bitmap: bit r of 64-bit word r/64
 *                                set when region r was in sync on stable
 *                                storage
 *   blocks B+1 .. 2B             write-intent bitmap: bit r set while a
 *                                write to region r may be in flight
 *
 * Blocks are DM_VMM_BLOCK_SIZE bytes; B = bitmap_blocks.  The checksum is
 * the CRC-32 (IEEE 802.3, as zlib computes it) of the header's 512 bytes
 * with the csum field zero.  The bitmaps have no checksum of their own:
 * every bit is meaningful whatever its neighbours say, and a sector of
 * either bitmap is written whole or not at all.
 */
#ifndef DM_VMOTION_METADATA_FORMAT_H
#define DM_VMOTION_METADATA_FORMAT_H

#include <linux/types.h>
#ifdef __KERNEL__
#include <linux/build_bug.h>
#else
#include <assert.h>
#endif

/* "dmvmotMD" read as a little-endian 64-bit number */
#define DM_VMM_MAGIC		0x444d746f6d766d64ULL
#define DM_VMM_VERSION		1
#define DM_VMM_BLOCK_SIZE	4096U
#define DM_VMM_BLOCK_SECTORS	(DM_VMM_BLOCK_SIZE >> 9)
#define DM_VMM_HEADER_BYTES	512U
/* Regions one 4 KiB bitmap block holds */
#define DM_VMM_REGIONS_PER_BLOCK	(DM_VMM_BLOCK_SIZE * 8ULL)

/* What the metadata says of its migration */
enum dm_vmm_state {
	DM_VMM_COPYING = 1,	/* regions are being copied */
	DM_VMM_SYNCED = 2,	/* every region in sync, destination flushed */
	DM_VMM_SWITCHED = 3,	/* the destination is the device's data now */
	DM_VMM_ABORTED = 4,	/* the source is the device's data, for good */
	DM_VMM_FAILED = 5,	/* the bitmaps are not to be trusted */
};

struct dm_vmm_disk_header {
	__le64 magic;
	__le32 csum;
	__le32 version;
	__le32 state;
	__le32 flags;		/* none defined: 0 */
	__u8 uuid[16];		/* of the migration, random at format */
	__le64 length;		/* sectors of the target */
	__le64 region_size;	/* sectors */
	__le64 nr_regions;
	__le64 source_offset;	/* sectors */
	__le64 source_size;	/* of the source device at format: informative */
	__le64 dest_offset;	/* sectors */
	__le64 dest_size;	/* of the destination at format: informative */
	__le64 bitmap_blocks;	/* blocks of each bitmap */
	__le64 generation;	/* header writes so far */
};

/* No padding anywhere: the same layout for every compiler and ABI */
static_assert(sizeof(struct dm_vmm_disk_header) == 112,
	      "dm_vmm_disk_header is 112 bytes");

/* Blocks of one bitmap for @nr_regions regions */
static inline __u64 dm_vmm_bitmap_blocks(__u64 nr_regions)
{
	return (nr_regions + DM_VMM_REGIONS_PER_BLOCK - 1) /
	       DM_VMM_REGIONS_PER_BLOCK;
}

/* Sectors of metadata a migration of @nr_regions regions needs */
static inline __u64 dm_vmm_sectors(__u64 nr_regions)
{
	return (1 + 2 * dm_vmm_bitmap_blocks(nr_regions)) *
	       DM_VMM_BLOCK_SECTORS;
}

#endif /* DM_VMOTION_METADATA_FORMAT_H */
