/*
 * split: which bytes of a file a task processes, so that no line is lost or doubled at
 * block boundaries (Hadoop's line reader rule).
 *
 * The task of the split [start, start+len) of a file owns the lines that begin in
 * (start, start+len], plus the line at offset 0 when start is 0: it skips through the
 * first '\n' at or after start unless it is the file's first split, and reads past its
 * end to finish its last line (which may begin exactly at start+len). The next split's
 * task skips exactly that line. A line longer than a block is owned by the split it
 * begins in; a split inside it owns nothing. An unterminated last line is owned as it
 * is. Concatenating every split's bytes gives the file back exactly.
 */
#ifndef DFS_COMPUTE_SPLIT_H
#define DFS_COMPUTE_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads up to max bytes of the file at off into buf: bytes read (> 0), 0 at the end of
 * the file, or -errno. */
typedef ssize_t (*split_read_fn)(void *arg, uint64_t off, void *buf, size_t max);
/* Takes the next piece of the split's bytes (data[len] is a NUL, so a piece may go to
 * C string functions such as regexec): 0, or -errno to stop. */
typedef int (*split_sink_fn)(void *arg, const char *data, size_t len);

struct split_opts {
	size_t buf_size;  /* read size (grown for lines longer than it); a multiple of
	                     `align` keeps reads aligned */
	size_t align;     /* reads end on multiples of this when they can (checksum chunks) */
	bool whole_lines; /* hand the sink whole lines only (the last piece may end
	                     without '\n' at the end of the file) */
};

/*
 * Reads the split [start, start+len) of a file of fsize bytes through rd and hands the
 * bytes it owns to sink, in order. *bytes_read counts every byte read (including the
 * skipped and the read-ahead ones). 0, or the first error of rd or sink.
 */
int split_run(uint64_t start, uint64_t len, uint64_t fsize, const struct split_opts *o,
	      split_read_fn rd, void *rarg, split_sink_fn sink, void *sarg,
	      uint64_t *bytes_read);

#endif
