/*
 * reduce: the MapReduce record model shared by the map side (shuffle.h) and the reduce
 * side (executor.h) of `dfs run --reduce` -- keys, partitions, key order -- and the
 * built-in reducers, which also serve as combiners. Pure functions and one small state
 * machine per reducer; no I/O, no threads of its own (the caller's thread).
 *
 * Records follow Hadoop Streaming: a record is one line (without its '\n'). Its key is
 * the text up to the first tab, or with key_fields K up to the K-th tab; a line with
 * fewer tabs is all key (and an empty value). The value is what follows the key's tab.
 * Keys compare as bytes (memcmp, a shorter prefix first: `LC_ALL=C sort` order), never
 * by locale. The partition of a key is a stable 64-bit FNV-1a hash of its bytes modulo
 * the number of reducers, the same on every node and every run; or, with range
 * partitioning (TeraSort's trick), the number of boundaries <= the key, for N-1
 * increasing boundary keys picked from a sample of the input at submit time, so that
 * the partitions in order are globally sorted. Boundaries only balance the reducers'
 * loads: any set of them gives a correct answer.
 *
 * Built-in reducers (MR_COUNT, MR_SUM, MR_MIN, MR_MAX) read sorted records and print
 * one `key<TAB>number` line per key: count the lines of a key; sum, min and max its
 * values as numbers (integers while every value is one, else doubles printed with
 * %.15g; min and max print the extreme value as it was written). A value that is not
 * a number is an error naming the key. As a combiner a built-in emits the same lines,
 * which are partial answers; the reducer after a built-in combiner runs in `partials`
 * mode, where count adds the partial counts (sum, min and max are unchanged: a sum of
 * partial sums is the sum, the min of minimums the minimum).
 *
 * Reducer state machine (struct mr_reducer):
 *   EMPTY --mr_reducer_line--> IN_KEY (a key is open: its count or extreme so far)
 *   IN_KEY --mr_reducer_line, same key--> IN_KEY
 *   IN_KEY --mr_reducer_line, new key--> IN_KEY (the old key's line is emitted first)
 *   IN_KEY --mr_reducer_finish--> DONE (the last key's line emitted)
 *   any --error (bad number, emit failed)--> FAILED (every later call returns it)
 */
#ifndef DFS_COMPUTE_REDUCE_H
#define DFS_COMPUTE_REDUCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum mr_partitioner { MR_PART_HASH = 0, MR_PART_RANGE = 1 };
enum mr_builtin { MR_NONE = 0, MR_COUNT = 1, MR_SUM = 2, MR_MIN = 3, MR_MAX = 4 };

#define MR_REDUCERS_MAX 10000
#define MR_KEY_FIELDS_MAX 1000
#define MR_BOUND_KEY_MAX 4096 /* longer sampled keys are not made boundaries */
#define MR_BOUNDS_MAX (512u << 10) /* bytes of a job's boundary keys */

/* Length of the key of line[0..len): up to the key_fields-th tab (key_fields >= 1). */
size_t mr_key_len(const char *line, size_t len, uint32_t key_fields);
/* Bytewise order of two keys: <0, 0, >0 (memcmp, then the shorter first). */
int mr_key_cmp(const char *a, size_t alen, const char *b, size_t blen);
/* The 64-bit FNV-1a hash of a key. */
uint64_t mr_hash(const char *key, size_t klen);
/* The partition (0..nparts-1) of a key (mr_hash mod nparts); nparts >= 1. */
uint32_t mr_partition(const char *key, size_t klen, uint32_t nparts);

/* Range boundaries: n increasing keys (borrowed from the blob they were parsed from). */
struct mr_bounds {
	uint32_t n;
	const char **key;
	size_t *len;
};

/* Parses a boundary blob ('\n'-terminated keys, strictly increasing): 0, -EINVAL (out
 * empty), -ENOMEM. out borrows blob. */
int mr_bounds_parse(const char *blob, size_t len, struct mr_bounds *out);
void mr_bounds_free(struct mr_bounds *b);
/* The range partition of a key: how many boundaries are <= it (0..n). */
uint32_t mr_partition_range(const struct mr_bounds *b, const char *key, size_t klen);
/* Up to nparts-1 boundaries at the quantiles of the keys of sample (lines, each
 * '\n'-terminated), distinct and increasing, appended to out as a blob. Keys with a
 * NUL byte, or longer than MR_BOUND_KEY_MAX, are left out. */
void mr_bounds_from_sample(const char *sample, size_t len, uint32_t key_fields,
			   uint32_t nparts, struct buf *out);

/* The built-in named name ("count", "sum", "min", "max"), or MR_NONE (a command). */
enum mr_builtin mr_builtin_parse(const char *name);
/* "count", ... ("" for MR_NONE). */
const char *mr_builtin_name(enum mr_builtin b);

/* A number as the built-ins see it: an integer while every value was one. */
struct mr_num {
	bool is_int;
	int64_t i;
	double d;
};

/* One key's partial answer, for combining in a table (shuffle.h); zero it to start. */
struct mr_partial {
	uint64_t count; /* values folded in */
	struct mr_num v; /* the sum, or the extreme (count with partials: the sum) */
};

/* Folds value v[0..n) into p for built-in b: count counts (with partials it adds the
 * values), sum adds, min/max keep the extreme, setting *extreme when this value is the
 * new one (the caller keeps its text: that is what min/max print). 0, or -EINVAL when
 * the value is not a number. */
int mr_partial_add(enum mr_builtin b, bool partials, struct mr_partial *p, const char *v,
		   size_t n, bool *extreme);
/* Appends p's number for count and sum (min/max print the text they kept). */
void mr_partial_format(enum mr_builtin b, bool partials, const struct mr_partial *p,
		       struct buf *out);
/* Appends the error for a value that is not a number. */
void mr_partial_error(enum mr_builtin b, const char *key, size_t klen, const char *v, size_t vn,
		      struct buf *out);

/* Where a reducer's output lines go (each a whole line with its '\n'); 0 or -errno. */
typedef int (*mr_emit_fn)(void *arg, const char *line, size_t len);

struct mr_reducer;

/* A built-in reducer b (not MR_NONE) whose lines go to emit(arg, ...). NULL on ENOMEM. */
struct mr_reducer *mr_reducer_new(enum mr_builtin b, bool partials, uint32_t key_fields,
				  mr_emit_fn emit, void *arg);
/* One record (line without '\n'), in key order. 0, or -EINVAL (a bad number: see
 * mr_reducer_error) or emit's error. */
int mr_reducer_line(struct mr_reducer *r, const char *line, size_t len);
/* Emits the last key. 0 or the error. */
int mr_reducer_finish(struct mr_reducer *r);
/* Why the reducer failed ("" when it did not); lives as long as r. */
const char *mr_reducer_error(const struct mr_reducer *r);
/* Keys (groups) and records seen so far. */
uint64_t mr_reducer_groups(const struct mr_reducer *r);
uint64_t mr_reducer_records(const struct mr_reducer *r);
void mr_reducer_free(struct mr_reducer *r);

#endif
