/* reduce: keys, partitions and the built-in reducers. See reduce.h. Caller's thread. */
#include "reduce.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t mr_key_len(const char *line, size_t len, uint32_t key_fields)
{
	size_t i = 0;
	for (uint32_t f = 0; f < (key_fields ? key_fields : 1); f++) {
		const char *t = memchr(line + i, '\t', len - i);
		if (!t)
			return len;
		i = (size_t)(t - line) + 1;
	}
	return i - 1; /* before the key_fields-th tab */
}

int mr_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

uint64_t mr_hash(const char *key, size_t klen)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < klen; i++) {
		h ^= (unsigned char)key[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

uint32_t mr_partition(const char *key, size_t klen, uint32_t nparts)
{
	return nparts > 1 ? (uint32_t)(mr_hash(key, klen) % nparts) : 0;
}

static const char *const names[] = {"", "count", "sum", "min", "max"};

/* ---------- range partitions ---------- */

int mr_bounds_parse(const char *blob, size_t len, struct mr_bounds *out)
{
	memset(out, 0, sizeof *out);
	uint32_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += blob[i] == '\n';
	if (len && blob[len - 1] != '\n')
		return -EINVAL;
	out->key = calloc(n ? n : 1, sizeof *out->key);
	out->len = calloc(n ? n : 1, sizeof *out->len);
	if (!out->key || !out->len) {
		mr_bounds_free(out);
		return -ENOMEM;
	}
	for (const char *p = blob, *e = blob + len; p < e;) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t kl = (size_t)(nl - p);
		if (out->n && mr_key_cmp(out->key[out->n - 1], out->len[out->n - 1], p, kl) >= 0) {
			mr_bounds_free(out);
			return -EINVAL; /* not increasing */
		}
		out->key[out->n] = p;
		out->len[out->n++] = kl;
		p = nl + 1;
	}
	return 0;
}

void mr_bounds_free(struct mr_bounds *b)
{
	free(b->key);
	free(b->len);
	memset(b, 0, sizeof *b);
}

uint32_t mr_partition_range(const struct mr_bounds *b, const char *key, size_t klen)
{
	uint32_t lo = 0, hi = b->n; /* the first boundary > key */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (mr_key_cmp(b->key[mid], b->len[mid], key, klen) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct skey {
	const char *p;
	size_t len;
};

static int skey_cmp(const void *a, const void *b)
{
	const struct skey *x = a, *y = b;
	return mr_key_cmp(x->p, x->len, y->p, y->len);
}

void mr_bounds_from_sample(const char *sample, size_t len, uint32_t key_fields,
			   uint32_t nparts, struct buf *out)
{
	size_t n = 0, cap = 0;
	struct skey *v = NULL;
	for (const char *p = sample, *e = sample + len; p < e;) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(e - p);
		size_t kl = mr_key_len(p, ll, key_fields);
		if (kl <= MR_BOUND_KEY_MAX && !memchr(p, 0, kl)) {
			if (n == cap) {
				size_t c2 = cap ? 2 * cap : 1024;
				struct skey *w = realloc(v, c2 * sizeof *w);
				if (!w)
					break;
				v = w;
				cap = c2;
			}
			v[n++] = (struct skey){p, kl};
		}
		p += ll + 1;
	}
	if (n)
		qsort(v, n, sizeof *v, skey_cmp);
	const struct skey *last = NULL;
	for (uint32_t i = 1; i < nparts && n; i++) {
		const struct skey *k = &v[(size_t)((double)i * n / nparts)];
		if (last && mr_key_cmp(last->p, last->len, k->p, k->len) >= 0)
			continue; /* few distinct keys: fewer boundaries */
		buf_add(out, k->p, k->len);
		buf_addc(out, '\n');
		last = k;
	}
	free(v);
}

/* ---------- built-ins ---------- */

enum mr_builtin mr_builtin_parse(const char *name)
{
	for (int b = MR_COUNT; b <= MR_MAX; b++)
		if (name && !strcmp(name, names[b]))
			return (enum mr_builtin)b;
	return MR_NONE;
}

const char *mr_builtin_name(enum mr_builtin b)
{
	return b >= MR_NONE && b <= MR_MAX ? names[b] : "";
}

/* ---------- numbers and partial answers ---------- */

/* Parses v[0..n) as a number (spaces around it allowed); false when it is none. */
static bool parse_num(const char *v, size_t n, struct mr_num *out)
{
	char tmp[128];
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\r'))
		n--;
	while (n && *v == ' ')
		v++, n--;
	if (!n || n >= sizeof tmp)
		return false;
	memcpy(tmp, v, n);
	tmp[n] = 0;
	char *end;
	errno = 0;
	long long i = strtoll(tmp, &end, 10);
	if (!*end && errno != ERANGE) {
		*out = (struct mr_num){true, i, (double)i};
		return true;
	}
	errno = 0;
	double d = strtod(tmp, &end);
	if (*end || !isfinite(d))
		return false;
	*out = (struct mr_num){false, 0, d};
	return true;
}

static double num_d(const struct mr_num *x) { return x->is_int ? (double)x->i : x->d; }

static int num_cmp(const struct mr_num *a, const struct mr_num *b)
{
	if (a->is_int && b->is_int)
		return a->i < b->i ? -1 : a->i > b->i;
	double x = num_d(a), y = num_d(b);
	return x < y ? -1 : x > y;
}

/* Adds a value into the sum (doubles once an integer sum would overflow). */
static void add(struct mr_num *acc, const struct mr_num *v)
{
	int64_t s;
	if (acc->is_int && v->is_int && !__builtin_add_overflow(acc->i, v->i, &s)) {
		acc->i = s;
		acc->d = (double)s;
		return;
	}
	acc->d = num_d(acc) + num_d(v);
	acc->is_int = false;
}

int mr_partial_add(enum mr_builtin b, bool partials, struct mr_partial *p, const char *v,
		   size_t n, bool *extreme)
{
	*extreme = false;
	p->count++;
	if (b == MR_COUNT && !partials)
		return 0;
	struct mr_num x;
	if (!parse_num(v, n, &x))
		return -EINVAL;
	if (b == MR_COUNT || b == MR_SUM) {
		if (p->count == 1)
			p->v = (struct mr_num){true, 0, 0};
		add(&p->v, &x);
		return 0;
	}
	int c = p->count == 1 ? 0 : num_cmp(&x, &p->v);
	if (p->count == 1 || (b == MR_MIN ? c < 0 : c > 0)) {
		p->v = x;
		*extreme = true;
	}
	return 0;
}

void mr_partial_format(enum mr_builtin b, bool partials, const struct mr_partial *p,
		       struct buf *out)
{
	if (b == MR_COUNT && !partials)
		buf_printf(out, "%" PRIu64, p->count);
	else if (p->v.is_int)
		buf_printf(out, "%" PRId64, p->v.i);
	else
		buf_printf(out, "%.15g", p->v.d);
}

void mr_partial_error(enum mr_builtin b, const char *key, size_t klen, const char *v, size_t vn,
		      struct buf *out)
{
	buf_printf(out, "%s: the value '%.*s' of key '%.*s' is not a number", names[b],
		   (int)(vn > 64 ? 64 : vn), v, (int)(klen > 64 ? 64 : klen), key);
}

/* ---------- the reducer ---------- */

enum rstate { R_EMPTY, R_IN_KEY, R_DONE, R_FAILED };

struct mr_reducer {
	enum mr_builtin b;
	bool partials;
	uint32_t key_fields;
	mr_emit_fn emit;
	void *arg;
	enum rstate state;
	int rc;
	struct buf key;     /* the open key */
	struct mr_partial p; /* its answer so far */
	struct buf extreme; /* min/max: the extreme value as written */
	uint64_t groups, records;
	struct buf line, err;
};

struct mr_reducer *mr_reducer_new(enum mr_builtin b, bool partials, uint32_t key_fields,
				  mr_emit_fn emit, void *arg)
{
	if (b < MR_COUNT || b > MR_MAX) {
		errno = EINVAL;
		return NULL;
	}
	struct mr_reducer *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->b = b;
	r->partials = partials;
	r->key_fields = key_fields ? key_fields : 1;
	r->emit = emit;
	r->arg = arg;
	buf_init(&r->key);
	buf_init(&r->extreme);
	buf_init(&r->line);
	buf_init(&r->err);
	return r;
}

static int fail(struct mr_reducer *r, int rc)
{
	r->state = R_FAILED;
	r->rc = rc;
	return rc;
}

static int emit_key(struct mr_reducer *r)
{
	buf_reset(&r->line);
	buf_add(&r->line, r->key.data, r->key.len);
	buf_addc(&r->line, '\t');
	if (r->b == MR_MIN || r->b == MR_MAX)
		buf_add(&r->line, r->extreme.data, r->extreme.len);
	else
		mr_partial_format(r->b, r->partials, &r->p, &r->line);
	buf_addc(&r->line, '\n');
	r->groups++;
	int rc = r->emit(r->arg, r->line.data, r->line.len);
	return rc ? fail(r, rc) : 0;
}

int mr_reducer_line(struct mr_reducer *r, const char *line, size_t len)
{
	if (r->state == R_FAILED)
		return r->rc;
	if (r->state == R_DONE)
		return fail(r, -EINVAL);
	size_t kl = mr_key_len(line, len, r->key_fields);
	const char *v = kl < len ? line + kl + 1 : line + len;
	size_t vn = kl < len ? len - kl - 1 : 0;
	bool same = r->state == R_IN_KEY && !mr_key_cmp(r->key.data, r->key.len, line, kl);
	if (r->state == R_IN_KEY && !same) {
		int rc = emit_key(r);
		if (rc)
			return rc;
	}
	r->records++;
	if (!same) {
		buf_reset(&r->key);
		buf_add(&r->key, line, kl);
		r->state = R_IN_KEY;
		memset(&r->p, 0, sizeof r->p);
	}
	bool extreme;
	if (mr_partial_add(r->b, r->partials, &r->p, v, vn, &extreme)) {
		buf_reset(&r->err);
		mr_partial_error(r->b, line, kl, v, vn, &r->err);
		return fail(r, -EINVAL);
	}
	if (extreme) {
		buf_reset(&r->extreme);
		buf_add(&r->extreme, v, vn);
	}
	return 0;
}

int mr_reducer_finish(struct mr_reducer *r)
{
	if (r->state == R_FAILED)
		return r->rc;
	int rc = r->state == R_IN_KEY ? emit_key(r) : 0;
	if (!rc)
		r->state = R_DONE;
	return rc;
}

const char *mr_reducer_error(const struct mr_reducer *r)
{
	if (r->err.len)
		return r->err.data;
	return r->state == R_FAILED ? strerror(-r->rc) : "";
}

uint64_t mr_reducer_groups(const struct mr_reducer *r) { return r->groups; }
uint64_t mr_reducer_records(const struct mr_reducer *r) { return r->records; }

void mr_reducer_free(struct mr_reducer *r)
{
	if (!r)
		return;
	buf_free(&r->key);
	buf_free(&r->extreme);
	buf_free(&r->line);
	buf_free(&r->err);
	free(r);
}
