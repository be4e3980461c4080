/*
 * Unit tests for reduce (compute/reduce.h): keys (the first tab, key_fields 2, a line
 * with no tab, empty values, non-UTF-8 bytes), bytewise order, stable partitions, and
 * the built-in reducers count, sum, min and max, with and without partials (after a
 * combiner), and their error on a value that is not a number; range partitions: the
 * boundary blob (increasing keys only), the partition of a key, boundaries from a sample
 * at its quantiles (fewer when few keys are distinct).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "reduce.h"
#include "unit.h"

static size_t key(const char *s, uint32_t k) { return mr_key_len(s, strlen(s), k); }

START_TEST(test_keys)
{
	ck_assert_uint_eq(key("a\tb\tc", 1), 1);
	ck_assert_uint_eq(key("a\tb\tc", 2), 3);
	ck_assert_uint_eq(key("a\tb\tc", 3), 5); /* fewer tabs: all key */
	ck_assert_uint_eq(key("no tab here", 1), 11);
	ck_assert_uint_eq(key("empty\t", 1), 5);
	ck_assert_uint_eq(key("\tvalue", 1), 0);
	ck_assert_uint_eq(key("", 1), 0);
	ck_assert_uint_eq(key("\xff\xfe\tv", 1), 2);
}
END_TEST

START_TEST(test_order)
{
	ck_assert_int_lt(mr_key_cmp("a", 1, "b", 1), 0);
	ck_assert_int_lt(mr_key_cmp("a", 1, "ab", 2), 0);
	ck_assert_int_gt(mr_key_cmp("b", 1, "ab", 2), 0);
	ck_assert_int_eq(mr_key_cmp("ab", 2, "ab", 2), 0);
	ck_assert_int_lt(mr_key_cmp("Z", 1, "a", 1), 0);           /* C locale: upper first */
	ck_assert_int_lt(mr_key_cmp("z", 1, "\xc3\xa9", 2), 0);    /* bytes above 0x7f last */
	ck_assert_int_lt(mr_key_cmp("", 0, "a", 1), 0);
}
END_TEST

START_TEST(test_partition)
{
	ck_assert_uint_eq(mr_partition("abc", 3, 1), 0);
	uint32_t seen[7] = {0};
	char k[16];
	for (int i = 0; i < 700; i++) {
		int n = snprintf(k, sizeof k, "key%d", i);
		uint32_t p = mr_partition(k, (size_t)n, 7);
		ck_assert_uint_lt(p, 7);
		ck_assert_uint_eq(p, mr_partition(k, (size_t)n, 7)); /* stable */
		seen[p]++;
	}
	for (int p = 0; p < 7; p++)
		ck_assert_uint_gt(seen[p], 50); /* spread */
	/* FNV-1a is fixed: the same on every node and every build */
	ck_assert_uint_eq(mr_partition("a", 1, 1000), 0xaf63dc4c8601ec8cull % 1000);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_int_eq(mr_builtin_parse("count"), MR_COUNT);
	ck_assert_int_eq(mr_builtin_parse("sum"), MR_SUM);
	ck_assert_int_eq(mr_builtin_parse("min"), MR_MIN);
	ck_assert_int_eq(mr_builtin_parse("max"), MR_MAX);
	ck_assert_int_eq(mr_builtin_parse("uniq -c"), MR_NONE);
	ck_assert_int_eq(mr_builtin_parse("Count"), MR_NONE);
	ck_assert_str_eq(mr_builtin_name(MR_SUM), "sum");
}
END_TEST

static int to_buf(void *arg, const char *line, size_t len)
{
	buf_add(arg, line, len);
	return 0;
}

/* Runs builtin b over the lines of text (each '\n'-terminated); returns the output. */
static int run(enum mr_builtin b, bool partials, uint32_t kf, const char *text, struct buf *out,
	       struct buf *err)
{
	struct mr_reducer *r = mr_reducer_new(b, partials, kf, to_buf, out);
	ck_assert_ptr_nonnull(r);
	int rc = 0;
	for (const char *p = text; *p && !rc;) {
		const char *nl = strchr(p, '\n');
		rc = mr_reducer_line(r, p, (size_t)(nl - p));
		p = nl + 1;
	}
	if (!rc)
		rc = mr_reducer_finish(r);
	if (err)
		buf_adds(err, mr_reducer_error(r));
	mr_reducer_free(r);
	return rc;
}

START_TEST(test_count)
{
	struct buf o = BUF_INIT;
	ck_assert_int_eq(run(MR_COUNT, false, 1, "a\nb\tx\nb\ty\nb\t\n\xff\n", &o, NULL), 0);
	ck_assert_str_eq(o.data, "a\t1\nb\t3\n\xff\t1\n");
	buf_reset(&o);
	ck_assert_int_eq(run(MR_COUNT, true, 1, "a\t2\na\t5\nb\t1\n", &o, NULL), 0);
	ck_assert_str_eq(o.data, "a\t7\nb\t1\n");
	buf_reset(&o);
	ck_assert_int_eq(run(MR_COUNT, false, 2, "a\t1\tx\na\t1\ty\na\t2\tz\n", &o, NULL), 0);
	ck_assert_str_eq(o.data, "a\t1\t2\na\t2\t1\n");
	buf_reset(&o);
	ck_assert_int_eq(run(MR_COUNT, false, 1, "", &o, NULL), 0); /* no input, no output */
	ck_assert_str_eq(o.data, "");
	buf_free(&o);
}
END_TEST

START_TEST(test_sum_min_max)
{
	struct buf o = BUF_INIT;
	ck_assert_int_eq(run(MR_SUM, false, 1, "a\t1\na\t-3\na\t10\nb\t0.5\nb\t0.25\n", &o, NULL), 0);
	ck_assert_str_eq(o.data, "a\t8\nb\t0.75\n");
	buf_reset(&o);
	/* overflow goes to doubles */
	ck_assert_int_eq(run(MR_SUM, false, 1, "a\t9223372036854775807\na\t1\n", &o, NULL), 0);
	ck_assert_str_eq(o.data, "a\t9.22337203685478e+18\n");
	buf_reset(&o);
	ck_assert_int_eq(run(MR_MIN, false, 1, "a\t5\na\t007\na\t-2.5\nb\t3\n", &o, NULL), 0);
	ck_assert_str_eq(o.data, "a\t-2.5\nb\t3\n");
	buf_reset(&o);
	ck_assert_int_eq(run(MR_MAX, false, 1, "a\t5\na\t007\na\t-2.5\nb\t3\n", &o, NULL), 0);
	ck_assert_str_eq(o.data, "a\t007\nb\t3\n"); /* the extreme as written */
	buf_free(&o);
}
END_TEST

START_TEST(test_not_a_number)
{
	struct buf o = BUF_INIT, e = BUF_INIT;
	ck_assert_int_eq(run(MR_SUM, false, 1, "a\t1\nb\tx1\n", &o, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.data, "'x1'"));
	ck_assert_ptr_nonnull(strstr(e.data, "key 'b'"));
	ck_assert_str_eq(o.data, "a\t1\n"); /* what came before was emitted */
	buf_reset(&e);
	ck_assert_int_eq(run(MR_MAX, false, 1, "novalue\n", &o, &e), -EINVAL);
	buf_free(&o);
	buf_free(&e);
}
END_TEST

static int fail_emit(void *arg, const char *line, size_t len)
{
	(void)arg;
	(void)line;
	(void)len;
	return -ENOSPC;
}

START_TEST(test_emit_error_sticks)
{
	struct mr_reducer *r = mr_reducer_new(MR_COUNT, false, 1, fail_emit, NULL);
	ck_assert_int_eq(mr_reducer_line(r, "a", 1), 0);
	ck_assert_int_eq(mr_reducer_line(r, "b", 1), -ENOSPC);
	ck_assert_int_eq(mr_reducer_line(r, "c", 1), -ENOSPC);
	ck_assert_int_eq(mr_reducer_finish(r), -ENOSPC);
	mr_reducer_free(r);
	ck_assert_ptr_null(mr_reducer_new(MR_NONE, false, 1, fail_emit, NULL));
}
END_TEST

START_TEST(test_range)
{
	const char blob[] = "b\nd\ndd\n";
	struct mr_bounds b;
	ck_assert_int_eq(mr_bounds_parse(blob, strlen(blob), &b), 0);
	ck_assert_uint_eq(b.n, 3);
	ck_assert_uint_eq(mr_partition_range(&b, "a", 1), 0);
	ck_assert_uint_eq(mr_partition_range(&b, "b", 1), 1); /* a boundary starts its range */
	ck_assert_uint_eq(mr_partition_range(&b, "c", 1), 1);
	ck_assert_uint_eq(mr_partition_range(&b, "d", 1), 2);
	ck_assert_uint_eq(mr_partition_range(&b, "da", 2), 2);
	ck_assert_uint_eq(mr_partition_range(&b, "dd", 2), 3);
	ck_assert_uint_eq(mr_partition_range(&b, "\xff", 1), 3);
	ck_assert_uint_eq(mr_partition_range(&b, "", 0), 0);
	mr_bounds_free(&b);
	ck_assert_int_eq(mr_bounds_parse("b\na\n", 4, &b), -EINVAL); /* not increasing */
	ck_assert_int_eq(mr_bounds_parse("a\na\n", 4, &b), -EINVAL); /* not strictly */
	ck_assert_int_eq(mr_bounds_parse("a", 1, &b), -EINVAL);       /* no end */
	ck_assert_int_eq(mr_bounds_parse("", 0, &b), 0);
	ck_assert_uint_eq(b.n, 0);
	mr_bounds_free(&b);

	/* quantiles of 100 distinct keys for 4 reducers */
	struct buf sample = BUF_INIT, out = BUF_INIT;
	for (int i = 99; i >= 0; i--)
		buf_printf(&sample, "k%02d\tv\n", i);
	mr_bounds_from_sample(sample.data, sample.len, 1, 4, &out);
	ck_assert_str_eq(out.data, "k25\nk50\nk75\n");
	/* few distinct keys: fewer boundaries, still increasing */
	buf_reset(&sample);
	buf_reset(&out);
	for (int i = 0; i < 90; i++)
		buf_printf(&sample, "%s\n", i < 80 ? "same" : "z");
	mr_bounds_from_sample(sample.data, sample.len, 1, 8, &out);
	ck_assert_str_eq(out.data, "same\n"); /* z is past the last quantile */
	ck_assert_int_eq(mr_bounds_parse(out.data, out.len, &b), 0);
	mr_bounds_free(&b);
	buf_reset(&out);
	mr_bounds_from_sample("", 0, 1, 8, &out); /* an empty sample: one partition */
	ck_assert_uint_eq(out.len, 0);
	buf_free(&sample);
	buf_free(&out);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("reduce",
		{"reduce", .tests = UNIT_TESTS(test_keys, test_order, test_partition, test_names, test_count,
				      test_sum_min_max, test_not_a_number, test_emit_error_sticks,
				      test_range)});
}
