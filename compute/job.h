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
 * Layouts (all big-endian, `str` = u32 length + bytes):
 *   spec:    u32 n, n x str input path, str output, str map command, u8 filter
 *            (JOB_FILTER_*), str pattern, u8 flags (JOB_F_*)
 *   launch:  str job id, u32 task, u32 attempt, str map, u8 filter, str pattern,
 *            u8 flags, str input path, u64 ino, u64 file size, u64 split offset,
 *            u64 split length, u64 block id, u64 genstamp, str output file,
 *            u32 uid, u32 gid, u32 timeout seconds
 *   report:  str job id, u32 task, u32 attempt, u8 state (JOB_A_*), i32 exit status,
 *            u64 bytes in, u64 bytes read locally, u64 bytes out, u64 records,
 *            str message, str stderr tail
 *   info:    str id, u8 state (JOB_*), str output, str what, u32 uid, u32 total,
 *            u32 done, u32 running, u32 failed attempts, u32 speculative,
 *            u32 node-local, u32 remote, u64 input bytes, u64 bytes read,
 *            u64 records, u8 flags, i64 submitted (ms since the epoch),
 *            i64 elapsed ms, str error, str error stderr
 *   attemptlog: u32 task, u32 attempt, str node, u8 state, i32 exit status,
 *            u8 speculative, u8 node-local, i64 elapsed ms, str message, str stderr
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
};

struct job_report {
	char job[JOB_ID_MAX + 1];
	uint32_t task, attempt;
	uint8_t state;
	int32_t exit_status; /* exit code, 128 + signal, or -1 when no command ran */
	uint64_t bytes_in, bytes_local, bytes_out, records;
	char *message;
	char *stderr_tail;
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
};

struct job_attempt_log {
	uint32_t task, attempt;
	char node[PROTO_ID_MAX + 1];
	uint8_t state;
	int32_t exit_status;
	bool speculative, local;
	int64_t elapsed_ms;
	char *message, *stderr_text;
};

/* Checks a spec: inputs and output present, a filter or a map (or both), a pattern
 * that compiles, known flags. 0, or -EINVAL with the reason in err. */
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

/* "running", "succeeded", "failed", "killed" (job and attempt states share names). */
const char *job_state_name(uint8_t state);

#endif
