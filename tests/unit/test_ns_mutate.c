/*
 * Unit tests for the namespace's mutations (namenode/ns_mutate.c): mkdir, create,
 * the write path (add_block, abandon_block, complete), rename, delete, block rewrites
 * (update) and the POSIX calls (symlink, mknod, link, setattr).
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nstest.h"

/* ---- mkdir ---- */

START_TEST(test_mkdir)
{
	struct nn_attr a = mkdir_ok("/a");
	ck_assert_uint_eq(a.type, PROTO_T_DIR);
	ck_assert_uint_eq(a.nlink, 2);
	ck_assert_uint_eq(a.mode, 0755);
	ck_assert_uint_gt(a.ino, NN_ROOT_INO);
	ck_assert_uint_eq(stat_ok("/a").ino, a.ino);
	ck_assert_uint_eq(stat_ok("/").nlink, 3);
	ck_assert_uint_eq(nn_ns_files(ns), 2);
	ck_assert(nn_ns_dirty(ns));

	/* existing: EEXIST without parents, fine with them */
	struct nn_attr b;
	ck_assert_int_eq(nn_ns_mkdir(ns, "/a", 0700, false, 0, 0, &b), -EEXIST);
	ck_assert_int_eq(nn_ns_mkdir(ns, "/a", 0700, true, 0, 0, &b), 0);
	ck_assert_uint_eq(b.ino, a.ino);
	ck_assert_uint_eq(b.mode, 0755); /* not re-created */
	ck_assert_int_eq(nn_ns_mkdir(ns, "/", 0755, false, 0, 0, &b), -EEXIST);
	ck_assert_int_eq(nn_ns_mkdir(ns, "/", 0755, true, 0, 0, &b), 0);
	ck_assert_uint_eq(b.ino, NN_ROOT_INO);
	ck_assert_uint_eq(nn_ns_files(ns), 2);
	ck_assert_uint_eq(stat_ok("/").nlink, 3);
}
END_TEST

START_TEST(test_mkdir_parents)
{
	struct nn_attr a;
	ck_assert_int_eq(nn_ns_mkdir(ns, "/x/y/z", 0750, false, 0, 0, &a), -ENOENT);
	ck_assert_int_eq(stat_rc("/x"), -ENOENT);
	ck_assert_uint_eq(nn_ns_files(ns), 1);

	ck_assert_int_eq(nn_ns_mkdir(ns, "/x/y/z", 0750, true, 7, 8, &a), 0);
	ck_assert_uint_eq(a.type, PROTO_T_DIR);
	ck_assert_uint_eq(a.mode, 0750);
	ck_assert_uint_eq(a.uid, 7);
	ck_assert_uint_eq(a.gid, 8);
	ck_assert_uint_eq(stat_ok("/x/y/z").ino, a.ino);
	ck_assert_uint_eq(stat_ok("/x").nlink, 3);
	ck_assert_uint_eq(stat_ok("/x/y").nlink, 3);
	ck_assert_uint_eq(stat_ok("/x/y/z").nlink, 2);
	ck_assert_uint_eq(stat_ok("/").nlink, 3);
	ck_assert_uint_eq(nn_ns_files(ns), 4);

	/* a partly existing chain */
	ck_assert_int_eq(nn_ns_mkdir(ns, "/x/y/w/v", 0755, true, 0, 0, &a), 0);
	ck_assert_uint_eq(stat_ok("/x/y").nlink, 4);
	ck_assert_uint_eq(nn_ns_files(ns), 6);
	/* one missing level without parents, even though the grandparent exists */
	ck_assert_int_eq(nn_ns_mkdir(ns, "/x/q/r", 0755, false, 0, 0, &a), -ENOENT);
	ck_assert_int_eq(stat_rc("/x/q"), -ENOENT);
}
END_TEST

START_TEST(test_mkdir_notdir)
{
	create_ok("/f");
	struct nn_attr a;
	ck_assert_int_eq(nn_ns_mkdir(ns, "/f/x", 0755, false, 0, 0, &a), -ENOTDIR);
	ck_assert_int_eq(nn_ns_mkdir(ns, "/f/x/y", 0755, true, 0, 0, &a), -ENOTDIR);
	/* a file where the directory should be */
	ck_assert_int_eq(nn_ns_mkdir(ns, "/f", 0755, true, 0, 0, &a), -EEXIST);
	ck_assert_int_eq(nn_ns_mkdir(ns, "/f", 0755, false, 0, 0, &a), -EEXIST);
	ck_assert_uint_eq(stat_ok("/f").type, PROTO_T_FILE);
	ck_assert_int_eq(stat_rc("/f/x"), -ENOTDIR);
	ck_assert_uint_eq(nn_ns_files(ns), 2);
}
END_TEST

/* ---- create ---- */

START_TEST(test_create)
{
	struct nn_attr a;
	ck_assert_int_eq(nn_ns_create(ns, "/f", 0640, false, 0, 0, 11, 12, &a, NULL), 0);
	ck_assert_uint_eq(a.type, PROTO_T_FILE);
	ck_assert(a.flags & PROTO_A_UNDER_CONSTRUCTION);
	ck_assert_uint_eq(a.replication, 3);
	ck_assert_uint_eq(a.block_size, 1 * MB);
	ck_assert_uint_eq(a.mode, 0640);
	ck_assert_uint_eq(a.uid, 11);
	ck_assert_uint_eq(a.gid, 12);
	ck_assert_uint_eq(a.nlink, 1);
	ck_assert_uint_eq(a.size, 0);
	ck_assert_uint_eq(a.nblocks, 0);
	struct nn_attr s = stat_ok("/f");
	ck_assert_uint_eq(s.ino, a.ino);
	ck_assert(s.flags & PROTO_A_UNDER_CONSTRUCTION);
	ck_assert_uint_eq(stat_ok("/").nlink, 2); /* files do not count in nlink */
	ck_assert_uint_eq(nn_ns_files(ns), 2);

	/* explicit replication and block size win over the defaults */
	struct nn_attr e;
	ck_assert_int_eq(nn_ns_create(ns, "/g", 0644, false, 2, 4 * MB, 0, 0, &e, NULL), 0);
	ck_assert_uint_eq(e.replication, 2);
	ck_assert_uint_eq(e.block_size, 4 * MB);
	ck_assert_int_eq(nn_ns_create(ns, "/h", 0644, false, PROTO_REPL_MAX + 1, 0, 0, 0, &e,
				      NULL),
			 -EINVAL);
	ck_assert_int_eq(stat_rc("/h"), -ENOENT);

	/* a file closed without any block is empty */
	ck_assert_int_eq(nn_ns_complete(ns, a.ino, 0, 0, &e), 0);
	ck_assert_uint_eq(e.size, 0);
	ck_assert_uint_eq(e.nblocks, 0);
	ck_assert(!(stat_ok("/f").flags & PROTO_A_UNDER_CONSTRUCTION));
}
END_TEST

START_TEST(test_create_errors)
{
	uint64_t ids[2];
	struct nn_attr old = write_file("/f", 2, 10, ids);
	ck_assert_int_eq(create_rc("/f", false, NULL), -EEXIST);
	ck_assert_uint_eq(stat_ok("/f").ino, old.ino);

	mkdir_ok("/d");
	ck_assert_int_eq(create_rc("/d", false, NULL), -EISDIR);
	ck_assert_int_eq(create_rc("/d", true, NULL), -EISDIR);
	ck_assert_uint_eq(stat_ok("/d").type, PROTO_T_DIR);
	ck_assert_int_eq(create_rc("/", true, NULL), -EISDIR);

	ck_assert_int_eq(create_rc("/missing/f", false, NULL), -ENOENT);
	ck_assert_int_eq(create_rc("/f/x", false, NULL), -ENOTDIR);
	ck_assert_uint_eq(nn_ns_files(ns), 3);
}
END_TEST

START_TEST(test_create_overwrite)
{
	uint64_t ids[2];
	struct nn_attr old = write_file("/f", 2, 10, ids);
	ck_assert_uint_eq(nn_ns_block_count(ns), 2);
	uint64_t files = nn_ns_files(ns);

	struct nn_blocks freed = {0};
	struct nn_attr a;
	ck_assert_int_eq(nn_ns_create(ns, "/f", 0600, true, 0, 0, 0, 0, &a, &freed), 0);
	ck_assert_uint_ne(a.ino, old.ino);
	ck_assert(a.flags & PROTO_A_UNDER_CONSTRUCTION);
	ck_assert_uint_eq(a.size, 0);
	ck_assert_uint_eq(freed.n, 2);
	ck_assert(blocks_have(&freed, ids[0]));
	ck_assert(blocks_have(&freed, ids[1]));
	ck_assert_uint_eq(nn_ns_block_count(ns), 0);
	ck_assert_uint_eq(nn_ns_files(ns), files);
	ck_assert_int_eq(nn_ns_stat_ino(ns, old.ino, &a), -ENOENT);
	struct nn_blocks bl = {0};
	ck_assert_int_eq(nn_ns_blocks(ns, old.ino, 0, 0, &bl), 0);
	ck_assert_uint_eq(bl.n, 0);
	nn_blocks_free(&bl);
	nn_blocks_free(&freed);
}
END_TEST

START_TEST(test_create_inherits_replication)
{
	mkdir_ok("/d");
	struct nn_attr d;
	ck_assert_int_eq(nn_ns_setrep(ns, stat_ok("/d").ino, 5, &d), 0);
	ck_assert_uint_eq(d.replication, 5);
	ck_assert_uint_eq(stat_ok("/d").replication, 5);

	ck_assert_uint_eq(create_ok("/d/f").replication, 5);
	ck_assert_uint_eq(create_ok("/g").replication, 3);
	/* subdirectories made afterwards inherit it too */
	mkdir_ok("/d/sub");
	ck_assert_uint_eq(create_ok("/d/sub/f").replication, 5);
	/* an explicit value still wins */
	struct nn_attr a;
	ck_assert_int_eq(nn_ns_create(ns, "/d/two", 0644, false, 2, 0, 0, 0, &a, NULL), 0);
	ck_assert_uint_eq(a.replication, 2);

	/* setrep on a file changes that file only */
	ck_assert_int_eq(nn_ns_setrep(ns, stat_ok("/g").ino, 7, &a), 0);
	ck_assert_uint_eq(stat_ok("/g").replication, 7);
	ck_assert_uint_eq(stat_ok("/d/f").replication, 5);
	ck_assert_int_eq(nn_ns_setrep(ns, stat_ok("/g").ino, 0, &a), -EINVAL);
	ck_assert_int_eq(nn_ns_setrep(ns, stat_ok("/g").ino, PROTO_REPL_MAX + 1, &a), -EINVAL);
	ck_assert_int_eq(nn_ns_setrep(ns, 999999, 2, &a), -ENOENT);
	ck_assert_uint_eq(stat_ok("/g").replication, 7);
}
END_TEST

/* ---- the write path ---- */

START_TEST(test_add_block_complete)
{
	struct nn_attr f = create_ok("/f");
	struct nn_blockrec a, b;
	struct nn_attr out;
	ck_assert_int_eq(nn_ns_add_block(ns, f.ino, 0, 0, &a, &out), 0);
	ck_assert_uint_eq(a.offset, 0);
	ck_assert_uint_eq(a.index, 0);
	ck_assert_uint_eq(a.ino, f.ino);
	ck_assert_uint_ne(a.id, 0);
	ck_assert_uint_eq(out.nblocks, 1);
	ck_assert_uint_eq(nn_ns_block_count(ns), 1);

	/* prev must name the last block, and fit in the block size */
	struct nn_blockrec x;
	ck_assert_int_eq(nn_ns_add_block(ns, f.ino, 0, 0, &x, NULL), -EINVAL);
	ck_assert_int_eq(nn_ns_add_block(ns, f.ino, a.id + 1, 1 * MB, &x, NULL), -EINVAL);
	ck_assert_int_eq(nn_ns_add_block(ns, f.ino, a.id, 1 * MB + 1, &x, NULL), -EINVAL);
	ck_assert_uint_eq(nn_ns_block_count(ns), 1);

	ck_assert_int_eq(nn_ns_add_block(ns, f.ino, a.id, 1 * MB, &b, &out), 0);
	ck_assert_uint_eq(b.offset, 1 * MB);
	ck_assert_uint_eq(b.index, 1);
	ck_assert_uint_ne(b.id, a.id);
	ck_assert_uint_ne(b.gs, a.gs);
	ck_assert_uint_eq(out.size, 1 * MB);
	ck_assert_uint_eq(out.nblocks, 2);

	ck_assert_int_eq(nn_ns_complete(ns, f.ino, a.id, 500, &out), -EINVAL); /* not last */
	ck_assert(stat_ok("/f").flags & PROTO_A_UNDER_CONSTRUCTION);
	ck_assert_int_eq(nn_ns_complete(ns, f.ino, b.id, 500, &out), 0);
	ck_assert_uint_eq(out.size, 1 * MB + 500);
	ck_assert(!(out.flags & PROTO_A_UNDER_CONSTRUCTION));
	struct nn_attr s = stat_ok("/f");
	ck_assert_uint_eq(s.size, 1 * MB + 500);
	ck_assert(!(s.flags & PROTO_A_UNDER_CONSTRUCTION));
	ck_assert_uint_eq(s.nblocks, 2);

	struct nn_blocks bl = {0};
	ck_assert_int_eq(nn_ns_blocks(ns, f.ino, 0, 0, &bl), 0);
	ck_assert_uint_eq(bl.n, 2);
	ck_assert_uint_eq(bl.v[0].id, a.id);
	ck_assert_uint_eq(bl.v[0].gs, a.gs);
	ck_assert_uint_eq(bl.v[0].offset, 0);
	ck_assert_uint_eq(bl.v[0].len, 1 * MB);
	ck_assert_uint_eq(bl.v[1].id, b.id);
	ck_assert_uint_eq(bl.v[1].offset, 1 * MB);
	ck_assert_uint_eq(bl.v[1].len, 500);
	nn_blocks_free(&bl);

	/* a closed file takes no more blocks; completing again is a harmless retry */
	ck_assert_int_eq(nn_ns_add_block(ns, f.ino, b.id, 500, &x, NULL), -EINVAL);
	ck_assert_uint_eq(nn_ns_block_count(ns), 2);
	ck_assert_int_eq(nn_ns_complete(ns, f.ino, b.id, 500, &out), 0);
	ck_assert_uint_eq(out.size, 1 * MB + 500);

	/* not a file */
	ck_assert_int_eq(nn_ns_add_block(ns, NN_ROOT_INO, 0, 0, &x, NULL), -EISDIR);
	ck_assert_int_eq(nn_ns_add_block(ns, 999999, 0, 0, &x, NULL), -ENOENT);
}
END_TEST

START_TEST(test_abandon_block)
{
	struct nn_attr f = create_ok("/f");
	struct nn_blockrec a, b;
	ck_assert_int_eq(nn_ns_add_block(ns, f.ino, 0, 0, &a, NULL), 0);
	ck_assert_int_eq(nn_ns_add_block(ns, f.ino, a.id, 1 * MB, &b, NULL), 0);
	struct nn_blocks freed = {0};
	ck_assert_int_eq(nn_ns_abandon_block(ns, f.ino, a.id, &freed), -EINVAL); /* not last */
	ck_assert_int_eq(nn_ns_abandon_block(ns, f.ino, b.id, &freed), 0);
	ck_assert_uint_eq(freed.n, 1);
	ck_assert_uint_eq(freed.v[0].id, b.id);
	ck_assert_uint_eq(nn_ns_block_count(ns), 1);
	struct nn_attr s = stat_ok("/f");
	ck_assert_uint_eq(s.nblocks, 1);
	ck_assert_uint_eq(s.size, 1 * MB);
	/* the writer retries with a new block after a */
	struct nn_blockrec c;
	ck_assert_int_eq(nn_ns_add_block(ns, f.ino, a.id, 1 * MB, &c, NULL), 0);
	ck_assert_uint_eq(c.offset, 1 * MB);
	ck_assert_uint_eq(c.index, 1);
	ck_assert_uint_ne(c.id, b.id);
	nn_blocks_free(&freed);
}
END_TEST

/* ---- rename ---- */

START_TEST(test_rename_file)
{
	struct nn_attr f = create_ok("/a");
	ck_assert_int_eq(nn_ns_rename(ns, "/a", "/b", 0, NULL), 0);
	ck_assert_int_eq(stat_rc("/a"), -ENOENT);
	ck_assert_uint_eq(stat_ok("/b").ino, f.ino);
	ck_assert_uint_eq(nn_ns_files(ns), 2);
	ck_assert_int_eq(nn_ns_rename(ns, "/a", "/c", 0, NULL), -ENOENT);
	ck_assert_int_eq(nn_ns_rename(ns, "/b", "/nodir/c", 0, NULL), -ENOENT);
	ck_assert_uint_eq(stat_ok("/b").ino, f.ino);
	/* onto itself: nothing happens */
	ck_assert_int_eq(nn_ns_rename(ns, "/b", "/b", 0, NULL), 0);
	ck_assert_uint_eq(stat_ok("/b").ino, f.ino);
	/* root cannot move, nothing can replace it */
	ck_assert_int_lt(nn_ns_rename(ns, "/", "/x", 0, NULL), 0);
	ck_assert_int_lt(nn_ns_rename(ns, "/b", "/", 0, NULL), 0);
	ck_assert_uint_eq(stat_ok("/b").ino, f.ino);
}
END_TEST

START_TEST(test_rename_over_file)
{
	uint64_t ids[2];
	struct nn_attr victim = write_file("/x", 2, 7, ids);
	struct nn_attr y = write_file("/y", 1, 9, NULL);
	ck_assert_uint_eq(nn_ns_block_count(ns), 3);
	uint64_t files = nn_ns_files(ns);
	struct nn_blocks freed = {0};
	ck_assert_int_eq(nn_ns_rename(ns, "/y", "/x", 0, &freed), 0);
	ck_assert_uint_eq(freed.n, 2);
	ck_assert(blocks_have(&freed, ids[0]));
	ck_assert(blocks_have(&freed, ids[1]));
	struct nn_attr s = stat_ok("/x");
	ck_assert_uint_eq(s.ino, y.ino);
	ck_assert_uint_eq(s.size, 9);
	ck_assert_int_eq(stat_rc("/y"), -ENOENT);
	ck_assert_uint_eq(nn_ns_files(ns), files - 1);
	ck_assert_uint_eq(nn_ns_block_count(ns), 1);
	struct nn_attr gone;
	ck_assert_int_eq(nn_ns_stat_ino(ns, victim.ino, &gone), -ENOENT);
	nn_blocks_free(&freed);
}
END_TEST

START_TEST(test_rename_dir_new_parent)
{
	ck_assert_int_eq(nn_ns_mkdir(ns, "/p1/d", 0755, true, 0, 0, NULL), 0);
	mkdir_ok("/p2");
	struct nn_attr f = create_ok("/p1/d/f");
	struct nn_attr d = stat_ok("/p1/d");
	ck_assert_uint_eq(stat_ok("/p1").nlink, 3);
	ck_assert_uint_eq(stat_ok("/p2").nlink, 2);
	ck_assert_uint_eq(stat_ok("/").nlink, 4);

	ck_assert_int_eq(nn_ns_rename(ns, "/p1/d", "/p2/d2", 0, NULL), 0);
	ck_assert_uint_eq(stat_ok("/p1").nlink, 2);
	ck_assert_uint_eq(stat_ok("/p2").nlink, 3);
	ck_assert_uint_eq(stat_ok("/").nlink, 4);
	ck_assert_uint_eq(stat_ok("/p2/d2").ino, d.ino);
	ck_assert_uint_eq(stat_ok("/p2/d2").nlink, 2);
	ck_assert_uint_eq(stat_ok("/p2/d2/f").ino, f.ino);
	ck_assert_int_eq(stat_rc("/p1/d"), -ENOENT);
	ck_assert_int_eq(stat_rc("/p1/d/f"), -ENOENT);

	/* and up to the root */
	ck_assert_int_eq(nn_ns_rename(ns, "/p2/d2", "/top", 0, NULL), 0);
	ck_assert_uint_eq(stat_ok("/p2").nlink, 2);
	ck_assert_uint_eq(stat_ok("/").nlink, 5);
	ck_assert_uint_eq(stat_ok("/top/f").ino, f.ino);
}
END_TEST

START_TEST(test_rename_into_subtree)
{
	ck_assert_int_eq(nn_ns_mkdir(ns, "/a/b/c", 0755, true, 0, 0, NULL), 0);
	ck_assert_int_eq(nn_ns_rename(ns, "/a", "/a/b/c/a", 0, NULL), -EINVAL);
	ck_assert_int_eq(nn_ns_rename(ns, "/a", "/a/x", 0, NULL), -EINVAL);
	ck_assert_int_eq(nn_ns_rename(ns, "/a/b", "/a/b/c/d", 0, NULL), -EINVAL);
	ck_assert_uint_eq(stat_ok("/a/b/c").type, PROTO_T_DIR);
	/* a sibling whose name merely starts the same is fine */
	mkdir_ok("/ab");
	ck_assert_int_eq(nn_ns_rename(ns, "/a", "/ab/a", 0, NULL), 0);
	ck_assert_uint_eq(stat_ok("/ab/a/b/c").type, PROTO_T_DIR);
}
END_TEST

START_TEST(test_rename_type_conflicts)
{
	create_ok("/f");
	mkdir_ok("/d");
	mkdir_ok("/full");
	create_ok("/full/x");
	mkdir_ok("/empty");

	ck_assert_int_eq(nn_ns_rename(ns, "/f", "/d", 0, NULL), -EISDIR);
	ck_assert_int_eq(nn_ns_rename(ns, "/d", "/f", 0, NULL), -ENOTDIR);
	ck_assert_int_eq(nn_ns_rename(ns, "/d", "/full", 0, NULL), -ENOTEMPTY);
	ck_assert_uint_eq(stat_ok("/f").type, PROTO_T_FILE);
	ck_assert_uint_eq(stat_ok("/d").type, PROTO_T_DIR);
	ck_assert_uint_eq(stat_ok("/full/x").type, PROTO_T_FILE);

	/* a directory over an empty directory replaces it */
	struct nn_attr d = stat_ok("/d");
	uint64_t files = nn_ns_files(ns);
	ck_assert_uint_eq(stat_ok("/").nlink, 5);
	ck_assert_int_eq(nn_ns_rename(ns, "/d", "/empty", 0, NULL), 0);
	ck_assert_uint_eq(stat_ok("/empty").ino, d.ino);
	ck_assert_int_eq(stat_rc("/d"), -ENOENT);
	ck_assert_uint_eq(stat_ok("/").nlink, 4);
	ck_assert_uint_eq(nn_ns_files(ns), files - 1);

	/* the same across parents: the source parent loses a link, the target keeps its */
	ck_assert_int_eq(nn_ns_mkdir(ns, "/p/victim", 0755, true, 0, 0, NULL), 0);
	ck_assert_uint_eq(stat_ok("/p").nlink, 3);
	ck_assert_uint_eq(stat_ok("/").nlink, 5);
	ck_assert_int_eq(nn_ns_rename(ns, "/empty", "/p/victim", 0, NULL), 0);
	ck_assert_uint_eq(stat_ok("/p/victim").ino, d.ino);
	ck_assert_uint_eq(stat_ok("/p").nlink, 3);
	ck_assert_uint_eq(stat_ok("/").nlink, 4);
}
END_TEST

START_TEST(test_rename_noreplace)
{
	struct nn_attr a = create_ok("/a");
	struct nn_attr b = create_ok("/b");
	ck_assert_int_eq(nn_ns_rename(ns, "/a", "/b", PROTO_RENAME_NOREPLACE, NULL), -EEXIST);
	ck_assert_uint_eq(stat_ok("/a").ino, a.ino);
	ck_assert_uint_eq(stat_ok("/b").ino, b.ino);
	ck_assert_int_eq(nn_ns_rename(ns, "/a", "/c", PROTO_RENAME_NOREPLACE, NULL), 0);
	ck_assert_uint_eq(stat_ok("/c").ino, a.ino);
	ck_assert_int_eq(nn_ns_rename(ns, "/c", "/b",
				      PROTO_RENAME_NOREPLACE | PROTO_RENAME_EXCHANGE, NULL),
			 -EINVAL);
}
END_TEST

START_TEST(test_rename_exchange)
{
	struct nn_attr a = write_file("/a", 1, 10, NULL);
	struct nn_attr b = write_file("/b", 1, 20, NULL);
	uint64_t files = nn_ns_files(ns);
	struct nn_blocks freed = {0};
	ck_assert_int_eq(nn_ns_rename(ns, "/a", "/b", PROTO_RENAME_EXCHANGE, &freed), 0);
	ck_assert_uint_eq(freed.n, 0);
	ck_assert_uint_eq(stat_ok("/a").ino, b.ino);
	ck_assert_uint_eq(stat_ok("/a").size, 20);
	ck_assert_uint_eq(stat_ok("/b").ino, a.ino);
	ck_assert_uint_eq(stat_ok("/b").size, 10);
	ck_assert_uint_eq(nn_ns_files(ns), files);
	ck_assert_uint_eq(nn_ns_block_count(ns), 2);
	ck_assert_int_eq(nn_ns_rename(ns, "/a", "/zz", PROTO_RENAME_EXCHANGE, NULL), -ENOENT);
	ck_assert_uint_eq(stat_ok("/a").ino, b.ino);
	nn_blocks_free(&freed);
}
END_TEST

START_TEST(test_rename_exchange_dir_and_file)
{
	/* exchanging a directory and a file across parents moves one link count */
	ck_assert_int_eq(nn_ns_mkdir(ns, "/q1/s", 0755, true, 0, 0, NULL), 0);
	mkdir_ok("/q2");
	struct nn_attr f = create_ok("/q2/f");
	struct nn_attr s = stat_ok("/q1/s");
	ck_assert_uint_eq(stat_ok("/q1").nlink, 3);
	ck_assert_uint_eq(stat_ok("/q2").nlink, 2);
	ck_assert_int_eq(nn_ns_rename(ns, "/q1/s", "/q2/f", PROTO_RENAME_EXCHANGE, NULL), 0);
	ck_assert_uint_eq(stat_ok("/q1/s").ino, f.ino);
	ck_assert_uint_eq(stat_ok("/q1/s").type, PROTO_T_FILE);
	ck_assert_uint_eq(stat_ok("/q2/f").ino, s.ino);
	ck_assert_uint_eq(stat_ok("/q2/f").type, PROTO_T_DIR);
	ck_assert_uint_eq(stat_ok("/q1").nlink, 2);
	ck_assert_uint_eq(stat_ok("/q2").nlink, 3);
	/* a directory cannot be exchanged with something inside it */
	create_ok("/q2/f/inner");
	ck_assert_int_eq(nn_ns_rename(ns, "/q2/f", "/q2/f/inner", PROTO_RENAME_EXCHANGE, NULL),
			 -EINVAL);
	ck_assert_int_eq(nn_ns_rename(ns, "/q2/f/inner", "/q2/f", PROTO_RENAME_EXCHANGE, NULL),
			 -EINVAL);
}
END_TEST

/* ---- delete ---- */

START_TEST(test_delete_file)
{
	uint64_t ids[2];
	write_file("/f", 2, 1, ids);
	uint64_t files = nn_ns_files(ns);
	struct nn_blocks freed = {0};
	ck_assert_int_eq(nn_ns_delete(ns, "/f", false, &freed), 0);
	ck_assert_uint_eq(freed.n, 2);
	ck_assert(blocks_have(&freed, ids[0]));
	ck_assert(blocks_have(&freed, ids[1]));
	ck_assert_int_eq(stat_rc("/f"), -ENOENT);
	ck_assert_uint_eq(nn_ns_files(ns), files - 1);
	ck_assert_uint_eq(nn_ns_block_count(ns), 0);
	ck_assert_int_eq(nn_ns_delete(ns, "/f", false, NULL), -ENOENT);
	ck_assert_int_eq(nn_ns_delete(ns, "/nodir/f", true, NULL), -ENOENT);
	nn_blocks_free(&freed);
}
END_TEST

START_TEST(test_delete_dir)
{
	mkdir_ok("/e");
	ck_assert_uint_eq(stat_ok("/").nlink, 3);
	ck_assert_int_eq(nn_ns_delete(ns, "/e", false, NULL), 0); /* empty: fine */
	ck_assert_int_eq(stat_rc("/e"), -ENOENT);
	ck_assert_uint_eq(stat_ok("/").nlink, 2);
	ck_assert_uint_eq(nn_ns_files(ns), 1);

	mkdir_ok("/n");
	create_ok("/n/f");
	ck_assert_int_eq(nn_ns_delete(ns, "/n", false, NULL), -ENOTEMPTY);
	ck_assert_uint_eq(stat_ok("/n/f").type, PROTO_T_FILE);
}
END_TEST

START_TEST(test_delete_recursive)
{
	uint64_t ids[4];
	ck_assert_int_eq(nn_ns_mkdir(ns, "/t/sub/sub2", 0755, true, 0, 0, NULL), 0);
	mkdir_ok("/keep");
	struct nn_attr kept = write_file("/keep/k", 1, 3, NULL);
	write_file("/t/f1", 2, 5, ids);
	write_file("/t/sub/f2", 1, 6, ids + 2);
	write_file("/t/sub/sub2/f3", 1, 7, ids + 3);
	create_ok("/t/sub/empty"); /* a file without blocks */
	uint64_t files = nn_ns_files(ns);
	ck_assert_uint_eq(nn_ns_block_count(ns), 5);
	ck_assert_uint_eq(stat_ok("/").nlink, 4);

	struct nn_blocks freed = {0};
	ck_assert_int_eq(nn_ns_delete(ns, "/t", true, &freed), 0);
	ck_assert_uint_eq(freed.n, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(blocks_have(&freed, ids[i]), "block %d not freed", i);
	/* /t, f1, sub, f2, sub2, f3, empty */
	ck_assert_uint_eq(nn_ns_files(ns), files - 7);
	ck_assert_uint_eq(nn_ns_block_count(ns), 1);
	ck_assert_int_eq(stat_rc("/t"), -ENOENT);
	ck_assert_uint_eq(stat_ok("/").nlink, 3);
	ck_assert_uint_eq(stat_ok("/keep/k").ino, kept.ino);

	/* nothing of the tree is left behind: the name can be used again */
	mkdir_ok("/t");
	struct listing l;
	bool more;
	list_ok("/t", "", 100, &l, &more);
	ck_assert_int_eq(l.n, 0);
	nn_blocks_free(&freed);
}
END_TEST

START_TEST(test_delete_root)
{
	create_ok("/f");
	ck_assert_int_lt(nn_ns_delete(ns, "/", true, NULL), 0);
	ck_assert_int_lt(nn_ns_delete(ns, "/", false, NULL), 0);
	ck_assert_uint_eq(stat_ok("/").type, PROTO_T_DIR);
	ck_assert_uint_eq(stat_ok("/f").type, PROTO_T_FILE);
	ck_assert_uint_eq(nn_ns_files(ns), 2);
}
END_TEST

/* ---- POSIX calls and block updates ---- */

START_TEST(test_update_blocks)
{
	uint64_t ids[3];
	struct nn_attr a = write_file("/u", 3, 100, ids); /* 1M, 1M, 100 */
	ck_assert_uint_eq(a.size, 2 * MB + 100);
	uint64_t nid, ngs;
	ck_assert_int_eq(nn_ns_alloc_block(ns, &nid, &ngs), 0);
	/* rewrite slot 1, grow the last block to full and add a hole slot after it */
	struct nn_ns_change ch[3] = {
		{.index = 1, .old_id = ids[1], .new_id = nid, .gs = ngs, .len = 1 * MB},
		{.index = 2, .old_id = ids[2], .new_id = 0, .len = 1 * MB},
		{.index = 3, .old_id = 0, .new_id = 0, .len = 5},
	};
	struct nn_blocks freed = {0};
	ck_assert_int_eq(nn_ns_update(ns, a.ino, 3 * MB + 5, 4, ch, 3, &freed, &a), 0);
	ck_assert_uint_eq(a.size, 3 * MB + 5);
	ck_assert_uint_eq(freed.n, 2);
	ck_assert(blocks_have(&freed, ids[1]) && blocks_have(&freed, ids[2]));
	nn_blocks_free(&freed);
	struct nn_blocks bl = {0};
	ck_assert_int_eq(nn_ns_blocks(ns, a.ino, 0, 0, &bl), 0);
	ck_assert_uint_eq(bl.n, 4);
	ck_assert_uint_eq(bl.v[1].id, nid);
	ck_assert_uint_eq(bl.v[2].id, 0);
	ck_assert_uint_eq(bl.v[3].offset, 3 * MB);
	nn_blocks_free(&bl);
	/* a writer that saw the old block of slot 1 loses */
	ch[0].new_id = 0;
	ck_assert_int_eq(nn_ns_update(ns, a.ino, 3 * MB + 5, 4, ch, 1, NULL, NULL), -ESTALE);
	/* sizes must add up and only the last block may be short */
	struct nn_ns_change shrink = {.index = 0, .old_id = ids[0], .new_id = 0, .len = 10};
	ck_assert_int_eq(nn_ns_update(ns, a.ino, 10, 1, &shrink, 1, NULL, NULL), 0);
	ck_assert_int_eq(nn_ns_update(ns, a.ino, 11, 1, NULL, 0, NULL, NULL), -EINVAL);
	struct nn_ns_change gap = {.index = 2, .old_id = 0, .new_id = 0, .len = 1};
	ck_assert_int_eq(nn_ns_update(ns, a.ino, 10 + 1, 3, &gap, 1, NULL, NULL), -EINVAL);
	reopen();
	a = stat_ok("/u");
	ck_assert_uint_eq(a.size, 10);
	ck_assert_uint_eq(a.nblocks, 1);
}
END_TEST

START_TEST(test_posix_nodes)
{
	mkdir_ok("/d");
	struct nn_attr a;
	ck_assert_int_eq(nn_ns_symlink(ns, "/d/s", "../target", 5, 6, &a), 0);
	ck_assert_uint_eq(a.type, PROTO_T_SYMLINK);
	ck_assert_str_eq(stat_ok("/d/s").target, "../target");
	ck_assert_int_eq(nn_ns_symlink(ns, "/d/s", "x", 0, 0, NULL), -EEXIST);
	ck_assert_int_eq(nn_ns_mknod(ns, "/d/p", PROTO_T_FIFO, 0600, 0, 0, 0, &a), 0);
	ck_assert_int_eq(nn_ns_mknod(ns, "/d/q", PROTO_T_DIR, 0600, 0, 0, 0, &a), -EINVAL);
	create_ok("/d/f");
	ck_assert_int_eq(nn_ns_link(ns, "/d/f", "/d/g", &a), 0);
	ck_assert_uint_eq(a.nlink, 2);
	ck_assert_uint_eq(stat_ok("/d/g").ino, stat_ok("/d/f").ino);
	ck_assert_int_eq(nn_ns_link(ns, "/d", "/e", NULL), -EPERM);
	struct nn_blocks freed = {0};
	ck_assert_int_eq(nn_ns_delete(ns, "/d/f", false, &freed), 0);
	ck_assert_uint_eq(stat_ok("/d/g").nlink, 1);
	nn_blocks_free(&freed);
	ck_assert_int_eq(nn_ns_setattr(ns, "/d/g", PROTO_SET_MODE | PROTO_SET_UID |
				       PROTO_SET_MTIME, 0741, 77, 0, 0, 123456789, &a), 0);
	a = stat_ok("/d/g");
	ck_assert_uint_eq(a.mode, 0741);
	ck_assert_uint_eq(a.uid, 77);
	ck_assert_int_eq(a.mtime, 123456789);
}
END_TEST

int main(void)
{
	return nstest_main("ns_mutate", UNIT_TESTS(
		test_mkdir, test_mkdir_parents, test_mkdir_notdir, test_create, test_create_errors,
		test_create_overwrite, test_create_inherits_replication, test_add_block_complete,
		test_abandon_block, test_rename_file, test_rename_over_file,
		test_rename_dir_new_parent, test_rename_into_subtree, test_rename_type_conflicts,
		test_rename_noreplace, test_rename_exchange, test_rename_exchange_dir_and_file,
		test_delete_file, test_delete_dir, test_delete_recursive, test_delete_root,
		test_update_blocks, test_posix_nodes));
}
