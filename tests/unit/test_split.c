/*
 * Unit tests for split (compute/split.h): which bytes of a file each task owns, case by
 * case on small files with tiny blocks: the first block, a leading partial line
 * skipped, a last line finished past the block's end, a line beginning exactly at a
 * block boundary, lines longer than a block, an unterminated last line, blocks that own
 * nothing, empty files, errors of the reader and the sink. (test_compute.c checks the
 * rule as a property over every block size.) Every test runs in its own forked process.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "split.h"
#include "unit.h"

struct mem {
	const char *data;
	size_t len;
	int fail_at_call; /* 0: never; else the reader fails (-EIO) on this call */
	int calls;
};

static ssize_t mem_read(void *arg, uint64_t off, void *buf, size_t max)
{
	struct mem *m = arg;
	if (++m->calls == m->fail_at_call)
		return -EIO;
	if (off >= m->len)
		return 0;
	size_t n = m->len - off < max ? m->len - off : max;
	memcpy(buf, m->data + off, n);
	return (ssize_t)n;
}

struct sink {
	struct buf b;
	int pieces;
	bool whole;     /* check that every piece but the file's last ends with '\n' */
	int fail_after; /* 0: never; else fail (-ENOSPC) once this many pieces came */
};

static int take(void *arg, const char *data, size_t len)
{
	struct sink *s = arg;
	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(data[len], 0); /* a NUL after each piece */
	if (s->whole)
		ck_assert_msg(data[len - 1] == '\n' || !memchr(data, '\n', len),
			      "a piece that is not whole lines: '%.*s'", (int)len, data);
	s->pieces++;
	buf_add(&s->b, data, len);
	return s->fail_after && s->pieces >= s->fail_after ? -ENOSPC : 0;
}

/* The bytes split [start, start+len) of data owns (buffer of bufsz bytes). */
static int run(const char *data, uint64_t start, uint64_t len, size_t bufsz, struct sink *s,
	       uint64_t *bytes_read)
{
	struct mem m = {data, strlen(data), 0, 0};
	struct split_opts o = {.buf_size = bufsz, .align = 1, .whole_lines = s->whole};
	return split_run(start, len, m.len, &o, mem_read, &m, take, s, bytes_read);
}

/* Checks that the split owns exactly want. */
static void owns(const char *data, uint64_t start, uint64_t len, size_t bufsz, const char *want)
{
	struct sink s = {.b = BUF_INIT};
	uint64_t rd = 0;
	ck_assert_int_eq(run(data, start, len, bufsz, &s, &rd), 0);
	ck_assert_msg(s.b.len == strlen(want) && !memcmp(s.b.data, want, s.b.len),
		      "split [%llu, +%llu) of '%s' owns '%.*s', not '%s'", (unsigned long long)start,
		      (unsigned long long)len, data, (int)s.b.len, s.b.data, want);
	ck_assert_uint_le(rd, strlen(data));
	ck_assert_uint_ge(rd, s.b.len);
	buf_free(&s.b);
}

START_TEST(test_first_block)
{
	/* the first split owns the line at 0 and every line beginning in (0, 6], and
	 * reads past its end (6) to finish "bbb\n" */
	owns("aaa\nbbb\nccc\n", 0, 6, 64, "aaa\nbbb\n");
	/* a first split that ends exactly after a '\n' still owns the line beginning
	 * at its end */
	owns("ab\ncd\nef\n", 0, 3, 64, "ab\ncd\n");
}
END_TEST

START_TEST(test_skip_leading_partial_line)
{
	/* [6, 12) starts inside "bbb\n": it skips through that line's '\n' */
	owns("aaa\nbbb\nccc\n", 6, 6, 64, "ccc\n");
	/* [3, 6) starts exactly at "cd\n", which its predecessor owns: skipped too */
	owns("ab\ncd\nef\n", 3, 3, 64, "ef\n");
	/* the line that skipping reaches begins past the end: nothing owned */
	owns("ab\ncd\nef\n", 6, 3, 64, "");
}
END_TEST

START_TEST(test_read_past_end)
{
	/* [4, 8) skips "222\n" and owns "33333333\n" (begins at 8), finished past the end */
	owns("111\n222\n33333333\n4\n", 4, 4, 64, "33333333\n");
	/* and with a buffer smaller than that line: it grows */
	owns("111\n222\n33333333\n4\n", 4, 4, 2, "33333333\n");
}
END_TEST

START_TEST(test_line_longer_than_block)
{
	const char *d = "xxxxxxxxxx\nyy\n"; /* an 11-byte line, blocks of 4 */
	owns(d, 0, 4, 64, "xxxxxxxxxx\n");
	owns(d, 4, 4, 64, ""); /* inside the long line: owns nothing */
	owns(d, 8, 4, 64, "yy\n");
	owns(d, 12, 2, 64, "");
	/* the same with a 3-byte buffer (grown by the reader) */
	owns(d, 0, 4, 3, "xxxxxxxxxx\n");
	owns(d, 4, 4, 3, "");
	owns(d, 8, 4, 3, "yy\n");
}
END_TEST

START_TEST(test_unterminated_last_line)
{
	owns("aa\nbb", 0, 3, 64, "aa\nbb"); /* "bb" begins at the end (3): owned as it is */
	owns("aa\nbb", 3, 2, 64, "");
	owns("aa\nbbbb", 3, 4, 64, "");
	owns("aa\nbb\ncc", 3, 3, 64, "cc");
	owns("no newline at all", 0, 4, 64, "no newline at all");
	owns("no newline at all", 4, 4, 64, "");
}
END_TEST

START_TEST(test_empty_lines_and_files)
{
	/* blocks of one '\n' each: every empty line is owned once */
	const char *d = "\n\n\n\n";
	owns(d, 0, 1, 64, "\n\n");
	owns(d, 1, 1, 64, "\n");
	owns(d, 2, 1, 64, "\n");
	owns(d, 3, 1, 64, "");
	/* an empty file, and a split at or past the end, own nothing and read nothing */
	struct sink s = {.b = BUF_INIT};
	uint64_t rd = 99;
	ck_assert_int_eq(run("", 0, 0, 64, &s, &rd), 0);
	ck_assert_int_eq(s.pieces, 0);
	ck_assert_uint_eq(rd, 0);
	ck_assert_int_eq(run("abc\n", 4, 4, 64, &s, &rd), 0);
	ck_assert_int_eq(s.pieces, 0);
	ck_assert_uint_eq(rd, 0);
	buf_free(&s.b);
}
END_TEST

START_TEST(test_whole_lines)
{
	/* with a 4-byte buffer the reader hands pieces as it goes; whole_lines keeps
	 * every piece to whole lines (take() checks) */
	struct sink s = {.b = BUF_INIT, .whole = true};
	uint64_t rd;
	const char *d = "a\nbbbbbbb\ncc\nd\n";
	ck_assert_int_eq(run(d, 0, strlen(d), 4, &s, &rd), 0);
	ck_assert_uint_eq(s.b.len, strlen(d));
	ck_assert_mem_eq(s.b.data, d, strlen(d));
	ck_assert_int_gt(s.pieces, 1);
	ck_assert_uint_eq(rd, strlen(d));
	buf_free(&s.b);
}
END_TEST

START_TEST(test_errors_stop)
{
	const char *d = "aaa\nbbb\nccc\nddd\n";
	/* the reader's error is returned */
	struct mem m = {d, strlen(d), 2, 0};
	struct split_opts o = {.buf_size = 4, .align = 1};
	struct sink s = {.b = BUF_INIT};
	uint64_t rd;
	ck_assert_int_eq(split_run(0, strlen(d), m.len, &o, mem_read, &m, take, &s, &rd), -EIO);
	/* the sink's error stops the run at once */
	struct mem m2 = {d, strlen(d), 0, 0};
	struct sink s2 = {.b = BUF_INIT, .fail_after = 1};
	ck_assert_int_eq(split_run(0, strlen(d), m2.len, &o, mem_read, &m2, take, &s2, &rd),
			 -ENOSPC);
	ck_assert_int_eq(s2.pieces, 1);
	buf_free(&s.b);
	buf_free(&s2.b);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("split",
		{"split", .tests = UNIT_TESTS(
			test_first_block, test_skip_leading_partial_line, test_read_past_end,
			test_line_longer_than_block, test_unterminated_last_line,
			test_empty_lines_and_files, test_whole_lines, test_errors_stop)});
}
