/*
 * Unit tests for deferred creates (namenode/ns_defer.c, ns.h "Deferred creates"): a
 * deferred file writes nothing until it is observed -- a stat of its inode, a lookup
 * or create of its name, a listing or rmdir of its directory -- or changed (an update
 * of its blocks), and then it is the file it was answered as; peeking does not write
 * it; an owner's files go with the owner; a restart forgets them without reusing their
 * inode numbers; the directory's times move to the create's, unless it changed since.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nstest.h"

static struct nn_attr defer_ok(uint64_t in, const char *name, uint64_t owner)
{
	struct nn_attr a;
	int rc = nn_ns_create_deferred(ns, in, name, 0640, 0, 0, 1000, 1001, owner, &a);
	ck_assert_msg(rc == 0, "deferred create '%s': %d", name, rc);
	return a;
}

/* Syncs what is pending, so that nn_ns_dirty tells whether what follows wrote. */
static void settle(void)
{
	ck_assert_int_eq(nn_ns_sync(ns), 0);
	ck_assert(!nn_ns_dirty(ns));
}

START_TEST(test_written_when_its_inode_is_read)
{
	struct nn_attr d = mkdir_ok("/d");
	settle();
	uint64_t files = nn_ns_files(ns);
	struct nn_attr f = defer_ok(d.ino, "f", 7);
	ck_assert(!nn_ns_dirty(ns)); /* nothing written */
	ck_assert_uint_eq(nn_ns_deferred(ns), 1);
	ck_assert_uint_eq(nn_ns_files(ns), files);
	ck_assert_uint_eq(f.type, PROTO_T_FILE);
	ck_assert_uint_eq(f.mode, 0640);
	ck_assert_uint_eq(f.uid, 1000);
	ck_assert_uint_eq(f.gid, 1001);
	ck_assert_uint_eq(f.nlink, 1);
	ck_assert_uint_eq(f.replication, defaults.replication);
	ck_assert_uint_eq(f.block_size, defaults.block_size);
	ck_assert(!(f.flags & PROTO_A_UNDER_CONSTRUCTION)); /* a closed, empty file */
	struct nn_attr p;
	ck_assert_int_eq(nn_ns_peek_ino(ns, f.ino, &p), 0); /* peeking writes nothing */
	ck_assert_uint_eq(p.ino, f.ino);
	ck_assert(!nn_ns_dirty(ns));
	ck_assert_uint_eq(nn_ns_deferred(ns), 1);
	struct nn_attr s;
	ck_assert_int_eq(nn_ns_stat_ino(ns, f.ino, &s), 0); /* observed: written */
	ck_assert(nn_ns_dirty(ns));
	ck_assert_uint_eq(nn_ns_deferred(ns), 0);
	ck_assert_uint_eq(nn_ns_files(ns), files + 1);
	ck_assert_uint_eq(s.ino, f.ino);
	ck_assert_uint_eq(s.mode, 0640);
	ck_assert_int_eq(s.ctime, f.ctime);
	ck_assert_uint_eq(stat_ok("/d/f").ino, f.ino);
	/* it survives a restart now */
	reopen();
	ck_assert_uint_eq(stat_ok("/d/f").ino, f.ino);
}
END_TEST

START_TEST(test_written_when_its_name_or_directory_is_read)
{
	struct nn_attr d = mkdir_ok("/d"), e = mkdir_ok("/e");
	struct nn_attr a;
	/* a lookup of its name */
	struct nn_attr f1 = defer_ok(d.ino, "f1", 1);
	ck_assert_int_eq(nn_ns_lookup(ns, d.ino, "f1", &a), 0);
	ck_assert_uint_eq(a.ino, f1.ino);
	/* a listing of its directory */
	defer_ok(d.ino, "f2", 1);
	struct listing l;
	bool more;
	list_ok("/d", NULL, 16, &l, &more);
	ck_assert_int_eq(l.n, 2);
	ck_assert_str_eq(l.names[1], "f2");
	/* a create of the same name: the name is taken */
	defer_ok(d.ino, "f3", 1);
	ck_assert_int_eq(nn_ns_create_at(ns, d.ino, "f3", 0644, false, 0, 0, 0, 0, &a, NULL),
			 -EEXIST);
	ck_assert_int_eq(nn_ns_create_deferred(ns, d.ino, "f3", 0644, 0, 0, 0, 0, 2, &a),
			 -EAGAIN); /* the usual create decides then */
	/* an rmdir of its directory: not empty */
	defer_ok(e.ino, "g", 1);
	ck_assert_int_eq(nn_ns_unlink_at(ns, NN_ROOT_INO, "e", NN_UNLINK_DIR, NULL, NULL),
			 -ENOTEMPTY);
	ck_assert_uint_eq(nn_ns_deferred(ns), 0);
	/* a rename of it */
	struct nn_attr h = defer_ok(d.ino, "h", 1);
	ck_assert_int_eq(nn_ns_rename_at(ns, d.ino, "h", e.ino, "h2", 0, NULL), 0);
	ck_assert_uint_eq(stat_ok("/e/h2").ino, h.ino);
	/* an update of its blocks (the writer's close): the create and the update together */
	struct nn_attr u = defer_ok(d.ino, "u", 1);
	settle();
	ck_assert_int_eq(nn_ns_update(ns, u.ino, 0, 0, NULL, 0, NULL, &a), 0);
	ck_assert_uint_eq(stat_ok("/d/u").ino, u.ino);
	ck_assert_uint_eq(nn_ns_deferred(ns), 0);
}
END_TEST

START_TEST(test_refused)
{
	struct nn_attr d = mkdir_ok("/d");
	struct nn_attr f = create_ok("/d/taken"), a;
	ck_assert_int_eq(nn_ns_create_deferred(ns, d.ino, "taken", 0644, 0, 0, 0, 0, 1, &a),
			 -EAGAIN);
	ck_assert_int_eq(nn_ns_create_deferred(ns, 999999, "x", 0644, 0, 0, 0, 0, 1, &a),
			 -ENOENT);
	ck_assert_int_eq(nn_ns_create_deferred(ns, f.ino, "x", 0644, 0, 0, 0, 0, 1, &a),
			 -ENOTDIR);
	ck_assert_int_eq(nn_ns_create_deferred(ns, d.ino, "", 0644, 0, 0, 0, 0, 1, &a), -EINVAL);
	ck_assert_int_eq(nn_ns_create_deferred(ns, d.ino, "a/b", 0644, 0, 0, 0, 0, 1, &a),
			 -EINVAL);
	ck_assert_uint_eq(nn_ns_deferred(ns), 0);
}
END_TEST

START_TEST(test_forgotten_with_owner_and_restart)
{
	struct nn_attr d = mkdir_ok("/d"), a;
	struct nn_attr mine = defer_ok(d.ino, "mine", 1);
	struct nn_attr theirs = defer_ok(d.ino, "theirs", 2);
	nn_ns_defer_drop(ns, 1);
	ck_assert_uint_eq(nn_ns_deferred(ns), 1);
	ck_assert_int_eq(nn_ns_stat_ino(ns, mine.ino, &a), -ENOENT);
	ck_assert_int_eq(nn_ns_lookup(ns, d.ino, "mine", &a), -ENOENT);
	/* the name is free again */
	struct nn_attr again = defer_ok(d.ino, "mine", 3);
	ck_assert_uint_ne(again.ino, mine.ino);
	(void)theirs;
	/* a restart forgets the rest, and hands none of their numbers out again */
	reopen();
	ck_assert_uint_eq(nn_ns_deferred(ns), 0);
	ck_assert_int_eq(nn_ns_stat_ino(ns, theirs.ino, &a), -ENOENT);
	ck_assert_int_eq(nn_ns_lookup(ns, d.ino, "theirs", &a), -ENOENT);
	struct nn_attr after = create_ok("/d/after");
	ck_assert_uint_gt(after.ino, again.ino);
	struct nn_attr later = defer_ok(d.ino, "later", 4);
	ck_assert_uint_gt(later.ino, after.ino);
}
END_TEST

START_TEST(test_made_again_after_restart)
{
	struct nn_attr d = mkdir_ok("/d"), a;
	struct nn_attr lost = defer_ok(d.ino, "lost", 1), taken = defer_ok(d.ino, "taken", 1);
	struct nn_attr mine = defer_ok(d.ino, "mine", 1);
	/* not lost: there already */
	ck_assert_int_eq(nn_ns_redefer(ns, mine.ino, d.ino, "mine", 0640, 0, 0, 0, 0, 1, &a), 0);
	ck_assert_uint_eq(a.ino, mine.ino);
	reopen(); /* a restart forgets all three */
	ck_assert_int_eq(nn_ns_redefer(ns, lost.ino, d.ino, "lost", 0640, 2, 0, 1000, 1001, 5, &a),
			 0);
	ck_assert_uint_eq(a.ino, lost.ino);
	ck_assert_uint_eq(a.replication, 2);
	ck_assert_uint_eq(nn_ns_deferred(ns), 1);
	ck_assert_uint_eq(stat_ok("/d/lost").ino, lost.ino); /* observed: written */
	create_ok("/d/taken"); /* someone else took the name meanwhile */
	ck_assert_int_eq(nn_ns_redefer(ns, taken.ino, d.ino, "taken", 0640, 0, 0, 0, 0, 5, &a),
			 -EEXIST);
	/* numbers this namenode hands out are not made again: gone means gone */
	struct nn_attr fresh = defer_ok(d.ino, "fresh", 6);
	nn_ns_defer_drop(ns, 6);
	ck_assert_int_eq(nn_ns_redefer(ns, fresh.ino, d.ino, "fresh", 0640, 0, 0, 0, 0, 5, &a),
			 -ENOENT);
	ck_assert_int_eq(nn_ns_redefer(ns, 0, d.ino, "zero", 0640, 0, 0, 0, 0, 5, &a), -ENOENT);
	/* and later files keep numbering past all of them */
	ck_assert_uint_gt(create_ok("/d/after").ino, fresh.ino);
}
END_TEST

START_TEST(test_directory_times)
{
	struct nn_attr d = mkdir_ok("/d"), a;
	ck_assert_int_eq(nn_ns_setattr_ino(ns, d.ino, PROTO_SET_MTIME, 0, 0, 0, 0, 1000, &a), 0);
	struct nn_attr f = defer_ok(d.ino, "f", 1);
	ck_assert_int_eq(stat_ok("/d").mtime, 1000); /* not written yet */
	ck_assert_int_eq(nn_ns_stat_ino(ns, f.ino, &a), 0);
	struct nn_attr dd = stat_ok("/d");
	ck_assert_int_eq(dd.mtime, f.ctime);
	ck_assert_int_eq(dd.ctime, f.ctime);
	/* a change of the directory after the create keeps its own times */
	struct nn_attr g = defer_ok(d.ino, "g", 1);
	ck_assert_int_eq(nn_ns_setattr_ino(ns, d.ino, PROTO_SET_MTIME, 0, 0, 0, 0, 2000, &a), 0);
	ck_assert_int_eq(nn_ns_stat_ino(ns, g.ino, &a), 0);
	ck_assert_int_eq(stat_ok("/d").mtime, 2000);
	/* the predicted directory of a reply */
	struct nn_attr pd = {.mtime = 5, .ctime = 5}, pf = {.ctime = 9};
	nn_ns_defer_touch_dir(&pd, &pf);
	ck_assert_int_eq(pd.mtime, 9);
	ck_assert_int_eq(pd.ctime, 9);
}
END_TEST

int main(void)
{
	return nstest_main("ns_defer", UNIT_TESTS(
		test_written_when_its_inode_is_read,
		test_written_when_its_name_or_directory_is_read, test_refused,
		test_forgotten_with_owner_and_restart, test_made_again_after_restart,
		test_directory_times));
}
