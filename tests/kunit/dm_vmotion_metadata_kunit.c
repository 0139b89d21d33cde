// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The dm-vmotion authors.
 *
 * KUnit tests for dm-vmotion's persistent metadata (dm-vmotion-metadata.c):
 * the on-disk header, its checksum and checks, the format's arithmetic,
 * and the in-memory bookkeeping of the two bitmaps, without I/O (through
 * dm_vmm_create_for_test()).
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/crc32.h>
#include <linux/err.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/string.h>

#include "dm-vmotion-bitmap.h"
#include "dm-vmotion-metadata.h"

/*---------------------------------------------------------------------------*/
/* Helpers */

/* The CRC-32 of zlib, bit by bit: independent of the kernel's tables. */
static u32 ref_crc32(const u8 *p, size_t len)
{
	u32 c = 0xffffffff;
	int k;

	while (len--) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0xedb88320 : c >> 1;
	}
	return ~c;
}

/* @bytes bytes at @off of @p as a little-endian number */
static u64 get_le(const u8 *p, unsigned int off, unsigned int bytes)
{
	u64 v = 0;

	while (bytes--)
		v = v << 8 | p[off + bytes];
	return v;
}

/* Bit @r of a bitmap image: bit r % 64 of little-endian word r / 64 */
static bool img_bit(const __le64 *img, unsigned long r)
{
	return ((const u8 *)img)[r / 8] & (1U << (r % 8));
}

static void img_bit_set(__le64 *img, unsigned long r)
{
	((u8 *)img)[r / 8] |= 1U << (r % 8);
}

static void *alloc_block(struct kunit *test)
{
	void *b = kunit_kzalloc(test, DM_VMM_BLOCK_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, b);
	return b;
}

/* A header whose every field, and every byte of each, is distinct. */
static void sample_header(struct dm_vmm_header *h)
{
	int i;

	memset(h, 0, sizeof(*h));
	h->version = DM_VMM_VERSION;
	h->state = DM_VMM_SYNCED;
	h->flags = 0;
	for (i = 0; i < 16; i++)
		h->uuid[i] = 0xc0 + i;
	h->length = 0x1122334455667788ULL;
	h->region_size = 128;
	h->nr_regions = 40003;
	h->source_offset = 0x0102030405060708ULL;
	h->source_size = 0xa1a2a3a4a5a6a7a8ULL;
	h->dest_offset = 0x0807060504030201ULL;
	h->dest_size = 0xb1b2b3b4b5b6b7b8ULL;
	h->bitmap_blocks = 2;
	h->generation = 0xfedcba9876543210ULL;
}

/* zlib.crc32() of sample_header()'s sector with its csum field zero */
#define SAMPLE_CSUM	0x80519219U

/* 40003 regions: not a multiple of 64, and two 4 KiB bitmap blocks */
#define NR		40003UL
#define REGION		8
#define LENGTH		(NR * REGION - 5)	/* the last region is short */

static const struct dm_vmm_geometry geo = {
	.length = LENGTH,
	.region_size = REGION,
	.nr_regions = NR,
	.source_offset = 2048,
	.source_size = LENGTH + 2048,
	.dest_offset = 4096,
	.dest_size = LENGTH + 4096,
};

static struct dm_vmm *create_md(struct kunit *test,
				const struct dm_vmm_geometry *g)
{
	struct dm_vmm *md = dm_vmm_create_for_test(g);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, md);
	return md;
}

static struct dm_vmb *create_vmb(struct kunit *test, bool synced)
{
	struct dm_vmb *vmb = dm_vmb_create(LENGTH, REGION, synced);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, vmb);
	KUNIT_ASSERT_EQ(test, dm_vmb_nr_regions(vmb), NR);
	return vmb;
}

static unsigned long *alloc_bits(struct kunit *test)
{
	unsigned long *b = kunit_kcalloc(test, BITS_TO_LONGS(NR),
					 sizeof(long), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, b);
	return b;
}

/*---------------------------------------------------------------------------*/
/* On-disk header */

static void header_round_trip(struct kunit *test)
{
	struct dm_vmm_header h, d;
	const char *why = NULL;
	u8 *b = alloc_block(test);

	sample_header(&h);
	dm_vmm_header_encode(&h, b);
	memset(&d, 0x5a, sizeof(d));
	KUNIT_ASSERT_EQ(test, dm_vmm_header_decode(b, &d, &why), 0);
	KUNIT_EXPECT_EQ(test, d.version, h.version);
	KUNIT_EXPECT_EQ(test, d.state, h.state);
	KUNIT_EXPECT_EQ(test, d.flags, h.flags);
	KUNIT_EXPECT_EQ(test, memcmp(d.uuid, h.uuid, sizeof(h.uuid)), 0);
	KUNIT_EXPECT_EQ(test, d.length, h.length);
	KUNIT_EXPECT_EQ(test, d.region_size, h.region_size);
	KUNIT_EXPECT_EQ(test, d.nr_regions, h.nr_regions);
	KUNIT_EXPECT_EQ(test, d.source_offset, h.source_offset);
	KUNIT_EXPECT_EQ(test, d.source_size, h.source_size);
	KUNIT_EXPECT_EQ(test, d.dest_offset, h.dest_offset);
	KUNIT_EXPECT_EQ(test, d.dest_size, h.dest_size);
	KUNIT_EXPECT_EQ(test, d.bitmap_blocks, h.bitmap_blocks);
	KUNIT_EXPECT_EQ(test, d.generation, h.generation);

	/* every state round-trips */
	for (h.state = DM_VMM_COPYING; h.state <= DM_VMM_FAILED; h.state++) {
		dm_vmm_header_encode(&h, b);
		KUNIT_EXPECT_EQ(test, dm_vmm_header_decode(b, &d, &why), 0);
		KUNIT_EXPECT_EQ(test, d.state, h.state);
	}
}

/* The packed struct is where the format says, field by field. */
static void header_struct_offsets(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, sizeof(struct dm_vmm_disk_header), (size_t)112);
	KUNIT_EXPECT_EQ(test, offsetof(struct dm_vmm_disk_header, magic), (size_t)0);
	KUNIT_EXPECT_EQ(test, offsetof(struct dm_vmm_disk_header, csum), (size_t)8);
	KUNIT_EXPECT_EQ(test, offsetof(struct dm_vmm_disk_header, version), (size_t)12);
	KUNIT_EXPECT_EQ(test, offsetof(struct dm_vmm_disk_header, state), (size_t)16);
	KUNIT_EXPECT_EQ(test, offsetof(struct dm_vmm_disk_header, flags), (size_t)20);
	KUNIT_EXPECT_EQ(test, offsetof(struct dm_vmm_disk_header, uuid), (size_t)24);
	KUNIT_EXPECT_EQ(test, offsetof(struct dm_vmm_disk_header, length), (size_t)40);
	KUNIT_EXPECT_EQ(test, offsetof(struct dm_vmm_disk_header, region_size), (size_t)48);
	KUNIT_EXPECT_EQ(test, offsetof(struct dm_vmm_disk_header, nr_regions), (size_t)56);
	KUNIT_EXPECT_EQ(test, offsetof(struct dm_vmm_disk_header, source_offset), (size_t)64);
	KUNIT_EXPECT_EQ(test, offsetof(struct dm_vmm_disk_header, source_size), (size_t)72);
	KUNIT_EXPECT_EQ(test, offsetof(struct dm_vmm_disk_header, dest_offset), (size_t)80);
	KUNIT_EXPECT_EQ(test, offsetof(struct dm_vmm_disk_header, dest_size), (size_t)88);
	KUNIT_EXPECT_EQ(test, offsetof(struct dm_vmm_disk_header, bitmap_blocks), (size_t)96);
	KUNIT_EXPECT_EQ(test, offsetof(struct dm_vmm_disk_header, generation), (size_t)104);
}

/* The encoded block, byte by byte: little-endian fields, zero elsewhere. */
static void header_byte_layout(struct kunit *test)
{
	static const struct {
		unsigned int off, bytes;
		u64 value;
	} fields[] = {
		{ 12, 4, DM_VMM_VERSION },
		{ 16, 4, DM_VMM_SYNCED },
		{ 20, 4, 0 },
		{ 40, 8, 0x1122334455667788ULL },
		{ 48, 8, 128 },
		{ 56, 8, 40003 },
		{ 64, 8, 0x0102030405060708ULL },
		{ 72, 8, 0xa1a2a3a4a5a6a7a8ULL },
		{ 80, 8, 0x0807060504030201ULL },
		{ 88, 8, 0xb1b2b3b4b5b6b7b8ULL },
		{ 96, 8, 2 },
		{ 104, 8, 0xfedcba9876543210ULL },
	};
	struct dm_vmm_header h;
	u8 *b = alloc_block(test);
	int i;

	sample_header(&h);
	memset(b, 0xee, DM_VMM_BLOCK_SIZE);
	dm_vmm_header_encode(&h, b);

	KUNIT_EXPECT_EQ(test, memcmp(b, "dmvmotMD", 8), 0);
	KUNIT_EXPECT_EQ(test, get_le(b, 0, 8), DM_VMM_MAGIC);
	KUNIT_EXPECT_EQ(test, get_le(b, 8, 4), (u64)SAMPLE_CSUM);
	for (i = 0; i < ARRAY_SIZE(fields); i++)
		KUNIT_EXPECT_EQ_MSG(test, get_le(b, fields[i].off, fields[i].bytes),
				    fields[i].value, "field at offset %u",
				    fields[i].off);
	for (i = 0; i < 16; i++)
		KUNIT_EXPECT_EQ(test, b[24 + i], (u8)(0xc0 + i));
	/* least significant byte first */
	KUNIT_EXPECT_EQ(test, b[12], (u8)DM_VMM_VERSION);
	KUNIT_EXPECT_EQ(test, b[15], (u8)0);
	KUNIT_EXPECT_EQ(test, b[40], (u8)0x88);
	KUNIT_EXPECT_EQ(test, b[47], (u8)0x11);
	KUNIT_EXPECT_EQ(test, b[104], (u8)0x10);
	KUNIT_EXPECT_EQ(test, b[111], (u8)0xfe);
	/* the rest of the sector, and of the block, is zero */
	KUNIT_EXPECT_PTR_EQ(test, memchr_inv(b + 112, 0, DM_VMM_BLOCK_SIZE - 112),
			    NULL);
}

/*
 * The checksum is zlib's CRC-32 of the 512-byte sector with the csum field
 * zero: against a bitwise CRC-32 and against values zlib computed.
 */
static void header_checksum(struct kunit *test)
{
	static const u8 digits[] = "123456789";
	struct dm_vmm_header h;
	u8 *b = alloc_block(test);
	u8 *copy = alloc_block(test);
	u32 csum;

	/* the reference and the kernel's crc32_le agree with zlib */
	KUNIT_EXPECT_EQ(test, ref_crc32(digits, 9), 0xcbf43926U);
	KUNIT_EXPECT_EQ(test, ~crc32_le(~0U, digits, 9), 0xcbf43926U);
	KUNIT_EXPECT_EQ(test, ref_crc32(b, DM_VMM_HEADER_BYTES), 0xb2aa7578U);
	KUNIT_EXPECT_EQ(test, dm_vmm_header_csum(b), 0xb2aa7578U);

	sample_header(&h);
	dm_vmm_header_encode(&h, b);
	memcpy(copy, b, DM_VMM_BLOCK_SIZE);
	memset(copy + 8, 0, 4);
	csum = dm_vmm_header_csum(b);
	KUNIT_EXPECT_EQ(test, csum, ref_crc32(copy, DM_VMM_HEADER_BYTES));
	KUNIT_EXPECT_EQ(test, csum, SAMPLE_CSUM);
	KUNIT_EXPECT_EQ(test, (u32)get_le(b, 8, 4), SAMPLE_CSUM);

	/* whatever the csum field holds, it counts as zero */
	memset(b + 8, 0xff, 4);
	KUNIT_EXPECT_EQ(test, dm_vmm_header_csum(b), SAMPLE_CSUM);
	/* and the bytes after the first 512 do not count at all */
	memset(copy + DM_VMM_HEADER_BYTES, 0xa5,
	       DM_VMM_BLOCK_SIZE - DM_VMM_HEADER_BYTES);
	KUNIT_EXPECT_EQ(test, dm_vmm_header_csum(copy), SAMPLE_CSUM);
	/* the last byte of the sector does */
	copy[DM_VMM_HEADER_BYTES - 1] = 1;
	KUNIT_EXPECT_NE(test, dm_vmm_header_csum(copy), SAMPLE_CSUM);
}

static void decode_all_zero_is_nodata(struct kunit *test)
{
	struct dm_vmm_header d;
	const char *why = NULL;
	u8 *b = alloc_block(test);

	KUNIT_EXPECT_EQ(test, dm_vmm_header_decode(b, &d, &why), -ENODATA);
	KUNIT_EXPECT_NULL(test, why);
	/* a zero sector with anything after it is not "no metadata" */
	b[DM_VMM_BLOCK_SIZE - 1] = 1;
	KUNIT_EXPECT_EQ(test, dm_vmm_header_decode(b, &d, &why), -EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, why);
}

/* Garbage after the header sector is ignored, checksum and all. */
static void decode_ignores_rest_of_block(struct kunit *test)
{
	struct dm_vmm_header h, d;
	const char *why = NULL;
	u8 *b = alloc_block(test);

	sample_header(&h);
	dm_vmm_header_encode(&h, b);
	memset(b + DM_VMM_HEADER_BYTES, 0xa5,
	       DM_VMM_BLOCK_SIZE - DM_VMM_HEADER_BYTES);
	KUNIT_EXPECT_EQ(test, dm_vmm_header_decode(b, &d, &why), 0);
	KUNIT_EXPECT_NULL(test, why);
	KUNIT_EXPECT_EQ(test, d.generation, h.generation);
}

/* Decode @h encoded, after @h is changed; -EINVAL with its reason. */
static const char *decode_reason(struct kunit *test, const struct dm_vmm_header *h)
{
	struct dm_vmm_header d;
	const char *why = NULL;
	u8 *b = alloc_block(test);

	dm_vmm_header_encode(h, b);
	KUNIT_EXPECT_EQ(test, dm_vmm_header_decode(b, &d, &why), -EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, why);
	return why;
}

/*
 * A flipped byte: in the magic, a bad magic; anywhere else in the sector,
 * including the csum field, a bad checksum.
 */
static void decode_rejects_flipped_bytes(struct kunit *test)
{
	struct dm_vmm_header h, d;
	const char *magic_why = NULL, *csum_why = NULL, *why;
	unsigned int off, bad = 0, first_bad = 0;
	u8 *good = alloc_block(test);
	u8 *b = alloc_block(test);
	int r;

	sample_header(&h);
	dm_vmm_header_encode(&h, good);
	for (off = 0; off < DM_VMM_HEADER_BYTES; off++) {
		memcpy(b, good, DM_VMM_BLOCK_SIZE);
		b[off] ^= 0xff;
		why = NULL;
		r = dm_vmm_header_decode(b, &d, &why);
		if (off < 8 && !magic_why)
			magic_why = why;
		if (off >= 8 && !csum_why)
			csum_why = why;
		if (r != -EINVAL || !why ||
		    why != (off < 8 ? magic_why : csum_why)) {
			if (!bad++)
				first_bad = off;
		}
	}
	KUNIT_EXPECT_EQ_MSG(test, bad, 0U, "first wrong at byte %u", first_bad);
	KUNIT_ASSERT_NOT_NULL(test, magic_why);
	KUNIT_ASSERT_NOT_NULL(test, csum_why);
	KUNIT_EXPECT_STRNEQ(test, magic_why, csum_why);
	/* the magic's reason is its own, not the checksum's */
	KUNIT_EXPECT_NOT_NULL(test, strstr(magic_why, "magic"));
	KUNIT_EXPECT_NOT_NULL(test, strstr(csum_why, "checksum"));
}

/*
 * Each reason for refusing a header: -EINVAL, a message, and a message
 * of its own.
 */
static void decode_reasons(struct kunit *test)
{
	enum { MAGIC, CSUM, VERSION, STATE, BITMAP, N, FLAGS = N };
	const char *why[N + 1], *edge_why = NULL;
	struct dm_vmm_header h;
	struct dm_vmm_disk_header *dh;
	u8 *b = alloc_block(test);
	int i, j;

	sample_header(&h);
	dm_vmm_header_encode(&h, b);
	dh = (struct dm_vmm_disk_header *)b;
	dh->magic = cpu_to_le64(DM_VMM_MAGIC + 1);
	dh->csum = cpu_to_le32(dm_vmm_header_csum(b));
	why[MAGIC] = NULL;
	KUNIT_EXPECT_EQ(test, dm_vmm_header_decode(b, &h, &why[MAGIC]), -EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, why[MAGIC]);

	sample_header(&h);
	dm_vmm_header_encode(&h, b);
	dh->csum = cpu_to_le32(le32_to_cpu(dh->csum) ^ 1);
	why[CSUM] = NULL;
	KUNIT_EXPECT_EQ(test, dm_vmm_header_decode(b, &h, &why[CSUM]), -EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, why[CSUM]);

	/* the rest with a valid checksum: encode does not check */
	sample_header(&h);
	h.version = DM_VMM_VERSION + 1;
	why[VERSION] = decode_reason(test, &h);
	h.version = 0;
	KUNIT_EXPECT_PTR_EQ(test, decode_reason(test, &h), why[VERSION]);

	sample_header(&h);
	h.state = 0;
	why[STATE] = decode_reason(test, &h);
	h.state = DM_VMM_FAILED + 1;
	KUNIT_EXPECT_PTR_EQ(test, decode_reason(test, &h), why[STATE]);

	sample_header(&h);
	h.flags = 1;
	why[FLAGS] = decode_reason(test, &h);
	h.flags = 0x80000000;
	KUNIT_EXPECT_PTR_EQ(test, decode_reason(test, &h), why[FLAGS]);

	sample_header(&h);
	h.bitmap_blocks = 3;
	why[BITMAP] = decode_reason(test, &h);
	h.bitmap_blocks = 1;
	KUNIT_EXPECT_PTR_EQ(test, decode_reason(test, &h), why[BITMAP]);
	h.nr_regions = 2 * DM_VMM_REGIONS_PER_BLOCK + 1;
	h.bitmap_blocks = 2;
	KUNIT_EXPECT_PTR_EQ(test, decode_reason(test, &h), why[BITMAP]);
	/* and the edge on the other side is consistent */
	h.nr_regions = 2 * DM_VMM_REGIONS_PER_BLOCK;
	dm_vmm_header_encode(&h, b);
	KUNIT_EXPECT_EQ(test, dm_vmm_header_decode(b, &h, &edge_why), 0);
	KUNIT_EXPECT_NULL(test, edge_why);

	for (i = 0; i <= N; i++) {
		KUNIT_ASSERT_NOT_NULL_MSG(test, why[i], "reason %d", i);
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_STRNEQ_MSG(test, why[i], why[j],
						"reasons %d and %d", i, j);
	}
}

/*---------------------------------------------------------------------------*/
/* Header against the table */

static void header_check_geometry(struct kunit *test)
{
	static const char * const names[] = {
		"length", "region size", "regions", "source offset",
		"destination offset",
	};
	const char *why[ARRAY_SIZE(names)];
	struct dm_vmm_geometry g;
	struct dm_vmm_header h;
	const char *w = NULL;
	int i, j;

	sample_header(&h);
	h.length = geo.length;
	h.region_size = geo.region_size;
	h.nr_regions = geo.nr_regions;
	h.source_offset = geo.source_offset;
	h.source_size = geo.source_size;
	h.dest_offset = geo.dest_offset;
	h.dest_size = geo.dest_size;
	KUNIT_EXPECT_EQ(test, dm_vmm_header_check(&h, &geo, &w), 0);
	KUNIT_EXPECT_NULL(test, w);

	/* the sizes of the devices are informative */
	g = geo;
	g.source_size++;
	g.dest_size += 1ULL << 40;
	KUNIT_EXPECT_EQ(test, dm_vmm_header_check(&h, &g, &w), 0);
	KUNIT_EXPECT_NULL(test, w);

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		g = geo;
		switch (i) {
		case 0:
			g.length--;
			break;
		case 1:
			g.region_size *= 2;
			break;
		case 2:
			g.nr_regions++;
			break;
		case 3:
			g.source_offset = 0;
			break;
		case 4:
			g.dest_offset++;
			break;
		}
		why[i] = NULL;
		KUNIT_EXPECT_EQ_MSG(test, dm_vmm_header_check(&h, &g, &why[i]),
				    -EINVAL, "%s differs", names[i]);
		KUNIT_ASSERT_NOT_NULL_MSG(test, why[i], "%s differs", names[i]);
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_STRNEQ(test, why[i], why[j]);
	}

	/* the first field that differs is named */
	g = geo;
	g.length++;
	g.dest_offset++;
	KUNIT_EXPECT_EQ(test, dm_vmm_header_check(&h, &g, &w), -EINVAL);
	KUNIT_EXPECT_PTR_EQ(test, w, why[0]);
}

/*---------------------------------------------------------------------------*/
/* Arithmetic */

static void format_arithmetic(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, DM_VMM_BLOCK_SECTORS, 8U);
	KUNIT_EXPECT_EQ(test, DM_VMM_REGIONS_PER_BLOCK, 32768ULL);

	KUNIT_EXPECT_EQ(test, dm_vmm_bitmap_blocks(1), 1ULL);
	KUNIT_EXPECT_EQ(test, dm_vmm_bitmap_blocks(64), 1ULL);
	KUNIT_EXPECT_EQ(test, dm_vmm_bitmap_blocks(32767), 1ULL);
	KUNIT_EXPECT_EQ(test, dm_vmm_bitmap_blocks(32768), 1ULL);
	KUNIT_EXPECT_EQ(test, dm_vmm_bitmap_blocks(32769), 2ULL);
	KUNIT_EXPECT_EQ(test, dm_vmm_bitmap_blocks(NR), 2ULL);
	KUNIT_EXPECT_EQ(test, dm_vmm_bitmap_blocks(65536), 2ULL);
	KUNIT_EXPECT_EQ(test, dm_vmm_bitmap_blocks(65537), 3ULL);
	KUNIT_EXPECT_EQ(test, dm_vmm_bitmap_blocks(DM_VMM_MAX_REGIONS), 4096ULL);

	/* header block + two bitmaps, 8 sectors a block */
	KUNIT_EXPECT_EQ(test, dm_vmm_sectors(1), 24ULL);
	KUNIT_EXPECT_EQ(test, dm_vmm_sectors(32768), 24ULL);
	KUNIT_EXPECT_EQ(test, dm_vmm_sectors(32769), 40ULL);
	KUNIT_EXPECT_EQ(test, dm_vmm_sectors(NR), 40ULL);
	KUNIT_EXPECT_EQ(test, dm_vmm_sectors(DM_VMM_MAX_REGIONS), 65544ULL);
}

/*---------------------------------------------------------------------------*/
/* Bookkeeping without I/O */

static void create_for_test_limits(struct kunit *test)
{
	struct dm_vmm_geometry g = geo;
	struct dm_vmm *md;

	g.nr_regions = DM_VMM_MAX_REGIONS + 1;
	KUNIT_EXPECT_EQ(test, PTR_ERR(dm_vmm_create_for_test(&g)), -EINVAL);

	/* one region: one block of each bitmap */
	g.length = 5;
	g.nr_regions = 1;
	md = create_md(test, &g);
	KUNIT_EXPECT_FALSE(test, dm_vmm_formatted(md));
	KUNIT_EXPECT_EQ(test, dm_vmm_blocks_written(md), 0ULL);
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, 0, 1), 1UL);
	dm_vmm_stage_intent(md, 0);
	KUNIT_EXPECT_TRUE(test, img_bit(dm_vmm_intent_img_for_test(md), 0));
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, 0, 1), 1UL);
	dm_vmm_intent_set_on(md, 0);
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, 0, 1), 0UL);
	KUNIT_EXPECT_EQ(test, dm_vmm_nr_intents(md), 1UL);
	dm_vmm_close(md);
}

static const unsigned long intent_regions[] = {
	0, 63, 64, 32767, 32768, NR - 1,
};

/*
 * A staged bit is in the image that the next write sends, but is not on
 * until the caller says the write is done; clearing is at once.
 */
static void intent_stage_set_clear(struct kunit *test)
{
	struct dm_vmm *md = create_md(test, &geo);
	__le64 *img = dm_vmm_intent_img_for_test(md);
	unsigned long r;
	int i;

	KUNIT_EXPECT_EQ(test, dm_vmm_nr_intents(md), 0UL);
	for (i = 0; i < ARRAY_SIZE(intent_regions); i++) {
		r = intent_regions[i];
		dm_vmm_stage_intent(md, r);
		KUNIT_EXPECT_TRUE_MSG(test, img_bit(img, r), "region %lu", r);
		KUNIT_EXPECT_FALSE_MSG(test, dm_vmm_intent_on(md, r),
				       "region %lu", r);
	}
	/* staging twice changes nothing */
	dm_vmm_stage_intent(md, 64);
	KUNIT_EXPECT_EQ(test, dm_vmm_nr_intents(md), 0UL);
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, 0, NR), NR);
	KUNIT_EXPECT_FALSE(test, img_bit(img, 1));
	KUNIT_EXPECT_FALSE(test, img_bit(img, 65));
	KUNIT_EXPECT_FALSE(test, img_bit(img, 32769));
	KUNIT_EXPECT_FALSE(test, img_bit(img, NR - 2));

	for (i = 0; i < ARRAY_SIZE(intent_regions); i++) {
		r = intent_regions[i];
		dm_vmm_intent_set_on(md, r);
		KUNIT_EXPECT_TRUE_MSG(test, dm_vmm_intent_on(md, r),
				      "region %lu", r);
		KUNIT_EXPECT_EQ(test, dm_vmm_nr_intents(md), i + 1UL);
	}
	dm_vmm_intent_set_on(md, 63);
	KUNIT_EXPECT_EQ(test, dm_vmm_nr_intents(md), 6UL);
	KUNIT_EXPECT_FALSE(test, dm_vmm_intent_on(md, 1));
	KUNIT_EXPECT_FALSE(test, dm_vmm_intent_on(md, 32769));

	dm_vmm_clear_intent(md, 32768);
	KUNIT_EXPECT_FALSE(test, dm_vmm_intent_on(md, 32768));
	KUNIT_EXPECT_FALSE(test, img_bit(img, 32768));
	KUNIT_EXPECT_TRUE(test, img_bit(img, 32767));
	KUNIT_EXPECT_EQ(test, dm_vmm_nr_intents(md), 5UL);
	dm_vmm_clear_intent(md, 32768);
	KUNIT_EXPECT_EQ(test, dm_vmm_nr_intents(md), 5UL);
	dm_vmm_clear_intent(md, NR - 1);
	KUNIT_EXPECT_FALSE(test, dm_vmm_intent_on(md, NR - 1));
	KUNIT_EXPECT_FALSE(test, img_bit(img, NR - 1));
	KUNIT_EXPECT_EQ(test, dm_vmm_nr_intents(md), 4UL);

	/* a bit staged but not yet on is cleared from the image alone */
	dm_vmm_stage_intent(md, 1000);
	dm_vmm_clear_intent(md, 1000);
	KUNIT_EXPECT_FALSE(test, img_bit(img, 1000));
	KUNIT_EXPECT_EQ(test, dm_vmm_nr_intents(md), 4UL);
	dm_vmm_close(md);
}

/* dm_vmm_next_intent() finds the bits that are on, inside its window. */
static void intent_search_windows(struct kunit *test)
{
	struct dm_vmm *md = create_md(test, &geo);
	int i;

	for (i = 0; i < ARRAY_SIZE(intent_regions); i++) {
		dm_vmm_stage_intent(md, intent_regions[i]);
		dm_vmm_intent_set_on(md, intent_regions[i]);
	}
	dm_vmm_clear_intent(md, 32768);
	/* staged, not on: not found */
	dm_vmm_stage_intent(md, 100);

	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, 0, NR), 0UL);
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, 1, NR), 63UL);
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, 1, 63), 63UL);
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, 64, NR), 64UL);
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, 64, 64), 64UL);
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, 65, 32767), 32767UL);
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, 65, NR), 32767UL);
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, 32768, NR), NR - 1);
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, 32768, 40000), 40000UL);
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, NR - 1, NR), NR - 1);
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, NR, NR), NR);
	dm_vmm_close(md);
}

static void touched_regions(struct kunit *test)
{
	struct dm_vmm *md = create_md(test, &geo);

	KUNIT_EXPECT_FALSE(test, dm_vmm_test_and_clear_touched(md, 5));
	dm_vmm_touch(md, 5);
	dm_vmm_touch(md, 5);
	dm_vmm_touch(md, NR - 1);
	KUNIT_EXPECT_FALSE(test, dm_vmm_test_and_clear_touched(md, 4));
	KUNIT_EXPECT_FALSE(test, dm_vmm_test_and_clear_touched(md, 6));
	KUNIT_EXPECT_TRUE(test, dm_vmm_test_and_clear_touched(md, 5));
	KUNIT_EXPECT_FALSE(test, dm_vmm_test_and_clear_touched(md, 5));
	KUNIT_EXPECT_TRUE(test, dm_vmm_test_and_clear_touched(md, NR - 1));
	KUNIT_EXPECT_FALSE(test, dm_vmm_test_and_clear_touched(md, NR - 1));
	/* touching is not intent */
	KUNIT_EXPECT_EQ(test, dm_vmm_nr_intents(md), 0UL);
	dm_vmm_close(md);
}

/* Set in-sync ranges in the disk image and in @bits. */
static const struct {
	unsigned long start, nr;
} synced_ranges[] = {
	{ 0, 100 },		/* across the first word */
	{ 130, 1 },
	{ 32760, 21 },		/* across the two blocks */
	{ 39990, NR - 39990 },	/* to the last region */
};

static void set_synced_ranges(__le64 *img, unsigned long *bits)
{
	unsigned long r;
	int i;

	for (i = 0; i < ARRAY_SIZE(synced_ranges); i++)
		for (r = synced_ranges[i].start;
		     r < synced_ranges[i].start + synced_ranges[i].nr; r++) {
			img_bit_set(img, r);
			__set_bit(r, bits);
		}
}

/* Regions whose vmb bit is not @expect's: how many, and the first. */
static unsigned long vmb_mismatches(struct dm_vmb *vmb,
				    const unsigned long *expect,
				    unsigned long *first)
{
	unsigned long r, n = 0;

	for (r = 0; r < NR; r++)
		if (dm_vmb_is_synced(vmb, r) != test_bit(r, expect) && !n++)
			*first = r;
	return n;
}

/*
 * dm_vmm_load() marks exactly the regions recorded in sync and without a
 * write-intent bit, counts the intent bits and turns them on; bits past
 * the last region (in its word) are not regions.
 */
static void load_from_images(struct kunit *test)
{
	static const unsigned long intents[] = { 50, 1000, 32768, NR - 1 };
	struct dm_vmm *md = create_md(test, &geo);
	struct dm_vmb *vmb = create_vmb(test, true);
	__le64 *synced = dm_vmm_synced_img_for_test(md);
	__le64 *intent = dm_vmm_intent_img_for_test(md);
	unsigned long *expect = alloc_bits(test);
	unsigned long r, n, first = 0;
	int i;

	set_synced_ranges(synced, expect);
	for (i = 0; i < ARRAY_SIZE(intents); i++) {
		img_bit_set(intent, intents[i]);
		__clear_bit(intents[i], expect);
	}
	img_bit_set(synced, NR + 7);
	img_bit_set(intent, NR + 7);
	/* on before the load, not in the image: off after it */
	dm_vmm_intent_set_on(md, 7);

	KUNIT_EXPECT_EQ(test, dm_vmm_load(md, vmb), ARRAY_SIZE(intents));
	KUNIT_EXPECT_EQ(test, dm_vmm_nr_intents(md), ARRAY_SIZE(intents));
	n = vmb_mismatches(vmb, expect, &first);
	KUNIT_EXPECT_EQ_MSG(test, n, 0UL, "first wrong region %lu", first);
	KUNIT_EXPECT_EQ(test, dm_vmb_nr_synced(vmb),
			(unsigned long)bitmap_weight(expect, NR));
	KUNIT_EXPECT_EQ(test, dm_vmb_nr_synced(vmb), 100UL + 1 + 21 + 13 - 3);

	/* exactly the intent bits are on */
	KUNIT_EXPECT_FALSE(test, dm_vmm_intent_on(md, 7));
	r = 0;
	for (i = 0; i < ARRAY_SIZE(intents); i++) {
		r = dm_vmm_next_intent(md, r, NR);
		KUNIT_EXPECT_EQ(test, r, intents[i]);
		r++;
	}
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, r, NR), NR);

	/* the images are as they were: the load writes nothing */
	KUNIT_EXPECT_TRUE(test, img_bit(intent, 50));
	KUNIT_EXPECT_TRUE(test, img_bit(synced, 50));
	KUNIT_EXPECT_TRUE(test, dm_vmm_disk_synced(md, 50));
	KUNIT_EXPECT_FALSE(test, dm_vmm_disk_synced(md, 100));

	dm_vmb_destroy(vmb);
	dm_vmm_close(md);
}

/* Nothing anywhere: nothing in sync, no intents. */
static void load_empty(struct kunit *test)
{
	struct dm_vmm *md = create_md(test, &geo);
	struct dm_vmb *vmb = create_vmb(test, true);

	KUNIT_EXPECT_EQ(test, dm_vmm_load(md, vmb), 0UL);
	KUNIT_EXPECT_EQ(test, dm_vmb_nr_synced(vmb), 0UL);
	KUNIT_EXPECT_EQ(test, dm_vmm_nr_intents(md), 0UL);
	KUNIT_EXPECT_EQ(test, dm_vmm_next_intent(md, 0, NR), NR);
	dm_vmb_destroy(vmb);
	dm_vmm_close(md);
}

/* Staging tells whether the vmb differs from the disk's image. */
static void stage_synced_detects_changes(struct kunit *test)
{
	struct dm_vmm *md = create_md(test, &geo);
	struct dm_vmb *vmb = create_vmb(test, false);
	unsigned long *expect = alloc_bits(test);

	KUNIT_EXPECT_FALSE(test, dm_vmm_stage_synced(md, vmb));

	set_synced_ranges(dm_vmm_synced_img_for_test(md), expect);
	KUNIT_EXPECT_TRUE(test, dm_vmm_stage_synced(md, vmb));
	KUNIT_EXPECT_EQ(test, dm_vmm_load(md, vmb), 0UL);
	KUNIT_EXPECT_FALSE(test, dm_vmm_stage_synced(md, vmb));

	/* a change in the first block, then back */
	dm_vmb_set_synced(vmb, 1000, 1);
	KUNIT_EXPECT_TRUE(test, dm_vmm_stage_synced(md, vmb));
	dm_vmb_clear_synced(vmb, 1000, 1);
	KUNIT_EXPECT_FALSE(test, dm_vmm_stage_synced(md, vmb));
	/* a region no longer in sync in the second block */
	dm_vmb_clear_synced(vmb, NR - 1, 1);
	KUNIT_EXPECT_TRUE(test, dm_vmm_stage_synced(md, vmb));
	/* staging alone does not change what the disk may hold */
	KUNIT_EXPECT_TRUE(test, dm_vmm_disk_synced(md, NR - 1));
	KUNIT_EXPECT_FALSE(test, dm_vmm_disk_synced(md, 1000));
	dm_vmb_destroy(vmb);
	dm_vmm_close(md);
}

/* Regions whose dm_vmm_disk_synced() is not @expect's. */
static unsigned long disk_mismatches(struct dm_vmm *md,
				     const unsigned long *expect,
				     unsigned long *first)
{
	unsigned long r, n = 0;

	for (r = 0; r < NR; r++)
		if (dm_vmm_disk_synced(md, r) != test_bit(r, expect) && !n++)
			*first = r;
	return n;
}

/*
 * During a commit the disk may hold the old bits or the new: begin makes
 * dm_vmm_disk_synced() the union, end makes it the staged bits exactly.
 */
static void synced_commit_begin_end(struct kunit *test)
{
	struct dm_vmm *md = create_md(test, &geo);
	struct dm_vmb *vmb = create_vmb(test, false);
	unsigned long *old = alloc_bits(test);
	unsigned long *new = alloc_bits(test);
	unsigned long *both = alloc_bits(test);
	unsigned long r, n, blk, first = 0;

	set_synced_ranges(dm_vmm_synced_img_for_test(md), old);
	KUNIT_EXPECT_EQ(test, dm_vmm_load(md, vmb), 0UL);

	/* in sync and out of sync, in both blocks */
	dm_vmb_set_synced(vmb, 200, 100);
	dm_vmb_set_synced(vmb, 39000, 1);
	dm_vmb_clear_synced(vmb, 10, 10);
	dm_vmb_clear_synced(vmb, 32770, 1);
	dm_vmb_clear_synced(vmb, NR - 1, 1);
	for (r = 0; r < NR; r++)
		if (dm_vmb_is_synced(vmb, r))
			__set_bit(r, new);
	bitmap_or(both, old, new, NR);
	KUNIT_ASSERT_EQ(test, bitmap_weight(new, NR),
			bitmap_weight(old, NR) + 100 + 1 - 10 - 1 - 1);

	KUNIT_EXPECT_TRUE(test, dm_vmm_stage_synced(md, vmb));
	n = disk_mismatches(md, old, &first);
	KUNIT_EXPECT_EQ_MSG(test, n, 0UL, "staged: first wrong region %lu", first);

	/* a block a call: two changed blocks here */
	blk = 0;
	KUNIT_EXPECT_TRUE(test, dm_vmm_synced_begin(md, &blk));
	KUNIT_EXPECT_TRUE(test, dm_vmm_synced_begin(md, &blk));
	KUNIT_EXPECT_FALSE(test, dm_vmm_synced_begin(md, &blk));
	n = disk_mismatches(md, both, &first);
	KUNIT_EXPECT_EQ_MSG(test, n, 0UL, "begun: first wrong region %lu", first);

	blk = 0;
	while (dm_vmm_synced_end(md, &blk))
		;
	KUNIT_EXPECT_EQ(test, dm_vmm_nr_recorded(md), bitmap_weight(new, NR));
	n = disk_mismatches(md, new, &first);
	KUNIT_EXPECT_EQ_MSG(test, n, 0UL, "ended: first wrong region %lu", first);

	/* the disk's image is the vmb's now */
	KUNIT_EXPECT_FALSE(test, dm_vmm_stage_synced(md, vmb));
	dm_vmb_destroy(vmb);
	dm_vmm_close(md);
}

static struct kunit_case dm_vmotion_metadata_cases[] = {
	KUNIT_CASE(header_round_trip),
	KUNIT_CASE(header_struct_offsets),
	KUNIT_CASE(header_byte_layout),
	KUNIT_CASE(header_checksum),
	KUNIT_CASE(decode_all_zero_is_nodata),
	KUNIT_CASE(decode_ignores_rest_of_block),
	KUNIT_CASE(decode_rejects_flipped_bytes),
	KUNIT_CASE(decode_reasons),
	KUNIT_CASE(header_check_geometry),
	KUNIT_CASE(format_arithmetic),
	KUNIT_CASE(create_for_test_limits),
	KUNIT_CASE(intent_stage_set_clear),
	KUNIT_CASE(intent_search_windows),
	KUNIT_CASE(touched_regions),
	KUNIT_CASE(load_from_images),
	KUNIT_CASE(load_empty),
	KUNIT_CASE(stage_synced_detects_changes),
	KUNIT_CASE(synced_commit_begin_end),
	{}
};

static struct kunit_suite dm_vmotion_metadata_suite = {
	.name = "dm-vmotion-metadata",
	.test_cases = dm_vmotion_metadata_cases,
};

kunit_test_suite(dm_vmotion_metadata_suite);

MODULE_LICENSE("GPL");
