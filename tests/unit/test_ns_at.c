/*
 * Unit tests for the namespace's inode-addressed calls (ns.h, "The same calls addressed
 * by inode"; namenode/ns_path.c and ns_mutate.c): lookup and the name rules, mkdir,
 * create, symlink, mknod, link, unlink and rmdir, rename with the directory-loop check
 * done by the parents each directory records, setattr, listing and xattrs by inode, and
 * depth without any path-length limit.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"

#include "nstest.h"

static struct nn_attr lookup_ok(uint64_t in, const char *name)
{
	struct nn_attr a;
	int rc = nn_ns_lookup(ns, in, name, &a);
	ck_assert_msg(rc == 0, "lookup %llu '%s': %d", (unsigned long long)in, name, rc);
	return a;
}

static int lookup_rc(uint64_t in, const char *name)
{
	struct nn_attr a;
	return nn_ns_lookup(ns, in, name, &a);
}

static struct nn_attr mkdir_at_ok(uint64_t in, const char *name)
{
	struct nn_attr a;
	int rc = nn_ns_mkdir_at(ns, in, name, 0755, 0, 0, &a);
	ck_assert_msg(rc == 0, "mkdir_at '%s': %d", name, rc);
	return a;
}

static struct nn_attr create_at_ok(uint64_t in, const char *name)
{
	struct nn_attr a;
	int rc = nn_ns_create_at(ns, in, name, 0644, false, 0, 0, 1000, 1000, &a, NULL);
	ck_assert_msg(rc == 0, "create_at '%s': %d", name, rc);
	return a;
}

START_TEST(test_lookup_and_names)
{
	struct nn_attr d = mkdir_ok("/d");
	struct nn_attr f = create_ok("/d/f");
	ck_assert_uint_eq(lookup_ok(NN_ROOT_INO, "d").ino, d.ino);
	ck_assert_uint_eq(lookup_ok(d.ino, "f").ino, f.ino);
	ck_assert_int_eq(lookup_rc(d.ino, "g"), -ENOENT);
	/* names, not paths */
	ck_assert_int_eq(lookup_rc(NN_ROOT_INO, ""), -EINVAL);
	ck_assert_int_eq(lookup_rc(NN_ROOT_INO, "."), -EINVAL);
	ck_assert_int_eq(lookup_rc(NN_ROOT_INO, ".."), -EINVAL);
	ck_assert_int_eq(lookup_rc(NN_ROOT_INO, "d/f"), -EINVAL);
	char name[PROTO_NAME_MAX + 2];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = 0;
	ck_assert_int_eq(lookup_rc(NN_ROOT_INO, name), -ENAMETOOLONG);
	name[PROTO_NAME_MAX] = 0; /* 255 bytes: allowed */
	ck_assert_int_eq(lookup_rc(NN_ROOT_INO, name), -ENOENT);
	create_at_ok(NN_ROOT_INO, name);
	ck_assert_int_eq(lookup_rc(NN_ROOT_INO, name), 0);
	/* the directory: a file is ENOTDIR, an inode that is not there ENOENT */
	ck_assert_int_eq(lookup_rc(f.ino, "x"), -ENOTDIR);
	ck_assert_int_eq(lookup_rc(999999, "x"), -ENOENT);
}
END_TEST

START_TEST(test_mkdir_create_at)
{
	struct nn_attr d = mkdir_at_ok(NN_ROOT_INO, "d");
	ck_assert_uint_eq(d.type, PROTO_T_DIR);
	ck_assert_uint_eq(d.nlink, 2);
	ck_assert_uint_eq(d.parent, NN_ROOT_INO);
	ck_assert_uint_eq(stat_ok("/").nlink, 3);
	ck_assert_uint_eq(stat_ok("/d").ino, d.ino);
	struct nn_attr e = mkdir_at_ok(d.ino, "e");
	ck_assert_uint_eq(e.parent, d.ino);
	ck_assert_uint_eq(stat_ok("/d").nlink, 3);
	struct nn_attr a;
	ck_assert_int_eq(nn_ns_mkdir_at(ns, d.ino, "e", 0755, 0, 0, &a), -EEXIST);

	struct nn_attr f = create_at_ok(d.ino, "f");
	ck_assert_uint_eq(f.type, PROTO_T_FILE);
	ck_assert(f.flags & PROTO_A_UNDER_CONSTRUCTION);
	ck_assert_uint_eq(f.replication, defaults.replication);
	ck_assert_uint_eq(stat_ok("/d/f").ino, f.ino);
	ck_assert_int_eq(nn_ns_create_at(ns, d.ino, "f", 0644, false, 0, 0, 0, 0, &a, NULL),
			 -EEXIST);
	ck_assert_int_eq(nn_ns_create_at(ns, d.ino, "e", 0644, true, 0, 0, 0, 0, &a, NULL),
			 -EISDIR);
	/* overwrite: a new inode, the old one's blocks freed */
	struct nn_blocks freed = {0};
	ck_assert_int_eq(nn_ns_add_block(ns, f.ino, 0, 0, &(struct nn_blockrec){0}, NULL), 0);
	ck_assert_int_eq(nn_ns_create_at(ns, d.ino, "f", 0600, true, 0, 0, 0, 0, &a, &freed),
			 0);
	ck_assert_uint_ne(a.ino, f.ino);
	ck_assert_uint_eq(freed.n, 1);
	nn_blocks_free(&freed);
	ck_assert_uint_eq(nn_ns_files(ns), 4); /* /, d, e, f: nothing left of the old f */
}
END_TEST

START_TEST(test_nodes_and_links_at)
{
	struct nn_attr d = mkdir_ok("/d"), a;
	ck_assert_int_eq(nn_ns_symlink_at(ns, d.ino, "l", "../t", 0, 0, &a), 0);
	ck_assert_uint_eq(a.type, PROTO_T_SYMLINK);
	ck_assert_str_eq(stat_ok("/d/l").target, "../t");
	ck_assert_int_eq(nn_ns_symlink_at(ns, d.ino, "l", "x", 0, 0, &a), -EEXIST);
	ck_assert_int_eq(nn_ns_mknod_at(ns, d.ino, "p", PROTO_T_FIFO, 0600, 0, 0, 0, &a), 0);
	ck_assert_uint_eq(stat_ok("/d/p").type, PROTO_T_FIFO);
	ck_assert_int_eq(nn_ns_mknod_at(ns, d.ino, "q", PROTO_T_FILE, 0600, 0, 0, 0, &a),
			 -EINVAL);

	/* a hard link is the same inode: a change through one name shows through both */
	struct nn_attr f = create_ok("/d/f");
	ck_assert_int_eq(nn_ns_link_at(ns, f.ino, NN_ROOT_INO, "g", &a), 0);
	ck_assert_uint_eq(a.nlink, 2);
	ck_assert_int_eq(nn_ns_setattr_ino(ns, f.ino, PROTO_SET_MODE | PROTO_SET_UID, 0201, 65534,
					   0, 0, 0, &a), 0);
	struct nn_attr g = lookup_ok(NN_ROOT_INO, "g");
	ck_assert_uint_eq(g.ino, f.ino);
	ck_assert_uint_eq(g.mode, 0201);
	ck_assert_uint_eq(g.uid, 65534);
	ck_assert_uint_eq(g.nlink, 2);
	ck_assert_int_eq(nn_ns_link_at(ns, d.ino, NN_ROOT_INO, "dd", &a), -EPERM);
	ck_assert_int_eq(nn_ns_link_at(ns, f.ino, NN_ROOT_INO, "g", &a), -EEXIST);

	/* unlink: one name at a time; `gone` tells when the last went */
	struct nn_attr gone;
	ck_assert_int_eq(nn_ns_unlink_at(ns, d.ino, "f", 0, NULL, &gone), 0);
	ck_assert_uint_eq(gone.ino, f.ino);
	ck_assert_uint_eq(gone.nlink, 1);
	ck_assert_uint_eq(lookup_ok(NN_ROOT_INO, "g").nlink, 1);
	ck_assert_int_eq(nn_ns_unlink_at(ns, NN_ROOT_INO, "g", 0, NULL, &gone), 0);
	ck_assert_uint_eq(gone.nlink, 0);
	ck_assert_int_eq(nn_ns_stat_ino(ns, f.ino, &a), -ENOENT);
	ck_assert_int_eq(nn_ns_unlink_at(ns, NN_ROOT_INO, "g", 0, NULL, NULL), -ENOENT);

	/* unlink and rmdir keep to their types */
	struct nn_attr e = mkdir_ok("/d/e");
	ck_assert_int_eq(nn_ns_unlink_at(ns, d.ino, "e", 0, NULL, NULL), -EISDIR);
	ck_assert_int_eq(nn_ns_unlink_at(ns, d.ino, "p", NN_UNLINK_DIR, NULL, NULL), -ENOTDIR);
	create_ok("/d/e/x");
	ck_assert_int_eq(nn_ns_unlink_at(ns, d.ino, "e", NN_UNLINK_DIR, NULL, NULL), -ENOTEMPTY);
	ck_assert_int_eq(nn_ns_unlink_at(ns, e.ino, "x", 0, NULL, NULL), 0);
	ck_assert_uint_eq(stat_ok("/d").nlink, 3);
	ck_assert_int_eq(nn_ns_unlink_at(ns, d.ino, "e", NN_UNLINK_DIR, NULL, NULL), 0);
	ck_assert_uint_eq(stat_ok("/d").nlink, 2);
}
END_TEST

START_TEST(test_rename_at_loops)
{
	struct nn_attr a = mkdir_ok("/a"), b = mkdir_ok("/a/b"), c = mkdir_ok("/a/b/c");
	struct nn_attr x = mkdir_ok("/x");
	/* into itself or anywhere below it: EINVAL, at any depth */
	ck_assert_int_eq(nn_ns_rename_at(ns, NN_ROOT_INO, "a", a.ino, "a2", 0, NULL), -EINVAL);
	ck_assert_int_eq(nn_ns_rename_at(ns, NN_ROOT_INO, "a", c.ino, "a2", 0, NULL), -EINVAL);
	ck_assert_int_eq(nn_ns_rename_at(ns, a.ino, "b", c.ino, "b2", 0, NULL), -EINVAL);
	/* the same name: nothing to do */
	ck_assert_int_eq(nn_ns_rename_at(ns, NN_ROOT_INO, "a", NN_ROOT_INO, "a", 0, NULL), 0);
	/* moving b under x updates its parent, so the check follows the move */
	ck_assert_int_eq(nn_ns_rename_at(ns, a.ino, "b", x.ino, "b", 0, NULL), 0);
	ck_assert_uint_eq(stat_ok("/x/b/c").ino, c.ino);
	ck_assert_uint_eq(stat_ok("/x/b").parent, x.ino);
	ck_assert_uint_eq(stat_ok("/a").nlink, 2);
	ck_assert_uint_eq(stat_ok("/x").nlink, 3);
	ck_assert_int_eq(nn_ns_rename_at(ns, NN_ROOT_INO, "x", c.ino, "x", 0, NULL), -EINVAL);
	ck_assert_int_eq(nn_ns_rename_at(ns, NN_ROOT_INO, "a", c.ino, "a", 0, NULL), 0);
	ck_assert_uint_eq(stat_ok("/x/b/c/a").ino, a.ino);
	ck_assert_uint_eq(stat_ok("/x/b/c/a").parent, c.ino);
	/* exchange: both directories learn their new parents, and loops are refused both
	 * ways */
	struct nn_attr y = mkdir_ok("/y");
	ck_assert_int_eq(nn_ns_rename_at(ns, NN_ROOT_INO, "y", c.ino, "a",
					 PROTO_RENAME_EXCHANGE, NULL), 0);
	ck_assert_uint_eq(stat_ok("/y").ino, a.ino);
	ck_assert_uint_eq(stat_ok("/y").parent, NN_ROOT_INO);
	ck_assert_uint_eq(stat_ok("/x/b/c/a").ino, y.ino);
	ck_assert_uint_eq(stat_ok("/x/b/c/a").parent, c.ino);
	ck_assert_int_eq(nn_ns_rename_at(ns, NN_ROOT_INO, "x", c.ino, "a",
					 PROTO_RENAME_EXCHANGE, NULL), -EINVAL);
	ck_assert_int_eq(nn_ns_rename_at(ns, c.ino, "a", NN_ROOT_INO, "x",
					 PROTO_RENAME_EXCHANGE, NULL), -EINVAL);
	/* the path call uses the same check */
	ck_assert_int_eq(nn_ns_rename(ns, "/x", "/x/b/q", 0, NULL), -EINVAL);
	/* parents are durable */
	reopen();
	ck_assert_uint_eq(stat_ok("/x/b").parent, x.ino);
	ck_assert_uint_eq(stat_ok("/x/b/c/a").parent, c.ino);
	(void)b;
}
END_TEST

START_TEST(test_deep_without_path_limit)
{
	/* 24 levels of 255-byte names: about 6,000 bytes of path, past PROTO_PATH_MAX */
	char name[PROTO_NAME_MAX + 1];
	memset(name, 'd', PROTO_NAME_MAX);
	name[PROTO_NAME_MAX] = 0;
	uint64_t d = NN_ROOT_INO;
	for (int i = 0; i < 24; i++)
		d = mkdir_at_ok(d, name).ino;
	struct nn_attr f = create_at_ok(d, name), a;
	ck_assert_uint_eq(lookup_ok(d, name).ino, f.ino);
	ck_assert_int_eq(nn_ns_setattr_ino(ns, f.ino, PROTO_SET_MODE, 0600, 0, 0, 0, 0, &a), 0);
	ck_assert_int_eq(nn_ns_symlink_at(ns, d, "l", name, 0, 0, &a), 0);
	ck_assert_int_eq(nn_ns_rename_at(ns, d, name, d, "g", 0, NULL), 0);
	ck_assert_int_eq(nn_ns_rename_at(ns, NN_ROOT_INO, name, d, "loop", 0, NULL), -EINVAL);
	ck_assert_int_eq(nn_ns_unlink_at(ns, d, "g", 0, NULL, NULL), 0);
}
END_TEST

struct inos {
	uint64_t *v;
	int *n;
};

static void note_ino(void *arg, uint64_t ino)
{
	struct inos *l = arg;
	ck_assert_int_lt(*l->n, 4);
	l->v[(*l->n)++] = ino;
}

START_TEST(test_kept_while_open)
{
	/* a file unlinked while open keeps its inode and blocks until reclaimed */
	uint64_t ids[2];
	struct nn_attr d = mkdir_ok("/d");
	struct nn_attr f = write_file("/d/f", 2, 100, ids), a, gone;
	uint64_t files = nn_ns_files(ns);
	struct nn_blocks freed = {0};
	ck_assert_int_eq(nn_ns_unlink_at(ns, d.ino, "f", NN_UNLINK_KEEP, &freed, &gone), 0);
	ck_assert_uint_eq(gone.nlink, 0);
	ck_assert_uint_eq(freed.n, 0);
	ck_assert_int_eq(nn_ns_lookup(ns, d.ino, "f", &a), -ENOENT);
	ck_assert_int_eq(nn_ns_stat_ino(ns, f.ino, &a), 0);
	ck_assert_uint_eq(a.nlink, 0);
	ck_assert_uint_eq(a.size, 1 * MB + 100);
	ck_assert_uint_eq(nn_ns_files(ns), files);
	/* kept across a restart until the namenode reclaims it */
	reopen();
	uint64_t seen[4];
	int n = 0;
	ck_assert_int_eq(nn_ns_scan_kept(ns, note_ino, &(struct inos){seen, &n}), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(seen[0], f.ino);
	ck_assert_int_eq(nn_ns_reclaim(ns, f.ino, &freed), 0);
	ck_assert_uint_eq(freed.n, 2);
	ck_assert(blocks_have(&freed, ids[0]) && blocks_have(&freed, ids[1]));
	ck_assert_int_eq(nn_ns_stat_ino(ns, f.ino, &a), -ENOENT);
	ck_assert_uint_eq(nn_ns_files(ns), files - 1);
	ck_assert_int_eq(nn_ns_reclaim(ns, f.ino, &freed), -ENOENT);
	n = 0;
	ck_assert_int_eq(nn_ns_scan_kept(ns, note_ino, &(struct inos){seen, &n}), 0);
	ck_assert_int_eq(n, 0);
	nn_blocks_free(&freed);
	/* a file with another name left is not kept: it simply loses one */
	struct nn_attr g = create_ok("/d/g");
	ck_assert_int_eq(nn_ns_link_at(ns, g.ino, d.ino, "h", &a), 0);
	ck_assert_int_eq(nn_ns_unlink_at(ns, d.ino, "g", NN_UNLINK_KEEP, NULL, &gone), 0);
	ck_assert_uint_eq(gone.nlink, 1);
	ck_assert_int_eq(nn_ns_reclaim(ns, g.ino, NULL), -ENOENT);
	ck_assert_uint_eq(lookup_ok(d.ino, "h").nlink, 1);
}
END_TEST

static int count_entry(void *arg, const char *name, const struct nn_attr *a)
{
	(void)name;
	(void)a;
	(*(int *)arg)++;
	return 0;
}

START_TEST(test_list_and_xattr_ino)
{
	struct nn_attr d = mkdir_ok("/d");
	create_ok("/d/a");
	create_ok("/d/b");
	struct nn_attr c = create_ok("/d/c");
	int n = 0;
	bool more;
	ck_assert_int_eq(nn_ns_list_ino(ns, d.ino, "a", 10, count_entry, &n, &more), 0);
	ck_assert_int_eq(n, 2);
	ck_assert(!more);
	ck_assert_int_eq(nn_ns_list_ino(ns, c.ino, "", 10, count_entry, &n, &more), -ENOTDIR);

	struct buf v = BUF_INIT;
	ck_assert_int_eq(nn_ns_xattr_set_ino(ns, c.ino, "user.k", "v1", 2, 0), 0);
	ck_assert_int_eq(nn_ns_xattr_get_ino(ns, c.ino, "user.k", &v), 0);
	ck_assert_uint_eq(v.len, 2);
	ck_assert(!memcmp(v.data, "v1", 2));
	ck_assert_int_eq(nn_ns_xattr_get(ns, "/d/c", "user.k", &v), 0); /* the same record */
	ck_assert_int_eq(nn_ns_xattr_list_ino(ns, c.ino, &v), 0);
	ck_assert_uint_eq(v.len, strlen("user.k") + 1);
	ck_assert_int_eq(nn_ns_xattr_remove_ino(ns, c.ino, "user.k"), 0);
	ck_assert_int_eq(nn_ns_xattr_get_ino(ns, c.ino, "user.k", &v), -ENODATA);
	ck_assert_int_eq(nn_ns_xattr_set_ino(ns, 999999, "user.k", "v", 1, 0), -ENOENT);
	buf_free(&v);
}
END_TEST

int main(void)
{
	return nstest_main("ns_at", UNIT_TESTS(
		test_lookup_and_names, test_mkdir_create_at, test_nodes_and_links_at,
		test_rename_at_loops, test_deep_without_path_limit, test_list_and_xattr_ino,
		test_kept_while_open));
}
