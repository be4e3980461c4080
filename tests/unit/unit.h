/*
 * unit: what every Check suite under tests/unit shares -- the suite itself, declared as a
 * table of test cases and run by UNIT_MAIN, and the small helpers several suites use (a deterministic byte pattern, a connected socket
 * pair, whether a path exists, a message decoded to its end). Header-only: each suite
 * includes it once; every test runs in its own forked process (CK_FORK default).
 */
#ifndef DFS_UNIT_H
#define DFS_UNIT_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "pack.h"

/* One test case of a suite: its tests and what Check wraps around them. Fields left out
 * (designated initializers) mean "none" / Check's default. */
struct unit_case {
	const char *name;               /* as Check reports it */
	const TTest *const *tests;      /* NULL-terminated: UNIT_TESTS(...) */
	int timeout;                    /* seconds per test; 0 keeps Check's default */
	SFun once_setup, once_teardown; /* unchecked fixture: once, in the runner's process */
	SFun setup, teardown;           /* checked fixture: around each test, in its fork */
	const TTest *loop;              /* also run this test loop_n times, _i = 0..loop_n-1 */
	int loop_n;
};

/* The tests of a unit_case, as a NULL-terminated array (automatic storage: use it inside
 * the function that runs the suite). */
#define UNIT_TESTS(...) ((const TTest *const[]){__VA_ARGS__, NULL})

/* Runs suite `name` made of the unit_case initializers that follow, and returns the
 * process's exit status: `return UNIT_MAIN("buf", {"buf", UNIT_TESTS(test_a, test_b)});` */
#define UNIT_MAIN(name, ...) unit_main((name), (const struct unit_case[]){__VA_ARGS__, {0}})

/* Runs suite s (taken) and returns the process's exit status. */
static inline int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Runs suite `name` of cases (borrowed; ended by one without a name), see UNIT_MAIN. */
static inline int unit_main(const char *name, const struct unit_case *cases)
{
	Suite *s = suite_create(name);
	for (const struct unit_case *c = cases; c->name; c++) {
		TCase *tc = tcase_create(c->name);
		if (c->timeout)
			tcase_set_timeout(tc, c->timeout);
		if (c->once_setup || c->once_teardown)
			tcase_add_unchecked_fixture(tc, c->once_setup, c->once_teardown);
		if (c->setup || c->teardown)
			tcase_add_checked_fixture(tc, c->setup, c->teardown);
		for (const TTest *const *t = c->tests; *t; t++)
			tcase_add_test(tc, *t);
		if (c->loop)
			tcase_add_loop_test(tc, c->loop, 0, c->loop_n);
		suite_add_tcase(s, tc);
	}
	return unit_run(s);
}

/* Fills p[0..n) with a deterministic pseudo-random pattern (xorshift32; seed 0 counts
 * as 1): different seeds give different data. */
static inline void fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed ? seed : 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

/* A new buffer of n bytes of fill(seed)'s pattern; caller frees with free(). */
static inline uint8_t *random_bytes(size_t n, uint32_t seed)
{
	uint8_t *p = malloc(n);
	ck_assert_ptr_nonnull(p);
	fill(p, n, seed);
	return p;
}

/* A connected pair of AF_UNIX stream sockets (close-on-exec) into sv. */
static inline void make_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* Whether path names something (following links). */
static inline bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Decoding u met no error and used up every byte. */
static inline void assert_read_all(const struct unpack *u)
{
	ck_assert(unpack_ok(u));
	ck_assert_uint_eq(u->left, 0);
}

#endif
