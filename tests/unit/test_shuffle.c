/*
 * Unit tests for shuffle (compute/shuffle.h): run files round trip and catch a flipped
 * byte and a torn end by their checksums; merges keep equal keys in source order and a
 * bounded fan-in gives the same result in several passes; the map collector with a tiny
 * sort buffer spills many times and still gives, per partition, exactly the stable
 * bytewise sort of its records (keys with no tab, empty values, non-UTF-8 bytes,
 * key_fields 2, an unterminated last line, a record longer than the buffer); a count
 * combiner then a partials reducer equals counting without one, and so does a command
 * combiner (a stand-in run per spill and partition, its output collected again); a
 * collector's peak memory stays within its sort buffer; empty input gives empty runs;
 * a failed collector (a built-in's bad number, a command combiner's exit status) leaves
 * no file behind.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "reduce.h"
#include "shuffle.h"
#include "testdir.h"
#include "unit.h"

static void tmp_setup(void) { testdir_make("shuffle"); }

static char *path_of(const char *name)
{
	static char p[4][4200];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof p[k], "%s/%s", tmp_base, name);
	return p[k];
}

static void write_run(const char *path, const char *const *lines, size_t n)
{
	struct shuf_writer w;
	ck_assert_int_eq(shuf_writer_open(&w, path), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(shuf_writer_add(&w, lines[i], strlen(lines[i])), 0);
	ck_assert_int_eq(shuf_writer_close(&w), 0);
}

/* Every record of a run, each followed by '\n'; returns the reader's last status. */
static int read_run(const char *path, struct buf *out)
{
	struct shuf_reader r;
	int rc = shuf_reader_open(&r, path);
	const char *l;
	size_t len;
	while (!rc && (rc = shuf_reader_next(&r, &l, &len)) == 1) {
		buf_add(out, l, len);
		buf_addc(out, '\n');
		rc = 0;
	}
	shuf_reader_close(&r);
	return rc;
}

START_TEST(test_run_roundtrip)
{
	const char *lines[] = {"a\t1", "", "no tab", "\xff\xfe\tx", "b\t"};
	write_run(path_of("r"), lines, 5);
	struct buf o = BUF_INIT;
	ck_assert_int_eq(read_run(path_of("r"), &o), 0);
	ck_assert_str_eq(o.data, "a\t1\n\nno tab\n\xff\xfe\tx\nb\t\n");
	uint64_t n;
	ck_assert_int_eq(shuf_run_check(path_of("r"), &n), 0);
	ck_assert_uint_eq(n, 5);
	/* many frames */
	struct shuf_writer w;
	ck_assert_int_eq(shuf_writer_open(&w, path_of("big")), 0);
	char line[100];
	memset(line, 'x', sizeof line);
	for (int i = 0; i < 5000; i++)
		ck_assert_int_eq(shuf_writer_add(&w, line, sizeof line), 0);
	ck_assert_int_eq(shuf_writer_close(&w), 0);
	ck_assert_int_eq(shuf_run_check(path_of("big"), &n), 0);
	ck_assert_uint_eq(n, 5000);
	buf_free(&o);
}
END_TEST

START_TEST(test_run_corruption)
{
	const char *lines[] = {"alpha\t1", "beta\t2", "gamma\t3"};
	write_run(path_of("c"), lines, 3);
	int fd = open(path_of("c"), O_RDWR);
	char ch;
	ck_assert_int_eq(pread(fd, &ch, 1, 10), 1);
	ch ^= 0x20;
	ck_assert_int_eq(pwrite(fd, &ch, 1, 10), 1);
	close(fd);
	ck_assert_int_eq(shuf_run_check(path_of("c"), NULL), -EBADMSG);
	/* torn: the end frame missing */
	write_run(path_of("t"), lines, 3);
	struct stat st;
	ck_assert_int_eq(stat(path_of("t"), &st), 0);
	ck_assert_int_eq(truncate(path_of("t"), st.st_size - 8), 0);
	ck_assert_int_eq(shuf_run_check(path_of("t"), NULL), -EBADMSG);
	ck_assert_int_eq(truncate(path_of("t"), 3), 0);
	ck_assert_int_eq(shuf_run_check(path_of("t"), NULL), -EBADMSG);
	ck_assert_int_eq(shuf_run_check(path_of("none"), NULL), -ENOENT);
}
END_TEST

START_TEST(test_merge_stable)
{
	const char *a[] = {"a\t0", "b\t0", "b\t1", "d\t0"};
	const char *b[] = {"a\t2", "b\t2", "c\t2"};
	const char *c[] = {"a", "b\t3", "e\t3"};
	write_run(path_of("a"), a, 4);
	write_run(path_of("b"), b, 3);
	write_run(path_of("c"), c, 3);
	const char *paths[] = {path_of("a"), path_of("b"), path_of("c")};
	struct shuf_merge *m;
	ck_assert_int_eq(shuf_merge_open(paths, 3, 1, &m), 0);
	struct buf o = BUF_INIT;
	const char *l;
	size_t len;
	int rc;
	while ((rc = shuf_merge_next(m, &l, &len)) == 1) {
		buf_add(&o, l, len);
		buf_addc(&o, ' ');
	}
	ck_assert_int_eq(rc, 0);
	shuf_merge_close(m);
	ck_assert_str_eq(o.data, "a\t0 a\t2 a b\t0 b\t1 b\t2 b\t3 c\t2 d\t0 e\t3 ");
	buf_free(&o);
}
END_TEST

START_TEST(test_merge_fanin)
{
	/* 37 runs of the same keys: the merged result is in key, then run, order */
	enum { N = 37 };
	char *paths[N];
	struct buf want = BUF_INIT;
	for (int i = 0; i < N; i++) {
		char name[32], l1[32], l2[32];
		snprintf(name, sizeof name, "in%02d", i);
		snprintf(l1, sizeof l1, "k1\t%02d", i);
		snprintf(l2, sizeof l2, "k2\t%02d", i);
		const char *lines[] = {l1, l2};
		write_run(path_of(name), lines, 2);
		paths[i] = strdup(path_of(name));
	}
	for (int k = 1; k <= 2; k++)
		for (int i = 0; i < N; i++)
			buf_printf(&want, "k%d\t%02d\n", k, i);
	uint64_t recs;
	uint32_t n = N;
	ck_assert_int_eq(shuf_merge_files(paths, &n, 3, 1, path_of("out"), true, &recs), 0);
	ck_assert_uint_eq(recs, 2 * N);
	struct buf got = BUF_INIT;
	ck_assert_int_eq(read_run(path_of("out"), &got), 0);
	ck_assert_str_eq(got.data, want.data);
	/* only the result is left */
	DIR *d = opendir(tmp_base);
	int files = 0;
	for (struct dirent *e; (e = readdir(d));)
		files += e->d_name[0] != '.';
	closedir(d);
	ck_assert_int_eq(files, 1);
	for (uint32_t i = 0; i < n; i++)
		free(paths[i]);
	buf_free(&got);
	buf_free(&want);
}
END_TEST

struct line {
	const char *p;
	size_t len, klen;
	size_t pos;
};

static int line_cmp(const void *pa, const void *pb)
{
	const struct line *a = pa, *b = pb;
	int c = mr_key_cmp(a->p, a->klen, b->p, b->klen);
	return c ? c : a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* The expected partition p: input's records of partition p, stable-sorted by key. */
static void expect_part(const char *input, uint32_t nparts, uint32_t p, uint32_t kf,
			struct buf *out)
{
	struct line *v = calloc(strlen(input) + 1, sizeof *v);
	size_t n = 0;
	for (const char *s = input; *s;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		size_t kl = mr_key_len(s, len, kf);
		if (mr_partition(s, kl, nparts) == p)
			v[n++] = (struct line){s, len, kl, n};
		s += len + (nl ? 1 : 0);
	}
	qsort(v, n, sizeof *v, line_cmp);
	for (size_t i = 0; i < n; i++) {
		buf_add(out, v[i].p, v[i].len);
		buf_addc(out, '\n');
	}
	free(v);
}

static void make_input(struct buf *in, int n, uint32_t seed)
{
	uint8_t *r = random_bytes((size_t)n * 4, seed);
	for (int i = 0; i < n; i++) {
		uint8_t *x = r + 4 * i;
		switch (x[0] % 5) {
		case 0: buf_printf(in, "w%u\n", x[1] % 30); break;            /* no tab */
		case 1: buf_printf(in, "w%u\t\n", x[1] % 30); break;          /* empty value */
		case 2: buf_printf(in, "w%u\t%u\n", x[1] % 30, x[2]); break;
		case 3: buf_printf(in, "\xc3\xa9%c\t%u\t%u\n", 'a' + x[1] % 3, x[2] % 4, i); break;
		default: buf_printf(in, "w%u\t%u\t%d\n", x[1] % 30, x[2] % 3, i); break;
		}
	}
	free(r);
}

static void sort_lines(const char *text, struct buf *out);
static uint64_t last_peak; /* the last collect()'s shuf_map_peak */

static void collect(const char *input, size_t len, uint32_t nparts, uint32_t kf,
		    uint64_t sort_buffer, enum mr_builtin comb, size_t piece,
		    struct shuf_counters *c)
{
	struct shuf_map_opts o = {path_of("m00001_1"), nparts, kf, sort_buffer, comb, 2, NULL, NULL};
	struct shuf_map *m = shuf_map_new(&o);
	ck_assert_ptr_nonnull(m);
	for (size_t off = 0; off < len; off += piece)
		ck_assert_int_eq(shuf_map_add(m, input + off, len - off < piece ? len - off : piece),
				 0);
	struct buf why = BUF_INIT;
	ck_assert_int_eq(shuf_map_finish(m, &why), 0);
	shuf_map_counters(m, c);
	last_peak = shuf_map_peak(m);
	shuf_map_free(m);
	buf_free(&why);
}

static void check_collector(uint32_t nparts, uint32_t kf)
{
	struct buf in = BUF_INIT;
	make_input(&in, 3000, nparts * 10 + kf);
	struct shuf_counters c;
	collect(in.data, in.len, nparts, kf, 2048, MR_NONE, 777, &c);
	ck_assert_uint_eq(c.records_out, 3000);
	ck_assert_uint_gt(c.spills, 10); /* the tiny buffer spilled */
	ck_assert_uint_gt(c.spilled_bytes, in.len);
	ck_assert_uint_gt(last_peak, 1024); /* the memory bound: the buffer, no more */
	ck_assert_uint_le(last_peak, 2048 + 64); /* plus the record in hand (lines < 64) */
	for (uint32_t p = 0; p < nparts; p++) {
		struct buf want = BUF_INIT, got = BUF_INIT;
		expect_part(in.data, nparts, p, kf, &want);
		char name[32];
		snprintf(name, sizeof name, "m00001_1.p%u", p);
		ck_assert_int_eq(read_run(path_of(name), &got), 0);
		ck_assert_uint_eq(got.len, want.len);
		ck_assert(!memcmp(got.data, want.data, got.len));
		buf_free(&want);
		buf_free(&got);
	}
	buf_free(&in);
}

START_TEST(test_collector_one_partition) { check_collector(1, 1); }
END_TEST
START_TEST(test_collector_seven_partitions) { check_collector(7, 1); }
END_TEST
START_TEST(test_collector_key_fields_2) { check_collector(3, 2); }
END_TEST

START_TEST(test_collector_edges)
{
	/* an unterminated last line, and a record longer than the sort buffer */
	struct buf in = BUF_INIT;
	buf_adds(&in, "b\t1\n");
	for (int i = 0; i < 5000; i++)
		buf_addc(&in, 'z');
	buf_adds(&in, "\na\t2\nlast");
	struct shuf_counters c;
	collect(in.data, in.len, 1, 1, 1024, MR_NONE, 100, &c);
	ck_assert_uint_eq(c.records_out, 4);
	struct buf want = BUF_INIT, got = BUF_INIT;
	expect_part(in.data, 1, 0, 1, &want);
	ck_assert_int_eq(read_run(path_of("m00001_1.p0"), &got), 0);
	ck_assert_str_eq(got.data, want.data);
	buf_free(&in);
	buf_free(&want);
	buf_free(&got);
}
END_TEST

START_TEST(test_collector_empty)
{
	struct shuf_counters c;
	collect("", 0, 3, 1, 1024, MR_COUNT, 1, &c);
	for (int p = 0; p < 3; p++) {
		char name[32];
		snprintf(name, sizeof name, "m00001_1.p%d", p);
		uint64_t n = 1;
		ck_assert_int_eq(shuf_run_check(path_of(name), &n), 0);
		ck_assert_uint_eq(n, 0);
	}
}
END_TEST

static int to_buf(void *arg, const char *line, size_t len)
{
	buf_add(arg, line, len);
	return 0;
}

static void reduce_run(const char *path, bool partials, struct buf *out)
{
	struct mr_reducer *r = mr_reducer_new(MR_COUNT, partials, 1, to_buf, out);
	struct shuf_reader rd;
	ck_assert_int_eq(shuf_reader_open(&rd, path), 0);
	const char *l;
	size_t len;
	int rc;
	while ((rc = shuf_reader_next(&rd, &l, &len)) == 1)
		ck_assert_int_eq(mr_reducer_line(r, l, len), 0);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(mr_reducer_finish(r), 0);
	shuf_reader_close(&rd);
	mr_reducer_free(r);
}

START_TEST(test_combiner_same_answer)
{
	struct buf in = BUF_INIT, plain = BUF_INIT, comb = BUF_INIT;
	make_input(&in, 4000, 99);
	struct shuf_counters c;
	collect(in.data, in.len, 1, 1, 16384, MR_NONE, 4096, &c);
	reduce_run(path_of("m00001_1.p0"), false, &plain);
	unlink(path_of("m00001_1.p0"));
	collect(in.data, in.len, 1, 1, 16384, MR_COUNT, 4096, &c);
	ck_assert_uint_eq(c.combine_in, 4000);
	ck_assert_uint_lt(c.combine_out, c.combine_in); /* it combined */
	reduce_run(path_of("m00001_1.p0"), true, &comb);
	ck_assert_str_eq(plain.data, comb.data);
	buf_free(&in);
	buf_free(&plain);
	buf_free(&comb);
}
END_TEST

START_TEST(test_combiner_error_cleans_up)
{
	struct shuf_map_opts o = {path_of("m00002_1"), 2, 1, 64, MR_SUM, 0, NULL, NULL};
	struct shuf_map *m = shuf_map_new(&o);
	const char *in = "a\t1\nb\t2\nc\tnot-a-number\nd\t4\n";
	int rc = shuf_map_add(m, in, strlen(in));
	struct buf why = BUF_INIT;
	if (!rc)
		rc = shuf_map_finish(m, &why);
	ck_assert_int_eq(rc, -EINVAL);
	shuf_map_free(m);
	DIR *d = opendir(tmp_base);
	for (struct dirent *e; (e = readdir(d));)
		ck_assert_msg(e->d_name[0] == '.', "left behind: %s", e->d_name);
	closedir(d);
	buf_free(&why);
}
END_TEST

/* A stand-in for a command combiner: counts each key of what it is fed (sorted, one
 * partition) and writes `key<TAB>count` back in odd-sized pieces, as a pipe would. */
struct fake_comb {
	struct shuf_map *m;
	struct buf in;
	int runs, fail_on;
};

static int fc_start(void *arg, void **h)
{
	struct fake_comb *fc = arg;
	buf_reset(&fc->in);
	fc->runs++;
	*h = fc;
	return 0;
}

static int fc_feed(void *h, const char *data, size_t len)
{
	struct fake_comb *fc = h;
	buf_add(&fc->in, data, len);
	return 0;
}

static int fc_finish(void *h, struct buf *why)
{
	struct fake_comb *fc = h;
	if (fc->runs == fc->fail_on) {
		buf_printf(why, "the command exited with status 3");
		return -ECHILD;
	}
	struct buf out = BUF_INIT;
	const char *p = fc->in.data, *end = p + fc->in.len, *key = NULL;
	size_t klen = 0, n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t kl = mr_key_len(p, (size_t)(nl - p), 1);
		if (n && mr_key_cmp(key, klen, p, kl)) {
			buf_add(&out, key, klen);
			buf_printf(&out, "\t%zu\n", n);
			n = 0;
		}
		key = p;
		klen = kl;
		n++;
		p = nl + 1;
	}
	if (n) {
		buf_add(&out, key, klen);
		buf_printf(&out, "\t%zu", n); /* an unterminated last line */
	}
	int rc = 0;
	for (size_t off = 0; off < out.len && !rc; off += 7)
		rc = shuf_map_combined(fc->m, out.data + off, out.len - off < 7 ? out.len - off : 7);
	buf_free(&out);
	return rc;
}

START_TEST(test_command_combiner)
{
	struct buf in = BUF_INIT, plain = BUF_INIT, comb = BUF_INIT;
	make_input(&in, 4000, 77);
	struct shuf_counters c;
	collect(in.data, in.len, 1, 1, 16384, MR_NONE, 4096, &c);
	reduce_run(path_of("m00001_1.p0"), false, &plain);
	unlink(path_of("m00001_1.p0"));
	for (uint32_t parts = 1; parts <= 3; parts += 2) {
		struct fake_comb fc = {.in = BUF_INIT};
		struct shuf_cmd_ops ops = {&fc, fc_start, fc_feed, fc_finish};
		struct shuf_map_opts o = {path_of("m00001_1"), parts, 1, 16384, MR_NONE, 2, NULL, &ops};
		fc.m = shuf_map_new(&o);
		ck_assert_ptr_nonnull(fc.m);
		ck_assert_int_eq(shuf_map_add(fc.m, in.data, in.len), 0);
		struct buf why = BUF_INIT;
		ck_assert_int_eq(shuf_map_finish(fc.m, &why), 0);
		shuf_map_counters(fc.m, &c);
		ck_assert_uint_eq(c.combine_in, 4000);
		ck_assert_uint_lt(c.combine_out, c.combine_in); /* it combined */
		ck_assert_int_gt(fc.runs, 10);                   /* once per spill and partition */
		ck_assert_uint_le(shuf_map_peak(fc.m), 16384);
		shuf_map_free(fc.m);
		/* the partials, counted, give the plain answer (partitions in turn) */
		buf_reset(&comb);
		struct buf all = BUF_INIT;
		for (uint32_t p = 0; p < parts; p++) {
			char name[32];
			snprintf(name, sizeof name, "m00001_1.p%u", p);
			reduce_run(path_of(name), true, &all);
			unlink(path_of(name));
		}
		/* one partition's output is sorted; with three, sort the lines to compare */
		struct buf sorted_plain = BUF_INIT, sorted_all = BUF_INIT;
		sort_lines(plain.data, &sorted_plain);
		sort_lines(all.data, &sorted_all);
		ck_assert_str_eq(sorted_all.data, sorted_plain.data);
		buf_free(&all);
		buf_free(&sorted_plain);
		buf_free(&sorted_all);
		buf_free(&why);
		buf_free(&fc.in);
	}
	/* a combiner that fails fails the collector, naming why, and leaves no file */
	struct fake_comb fc = {.in = BUF_INIT, .fail_on = 2};
	struct shuf_cmd_ops ops = {&fc, fc_start, fc_feed, fc_finish};
	struct shuf_map_opts o = {path_of("m00003_1"), 2, 1, 16384, MR_NONE, 2, NULL, &ops};
	fc.m = shuf_map_new(&o);
	int rc = shuf_map_add(fc.m, in.data, in.len);
	struct buf why = BUF_INIT;
	if (!rc)
		rc = shuf_map_finish(fc.m, &why);
	ck_assert_int_eq(rc, -ECHILD);
	ck_assert_ptr_nonnull(strstr(shuf_map_why(fc.m), "status 3"));
	shuf_map_free(fc.m);
	DIR *d = opendir(tmp_base);
	for (struct dirent *e; (e = readdir(d));)
		ck_assert_msg(e->d_name[0] == '.', "left behind: %s", e->d_name);
	closedir(d);
	buf_free(&why);
	buf_free(&fc.in);
	buf_free(&in);
	buf_free(&plain);
	buf_free(&comb);
}
END_TEST

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_lines(const char *text, struct buf *out)
{
	char *copy = strdup(text);
	size_t n = 0, cap = 16;
	char **v = malloc(cap * sizeof *v);
	for (char *save = NULL, *t = strtok_r(copy, "\n", &save); t;
	     t = strtok_r(NULL, "\n", &save)) {
		if (n == cap)
			v = realloc(v, (cap *= 2) * sizeof *v);
		v[n++] = t;
	}
	qsort(v, n, sizeof *v, str_cmp);
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "%s\n", v[i]);
	free(v);
	free(copy);
}

START_TEST(test_paths)
{
	struct buf b = BUF_INIT;
	shuf_map_base("/d/tasks", "job_1_0001", 3, 2, &b);
	ck_assert_str_eq(b.data, "/d/tasks/shuffle/job_1_0001/m00003_2");
	ck_assert(shuf_is_job_id("job_20260101_0001"));
	ck_assert(!shuf_is_job_id("../etc"));
	ck_assert(!shuf_is_job_id(""));
	ck_assert(!shuf_is_job_id("a/b"));
	buf_free(&b);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("shuffle",
		{"shuffle",
		 .tests = UNIT_TESTS(test_run_roundtrip, test_run_corruption, test_merge_stable,
			    test_collector_one_partition, test_collector_seven_partitions,
			    test_collector_key_fields_2, test_collector_edges, test_collector_empty,
			    test_combiner_same_answer, test_combiner_error_cleans_up,
			    test_command_combiner, test_paths),
		 .setup = tmp_setup, .teardown = tmp_teardown,
		 .timeout = 60 /* thousands of small files: slow on a loaded machine */},
		{"fanin", .tests = UNIT_TESTS(test_merge_fanin), .setup = tmp_setup, .teardown = tmp_teardown});
}
