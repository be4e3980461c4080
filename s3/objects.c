/*
 * objects: the object calls (PutObject, GetObject, HeadObject, DeleteObject,
 * DeleteObjects, CopyObject), the streamed put into a hidden temporary file renamed
 * into place, and ETags. Runs on the request's connection thread (gw.h).
 *
 * ETags: the xattr GW_XATTR_ETAG holds "VERSION ETAG", VERSION being a hash of the
 * file's length and its blocks' ids and generation stamps (gw_file_version). Any
 * change to the file through the mount or `dfs put -f` changes its blocks, so a
 * stored ETag whose version differs is stale and is recomputed (the MD5 of the
 * content, read once) on the next need. The mount hides user.s3.* from listings.
 */
#include "gw.h"

#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "keymap.h"
#include "log.h"
#include "proto.h"
#include "xml.h"

#define COPY_BUF (4u << 20)

void gw_count_out(uint64_t n);

int gw_file_version(struct dfs_client *c, const char *path, struct buf *out)
{
	struct dfs_blocks b;
	int rc = dfs_get_blocks(c, path, 0, 0, &b);
	if (rc)
		return rc;
	struct buf s = BUF_INIT;
	buf_printf(&s, "%" PRIu64, b.attr.size);
	for (size_t i = 0; i < b.n; i++)
		buf_printf(&s, ",%" PRIx64 ".%" PRIx64 ".%" PRIu64, b.v[i].id, b.v[i].genstamp,
			   b.v[i].length);
	uint8_t h[32];
	char hx[65];
	sigv4_sha256(s.data, s.len, h);
	sigv4_hex(h, 12, hx);
	buf_reset(out);
	buf_adds(out, hx);
	buf_free(&s);
	dfs_blocks_free(&b);
	return 0;
}

int gw_stored_etag(struct dfs_client *c, const char *path, struct buf *out)
{
	struct buf v = BUF_INIT, ver = BUF_INIT;
	buf_reset(out);
	int rc = dfs_getxattr(c, path, GW_XATTR_ETAG, &v);
	if (rc == -ENODATA)
		rc = 0; /* none stored yet */
	if (rc || !v.len)
		goto out;
	if ((rc = gw_file_version(c, path, &ver)))
		goto out;
	char *sp = strchr(v.data, ' ');
	if (sp && (size_t)(sp - v.data) == ver.len && !memcmp(v.data, ver.data, ver.len))
		buf_printf(out, "\"%s\"", sp + 1);
out:
	buf_free(&v);
	buf_free(&ver);
	return rc;
}

/* Reads the whole file at path, its MD5 into md5hex. */
static int file_md5(struct dfs_client *c, const char *path, char md5hex[33])
{
	struct dfs_reader *rd;
	int rc = dfs_open(c, path, &rd);
	if (rc)
		return rc;
	char *b = malloc(COPY_BUF);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_DigestInit_ex(m, EVP_md5(), NULL);
	uint64_t off = 0;
	for (;;) {
		ssize_t n = dfs_pread(rd, b, COPY_BUF, off);
		if (n < 0) {
			rc = (int)n;
			break;
		}
		if (!n)
			break;
		EVP_DigestUpdate(m, b, (size_t)n);
		off += (uint64_t)n;
	}
	uint8_t h[16];
	unsigned hl = 16;
	EVP_DigestFinal_ex(m, h, &hl);
	sigv4_hex(h, 16, md5hex);
	EVP_MD_CTX_free(m);
	free(b);
	dfs_reader_close(rd);
	return rc;
}

int gw_etag(struct s3req *r, const char *path, const struct dfs_attr *a, struct buf *out)
{
	(void)a;
	int rc = gw_stored_etag(r->c, path, out);
	if (rc || out->len)
		return rc;
	struct buf ver = BUF_INIT, v = BUF_INIT;
	char md5[33];
	/* the version first: a change while we read leaves a stale (never a wrong) ETag */
	if (!(rc = gw_file_version(r->c, path, &ver)) && !(rc = file_md5(r->c, path, md5))) {
		buf_printf(&v, "%s %s", ver.data, md5);
		int s = dfs_setxattr(r->c, path, GW_XATTR_ETAG, v.data, v.len, 0);
		if (s)
			log_debug("cannot store the ETag of '%s': %s", path, strerror(-s));
		buf_reset(out);
		buf_printf(out, "\"%s\"", md5);
	}
	buf_free(&ver);
	buf_free(&v);
	return rc;
}

/* ---- the streamed put ---- */

struct gw_put {
	struct dfs_writer *w;
	struct buf tmp, path;
	EVP_MD_CTX *md5;
	uint64_t len;
};

int gw_make_parents(struct s3req *r, const char *path)
{
	struct buf b = BUF_INIT;
	const char *slash = strrchr(path, '/');
	buf_add(&b, path, (size_t)(slash - path));
	struct dfs_attr a;
	int rc = dfs_stat(r->c, b.data, &a);
	if (rc == -ENOENT)
		rc = dfs_mkdir(r->c, b.data, 0755, true, &a);
	else if (!rc && a.type != PROTO_T_DIR)
		rc = -ENOTDIR;
	buf_free(&b);
	return rc;
}

int gw_put_begin(struct s3req *r, const char *path, struct gw_put **out)
{
	int rc = gw_make_parents(r, path);
	if (rc)
		return rc;
	struct gw_put *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	buf_init(&p->tmp);
	buf_init(&p->path);
	buf_adds(&p->path, path);
	uint8_t rnd[8];
	char hx[17];
	RAND_bytes(rnd, sizeof rnd);
	sigv4_hex(rnd, 8, hx);
	const char *slash = strrchr(path, '/');
	buf_add(&p->tmp, path, (size_t)(slash - path));
	buf_printf(&p->tmp, "/" KEYMAP_HIDDEN "-tmp.%s", hx);
	p->md5 = EVP_MD_CTX_new();
	EVP_DigestInit_ex(p->md5, EVP_md5(), NULL);
	rc = dfs_create(r->c, p->tmp.data, 0644, false, 0, 0, &p->w);
	if (rc) {
		EVP_MD_CTX_free(p->md5);
		buf_free(&p->tmp);
		buf_free(&p->path);
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int gw_put_write(struct gw_put *p, const char *data, size_t n)
{
	EVP_DigestUpdate(p->md5, data, n);
	p->len += n;
	return dfs_write(p->w, data, n);
}

static void put_free(struct gw_put *p)
{
	EVP_MD_CTX_free(p->md5);
	buf_free(&p->tmp);
	buf_free(&p->path);
	free(p);
}

void gw_put_abort(struct s3req *r, struct gw_put *p)
{
	if (!p)
		return;
	if (p->w)
		dfs_writer_abort(p->w);
	int rc = dfs_delete(r->c, p->tmp.data, false);
	if (rc && rc != -ENOENT)
		log_warn("cannot remove the partial upload '%s': %s", p->tmp.data, strerror(-rc));
	put_free(p);
}

int gw_put_commit(struct s3req *r, struct gw_put *p, const char *etag, const struct buf *meta)
{
	int rc = dfs_writer_close(p->w);
	p->w = NULL;
	struct buf ver = BUF_INIT, v = BUF_INIT;
	char md5[33];
	if (!etag) {
		uint8_t h[16];
		unsigned hl = 16;
		EVP_DigestFinal_ex(p->md5, h, &hl);
		sigv4_hex(h, 16, md5);
		etag = md5;
	}
	if (!rc)
		rc = gw_file_version(r->c, p->tmp.data, &ver);
	if (!rc) {
		buf_printf(&v, "%s %s", ver.data, etag);
		rc = dfs_setxattr(r->c, p->tmp.data, GW_XATTR_ETAG, v.data, v.len, 0);
	}
	if (!rc && meta && meta->len)
		rc = dfs_setxattr(r->c, p->tmp.data, GW_XATTR_META, meta->data, meta->len, 0);
	if (!rc)
		rc = dfs_rename(r->c, p->tmp.data, p->path.data, 0);
	if (rc) {
		gw_put_abort(r, p);
	} else {
		struct buf q = BUF_INIT;
		buf_printf(&q, "\"%s\"", etag);
		struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "ETag", q.data);
		r->op = resp; /* the caller adds headers and answers */
		buf_free(&q);
		put_free(p);
	}
	buf_free(&ver);
	buf_free(&v);
	return rc;
}

static const char *const kept_headers[] = {"content-type", "content-encoding", "cache-control",
					    "content-disposition", "content-language", "expires"};

void gw_collect_meta(struct s3req *r, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < r->nh; i++) {
		bool keep = !strncasecmp(r->h[i].name, "x-amz-meta-", 11);
		for (size_t k = 0; k < sizeof kept_headers / sizeof kept_headers[0] && !keep; k++)
			keep = !strcasecmp(r->h[i].name, kept_headers[k]);
		if (!keep || strchr(r->h[i].value, '\n'))
			continue;
		if (!strcasecmp(r->h[i].name, "content-encoding") &&
		    !strcasecmp(r->h[i].value, "aws-chunked"))
			continue; /* the transfer's, not the object's */
		for (const char *n = r->h[i].name; *n; n++)
			buf_addc(out, (char)((*n >= 'A' && *n <= 'Z') ? *n + 32 : *n));
		buf_printf(out, ": %s\n", r->h[i].value);
	}
}

void gw_prune_dirs(struct s3req *r, const char *path)
{
	struct buf b = BUF_INIT, bucket = BUF_INIT;
	keymap_bucket_path(r->gw->root, r->bucket.data, &bucket);
	buf_adds(&b, path);
	for (;;) {
		char *slash = strrchr(b.data, '/');
		if (!slash)
			break;
		buf_truncate(&b, (size_t)(slash - b.data));
		if (b.len <= bucket.len || dfs_rmdir(r->c, b.data))
			break;
	}
	buf_free(&b);
	buf_free(&bucket);
}

/* ---- PutObject ---- */

int gw_put_sink(struct s3req *r, const char *p, size_t n)
{
	return gw_put_write(r->op, p, n);
}

void gw_put_op_free(struct s3req *r)
{
	if (r->op)
		gw_put_abort(r, r->op);
	r->op = NULL;
}

static void put_finish(struct s3req *r)
{
	struct gw_put *p = r->op;
	r->op = NULL;
	r->op_free = NULL;
	if (gw_check_digests(r)) {
		gw_put_abort(r, p);
		return;
	}
	struct buf meta = BUF_INIT;
	gw_collect_meta(r, &meta);
	int rc = gw_put_commit(r, p, NULL, &meta);
	buf_free(&meta);
	if (rc) {
		gw_errno(r, rc, true);
		return;
	}
	struct MHD_Response *resp = r->op;
	r->op = NULL;
	gw_respond(r, 200, resp);
}

static void marker_finish(struct s3req *r)
{
	struct buf path = BUF_INIT;
	bool marker;
	const char *code;
	struct dfs_attr a;
	keymap_path(r->gw->root, r->bucket.data, r->key.data, &path, &marker, &code);
	int rc = r->small.len ? -EINVAL : dfs_mkdir(r->c, path.data, 0755, true, &a);
	if (rc == -EEXIST)
		rc = 0;
	if (rc == -EINVAL) {
		gw_error(r, 400, "InvalidRequest", "a directory marker (a key ending in '/') holds no data");
	} else if (rc) {
		gw_errno(r, rc, true);
	} else {
		struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "ETag", "\"d41d8cd98f00b204e9800998ecf8427e\"");
		gw_respond(r, 200, resp);
	}
	buf_free(&path);
}

void gw_put_object(struct s3req *r)
{
	struct buf path = BUF_INIT;
	bool marker;
	const char *code;
	if (keymap_path(r->gw->root, r->bucket.data, r->key.data, &path, &marker, &code)) {
		gw_error(r, 400, code, "The key cannot be stored in dfs (see the key mapping).");
		goto out;
	}
	if (gw_need_bucket(r))
		goto out;
	if (marker) {
		gw_buffer_body(r, 0, marker_finish);
		goto out;
	}
	struct gw_put *p;
	int rc = gw_put_begin(r, path.data, &p);
	if (rc) {
		gw_errno(r, rc, true);
		goto out;
	}
	r->op = p;
	r->op_free = gw_put_op_free;
	r->body = gw_put_sink;
	r->finish = put_finish;
out:
	buf_free(&path);
}

/* ---- GetObject, HeadObject ---- */

struct get_state {
	struct dfs_reader *rd;
	uint64_t start;
};

static ssize_t get_read(void *cls, uint64_t pos, char *b, size_t max)
{
	struct get_state *g = cls;
	ssize_t n = dfs_pread(g->rd, b, max, g->start + pos);
	if (n < 0) {
		log_warn("read failed in a GetObject: %s", dfs_errmsg());
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (!n)
		return MHD_CONTENT_READER_END_WITH_ERROR; /* the file shrank under us */
	gw_count_out((uint64_t)n);
	return n;
}

static void get_free(void *cls)
{
	struct get_state *g = cls;
	dfs_reader_close(g->rd);
	free(g);
}

/* Does etag match one of the list (comma-separated, quoted or not, or "*")? */
static bool etag_in(const char *list, const char *etag)
{
	const char *e = etag + 1;
	size_t el = strlen(etag) - 2;
	for (const char *p = list; *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		while (n && p[n - 1] == ' ')
			n--;
		if (n == 1 && *p == '*')
			return true;
		const char *q = p;
		size_t qn = n;
		if (qn >= 2 && q[0] == '"' && q[qn - 1] == '"') {
			q++;
			qn -= 2;
		}
		if (qn == el && !memcmp(q, e, el))
			return true;
		p += n;
	}
	return false;
}

/* Applies the conditional headers: 0 to go on, else the status to answer (304, 412). */
static int conditions(struct s3req *r, const char *etag, int64_t mtime_ns)
{
	long long mt = mtime_ns / 1000000000;
	const char *im = gw_header(r, "if-match"), *inm = gw_header(r, "if-none-match");
	const char *ius = gw_header(r, "if-unmodified-since"), *ims = gw_header(r, "if-modified-since");
	if (im && !etag_in(im, etag))
		return 412;
	if (!im && ius) {
		long long t = gw_parse_http_date(ius);
		if (t >= 0 && mt > t)
			return 412;
	}
	if (inm && etag_in(inm, etag))
		return 304;
	if (!inm && ims) {
		long long t = gw_parse_http_date(ims);
		if (t >= 0 && mt <= t)
			return 304;
	}
	return 0;
}

/* Parses a Range header against size: 0 whole, 1 a range into [*a, *b], -1 unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *a, uint64_t *b)
{
	if (strncmp(h, "bytes=", 6) || strchr(h, ','))
		return 0; /* other units and several ranges: the whole object, as S3 does */
	const char *p = h + 6;
	char *end;
	if (*p == '-') {
		unsigned long long n = strtoull(p + 1, &end, 10);
		if (*end || end == p + 1)
			return 0;
		if (!n || !size)
			return -1;
		*a = n >= size ? 0 : size - n;
		*b = size - 1;
		return 1;
	}
	unsigned long long x = strtoull(p, &end, 10);
	if (end == p || *end != '-')
		return 0;
	p = end + 1;
	unsigned long long y = size ? size - 1 : 0;
	if (*p) {
		y = strtoull(p, &end, 10);
		if (*end)
			return 0;
		if (y < x)
			return 0;
		if (y >= size)
			y = size - 1;
	}
	if (x >= size)
		return -1;
	*a = x;
	*b = y;
	return 1;
}

static void add_meta_headers(struct MHD_Response *resp, const struct buf *meta, bool *has_ctype)
{
	*has_ctype = false;
	struct buf line = BUF_INIT;
	for (const char *p = meta->data; *p;) {
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		buf_reset(&line);
		buf_add(&line, p, (size_t)(nl - p));
		char *colon = strstr(line.data, ": ");
		if (colon) {
			*colon = 0;
			if (!strcmp(line.data, "content-type"))
				*has_ctype = true;
			MHD_add_response_header(resp, line.data, colon + 2);
		}
		p = nl + 1;
	}
	buf_free(&line);
}

void gw_get_object(struct s3req *r)
{
	struct buf path = BUF_INIT, etag = BUF_INIT, meta = BUF_INIT, v = BUF_INIT;
	bool marker;
	const char *code;
	struct dfs_reader *rd = NULL;
	if (keymap_path(r->gw->root, r->bucket.data, r->key.data, &path, &marker, &code)) {
		gw_error(r, code[0] == 'K' ? 400 : 404, code[0] == 'K' ? code : "NoSuchKey", NULL);
		goto out;
	}
	struct dfs_attr a;
	int rc;
	if (marker) {
		rc = dfs_stat(r->c, path.data, &a);
		if (!rc && a.type != PROTO_T_DIR)
			rc = -ENOENT;
		a.size = 0;
		buf_adds(&etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
	} else {
		rc = dfs_open(r->c, path.data, &rd);
		if (!rc) {
			a = *dfs_reader_attr(rd);
			if (a.type != PROTO_T_FILE)
				rc = -ENOENT;
		}
		if (rc == -ENOTDIR || rc == -EISDIR)
			rc = -ENOENT;
		if (!rc)
			rc = gw_etag(r, path.data, &a, &etag);
		if (!rc) {
			int m = dfs_getxattr(r->c, path.data, GW_XATTR_META, &meta);
			if (m && m != -ENODATA)
				rc = m;
		}
	}
	if (rc == -ENOENT && gw_need_bucket(r))
		goto out;
	if (rc) {
		gw_errno(r, rc, true);
		goto out;
	}
	char lm[64];
	gw_http_date(a.mtime, lm);
	int cond = conditions(r, etag.data, a.mtime);
	if (cond) {
		if (cond == 412) {
			gw_error(r, 412, "PreconditionFailed",
				 "At least one of the pre-conditions you specified did not hold");
		} else {
			struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
			MHD_add_response_header(resp, "ETag", etag.data);
			MHD_add_response_header(resp, "Last-Modified", lm);
			gw_respond(r, 304, resp);
		}
		goto out;
	}
	uint64_t start = 0, end = a.size ? a.size - 1 : 0, len = a.size;
	const char *rh = gw_header(r, "range");
	int ranged = rh ? parse_range(rh, a.size, &start, &end) : 0;
	if (ranged < 0) {
		gw_error(r, 416, "InvalidRange", "The requested range is not satisfiable");
		goto out;
	}
	if (ranged)
		len = end - start + 1;
	struct MHD_Response *resp;
	if (rd && len) {
		struct get_state *g = malloc(sizeof *g);
		g->rd = rd;
		g->start = start;
		rd = NULL;
		resp = MHD_create_response_from_callback(len, 4 << 20, get_read, g, get_free);
	} else {
		resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	}
	bool has_ctype;
	add_meta_headers(resp, &meta, &has_ctype);
	static const struct {
		const char *q, *h;
	} overrides[] = {{"response-content-type", "Content-Type"},
			 {"response-content-language", "Content-Language"},
			 {"response-expires", "Expires"},
			 {"response-cache-control", "Cache-Control"},
			 {"response-content-disposition", "Content-Disposition"},
			 {"response-content-encoding", "Content-Encoding"}};
	for (size_t i = 0; i < sizeof overrides / sizeof overrides[0]; i++)
		if (gw_query(r, overrides[i].q, &v)) {
			MHD_del_response_header(resp, overrides[i].h,
						MHD_get_response_header(resp, overrides[i].h));
			MHD_add_response_header(resp, overrides[i].h, v.data);
			has_ctype |= i == 0;
		}
	if (!has_ctype)
		MHD_add_response_header(resp, "Content-Type", "binary/octet-stream");
	MHD_add_response_header(resp, "ETag", etag.data);
	MHD_add_response_header(resp, "Last-Modified", lm);
	MHD_add_response_header(resp, "Accept-Ranges", "bytes");
	if (ranged) {
		char cr[96];
		snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, end, a.size);
		MHD_add_response_header(resp, "Content-Range", cr);
	}
	gw_respond(r, ranged ? 206 : 200, resp);
out:
	if (rd)
		dfs_reader_close(rd);
	buf_free(&path);
	buf_free(&etag);
	buf_free(&meta);
	buf_free(&v);
}

/* ---- DeleteObject(s) ---- */

/* Deletes one key: 0 (also when it was not there), or -errno / -EINVAL with code. */
static int delete_key(struct s3req *r, const char *key, const char **code)
{
	struct buf path = BUF_INIT;
	bool marker;
	int rc = keymap_path(r->gw->root, r->bucket.data, key, &path, &marker, code);
	if (rc) {
		buf_free(&path);
		return -EINVAL;
	}
	if (marker) {
		rc = dfs_rmdir(r->c, path.data);
		if (rc == -ENOTEMPTY || rc == -ENOTDIR)
			rc = 0; /* the marker's keys live on; a file is another key */
	} else {
		struct dfs_attr a;
		rc = dfs_stat(r->c, path.data, &a);
		if (!rc && a.type == PROTO_T_DIR)
			rc = -ENOENT;
		if (!rc)
			rc = dfs_delete(r->c, path.data, false);
	}
	if (rc == -ENOENT || rc == -ENOTDIR)
		rc = 0;
	if (!rc)
		gw_prune_dirs(r, path.data);
	buf_free(&path);
	return rc;
}

void gw_delete_object(struct s3req *r)
{
	if (gw_need_bucket(r))
		return;
	const char *code = NULL;
	int rc = delete_key(r, r->key.data, &code);
	if (rc == -EINVAL && code)
		gw_error(r, 400, code, NULL);
	else if (rc)
		gw_errno(r, rc, true);
	else
		gw_respond(r, 204, MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT));
}

static void delete_objects_finish(struct s3req *r)
{
	struct xml_span doc = {r->small.data, r->small.len}, del, obj;
	if (gw_check_digests(r))
		return;
	if (!xml_next(&doc, "Delete", &del)) {
		gw_error(r, 400, "MalformedXML",
			 "The XML you provided was not well-formed or did not validate against "
			 "our published schema");
		return;
	}
	struct xml_span qs = del, q;
	struct buf qv = BUF_INIT, key = BUF_INIT, x = BUF_INIT;
	bool quiet = xml_next(&qs, "Quiet", &q) && !xml_unescape(&q, &qv) && !strcmp(qv.data, "true");
	buf_adds(&x, XML_DECL "<DeleteResult xmlns=\"" XML_NS "\">");
	size_t n = 0;
	while (xml_next(&del, "Object", &obj)) {
		struct xml_span k;
		if (++n > 1000 || !xml_next(&obj, "Key", &k) || xml_unescape(&k, &key)) {
			buf_free(&x);
			gw_error(r, 400, "MalformedXML", "bad or too many <Object> elements");
			goto out;
		}
		const char *code = NULL;
		int rc = delete_key(r, key.data, &code);
		if (!rc) {
			if (!quiet) {
				buf_adds(&x, "<Deleted>");
				xml_elem(&x, "Key", key.data);
				buf_adds(&x, "</Deleted>");
			}
		} else {
			buf_adds(&x, "<Error>");
			xml_elem(&x, "Key", key.data);
			xml_elem(&x, "Code", rc == -EINVAL && code ? code
					     : (rc == -EACCES || rc == -EPERM) ? "AccessDenied"
					     : "InternalError");
			xml_elem(&x, "Message", rc == -EINVAL ? "invalid key" : strerror(-rc));
			buf_adds(&x, "</Error>");
		}
	}
	buf_adds(&x, "</DeleteResult>");
	gw_xml(r, 200, &x);
out:
	buf_free(&qv);
	buf_free(&key);
	buf_free(&x);
}

void gw_delete_objects(struct s3req *r)
{
	if (gw_need_bucket(r))
		return;
	gw_buffer_body(r, 2 << 20, delete_objects_finish);
}

/* ---- CopyObject ---- */

/* Copies len bytes at off of the file at src into p; 0 or -errno. */
int gw_copy_into(struct s3req *r, const char *src, uint64_t off, uint64_t len, struct gw_put *p);
int gw_copy_into(struct s3req *r, const char *src, uint64_t off, uint64_t len, struct gw_put *p)
{
	struct dfs_reader *rd;
	int rc = dfs_open(r->c, src, &rd);
	if (rc)
		return rc;
	char *b = malloc(COPY_BUF);
	while (len && !rc) {
		ssize_t n = dfs_pread(rd, b, len < COPY_BUF ? (size_t)len : COPY_BUF, off);
		if (n <= 0) {
			rc = n < 0 ? (int)n : -EIO;
			break;
		}
		rc = gw_put_write(p, b, (size_t)n);
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	free(b);
	dfs_reader_close(rd);
	return rc;
}

/* x-amz-copy-source ("[/]bucket/key[?versionId=..]", URL-encoded) into bucket and key. */
int gw_copy_source(struct s3req *r, struct buf *bucket, struct buf *key);
int gw_copy_source(struct s3req *r, struct buf *bucket, struct buf *key)
{
	const char *h = gw_header(r, "x-amz-copy-source");
	struct buf d = BUF_INIT;
	const char *q = strchr(h, '?');
	int rc = sigv4_unescape(h, q ? (size_t)(q - h) : strlen(h), &d);
	const char *s = d.data + (d.data[0] == '/');
	const char *slash = strchr(s, '/');
	if (rc || !slash || !slash[1]) {
		buf_free(&d);
		gw_error(r, 400, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
		return -1;
	}
	buf_reset(bucket);
	buf_add(bucket, s, (size_t)(slash - s));
	buf_reset(key);
	buf_adds(key, slash + 1);
	buf_free(&d);
	return 0;
}

void gw_copy_object(struct s3req *r)
{
	struct buf sb = BUF_INIT, sk = BUF_INIT, sp = BUF_INIT, dp = BUF_INIT, meta = BUF_INIT,
		   etag = BUF_INIT, x = BUF_INIT;
	bool marker;
	const char *code;
	struct gw_put *p = NULL;
	if (gw_copy_source(r, &sb, &sk))
		goto out;
	if (keymap_path(r->gw->root, r->bucket.data, r->key.data, &dp, &marker, &code) || marker ||
	    !keymap_bucket_ok(sb.data) ||
	    keymap_path(r->gw->root, sb.data, sk.data, &sp, &marker, &code) || marker) {
		gw_error(r, 400, "InvalidArgument", "a key cannot be copied from or to (see the key mapping)");
		goto out;
	}
	if (gw_need_bucket(r))
		goto out;
	struct dfs_attr a;
	int rc = dfs_stat(r->c, sp.data, &a);
	if (!rc && a.type != PROTO_T_FILE)
		rc = -ENOENT;
	if (!rc)
		rc = gw_etag(r, sp.data, &a, &etag);
	if (rc) {
		gw_errno(r, rc, true);
		goto out;
	}
	const char *cim = gw_header(r, "x-amz-copy-source-if-match");
	const char *cinm = gw_header(r, "x-amz-copy-source-if-none-match");
	if ((cim && !etag_in(cim, etag.data)) || (cinm && etag_in(cinm, etag.data))) {
		gw_error(r, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
		goto out;
	}
	const char *dir = gw_header(r, "x-amz-metadata-directive");
	bool replace = dir && !strcasecmp(dir, "REPLACE");
	if (replace) {
		gw_collect_meta(r, &meta);
	} else {
		rc = dfs_getxattr(r->c, sp.data, GW_XATTR_META, &meta);
		if (rc && rc != -ENODATA) {
			gw_errno(r, rc, true);
			goto out;
		}
		if (!strcmp(sp.data, dp.data)) {
			gw_error(r, 400, "InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata.");
			goto out;
		}
	}
	if ((rc = gw_put_begin(r, dp.data, &p)) ||
	    (rc = gw_copy_into(r, sp.data, 0, a.size, p))) {
		gw_put_abort(r, p);
		gw_errno(r, rc, true);
		goto out;
	}
	if ((rc = gw_put_commit(r, p, NULL, &meta))) {
		gw_errno(r, rc, true);
		goto out;
	}
	struct MHD_Response *empty = r->op;
	r->op = NULL;
	const char *e = MHD_get_response_header(empty, "ETag");
	char d[64];
	gw_iso_date((int64_t)time(NULL) * 1000000000, d);
	buf_adds(&x, XML_DECL "<CopyObjectResult xmlns=\"" XML_NS "\">");
	xml_elem(&x, "LastModified", d);
	xml_elem(&x, "ETag", e ? e : "");
	buf_adds(&x, "</CopyObjectResult>");
	MHD_destroy_response(empty);
	gw_xml(r, 200, &x);
out:
	buf_free(&sb);
	buf_free(&sk);
	buf_free(&sp);
	buf_free(&dp);
	buf_free(&meta);
	buf_free(&etag);
	buf_free(&x);
}
