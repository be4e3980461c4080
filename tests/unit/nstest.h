/*
 * nstest: what the namespace suites (tests/unit/test_ns_*.c, one per file of
 * namenode/ns_*.c) share -- a fresh temporary tree per test case, a formatted and
 * opened namespace per test (on a real LevelDB), and small assertion helpers.
 * Single-threaded like the namenode's loop; every test runs in its own forked process
 * (CK_FORK default). Header-only: each suite includes it once.
 */
#ifndef DFS_NSTEST_H
#define DFS_NSTEST_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../namenode/ns.h"
#include "log.h"
#include "proto.h"

#include "testdir.h"
#include "unit.h"

#define MB (1024ULL * 1024ULL)

static const struct nn_ns_defaults defaults = {3, 1 * MB};

/* ---- fixtures: one temp tree per test case, one namespace per test ---- */

static const char *nstest_name; /* the suite's, naming its temp tree */
static char dir[4200];          /* the namespace of the running test */
static struct nn_ns *ns;

static inline void tmp_setup(void) { testdir_make(nstest_name); }

static inline void ns_setup(void)
{
	snprintf(dir, sizeof dir, "%s/ns-XXXXXX", tmp_base);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(nn_ns_format(dir), 0);
	ck_assert_int_eq(nn_ns_open(dir, &defaults, &ns), 0);
}

static inline void ns_teardown(void)
{
	nn_ns_close(ns);
	ns = NULL;
}

/* Closes the namespace (syncing it) and opens it again, like a namenode restart. */
static inline void reopen(void)
{
	nn_ns_close(ns);
	ns = NULL;
	ck_assert_int_eq(nn_ns_open(dir, &defaults, &ns), 0);
}

/* Runs the namespace suite `name` (one test case of tests, a UNIT_TESTS list) with the
 * fixtures above and returns the process's exit status. */
static inline int nstest_main(const char *name, const TTest *const *tests)
{
	nstest_name = name;
	log_set_level(LOG_WARN); /* keep expected-failure messages, drop start-up chatter */
	return UNIT_MAIN(name, {name, tests, .timeout = 30, .once_setup = tmp_setup,
				.once_teardown = tmp_teardown, .setup = ns_setup,
				.teardown = ns_teardown});
}

/* ---- helpers ---- */

static inline struct nn_attr stat_ok(const char *path)
{
	struct nn_attr a;
	int rc = nn_ns_stat(ns, path, &a);
	ck_assert_msg(rc == 0, "stat '%s': %d", path, rc);
	return a;
}

static inline int stat_rc(const char *path)
{
	struct nn_attr a;
	return nn_ns_stat(ns, path, &a);
}

static inline struct nn_attr mkdir_ok(const char *path)
{
	struct nn_attr a;
	int rc = nn_ns_mkdir(ns, path, 0755, false, 0, 0, &a);
	ck_assert_msg(rc == 0, "mkdir '%s': %d", path, rc);
	return a;
}

static inline struct nn_attr create_ok(const char *path)
{
	struct nn_attr a;
	int rc = nn_ns_create(ns, path, 0644, false, 0, 0, 1000, 1000, &a, NULL);
	ck_assert_msg(rc == 0, "create '%s': %d", path, rc);
	return a;
}

static inline int create_rc(const char *path, bool overwrite, struct nn_blocks *freed)
{
	struct nn_attr a;
	return nn_ns_create(ns, path, 0644, overwrite, 0, 0, 0, 0, &a, freed);
}

/* Creates a closed file of nblocks full 1M blocks and a last block of `tail` bytes;
 * ids receives the block ids. Returns its attributes. */
static inline struct nn_attr write_file(const char *path, int nblocks, uint64_t tail,
					uint64_t *ids)
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

static inline bool blocks_have(const struct nn_blocks *b, uint64_t id)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].id == id)
			return true;
	return false;
}

/* A directory listing collected by list_ok. */
struct listing {
	char names[16][PROTO_NAME_MAX + 1];
	uint8_t types[16];
	int n;
	int stop_after; /* return 42 from the callback after this many (0 = never) */
};

static inline int list_cb(void *arg, const char *name, const struct nn_attr *a)
{
	struct listing *l = arg;
	ck_assert_int_lt(l->n, 16);
	snprintf(l->names[l->n], sizeof l->names[l->n], "%s", name);
	l->types[l->n] = a->type;
	l->n++;
	return l->stop_after && l->n == l->stop_after ? 42 : 0;
}

static inline void list_ok(const char *path, const char *after, uint32_t max,
			   struct listing *l, bool *more)
{
	memset(l, 0, sizeof *l);
	int rc = nn_ns_list(ns, path, after, max, list_cb, l, more);
	ck_assert_msg(rc == 0, "list '%s': %d", path, rc);
}

#endif
