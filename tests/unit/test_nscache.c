/*
 * Unit tests for the namenode's hot-record cache (namenode/nscache.c): binary keys and
 * values, replacement, deletion, growth past the first bucket array and the start-over
 * at the entry limit. Single-threaded, like the namenode's loop.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../namenode/nscache.h"
#include "unit.h"

/* The value cached for the NUL-terminated key k, as a string ("" on a miss). */
static const char *get(struct nn_nscache *c, const char *k, char *out, size_t n)
{
	size_t vl;
	const void *v = nn_nscache_get(c, k, strlen(k), &vl);
	snprintf(out, n, "%.*s", v ? (int)vl : 0, v ? (const char *)v : "");
	return out;
}

START_TEST(test_put_get_del)
{
	struct nn_nscache *c = nn_nscache_new(100);
	char b[64];
	size_t vl;
	ck_assert_ptr_null(nn_nscache_get(c, "a", 1, &vl));
	nn_nscache_put(c, "a", 1, "one", 3);
	nn_nscache_put(c, "ab", 2, "two", 3);
	ck_assert_str_eq(get(c, "a", b, sizeof b), "one");
	ck_assert_str_eq(get(c, "ab", b, sizeof b), "two");
	/* a replacement keeps one entry */
	nn_nscache_put(c, "a", 1, "uno", 3);
	ck_assert_str_eq(get(c, "a", b, sizeof b), "uno");
	ck_assert_uint_eq(nn_nscache_count(c), 2);
	/* keys are binary: an embedded NUL and an empty value are fine */
	nn_nscache_put(c, "x\0y", 3, "", 0);
	ck_assert_ptr_nonnull(nn_nscache_get(c, "x\0y", 3, &vl));
	ck_assert_uint_eq(vl, 0);
	ck_assert_ptr_null(nn_nscache_get(c, "x\0z", 3, &vl));
	nn_nscache_del(c, "a", 1);
	nn_nscache_del(c, "nope", 4);
	ck_assert_ptr_null(nn_nscache_get(c, "a", 1, &vl));
	ck_assert_str_eq(get(c, "ab", b, sizeof b), "two");
	ck_assert_uint_eq(nn_nscache_count(c), 2);
	nn_nscache_clear(c);
	ck_assert_uint_eq(nn_nscache_count(c), 0);
	ck_assert_ptr_null(nn_nscache_get(c, "ab", 2, &vl));
	nn_nscache_free(c);
	nn_nscache_free(NULL);
}
END_TEST

START_TEST(test_grows_and_starts_over)
{
	enum { MAX = 5000 };
	struct nn_nscache *c = nn_nscache_new(MAX);
	char k[32], v[32], b[64];
	for (int i = 0; i < MAX; i++) { /* past the first 1024 buckets, within the limit */
		snprintf(k, sizeof k, "key%d", i);
		snprintf(v, sizeof v, "val%d", i);
		nn_nscache_put(c, k, strlen(k), v, strlen(v));
	}
	ck_assert_uint_eq(nn_nscache_count(c), MAX);
	for (int i = 0; i < MAX; i++) {
		snprintf(k, sizeof k, "key%d", i);
		snprintf(v, sizeof v, "val%d", i);
		ck_assert_str_eq(get(c, k, b, sizeof b), v);
	}
	/* one more than the limit: only the newest entry is left */
	nn_nscache_put(c, "new", 3, "n", 1);
	ck_assert_uint_eq(nn_nscache_count(c), 1);
	ck_assert_str_eq(get(c, "new", b, sizeof b), "n");
	ck_assert_str_eq(get(c, "key0", b, sizeof b), "");
	nn_nscache_free(c);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("nscache",
		{"nscache", .tests = UNIT_TESTS(test_put_get_del, test_grows_and_starts_over)});
}
