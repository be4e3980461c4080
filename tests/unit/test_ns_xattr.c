/*
 * Unit tests for the namespace's extended attributes (namenode/ns_xattr.c).
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "buf.h"

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

static Suite *ns_xattr_suite(void)
{
	Suite *s = suite_create("ns_xattr");
	TCase *tc = nstest_tcase("ns_xattr");
	tcase_add_test(tc, test_xattrs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return nstest_main(ns_xattr_suite()); }
