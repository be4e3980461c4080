/*
 * Unit tests for the namespace's lookups (namenode/ns_path.c): path checks and
 * resolution, listings (paged and whole) and a file's block list by range.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nstest.h"

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

/* ---- list ---- */

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

/* ---- block lists ---- */

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

int main(void)
{
	return nstest_main("ns_path", UNIT_TESTS(
		test_path_validation, test_list, test_list_errors, test_list_all_pages,
		test_blocks_range));
}
