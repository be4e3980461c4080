/*
 * Unit tests for the retry cache (namenode/retrycache.h) on a real namespace: a
 * success reply is kept and replayed for the same call id, type and payload; failures
 * and calls without PROTO_F_RETRY_ID are not kept; an id that comes back with another
 * call runs as new; kept replies survive a restart (they are in the namespace's batch)
 * and expire in time order.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "../../namenode/retrycache.h"
#include "buf.h"

#include "nstest.h"

static struct proto_hdr call(uint64_t id, uint16_t type, uint32_t len)
{
	return (struct proto_hdr){PROTO_MAGIC, type, PROTO_F_RETRY_ID, id, len, 0};
}

static void reply(struct buf *out, uint64_t id, uint16_t type, int32_t status,
		  const char *text)
{
	buf_reset(out);
	proto_frame(out, type, PROTO_F_REPLY, id, status, text, strlen(text));
}

START_TEST(test_keep_and_replay)
{
	struct nn_rc *rc;
	ck_assert_int_eq(nn_rc_open(ns, 120, 1000, &rc), 0);
	const char *req = "mkdir /a";
	struct proto_hdr h = call(0x1234000000001ULL, PROTO_CN_MKDIR_AT, (uint32_t)strlen(req));
	struct buf out = BUF_INIT, fr = BUF_INIT;
	ck_assert(!nn_rc_replay(rc, &h, req, &out)); /* first attempt: runs */
	reply(&fr, h.reqid, PROTO_CN_MKDIR_AT, 0, "attr");
	nn_rc_record(rc, &h, req, fr.data, fr.len, 1000);
	ck_assert(nn_ns_dirty(ns)); /* in the turn's batch, synced with the change */
	ck_assert(nn_rc_replay(rc, &h, req, &out));
	ck_assert_uint_eq(out.len, fr.len);
	ck_assert(!memcmp(out.data, fr.data, fr.len));
	ck_assert_uint_eq(nn_rc_replays(rc), 1);
	ck_assert_uint_eq(nn_rc_size(rc), 1);

	/* the same id with another payload or type is not a retry */
	buf_reset(&out);
	ck_assert(!nn_rc_replay(rc, &h, "mkdir /b", &out));
	struct proto_hdr other = h;
	other.type = PROTO_CN_UNLINK_AT;
	ck_assert(!nn_rc_replay(rc, &other, req, &out));
	/* without the flag, never */
	struct proto_hdr plain = h;
	plain.flags = 0;
	ck_assert(!nn_rc_replay(rc, &plain, req, &out));
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
	buf_free(&fr);
	nn_rc_close(rc);
}
END_TEST

START_TEST(test_failures_not_kept)
{
	struct nn_rc *rc;
	ck_assert_int_eq(nn_rc_open(ns, 120, 1000, &rc), 0);
	struct proto_hdr h = call(0x99000000007ULL, PROTO_CN_MKDIR_AT, 1);
	struct buf fr = BUF_INIT, out = BUF_INIT;
	reply(&fr, h.reqid, PROTO_CN_MKDIR_AT, proto_status(-EEXIST), "exists");
	nn_rc_record(rc, &h, "x", fr.data, fr.len, 1000);
	ck_assert(!nn_rc_replay(rc, &h, "x", &out));
	/* a frame that does not answer this call is not kept either */
	reply(&fr, h.reqid + 1, PROTO_CN_MKDIR_AT, 0, "attr");
	nn_rc_record(rc, &h, "x", fr.data, fr.len, 1000);
	ck_assert(!nn_rc_replay(rc, &h, "x", &out));
	ck_assert_uint_eq(nn_rc_size(rc), 0);
	buf_free(&fr);
	buf_free(&out);
	nn_rc_close(rc);
}
END_TEST

START_TEST(test_survives_restart_then_expires)
{
	struct nn_rc *rc;
	ck_assert_int_eq(nn_rc_open(ns, 60, 1000, &rc), 0);
	struct buf fr = BUF_INIT, out = BUF_INIT;
	for (uint64_t i = 1; i <= 3; i++) { /* kept at 1000, 1010, 1020 */
		struct proto_hdr h = call(0x5000000000ULL + i, PROTO_CN_CREATE_AT, 1);
		reply(&fr, h.reqid, PROTO_CN_CREATE_AT, 0, "attr");
		nn_rc_record(rc, &h, "f", fr.data, fr.len, 1000 + 10 * (int64_t)(i - 1));
	}
	ck_assert_int_eq(nn_ns_sync(ns), 0);
	nn_rc_close(rc);
	reopen(); /* the namenode restarted: the replies are still there */
	ck_assert_int_eq(nn_rc_open(ns, 60, 1065, &rc), 0); /* the first is 65 s old */
	ck_assert_uint_eq(nn_rc_size(rc), 2);
	struct proto_hdr h1 = call(0x5000000001ULL, PROTO_CN_CREATE_AT, 1);
	struct proto_hdr h2 = call(0x5000000002ULL, PROTO_CN_CREATE_AT, 1);
	ck_assert(!nn_rc_replay(rc, &h1, "f", &out));
	ck_assert(nn_rc_replay(rc, &h2, "f", &out));
	ck_assert_uint_eq(nn_rc_expire(rc, 1075), 1); /* 1010 is past 60 s, 1020 is not */
	ck_assert(!nn_rc_replay(rc, &h2, "f", &out));
	ck_assert_uint_eq(nn_rc_size(rc), 1);
	ck_assert_uint_eq(nn_rc_expire(rc, 2000), 1);
	ck_assert_uint_eq(nn_rc_size(rc), 0);
	buf_free(&fr);
	buf_free(&out);
	nn_rc_close(rc);
}
END_TEST

START_TEST(test_off)
{
	struct nn_rc *rc;
	ck_assert_int_eq(nn_rc_open(ns, 0, 1000, &rc), 0); /* retry_cache_seconds 0 */
	struct proto_hdr h = call(0x77000000001ULL, PROTO_CN_MKDIR_AT, 1);
	struct buf fr = BUF_INIT, out = BUF_INIT;
	reply(&fr, h.reqid, PROTO_CN_MKDIR_AT, 0, "attr");
	nn_rc_record(rc, &h, "x", fr.data, fr.len, 1000);
	ck_assert(!nn_rc_replay(rc, &h, "x", &out));
	ck_assert(!nn_ns_dirty(ns));
	buf_free(&fr);
	buf_free(&out);
	nn_rc_close(rc);
}
END_TEST

START_TEST(test_many_in_order)
{
	/* more than the queue's first allocation, to exercise its growth */
	struct nn_rc *rc;
	ck_assert_int_eq(nn_rc_open(ns, 10, 0, &rc), 0);
	struct buf fr = BUF_INIT;
	for (uint64_t i = 1; i <= 3000; i++) {
		struct proto_hdr h = call(0x100000000ULL + i, PROTO_CN_MKDIR_AT, 1);
		reply(&fr, h.reqid, PROTO_CN_MKDIR_AT, 0, "a");
		nn_rc_record(rc, &h, "x", fr.data, fr.len, (int64_t)i);
		if (i % 700 == 0)
			nn_rc_expire(rc, (int64_t)i); /* keeps the ring wrapping */
	}
	ck_assert_uint_eq(nn_rc_size(rc), 211); /* the pass at 2800 kept 2790.. */
	ck_assert_uint_eq(nn_rc_expire(rc, 3000), 200);
	ck_assert_uint_eq(nn_rc_size(rc), 11); /* 2990..3000 */
	buf_free(&fr);
	nn_rc_close(rc);
}
END_TEST

int main(void)
{
	return nstest_main("retrycache", UNIT_TESTS(test_keep_and_replay, test_failures_not_kept,
						     test_survives_restart_then_expires,
						     test_off, test_many_in_order));
}
