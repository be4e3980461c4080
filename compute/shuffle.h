/*
 * shuffle: the map side of `dfs run --reduce` and the merge of the reduce side -- sorted
 * runs of records in checksummed files on a node's local scratch disk (never in the
 * file system), the map's bounded sort buffer that spills them, and the bounded fan-in
 * merge. Any one thread per object; the files are the caller's to place and remove
 * (shuf_path names them under the scratch directory).
 *
 * Run file ("run"): frames of  u32 length, u32 crc32c(payload), payload  (big-endian),
 * each payload whole records ('\n'-terminated lines, SHUF_FRAME bytes or one longer
 * record), ended by a frame of length 0 and crc 0. A file without that end, or a frame
 * whose CRC does not match, reads as -EBADMSG: a torn or corrupted run is caught
 * wherever it is read (the map's final merge, the serving datanode, the reducer).
 *
 * Order: records sort by key bytewise (reduce.h), equal keys keeping their input order.
 * A merge breaks ties by source index, so merging a map's spills in spill order, and
 * the maps' partitions in map order, keeps the sort stable (map index, then position).
 *
 * Map collector (struct shuf_map), its state machine:
 *   FILLING --shuf_map_add, buffer past sort_buffer--> spill: the buffer sorted by
 *     (partition, key, position) and written as one run per non-empty partition, then
 *     FILLING again, empty. With a (built-in) combiner the buffer is a hash table of
 *     one partial answer per key instead (in-map combining: a word count buffers its
 *     distinct words, not every word), spilled sorted by (partition, key) as
 *     `key<TAB>partial` lines
 *   With a command combiner (opts.cmd) a spill sorts the buffer, moves it aside and
 *   runs the command once per non-empty partition over its records; the command's
 *   output lines are collected (partitioned again, sorted) into a second buffer, which
 *   spills as plain runs; each buffer then gets half of sort_buffer.
 *   FILLING --shuf_map_finish--> the last spill, then each partition's spills merged
 *     (fan-in bounded, multi-pass) into its final run <base>.p<R>, an empty run for an
 *     empty partition; spills removed --> DONE
 *   any --error--> FAILED (shuf_map_free removes whatever it wrote)
 * The buffer holds the records' bytes plus twice a 24-byte index entry each (the entry
 * and its copy while the spill sorts: by partition, then a radix sort of the key's first
 * 8 bytes, comparisons only among equal prefixes) (combining: the
 * keys, the extremes' texts, and about 70 bytes of table per key); a record larger
 * than sort_buffer is still taken (alone), so memory is bounded by sort_buffer plus the
 * longest record.
 */
#ifndef DFS_COMPUTE_SHUFFLE_H
#define DFS_COMPUTE_SHUFFLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "reduce.h"

#define SHUF_FRAME (64u * 1024u)  /* payload bytes per frame (whole records) */
#define SHUF_FRAME_MAX (1u << 30) /* a longer frame is corrupt */
#define SHUF_FANIN 16             /* runs merged at once */
#define SHUF_SORT_BUFFER_MAX (2ull << 30) /* a larger sort_buffer is taken as this */

/* ---------- run files ---------- */

struct shuf_writer {
	int fd;
	struct buf frame;
	uint64_t bytes, records;
};

/* Creates (truncates) path; 0 or -errno. */
int shuf_writer_open(struct shuf_writer *w, const char *path);
/* Appends one record (line without its '\n'; the '\n' is added). */
int shuf_writer_add(struct shuf_writer *w, const char *line, size_t len);
/* Writes the end frame and closes; 0 or -errno. */
int shuf_writer_close(struct shuf_writer *w);
/* Closes without finishing (the file stays torn: the caller removes it). */
void shuf_writer_abort(struct shuf_writer *w);

struct shuf_reader {
	int fd;
	struct buf frame;
	size_t pos;
	bool ended;
	uint64_t bytes; /* file bytes read */
};

/* Opens a run; 0 or -errno. */
int shuf_reader_open(struct shuf_reader *r, const char *path);
/* The next record into *line, *len (without '\n'; valid until the next call): 1, 0 at
 * the end, -EBADMSG when the file is torn or corrupt, -errno. */
int shuf_reader_next(struct shuf_reader *r, const char **line, size_t *len);
void shuf_reader_close(struct shuf_reader *r);
/* Reads a whole run through, verifying it: 0, -EBADMSG, -errno. */
int shuf_run_check(const char *path, uint64_t *records);

/* ---------- merging ---------- */

struct shuf_merge;

/* Opens a merge of runs paths[0..n) (borrowed; ties go to the lower index). Fan-in is
 * not bounded here: see shuf_merge_reduce. 0 or -errno (*out NULL). */
int shuf_merge_open(const char *const *paths, uint32_t n, uint32_t key_fields,
		    struct shuf_merge **out);
/* Like shuf_reader_next, over the merged runs. */
int shuf_merge_next(struct shuf_merge *m, const char **line, size_t *len);
/* Input bytes read so far. */
uint64_t shuf_merge_bytes(const struct shuf_merge *m);
/* Bytes the merge holds (its sources' frames: about SHUF_FRAME, or the longest record,
 * each). */
uint64_t shuf_merge_mem(const struct shuf_merge *m);
void shuf_merge_close(struct shuf_merge *m);

/*
 * Bounds a merge's fan-in: while more than fanin runs are listed, merges groups of
 * fanin consecutive runs into one new run (named tmp_prefix.mN) in their place,
 * removing the merged inputs whose names start with tmp_prefix or that remove_inputs
 * allows. paths (n of them, malloc'd strings) is rewritten in place; *n shrinks.
 * 0 or -errno.
 */
int shuf_merge_reduce(char **paths, uint32_t *n, uint32_t fanin, uint32_t key_fields,
		      const char *tmp_prefix, bool remove_inputs);

/* Merges runs paths[0..*n) into one run at out (fan-in bounded, temporaries next to
 * out; paths and *n rewritten as by shuf_merge_reduce: the caller frees paths[0..*n)).
 * The inputs are removed when remove_inputs. records: merged records. */
int shuf_merge_files(char **paths, uint32_t *n, uint32_t fanin, uint32_t key_fields,
		     const char *out, bool remove_inputs, uint64_t *records);

/* ---------- the map collector ---------- */

/*
 * A command combiner (shuf_map_opts.cmd): the collector runs it over each sorted
 * partition of each spill. start begins one run of the command (*h: its handle);
 * feed gives it whole lines; finish ends its input and waits for it to exit (0, or
 * -errno with the reason in why). Meanwhile the command's stdout must go to
 * shuf_map_combined(m, ...) (feed and finish drain it). The caller's thread.
 */
struct shuf_cmd_ops {
	void *arg;
	int (*start)(void *arg, void **h);
	int (*feed)(void *h, const char *data, size_t len);
	int (*finish)(void *h, struct buf *why);
};

struct shuf_map_opts {
	const char *base;     /* files are <base>.s<K>.p<R> (spills), <base>.p<R> (final) */
	uint32_t nparts;      /* reducers, >= 1 */
	uint32_t key_fields;  /* >= 1 */
	uint64_t sort_buffer; /* bytes */
	enum mr_builtin combine; /* MR_NONE: no combiner */
	uint32_t fanin;       /* 0: SHUF_FANIN */
	const char *bounds;   /* range partitions: the boundary blob (reduce.h); NULL or
				 "": hash partitions */
	const struct shuf_cmd_ops *cmd; /* a command combiner (combine MR_NONE), or NULL;
				 borrowed for the collector's life */
};

struct shuf_counters {
	uint64_t records_out;     /* map output records collected */
	uint64_t spilled_bytes;   /* bytes written to spill runs */
	uint64_t spills;
	uint64_t combine_in, combine_out;
};

struct shuf_map;

/* A collector (opts copied, base and bounds too). NULL with errno on failure (EINVAL:
 * bad boundaries). */
struct shuf_map *shuf_map_new(const struct shuf_map_opts *o);
/* Takes map output bytes (any split; a line may span calls). 0 or -errno. */
int shuf_map_add(struct shuf_map *m, const char *data, size_t len);
/* Ends the input (an unterminated last line is a record) and writes the final runs.
 * 0 or -errno; why has the reason (a combiner's error). */
int shuf_map_finish(struct shuf_map *m, struct buf *why);
/* A command combiner's output bytes (any split), while it runs (shuf_cmd_ops). Its
 * lines are partitioned again and spilled sorted like map output. 0 or -errno. */
int shuf_map_combined(struct shuf_map *m, const char *data, size_t len);
/* The most bytes the collector held at once (its buffers and tables). */
uint64_t shuf_map_peak(const struct shuf_map *m);
/* Why it failed, when it knows more than an errno ("" otherwise; lives as long as m). */
const char *shuf_map_why(const struct shuf_map *m);
/* The counters so far. */
void shuf_map_counters(const struct shuf_map *m, struct shuf_counters *out);
/* Frees m; unless it finished, removes every file it wrote. */
void shuf_map_free(struct shuf_map *m);

/* ---------- where the runs live ---------- */

/* <scratch>/shuffle/<job> (appended to out). */
void shuf_job_dir(const char *scratch, const char *job, struct buf *out);
/* <scratch>/shuffle/<job>/m<task>_<attempt> (appended): a map attempt's base name. */
void shuf_map_base(const char *scratch, const char *job, uint32_t task, uint32_t attempt,
		   struct buf *out);
/* True when s is a job id safe to put in a path (letters, digits, '_', '-'). */
bool shuf_is_job_id(const char *s);

#endif
