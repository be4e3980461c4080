/*
 * Unit tests for the compute layer's pure parts: the line rule of splits
 * (compute/split.h) -- every split's bytes concatenated give the file back exactly,
 * whatever the block size, read size and line lengths -- the built-in filter
 * (compute/filter.h) against grep's rules, and the job wire layouts (compute/job.h).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "job.h"
#include "reduce.h"
#include "log.h"
#include "split.h"
#include "unit.h"

struct mem {
	const char *data;
	size_t len;
	size_t max_read; /* short reads, to exercise the carry logic */
};

static ssize_t mem_read(void *arg, uint64_t off, void *buf, size_t max)
{
	struct mem *m = arg;
	if (off >= m->len)
		return 0;
	size_t n = m->len - off < max ? m->len - off : max;
	if (m->max_read && n > m->max_read)
		n = m->max_read;
	memcpy(buf, m->data + off, n);
	return (ssize_t)n;
}

struct collect {
	struct buf b;
	bool whole;
	int pieces;
};

static int collect(void *arg, const char *data, size_t len)
{
	struct collect *c = arg;
	c->pieces++;
	buf_add(&c->b, data, len);
	return 0;
}

static int collect_lines(void *arg, const char *data, size_t len)
{
	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(data[len - 1], '\n'); /* only the final piece may lack it */
	return collect(arg, data, len);
}

/* Splits data in blocks of bs and checks the splits give it back. */
static void check_splits(const char *data, size_t len, size_t bs, size_t bufsz, size_t maxr,
			 bool whole)
{
	struct mem m = {data, len, maxr};
	struct buf all = BUF_INIT;
	for (uint64_t s = 0; s < len; s += bs) {
		uint64_t l = len - s < bs ? len - s : bs;
		struct collect c = {BUF_INIT, whole, 0};
		struct split_opts o = {bufsz, 4, false};
		uint64_t rd;
		int rc = split_run(s, l, len, &o, mem_read, &m, collect, &c, &rd);
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_ge(rd, c.b.len);
		/* what it owns starts a line: the previous split's part ended one */
		if (c.b.len && all.len)
			ck_assert_int_eq(data[all.len - 1], '\n');
		if (whole) { /* the whole-lines mode hands over the same bytes */
			struct collect w = {BUF_INIT, true, 0};
			struct split_opts ow = {bufsz, 4, true};
			rc = split_run(s, l, len, &ow, mem_read, &m, collect, &w, &rd);
			ck_assert_int_eq(rc, 0);
			ck_assert_uint_eq(w.b.len, c.b.len);
			ck_assert(!c.b.len || !memcmp(w.b.data, c.b.data, c.b.len));
			buf_free(&w.b);
		}
		buf_add(&all, c.b.data, c.b.len);
		buf_free(&c.b);
	}
	ck_assert_uint_eq(all.len, len);
	ck_assert(!memcmp(all.data, data, len));
	buf_free(&all);
}

START_TEST(test_split_rule)
{
	/* lines of every kind: empty, short, longer than a block, no trailing newline */
	struct buf f = BUF_INIT;
	srand(7);
	for (int i = 0; i < 400; i++) {
		int kind = rand() % 10;
		int n = kind == 0 ? 0 : kind == 1 ? 150 + rand() % 300 : rand() % 20;
		for (int k = 0; k < n; k++)
			buf_addc(&f, (char)('a' + rand() % 26));
		buf_addc(&f, '\n');
	}
	buf_adds(&f, "unterminated last line");
	static const size_t bss[] = {1, 2, 3, 7, 16, 64, 100, 257, 4096, 1 << 20};
	for (size_t i = 0; i < sizeof bss / sizeof bss[0]; i++) {
		check_splits(f.data, f.len, bss[i], 16, 0, true);
		check_splits(f.data, f.len, bss[i], 64, 5, false);
		check_splits(f.data, f.len - 22, bss[i], 32, 0, true); /* ends with '\n' */
	}
	/* one line longer than every block, and blocks ending exactly at a newline */
	check_splits("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nb\n", 39, 4, 8, 0, true);
	check_splits("abc\nabc\nabc\n", 12, 4, 8, 0, true);
	check_splits("\n\n\n\n", 4, 1, 8, 0, true);
	check_splits("x", 1, 1, 8, 0, true);
	buf_free(&f);
}
END_TEST

START_TEST(test_split_whole_lines)
{
	const char *d = "one\ntwo\nthree\nfour\nfive has more letters\nsix";
	struct mem m = {d, strlen(d), 3};
	struct collect c = {BUF_INIT, true, 0};
	struct split_opts o = {8, 1, true};
	uint64_t rd;
	/* the final piece (unterminated) goes through collect, not collect_lines */
	ck_assert_int_eq(split_run(0, 20, strlen(d), &o, mem_read, &m, collect_lines, &c, &rd),
			 0);
	ck_assert_str_eq(c.b.data, "one\ntwo\nthree\nfour\nfive has more letters\n");
	buf_free(&c.b);
	struct collect c2 = {BUF_INIT, true, 0};
	ck_assert_int_eq(split_run(20, strlen(d) - 20, strlen(d), &o, mem_read, &m, collect, &c2,
				   &rd),
			 0);
	ck_assert_str_eq(c2.b.data, "six");
	buf_free(&c2.b);
}
END_TEST

static void grep_eq(uint8_t kind, const char *pat, uint8_t flags, const char *in,
		    const char *want, uint64_t nwant)
{
	struct filter *f;
	struct buf err = BUF_INIT, out = BUF_INIT;
	ck_assert_int_eq(filter_new(kind, pat, flags, &f, &err), 0);
	uint64_t n = filter_run(f, in, strlen(in), &out);
	ck_assert_str_eq(out.len ? out.data : "", want);
	ck_assert_uint_eq(n, nwant);
	ck_assert_uint_eq(filter_run(f, in, strlen(in), NULL), nwant); /* counting only */
	filter_free(f);
	buf_free(&out);
	buf_free(&err);
}

START_TEST(test_filter)
{
	const char *in = "apple pie\nBanana split\ncherry\n\napple\nno fruit here";
	grep_eq(JOB_FILTER_GREP, "apple", 0, in, "apple pie\napple\n", 2);
	grep_eq(JOB_FILTER_GREP, "here", 0, in, "no fruit here\n", 1); /* newline added */
	grep_eq(JOB_FILTER_GREP, "banana", 0, in, "", 0);
	grep_eq(JOB_FILTER_GREP, "BANANA", JOB_F_ICASE, in, "Banana split\n", 1);
	grep_eq(JOB_FILTER_GREP, "apple", JOB_F_INVERT, in,
		"Banana split\ncherry\n\nno fruit here\n", 4);
	grep_eq(JOB_FILTER_GREP, "", 0, "a\n\nb\n", "a\n\nb\n", 3);
	grep_eq(JOB_FILTER_GREP, "p", 0, "ppp\np\n", "ppp\np\n", 2); /* one line, once */
	grep_eq(JOB_FILTER_REGEX, "^(apple|cherry)$", 0, in, "cherry\napple\n", 2);
	grep_eq(JOB_FILTER_REGEX, "^$", 0, in, "\n", 1);
	grep_eq(JOB_FILTER_REGEX, "an+a", JOB_F_ICASE, in, "Banana split\n", 1);
	grep_eq(JOB_FILTER_REGEX, "[0-9]", JOB_F_INVERT, "a1\nb\nc2\nd", "b\nd\n", 2);
	grep_eq(JOB_FILTER_REGEX, "e.p", 0, "ne\npe\n", "", 0); /* never across lines */
	struct filter *f;
	struct buf err = BUF_INIT;
	ck_assert_int_eq(filter_new(JOB_FILTER_REGEX, "a(b", 0, &f, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.data, "a(b"));
	/* patterns whose compiled form would take all memory are refused up front (the
	 * first found by fuzz_wire: glibc copies the operand of each stacked '+') */
	static const char *bombs[] = {"^(a|b)++++++++++++++++++++++", "((a{99}){99}){99}",
				      "(a{1000}){1000}", "(((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+",
				      "(a*)*b\\1", "^(a|)++++++++", "a**", "((((a+)+)+)+)"};
	for (size_t i = 0; i < sizeof bombs / sizeof bombs[0]; i++) {
		buf_reset(&err);
		ck_assert_int_eq(filter_new(JOB_FILTER_REGEX, bombs[i], 0, &f, &err), -EINVAL);
		ck_assert_ptr_nonnull(strstr(err.data, "too complex"));
	}
	static const char *fine[] = {"[0-9]{1,3}(\\.[0-9]{1,3}){3}", "^(GET|POST) /[a-z]+", "a+b*c?",
				     "([[:alpha:]]+[[:space:]]*){1,20}", "x{255}",
				     "([a-z]+(-[a-z]+)*)+", "[+*?{]+", "\\+\\*"};
	for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
		ck_assert_int_eq(filter_new(JOB_FILTER_REGEX, fine[i], 0, &f, &err), 0);
		filter_free(f);
	}
	buf_free(&err);
}
END_TEST

START_TEST(test_job_layouts)
{
	char *inputs[] = {"/a", "/b"};
	struct job_spec s = {2,  inputs, "/out", "wc -l", JOB_FILTER_GREP, "x", JOB_F_INVERT,
			     "", "",     0,      1,       0,  0, ""};
	struct buf err = BUF_INIT, b = BUF_INIT;
	ck_assert_int_eq(job_spec_check(&s, &err), 0);
	job_spec_pack(&b, &s);
	struct unpack u;
	unpack_init(&u, b.data, b.len);
	struct job_spec t;
	ck_assert_int_eq(job_spec_unpack(&u, &t), 0);
	ck_assert_uint_eq(t.ninputs, 2);
	ck_assert_str_eq(t.inputs[1], "/b");
	ck_assert_str_eq(t.map, "wc -l");
	ck_assert_uint_eq(t.flags, JOB_F_INVERT);
	job_spec_free(&t);
	/* every truncation is refused, never a crash */
	for (size_t n = 0; n < b.len; n++) {
		unpack_init(&u, b.data, n);
		ck_assert_int_eq(job_spec_unpack(&u, &t), -EPROTO);
	}
	/* bad specs */
	struct job_spec bad = s;
	bad.map = "";
	bad.filter = 0;
	buf_reset(&err);
	ck_assert_int_eq(job_spec_check(&bad, &err), -EINVAL);
	bad = s;
	bad.flags |= JOB_F_COUNT;
	ck_assert_int_eq(job_spec_check(&bad, &err), -EINVAL); /* --count with --map */
	bad = s;
	bad.filter = JOB_FILTER_REGEX;
	bad.pattern = "(";
	ck_assert_int_eq(job_spec_check(&bad, &err), -EINVAL);
	bad = s;
	bad.ninputs = 0;
	ck_assert_int_eq(job_spec_check(&bad, &err), -EINVAL);

	/* MapReduce specs: round trip, and the rules on reducers, combiners, key fields */
	struct job_spec mr = s;
	mr.reduce = "count";
	mr.combine = "count";
	mr.reducers = 7;
	mr.key_fields = 2;
	mr.out_repl = 2;
	ck_assert_int_eq(job_spec_check(&mr, &err), 0);
	buf_reset(&b);
	job_spec_pack(&b, &mr);
	unpack_init(&u, b.data, b.len);
	ck_assert_int_eq(job_spec_unpack(&u, &t), 0);
	assert_read_all(&u);
	ck_assert(job_spec_is_mr(&t));
	ck_assert_str_eq(t.reduce, "count");
	ck_assert_str_eq(t.combine, "count");
	ck_assert_uint_eq(t.reducers, 7);
	ck_assert_uint_eq(t.key_fields, 2);
	ck_assert_uint_eq(t.out_repl, 2);
	job_spec_free(&t);
	bad = mr;
	bad.reducers = 0; /* --reduce with --reducers 0 */
	ck_assert_int_eq(job_spec_check(&bad, &err), -EINVAL);
	bad = mr;
	bad.key_fields = 0;
	ck_assert_int_eq(job_spec_check(&bad, &err), -EINVAL);
	bad = mr;
	bad.combine = "uniq -c"; /* a command combiner */
	ck_assert_int_eq(job_spec_check(&bad, &err), 0);
	bad = s;
	bad.combine = "count"; /* a combiner without a reduce */
	ck_assert_int_eq(job_spec_check(&bad, &err), -EINVAL);
	bad = s;
	bad.reducers = 3; /* --reducers without --reduce */
	ck_assert_int_eq(job_spec_check(&bad, &err), -EINVAL);
	bad = mr;
	bad.map = "";
	bad.filter = 0;
	bad.flags = 0; /* no map: the input is the map output */
	ck_assert_int_eq(job_spec_check(&bad, &err), 0);

	struct job_report r = {"job_1", 3, 2, JOB_A_FAILED, 7, 100, 50, 10, 4, "boom", "err\n",
			       {1, 2, 3, 4, 5, 6, 7, 8, 9}, 4, 2, 1u << 20, 3u << 20, 500000};
	buf_reset(&b);
	job_report_pack(&b, &r);
	unpack_init(&u, b.data, b.len);
	struct job_report r2;
	ck_assert_int_eq(job_report_unpack(&u, &r2), 0);
	ck_assert_str_eq(r2.message, "boom");
	ck_assert_int_eq(r2.exit_status, 7);
	ck_assert_uint_eq(r2.counters[JOB_C_REDUCE_INPUT_RECORDS], 9);
	ck_assert_uint_eq(r2.lost_map, 4);
	ck_assert_uint_eq(r2.lost_attempt, 2);
	ck_assert_uint_eq(r2.mem_peak, 1u << 20);
	ck_assert_uint_eq(r2.cmd_rss, 3u << 20);
	ck_assert_uint_eq(r2.progress, 500000);
	job_report_free(&r2);
	unpack_init(&u, b.data, b.len - 1);
	ck_assert_int_eq(job_report_unpack(&u, &r2), -EPROTO);
	buf_free(&b);
	buf_free(&err);
}
END_TEST

/*
 * Message msg of layout NAME (a struct job_NAME) packs to exactly the bytes of want; they
 * unpack, to the end, into a copy that packs to the same bytes again (so every field came
 * back); job_NAME_free frees the copy; every proper prefix of them is refused.
 */
#define ASSERT_LAYOUT(NAME, msg, want)                                                      \
	do {                                                                                \
		struct job_##NAME t_;                                                       \
		struct buf b_ = BUF_INIT;                                                   \
		struct unpack u_;                                                           \
		job_##NAME##_pack(&b_, (msg));                                              \
		assert_same_bytes(&b_, (want));                                             \
		unpack_init(&u_, b_.data, b_.len);                                          \
		ck_assert_int_eq(job_##NAME##_unpack(&u_, &t_), 0);                         \
		assert_read_all(&u_);                                                       \
		buf_reset(&b_);                                                             \
		job_##NAME##_pack(&b_, &t_);                                                \
		assert_same_bytes(&b_, (want));                                             \
		job_##NAME##_free(&t_);                                                     \
		for (size_t n_ = 0; n_ < (want)->len; n_++) {                               \
			unpack_init(&u_, (want)->data, n_);                                 \
			ck_assert_int_eq(job_##NAME##_unpack(&u_, &t_), -EPROTO);           \
		}                                                                           \
		buf_free(&b_);                                                              \
	} while (0)

/* The bytes of b are those of want. */
static void assert_same_bytes(const struct buf *b, const struct buf *want)
{
	ck_assert_uint_eq(b->len, want->len);
	ck_assert_mem_eq(b->data, want->data, b->len);
}

/* Message msg of layout NAME, right in every other way, is refused by job_NAME_unpack. */
#define ASSERT_REFUSED(NAME, msg)                                                           \
	do {                                                                                \
		struct job_##NAME t_;                                                       \
		struct buf b_ = BUF_INIT;                                                   \
		struct unpack u_;                                                           \
		job_##NAME##_pack(&b_, (msg));                                              \
		unpack_init(&u_, b_.data, b_.len);                                          \
		ck_assert_int_eq(job_##NAME##_unpack(&u_, &t_), -EPROTO);                   \
		buf_free(&b_);                                                              \
	} while (0)

START_TEST(test_launch_layout)
{
	struct job_launch l = {"job_7", 3, 2, "wc -l", JOB_FILTER_REGEX, "a.*b", JOB_F_ICASE,
			       "/in/f", 11, 12, 13, 14, 15, 16, "/out/part-00003", 1000, 1001,
			       60, .kind = JOB_K_REDUCE, .reduce = "uniq -c", .combine = "count",
			       .reducers = 3, .key_fields = 2, .out_repl = 2, .partition = 1,
			       .partitioner = MR_PART_RANGE, .bounds = "m\n"};
	struct job_map_loc maps[2] = {{"dn1", "127.0.0.1:1", 1}, {"", "", 0}};
	l.nmaps = 2;
	l.maps = maps;
	memset(l.token, 0xab, sizeof l.token);
	/* the layout job.h documents, field by field */
	struct buf want = BUF_INIT;
	pack_str(&want, "job_7");
	pack_u32(&want, 3);
	pack_u32(&want, 2);
	pack_str(&want, "wc -l");
	pack_u8(&want, JOB_FILTER_REGEX);
	pack_str(&want, "a.*b");
	pack_u8(&want, JOB_F_ICASE);
	pack_str(&want, "/in/f");
	for (uint64_t v = 11; v <= 16; v++) /* ino, file size, offset, length, block, gs */
		pack_u64(&want, v);
	pack_str(&want, "/out/part-00003");
	pack_u32(&want, 1000);
	pack_u32(&want, 1001);
	pack_u32(&want, 60);
	pack_u8(&want, JOB_K_REDUCE); /* MapReduce: kind, reduce, combine, reducers, ... */
	pack_str(&want, "uniq -c");
	pack_str(&want, "count");
	pack_u32(&want, 3);
	pack_u32(&want, 2);
	pack_u16(&want, 2);
	pack_u32(&want, 1);
	pack_u8(&want, MR_PART_RANGE);
	pack_str(&want, "m\n");
	pack_raw(&want, l.token, sizeof l.token);
	pack_u32(&want, 2); /* the maps: node, address, attempt (0: not done yet) */
	pack_str(&want, "dn1");
	pack_str(&want, "127.0.0.1:1");
	pack_u32(&want, 1);
	pack_str(&want, "");
	pack_str(&want, "");
	pack_u32(&want, 0);
	ASSERT_LAYOUT(launch, &l, &want);
	l.filter = JOB_FILTER_REGEX + 1; /* an unknown filter */
	ASSERT_REFUSED(launch, &l);
	l.filter = JOB_FILTER_REGEX;
	l.partition = 3; /* a reduce of a partition past the reducers */
	ASSERT_REFUSED(launch, &l);
	buf_free(&want);
}
END_TEST

START_TEST(test_report_layout)
{
	struct job_report r = {"job_2", 5, 1, JOB_A_SUCCEEDED, -3, 1ULL << 33, 7, 8, 9, "",
			       "warning\n", {1, 2, 3, 4, 5, 6, 7, 8, 9}, 4, 2, 11, 12, 13};
	struct buf want = BUF_INIT;
	pack_str(&want, "job_2");
	pack_u32(&want, 5);
	pack_u32(&want, 1);
	pack_u8(&want, JOB_A_SUCCEEDED);
	pack_i32(&want, -3);
	pack_u64(&want, 1ULL << 33); /* bytes in, read locally, out, records */
	pack_u64(&want, 7);
	pack_u64(&want, 8);
	pack_u64(&want, 9);
	pack_str(&want, "");
	pack_str(&want, "warning\n");
	pack_u32(&want, 4); /* the lost map + 1, its attempt */
	pack_u32(&want, 2);
	pack_u64(&want, 11); /* memory peak, command RSS, progress */
	pack_u64(&want, 12);
	pack_u32(&want, 13);
	for (uint64_t c = 1; c <= JOB_NCOUNTERS; c++)
		pack_u64(&want, c);
	ASSERT_LAYOUT(report, &r, &want);
	r.state = 0; /* states outside JOB_A_* */
	ASSERT_REFUSED(report, &r);
	r.state = JOB_A_KILLED + 1;
	ASSERT_REFUSED(report, &r);
	buf_free(&want);
}
END_TEST

START_TEST(test_info_layout)
{
	struct job_info i = {"job_9", JOB_FAILED, "/out", "grep 'x'", 1000, 10, 9, 1, 2, 3,
			     4, 5, 1ULL << 40, 1ULL << 41, 77, JOB_F_OVERWRITE, -5,
			     123456, "task 00003 failed", "oops\n", JOB_PHASE_REDUCE, 3, 1,
			     {9, 8, 7, 6, 5, 4, 3, 2, 1}, 21, 22, 23, 24, -25};
	struct buf want = BUF_INIT;
	pack_str(&want, "job_9");
	pack_u8(&want, JOB_FAILED);
	pack_str(&want, "/out");
	pack_str(&want, "grep 'x'");
	pack_u32(&want, 1000);
	/* total, done, running, failed attempts, speculative, node-local, remote */
	static const uint32_t counts[] = {10, 9, 1, 2, 3, 4, 5};
	for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++)
		pack_u32(&want, counts[k]);
	pack_u64(&want, 1ULL << 40);
	pack_u64(&want, 1ULL << 41);
	pack_u64(&want, 77);
	pack_u8(&want, JOB_F_OVERWRITE);
	pack_i64(&want, -5);
	pack_i64(&want, 123456);
	pack_str(&want, "task 00003 failed");
	pack_str(&want, "oops\n");
	pack_u8(&want, JOB_PHASE_REDUCE); /* phase, reducers, done, the counters */
	pack_u32(&want, 3);
	pack_u32(&want, 1);
	for (uint64_t m = 21; m <= 24; m++) /* map and reduce memory, their commands' RSS */
		pack_u64(&want, m);
	pack_i64(&want, -25); /* the map phase's ms */
	for (uint64_t c = JOB_NCOUNTERS; c >= 1; c--)
		pack_u64(&want, c);
	ASSERT_LAYOUT(info, &i, &want);
	buf_free(&want);
}
END_TEST

START_TEST(test_attempt_log_layout)
{
	/* both flags travel as u8, each on its own: try both ways round */
	for (int spec = 0; spec <= 1; spec++) {
		struct job_attempt_log a = {4, 2, "dn3", JOB_A_KILLED, -1, spec, !spec, 2500,
					    "killed: speculation", "bye\n", 31, 32};
		struct buf want = BUF_INIT;
		pack_u32(&want, 4);
		pack_u32(&want, 2);
		pack_str(&want, "dn3");
		pack_u8(&want, JOB_A_KILLED);
		pack_i32(&want, -1);
		pack_u8(&want, (uint8_t)spec); /* speculative */
		pack_u8(&want, (uint8_t)!spec); /* node-local */
		pack_i64(&want, 2500);
		pack_str(&want, "killed: speculation");
		pack_str(&want, "bye\n");
		pack_u64(&want, 31); /* memory peak, command RSS */
		pack_u64(&want, 32);
		ASSERT_LAYOUT(attempt_log, &a, &want);
		buf_free(&want);
	}
}
END_TEST

int main(void)
{
	log_set_level(LOG_WARN);
	return UNIT_MAIN("compute",
		{"core", .tests = UNIT_TESTS(
			test_split_rule, test_split_whole_lines, test_filter, test_job_layouts,
			test_launch_layout, test_report_layout, test_info_layout,
			test_attempt_log_layout)});
}
