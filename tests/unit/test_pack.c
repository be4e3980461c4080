/*
 * Unit tests for pack (bounded big-endian codec). Single-threaded; every test runs in its own forked process (CK_FORK default).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pack.h"
#include "unit.h"

/* ---- pack / unpack ---- */

START_TEST(test_int_round_trip)
{
	struct buf b = BUF_INIT;
	pack_u8(&b, 0xab);
	pack_u16(&b, 0xbeef);
	pack_u32(&b, 0xdeadbeefu);
	pack_u64(&b, 0x0123456789abcdefULL);
	pack_i64(&b, -42);
	pack_i32(&b, -7);
	pack_u64(&b, UINT64_MAX);
	ck_assert_uint_eq(b.len, 1 + 2 + 4 + 8 + 8 + 4 + 8);

	struct unpack u;
	unpack_init(&u, b.data, b.len);
	ck_assert_uint_eq(unpack_u8(&u), 0xab);
	ck_assert_uint_eq(unpack_u16(&u), 0xbeef);
	ck_assert_uint_eq(unpack_u32(&u), 0xdeadbeefu);
	ck_assert_uint_eq(unpack_u64(&u), 0x0123456789abcdefULL);
	ck_assert_int_eq(unpack_i64(&u), -42);
	ck_assert_int_eq(unpack_i32(&u), -7);
	ck_assert_uint_eq(unpack_u64(&u), UINT64_MAX);
	assert_read_all(&u);
	buf_free(&b);
}
END_TEST

START_TEST(test_big_endian_layout)
{
	struct buf b = BUF_INIT;
	pack_u16(&b, 0x0102);
	pack_u32(&b, 0x03040506u);
	pack_u64(&b, 0x0708090a0b0c0d0eULL);
	static const uint8_t want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
	ck_assert_uint_eq(b.len, sizeof want);
	ck_assert_mem_eq(b.data, want, sizeof want);
	buf_free(&b);
}
END_TEST

START_TEST(test_str_round_trip)
{
	struct buf b = BUF_INIT;
	pack_str(&b, "hello");
	pack_str(&b, NULL);
	pack_str(&b, "");
	pack_strn(&b, "worldwide", 5);
	pack_str(&b, "dup me");
	/* "hello" is u32 length + 5 bytes, no NUL on the wire */
	ck_assert_uint_eq(b.len, (4 + 5) + 4 + 4 + (4 + 5) + (4 + 6));
	ck_assert_mem_eq(b.data, "\0\0\0\5hello", 9);

	struct unpack u;
	unpack_init(&u, b.data, b.len);
	char s[16];
	memset(s, 'x', sizeof s);
	unpack_str(&u, s, sizeof s);
	ck_assert_str_eq(s, "hello");
	memset(s, 'x', sizeof s);
	unpack_str(&u, s, sizeof s);
	ck_assert_str_eq(s, "");
	memset(s, 'x', sizeof s);
	unpack_str(&u, s, sizeof s);
	ck_assert_str_eq(s, "");
	unpack_str(&u, s, sizeof s);
	ck_assert_str_eq(s, "world");
	char *d = unpack_strdup(&u, 100);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d, "dup me");
	free(d);
	assert_read_all(&u);
	buf_free(&b);
}
END_TEST

START_TEST(test_str_exact_bound)
{
	/* a string of exactly dstsz - 1 bytes fits */
	struct buf b = BUF_INIT;
	pack_str(&b, "abcde");
	struct unpack u;
	unpack_init(&u, b.data, b.len);
	char s[6];
	unpack_str(&u, s, sizeof s);
	ck_assert(unpack_ok(&u));
	ck_assert_str_eq(s, "abcde");
	buf_free(&b);
}
END_TEST

START_TEST(test_past_end_sticky)
{
	static const uint8_t three[] = {1, 2, 3};
	struct unpack u;
	unpack_init(&u, three, sizeof three);
	ck_assert_uint_eq(unpack_u32(&u), 0);
	ck_assert(!unpack_ok(&u));
	/* the error is sticky: bytes that were there are not handed out any more */
	ck_assert_uint_eq(unpack_u8(&u), 0);
	ck_assert_uint_eq(unpack_u16(&u), 0);
	ck_assert(!unpack_ok(&u));
	ck_assert_ptr_null(unpack_raw(&u, 1));

	/* a successful read first, then one past the end */
	unpack_init(&u, three, sizeof three);
	ck_assert_uint_eq(unpack_u16(&u), 0x0102);
	ck_assert(unpack_ok(&u));
	ck_assert_uint_eq(unpack_u64(&u), 0);
	ck_assert(!unpack_ok(&u));
	ck_assert_uint_eq(unpack_u8(&u), 0); /* the 3 is not returned after the error */
	ck_assert(!unpack_ok(&u));
}
END_TEST

START_TEST(test_past_end_each_width)
{
	static const uint8_t seven[] = {9, 9, 9, 9, 9, 9, 9};
	struct unpack u;
	unpack_init(&u, seven, 0);
	ck_assert_uint_eq(unpack_u8(&u), 0);
	ck_assert(!unpack_ok(&u));
	unpack_init(&u, seven, 1);
	ck_assert_uint_eq(unpack_u16(&u), 0);
	ck_assert(!unpack_ok(&u));
	unpack_init(&u, seven, 3);
	ck_assert_uint_eq(unpack_u32(&u), 0);
	ck_assert(!unpack_ok(&u));
	unpack_init(&u, seven, 7);
	ck_assert_uint_eq(unpack_u64(&u), 0);
	ck_assert(!unpack_ok(&u));
}
END_TEST

START_TEST(test_raw)
{
	static const uint8_t data[] = {1, 2, 3, 4, 5};
	struct unpack u;
	unpack_init(&u, data, sizeof data);
	const uint8_t *p = unpack_raw(&u, 2);
	ck_assert_ptr_eq(p, data); /* borrowed, not copied */
	p = unpack_raw(&u, 3);
	ck_assert_ptr_eq(p, data + 2);
	ck_assert(unpack_ok(&u));
	ck_assert_ptr_null(unpack_raw(&u, 1));
	ck_assert(!unpack_ok(&u));
}
END_TEST

START_TEST(test_str_too_long)
{
	struct buf b = BUF_INIT;
	pack_str(&b, "abcdef");
	pack_u8(&b, 7);
	struct unpack u;
	unpack_init(&u, b.data, b.len);
	char s[6]; /* holds at most 5 bytes */
	memset(s, 'x', sizeof s);
	unpack_str(&u, s, sizeof s);
	ck_assert(!unpack_ok(&u));
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(unpack_u8(&u), 0);

	unpack_init(&u, b.data, b.len);
	char *d = unpack_strdup(&u, 5);
	ck_assert(!unpack_ok(&u));
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d, "");
	free(d);
	buf_free(&b);
}
END_TEST

/* Decoding a string from b fails, and what it was decoded into holds "". */
static void assert_bad_str(const struct buf *b)
{
	struct unpack u;
	char s[64];
	memset(s, 'x', sizeof s);
	unpack_init(&u, b->data, b->len);
	unpack_str(&u, s, sizeof s);
	ck_assert(!unpack_ok(&u));
	ck_assert_str_eq(s, "");
}

START_TEST(test_str_length_past_end)
{
	/* the length prefix claims more bytes than the message holds */
	struct buf b = BUF_INIT;
	pack_u32(&b, 10);
	pack_raw(&b, "abc", 3);
	assert_bad_str(&b);
	buf_free(&b);
}
END_TEST

START_TEST(test_str_embedded_nul)
{
	struct buf b = BUF_INIT;
	pack_strn(&b, "ab\0cd", 5);
	assert_bad_str(&b);

	struct unpack u;
	unpack_init(&u, b.data, b.len);
	char *d = unpack_strdup(&u, 64);
	ck_assert(!unpack_ok(&u));
	ck_assert_str_eq(d, "");
	free(d);

	/* a trailing NUL counts as embedded too */
	buf_reset(&b);
	pack_strn(&b, "abc\0", 4);
	assert_bad_str(&b);
	buf_free(&b);
}
END_TEST

START_TEST(test_count)
{
	struct buf b = BUF_INIT;
	pack_u32(&b, 3);
	pack_u64(&b, 1);
	pack_u64(&b, 2);
	pack_u64(&b, 3);
	struct unpack u;
	unpack_init(&u, b.data, b.len);
	ck_assert_uint_eq(unpack_count(&u, 8), 3);
	ck_assert(unpack_ok(&u));
	ck_assert_uint_eq(u.left, 24);

	/* 3 items of 8 bytes cannot fit in 16 bytes */
	unpack_init(&u, b.data, b.len - 8);
	ck_assert_uint_eq(unpack_count(&u, 8), 0);
	ck_assert(!unpack_ok(&u));
	ck_assert_uint_eq(u.left, 0);

	/* items bigger than claimed: 3 x 9 bytes do not fit in 24 */
	unpack_init(&u, b.data, b.len);
	ck_assert_uint_eq(unpack_count(&u, 9), 0);
	ck_assert(!unpack_ok(&u));
	buf_free(&b);
}
END_TEST

START_TEST(test_count_huge)
{
	/* a hostile count must be rejected before anyone allocates for it */
	struct buf b = BUF_INIT;
	pack_u32(&b, 0xffffffffu);
	pack_u32(&b, 0);
	struct unpack u;
	unpack_init(&u, b.data, b.len);
	ck_assert_uint_eq(unpack_count(&u, 1), 0);
	ck_assert(!unpack_ok(&u));

	/* zero items always fit */
	buf_reset(&b);
	pack_u32(&b, 0);
	unpack_init(&u, b.data, b.len);
	ck_assert_uint_eq(unpack_count(&u, 16), 0);
	ck_assert(unpack_ok(&u));

	/* a missing count is an error as well */
	unpack_init(&u, b.data, 2);
	ck_assert_uint_eq(unpack_count(&u, 1), 0);
	ck_assert(!unpack_ok(&u));
	buf_free(&b);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("pack",
		{"pack", .tests = UNIT_TESTS(
			test_int_round_trip, test_big_endian_layout, test_str_round_trip,
			test_str_exact_bound, test_past_end_sticky, test_past_end_each_width,
			test_raw, test_str_too_long, test_str_length_past_end,
			test_str_embedded_nul, test_count, test_count_huge)});
}
