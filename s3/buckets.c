/*
 * buckets: the bucket calls (ListBuckets, CreateBucket, DeleteBucket, HeadBucket,
 * GetBucketLocation) and object listing (ListObjects v1 and v2) as a directory walk in
 * S3's key order. Runs on the request's connection thread (gw.h).
 *
 * The walk: each directory's entries are sorted by their key form (a directory `d`
 * as "d/"), so a depth-first walk meets keys in byte order. Directories that cannot
 * hold a key after the marker or under the prefix are skipped without being listed;
 * with a delimiter, a directory whose key already contains it after the prefix is
 * one CommonPrefix and is not entered. An empty directory lists as its marker key
 * "d/" (size 0), as consoles' folder markers do.
 */
#include "gw.h"

#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "keymap.h"
#include "proto.h"
#include "xml.h"

int gw_need_bucket(struct s3req *r)
{
	struct buf p = BUF_INIT;
	struct dfs_attr a;
	keymap_bucket_path(r->gw->root, r->bucket.data, &p);
	int rc = dfs_stat(r->c, p.data, &a);
	buf_free(&p);
	if (!rc && a.type != PROTO_T_DIR)
		rc = -ENOENT;
	if (rc) {
		gw_errno(r, rc, false);
		return -1;
	}
	return 0;
}

struct bucket_list {
	struct buf *xml;
};

static int add_bucket(void *arg, const char *name, const struct dfs_attr *a)
{
	struct bucket_list *l = arg;
	if (a->type != PROTO_T_DIR || !keymap_bucket_ok(name))
		return 0;
	char d[64];
	gw_iso_date(a->mtime, d);
	buf_adds(l->xml, "<Bucket>");
	xml_elem(l->xml, "Name", name);
	xml_elem(l->xml, "CreationDate", d);
	buf_adds(l->xml, "</Bucket>");
	return 0;
}

void gw_list_buckets(struct s3req *r)
{
	struct buf x = BUF_INIT;
	buf_adds(&x, XML_DECL "<ListAllMyBucketsResult xmlns=\"" XML_NS "\"><Owner>");
	xml_elemf(&x, "ID", "%u", r->user->uid);
	xml_elemf(&x, "DisplayName", "%u", r->user->uid);
	buf_adds(&x, "</Owner><Buckets>");
	struct bucket_list l = {&x};
	int rc = dfs_list(r->c, *r->gw->root ? r->gw->root : "/", add_bucket, &l);
	buf_adds(&x, "</Buckets></ListAllMyBucketsResult>");
	if (rc)
		gw_errno(r, rc, false);
	else
		gw_xml(r, 200, &x);
	buf_free(&x);
}

static void create_bucket_done(struct s3req *r)
{
	struct buf p = BUF_INIT;
	keymap_bucket_path(r->gw->root, r->bucket.data, &p);
	struct dfs_attr a;
	int rc = dfs_mkdir(r->c, p.data, 0755, false, &a);
	if (rc == -EEXIST) {
		if (!dfs_stat(r->c, p.data, &a) && a.uid == r->user->uid)
			gw_error(r, 409, "BucketAlreadyOwnedByYou",
				 "Your previous request to create the named bucket succeeded and "
				 "you already own it.");
		else
			gw_error(r, 409, "BucketAlreadyExists",
				 "The requested bucket name is not available.");
	} else if (rc) {
		gw_errno(r, rc, false);
	} else {
		struct buf loc = BUF_INIT;
		buf_printf(&loc, "/%s", r->bucket.data);
		struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "Location", loc.data);
		gw_respond(r, 200, resp);
		buf_free(&loc);
	}
	buf_free(&p);
}

void gw_create_bucket(struct s3req *r)
{
	if (!keymap_bucket_creatable(r->bucket.data)) {
		gw_error(r, 400, "InvalidBucketName", "The specified bucket is not valid.");
		return;
	}
	gw_buffer_body(r, 64 * 1024, create_bucket_done); /* CreateBucketConfiguration */
}

struct first_visible {
	bool found;
	struct buf hidden; /* NUL-separated names of hidden entries */
};

static int find_visible(void *arg, const char *name, const struct dfs_attr *a)
{
	(void)a;
	struct first_visible *f = arg;
	if (keymap_is_hidden(name)) {
		buf_add(&f->hidden, name, strlen(name) + 1);
		return 0;
	}
	f->found = true;
	return 1;
}

void gw_delete_bucket(struct s3req *r)
{
	struct buf p = BUF_INIT, q = BUF_INIT;
	struct first_visible f = {false, BUF_INIT};
	if (gw_need_bucket(r))
		goto out;
	keymap_bucket_path(r->gw->root, r->bucket.data, &p);
	int rc = dfs_list(r->c, p.data, find_visible, &f);
	if (rc > 0)
		rc = 0; /* find_visible stopped the walk */
	if (!rc && f.found)
		rc = -ENOTEMPTY;
	/* the gateway's own leftovers (uploads in progress, temporary files) go with it */
	for (size_t i = 0; !rc && i < f.hidden.len; i += strlen(f.hidden.data + i) + 1) {
		buf_reset(&q);
		buf_printf(&q, "%s/%s", p.data, f.hidden.data + i);
		rc = dfs_delete(r->c, q.data, true);
	}
	if (!rc)
		rc = dfs_rmdir(r->c, p.data);
	if (rc) {
		gw_errno(r, rc, false);
	} else {
		gw_respond(r, 204, MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT));
	}
out:
	buf_free(&p);
	buf_free(&q);
	buf_free(&f.hidden);
}

void gw_head_bucket(struct s3req *r)
{
	if (gw_need_bucket(r))
		return;
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "x-amz-bucket-region", r->gw->region);
	gw_respond(r, 200, resp);
}

void gw_bucket_location(struct s3req *r)
{
	if (gw_need_bucket(r))
		return;
	struct buf x = BUF_INIT;
	buf_adds(&x, XML_DECL "<LocationConstraint xmlns=\"" XML_NS "\">");
	if (strcmp(r->gw->region, "us-east-1"))
		xml_text(&x, r->gw->region, strlen(r->gw->region));
	buf_adds(&x, "</LocationConstraint>");
	gw_xml(r, 200, &x);
	buf_free(&x);
}

/* ---- listing ---- */

struct ent {
	char *name, *skey; /* skey: name, plus '/' for a directory */
	size_t sklen;
	struct dfs_attr a;
};

struct ents {
	struct ent *v;
	size_t n, cap;
};

static int add_ent(void *arg, const char *name, const struct dfs_attr *a)
{
	struct ents *e = arg;
	if (keymap_is_hidden(name) || (a->type != PROTO_T_DIR && a->type != PROTO_T_FILE))
		return 0;
	if (e->n == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 64;
		struct ent *nv = realloc(e->v, e->cap * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		e->v = nv;
	}
	struct ent *x = &e->v[e->n++];
	x->name = strdup(name);
	x->sklen = strlen(name) + (a->type == PROTO_T_DIR);
	x->skey = malloc(x->sklen + 1);
	memcpy(x->skey, name, strlen(name));
	if (a->type == PROTO_T_DIR)
		x->skey[x->sklen - 1] = '/';
	x->skey[x->sklen] = 0;
	x->a = *a;
	return 0;
}

static int keycmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

static int cmp_ent(const void *x, const void *y)
{
	const struct ent *a = x, *b = y;
	return keycmp(a->skey, a->sklen, b->skey, b->sklen);
}

static bool starts(const char *s, size_t sl, const char *p, size_t pl)
{
	return sl >= pl && !memcmp(s, p, pl);
}

struct lister {
	struct s3req *r;
	struct buf prefix, delim, marker;
	size_t max, count;
	bool truncated, url;
	struct buf contents, prefixes, last, last_cp;
	int err;
};

static void add_encoded(struct lister *l, struct buf *x, const char *tag, const char *s, size_t n)
{
	buf_printf(x, "<%s>", tag);
	if (l->url) {
		struct buf e = BUF_INIT;
		sigv4_escape(s, n, true, &e);
		xml_text(x, e.data, e.len);
		buf_free(&e);
	} else {
		xml_text(x, s, n);
	}
	buf_printf(x, "</%s>", tag);
}

/* Room for one more entry? Else the listing is truncated. */
static bool room(struct lister *l)
{
	if (l->count >= l->max) {
		l->truncated = true;
		return false;
	}
	l->count++;
	return true;
}

static void emit_key(struct lister *l, const char *k, size_t kl, const char *path,
		     const struct dfs_attr *a)
{
	struct buf etag = BUF_INIT;
	if (a->type == PROTO_T_DIR) {
		buf_adds(&etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
	} else {
		int rc = gw_etag(l->r, path, a, &etag);
		if (rc == -ENOENT) { /* gone since it was listed */
			buf_free(&etag);
			return;
		}
		if (rc) {
			l->err = rc;
			buf_free(&etag);
			return;
		}
	}
	if (!room(l)) {
		buf_free(&etag);
		return;
	}
	char d[64];
	gw_iso_date(a->mtime, d);
	buf_adds(&l->contents, "<Contents>");
	add_encoded(l, &l->contents, "Key", k, kl);
	xml_elem(&l->contents, "LastModified", d);
	xml_elem(&l->contents, "ETag", etag.data);
	xml_elemf(&l->contents, "Size", "%" PRIu64, a->type == PROTO_T_DIR ? 0 : a->size);
	xml_elem(&l->contents, "StorageClass", "STANDARD");
	buf_adds(&l->contents, "<Owner>");
	xml_elemf(&l->contents, "ID", "%u", a->uid);
	xml_elemf(&l->contents, "DisplayName", "%u", a->uid);
	buf_adds(&l->contents, "</Owner></Contents>");
	buf_reset(&l->last);
	buf_add(&l->last, k, kl);
	buf_free(&etag);
}

static void emit_cp(struct lister *l, const char *cp, size_t n)
{
	if (!room(l))
		return;
	buf_adds(&l->prefixes, "<CommonPrefixes>");
	add_encoded(l, &l->prefixes, "Prefix", cp, n);
	buf_adds(&l->prefixes, "</CommonPrefixes>");
	buf_reset(&l->last_cp);
	buf_add(&l->last_cp, cp, n);
	buf_reset(&l->last);
	buf_add(&l->last, cp, n);
}

/* Lists dir (whose keys start with kp) into l; returns its number of visible entries. */
static size_t walk(struct lister *l, const char *dir, const char *kp, size_t kpl)
{
	struct ents e = {NULL, 0, 0};
	int rc = dfs_list(l->r->c, dir, add_ent, &e);
	if (rc && rc != -ENOENT) /* a directory removed meanwhile lists as empty */
		l->err = rc;
	if (e.n)
		qsort(e.v, e.n, sizeof *e.v, cmp_ent);
	struct buf k = BUF_INIT, path = BUF_INIT;
	const char *P = l->prefix.data, *M = l->marker.data;
	size_t pl = l->prefix.len, ml = l->marker.len;
	for (size_t i = 0; i < e.n && !l->truncated && !l->err; i++) {
		struct ent *x = &e.v[i];
		bool isdir = x->a.type == PROTO_T_DIR;
		buf_reset(&k);
		buf_add(&k, kp, kpl);
		buf_add(&k, x->skey, x->sklen);
		buf_reset(&path);
		buf_printf(&path, "%s/%s", dir, x->name);
		if (!starts(k.data, k.len, P, pl)) {
			if (isdir && starts(P, pl, k.data, k.len)) {
				walk(l, path.data, k.data, k.len);
				continue;
			}
			if (keycmp(k.data, k.len, P, pl) > 0)
				break; /* sorted: nothing later is under the prefix */
			continue;
		}
		if (l->delim.len) {
			const char *d = memmem(k.data + pl, k.len - pl, l->delim.data, l->delim.len);
			if (d) {
				size_t cpl = (size_t)(d - k.data) + l->delim.len;
				if ((ml && keycmp(k.data, cpl, M, ml) <= 0) ||
				    (l->last_cp.len == cpl && !memcmp(l->last_cp.data, k.data, cpl)))
					continue;
				emit_cp(l, k.data, cpl);
				continue;
			}
		}
		if (isdir) {
			if (ml && keycmp(k.data, k.len, M, ml) <= 0 && !starts(M, ml, k.data, k.len))
				continue;
			/* an empty directory is its marker key (nothing under it sorts first) */
			if (!walk(l, path.data, k.data, k.len) && !l->err &&
			    (!ml || keycmp(k.data, k.len, M, ml) > 0))
				emit_key(l, k.data, k.len, path.data, &x->a);
			continue;
		}
		if (ml && keycmp(k.data, k.len, M, ml) <= 0)
			continue;
		emit_key(l, k.data, k.len, path.data, &x->a);
	}
	for (size_t i = 0; i < e.n; i++) {
		free(e.v[i].name);
		free(e.v[i].skey);
	}
	free(e.v);
	buf_free(&k);
	buf_free(&path);
	return e.n;
}

void gw_list_objects(struct s3req *r, bool v2)
{
	struct lister l = {.r = r, .max = 1000};
	buf_init(&l.prefix);
	buf_init(&l.delim);
	buf_init(&l.marker);
	buf_init(&l.contents);
	buf_init(&l.prefixes);
	buf_init(&l.last);
	buf_init(&l.last_cp);
	struct buf v = BUF_INIT, token = BUF_INIT, start_after = BUF_INIT, x = BUF_INIT, p = BUF_INIT;
	if (gw_need_bucket(r))
		goto out;
	if (gw_query(r, "prefix", &v))
		buf_add(&l.prefix, v.data, v.len);
	if (gw_query(r, "delimiter", &v))
		buf_add(&l.delim, v.data, v.len);
	const char *et = gw_query(r, "encoding-type", &v);
	if (et && strcmp(et, "url")) {
		gw_error(r, 400, "InvalidArgument", "Invalid Encoding Method specified in Request");
		goto out;
	}
	l.url = et != NULL;
	if (gw_query(r, "max-keys", &v)) {
		char *end;
		long m = strtol(v.data, &end, 10);
		if (*end || !v.len || m < 0) {
			gw_error(r, 400, "InvalidArgument", "max-keys must be a number >= 0");
			goto out;
		}
		l.max = m > 1000 ? 1000 : (size_t)m;
	}
	if (v2) {
		if (gw_query(r, "start-after", &v))
			buf_add(&start_after, v.data, v.len);
		if (gw_query(r, "continuation-token", &v)) {
			buf_add(&token, v.data, v.len);
			uint8_t raw[KEYMAP_KEY_MAX + 1];
			int n = sigv4_unbase64(token.data, raw, sizeof raw);
			if (n < 0) {
				gw_error(r, 400, "InvalidArgument",
					 "The continuation token provided is incorrect");
				goto out;
			}
			buf_add(&l.marker, raw, (size_t)n);
		} else {
			buf_add(&l.marker, start_after.data, start_after.len);
		}
	} else if (gw_query(r, "marker", &v)) {
		buf_add(&l.marker, v.data, v.len);
	}
	keymap_bucket_path(r->gw->root, r->bucket.data, &p);
	if (l.max)
		walk(&l, p.data, "", 0);
	if (l.err) {
		gw_errno(r, l.err, false);
		goto out;
	}
	buf_adds(&x, XML_DECL "<ListBucketResult xmlns=\"" XML_NS "\">");
	xml_elem(&x, "Name", r->bucket.data);
	add_encoded(&l, &x, "Prefix", l.prefix.data, l.prefix.len);
	if (l.delim.len)
		add_encoded(&l, &x, "Delimiter", l.delim.data, l.delim.len);
	xml_elemf(&x, "MaxKeys", "%zu", l.max);
	if (l.url)
		xml_elem(&x, "EncodingType", "url");
	xml_elem(&x, "IsTruncated", l.truncated ? "true" : "false");
	if (v2) {
		xml_elemf(&x, "KeyCount", "%zu", l.count);
		if (token.len)
			xml_elem(&x, "ContinuationToken", token.data);
		if (start_after.len)
			add_encoded(&l, &x, "StartAfter", start_after.data, start_after.len);
		if (l.truncated) {
			char *t = malloc(4 * (l.last.len / 3 + 2) + 1);
			sigv4_base64((const uint8_t *)l.last.data, l.last.len, t);
			xml_elem(&x, "NextContinuationToken", t);
			free(t);
		}
	} else {
		add_encoded(&l, &x, "Marker", l.marker.data, l.marker.len);
		if (l.truncated)
			add_encoded(&l, &x, "NextMarker", l.last.data, l.last.len);
	}
	buf_add(&x, l.contents.data, l.contents.len);
	buf_add(&x, l.prefixes.data, l.prefixes.len);
	buf_adds(&x, "</ListBucketResult>");
	gw_xml(r, 200, &x);
out:
	buf_free(&l.prefix);
	buf_free(&l.delim);
	buf_free(&l.marker);
	buf_free(&l.contents);
	buf_free(&l.prefixes);
	buf_free(&l.last);
	buf_free(&l.last_cp);
	buf_free(&v);
	buf_free(&token);
	buf_free(&start_after);
	buf_free(&x);
	buf_free(&p);
}
