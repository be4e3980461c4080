/*
 * Unit tests for fetch (compute/fetch.h), the serving side over a socket pair: a map
 * output is sent whole (its length, its bytes, an empty end) only with the job's token;
 * no token, another job's token, a forged one, or one made with another key are
 * refused and the connection stays in step; a missing output is -ENOENT; a job id that
 * could climb out of the scratch directory is malformed.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fetch.h"
#include "fsutil.h"
#include "pack.h"
#include "proto.h"
#include "shuffle.h"
#include "testdir.h"
#include "unit.h"

static void tmp_setup(void) { testdir_make("fetch"); }

static const uint8_t key[32] = {1, 2, 3, 4, 5};
static const char *job = "job_20260101000000_0001";

/* Writes a map output run for (task 0, attempt 1, partition 2) with n records. */
static void make_output(int n)
{
	struct buf dir = BUF_INIT, base = BUF_INIT;
	shuf_job_dir(tmp_base, job, &dir);
	ck_assert_int_eq(fs_mkdir_p(dir.data, 0700), 0);
	shuf_map_base(tmp_base, job, 0, 1, &base);
	buf_adds(&base, ".p2");
	struct shuf_writer w;
	ck_assert_int_eq(shuf_writer_open(&w, base.data), 0);
	for (int i = 0; i < n; i++) {
		char l[32];
		int k = snprintf(l, sizeof l, "key%05d\t%d", i, i);
		ck_assert_int_eq(shuf_writer_add(&w, l, (size_t)k), 0);
	}
	ck_assert_int_eq(shuf_writer_close(&w), 0);
	buf_free(&dir);
	buf_free(&base);
}

/* Serves one request on sv[1]; returns fetch_serve's result. */
static int serve(int sv[2], const char *jobid, uint32_t part, const uint8_t *tok)
{
	struct buf p = BUF_INIT;
	pack_str(&p, jobid);
	pack_u32(&p, 0);
	pack_u32(&p, 1);
	pack_u32(&p, part);
	if (tok)
		pack_raw(&p, tok, JOB_TOKEN_LEN);
	struct proto_hdr h = {.type = PROTO_DT_FETCH_MAP_OUTPUT, .reqid = 9};
	uint64_t sent;
	int rc = fetch_serve(sv[1], &h, &p, tmp_base, key, &sent);
	buf_free(&p);
	return rc;
}

/* Reads the first reply on sv[0]: its status (0 or -errno). */
static int first_reply(int sv[2], struct buf *in)
{
	struct proto_hdr h;
	ck_assert_int_eq(proto_recv(sv[0], &h, in, PROTO_MAX_DATA), 0);
	ck_assert_uint_eq(h.reqid, 9);
	ck_assert(h.flags & PROTO_F_REPLY);
	return proto_errno(h.status);
}

START_TEST(test_token)
{
	uint8_t a[JOB_TOKEN_LEN], b[JOB_TOKEN_LEN], c[JOB_TOKEN_LEN];
	fetch_job_token(key, job, a);
	fetch_job_token(key, "job_20260101000000_0002", b);
	uint8_t other[32] = {9};
	fetch_job_token(other, job, c);
	ck_assert(fetch_token_ok(key, job, a));
	ck_assert(memcmp(a, b, sizeof a));
	ck_assert(!fetch_token_ok(key, job, b));
	ck_assert(!fetch_token_ok(key, job, c));
	ck_assert(!fetch_token_ok(key, job, NULL));
	a[5] ^= 1;
	ck_assert(!fetch_token_ok(key, job, a));
}
END_TEST

START_TEST(test_serve)
{
	make_output(3000);
	int sv[2];
	make_pair(sv);
	uint8_t tok[JOB_TOKEN_LEN], zero[JOB_TOKEN_LEN] = {0}, wrong[JOB_TOKEN_LEN];
	fetch_job_token(key, job, tok);
	fetch_job_token(key, "job_20260101000000_0002", wrong);
	struct buf in = BUF_INIT;
	/* refusals: the stream stays in step */
	ck_assert_int_eq(serve(sv, job, 2, zero), 0);
	ck_assert_int_eq(first_reply(sv, &in), -EACCES);
	ck_assert_int_eq(serve(sv, job, 2, wrong), 0);
	ck_assert_int_eq(first_reply(sv, &in), -EACCES);
	ck_assert_int_eq(serve(sv, job, 1, tok), 0);
	ck_assert_int_eq(first_reply(sv, &in), -ENOENT);
	/* the real thing: length, bytes, an empty end; the bytes are the run */
	ck_assert_int_eq(serve(sv, job, 2, tok), 0);
	ck_assert_int_eq(first_reply(sv, &in), 0);
	ck_assert_uint_eq(in.len, 8);
	uint64_t len = be64_get((const uint8_t *)in.data);
	struct buf got = BUF_INIT;
	for (;;) {
		ck_assert_int_eq(first_reply(sv, &in), 0);
		if (!in.len)
			break;
		buf_add(&got, in.data, in.len);
	}
	ck_assert_uint_eq(got.len, len);
	struct buf path = BUF_INIT, want = BUF_INIT;
	shuf_map_base(tmp_base, job, 0, 1, &path);
	buf_adds(&path, ".p2");
	ck_assert_int_eq(fs_read_file(path.data, &want), 0);
	ck_assert_uint_eq(want.len, got.len);
	ck_assert(!memcmp(want.data, got.data, got.len));
	/* malformed: no token at all, or a job id with a path in it */
	ck_assert_int_eq(serve(sv, job, 2, NULL), -EPROTO);
	ck_assert_int_eq(first_reply(sv, &in), -EPROTO);
	ck_assert_int_eq(serve(sv, "../../etc", 2, tok), -EPROTO);
	ck_assert_int_eq(first_reply(sv, &in), -EPROTO);
	close(sv[0]);
	close(sv[1]);
	buf_free(&in);
	buf_free(&got);
	buf_free(&path);
	buf_free(&want);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("fetch", {"fetch", .tests = UNIT_TESTS(test_token, test_serve), .setup = tmp_setup,
				   .teardown = tmp_teardown});
}
