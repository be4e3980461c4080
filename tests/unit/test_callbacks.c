/*
 * Unit tests for the mounts' cache callbacks (namenode/callbacks.c): session slots
 * (reused by id, 64 at most, freed with their last connection, holds dropped), the
 * hold table against a reference under many notes and forgets, the invalidations a
 * real namespace change queues (attributes, contents, entries; never for the session
 * that made it), the CN_WATCH replies (due at once with something queued, after the
 * poll time without), and holding replies until the acknowledgement or the lease.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../namenode/callbacks.h"
#include "nstest.h"

START_TEST(test_sessions)
{
	struct nn_cb *cb = nn_cb_new();
	ck_assert_int_eq(nn_cb_session(cb, 0), -EINVAL);
	ck_assert(!nn_cb_any(cb));
	int a = nn_cb_session(cb, 111), b = nn_cb_session(cb, 222);
	ck_assert_int_ge(a, 0);
	ck_assert_int_ne(a, b);
	ck_assert_int_eq(nn_cb_session(cb, 111), a); /* a second connection of the mount */
	ck_assert_uint_eq(nn_cb_sessions(cb), 2);
	ck_assert_uint_eq(nn_cb_held(cb), 1); /* the root, held by both */
	nn_cb_note(cb, a, 50);
	nn_cb_note(cb, b, 50);
	nn_cb_note(cb, a, 51);
	ck_assert_uint_eq(nn_cb_held(cb), 3);
	nn_cb_session_gone(cb, a);
	ck_assert_uint_eq(nn_cb_held(cb), 3); /* one connection of a is left */
	nn_cb_session_gone(cb, a);
	ck_assert_uint_eq(nn_cb_sessions(cb), 1);
	ck_assert_uint_eq(nn_cb_held(cb), 2); /* 51 was a's alone */
	for (int i = 0; i < NN_CB_SESSIONS - 1; i++)
		ck_assert_int_ge(nn_cb_session(cb, 1000 + (uint64_t)i), 0);
	ck_assert_int_eq(nn_cb_session(cb, 5), -EBUSY);
	nn_cb_free(cb);
}
END_TEST

START_TEST(test_hold_table)
{
	struct nn_cb *cb = nn_cb_new();
	int s = nn_cb_session(cb, 7);
	static bool ref[20000];
	uint64_t x = 12345, n = 1; /* the root */
	for (int i = 0; i < 200000; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t ino = 2 + (x >> 33) % 19990;
		if ((x >> 20) & 1) {
			nn_cb_note(cb, s, ino);
			n += !ref[ino];
			ref[ino] = true;
		} else {
			nn_cb_forget(cb, s, ino);
			n -= ref[ino];
			ref[ino] = false;
		}
	}
	ck_assert_uint_eq(nn_cb_held(cb), n);
	nn_cb_session_gone(cb, s);
	ck_assert_uint_eq(nn_cb_held(cb), 0);
	nn_cb_free(cb);
}
END_TEST

/* The invalidations of a CN_WATCH reply, as "kind:ino[:name]" words. */
static void reply_words(const struct buf *p, char *out, size_t size, uint64_t *batch)
{
	struct unpack u;
	unpack_init(&u, p->data, p->len);
	*batch = unpack_u64(&u);
	uint32_t n = unpack_u32(&u);
	out[0] = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t kind = unpack_u8(&u);
		uint64_t ino = unpack_u64(&u);
		char name[PROTO_NAME_MAX + 1] = "";
		if (kind == PROTO_INVAL_ENTRY)
			unpack_str(&u, name, sizeof name);
		size_t l = strlen(out);
		snprintf(out + l, size - l, "%s%u:%llu%s%s", l ? " " : "", kind,
			 (unsigned long long)ino, name[0] ? ":" : "", name);
	}
	static uint64_t incarnation;
	uint64_t inc = unpack_u64(&u);
	ck_assert(unpack_ok(&u));
	ck_assert_uint_eq(u.left, 0);
	ck_assert_uint_ne(inc, 0); /* the namenode's, the same in every reply */
	ck_assert(!incarnation || inc == incarnation);
	incarnation = inc;
}

START_TEST(test_invalidations)
{
	struct nn_cb *cb = nn_cb_new();
	int a = nn_cb_session(cb, 1), b = nn_cb_session(cb, 2);
	nn_ns_track(ns, true);
	double now = 100;
	nn_cb_watch(cb, a, 0, 41, now);
	nn_cb_watch(cb, b, 0, 42, now);
	struct nn_attr d = mkdir_ok("/d");
	struct nn_attr f = create_ok("/d/f"), out;
	ck_assert_int_eq(nn_ns_complete(ns, f.ino, 0, 0, &out), 0); /* closed */
	nn_cb_changes(cb, ns, -1, now);
	uint64_t reqid, batch;
	struct buf p = BUF_INIT;
	char w[512], want[512];
	/* both hold the root, which gained an entry: told so; nobody held d or f */
	ck_assert(nn_cb_take_reply(cb, a, now, &reqid, &p));
	ck_assert_uint_eq(reqid, 41);
	reply_words(&p, w, sizeof w, &batch);
	snprintf(want, sizeof want, "%d:%d:d", PROTO_INVAL_ENTRY, NN_ROOT_INO);
	ck_assert_msg(strstr(w, want), "'%s' lacks '%s'", w, want);
	ck_assert(!strstr(w, ":f"));
	buf_reset(&p);
	ck_assert(nn_cb_take_reply(cb, b, now, &reqid, &p));
	nn_cb_watch(cb, a, batch, 41, now);
	reply_words(&p, w, sizeof w, &batch);
	nn_cb_watch(cb, b, batch, 42, now);
	buf_reset(&p);
	ck_assert(!nn_cb_take_reply(cb, a, now + 0.1, &reqid, &p));
	ck_assert(!nn_cb_holding(cb, now));
	nn_cb_note(cb, b, d.ino);
	nn_cb_note(cb, b, f.ino);
	nn_cb_note(cb, a, f.ino);
	/* a changes f: b hears of it, a does not */
	ck_assert_int_eq(nn_ns_setattr_ino(ns, f.ino, PROTO_SET_MODE, 0600, 0, 0, 0, 0, &out), 0);
	nn_cb_changes(cb, ns, a, now);
	ck_assert(nn_cb_holding(cb, now));
	ck_assert(!nn_cb_take_reply(cb, a, now + 0.1, &reqid, &p));
	ck_assert(nn_cb_take_reply(cb, b, now + 0.1, &reqid, &p));
	ck_assert_uint_eq(reqid, 42);
	reply_words(&p, w, sizeof w, &batch);
	ck_assert_uint_eq(batch, 2);
	snprintf(want, sizeof want, "%d:%llu", PROTO_INVAL_ATTR, (unsigned long long)f.ino);
	ck_assert_str_eq(w, want);
	ck_assert(nn_cb_holding(cb, now + 0.2)); /* sent, not acknowledged */
	ck_assert(!nn_cb_holding(cb, now + 3)); /* ... past b's lease */
	nn_cb_watch(cb, b, batch, 43, now + 0.3);
	ck_assert(!nn_cb_holding(cb, now + 0.3));
	/* a new name in d: an entry for b (it holds d), and d's attributes */
	create_ok("/d/g");
	nn_cb_changes(cb, ns, a, now + 0.4);
	buf_reset(&p);
	ck_assert(nn_cb_take_reply(cb, b, now + 0.4, &reqid, &p));
	reply_words(&p, w, sizeof w, &batch);
	snprintf(want, sizeof want, "%d:%llu:g", PROTO_INVAL_ENTRY, (unsigned long long)d.ino);
	ck_assert_msg(strstr(w, want), "'%s' lacks '%s'", w, want);
	snprintf(want, sizeof want, "%d:%llu", PROTO_INVAL_ATTR, (unsigned long long)d.ino);
	ck_assert_msg(strstr(w, want), "'%s' lacks '%s'", w, want);
	/* new contents of f: its data, for both (the namenode made the change) */
	nn_cb_watch(cb, b, batch, 44, now + 0.5);
	ck_assert_int_eq(nn_ns_update(ns, f.ino, 0, 0, NULL, 0, NULL, &out), 0);
	nn_cb_changes(cb, ns, -1, now + 0.5);
	buf_reset(&p);
	ck_assert(nn_cb_take_reply(cb, a, now + 0.5, &reqid, &p));
	reply_words(&p, w, sizeof w, &batch);
	snprintf(want, sizeof want, "%d:%llu", PROTO_INVAL_ATTR, (unsigned long long)f.ino);
	ck_assert_str_eq(w, want); /* an empty update rewrites the inode, no block slot */
	/* a poll with nothing: answered after the poll time, batch 0 */
	nn_cb_watch(cb, a, batch, 45, now + 1);
	buf_reset(&p);
	ck_assert(!nn_cb_take_reply(cb, a, now + 1.5, &reqid, &p));
	ck_assert(nn_cb_take_reply(cb, a, now + 2.1, &reqid, &p));
	reply_words(&p, w, sizeof w, &batch);
	ck_assert_uint_eq(batch, 0);
	ck_assert_str_eq(w, "");
	buf_free(&p);
	nn_cb_free(cb);
}
END_TEST

int main(void)
{
	return nstest_main("callbacks",
			   UNIT_TESTS(test_sessions, test_hold_table, test_invalidations));
}
