/* job: the job model and its wire layouts. See job.h. Any thread. */
#include "job.h"

#include <errno.h>
#include <regex.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "proto.h"
#include "reduce.h"

int job_spec_check(const struct job_spec *s, struct buf *err)
{
	if (!s->ninputs)
		return buf_printf(err, "no input given (--input PATH)"), -EINVAL;
	if (!s->output || !s->output[0])
		return buf_printf(err, "no output directory given (--output DIR)"), -EINVAL;
	if (s->filter > JOB_FILTER_REGEX || (s->flags & ~JOB_F_ALL))
		return buf_printf(err, "unknown filter or flags"), -EINVAL;
	bool has_map = s->map && s->map[0];
	bool mr = job_spec_is_mr(s);
	if (!has_map && s->filter == JOB_FILTER_NONE && !mr)
		return buf_printf(err, "nothing to run: give --map, --grep or --regex (or --reduce)"),
		       -EINVAL;
	if (mr && !s->reducers)
		return buf_printf(err, "--reduce needs at least one reducer (--reducers N, N >= 1); "
				       "--reducers 0 is a map-only job"),
		       -EINVAL;
	if (!mr && s->reducers)
		return buf_printf(err, "--reducers needs --reduce CMD|count|sum|min|max"), -EINVAL;
	if (s->reducers > MR_REDUCERS_MAX)
		return buf_printf(err, "--reducers %u: at most %u", s->reducers, MR_REDUCERS_MAX),
		       -EINVAL;
	if (s->combine && s->combine[0] && !mr)
		return buf_printf(err, "--combine needs --reduce"), -EINVAL;
	if (mr && (!s->key_fields || s->key_fields > MR_KEY_FIELDS_MAX))
		return buf_printf(err, "--key-fields %u: the key is 1 to %u tab-separated fields",
				  s->key_fields, MR_KEY_FIELDS_MAX),
		       -EINVAL;
	if (s->key_fields > 1 && !mr)
		return buf_printf(err, "--key-fields needs --reduce"), -EINVAL;
	if (s->out_repl > PROTO_REPL_MAX)
		return buf_printf(err, "--output-replication %u: at most %u", s->out_repl,
				  PROTO_REPL_MAX),
		       -EINVAL;
	if (s->partitioner > MR_PART_RANGE || (s->partitioner && !mr))
		return buf_printf(err, "--partition range needs --reduce"), -EINVAL;
	struct mr_bounds mb;
	size_t bl = s->bounds ? strlen(s->bounds) : 0;
	if (bl > MR_BOUNDS_MAX || mr_bounds_parse(s->bounds ? s->bounds : "", bl, &mb))
		return buf_printf(err, "bad range boundaries (too long, or not increasing)"),
		       -EINVAL;
	bool too_many = mb.n >= (s->reducers ? s->reducers : 1) && mb.n;
	mr_bounds_free(&mb);
	if (too_many || (bl && s->partitioner != MR_PART_RANGE))
		return buf_printf(err, "range boundaries: fewer than the reducers, and only with "
				       "--partition range"),
		       -EINVAL;
	if (mr && (s->flags & JOB_F_COUNT))
		return buf_printf(err, "--count cannot be used with --reduce"), -EINVAL;
	if (s->filter == JOB_FILTER_NONE && (s->flags & (JOB_F_INVERT | JOB_F_ICASE | JOB_F_COUNT)))
		return buf_printf(err, "--invert, --ignore-case and --count need --grep or "
				       "--regex"),
		       -EINVAL;
	if (has_map && (s->flags & JOB_F_COUNT))
		return buf_printf(err, "--count counts the filter's lines; it cannot be used "
				       "with --map"),
		       -EINVAL;
	if (s->filter == JOB_FILTER_REGEX &&
	    filter_check(s->filter, s->pattern ? s->pattern : "", s->flags, err))
		return -EINVAL;
	return 0;
}

void job_spec_pack(struct buf *b, const struct job_spec *s)
{
	pack_u32(b, s->ninputs);
	for (uint32_t i = 0; i < s->ninputs; i++)
		pack_str(b, s->inputs[i]);
	pack_str(b, s->output);
	pack_str(b, s->map);
	pack_u8(b, s->filter);
	pack_str(b, s->pattern);
	pack_u8(b, s->flags);
	pack_str(b, s->reduce);
	pack_str(b, s->combine);
	pack_u32(b, s->reducers);
	pack_u32(b, s->key_fields);
	pack_u16(b, s->out_repl);
	pack_u8(b, s->partitioner);
	pack_str(b, s->bounds);
}

bool job_spec_is_mr(const struct job_spec *s) { return s->reduce && s->reduce[0]; }

int job_spec_unpack(struct unpack *u, struct job_spec *s)
{
	memset(s, 0, sizeof *s);
	uint32_t n = unpack_count(u, 4);
	if (n > JOB_INPUTS_MAX)
		u->err = true;
	if (unpack_ok(u)) {
		s->inputs = calloc(n ? n : 1, sizeof *s->inputs);
		if (!s->inputs)
			return -ENOMEM;
		for (; s->ninputs < n && unpack_ok(u); s->ninputs++)
			s->inputs[s->ninputs] = unpack_strdup(u, PROTO_PATH_MAX);
	}
	s->output = unpack_strdup(u, PROTO_PATH_MAX);
	s->map = unpack_strdup(u, JOB_CMD_MAX);
	s->filter = unpack_u8(u);
	s->pattern = unpack_strdup(u, JOB_PATTERN_MAX);
	s->flags = unpack_u8(u);
	s->reduce = unpack_strdup(u, JOB_CMD_MAX);
	s->combine = unpack_strdup(u, JOB_CMD_MAX);
	s->reducers = unpack_u32(u);
	s->key_fields = unpack_u32(u);
	s->out_repl = unpack_u16(u);
	s->partitioner = unpack_u8(u);
	s->bounds = unpack_strdup(u, MR_BOUNDS_MAX);
	if (!unpack_ok(u)) {
		job_spec_free(s);
		return -EPROTO;
	}
	return 0;
}

void job_spec_free(struct job_spec *s)
{
	for (uint32_t i = 0; i < s->ninputs; i++)
		free(s->inputs[i]);
	free(s->inputs);
	free(s->output);
	free(s->map);
	free(s->pattern);
	free(s->reduce);
	free(s->combine);
	free(s->bounds);
	memset(s, 0, sizeof *s);
}

void job_spec_describe(const struct job_spec *s, struct buf *out)
{
	if (s->filter) {
		buf_printf(out, "%s%s%s%s '%s'", s->filter == JOB_FILTER_GREP ? "grep" : "regex",
			   (s->flags & JOB_F_INVERT) ? " -v" : "",
			   (s->flags & JOB_F_ICASE) ? " -i" : "",
			   (s->flags & JOB_F_COUNT) ? " -c" : "", s->pattern);
	}
	if (s->map && s->map[0])
		buf_printf(out, "%smap '%s'", s->filter ? " | " : "", s->map);
	if (job_spec_is_mr(s)) {
		if (s->combine && s->combine[0])
			buf_printf(out, "%scombine %s", out->len ? " | " : "", s->combine);
		buf_printf(out, "%sreduce '%s' x %u%s", out->len ? " | " : "", s->reduce,
			   s->reducers, s->partitioner == MR_PART_RANGE ? " (range)" : "");
	}
}

/*
 * The fixed layouts (launch, report, info, attempt log) are tables: each lists its
 * struct's fields in wire order, and one packer, one unpacker and one free walk them,
 * so a layout is written once (job.h documents the same order).
 *
 * FIELD_INTS lists the integer kinds of field: the kind, the member's C type, and the
 * pack_ / unpack_ function of its wire width (a bool travels as u8).
 */
#define FIELD_INTS(X)                                                                      \
	X(U8, uint8_t, u8)                                                                 \
	X(BOOL, bool, u8)                                                                  \
	X(U16, uint16_t, u16)                                                              \
	X(U32, uint32_t, u32)                                                              \
	X(I32, int32_t, i32)                                                               \
	X(U64, uint64_t, u64)                                                              \
	X(I64, int64_t, i64)

#define KIND_ENUM(kind, type, wire) F_##kind,
enum field_kind {
	FIELD_INTS(KIND_ENUM)
	F_ID,  /* a str into a char array of the struct */
	F_STR, /* a str into a heap copy (char *), freed by fields_free */
};
#undef KIND_ENUM

struct field {
	enum field_kind kind;
	size_t off;
	size_t max; /* F_ID: the array's size; F_STR: the longest string accepted */
};

#define FIELD(type, kind, name, max) {F_##kind, offsetof(type, name), (max)}
#define FIELD_ID(type, name) {F_ID, offsetof(type, name), sizeof ((type *)0)->name}
#define NFIELDS(t) (sizeof (t) / sizeof (t)[0])

static void fields_pack(struct buf *b, const void *obj, const struct field *f, size_t n)
{
#define PACK_INT(kind, type, wire)                                                         \
	case F_##kind: pack_##wire(b, *(const type *)p); break;
	for (size_t i = 0; i < n; i++) {
		const char *p = (const char *)obj + f[i].off;
		switch (f[i].kind) {
		FIELD_INTS(PACK_INT)
		case F_ID: pack_str(b, p); break;
		case F_STR: pack_str(b, *(char *const *)p); break;
		}
	}
#undef PACK_INT
}

static void fields_free(void *obj, const struct field *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].kind == F_STR) {
			char **p = (char **)((char *)obj + f[i].off);
			free(*p);
			*p = NULL;
		}
}

/* Decodes obj (size bytes, zeroed first): 0, or -EPROTO with obj's strings freed. */
static int fields_unpack(struct unpack *u, void *obj, size_t size, const struct field *f,
			 size_t n)
{
#define UNPACK_INT(kind, type, wire)                                                       \
	case F_##kind: *(type *)p = unpack_##wire(u); break;
	memset(obj, 0, size);
	for (size_t i = 0; i < n; i++) {
		char *p = (char *)obj + f[i].off;
		switch (f[i].kind) {
		FIELD_INTS(UNPACK_INT)
		case F_ID: unpack_str(u, p, f[i].max); break;
		case F_STR: *(char **)p = unpack_strdup(u, f[i].max); break;
		}
	}
#undef UNPACK_INT
	if (unpack_ok(u))
		return 0;
	fields_free(obj, f, n);
	return -EPROTO;
}

/* the fields of each layout, in wire order */
#define FL(kind, name, max) FIELD(struct job_launch, kind, name, max)
#define FR(kind, name, max) FIELD(struct job_report, kind, name, max)
#define FI(kind, name, max) FIELD(struct job_info, kind, name, max)
#define FA(kind, name, max) FIELD(struct job_attempt_log, kind, name, max)

static const struct field launch_fields[] = {
	FIELD_ID(struct job_launch, job), FL(U32, task, 0), FL(U32, attempt, 0),
	FL(STR, map, JOB_CMD_MAX), FL(U8, filter, 0), FL(STR, pattern, JOB_PATTERN_MAX),
	FL(U8, flags, 0), FL(STR, input, PROTO_PATH_MAX), FL(U64, ino, 0), FL(U64, fsize, 0),
	FL(U64, offset, 0), FL(U64, length, 0), FL(U64, block, 0), FL(U64, gs, 0),
	FL(STR, output, PROTO_PATH_MAX), FL(U32, uid, 0), FL(U32, gid, 0), FL(U32, timeout, 0),
	FL(U8, kind, 0), FL(STR, reduce, JOB_CMD_MAX), FL(STR, combine, JOB_CMD_MAX),
	FL(U32, reducers, 0), FL(U32, key_fields, 0), FL(U16, out_repl, 0), FL(U32, partition, 0),
	FL(U8, partitioner, 0), FL(STR, bounds, MR_BOUNDS_MAX),
	/* then by hand: raw token, u32 n, n x map location */
};

static const struct field report_fields[] = {
	FIELD_ID(struct job_report, job), FR(U32, task, 0), FR(U32, attempt, 0),
	FR(U8, state, 0), FR(I32, exit_status, 0), FR(U64, bytes_in, 0), FR(U64, bytes_local, 0),
	FR(U64, bytes_out, 0), FR(U64, records, 0), FR(STR, message, JOB_MSG_MAX),
	FR(STR, stderr_tail, JOB_STDERR_MAX), FR(U32, lost_map, 0), FR(U32, lost_attempt, 0),
	FR(U64, mem_peak, 0), FR(U64, cmd_rss, 0), FR(U32, progress, 0),
	/* then by hand: the counters */
};

static const struct field info_fields[] = {
	FIELD_ID(struct job_info, id), FI(U8, state, 0), FI(STR, output, PROTO_PATH_MAX),
	FI(STR, what, JOB_CMD_MAX + JOB_PATTERN_MAX + 64), FI(U32, uid, 0), FI(U32, total, 0),
	FI(U32, done, 0), FI(U32, running, 0), FI(U32, failed_attempts, 0),
	FI(U32, speculative, 0), FI(U32, node_local, 0), FI(U32, remote, 0),
	FI(U64, input_bytes, 0), FI(U64, bytes_read, 0), FI(U64, records, 0), FI(U8, flags, 0),
	FI(I64, submitted_ms, 0), FI(I64, elapsed_ms, 0), FI(STR, error, JOB_MSG_MAX),
	FI(STR, error_stderr, JOB_STDERR_MAX), FI(U8, phase, 0), FI(U32, reduce_total, 0),
	FI(U32, reduce_done, 0), FI(U64, map_mem, 0), FI(U64, reduce_mem, 0),
	FI(U64, map_rss, 0), FI(U64, reduce_rss, 0), FI(I64, map_elapsed_ms, 0),
	/* then by hand: the counters */
};

static const struct field attempt_log_fields[] = {
	FA(U32, task, 0), FA(U32, attempt, 0), FIELD_ID(struct job_attempt_log, node),
	FA(U8, state, 0), FA(I32, exit_status, 0), FA(BOOL, speculative, 0), FA(BOOL, local, 0),
	FA(I64, elapsed_ms, 0), FA(STR, message, JOB_MSG_MAX), FA(STR, stderr_text, JOB_STDERR_MAX),
	FA(U64, mem_peak, 0), FA(U64, cmd_rss, 0),
};
#undef FL
#undef FR
#undef FI
#undef FA

static void counters_pack(struct buf *b, const uint64_t *c)
{
	for (int i = 0; i < JOB_NCOUNTERS; i++)
		pack_u64(b, c[i]);
}

static void counters_unpack(struct unpack *u, uint64_t *c)
{
	for (int i = 0; i < JOB_NCOUNTERS; i++)
		c[i] = unpack_u64(u);
}

void job_launch_pack(struct buf *b, const struct job_launch *l)
{
	fields_pack(b, l, launch_fields, NFIELDS(launch_fields));
	pack_raw(b, l->token, JOB_TOKEN_LEN);
	pack_u32(b, l->nmaps);
	for (uint32_t i = 0; i < l->nmaps; i++) {
		pack_str(b, l->maps[i].node);
		pack_str(b, l->maps[i].addr);
		pack_u32(b, l->maps[i].attempt);
	}
}

int job_launch_unpack(struct unpack *u, struct job_launch *l)
{
	if (fields_unpack(u, l, sizeof *l, launch_fields, NFIELDS(launch_fields)))
		return -EPROTO;
	const void *tok = unpack_raw(u, JOB_TOKEN_LEN);
	if (tok)
		memcpy(l->token, tok, JOB_TOKEN_LEN);
	uint32_t n = unpack_count(u, 12);
	if (n > JOB_MAPS_MAX)
		u->err = true;
	if (unpack_ok(u) && n && !(l->maps = calloc(n, sizeof *l->maps)))
		u->err = true;
	for (uint32_t i = 0; i < n && unpack_ok(u); i++) {
		unpack_str(u, l->maps[i].node, sizeof l->maps[i].node);
		unpack_str(u, l->maps[i].addr, sizeof l->maps[i].addr);
		l->maps[i].attempt = unpack_u32(u);
		l->nmaps = i + 1;
	}
	if (!unpack_ok(u) || l->filter > JOB_FILTER_REGEX || l->kind > JOB_K_REDUCE ||
	    (l->kind == JOB_K_REDUCE && l->partition >= l->reducers)) {
		job_launch_free(l);
		return -EPROTO;
	}
	return 0;
}

void job_launch_free(struct job_launch *l)
{
	fields_free(l, launch_fields, NFIELDS(launch_fields));
	free(l->maps);
	l->maps = NULL;
	l->nmaps = 0;
}

void job_report_pack(struct buf *b, const struct job_report *r)
{
	fields_pack(b, r, report_fields, NFIELDS(report_fields));
	counters_pack(b, r->counters);
}

int job_report_unpack(struct unpack *u, struct job_report *r)
{
	if (fields_unpack(u, r, sizeof *r, report_fields, NFIELDS(report_fields)))
		return -EPROTO;
	counters_unpack(u, r->counters);
	if (!unpack_ok(u) || r->state < JOB_A_RUNNING || r->state > JOB_A_KILLED) {
		job_report_free(r);
		return -EPROTO;
	}
	return 0;
}

void job_report_free(struct job_report *r)
{
	fields_free(r, report_fields, NFIELDS(report_fields));
}

void job_info_pack(struct buf *b, const struct job_info *i)
{
	fields_pack(b, i, info_fields, NFIELDS(info_fields));
	counters_pack(b, i->counters);
}

int job_info_unpack(struct unpack *u, struct job_info *i)
{
	if (fields_unpack(u, i, sizeof *i, info_fields, NFIELDS(info_fields)))
		return -EPROTO;
	counters_unpack(u, i->counters);
	if (!unpack_ok(u)) {
		job_info_free(i);
		return -EPROTO;
	}
	return 0;
}

void job_info_free(struct job_info *i)
{
	fields_free(i, info_fields, NFIELDS(info_fields));
}

void job_attempt_log_pack(struct buf *b, const struct job_attempt_log *a)
{
	fields_pack(b, a, attempt_log_fields, NFIELDS(attempt_log_fields));
}

int job_attempt_log_unpack(struct unpack *u, struct job_attempt_log *a)
{
	return fields_unpack(u, a, sizeof *a, attempt_log_fields, NFIELDS(attempt_log_fields));
}

void job_attempt_log_free(struct job_attempt_log *a)
{
	fields_free(a, attempt_log_fields, NFIELDS(attempt_log_fields));
}

const char *job_counter_name(int c)
{
	static const char *const names[JOB_NCOUNTERS] = {
		"map_input_records",     "map_output_records",     "spilled_bytes",
		"combine_input_records", "combine_output_records", "shuffle_bytes_local",
		"shuffle_bytes_remote",  "reduce_input_groups",    "reduce_input_records"};
	return c >= 0 && c < JOB_NCOUNTERS ? names[c] : "unknown";
}

const char *job_phase_name(uint8_t phase)
{
	return phase == JOB_PHASE_MAP ? "map" : phase == JOB_PHASE_REDUCE ? "reduce" : "done";
}

const char *job_state_name(uint8_t state)
{
	switch (state) {
	case JOB_RUNNING: return "running";
	case JOB_SUCCEEDED: return "succeeded";
	case JOB_FAILED: return "failed";
	case JOB_KILLED: return "killed";
	default: return "unknown";
	}
}
