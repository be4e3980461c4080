/*
 * unit: what every Check suite under tests/unit shares -- running the suite, and the
 * small data helpers several suites use (a deterministic byte pattern, a connected
 * socket pair, whether a path exists). Header-only: each suite includes it once; every
 * test runs in its own forked process (CK_FORK default).
 */
#ifndef DFS_UNIT_H
#define DFS_UNIT_H

#include <check.h>
#include <stdlib.h>

/* Runs suite s (taken) and returns the process's exit status. */
static inline int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
