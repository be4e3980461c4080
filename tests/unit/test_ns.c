/*
 * Unit tests for the namenode namespace (namenode/ns.h) on a real LevelDB in a fresh
 * temporary directory per test. Single-threaded like the namenode's loop; every test
 * runs in its own forked process (CK_FORK default).
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../namenode/ns.h"
#include "pack.h"
#include "buf.h"
#include "log.h"
#include "proto.h"

#include "testdir.h"

#define MB (1024ULL * 1024ULL)

static const struct nn_ns_defaults defaults = {3, 1 * MB};

/* ---- fixtures: one temp tree per test case, one namespace per test ---- */

static char dir[4200];
static struct nn_ns *ns;

static void tmp_setup(void) { testdir_make("ns"); }

static void ns_setup(void)
{
	snprintf(dir, sizeof dir, "%s/ns-XXXXXX", tmp_base);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(nn_ns_format(dir), 0);
	ck_assert_int_eq(nn_ns_open(dir, &defaults, &ns), 0);
}

static void ns_teardown(void)
{
	nn_ns_close(ns);
	ns = NULL;
}

static void reopen(void)
{
	nn_ns_close(ns);
	ns = NULL;
	ck_assert_int_eq(nn_ns_open(dir, &defaults, &ns), 0);
}

/* ---- helpers ---- */

static struct nn_attr stat_ok(const char *path)
{
	struct nn_attr a;
	int rc = nn_ns_stat(ns, path, &a);
	ck_assert_msg(rc == 0, "stat '%s': %d", path, rc);
	return a;
}

static int stat_rc(const char *path)
{
	struct nn_attr a;
	return nn_ns_stat(ns, path, &a);
}

static struct nn_attr mkdir_ok(const char *path)
{
	struct nn_attr a;
	int rc = nn_ns_mkdir(ns, path, 0755, false, 0, 0, &a);
	ck_assert_msg(rc == 0, "mkdir '%s': %d", path, rc);
	return a;
}

static struct nn_attr create_ok(const char *path)
{
	struct nn_attr a;
	int rc = nn_ns_create(ns, path, 0644, false, 0, 0, 1000, 1000, &a, NULL);
	ck_assert_msg(rc == 0, "create '%s': %d", path, rc);
	return a;
}

static int create_rc(const char *path, bool overwrite, struct nn_blocks *freed)
{
	struct nn_attr a;
	return nn_ns_create(ns, path, 0644, overwrite, 0, 0, 0, 0, &a, freed);
}

/* Creates a closed file of nblocks full 1M blocks and a last block of `tail` bytes;
 * ids receives the block ids. Returns its attributes. */
static struct nn_attr write_file(const char *path, int nblocks, uint64_t tail, uint64_t *ids)
{
	struct nn_attr a = create_ok(path);
	uint64_t prev = 0, prev_len = 0;
	for (int i = 0; i < nblocks; i++) {
		struct nn_blockrec b;
		ck_assert_int_eq(nn_ns_add_block(ns, a.ino, prev, prev_len, &b, NULL), 0);
		if (ids)
			ids[i] = b.id;
		prev = b.id;
		prev_len = i == nblocks - 1 ? tail : 1 * MB;
	}
	ck_assert_int_eq(nn_ns_complete(ns, a.ino, prev, prev_len, &a), 0);
	return a;
}

static bool blocks_have(const struct nn_blocks *b, uint64_t id)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].id == id)
			return true;
	return false;
}


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

START_TEST(test_alloc_ids_survive_restart)
{
	uint64_t id1, gs1, id2, gs2;
	ck_assert_int_eq(nn_ns_alloc_block(ns, &id1, &gs1), 0);
	ck_assert_int_eq(nn_ns_sync(ns), 0);
	ck_assert_int_eq(nn_ns_alloc_block(ns, &id2, &gs2), 0); /* inside the reserved range */
	reopen();
	uint64_t id3, gs3;
	ck_assert_int_eq(nn_ns_alloc_block(ns, &id3, &gs3), 0);
	ck_assert_uint_gt(id3, id2); /* never handed out twice, even unsynced */
	ck_assert_uint_gt(gs3, gs2);
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

START_TEST(test_xattrs)
{
	create_ok("/x");
	struct buf v = BUF_INIT;
	ck_assert_int_eq(nn_ns_xattr_get(ns, "/x", "user.a", &v), -ENODATA);
	ck_assert_int_eq(nn_ns_xattr_set(ns, "/x", "user.a", "1", 1, 0), 0);
	ck_assert_int_eq(nn_ns_xattr_set(ns, "/x", "user.a", "2", 1, PROTO_XATTR_CREATE), -EEXIST);
	ck_assert_int_eq(nn_ns_xattr_set(ns, "/x", "user.b", "2", 1, PROTO_XATTR_REPLACE),
			 -ENODATA);
	ck_assert_int_eq(nn_ns_xattr_set(ns, "/x", "user.b", "22", 2, 0), 0);
	ck_assert(stat_ok("/x").flags & PROTO_A_XATTRS);
	ck_assert_int_eq(nn_ns_xattr_get(ns, "/x", "user.b", &v), 0);
	ck_assert_uint_eq(v.len, 2);
	ck_assert_int_eq(nn_ns_xattr_list(ns, "/x", &v), 0);
	ck_assert_uint_eq(v.len, strlen("user.a") + 1 + strlen("user.b") + 1);
	ck_assert_int_eq(nn_ns_xattr_remove(ns, "/x", "user.a"), 0);
	ck_assert(stat_ok("/x").flags & PROTO_A_XATTRS);
	ck_assert_int_eq(nn_ns_xattr_remove(ns, "/x", "user.b"), 0);
	ck_assert(!(stat_ok("/x").flags & PROTO_A_XATTRS));
	ck_assert_int_eq(nn_ns_xattr_remove(ns, "/x", "user.b"), -ENODATA);
	ck_assert_int_eq(nn_ns_xattr_set(ns, "/x", "", "1", 1, 0), -EINVAL);
	buf_free(&v);
}
END_TEST

/* ---- format / open ---- */

START_TEST(test_format_open)
{
	struct nn_attr r = stat_ok("/");
	ck_assert_uint_eq(r.ino, NN_ROOT_INO);
	ck_assert_uint_eq(r.type, PROTO_T_DIR);
	ck_assert_uint_eq(r.nlink, 2);
	ck_assert_uint_eq(nn_ns_files(ns), 1); /* the root */
	ck_assert_uint_eq(nn_ns_block_count(ns), 0);
	ck_assert(!nn_ns_dirty(ns));

	/* formatting twice would destroy the namespace: refused */
	nn_ns_close(ns);
	ns = NULL;
	ck_assert_int_eq(nn_ns_format(dir), -EEXIST);
	ck_assert_int_eq(nn_ns_open(dir, &defaults, &ns), 0);
	ck_assert_uint_eq(stat_ok("/").ino, NN_ROOT_INO);
	/* an empty directory holds no namespace */
	char empty[4300];
	snprintf(empty, sizeof empty, "%s/empty-XXXXXX", tmp_base);
	ck_assert_ptr_nonnull(mkdtemp(empty));
	struct nn_ns *other = NULL;
	ck_assert_int_eq(nn_ns_open(empty, &defaults, &other), -ENOENT);
	ck_assert_ptr_null(other);
}
END_TEST

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
	ck_assert_int_eq(nn_ns_setrep(ns, "/d", 5, &d), 0);
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
	ck_assert_int_eq(nn_ns_setrep(ns, "/g", 7, &a), 0);
	ck_assert_uint_eq(stat_ok("/g").replication, 7);
	ck_assert_uint_eq(stat_ok("/d/f").replication, 5);
	ck_assert_int_eq(nn_ns_setrep(ns, "/g", 0, &a), -EINVAL);
	ck_assert_int_eq(nn_ns_setrep(ns, "/g", PROTO_REPL_MAX + 1, &a), -EINVAL);
	ck_assert_int_eq(nn_ns_setrep(ns, "/nope", 2, &a), -ENOENT);
	ck_assert_uint_eq(stat_ok("/g").replication, 7);
}
END_TEST

/* ---- blocks ---- */

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

START_TEST(test_blocks_range)
{
	uint64_t ids[3];
	struct nn_attr f = write_file("/f", 3, 100, ids); /* 1M, 1M, 100 */
	ck_assert_uint_eq(f.size, 2 * MB + 100);
	struct nn_blocks bl = {0};
	ck_assert_int_eq(nn_ns_blocks(ns, f.ino, 1 * MB + 10, 10, &bl), 0);
	ck_assert_uint_eq(bl.n, 1);
	ck_assert_uint_eq(bl.v[0].id, ids[1]);
	ck_assert_uint_eq(bl.v[0].offset, 1 * MB);
	nn_blocks_free(&bl);

	ck_assert_int_eq(nn_ns_blocks(ns, f.ino, 0, 10, &bl), 0);
	ck_assert_uint_eq(bl.n, 1);
	ck_assert_uint_eq(bl.v[0].id, ids[0]);
	nn_blocks_free(&bl);

	/* a range straddling two blocks */
	ck_assert_int_eq(nn_ns_blocks(ns, f.ino, 2 * MB - 1, 2, &bl), 0);
	ck_assert_uint_eq(bl.n, 2);
	ck_assert_uint_eq(bl.v[0].id, ids[1]);
	ck_assert_uint_eq(bl.v[1].id, ids[2]);
	ck_assert_uint_eq(bl.v[1].offset, 2 * MB);
	nn_blocks_free(&bl);

	/* from an offset to the end */
	ck_assert_int_eq(nn_ns_blocks(ns, f.ino, 1 * MB, 0, &bl), 0);
	ck_assert_uint_eq(bl.n, 2);
	ck_assert_uint_eq(bl.v[0].id, ids[1]);
	nn_blocks_free(&bl);
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

/* ---- list ---- */

struct listing {
	char names[16][PROTO_NAME_MAX + 1];
	uint8_t types[16];
	int n;
	int stop_after; /* return 42 from the callback after this many (0 = never) */
};

static int list_cb(void *arg, const char *name, const struct nn_attr *a)
{
	struct listing *l = arg;
	ck_assert_int_lt(l->n, 16);
	snprintf(l->names[l->n], sizeof l->names[l->n], "%s", name);
	l->types[l->n] = a->type;
	l->n++;
	return l->stop_after && l->n == l->stop_after ? 42 : 0;
}

static void list_ok(const char *path, const char *after, uint32_t max, struct listing *l,
		    bool *more)
{
	memset(l, 0, sizeof *l);
	int rc = nn_ns_list(ns, path, after, max, list_cb, l, more);
	ck_assert_msg(rc == 0, "list '%s': %d", path, rc);
}

START_TEST(test_list)
{
	mkdir_ok("/l");
	create_ok("/l/c");
	create_ok("/l/a");
	mkdir_ok("/l/b");
	create_ok("/l/e");
	create_ok("/l/d");
	create_ok("/other"); /* not in /l */
	struct listing l;
	bool more = true;

	list_ok("/l", "", 100, &l, &more);
	ck_assert_int_eq(l.n, 5);
	ck_assert_str_eq(l.names[0], "a");
	ck_assert_str_eq(l.names[1], "b");
	ck_assert_str_eq(l.names[2], "c");
	ck_assert_str_eq(l.names[3], "d");
	ck_assert_str_eq(l.names[4], "e");
	ck_assert_uint_eq(l.types[1], PROTO_T_DIR);
	ck_assert_uint_eq(l.types[2], PROTO_T_FILE);
	ck_assert(!more);

	list_ok("/l", NULL, 2, &l, &more);
	ck_assert_int_eq(l.n, 2);
	ck_assert_str_eq(l.names[0], "a");
	ck_assert_str_eq(l.names[1], "b");
	ck_assert(more);

	list_ok("/l", "b", 2, &l, &more);
	ck_assert_int_eq(l.n, 2);
	ck_assert_str_eq(l.names[0], "c");
	ck_assert_str_eq(l.names[1], "d");
	ck_assert(more);

	list_ok("/l", "d", 2, &l, &more);
	ck_assert_int_eq(l.n, 1);
	ck_assert_str_eq(l.names[0], "e");
	ck_assert(!more);

	/* exactly max left: no more */
	list_ok("/l", "c", 2, &l, &more);
	ck_assert_int_eq(l.n, 2);
	ck_assert(!more);

	/* start_after need not exist */
	list_ok("/l", "bb", 100, &l, &more);
	ck_assert_int_eq(l.n, 3);
	ck_assert_str_eq(l.names[0], "c");
	list_ok("/l", "zz", 100, &l, &more);
	ck_assert_int_eq(l.n, 0);
	ck_assert(!more);

	/* the root holds /l and /other only */
	list_ok("/", "", 100, &l, &more);
	ck_assert_int_eq(l.n, 2);
	ck_assert_str_eq(l.names[0], "l");
	ck_assert_str_eq(l.names[1], "other");

	/* an empty directory */
	list_ok("/l/b", "", 100, &l, &more);
	ck_assert_int_eq(l.n, 0);
	ck_assert(!more);
}
END_TEST

START_TEST(test_list_errors)
{
	create_ok("/f");
	struct listing l;
	bool more;
	memset(&l, 0, sizeof l);
	ck_assert_int_eq(nn_ns_list(ns, "/f", "", 10, list_cb, &l, &more), -ENOTDIR);
	ck_assert_int_eq(nn_ns_list(ns, "/nope", "", 10, list_cb, &l, &more), -ENOENT);
	ck_assert_int_eq(l.n, 0);
	/* the callback stops the listing with its value */
	create_ok("/g");
	create_ok("/h");
	memset(&l, 0, sizeof l);
	l.stop_after = 2;
	ck_assert_int_eq(nn_ns_list(ns, "/", "", 10, list_cb, &l, &more), 42);
	ck_assert_int_eq(l.n, 2);
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

/* ---- paths ---- */

START_TEST(test_path_validation)
{
	char name256[300], name255[300], longpath[PROTO_PATH_MAX + 10];
	name256[0] = '/';
	memset(name256 + 1, 'n', 256);
	name256[257] = 0;
	name255[0] = '/';
	memset(name255 + 1, 'm', 255);
	name255[256] = 0;

	ck_assert_int_eq(nn_ns_check_path("a/b"), -EINVAL);
	ck_assert_int_eq(nn_ns_check_path(""), -EINVAL);
	ck_assert_int_eq(nn_ns_check_path(name256), -ENAMETOOLONG);
	ck_assert_int_eq(nn_ns_check_path(name255), 0);
	ck_assert_int_eq(nn_ns_check_path("/a/./b"), -EINVAL);
	ck_assert_int_eq(nn_ns_check_path("/a/../b"), -EINVAL);
	ck_assert_int_eq(nn_ns_check_path("/."), -EINVAL);
	ck_assert_int_eq(nn_ns_check_path("/.."), -EINVAL);
	ck_assert_int_eq(nn_ns_check_path("/a/.."), -EINVAL);
	ck_assert_int_eq(nn_ns_check_path("/.hidden/..x/x.."), 0);
	ck_assert_int_eq(nn_ns_check_path("//a//b/"), 0);
	ck_assert_int_eq(nn_ns_check_path("/"), 0);
	memset(longpath, 0, sizeof longpath);
	for (size_t i = 0; i < PROTO_PATH_MAX + 1; i += 2)
		memcpy(longpath + i, "/x", 2);
	longpath[PROTO_PATH_MAX + 1] = 0;
	ck_assert_int_eq(nn_ns_check_path(longpath), -ENAMETOOLONG);

	/* and every operation applies it */
	struct nn_attr a;
	ck_assert_int_eq(nn_ns_mkdir(ns, "rel", 0755, true, 0, 0, &a), -EINVAL);
	ck_assert_int_eq(create_rc("rel", false, NULL), -EINVAL);
	ck_assert_int_eq(stat_rc("rel"), -EINVAL);
	ck_assert_int_eq(nn_ns_mkdir(ns, name256, 0755, false, 0, 0, &a), -ENAMETOOLONG);
	ck_assert_int_eq(create_rc(name256, false, NULL), -ENAMETOOLONG);
	ck_assert_int_eq(create_rc("/a/../b", false, NULL), -EINVAL);
	ck_assert_int_eq(nn_ns_mkdir(ns, "/.", 0755, true, 0, 0, &a), -EINVAL);
	ck_assert_int_eq(nn_ns_delete(ns, "/..", true, NULL), -EINVAL);
	ck_assert_uint_eq(nn_ns_files(ns), 1);

	/* the longest name works end to end */
	ck_assert_int_eq(create_rc(name255, false, NULL), 0);
	ck_assert_uint_eq(stat_ok(name255).type, PROTO_T_FILE);
	/* duplicate slashes name the same thing */
	mkdir_ok("/d");
	create_ok("//d//g/");
	ck_assert_uint_eq(stat_ok("/d/g").type, PROTO_T_FILE);
}
END_TEST

/* ---- durability ---- */

struct scanned {
	struct nn_blockrec b[16];
	uint16_t repl[16];
	int n;
};

static void scan_cb(void *arg, const struct nn_blockrec *b, uint16_t replication)
{
	struct scanned *s = arg;
	ck_assert_int_lt(s->n, 16);
	s->b[s->n] = *b;
	s->repl[s->n] = replication;
	s->n++;
}

static int find_scanned(const struct scanned *s, uint64_t id)
{
	for (int i = 0; i < s->n; i++)
		if (s->b[i].id == id)
			return i;
	return -1;
}

START_TEST(test_durable_reopen)
{
	mkdir_ok("/d");
	ck_assert_int_eq(nn_ns_setrep(ns, "/d", 2, NULL), 0);
	uint64_t ids[2];
	struct nn_attr f = write_file("/d/f", 2, 777, ids);
	struct nn_attr g = create_ok("/g"); /* left under construction */
	struct nn_blockrec gb;
	ck_assert_int_eq(nn_ns_add_block(ns, g.ino, 0, 0, &gb, NULL), 0);
	ck_assert_int_eq(nn_ns_rename(ns, "/d/f", "/d/f2", 0, NULL), 0);
	create_ok("/gone");
	ck_assert_int_eq(nn_ns_delete(ns, "/gone", false, NULL), 0);
	uint64_t files = nn_ns_files(ns);
	ck_assert(nn_ns_dirty(ns));
	ck_assert_int_eq(nn_ns_sync(ns), 0);
	ck_assert(!nn_ns_dirty(ns));

	reopen();
	ck_assert_uint_eq(nn_ns_files(ns), files);
	struct nn_attr s = stat_ok("/d/f2");
	ck_assert_uint_eq(s.ino, f.ino);
	ck_assert_uint_eq(s.size, 1 * MB + 777);
	ck_assert_uint_eq(s.replication, 2);
	ck_assert(!(s.flags & PROTO_A_UNDER_CONSTRUCTION));
	ck_assert_int_eq(stat_rc("/d/f"), -ENOENT);
	ck_assert_int_eq(stat_rc("/gone"), -ENOENT);
	ck_assert_uint_eq(stat_ok("/d").replication, 2);
	ck_assert_uint_eq(stat_ok("/").nlink, 3);
	struct nn_attr gs = stat_ok("/g");
	ck_assert(gs.flags & PROTO_A_UNDER_CONSTRUCTION);
	ck_assert_uint_eq(gs.nblocks, 1);

	struct nn_blocks bl = {0};
	ck_assert_int_eq(nn_ns_blocks(ns, f.ino, 0, 0, &bl), 0);
	ck_assert_uint_eq(bl.n, 2);
	ck_assert_uint_eq(bl.v[0].id, ids[0]);
	ck_assert_uint_eq(bl.v[1].id, ids[1]);
	ck_assert_uint_eq(bl.v[1].offset, 1 * MB);
	ck_assert_uint_eq(bl.v[1].len, 777);
	nn_blocks_free(&bl);

	/* the counters survived: nothing is handed out twice */
	struct nn_attr h = create_ok("/h");
	ck_assert_uint_gt(h.ino, g.ino);
	ck_assert_uint_gt(h.ino, f.ino);
	struct nn_blockrec hb;
	ck_assert_int_eq(nn_ns_add_block(ns, h.ino, 0, 0, &hb, NULL), 0);
	ck_assert_uint_gt(hb.id, gb.id);
	ck_assert_uint_gt(hb.gs, gb.gs);
	ck_assert_uint_gt(hb.id, ids[1]);

	/* the unfinished file can still be completed after the restart */
	ck_assert_int_eq(nn_ns_complete(ns, g.ino, gb.id, 42, &gs), 0);
	ck_assert_uint_eq(gs.size, 42);
}
END_TEST

START_TEST(test_durable_without_sync_on_close)
{
	/* close makes pending mutations durable too */
	struct nn_attr f = create_ok("/f");
	reopen();
	ck_assert_uint_eq(stat_ok("/f").ino, f.ino);
	ck_assert_uint_eq(nn_ns_files(ns), 2);
}
END_TEST

START_TEST(test_scan_blocks_after_reopen)
{
	struct nn_attr a;
	uint64_t ida[2], idb[1], idc[3];
	ck_assert_int_eq(nn_ns_create(ns, "/a", 0644, false, 2, 0, 0, 0, &a, NULL), 0);
	struct nn_blockrec b0, b1;
	ck_assert_int_eq(nn_ns_add_block(ns, a.ino, 0, 0, &b0, NULL), 0);
	ck_assert_int_eq(nn_ns_add_block(ns, a.ino, b0.id, 1 * MB, &b1, NULL), 0);
	ck_assert_int_eq(nn_ns_complete(ns, a.ino, b1.id, 10, NULL), 0);
	ida[0] = b0.id;
	ida[1] = b1.id;
	mkdir_ok("/r4");
	ck_assert_int_eq(nn_ns_setrep(ns, "/r4", 4, NULL), 0);
	struct nn_attr b = write_file("/r4/b", 1, 20, idb);
	struct nn_attr c = write_file("/c", 3, 30, idc);
	ck_assert_int_eq(nn_ns_setrep(ns, "/c", 6, NULL), 0);
	ck_assert_int_eq(nn_ns_sync(ns), 0);

	reopen();
	struct scanned s;
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(nn_ns_scan_blocks(ns, scan_cb, &s), 0);
	ck_assert_int_eq(s.n, 6);
	ck_assert_uint_eq(nn_ns_block_count(ns), 6);
	for (int i = 0; i < 2; i++) {
		int k = find_scanned(&s, ida[i]);
		ck_assert_int_ge(k, 0);
		ck_assert_uint_eq(s.repl[k], 2);
		ck_assert_uint_eq(s.b[k].ino, a.ino);
		ck_assert_uint_eq(s.b[k].index, (uint32_t)i);
		ck_assert_uint_eq(s.b[k].gs, i ? b1.gs : b0.gs);
	}
	ck_assert_uint_eq(s.b[find_scanned(&s, ida[0])].len, 1 * MB);
	ck_assert_uint_eq(s.b[find_scanned(&s, ida[1])].len, 10);
	int k = find_scanned(&s, idb[0]);
	ck_assert_int_ge(k, 0);
	ck_assert_uint_eq(s.repl[k], 4);
	ck_assert_uint_eq(s.b[k].ino, b.ino);
	ck_assert_uint_eq(s.b[k].len, 20);
	for (int i = 0; i < 3; i++) {
		k = find_scanned(&s, idc[i]);
		ck_assert_int_ge(k, 0);
		ck_assert_uint_eq(s.repl[k], 6);
		ck_assert_uint_eq(s.b[k].ino, c.ino);
		ck_assert_uint_eq(s.b[k].index, (uint32_t)i);
	}

	/* after the start-up scan the block count follows deletions */
	ck_assert_int_eq(nn_ns_delete(ns, "/c", false, NULL), 0);
	ck_assert_uint_eq(nn_ns_block_count(ns), 3);
}
END_TEST

/* Reads records in the dump layout back from an unpack cursor. */
static int restore_next(void *arg, struct buf *k, struct buf *v)
{
	struct unpack *u = arg;
	if (!u->left)
		return 0;
	uint32_t kl = unpack_u32(u);
	const void *kp = unpack_raw(u, kl);
	uint32_t vl = unpack_u32(u);
	const void *vp = unpack_raw(u, vl);
	if (!unpack_ok(u))
		return -EPROTO;
	buf_reset(k);
	buf_add(k, kp, kl);
	buf_reset(v);
	buf_add(v, vp, vl);
	return 1;
}

static int count_entry(void *arg, const char *name, const struct nn_attr *a)
{
	(void)a;
	(*(int *)arg)++;
	return name[0] ? 0 : -1;
}

START_TEST(test_list_all_pages)
{
	ck_assert_int_eq(nn_ns_mkdir(ns, "/many", 0755, false, 0, 0, NULL), 0);
	char p[64];
	for (int i = 0; i < 2500; i++) { /* more than one internal page */
		snprintf(p, sizeof p, "/many/f%05d", i);
		ck_assert_int_eq(nn_ns_create(ns, p, 0644, false, 0, 0, 0, 0, NULL, NULL), 0);
	}
	int n = 0;
	ck_assert_int_eq(nn_ns_list_all(ns, "/many", count_entry, &n), 0);
	ck_assert_int_eq(n, 2500);
	n = 0;
	ck_assert_int_eq(nn_ns_list_all(ns, "/nope", count_entry, &n), -ENOENT);
}
END_TEST

START_TEST(test_dump_restore)
{
	ck_assert_int_eq(nn_ns_mkdir(ns, "/d", 0750, false, 7, 8, NULL), 0);
	ck_assert_int_eq(nn_ns_xattr_set(ns, "/d", "user.k", "v", 1, 0), 0);
	struct nn_ns_dump *d;
	ck_assert_int_eq(nn_ns_dump_start(ns, &d), 0);
	/* changes after the snapshot are not in it */
	ck_assert_int_eq(nn_ns_mkdir(ns, "/later", 0755, false, 0, 0, NULL), 0);
	struct buf recs = BUF_INIT;
	uint32_t total = 0, n;
	while ((n = nn_ns_dump_next(d, &recs, 64)))
		total += n;
	nn_ns_dump_end(d);
	ck_assert_uint_gt(total, 3);
	struct cursor {
		struct unpack u;
	} cur;
	unpack_init(&cur.u, recs.data, recs.len);
	char rdir[4300];
	snprintf(rdir, sizeof rdir, "%s-restored", dir);
	ck_assert_int_eq(nn_ns_restore(rdir, restore_next, &cur.u), 0);
	struct nn_ns *r;
	ck_assert_int_eq(nn_ns_open(rdir, &defaults, &r), 0);
	struct nn_attr a;
	ck_assert_int_eq(nn_ns_stat(r, "/d", &a), 0);
	ck_assert_uint_eq(a.mode & 0777, 0750);
	ck_assert_uint_eq(a.uid, 7);
	ck_assert_int_eq(nn_ns_stat(r, "/later", &a), -ENOENT);
	struct buf v = BUF_INIT;
	ck_assert_int_eq(nn_ns_xattr_get(r, "/d", "user.k", &v), 0);
	ck_assert_uint_eq(v.len, 1);
	nn_ns_close(r);
	/* into a directory holding a namespace: refused */
	unpack_init(&cur.u, recs.data, recs.len);
	ck_assert_int_eq(nn_ns_restore(rdir, restore_next, &cur.u), -EEXIST);
	buf_free(&v);
	buf_free(&recs);
}
END_TEST

static Suite *ns_suite(void)
{
	Suite *s = suite_create("ns");
	TCase *tc = tcase_create("ns");
	tcase_set_timeout(tc, 30);
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_checked_fixture(tc, ns_setup, ns_teardown);
	tcase_add_test(tc, test_format_open);
	tcase_add_test(tc, test_list_all_pages);
	tcase_add_test(tc, test_dump_restore);
	tcase_add_test(tc, test_mkdir);
	tcase_add_test(tc, test_mkdir_parents);
	tcase_add_test(tc, test_mkdir_notdir);
	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_create_errors);
	tcase_add_test(tc, test_create_overwrite);
	tcase_add_test(tc, test_create_inherits_replication);
	tcase_add_test(tc, test_add_block_complete);
	tcase_add_test(tc, test_blocks_range);
	tcase_add_test(tc, test_abandon_block);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_list_errors);
	tcase_add_test(tc, test_rename_file);
	tcase_add_test(tc, test_rename_over_file);
	tcase_add_test(tc, test_rename_dir_new_parent);
	tcase_add_test(tc, test_rename_into_subtree);
	tcase_add_test(tc, test_rename_type_conflicts);
	tcase_add_test(tc, test_rename_noreplace);
	tcase_add_test(tc, test_rename_exchange);
	tcase_add_test(tc, test_rename_exchange_dir_and_file);
	tcase_add_test(tc, test_delete_file);
	tcase_add_test(tc, test_delete_dir);
	tcase_add_test(tc, test_delete_recursive);
	tcase_add_test(tc, test_delete_root);
	tcase_add_test(tc, test_path_validation);
	tcase_add_test(tc, test_durable_reopen);
	tcase_add_test(tc, test_durable_without_sync_on_close);
	tcase_add_test(tc, test_scan_blocks_after_reopen);
	tcase_add_test(tc, test_update_blocks);
	tcase_add_test(tc, test_alloc_ids_survive_restart);
	tcase_add_test(tc, test_posix_nodes);
	tcase_add_test(tc, test_xattrs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_set_level(LOG_WARN); /* keep expected-failure messages, drop start-up chatter */
	SRunner *sr = srunner_create(ns_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
