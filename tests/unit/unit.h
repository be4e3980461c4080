/*
 * unit: what every Check suite under tests/unit shares -- running the suite, and the
 * small helpers several suites use (a deterministic byte pattern, a connected socket
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

/* Runs suite s (taken) and returns the process's exit status. */
static inline int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
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
