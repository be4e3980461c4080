/*
 * testdir: a fresh temporary directory per test case for the Check suites (an unchecked
 * fixture, so it is made and removed in the parent process), under $TMPDIR or /tmp.
 * Header-only: each suite includes it once.
 */
#ifndef DFS_TESTDIR_H
#define DFS_TESTDIR_H

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* The current test case's directory. */
static char tmp_base[4096];

/* Makes tmp_base, named after the suite ("dfs-test-NAME-XXXXXX"). */
static inline void testdir_make(const char *name)
{
	const char *t = getenv("TMPDIR");
	snprintf(tmp_base, sizeof tmp_base, "%s/dfs-test-%s-XXXXXX", t && *t ? t : "/tmp", name);
	ck_assert_ptr_nonnull(mkdtemp(tmp_base));
}

static inline int testdir_rm_one(const char *path, const struct stat *st, int flag,
				 struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes tmp_base and everything below it. */
static inline void tmp_teardown(void)
{
	nftw(tmp_base, testdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
