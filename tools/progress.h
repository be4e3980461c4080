/*
 * progress: the progress bar of long commands (`dfs put`, `dfs get`): bytes done, rate
 * and time left, redrawn in place on standard error when it is a terminal and -q was
 * not given; nothing at all when piped. With -v, one summary line per file at the end.
 * Main thread only; every call accepts NULL (no bar).
 */
#ifndef DFS_TOOLS_PROGRESS_H
#define DFS_TOOLS_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress;

/* Starts a bar for `what` (a name, copied) of total bytes (0: not known). */
struct progress *progress_start(const char *verb, const char *what, uint64_t total);
/* Sets the bytes done so far (redraws at most ten times a second). */
void progress_set(struct progress *p, uint64_t done);
void progress_add(struct progress *p, uint64_t n);
/* Clears the bar; with -v (and ok) prints "VERB WHAT: N bytes in T s (R MB/s)". Frees p. */
void progress_end(struct progress *p, bool ok);

#endif
