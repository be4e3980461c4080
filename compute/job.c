/* job: the job model and its wire layouts. See job.h. Any thread. */
#include "job.h"

#include <errno.h>
#include <regex.h>
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
	if (s->combine && s->combine[0] && mr_builtin_parse(s->combine) == MR_NONE)
		return buf_printf(err, "unknown built-in combiner '%s': --combine takes count, sum, "
				       "min or max",
				  s->combine),
		       -EINVAL;
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

void job_launch_pack(struct buf *b, const struct job_launch *l)
{
	pack_str(b, l->job);
	pack_u32(b, l->task);
	pack_u32(b, l->attempt);
	pack_str(b, l->map);
	pack_u8(b, l->filter);
	pack_str(b, l->pattern);
	pack_u8(b, l->flags);
	pack_str(b, l->input);
	pack_u64(b, l->ino);
	pack_u64(b, l->fsize);
	pack_u64(b, l->offset);
	pack_u64(b, l->length);
	pack_u64(b, l->block);
	pack_u64(b, l->gs);
	pack_str(b, l->output);
	pack_u32(b, l->uid);
	pack_u32(b, l->gid);
	pack_u32(b, l->timeout);
	pack_u8(b, l->kind);
	pack_str(b, l->reduce);
	pack_str(b, l->combine);
	pack_u32(b, l->reducers);
	pack_u32(b, l->key_fields);
	pack_u16(b, l->out_repl);
	pack_u32(b, l->partition);
	pack_raw(b, l->token, JOB_TOKEN_LEN);
	pack_u32(b, l->nmaps);
	for (uint32_t i = 0; i < l->nmaps; i++) {
		pack_str(b, l->maps[i].node);
		pack_str(b, l->maps[i].addr);
		pack_u32(b, l->maps[i].attempt);
	}
	pack_u8(b, l->partitioner);
	pack_str(b, l->bounds);
}

int job_launch_unpack(struct unpack *u, struct job_launch *l)
{
	memset(l, 0, sizeof *l);
	unpack_str(u, l->job, sizeof l->job);
	l->task = unpack_u32(u);
	l->attempt = unpack_u32(u);
	l->map = unpack_strdup(u, JOB_CMD_MAX);
	l->filter = unpack_u8(u);
	l->pattern = unpack_strdup(u, JOB_PATTERN_MAX);
	l->flags = unpack_u8(u);
	l->input = unpack_strdup(u, PROTO_PATH_MAX);
	l->ino = unpack_u64(u);
	l->fsize = unpack_u64(u);
	l->offset = unpack_u64(u);
	l->length = unpack_u64(u);
	l->block = unpack_u64(u);
	l->gs = unpack_u64(u);
	l->output = unpack_strdup(u, PROTO_PATH_MAX);
	l->uid = unpack_u32(u);
	l->gid = unpack_u32(u);
	l->timeout = unpack_u32(u);
	{
		l->kind = unpack_u8(u);
		l->reduce = unpack_strdup(u, JOB_CMD_MAX);
		l->combine = unpack_strdup(u, JOB_CMD_MAX);
		l->reducers = unpack_u32(u);
		l->key_fields = unpack_u32(u);
		l->out_repl = unpack_u16(u);
		l->partition = unpack_u32(u);
		const void *tok = unpack_raw(u, JOB_TOKEN_LEN);
		if (tok)
			memcpy(l->token, tok, JOB_TOKEN_LEN);
		uint32_t n = unpack_count(u, 12);
		if (n > JOB_MAPS_MAX)
			u->err = true;
		if (unpack_ok(u) && n) {
			l->maps = calloc(n, sizeof *l->maps);
			if (!l->maps)
				u->err = true;
		}
		for (uint32_t i = 0; i < n && unpack_ok(u); i++) {
			unpack_str(u, l->maps[i].node, sizeof l->maps[i].node);
			unpack_str(u, l->maps[i].addr, sizeof l->maps[i].addr);
			l->maps[i].attempt = unpack_u32(u);
			l->nmaps = i + 1;
		}
		l->partitioner = unpack_u8(u);
		l->bounds = unpack_strdup(u, MR_BOUNDS_MAX);
		if (l->kind > JOB_K_REDUCE || (l->kind == JOB_K_REDUCE && l->partition >= l->reducers))
			u->err = true;
	}
	if (!unpack_ok(u) || l->filter > JOB_FILTER_REGEX) {
		job_launch_free(l);
		return -EPROTO;
	}
	return 0;
}

void job_launch_free(struct job_launch *l)
{
	free(l->map);
	free(l->pattern);
	free(l->input);
	free(l->output);
	free(l->reduce);
	free(l->combine);
	free(l->maps);
	free(l->bounds);
	l->bounds = NULL;
	l->map = l->pattern = l->input = l->output = l->reduce = l->combine = NULL;
	l->maps = NULL;
	l->nmaps = 0;
}

void job_report_pack(struct buf *b, const struct job_report *r)
{
	pack_str(b, r->job);
	pack_u32(b, r->task);
	pack_u32(b, r->attempt);
	pack_u8(b, r->state);
	pack_i32(b, r->exit_status);
	pack_u64(b, r->bytes_in);
	pack_u64(b, r->bytes_local);
	pack_u64(b, r->bytes_out);
	pack_u64(b, r->records);
	pack_str(b, r->message);
	pack_str(b, r->stderr_tail);
	for (int i = 0; i < JOB_NCOUNTERS; i++)
		pack_u64(b, r->counters[i]);
	pack_u32(b, r->lost_map);
	pack_u32(b, r->lost_attempt);
}

int job_report_unpack(struct unpack *u, struct job_report *r)
{
	memset(r, 0, sizeof *r);
	unpack_str(u, r->job, sizeof r->job);
	r->task = unpack_u32(u);
	r->attempt = unpack_u32(u);
	r->state = unpack_u8(u);
	r->exit_status = unpack_i32(u);
	r->bytes_in = unpack_u64(u);
	r->bytes_local = unpack_u64(u);
	r->bytes_out = unpack_u64(u);
	r->records = unpack_u64(u);
	r->message = unpack_strdup(u, JOB_MSG_MAX);
	r->stderr_tail = unpack_strdup(u, JOB_STDERR_MAX);
	for (int i = 0; i < JOB_NCOUNTERS; i++)
		r->counters[i] = unpack_u64(u);
	r->lost_map = unpack_u32(u);
	r->lost_attempt = unpack_u32(u);
	if (!unpack_ok(u) || r->state < JOB_A_RUNNING || r->state > JOB_A_KILLED) {
		job_report_free(r);
		return -EPROTO;
	}
	return 0;
}

void job_report_free(struct job_report *r)
{
	free(r->message);
	free(r->stderr_tail);
	r->message = r->stderr_tail = NULL;
}

void job_info_pack(struct buf *b, const struct job_info *i)
{
	pack_str(b, i->id);
	pack_u8(b, i->state);
	pack_str(b, i->output);
	pack_str(b, i->what);
	pack_u32(b, i->uid);
	pack_u32(b, i->total);
	pack_u32(b, i->done);
	pack_u32(b, i->running);
	pack_u32(b, i->failed_attempts);
	pack_u32(b, i->speculative);
	pack_u32(b, i->node_local);
	pack_u32(b, i->remote);
	pack_u64(b, i->input_bytes);
	pack_u64(b, i->bytes_read);
	pack_u64(b, i->records);
	pack_u8(b, i->flags);
	pack_i64(b, i->submitted_ms);
	pack_i64(b, i->elapsed_ms);
	pack_str(b, i->error);
	pack_str(b, i->error_stderr);
	pack_u8(b, i->phase);
	pack_u32(b, i->reduce_total);
	pack_u32(b, i->reduce_done);
	for (int k = 0; k < JOB_NCOUNTERS; k++)
		pack_u64(b, i->counters[k]);
}

int job_info_unpack(struct unpack *u, struct job_info *i)
{
	memset(i, 0, sizeof *i);
	unpack_str(u, i->id, sizeof i->id);
	i->state = unpack_u8(u);
	i->output = unpack_strdup(u, PROTO_PATH_MAX);
	i->what = unpack_strdup(u, JOB_CMD_MAX + JOB_PATTERN_MAX + 64);
	i->uid = unpack_u32(u);
	i->total = unpack_u32(u);
	i->done = unpack_u32(u);
	i->running = unpack_u32(u);
	i->failed_attempts = unpack_u32(u);
	i->speculative = unpack_u32(u);
	i->node_local = unpack_u32(u);
	i->remote = unpack_u32(u);
	i->input_bytes = unpack_u64(u);
	i->bytes_read = unpack_u64(u);
	i->records = unpack_u64(u);
	i->flags = unpack_u8(u);
	i->submitted_ms = unpack_i64(u);
	i->elapsed_ms = unpack_i64(u);
	i->error = unpack_strdup(u, JOB_MSG_MAX);
	i->error_stderr = unpack_strdup(u, JOB_STDERR_MAX);
	i->phase = unpack_u8(u);
	i->reduce_total = unpack_u32(u);
	i->reduce_done = unpack_u32(u);
	for (int k = 0; k < JOB_NCOUNTERS; k++)
		i->counters[k] = unpack_u64(u);
	if (!unpack_ok(u)) {
		job_info_free(i);
		return -EPROTO;
	}
	return 0;
}

void job_info_free(struct job_info *i)
{
	free(i->output);
	free(i->what);
	free(i->error);
	free(i->error_stderr);
	i->output = i->what = i->error = i->error_stderr = NULL;
}

void job_attempt_log_pack(struct buf *b, const struct job_attempt_log *a)
{
	pack_u32(b, a->task);
	pack_u32(b, a->attempt);
	pack_str(b, a->node);
	pack_u8(b, a->state);
	pack_i32(b, a->exit_status);
	pack_u8(b, a->speculative);
	pack_u8(b, a->local);
	pack_i64(b, a->elapsed_ms);
	pack_str(b, a->message);
	pack_str(b, a->stderr_text);
}

int job_attempt_log_unpack(struct unpack *u, struct job_attempt_log *a)
{
	memset(a, 0, sizeof *a);
	a->task = unpack_u32(u);
	a->attempt = unpack_u32(u);
	unpack_str(u, a->node, sizeof a->node);
	a->state = unpack_u8(u);
	a->exit_status = unpack_i32(u);
	a->speculative = unpack_u8(u);
	a->local = unpack_u8(u);
	a->elapsed_ms = unpack_i64(u);
	a->message = unpack_strdup(u, JOB_MSG_MAX);
	a->stderr_text = unpack_strdup(u, JOB_STDERR_MAX);
	if (!unpack_ok(u)) {
		job_attempt_log_free(a);
		return -EPROTO;
	}
	return 0;
}

void job_attempt_log_free(struct job_attempt_log *a)
{
	free(a->message);
	free(a->stderr_text);
	a->message = a->stderr_text = NULL;
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
