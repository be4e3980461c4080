/*
 * job: the job model shared by the tool, the namenode's scheduler and the datanodes'
 * executors -- what a user submits (spec), what a datanode is told to run (launch),
 * what it says back (report), and what users are shown (info, attempt logs) -- with
 * their wire layouts (pack/unpack, bounded like every decoder in proto.h).
 *
 * A job reads its input files and runs, on each block ("split"), an optional built-in
 * filter (--grep fixed string or --regex POSIX ERE, --invert, --ignore-case) and then
 * an optional map command (`/bin/sh -c CMD`, the split's lines on stdin, its stdout the
 * task's output). Each task's output becomes OUTPUT/part-NNNNN.
 *
 * With a reduce (--reduce CMD or a built-in of reduce.h) the job is MapReduce: each map
 * task's output is partitioned, sorted and kept on its node (shuffle.h); reduce task r
 * fetches partition r from every map, merges it and runs the reduce over it, and its
 * output becomes OUTPUT/part-r-NNNNN. Map tasks are numbered 0..M-1 and reduce tasks
 * M..M+R-1 (reduce task M+r has partition r).
 *
 * Layouts (all big-endian, `str` = u32 length + bytes):
 *   spec:    u32 n, n x str input path, str output, str map command, u8 filter
 *            (JOB_FILTER_*), str pattern, u8 flags (JOB_F_*)
 *            str reduce, str combine, u32 reducers, u32 key fields,
 *            u16 output replication, u8 partitioner (MR_PART_*), str boundaries
 *            (range: reduce.h's blob)
 *   launch:  str job id, u32 task, u32 attempt, str map, u8 filter, str pattern,
 *            u8 flags, str input path, u64 ino, u64 file size, u64 split offset,
 *            u64 split length, u64 block id, u64 genstamp, str output file,
 *            u32 uid, u32 gid, u32 timeout seconds
 *            u8 kind (JOB_K_*), str reduce, str combine, u32 reducers, u32 key fields,
 *            u16 output replication, u32 partition, u8 partitioner, str boundaries,
 *            raw[32] job token, u32 n maps, n x (str node id, str addr, u32 attempt)
 *            (a reduce's maps, by task; attempt 0: not done yet)
 *   report:  str job id, u32 task, u32 attempt, u8 state (JOB_A_*), i32 exit status,
 *            u64 bytes in, u64 bytes read locally, u64 bytes out, u64 records,
 *            str message, str stderr tail, u32 lost map task + 1 (0: none),
 *            u32 its attempt, u64 memory peak, u64 command RSS, u32 progress (ppm),
 *            counters (JOB_NCOUNTERS x u64, enum job_counter)
 *   info:    str id, u8 state (JOB_*), str output, str what, u32 uid, u32 total,
 *            u32 done, u32 running, u32 failed attempts, u32 speculative,
 *            u32 node-local, u32 remote, u64 input bytes, u64 bytes read,
 *            u64 records, u8 flags, i64 submitted (ms since the epoch),
 *            i64 elapsed ms, str error, str error stderr
 *            u8 phase (JOB_PHASE_*), u32 reduce total, u32 reduce done,
 *            u64 map memory, u64 reduce memory, u64 map RSS, u64 reduce RSS,
 *            i64 map phase ms,
 *            JOB_NCOUNTERS x u64 counters
 *   attemptlog: u32 task, u32 attempt, str node, u8 state, i32 exit status,
 *            u8 speculative, u8 node-local, i64 elapsed ms, str message, str stderr,
 *            u64 memory peak, u64 command RSS
 */
#ifndef DFS_COMPUTE_JOB_H
#define DFS_COMPUTE_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "pack.h"
#include "proto.h"

#define JOB_ID_MAX 63
#define JOB_INPUTS_MAX 4096
#define JOB_CMD_MAX 65536
#define JOB_PATTERN_MAX 8192
#define JOB_MSG_MAX 4096
#define JOB_STDERR_MAX 16384 /* tail of each attempt's stderr kept for `dfs job logs` */
#define JOB_TOKEN_LEN 32
#define JOB_MAPS_MAX (1u << 20)

enum job_kind { JOB_K_MAP = 0, JOB_K_REDUCE = 1 };
enum job_phase { JOB_PHASE_MAP = 0, JOB_PHASE_REDUCE = 1, JOB_PHASE_DONE = 2 };

/* Hadoop-style counters, reported per attempt and summed over the winners. */
enum job_counter {
	JOB_C_MAP_INPUT_RECORDS,
	JOB_C_MAP_OUTPUT_RECORDS,
	JOB_C_SPILLED_BYTES,
	JOB_C_COMBINE_INPUT_RECORDS,
	JOB_C_COMBINE_OUTPUT_RECORDS,
	JOB_C_SHUFFLE_BYTES_LOCAL,
	JOB_C_SHUFFLE_BYTES_REMOTE,
	JOB_C_REDUCE_INPUT_GROUPS,
	JOB_C_REDUCE_INPUT_RECORDS,
	JOB_NCOUNTERS
};
/* The JSON name of a counter ("map_input_records", ...). */
const char *job_counter_name(int c);

enum job_filter { JOB_FILTER_NONE = 0, JOB_FILTER_GREP = 1, JOB_FILTER_REGEX = 2 };

#define JOB_F_INVERT 0x01
#define JOB_F_ICASE 0x02
#define JOB_F_COUNT 0x04
#define JOB_F_OVERWRITE 0x08
#define JOB_F_ALL 0x0f

/* Job states. */
enum job_state { JOB_RUNNING = 1, JOB_SUCCEEDED = 2, JOB_FAILED = 3, JOB_KILLED = 4 };
/* Attempt states. */
enum job_astate { JOB_A_RUNNING = 1, JOB_A_SUCCEEDED = 2, JOB_A_FAILED = 3, JOB_A_KILLED = 4 };

struct job_spec {
	uint32_t ninputs;
	char **inputs;
	char *output;
	char *map; /* "" = none */
	uint8_t filter;
	char *pattern;
	uint8_t flags;
	char *reduce;         /* "" = map-only; a built-in name or a command */
	char *combine;        /* "" = none; a built-in name */
	uint32_t reducers;    /* reduce tasks (0 with no reduce) */
	uint32_t key_fields;  /* >= 1 */
	uint16_t out_repl;    /* output replication (0: the file system's default) */
	uint8_t partitioner;  /* MR_PART_* */
	char *bounds;         /* range: the boundary blob (reduce.h), "" otherwise */
};

/* Where reduce tasks fetch one map's output. */
struct job_map_loc {
	char node[PROTO_ID_MAX + 1];
	char addr[PROTO_ADDR_MAX + 1];
	uint32_t attempt;
};

struct job_launch {
	char job[JOB_ID_MAX + 1];
	uint32_t task, attempt;
	char *map;
	uint8_t filter;
	char *pattern;
	uint8_t flags;
	char *input;
	uint64_t ino, fsize, offset, length, block, gs;
	char *output;
	uint32_t uid, gid, timeout;
	uint8_t kind; /* JOB_K_* */
	char *reduce, *combine;
	uint32_t reducers, key_fields;
	uint16_t out_repl;
	uint32_t partition; /* reduce: its partition */
	uint8_t token[JOB_TOKEN_LEN];
	uint32_t nmaps; /* reduce: where each map's output is (maps[task]) */
	struct job_map_loc *maps;
	uint8_t partitioner;
	char *bounds;
};

struct job_report {
	char job[JOB_ID_MAX + 1];
	uint32_t task, attempt;
	uint8_t state;
	int32_t exit_status; /* exit code, 128 + signal, or -1 when no command ran */
	uint64_t bytes_in, bytes_local, bytes_out, records;
	char *message;
	char *stderr_tail;
	uint64_t counters[JOB_NCOUNTERS];
	uint32_t lost_map; /* a reduce could not fetch map task lost_map - 1 (0: none) */
	uint32_t lost_attempt;
	uint64_t mem_peak; /* most bytes of records the datanode held for it at once */
	uint64_t cmd_rss;  /* the largest peak RSS of its commands (wait4), bytes */
	uint32_t progress; /* a reduce's progress in millionths (copy, merge, reduce) */
};

struct job_info {
	char id[JOB_ID_MAX + 1];
	uint8_t state;
	char *output, *what;
	uint32_t uid;
	uint32_t total, done, running, failed_attempts, speculative, node_local, remote;
	uint64_t input_bytes, bytes_read, records;
	uint8_t flags;
	int64_t submitted_ms, elapsed_ms;
	char *error, *error_stderr;
	uint8_t phase; /* JOB_PHASE_* */
	uint32_t reduce_total, reduce_done;
	uint64_t counters[JOB_NCOUNTERS];
	/* the largest over the job's attempts: mem_peak and cmd_rss of maps, of reduces */
	uint64_t map_mem, reduce_mem, map_rss, reduce_rss;
	int64_t map_elapsed_ms; /* submit to the last map's end (0: not yet, map-only) */
};

struct job_attempt_log {
	uint32_t task, attempt;
	char node[PROTO_ID_MAX + 1];
	uint8_t state;
	int32_t exit_status;
	bool speculative, local;
	int64_t elapsed_ms;
	char *message, *stderr_text;
	uint64_t mem_peak, cmd_rss;
};

/* Checks a spec: inputs and output present, a filter, a map or a reduce, a pattern
 * that compiles, known flags, a reduce with reducers >= 1, a combiner only with it, key
 * fields >= 1. 0, or -EINVAL with the reason in err. */
int job_spec_check(const struct job_spec *s, struct buf *err);
void job_spec_pack(struct buf *b, const struct job_spec *s);
/* 0, or -EPROTO when malformed (s is then freed). */
int job_spec_unpack(struct unpack *u, struct job_spec *s);
void job_spec_free(struct job_spec *s);
/* A one-line description: "grep 'x' | map 'wc -l'" (appended to out). */
void job_spec_describe(const struct job_spec *s, struct buf *out);

void job_launch_pack(struct buf *b, const struct job_launch *l);
int job_launch_unpack(struct unpack *u, struct job_launch *l);
void job_launch_free(struct job_launch *l);

void job_report_pack(struct buf *b, const struct job_report *r);
int job_report_unpack(struct unpack *u, struct job_report *r);
void job_report_free(struct job_report *r);

void job_info_pack(struct buf *b, const struct job_info *i);
int job_info_unpack(struct unpack *u, struct job_info *i);
void job_info_free(struct job_info *i);

void job_attempt_log_pack(struct buf *b, const struct job_attempt_log *a);
int job_attempt_log_unpack(struct unpack *u, struct job_attempt_log *a);
void job_attempt_log_free(struct job_attempt_log *a);

/* The spec is a MapReduce job (it has a reduce). */
bool job_spec_is_mr(const struct job_spec *s);
/* "map", "reduce", "done". */
const char *job_phase_name(uint8_t phase);

/* "running", "succeeded", "failed", "killed" (job and attempt states share names). */
const char *job_state_name(uint8_t state);

#endif
