/* shuffle: run files, merges and the map collector. See shuffle.h. Caller's thread. */
#include "shuffle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc.h"
#include "fsutil.h"
#include "grow.h"
#include "pack.h"

/* ---------- run files ---------- */

static int put_frame(int fd, const char *p, size_t n)
{
	uint8_t h[8];
	be32_put(h, (uint32_t)n);
	be32_put(h + 4, n ? crc32c(p, n) : 0);
	int rc = fs_write_full(fd, h, sizeof h);
	return rc ? rc : fs_write_full(fd, p, n);
}

int shuf_writer_open(struct shuf_writer *w, const char *path)
{
	memset(w, 0, sizeof *w);
	buf_init(&w->frame);
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	return w->fd < 0 ? -errno : 0;
}

static int flush_frame(struct shuf_writer *w)
{
	if (!w->frame.len)
		return 0;
	int rc = put_frame(w->fd, w->frame.data, w->frame.len);
	w->bytes += w->frame.len + 8;
	buf_reset(&w->frame);
	return rc;
}

int shuf_writer_add(struct shuf_writer *w, const char *line, size_t len)
{
	if (w->frame.len && w->frame.len + len + 1 > SHUF_FRAME) {
		int rc = flush_frame(w);
		if (rc)
			return rc;
	}
	buf_add(&w->frame, line, len);
	buf_addc(&w->frame, '\n');
	w->records++;
	return w->frame.len >= SHUF_FRAME ? flush_frame(w) : 0;
}

int shuf_writer_close(struct shuf_writer *w)
{
	int rc = flush_frame(w);
	if (!rc)
		rc = put_frame(w->fd, NULL, 0);
	w->bytes += 8;
	if (close(w->fd) && !rc)
		rc = -errno;
	w->fd = -1;
	buf_free(&w->frame);
	return rc;
}

void shuf_writer_abort(struct shuf_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	buf_free(&w->frame);
}

int shuf_reader_open(struct shuf_reader *r, const char *path)
{
	memset(r, 0, sizeof *r);
	buf_init(&r->frame);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	return r->fd < 0 ? -errno : 0;
}

static int read_full(int fd, void *p, size_t n)
{
	char *c = p;
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(fd, c + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EBADMSG; /* torn */
		got += (size_t)k;
	}
	return 0;
}

int shuf_reader_next(struct shuf_reader *r, const char **line, size_t *len)
{
	while (r->pos >= r->frame.len) {
		if (r->ended)
			return 0;
		uint8_t h[8];
		int rc = read_full(r->fd, h, sizeof h);
		if (rc)
			return rc;
		uint32_t n = be32_get(h), crc = be32_get(h + 4);
		r->bytes += 8;
		if (!n) {
			if (crc)
				return -EBADMSG;
			r->ended = true;
			buf_reset(&r->frame);
			r->pos = 0;
			return 0;
		}
		if (n > SHUF_FRAME_MAX)
			return -EBADMSG;
		buf_reset(&r->frame);
		buf_grow(&r->frame, n);
		if ((rc = read_full(r->fd, r->frame.data, n)))
			return rc;
		buf_commit(&r->frame, n);
		r->bytes += n;
		if (crc32c(r->frame.data, n) != crc || r->frame.data[n - 1] != '\n')
			return -EBADMSG;
		r->pos = 0;
	}
	const char *p = r->frame.data + r->pos;
	const char *nl = memchr(p, '\n', r->frame.len - r->pos);
	*line = p;
	*len = (size_t)(nl - p); /* the frame ends with '\n': nl is found */
	r->pos += *len + 1;
	return 1;
}

void shuf_reader_close(struct shuf_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	buf_free(&r->frame);
}

int shuf_run_check(const char *path, uint64_t *records)
{
	struct shuf_reader r;
	int rc = shuf_reader_open(&r, path);
	uint64_t n = 0;
	const char *l;
	size_t len;
	while (!rc && (rc = shuf_reader_next(&r, &l, &len)) == 1) {
		n++;
		rc = 0;
	}
	shuf_reader_close(&r);
	if (records)
		*records = n;
	return rc;
}

/* ---------- merging ---------- */

struct source {
	struct shuf_reader r;
	const char *line;
	size_t len, klen;
	uint64_t pfx; /* the key's first 8 bytes (key_prefix): most comparisons end there */
	uint32_t index;
};

static uint64_t key_prefix(const char *k, size_t kl);

struct shuf_merge {
	uint32_t key_fields;
	uint32_t n, nheap;
	struct source *src;
	uint32_t *heap; /* indexes into src, min-heap by (key, index) */
	int32_t last;   /* the source whose record was returned last (advanced next) */
};

static bool less(const struct shuf_merge *m, uint32_t a, uint32_t b)
{
	const struct source *x = &m->src[a], *y = &m->src[b];
	if (x->pfx != y->pfx)
		return x->pfx < y->pfx;
	int c = mr_key_cmp(x->line, x->klen, y->line, y->klen);
	return c ? c < 0 : x->index < y->index;
}

static void sift_down(struct shuf_merge *m, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, s = i;
		if (l < m->nheap && less(m, m->heap[l], m->heap[s]))
			s = l;
		if (r < m->nheap && less(m, m->heap[r], m->heap[s]))
			s = r;
		if (s == i)
			return;
		uint32_t t = m->heap[i];
		m->heap[i] = m->heap[s];
		m->heap[s] = t;
		i = s;
	}
}

/* Reads source i's next record; 1 when it has one, 0 at its end, or the error. */
static int advance(struct shuf_merge *m, uint32_t i)
{
	struct source *s = &m->src[i];
	int rc = shuf_reader_next(&s->r, &s->line, &s->len);
	if (rc == 1) {
		s->klen = mr_key_len(s->line, s->len, m->key_fields);
		s->pfx = key_prefix(s->line, s->klen);
	}
	return rc;
}

int shuf_merge_open(const char *const *paths, uint32_t n, uint32_t key_fields,
		    struct shuf_merge **out)
{
	*out = NULL;
	struct shuf_merge *m = calloc(1, sizeof *m);
	if (!m)
		return -ENOMEM;
	m->key_fields = key_fields ? key_fields : 1;
	m->src = calloc(n ? n : 1, sizeof *m->src);
	m->heap = calloc(n ? n : 1, sizeof *m->heap);
	m->last = -1;
	int rc = m->src && m->heap ? 0 : -ENOMEM;
	for (uint32_t i = 0; i < n && !rc; i++) {
		m->src[i].index = i;
		rc = shuf_reader_open(&m->src[i].r, paths[i]);
		m->n = i + 1;
		if (rc)
			break;
		int a = advance(m, i);
		if (a < 0)
			rc = a;
		else if (a == 1)
			m->heap[m->nheap++] = i;
	}
	if (rc) {
		shuf_merge_close(m);
		return rc;
	}
	for (uint32_t i = m->nheap / 2 + 1; i-- > 0;)
		sift_down(m, i);
	*out = m;
	return 0;
}

int shuf_merge_next(struct shuf_merge *m, const char **line, size_t *len)
{
	if (m->last >= 0) {
		int rc = advance(m, (uint32_t)m->last);
		if (rc < 0)
			return rc;
		if (rc == 0)
			m->heap[0] = m->heap[--m->nheap];
		sift_down(m, 0);
		m->last = -1;
	}
	if (!m->nheap)
		return 0;
	struct source *s = &m->src[m->heap[0]];
	*line = s->line;
	*len = s->len;
	m->last = (int32_t)m->heap[0];
	return 1;
}

uint64_t shuf_merge_mem(const struct shuf_merge *m)
{
	uint64_t b = sizeof *m + m->n * (sizeof *m->src + sizeof *m->heap);
	for (uint32_t i = 0; i < m->n; i++)
		b += m->src[i].r.frame.cap;
	return b;
}

uint64_t shuf_merge_bytes(const struct shuf_merge *m)
{
	uint64_t b = 0;
	for (uint32_t i = 0; i < m->n; i++)
		b += m->src[i].r.bytes;
	return b;
}

void shuf_merge_close(struct shuf_merge *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->n; i++)
		shuf_reader_close(&m->src[i].r);
	free(m->src);
	free(m->heap);
	free(m);
}

/* Merges paths[0..n) into out with one merge (n <= fan-in). */
static int merge_once(char *const *paths, uint32_t n, uint32_t key_fields, const char *out,
		      uint64_t *records)
{
	struct shuf_merge *m;
	int rc = shuf_merge_open((const char *const *)paths, n, key_fields, &m);
	if (rc)
		return rc;
	struct shuf_writer w;
	rc = shuf_writer_open(&w, out);
	if (rc) {
		shuf_merge_close(m);
		return rc;
	}
	const char *l;
	size_t len;
	while ((rc = shuf_merge_next(m, &l, &len)) == 1)
		if ((rc = shuf_writer_add(&w, l, len)))
			break;
	shuf_merge_close(m);
	if (rc) {
		shuf_writer_abort(&w);
		unlink(out);
		return rc;
	}
	if (records)
		*records = w.records;
	rc = shuf_writer_close(&w);
	if (rc)
		unlink(out);
	return rc;
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

int shuf_merge_reduce(char **paths, uint32_t *n, uint32_t fanin, uint32_t key_fields,
		      const char *tmp_prefix, bool remove_inputs)
{
	if (fanin < 2)
		fanin = 2;
	uint32_t seq = 0;
	while (*n > fanin) {
		uint32_t k = 0; /* runs kept so far, in order */
		for (uint32_t i = 0; i < *n; i += fanin) {
			uint32_t g = *n - i < fanin ? *n - i : fanin;
			if (g == 1) {
				paths[k++] = paths[i];
				continue;
			}
			struct buf out = BUF_INIT;
			buf_printf(&out, "%s.m%u", tmp_prefix, seq++);
			int rc = merge_once(paths + i, g, key_fields, out.data, NULL);
			if (rc) {
				buf_free(&out);
				/* keep the list whole: the caller frees every name */
				for (uint32_t j = i; j < *n; j++)
					paths[k++] = paths[j];
				*n = k;
				return rc;
			}
			for (uint32_t j = i; j < i + g; j++) {
				if (remove_inputs || starts_with(paths[j], tmp_prefix))
					unlink(paths[j]);
				free(paths[j]);
			}
			paths[k++] = buf_detach(&out, NULL);
		}
		*n = k;
	}
	return 0;
}

int shuf_merge_files(char **paths, uint32_t *np, uint32_t fanin, uint32_t key_fields,
		     const char *out, bool remove_inputs, uint64_t *records)
{
	int rc = shuf_merge_reduce(paths, np, fanin, key_fields, out, remove_inputs);
	uint32_t n = *np;
	if (!rc && n == 1 && remove_inputs) {
		rc = rename(paths[0], out) ? -errno : 0;
		if (!rc && records)
			rc = shuf_run_check(out, records);
		return rc;
	}
	if (!rc)
		rc = merge_once(paths, n, key_fields, out, records);
	if (!rc)
		for (uint32_t i = 0; i < n; i++)
			if (remove_inputs || starts_with(paths[i], out))
				unlink(paths[i]);
	return rc;
}

/* ---------- the map collector ---------- */

struct rec {
	uint64_t pfx; /* the key's first 8 bytes, big-endian, zero-padded: the sort key */
	uint32_t off; /* in data (a record starts below the limit, at most 2 GiB) */
	uint32_t len, klen;
	uint32_t part;
};

/* A key in the combining table (with a combiner): its partial answer so far. */
struct cent {
	uint64_t off, hash; /* the key's bytes in data */
	uint32_t klen, part;
	uint64_t ext_off;   /* min/max: the extreme value's text in data */
	uint32_t ext_len;
	struct mr_partial p;
};

struct shuf_map {
	struct shuf_map_opts o;
	char *base;
	char *bounds_blob;
	struct mr_bounds bounds; /* n == 0: hash partitions */
	struct buf data;   /* the records' bytes */
	struct buf carry;  /* an unfinished line */
	struct rec *recs;
	size_t nrecs, caprecs;
	struct cent *ents;  /* the combining table: entries, and slots (index + 1, 0 = free) */
	size_t nents, capents;
	uint32_t *slots;
	size_t nslots;      /* a power of two, or 0 */
	uint32_t nspills;
	bool *has;          /* [spill * nparts + part]: that spill run exists */
	size_t caphas;
	bool finished, failed;
	bool in_cmd;        /* a command combiner runs: spills are plain */
	struct buf cmd_carry; /* its unfinished output line */
	uint64_t limit;     /* bytes buffered before a spill */
	uint64_t peak, aside; /* most bytes held at once; the spill being combined */
	struct shuf_counters c;
	struct buf why;
};

struct shuf_map *shuf_map_new(const struct shuf_map_opts *o)
{
	struct shuf_map *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->o = *o;
	if (!m->o.nparts)
		m->o.nparts = 1;
	if (!m->o.key_fields)
		m->o.key_fields = 1;
	if (!m->o.fanin)
		m->o.fanin = SHUF_FANIN;
	m->base = strdup(o->base);
	if (!m->base) {
		free(m);
		return NULL;
	}
	m->o.base = m->base;
	m->bounds_blob = strdup(o->bounds ? o->bounds : "");
	if (!m->bounds_blob ||
	    mr_bounds_parse(m->bounds_blob, strlen(m->bounds_blob), &m->bounds) ||
	    (m->bounds.n && m->bounds.n >= m->o.nparts)) {
		int e = m->bounds_blob ? EINVAL : ENOMEM;
		mr_bounds_free(&m->bounds);
		free(m->bounds_blob);
		free(m->base);
		free(m);
		errno = e;
		return NULL;
	}
	m->o.bounds = m->bounds_blob;
	if (m->o.sort_buffer > SHUF_SORT_BUFFER_MAX)
		m->o.sort_buffer = SHUF_SORT_BUFFER_MAX;
	m->limit = m->o.cmd && !m->o.combine ? m->o.sort_buffer / 2 : m->o.sort_buffer;
	buf_init(&m->data);
	buf_init(&m->carry);
	buf_init(&m->why);
	buf_init(&m->cmd_carry);
	return m;
}

/* The sort key of a key: its first 8 bytes as a big-endian number, zero-padded. Keys
 * whose prefixes differ compare as their prefixes do (a shorter key pads with zeros,
 * and a shorter prefix sorts first); equal prefixes need the whole keys. */
static uint64_t key_prefix(const char *k, size_t kl)
{
	uint8_t b[8] = {0};
	memcpy(b, k, kl < 8 ? kl : 8);
	return be64_get(b);
}

/* Records a, b (of the same partition and prefix): key bytes, then position. */
static int rec_full_cmp(const char *d, const struct rec *a, const struct rec *b)
{
	int c = mr_key_cmp(d + a->off, a->klen, d + b->off, b->klen);
	if (c)
		return c;
	return a->off < b->off ? -1 : a->off > b->off; /* position: stable */
}

static int rec_cmp(const void *pa, const void *pb, void *arg)
{
	const struct rec *a = pa, *b = pb;
	if (a->pfx != b->pfx)
		return a->pfx < b->pfx ? -1 : 1;
	return rec_full_cmp(arg, a, b);
}

/* Sorts r[0..n) of one partition by (key, position): most-significant-byte radix on the
 * prefix's bytes from byte `byte`, small groups and groups whose prefixes are all equal
 * by comparison. tmp has room for n records. */
static void radix_sort(const char *d, struct rec *r, struct rec *tmp, size_t n, int byte)
{
	if (n < 2)
		return;
	if (n <= 32 || byte >= 8) {
		if (byte >= 8) { /* same 8-byte prefix: whole keys decide */
			qsort_r(r, n, sizeof *r, rec_cmp, (void *)d);
			return;
		}
		for (size_t i = 1; i < n; i++) { /* insertion sort: stable, tiny */
			struct rec x = r[i];
			size_t j = i;
			while (j && rec_cmp(&r[j - 1], &x, (void *)d) > 0) {
				r[j] = r[j - 1];
				j--;
			}
			r[j] = x;
		}
		return;
	}
	size_t cnt[256] = {0}, pos[256];
	int shift = 56 - 8 * byte;
	for (size_t i = 0; i < n; i++)
		cnt[(r[i].pfx >> shift) & 0xff]++;
	size_t p = 0;
	for (int b = 0; b < 256; b++) {
		if (cnt[b] == n) { /* every record has this byte: on to the next */
			radix_sort(d, r, tmp, n, byte + 1);
			return;
		}
		pos[b] = p;
		p += cnt[b];
	}
	for (size_t i = 0; i < n; i++) /* stable distribution */
		tmp[pos[(r[i].pfx >> shift) & 0xff]++] = r[i];
	memcpy(r, tmp, n * sizeof *r);
	for (size_t b = 0, start = 0; b < 256; start += cnt[b], b++)
		radix_sort(d, r + start, tmp, cnt[b], byte + 1);
}

/* Sorts the buffered records by (partition, key, position): a counting sort by
 * partition (stable), then each partition by radix_sort. */
static int sort_records(struct shuf_map *m)
{
	size_t n = m->nrecs;
	struct rec *tmp = malloc((n ? n : 1) * sizeof *tmp);
	size_t *cnt = calloc((size_t)m->o.nparts + 1, sizeof *cnt);
	if (!tmp || !cnt) {
		free(tmp);
		free(cnt);
		return -ENOMEM;
	}
	if (m->o.nparts > 1) {
		for (size_t i = 0; i < n; i++)
			cnt[m->recs[i].part + 1]++;
		for (uint32_t p = 0; p < m->o.nparts; p++)
			cnt[p + 1] += cnt[p];
		for (size_t i = 0; i < n; i++)
			tmp[cnt[m->recs[i].part]++] = m->recs[i];
		memcpy(m->recs, tmp, n * sizeof *tmp);
	}
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && m->recs[j].part == m->recs[i].part)
			j++;
		radix_sort(m->data.data, m->recs + i, tmp, j - i, 0);
		i = j;
	}
	free(tmp);
	free(cnt);
	return 0;
}

static void run_name(const struct shuf_map *m, uint32_t spill, uint32_t part, struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "%s.s%u.p%u", m->base, spill, part);
}

/* Starts spill number m->nspills: its index, or -ENOMEM. */
static int new_spill(struct shuf_map *m)
{
	uint32_t s = m->nspills;
	size_t need = (size_t)(s + 1) * m->o.nparts;
	if (need > m->caphas) {
		bool *v = realloc(m->has, need * sizeof *v);
		if (!v)
			return -ENOMEM;
		memset(v + m->caphas, 0, (need - m->caphas) * sizeof *v);
		m->has = v;
		m->caphas = need;
	}
	m->nspills++;
	m->c.spills++;
	return (int)s;
}

/* Opens spill s's run of partition part. */
static int open_run(struct shuf_map *m, uint32_t s, uint32_t part, struct shuf_writer *w)
{
	struct buf name = BUF_INIT;
	run_name(m, s, part, &name);
	int rc = shuf_writer_open(w, name.data);
	if (!rc)
		m->has[(size_t)s * m->o.nparts + part] = true;
	buf_free(&name);
	return rc;
}

static int close_run(struct shuf_map *m, struct shuf_writer *w, int rc)
{
	if (rc) {
		shuf_writer_abort(w);
		return rc;
	}
	rc = shuf_writer_close(w);
	m->c.spilled_bytes += w->bytes;
	return rc;
}

/* Sorts the buffered records and writes one run per non-empty partition. */
static int spill_records(struct shuf_map *m)
{
	int rc = sort_records(m);
	if (rc)
		return rc;
	int s = new_spill(m);
	rc = s < 0 ? s : 0;
	for (size_t i = 0; i < m->nrecs && !rc;) {
		uint32_t part = m->recs[i].part;
		struct shuf_writer w;
		if ((rc = open_run(m, (uint32_t)s, part, &w)))
			break;
		for (; i < m->nrecs && m->recs[i].part == part && !rc; i++)
			rc = shuf_writer_add(&w, m->data.data + m->recs[i].off, m->recs[i].len);
		rc = close_run(m, &w, rc);
	}
	m->nrecs = 0;
	return rc;
}

static int cent_cmp(const void *pa, const void *pb, void *arg)
{
	const struct shuf_map *m = arg;
	const struct cent *a = pa, *b = pb;
	if (a->part != b->part)
		return a->part < b->part ? -1 : 1;
	return mr_key_cmp(m->data.data + a->off, a->klen, m->data.data + b->off, b->klen);
}

/* Writes the combining table as `key<TAB>partial` runs, sorted, and empties it. */
static int spill_table(struct shuf_map *m)
{
	qsort_r(m->ents, m->nents, sizeof *m->ents, cent_cmp, m);
	int s = new_spill(m), rc = s < 0 ? s : 0;
	struct buf line = BUF_INIT;
	for (size_t i = 0; i < m->nents && !rc;) {
		uint32_t part = m->ents[i].part;
		struct shuf_writer w;
		if ((rc = open_run(m, (uint32_t)s, part, &w)))
			break;
		for (; i < m->nents && m->ents[i].part == part && !rc; i++) {
			const struct cent *e = &m->ents[i];
			buf_reset(&line);
			buf_add(&line, m->data.data + e->off, e->klen);
			buf_addc(&line, '\t');
			if (m->o.combine == MR_MIN || m->o.combine == MR_MAX)
				buf_add(&line, m->data.data + e->ext_off, e->ext_len);
			else
				mr_partial_format(m->o.combine, false, &e->p, &line);
			rc = shuf_writer_add(&w, line.data, line.len);
		}
		rc = close_run(m, &w, rc);
	}
	buf_free(&line);
	m->c.combine_out += m->nents;
	m->nents = 0;
	if (m->nslots)
		memset(m->slots, 0, m->nslots * sizeof *m->slots);
	return rc;
}

/* Bytes of records and indexes the collector holds now (the sort's temporary index
 * counted in: sort_records). */
static void note_peak(struct shuf_map *m)
{
	uint64_t used = m->data.len + m->nrecs * 2 * sizeof(struct rec) +
			m->nents * sizeof(struct cent) + m->nslots * sizeof(uint32_t) +
			m->carry.len + m->cmd_carry.len + m->aside;
	if (used > m->peak)
		m->peak = used;
}

static int spill_cmd(struct shuf_map *m);

/* Writes what is buffered as sorted runs (through the combiner when there is one). */
static int spill(struct shuf_map *m)
{
	if (!m->nrecs && !m->nents)
		return 0;
	note_peak(m);
	int rc = m->o.combine ? spill_table(m)
		 : m->o.cmd && !m->in_cmd ? spill_cmd(m) : spill_records(m);
	buf_reset(&m->data);
	return rc;
}

static int buffer_record(struct shuf_map *m, const char *line, size_t len);

/* One partition's sorted records through the command combiner; its output comes back
 * through shuf_map_combined into m's (now empty) buffer. */
static int combine_part(struct shuf_map *m, const char *d, const struct rec *r, size_t n)
{
	void *h = NULL;
	int rc = m->o.cmd->start(m->o.cmd->arg, &h);
	if (rc) {
		buf_printf(&m->why, "cannot start the combiner: %s", strerror(-rc));
		return rc;
	}
	struct buf batch = BUF_INIT;
	for (size_t i = 0; i < n && !rc; i++) {
		buf_add(&batch, d + r[i].off, r[i].len);
		buf_addc(&batch, '\n');
		if (batch.len >= SHUF_FRAME * 4 || i + 1 == n) {
			rc = m->o.cmd->feed(h, batch.data, batch.len);
			buf_reset(&batch);
		}
	}
	buf_free(&batch);
	struct buf why = BUF_INIT;
	int frc = m->o.cmd->finish(h, &why); /* reaps it, error or not */
	if (!rc && !frc && m->cmd_carry.len) { /* an unterminated last line */
		rc = buffer_record(m, m->cmd_carry.data, m->cmd_carry.len);
		m->c.combine_out++;
	}
	buf_reset(&m->cmd_carry);
	if (!rc && frc)
		rc = frc;
	if (rc && why.len)
		buf_printf(&m->why, "combiner: %s", why.data);
	buf_free(&why);
	m->c.combine_in += n;
	return rc;
}

/* A spill through a command combiner: the buffer is sorted and set aside, the command
 * runs over each partition, and its output, collected again (partitioned, sorted),
 * spills as plain runs. Each buffer has half of sort_buffer (m->limit). */
static int spill_cmd(struct shuf_map *m)
{
	int rc = sort_records(m);
	if (rc)
		return rc;
	struct buf data = m->data;
	struct rec *recs = m->recs;
	size_t n = m->nrecs;
	buf_init(&m->data);
	m->recs = NULL;
	m->nrecs = m->caprecs = 0;
	m->aside = data.len + n * 2 * sizeof *recs;
	m->in_cmd = true;
	for (size_t i = 0; i < n && !rc;) {
		size_t j = i;
		while (j < n && recs[j].part == recs[i].part)
			j++;
		rc = combine_part(m, data.data, recs + i, j - i);
		i = j;
	}
	m->aside = 0;
	buf_free(&data);
	free(recs);
	if (!rc)
		rc = spill(m); /* plain, as in_cmd is set */
	m->in_cmd = false;
	return rc;
}

int shuf_map_combined(struct shuf_map *m, const char *data, size_t len)
{
	int rc = 0;
	while (len && !rc) {
		const char *nl = memchr(data, '\n', len);
		if (!nl) {
			buf_add(&m->cmd_carry, data, len);
			break;
		}
		size_t n = (size_t)(nl - data);
		if (m->cmd_carry.len) {
			buf_add(&m->cmd_carry, data, n);
			rc = buffer_record(m, m->cmd_carry.data, m->cmd_carry.len);
			buf_reset(&m->cmd_carry);
		} else {
			rc = buffer_record(m, data, n);
		}
		m->c.combine_out++;
		data += n + 1;
		len -= n + 1;
	}
	return rc;
}

uint64_t shuf_map_peak(const struct shuf_map *m) { return m->peak; }

const char *shuf_map_why(const struct shuf_map *m) { return m->why.data; }

/* The table's entry for key (hash h), or NULL. */
static struct cent *lookup(struct shuf_map *m, const char *key, size_t klen, uint64_t h)
{
	if (!m->nslots)
		return NULL;
	for (size_t i = h & (m->nslots - 1); m->slots[i]; i = (i + 1) & (m->nslots - 1)) {
		struct cent *e = &m->ents[m->slots[i] - 1];
		if (e->hash == h && e->klen == klen && !memcmp(m->data.data + e->off, key, klen))
			return e;
	}
	return NULL;
}

static void insert_slot(struct shuf_map *m, size_t ent)
{
	size_t i = m->ents[ent].hash & (m->nslots - 1);
	while (m->slots[i])
		i = (i + 1) & (m->nslots - 1);
	m->slots[i] = (uint32_t)(ent + 1);
}

/* Folds a record into the combining table (in-map combining: one entry per key, so a
 * word count spills its distinct words, not every word). */
static int combine_record(struct shuf_map *m, const char *line, size_t len)
{
	size_t kl = mr_key_len(line, len, m->o.key_fields);
	const char *v = kl < len ? line + kl + 1 : line + len;
	size_t vn = kl < len ? len - kl - 1 : 0;
	uint64_t h = mr_hash(line, kl);
	m->c.records_out++;
	m->c.combine_in++;
	struct cent *e = lookup(m, line, kl, h);
	if (!e) {
		uint64_t used = m->data.len + m->nents * sizeof *m->ents + m->nslots * 4;
		if (m->nents && used + kl + vn + sizeof *m->ents + 8 > m->o.sort_buffer) {
			int rc = spill(m);
			if (rc)
				return rc;
		}
		if (ALLOC_GROW(m->ents, m->nents + 1, m->capents))
			return -ENOMEM;
		if ((m->nents + 1) * 2 > m->nslots) {
			size_t n = m->nslots ? m->nslots * 2 : 1024;
			uint32_t *v2 = calloc(n, sizeof *v2);
			if (!v2)
				return -ENOMEM;
			free(m->slots);
			m->slots = v2;
			m->nslots = n;
			for (size_t i = 0; i < m->nents; i++)
				insert_slot(m, i);
		}
		e = &m->ents[m->nents];
		*e = (struct cent){m->data.len, h, (uint32_t)kl, 0, 0, 0, {0, {true, 0, 0}}};
		e->part = m->bounds.n ? mr_partition_range(&m->bounds, line, kl)
			  : m->o.nparts > 1 ? (uint32_t)(h % m->o.nparts) : 0;
		buf_add(&m->data, line, kl);
		insert_slot(m, m->nents++);
	}
	bool extreme;
	if (mr_partial_add(m->o.combine, false, &e->p, v, vn, &extreme)) {
		buf_printf(&m->why, "combiner ");
		mr_partial_error(m->o.combine, line, kl, v, vn, &m->why);
		return -EINVAL;
	}
	if (extreme) {
		e->ext_off = m->data.len;
		e->ext_len = (uint32_t)vn;
		buf_add(&m->data, v, vn);
	}
	return 0;
}

/* Buffers one record (a map's, or a command combiner's), spilling first when full. */
static int buffer_record(struct shuf_map *m, const char *line, size_t len)
{
	if (len > UINT32_MAX)
		return -E2BIG;
	/* each record's index entry counts twice: the sort's temporary copy */
	uint64_t used = m->data.len + m->nrecs * 2 * sizeof(struct rec);
	if (m->nrecs && used + len + 2 * sizeof(struct rec) > m->limit) {
		int rc = spill(m);
		if (rc)
			return rc;
	}
	if (ALLOC_GROW(m->recs, m->nrecs + 1, m->caprecs))
		return -ENOMEM;
	uint32_t klen = (uint32_t)mr_key_len(line, len, m->o.key_fields);
	uint32_t part = m->bounds.n ? mr_partition_range(&m->bounds, line, klen)
				    : mr_partition(line, klen, m->o.nparts);
	m->recs[m->nrecs++] =
		(struct rec){key_prefix(line, klen), (uint32_t)m->data.len, (uint32_t)len, klen, part};
	buf_add(&m->data, line, len);
	return 0;
}

static int add_record(struct shuf_map *m, const char *line, size_t len)
{
	if (len > UINT32_MAX)
		return -E2BIG;
	if (m->o.combine)
		return combine_record(m, line, len);
	m->c.records_out++;
	return buffer_record(m, line, len);
}

int shuf_map_add(struct shuf_map *m, const char *data, size_t len)
{
	if (m->failed || m->finished)
		return -EINVAL;
	int rc = 0;
	while (len && !rc) {
		const char *nl = memchr(data, '\n', len);
		if (!nl) {
			buf_add(&m->carry, data, len);
			break;
		}
		size_t n = (size_t)(nl - data);
		if (m->carry.len) {
			buf_add(&m->carry, data, n);
			rc = add_record(m, m->carry.data, m->carry.len);
			buf_reset(&m->carry);
		} else {
			rc = add_record(m, data, n);
		}
		data += n + 1;
		len -= n + 1;
	}
	if (rc)
		m->failed = true;
	return rc;
}

int shuf_map_finish(struct shuf_map *m, struct buf *why)
{
	int rc = m->failed || m->finished ? -EINVAL : 0;
	if (!rc && m->carry.len) {
		rc = add_record(m, m->carry.data, m->carry.len);
		buf_reset(&m->carry);
	}
	if (!rc)
		rc = spill(m);
	char **paths = calloc(m->nspills + 1, sizeof *paths);
	if (!paths && !rc)
		rc = -ENOMEM;
	struct buf name = BUF_INIT, out = BUF_INIT;
	for (uint32_t p = 0; p < m->o.nparts && !rc; p++) {
		uint32_t n = 0;
		for (uint32_t s = 0; s < m->nspills && !rc; s++) {
			if (!m->has[(size_t)s * m->o.nparts + p])
				continue;
			run_name(m, s, p, &name);
			paths[n] = strdup(name.data);
			if (!paths[n++])
				rc = -ENOMEM;
		}
		buf_reset(&out);
		buf_printf(&out, "%s.p%u", m->base, p);
		if (!rc && !n) {
			struct shuf_writer w;
			rc = shuf_writer_open(&w, out.data);
			if (!rc)
				rc = shuf_writer_close(&w);
		} else if (!rc) {
			rc = shuf_merge_files(paths, &n, m->o.fanin, m->o.key_fields, out.data, true,
					      NULL);
		}
		for (uint32_t i = 0; i < n; i++) {
			free(paths[i]);
			paths[i] = NULL;
		}
	}
	free(paths);
	buf_free(&name);
	buf_free(&out);
	if (rc) {
		m->failed = true;
		if (why && m->why.len)
			buf_add(why, m->why.data, m->why.len);
	} else {
		m->finished = true;
	}
	return rc;
}

void shuf_map_counters(const struct shuf_map *m, struct shuf_counters *out) { *out = m->c; }

void shuf_map_free(struct shuf_map *m)
{
	if (!m)
		return;
	struct buf name = BUF_INIT;
	for (uint32_t s = 0; s < m->nspills; s++)
		for (uint32_t p = 0; p < m->o.nparts; p++) {
			run_name(m, s, p, &name);
			unlink(name.data);
		}
	if (!m->finished)
		for (uint32_t p = 0; p < m->o.nparts; p++) {
			buf_reset(&name);
			buf_printf(&name, "%s.p%u", m->base, p);
			unlink(name.data);
		}
	buf_free(&name);
	buf_free(&m->data);
	buf_free(&m->carry);
	buf_free(&m->why);
	buf_free(&m->cmd_carry);
	free(m->recs);
	free(m->ents);
	free(m->slots);
	free(m->has);
	free(m->base);
	mr_bounds_free(&m->bounds);
	free(m->bounds_blob);
	free(m);
}

/* ---------- paths ---------- */

void shuf_job_dir(const char *scratch, const char *job, struct buf *out)
{
	buf_printf(out, "%s/shuffle/%s", scratch, job);
}

void shuf_map_base(const char *scratch, const char *job, uint32_t task, uint32_t attempt,
		   struct buf *out)
{
	buf_printf(out, "%s/shuffle/%s/m%05u_%u", scratch, job, task, attempt);
}

bool shuf_is_job_id(const char *s)
{
	if (!s || !*s || strlen(s) > 63)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}
