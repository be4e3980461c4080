/*
 * Unit tests for the namespace's extended attributes (namenode/ns_xattr.c): set, get,
 * list and remove with their flags, and the records' lifetime with the inode's.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "pack.h"

#include "nstest.h"

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

/* How many records of the namespace are extended attributes ("X" keys), read through
 * a dump (the store's own view of every record). */
static int xattr_records(void)
{
	struct nn_ns_dump *d;
	ck_assert_int_eq(nn_ns_dump_start(ns, &d), 0);
	struct buf recs = BUF_INIT;
	while (nn_ns_dump_next(d, &recs, 1 << 20))
		;
	nn_ns_dump_end(d);
	struct unpack u;
	unpack_init(&u, recs.data, recs.len);
	int n = 0;
	while (u.left) {
		uint32_t kl = unpack_u32(&u);
		const char *k = unpack_raw(&u, kl);
		uint32_t vl = unpack_u32(&u);
		unpack_raw(&u, vl);
		ck_assert(unpack_ok(&u));
		n += kl > 0 && k[0] == 'X';
	}
	buf_free(&recs);
	return n;
}

START_TEST(test_xattrs_go_with_the_inode)
{
	create_ok("/f");
	ck_assert_int_eq(nn_ns_xattr_set(ns, "/f", "user.a", "1", 1, 0), 0);
	ck_assert_int_eq(nn_ns_xattr_set(ns, "/f", "user.b", "2", 1, 0), 0);
	ck_assert_int_eq(nn_ns_link(ns, "/f", "/g", NULL), 0);
	mkdir_ok("/d");
	mkdir_ok("/d/e");
	ck_assert_int_eq(nn_ns_xattr_set(ns, "/d/e", "user.c", "3", 1, 0), 0);
	create_ok("/other");
	ck_assert_int_eq(nn_ns_xattr_set(ns, "/other", "user.k", "4", 1, 0), 0);
	ck_assert_int_eq(xattr_records(), 4);
	/* one name of two gone: the inode and its attributes stay */
	ck_assert_int_eq(nn_ns_delete(ns, "/f", false, NULL), 0);
	struct buf v = BUF_INIT;
	ck_assert_int_eq(nn_ns_xattr_get(ns, "/g", "user.b", &v), 0);
	ck_assert_uint_eq(v.len, 1);
	ck_assert_int_eq(xattr_records(), 4);
	/* the last name, a tree, and an overwrite each take theirs along */
	ck_assert_int_eq(nn_ns_delete(ns, "/g", false, NULL), 0);
	ck_assert_int_eq(xattr_records(), 2);
	ck_assert_int_eq(nn_ns_delete(ns, "/d", true, NULL), 0);
	ck_assert_int_eq(xattr_records(), 1);
	ck_assert_int_eq(nn_ns_create(ns, "/other", 0644, true, 0, 0, 0, 0, NULL, NULL), 0);
	ck_assert_int_eq(xattr_records(), 0);
	ck_assert(!(stat_ok("/other").flags & PROTO_A_XATTRS));
	ck_assert_int_eq(nn_ns_xattr_get(ns, "/other", "user.k", &v), -ENODATA);
	buf_free(&v);
}
END_TEST

int main(void)
{
	return nstest_main("ns_xattr", UNIT_TESTS(test_xattrs, test_xattrs_go_with_the_inode));
}
