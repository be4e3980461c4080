/* sample: range boundaries from a sample of the input. See sample.h. Main thread. */
#include "sample.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "reduce.h"

/* Whole lines from pieces spread over the file at path (size bytes). */
static int sample_file(struct dfs_client *c, const char *path, uint64_t size, struct buf *out)
{
	struct dfs_reader *r;
	int rc = dfs_open(c, path, &r);
	if (rc)
		return rc;
	char *piece = malloc(SAMPLE_PIECE);
	if (!piece) {
		dfs_reader_close(r);
		return -ENOMEM;
	}
	uint64_t step = size / SAMPLE_PIECES; /* pieces do not overlap */
	if (step < SAMPLE_PIECE)
		step = SAMPLE_PIECE;
	for (uint32_t i = 0; i < SAMPLE_PIECES && out->len < SAMPLE_MAX; i++) {
		uint64_t off = i * step;
		if (off >= size)
			break;
		ssize_t n = dfs_pread(r, piece, SAMPLE_PIECE, off);
		if (n < 0) {
			rc = (int)n;
			break;
		}
		const char *p = piece, *e = piece + n;
		if (off) { /* a partial first line is not a sample */
			const char *nl = memchr(p, '\n', (size_t)(e - p));
			p = nl ? nl + 1 : e;
		}
		const char *last = p;
		for (const char *q = p; q < e && (q = memchr(q, '\n', (size_t)(e - q))); q++)
			last = q + 1;
		if (last == p && off + (uint64_t)n >= size && p < e)
			last = e; /* a last line without '\n' */
		buf_add(out, p, (size_t)(last - p));
		if (last > p && last[-1] != '\n')
			buf_addc(out, '\n');
	}
	free(piece);
	dfs_reader_close(r);
	return rc;
}

struct dir_walk {
	struct dfs_client *c;
	const char *dir;
	int depth;
	struct buf *out;
	int rc;
};

static int sample_path(struct dfs_client *c, const char *path, const struct dfs_attr *a,
		       int depth, struct buf *out);

static int walk_entry(void *arg, const char *name, const struct dfs_attr *a)
{
	struct dir_walk *w = arg;
	if (name[0] == '_' || name[0] == '.' || w->out->len >= SAMPLE_MAX)
		return 0; /* markers and hidden files are not input (namenode/jobs.c) */
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/%s", strcmp(w->dir, "/") ? w->dir : "", name);
	int rc = sample_path(w->c, p.data, a, w->depth + 1, w->out);
	buf_free(&p);
	return rc;
}

static int sample_path(struct dfs_client *c, const char *path, const struct dfs_attr *a,
		       int depth, struct buf *out)
{
	if (a->type == PROTO_T_FILE)
		return a->size ? sample_file(c, path, a->size, out) : 0;
	if (a->type != PROTO_T_DIR || depth > 64)
		return 0;
	struct dir_walk w = {c, path, depth, out, 0};
	return dfs_list(c, path, walk_entry, &w);
}

/* The map command's output over the sample, run here (/bin/sh -c CMD). */
static int run_map(const char *map, struct buf *sample, struct buf *err)
{
	char in[] = "/tmp/dfs-sample-XXXXXX";
	int fd = mkstemp(in);
	if (fd < 0)
		return -errno;
	int rc = fs_write_full(fd, sample->data, sample->len);
	close(fd);
	struct buf cmd = BUF_INIT, got = BUF_INIT;
	buf_printf(&cmd, "(%s) < '%s'", map, in);
	FILE *f = rc ? NULL : popen(cmd.data, "r");
	if (!rc && !f)
		rc = -errno;
	char tmp[65536];
	for (size_t n; f && (n = fread(tmp, 1, sizeof tmp, f)) > 0;)
		if (got.len < 4 * (size_t)SAMPLE_MAX)
			buf_add(&got, tmp, n);
	int st = f ? pclose(f) : 0;
	if (!rc && (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st))) {
		buf_printf(err, "the map command failed on the input sample (for --partition "
				"range)");
		rc = -ECHILD;
	}
	if (!rc) {
		buf_reset(sample);
		buf_add(sample, got.data, got.len);
	}
	unlink(in);
	buf_free(&cmd);
	buf_free(&got);
	return rc;
}

int sample_bounds(struct dfs_client *c, const struct job_spec *s, struct buf *bounds,
		  struct buf *err)
{
	struct buf sample = BUF_INIT;
	int rc = 0;
	buf_reset(bounds);
	for (uint32_t i = 0; i < s->ninputs && !rc && sample.len < SAMPLE_MAX; i++) {
		struct dfs_attr a;
		rc = dfs_stat(c, s->inputs[i], &a);
		if (!rc)
			rc = sample_path(c, s->inputs[i], &a, 0, &sample);
		if (rc)
			buf_printf(err, "cannot sample the input %s: %s", s->inputs[i],
				   dfs_errmsg()[0] ? dfs_errmsg() : strerror(-rc));
	}
	if (!rc && s->map && s->map[0])
		rc = run_map(s->map, &sample, err);
	if (!rc)
		mr_bounds_from_sample(sample.data, sample.len, s->key_fields, s->reducers, bounds);
	buf_free(&sample);
	return rc;
}
