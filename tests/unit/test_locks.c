/*
 * Unit tests for the namenode's advisory lock table (namenode/locks.h): conflicts
 * between owners, read sharing, byte ranges split and trimmed by the owner's own
 * locks, flock and POSIX kinds apart, and a session's locks dropped together.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../namenode/locks.h"
#include "log.h"
#include "proto.h"
#include "unit.h"

static struct nn_lock mk(uint64_t session, uint64_t owner, uint8_t type, uint64_t start,
			 uint64_t end)
{
	return (struct nn_lock){.ino = 7, .session = session, .owner = owner, .start = start,
				.end = end, .kind = PROTO_LOCK_POSIX, .type = type};
}

START_TEST(test_conflicts)
{
	struct nn_locks t = {0};
	struct nn_lock a = mk(1, 1, PROTO_LOCK_WRITE, 0, 9), o;
	ck_assert_int_eq(nn_locks_set(&t, &a), 0);
	struct nn_lock b = mk(2, 1, PROTO_LOCK_WRITE, 5, 14);
	ck_assert_int_eq(nn_locks_set(&t, &b), -EAGAIN);
	ck_assert(nn_locks_test(&t, &b, &o));
	ck_assert_uint_eq(o.start, 0);
	ck_assert_uint_eq(o.end, 9);
	b.start = 10;
	ck_assert_int_eq(nn_locks_set(&t, &b), 0); /* adjacent, not overlapping */
	/* same session, other owner: still a conflict */
	struct nn_lock c = mk(1, 2, PROTO_LOCK_READ, 9, 9);
	ck_assert_int_eq(nn_locks_set(&t, &c), -EAGAIN);
	/* another inode: no conflict */
	c.ino = 8;
	ck_assert_int_eq(nn_locks_set(&t, &c), 0);
	nn_locks_free(&t);
}
END_TEST

START_TEST(test_readers_share)
{
	struct nn_locks t = {0};
	struct nn_lock a = mk(1, 1, PROTO_LOCK_READ, 0, UINT64_MAX);
	struct nn_lock b = mk(2, 1, PROTO_LOCK_READ, 100, 200);
	ck_assert_int_eq(nn_locks_set(&t, &a), 0);
	ck_assert_int_eq(nn_locks_set(&t, &b), 0);
	struct nn_lock w = mk(3, 1, PROTO_LOCK_WRITE, 150, 150);
	ck_assert_int_eq(nn_locks_set(&t, &w), -EAGAIN);
	/* an owner upgrades its own read lock when nobody else holds the range */
	struct nn_lock up = mk(2, 1, PROTO_LOCK_WRITE, 100, 200);
	ck_assert_int_eq(nn_locks_set(&t, &up), -EAGAIN); /* session 1 reads it too */
	struct nn_lock un = mk(1, 1, PROTO_LOCK_UNLOCK, 0, UINT64_MAX);
	ck_assert_int_eq(nn_locks_set(&t, &un), 0);
	ck_assert_int_eq(nn_locks_set(&t, &up), 0);
	ck_assert_uint_eq(t.n, 1);
	nn_locks_free(&t);
}
END_TEST

START_TEST(test_split_and_trim)
{
	struct nn_locks t = {0};
	struct nn_lock a = mk(1, 1, PROTO_LOCK_WRITE, 0, 99);
	ck_assert_int_eq(nn_locks_set(&t, &a), 0);
	/* unlocking the middle leaves two pieces */
	struct nn_lock un = mk(1, 1, PROTO_LOCK_UNLOCK, 40, 59);
	ck_assert_int_eq(nn_locks_set(&t, &un), 0);
	ck_assert_uint_eq(t.n, 2);
	struct nn_lock probe = mk(2, 1, PROTO_LOCK_WRITE, 40, 59);
	ck_assert(!nn_locks_test(&t, &probe, NULL));
	probe.start = probe.end = 39;
	ck_assert(nn_locks_test(&t, &probe, NULL));
	probe.start = probe.end = 60;
	ck_assert(nn_locks_test(&t, &probe, NULL));
	/* a read lock over the whole range replaces both pieces */
	struct nn_lock r = mk(1, 1, PROTO_LOCK_READ, 0, 99);
	ck_assert_int_eq(nn_locks_set(&t, &r), 0);
	ck_assert_uint_eq(t.n, 1);
	struct nn_lock other = mk(2, 1, PROTO_LOCK_READ, 50, 50);
	ck_assert_int_eq(nn_locks_set(&t, &other), 0);
	nn_locks_free(&t);
}
END_TEST

START_TEST(test_kinds_and_sessions)
{
	struct nn_locks t = {0};
	struct nn_lock p = mk(1, 1, PROTO_LOCK_WRITE, 0, UINT64_MAX);
	struct nn_lock f = mk(2, 5, PROTO_LOCK_WRITE, 0, UINT64_MAX);
	f.kind = PROTO_LOCK_FLOCK;
	ck_assert_int_eq(nn_locks_set(&t, &p), 0);
	ck_assert_int_eq(nn_locks_set(&t, &f), 0); /* flock and fcntl do not conflict */
	struct nn_lock f2 = f;
	f2.session = 3;
	ck_assert_int_eq(nn_locks_set(&t, &f2), -EAGAIN);
	nn_locks_drop_session(&t, 2);
	ck_assert_int_eq(nn_locks_set(&t, &f2), 0);
	struct nn_lock bad = mk(1, 1, PROTO_LOCK_WRITE, 10, 5);
	ck_assert_int_eq(nn_locks_set(&t, &bad), -EINVAL);
	nn_locks_free(&t);
}
END_TEST

int main(void)
{
	log_set_level(LOG_WARN);
	return UNIT_MAIN("locks",
		{"core", .tests = UNIT_TESTS(
			test_conflicts, test_readers_share, test_split_and_trim,
			test_kinds_and_sessions)});
}
