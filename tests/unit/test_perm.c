/*
 * Unit tests for perm (namenode/perm.h), the namenode's permission rules, over a real
 * namespace (LevelDB in a fresh temporary directory per test): the class bits (owner,
 * group, other; the owner class alone applies to the owner), search on every directory
 * on the way, read and write on the object, write and search on the parent to add or
 * remove entries, the sticky bit, mkdir -p, rm -r over a subtree, chmod / chown / chgrp
 * and times, and the superuser. Every test runs in its own forked process.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../namenode/ns.h"
#include "../../namenode/perm.h"
#include "proto.h"

#include "testdir.h"
#include "unit.h"

static const struct nn_ns_defaults defaults = {3, 1 << 20};
static char dir[4200];
static struct nn_ns *ns;

/* callers: the owner of most of the tree, a member of its group, anyone, root */
static const struct nn_cred owner = {100, 100, false}, member = {500, 200, false},
			    other = {600, 600, false}, root = {0, 0, true};

static void tmp_setup(void) { testdir_make("perm"); }

static void set(const char *path, uint32_t mode, uint32_t uid, uint32_t gid)
{
	struct nn_attr a;
	ck_assert_int_eq(nn_ns_setattr(ns, path, PROTO_SET_MODE | PROTO_SET_UID | PROTO_SET_GID,
				       mode, uid, gid, 0, 0, &a),
			 0);
	ck_assert_uint_eq(a.mode & 07777, mode);
	ck_assert_uint_eq(a.uid, uid);
}

static void mkdir_as(const char *path, uint32_t mode, uint32_t uid, uint32_t gid)
{
	struct nn_attr a;
	ck_assert_int_eq(nn_ns_mkdir(ns, path, mode, false, uid, gid, &a), 0);
	set(path, mode, uid, gid);
}

static void file_as(const char *path, uint32_t mode, uint32_t uid, uint32_t gid)
{
	struct nn_attr a;
	ck_assert_int_eq(nn_ns_create(ns, path, mode, false, 0, 0, uid, gid, &a, NULL), 0);
	set(path, mode, uid, gid);
}

/*
 * /          0755 root          /pub       0755 owner:100     /pub/f  0640 owner:200
 * /priv      0700 owner:100     /priv/f    0644 owner:100
 * /tmp      01777 700:700       /tmp/a     0644 300           /tmp/b  0644 400
 * /w         0777 root          /w/y       0644 400
 * /w/tree    0755 300           /w/tree/sub 0555 300          (rm -r refused below)
 * /w/tree2   0755 300           /w/tree2/sub 0755 300
 */
static void ns_setup(void)
{
	snprintf(dir, sizeof dir, "%s/ns-XXXXXX", tmp_base);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(nn_ns_format(dir), 0);
	ck_assert_int_eq(nn_ns_open(dir, &defaults, &ns), 0);
	set("/", 0755, 0, 0);
	mkdir_as("/pub", 0755, 100, 100);
	file_as("/pub/f", 0640, 100, 200);
	mkdir_as("/priv", 0700, 100, 100);
	file_as("/priv/f", 0644, 100, 100);
	mkdir_as("/tmp", 01777, 700, 700);
	file_as("/tmp/a", 0644, 300, 300);
	file_as("/tmp/b", 0644, 400, 400);
	mkdir_as("/w", 0777, 0, 0);
	file_as("/w/y", 0644, 400, 400);
	mkdir_as("/w/tree", 0755, 300, 300);
	mkdir_as("/w/tree/sub", 0555, 300, 300);
	mkdir_as("/w/tree2", 0755, 300, 300);
	mkdir_as("/w/tree2/sub", 0755, 300, 300);
}

static void ns_teardown(void)
{
	nn_ns_close(ns);
	ns = NULL;
}

static struct nn_attr attr(uint32_t mode, uint32_t uid, uint32_t gid)
{
	struct nn_attr a;
	memset(&a, 0, sizeof a);
	a.type = PROTO_T_FILE;
	a.mode = mode;
	a.uid = uid;
	a.gid = gid;
	return a;
}

START_TEST(test_class_bits)
{
	struct nn_attr a = attr(0640, 100, 200);
	ck_assert(nn_perm_ok(&a, &owner, NN_R | NN_W));
	ck_assert(!nn_perm_ok(&a, &owner, NN_X));
	ck_assert(nn_perm_ok(&a, &member, NN_R));
	ck_assert(!nn_perm_ok(&a, &member, NN_W));
	ck_assert(!nn_perm_ok(&a, &other, NN_R));
	ck_assert(nn_perm_ok(&a, &other, 0)); /* nothing asked */
	/* every bit asked must be granted */
	struct nn_attr b = attr(0604, 100, 200);
	ck_assert(nn_perm_ok(&b, &other, NN_R));
	ck_assert(!nn_perm_ok(&b, &other, NN_R | NN_W));
	/* the owner class alone applies to the owner, the group class to the group,
	 * even when a later class would grant more (POSIX) */
	struct nn_attr c = attr(0077, 100, 200);
	ck_assert(!nn_perm_ok(&c, &owner, NN_R));
	ck_assert(nn_perm_ok(&c, &member, NN_R));
	struct nn_attr d = attr(0707, 100, 200);
	ck_assert(!nn_perm_ok(&d, &member, NN_R));
	ck_assert(nn_perm_ok(&d, &other, NN_R | NN_W | NN_X));
	/* the superuser passes with no bits at all */
	struct nn_attr z = attr(0000, 100, 200);
	ck_assert(nn_perm_ok(&z, &root, NN_R | NN_W | NN_X));
	ck_assert(!nn_perm_ok(&z, &owner, NN_R));
}
END_TEST

START_TEST(test_traverse)
{
	/* /priv/f is 0644, but /priv (0700) cannot be searched by anyone but its owner */
	ck_assert_int_eq(nn_perm_path(ns, "/priv/f", &other, 0, NN_R), -EACCES);
	ck_assert_int_eq(nn_perm_path(ns, "/priv/f", &member, 0, 0), -EACCES);
	ck_assert_int_eq(nn_perm_path(ns, "/priv/f", &owner, 0, NN_R), 0);
	ck_assert_int_eq(nn_perm_path(ns, "/priv/f", &root, 0, NN_R | NN_W), 0);
	/* a missing directory on the way, a file used as one */
	ck_assert_int_eq(nn_perm_path(ns, "/nope/f", &other, 0, NN_R), -ENOENT);
	ck_assert_int_eq(nn_perm_path(ns, "/pub/f/x", &owner, 0, NN_R), -ENOTDIR);
	/* a missing last component is for the operation to report */
	ck_assert_int_eq(nn_perm_path(ns, "/pub/missing", &other, 0, NN_R), 0);
	/* search on "/" itself */
	set("/", 0750, 0, 0);
	ck_assert_int_eq(nn_perm_path(ns, "/pub/missing", &other, 0, 0), -EACCES);
}
END_TEST

START_TEST(test_read_write)
{
	ck_assert_int_eq(nn_perm_path(ns, "/pub/f", &owner, 0, NN_R | NN_W), 0);
	ck_assert_int_eq(nn_perm_path(ns, "/pub/f", &member, 0, NN_R), 0);
	ck_assert_int_eq(nn_perm_path(ns, "/pub/f", &member, 0, NN_W), -EACCES);
	ck_assert_int_eq(nn_perm_path(ns, "/pub/f", &other, 0, NN_R), -EACCES);
	/* listing a directory is reading it */
	ck_assert_int_eq(nn_perm_path(ns, "/pub", &other, 0, NN_R), 0);
	ck_assert_int_eq(nn_perm_path(ns, "/priv", &other, 0, NN_R), -EACCES);
	/* the root directory */
	ck_assert_int_eq(nn_perm_path(ns, "/", &other, 0, NN_R), 0);
	ck_assert_int_eq(nn_perm_path(ns, "/", &other, 0, NN_W), -EACCES);
	ck_assert_int_eq(nn_perm_path(ns, "/", &root, 0, NN_W), 0);
}
END_TEST

START_TEST(test_parent_write)
{
	/* adding an entry needs write and search on the parent */
	ck_assert_int_eq(nn_perm_path(ns, "/pub/new", &other, NN_W | NN_X, 0), -EACCES);
	ck_assert_int_eq(nn_perm_path(ns, "/pub/new", &owner, NN_W | NN_X, 0), 0);
	ck_assert_int_eq(nn_perm_path(ns, "/w/new", &other, NN_W | NN_X, 0), 0);
	ck_assert_int_eq(nn_perm_path(ns, "/new", &other, NN_W | NN_X, 0), -EACCES);
	ck_assert_int_eq(nn_perm_path(ns, "/new", &root, NN_W | NN_X, 0), 0);
	/* write without search on the parent is not enough */
	set("/w", 0776, 0, 0);
	ck_assert_int_eq(nn_perm_path(ns, "/w/new", &other, NN_W | NN_X, 0), -EACCES);
}
END_TEST

START_TEST(test_mkdirs)
{
	/* the deepest existing directory must be writable and searchable */
	ck_assert_int_eq(nn_perm_mkdirs(ns, "/w/new/deeper", &other), 0);
	ck_assert_int_eq(nn_perm_mkdirs(ns, "/pub/new/x", &other), -EACCES);
	ck_assert_int_eq(nn_perm_mkdirs(ns, "/pub/new/x", &owner), 0);
	ck_assert_int_eq(nn_perm_mkdirs(ns, "/priv/x/y", &member), -EACCES);
	ck_assert_int_eq(nn_perm_mkdirs(ns, "/top/x", &other), -EACCES); /* "/" is 0755 */
	ck_assert_int_eq(nn_perm_mkdirs(ns, "/top/x", &root), 0);
	/* it all exists: only the way there is checked */
	ck_assert_int_eq(nn_perm_mkdirs(ns, "/pub", &other), 0);
	ck_assert_int_eq(nn_perm_mkdirs(ns, "/priv/f", &other), -EACCES);
}
END_TEST

START_TEST(test_remove_and_sticky)
{
	/* sticky /tmp (owned by 700): only the entry's owner or the directory's */
	const struct nn_cred u300 = {300, 300, false}, u400 = {400, 400, false},
			     u700 = {700, 700, false};
	ck_assert_int_eq(nn_perm_remove(ns, "/tmp/b", &u300, false), -EPERM);
	ck_assert_int_eq(nn_perm_remove(ns, "/tmp/a", &u300, false), 0);
	ck_assert_int_eq(nn_perm_remove(ns, "/tmp/b", &u400, false), 0);
	ck_assert_int_eq(nn_perm_remove(ns, "/tmp/b", &u700, false), 0);
	ck_assert_int_eq(nn_perm_remove(ns, "/tmp/b", &root, false), 0);
	/* without the sticky bit anyone who may write the directory removes anything */
	ck_assert_int_eq(nn_perm_remove(ns, "/w/y", &u300, false), 0);
	/* the parent must be writable */
	ck_assert_int_eq(nn_perm_remove(ns, "/pub/f", &other, false), -EACCES);
	ck_assert_int_eq(nn_perm_remove(ns, "/pub/f", &owner, false), 0);
	/* rm -r: every directory below must be writable, searchable and readable */
	ck_assert_int_eq(nn_perm_remove(ns, "/w/tree", &u300, true), -EACCES);
	ck_assert_int_eq(nn_perm_remove(ns, "/w/tree", &u300, false), 0);
	ck_assert_int_eq(nn_perm_remove(ns, "/w/tree2", &u300, true), 0);
	ck_assert_int_eq(nn_perm_remove(ns, "/w/tree", &root, true), 0);
	/* a missing entry is for the operation to report */
	ck_assert_int_eq(nn_perm_remove(ns, "/w/none", &u300, false), 0);
}
END_TEST

START_TEST(test_setattr_rules)
{
	struct nn_attr a = attr(0644, 100, 100);
	/* chmod and times: the owner only */
	ck_assert_int_eq(nn_perm_setattr(&a, &owner, PROTO_SET_MODE, 0, 0), 0);
	ck_assert_int_eq(nn_perm_setattr(&a, &other, PROTO_SET_MODE, 0, 0), -EPERM);
	ck_assert_int_eq(nn_perm_setattr(&a, &member, PROTO_SET_MTIME, 0, 0), -EPERM);
	ck_assert_int_eq(nn_perm_setattr(&a, &owner, PROTO_SET_ATIME | PROTO_SET_MTIME, 0, 0), 0);
	/* chown: only the superuser gives a file away (to itself, the owner may) */
	ck_assert_int_eq(nn_perm_setattr(&a, &owner, PROTO_SET_UID, 600, 0), -EPERM);
	ck_assert_int_eq(nn_perm_setattr(&a, &owner, PROTO_SET_UID, 100, 0), 0);
	ck_assert_int_eq(nn_perm_setattr(&a, &other, PROTO_SET_UID, 600, 0), -EPERM);
	ck_assert_int_eq(nn_perm_setattr(&a, &root, PROTO_SET_UID, 600, 0), 0);
	/* chgrp: the owner, to their own group */
	ck_assert_int_eq(nn_perm_setattr(&a, &owner, PROTO_SET_GID, 0, 100), 0);
	ck_assert_int_eq(nn_perm_setattr(&a, &owner, PROTO_SET_GID, 0, 200), -EPERM);
	ck_assert_int_eq(nn_perm_setattr(&a, &member, PROTO_SET_GID, 0, 200), -EPERM);
	ck_assert_int_eq(nn_perm_setattr(&a, &root, PROTO_SET_GID, 0, 200), 0);
	/* one refused change refuses the request */
	ck_assert_int_eq(nn_perm_setattr(&a, &owner, PROTO_SET_MODE | PROTO_SET_UID, 600, 0),
			 -EPERM);
	/* nothing asked: nothing refused */
	ck_assert_int_eq(nn_perm_setattr(&a, &other, 0, 0, 0), 0);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("perm",
		{"bits", .tests = UNIT_TESTS(test_class_bits, test_setattr_rules)},
		{"paths", .once_setup = tmp_setup, .once_teardown = tmp_teardown, .setup = ns_setup,
		 .teardown = ns_teardown,
		 .tests = UNIT_TESTS(
			test_traverse, test_read_write, test_parent_write, test_mkdirs,
			test_remove_and_sticky)});
}
