/*
 * Unit tests for buf (the growable byte buffer). Every test runs in its own forked
 * process.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "unit.h"

/* ---- buf ---- */

/* b holds nothing and is still a valid (empty, NUL-terminated) string. */
static void assert_empty(const struct buf *b)
{
	ck_assert_uint_eq(b->len, 0);
	ck_assert_str_eq(b->data, "");
}

START_TEST(test_buf_init_empty)
{
	struct buf b = BUF_INIT;
	ck_assert_ptr_nonnull(b.data);
	assert_empty(&b);
	struct buf z;
	memset(&z, 0xff, sizeof z);
	buf_init(&z);
	ck_assert_ptr_nonnull(z.data);
	ck_assert_uint_eq(z.len, 0);
	ck_assert_uint_eq(z.cap, 0);
	buf_free(&b); /* freeing an empty buffer is fine */
	ck_assert_ptr_nonnull(b.data);
}
END_TEST

START_TEST(test_buf_add_binary)
{
	struct buf b = BUF_INIT;
	buf_add(&b, "a\0b", 3);
	buf_addc(&b, 'c');
	buf_adds(&b, "de");
	ck_assert_uint_eq(b.len, 6);
	ck_assert_mem_eq(b.data, "a\0bcde", 6);
	ck_assert_int_eq(b.data[6], 0);
	buf_truncate(&b, 4);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_int_eq(b.data[4], 0);
	buf_reset(&b);
	assert_empty(&b);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_printf_growth)
{
	struct buf b = BUF_INIT;
	char want[8192];
	size_t wl = 0;
	for (int i = 0; i < 500; i++) {
		buf_printf(&b, "%d,", i);
		int n = snprintf(want + wl, sizeof want - wl, "%d,", i);
		ck_assert_int_gt(n, 0);
		wl += (size_t)n;
		ck_assert_uint_eq(b.len, wl);
		ck_assert_int_eq(b.data[b.len], 0);
	}
	ck_assert_str_eq(b.data, want);
	ck_assert_uint_gt(b.cap, b.len);

	/* one call that needs much more than the current capacity */
	char big[5000];
	memset(big, 'q', sizeof big - 1);
	big[sizeof big - 1] = 0;
	buf_reset(&b);
	buf_adds(&b, "head:");
	buf_printf(&b, "%s:%s", big, "tail");
	ck_assert_uint_eq(b.len, 5 + 4999 + 5);
	ck_assert_mem_eq(b.data, "head:qqq", 8);
	ck_assert_str_eq(b.data + b.len - 5, ":tail");
	ck_assert_uint_eq(strlen(b.data), b.len);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_printf_from_empty)
{
	/* the first printf into a buffer that owns no memory */
	struct buf b = BUF_INIT;
	buf_printf(&b, "x=%d y=%s", 42, "abc");
	ck_assert_str_eq(b.data, "x=42 y=abc");
	ck_assert_uint_eq(b.len, 10);
	ck_assert_ptr_ne(b.data, buf_empty);
	ck_assert_str_eq(buf_empty, ""); /* the shared empty string was not written */
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_consume)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "hello world");
	buf_consume(&b, 6);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_str_eq(b.data, "world");
	buf_consume(&b, 0);
	ck_assert_str_eq(b.data, "world");
	buf_consume(&b, 5);
	assert_empty(&b);
	buf_adds(&b, "abc");
	buf_consume(&b, 100); /* more than there is empties it */
	assert_empty(&b);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_detach)
{
	struct buf b = BUF_INIT;
	buf_add(&b, "xyz\0w", 5);
	size_t len = 0;
	char *p = buf_detach(&b, &len);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(p, "xyz\0w", 5);
	ck_assert_int_eq(p[5], 0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_ptr_ne(b.data, p);
	free(p);

	/* an empty buffer still detaches a heap string the caller can free */
	p = buf_detach(&b, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_ne(p, buf_empty);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(p, "");
	free(p);

	/* the buffer is reusable afterwards */
	buf_adds(&b, "again");
	p = buf_detach(&b, NULL);
	ck_assert_str_eq(p, "again");
	free(p);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_grow_commit)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "ab");
	buf_grow(&b, 100);
	ck_assert_uint_ge(b.cap, 2 + 100 + 1);
	memcpy(b.data + b.len, "cdef", 4);
	buf_commit(&b, 4);
	ck_assert_uint_eq(b.len, 6);
	ck_assert_str_eq(b.data, "abcdef");
	buf_free(&b);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("buf",
		{"buf", .tests = UNIT_TESTS(
			test_buf_init_empty, test_buf_add_binary, test_buf_printf_growth,
			test_buf_printf_from_empty, test_buf_consume, test_buf_detach,
			test_buf_grow_commit)});
}
