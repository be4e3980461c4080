/*
 * filter: the built-in line filter of `dfs run` (--grep, --regex), evaluated inside the
 * datanode's process: no fork, no copy of the data it is not asked to print.
 *
 * --grep is a fixed string (like grep -F), --regex a POSIX extended regular expression
 * (like grep -E, glibc's regex engine, the C locale); --ignore-case compares ASCII
 * letters without case, --invert selects the lines that do not match. A line is the
 * bytes up to and including '\n'; a selected last line without one is printed with
 * one added, as grep does. An empty pattern matches every line.
 *
 * A struct filter is used by one thread at a time.
 */
#ifndef DFS_COMPUTE_FILTER_H
#define DFS_COMPUTE_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct filter;

/* Checks a pattern before anyone compiles it for real: 0, or -EINVAL with the reason
 * in err -- it does not compile, or it is too complex (stacked or nested repetitions
 * that make glibc's regcomp take unbounded memory: a job must not take a server down). */
int filter_check(uint8_t kind, const char *pattern, uint8_t flags, struct buf *err);
/* kind: JOB_FILTER_GREP or JOB_FILTER_REGEX; flags: JOB_F_INVERT, JOB_F_ICASE.
 * 0, or -EINVAL with the reason in err (a pattern that does not compile). */
int filter_new(uint8_t kind, const char *pattern, uint8_t flags, struct filter **out,
	       struct buf *err);
void filter_free(struct filter *f);
/*
 * Selects lines of data[0..len), which must hold whole lines (only the input's very
 * last line may lack its '\n') and be followed by a NUL (data[len] == 0: regexec
 * reads the string as a C string, as sanitizers check). Appends the selected lines to out (NULL: only count
 * them) and returns how many were selected.
 */
uint64_t filter_run(struct filter *f, const char *data, size_t len, struct buf *out);

#endif
