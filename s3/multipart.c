/*
 * multipart: S3's multipart uploads (Create, UploadPart, UploadPartCopy, Complete,
 * Abort, ListMultipartUploads, ListParts) and the expiry of abandoned ones. Runs on the
 * request's connection thread, but gw_expire_uploads on the expiry thread (main.c).
 *
 * An upload is a hidden directory BUCKET/.dfs-s3-uploads/ID (ID: 32 random hex digits)
 * whose xattrs hold the key (user.s3.key) and the object's metadata; each part is a
 * file NNNNN in it, stored like an object (hidden temporary, renamed into place) with
 * its MD5 as ETag. Complete checks the list the client sends (ascending, every part
 * there with its ETag, all but the last at least GW_PART_MIN), then COPIES the parts'
 * bytes in order into a new hidden file next to the key, renames it into place with
 * S3's ETag (the MD5 of the parts' MD5s, "-N") and removes the upload directory.
 * (Stitching the parts' blocks in the namenode without a copy is not done yet: the
 * copy reads and writes every byte once more, through the gateway.)
 * An upload untouched for gw->upload_expiry seconds (its directory's mtime: every part
 * put renews it) is removed by gw_expire_uploads.
 */
#include "gw.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keymap.h"
#include "log.h"
#include "proto.h"
#include "xml.h"

#define UPLOADS KEYMAP_HIDDEN "-uploads"
#define XATTR_KEY "user.s3.key"
#define GW_PART_MIN (5ull << 20)
#define PART_MAX 10000

int gw_copy_into(struct s3req *r, const char *src, uint64_t off, uint64_t len, struct gw_put *p);
int gw_copy_source(struct s3req *r, struct buf *bucket, struct buf *key);

static bool upload_id_ok(const char *id)
{
	if (strlen(id) != 32)
		return false;
	for (const char *p = id; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return false;
	return true;
}

/* The upload directory of r's uploadId into dir, checked to exist for r's key: 0, or
 * answers and -1. */
static int upload_dir(struct s3req *r, struct buf *dir)
{
	struct buf id = BUF_INIT, k = BUF_INIT;
	int rc = -1;
	if (gw_need_bucket(r))
		goto out;
	if (!gw_query(r, "uploadId", &id) || !upload_id_ok(id.data)) {
		gw_error(r, 404, "NoSuchUpload", "The specified upload does not exist.");
		goto out;
	}
	keymap_bucket_path(r->gw->root, r->bucket.data, dir);
	buf_printf(dir, "/" UPLOADS "/%s", id.data);
	int e = dfs_getxattr(r->c, dir->data, XATTR_KEY, &k);
	if (e == -ENOENT || e == -ENODATA || (!e && strcmp(k.data, r->key.data))) {
		gw_error(r, 404, "NoSuchUpload", "The specified upload does not exist.");
		goto out;
	}
	if (e) {
		gw_errno(r, e, true);
		goto out;
	}
	rc = 0;
out:
	buf_free(&id);
	buf_free(&k);
	return rc;
}

void gw_create_multipart(struct s3req *r)
{
	struct buf path = BUF_INIT, dir = BUF_INIT, meta = BUF_INIT, x = BUF_INIT;
	bool marker;
	const char *code;
	if (keymap_path(r->gw->root, r->bucket.data, r->key.data, &path, &marker, &code) || marker) {
		gw_error(r, 400, marker ? "InvalidArgument" : code, "The key cannot be stored in dfs.");
		goto out;
	}
	if (gw_need_bucket(r))
		goto out;
	uint8_t rnd[16];
	char id[33];
	RAND_bytes(rnd, sizeof rnd);
	sigv4_hex(rnd, 16, id);
	keymap_bucket_path(r->gw->root, r->bucket.data, &dir);
	buf_printf(&dir, "/" UPLOADS "/%s", id);
	struct dfs_attr a;
	int rc = dfs_mkdir(r->c, dir.data, 0700, true, &a);
	if (!rc)
		rc = dfs_setxattr(r->c, dir.data, XATTR_KEY, r->key.data, r->key.len, 0);
	gw_collect_meta(r, &meta);
	if (!rc && meta.len)
		rc = dfs_setxattr(r->c, dir.data, GW_XATTR_META, meta.data, meta.len, 0);
	if (rc) {
		gw_errno(r, rc, true);
		goto out;
	}
	buf_adds(&x, XML_DECL "<InitiateMultipartUploadResult xmlns=\"" XML_NS "\">");
	xml_elem(&x, "Bucket", r->bucket.data);
	xml_elem(&x, "Key", r->key.data);
	xml_elem(&x, "UploadId", id);
	buf_adds(&x, "</InitiateMultipartUploadResult>");
	gw_xml(r, 200, &x);
out:
	buf_free(&path);
	buf_free(&dir);
	buf_free(&meta);
	buf_free(&x);
}

static void part_finish(struct s3req *r)
{
	struct gw_put *p = r->op;
	r->op = NULL;
	r->op_free = NULL;
	if (gw_check_digests(r)) {
		gw_put_abort(r, p);
		return;
	}
	int rc = gw_put_commit(r, p, NULL, NULL);
	if (rc) {
		gw_errno(r, rc, true);
		return;
	}
	struct MHD_Response *resp = r->op;
	r->op = NULL;
	gw_respond(r, 200, resp);
}

void gw_upload_part(struct s3req *r)
{
	struct buf dir = BUF_INIT, v = BUF_INIT, sb = BUF_INIT, sk = BUF_INIT, sp = BUF_INIT,
		   x = BUF_INIT;
	struct gw_put *p = NULL;
	if (upload_dir(r, &dir))
		goto out;
	char *end;
	long n = gw_query(r, "partNumber", &v) ? strtol(v.data, &end, 10) : 0;
	if (!v.len || *end || n < 1 || n > PART_MAX) {
		gw_error(r, 400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
		goto out;
	}
	buf_printf(&dir, "/%05ld", n);
	if (r->api == API_UPLOAD_PART) {
		int rc = gw_put_begin(r, dir.data, &p);
		if (rc) {
			gw_errno(r, rc, true);
			goto out;
		}
		r->op = p;
		r->op_free = gw_put_op_free;
		r->body = gw_put_sink;
		r->finish = part_finish;
		goto out;
	}
	/* UploadPartCopy */
	bool marker;
	const char *code;
	if (gw_copy_source(r, &sb, &sk))
		goto out;
	if (!keymap_bucket_ok(sb.data) ||
	    keymap_path(r->gw->root, sb.data, sk.data, &sp, &marker, &code) || marker) {
		gw_error(r, 400, "InvalidArgument", "bad copy source");
		goto out;
	}
	struct dfs_attr a;
	int rc = dfs_stat(r->c, sp.data, &a);
	if (!rc && a.type != PROTO_T_FILE)
		rc = -ENOENT;
	if (rc) {
		gw_errno(r, rc, true);
		goto out;
	}
	uint64_t off = 0, len = a.size;
	const char *range = gw_header(r, "x-amz-copy-source-range");
	if (range) {
		unsigned long long s, e;
		if (sscanf(range, "bytes=%llu-%llu", &s, &e) != 2 || e < s || e >= a.size) {
			gw_error(r, 400, "InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy");
			goto out;
		}
		off = s;
		len = e - s + 1;
	}
	if ((rc = gw_put_begin(r, dir.data, &p))) {
		gw_errno(r, rc, true);
		goto out;
	}
	if ((rc = gw_copy_into(r, sp.data, off, len, p))) {
		gw_put_abort(r, p);
		gw_errno(r, rc, true);
		goto out;
	}
	if ((rc = gw_put_commit(r, p, NULL, NULL))) {
		gw_errno(r, rc, true);
		goto out;
	}
	struct MHD_Response *empty = r->op;
	r->op = NULL;
	const char *e = MHD_get_response_header(empty, "ETag");
	char d[64];
	gw_iso_date((int64_t)time(NULL) * 1000000000, d);
	buf_adds(&x, XML_DECL "<CopyPartResult xmlns=\"" XML_NS "\">");
	xml_elem(&x, "LastModified", d);
	xml_elem(&x, "ETag", e ? e : "");
	buf_adds(&x, "</CopyPartResult>");
	MHD_destroy_response(empty);
	gw_xml(r, 200, &x);
out:
	buf_free(&dir);
	buf_free(&v);
	buf_free(&sb);
	buf_free(&sk);
	buf_free(&sp);
	buf_free(&x);
}

struct part {
	long n;
	uint64_t size;
	int64_t mtime;
	char etag[40]; /* quoted MD5 */
};

struct parts {
	struct s3req *r;
	const char *dir;
	struct part *v;
	size_t n, cap;
	int err;
};

static int add_part(void *arg, const char *name, const struct dfs_attr *a)
{
	struct parts *ps = arg;
	char *end;
	long n = strtol(name, &end, 10);
	if (*end || strlen(name) != 5 || a->type != PROTO_T_FILE || n < 1)
		return 0;
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 16;
		struct part *nv = realloc(ps->v, ps->cap * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		ps->v = nv;
	}
	struct part *p = &ps->v[ps->n++];
	p->n = n;
	p->size = a->size;
	p->mtime = a->mtime;
	struct buf path = BUF_INIT, e = BUF_INIT;
	buf_printf(&path, "%s/%s", ps->dir, name);
	int rc = gw_stored_etag(ps->r->c, path.data, &e);
	snprintf(p->etag, sizeof p->etag, "%s", e.data);
	if (rc)
		ps->err = rc;
	buf_free(&path);
	buf_free(&e);
	return 0;
}

/* The parts of upload dir, by number (dfs_list gives names in order). */
static int list_parts(struct s3req *r, const char *dir, struct parts *ps)
{
	memset(ps, 0, sizeof *ps);
	ps->r = r;
	ps->dir = dir;
	int rc = dfs_list(r->c, dir, add_part, ps);
	return rc ? rc : ps->err;
}

static void complete_finish(struct s3req *r)
{
	struct buf dir = BUF_INIT, path = BUF_INIT, v = BUF_INIT, meta = BUF_INIT, x = BUF_INIT,
		   pp = BUF_INIT;
	struct parts ps = {0};
	struct gw_put *p = NULL;
	bool marker;
	const char *code;
	EVP_MD_CTX *m = NULL;
	if (upload_dir(r, &dir))
		goto out;
	keymap_path(r->gw->root, r->bucket.data, r->key.data, &path, &marker, &code);
	int rc = list_parts(r, dir.data, &ps);
	if (rc) {
		gw_errno(r, rc, true);
		goto out;
	}
	struct xml_span doc = {r->small.data, r->small.len}, body, part;
	if (!xml_next(&doc, "CompleteMultipartUpload", &body)) {
		gw_error(r, 400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema");
		goto out;
	}
	/* the chosen parts, checked, as indexes into ps */
	size_t *chosen = calloc(PART_MAX, sizeof *chosen), nc = 0;
	long last = 0;
	while (xml_next(&body, "Part", &part)) {
		struct xml_span pn, pe;
		long n = 0;
		char *end = NULL;
		if (!xml_next(&(struct xml_span){part.p, part.n}, "PartNumber", &pn) ||
		    xml_unescape(&pn, &v) || ((n = strtol(v.data, &end, 10)), *end) || n < 1 ||
		    n > PART_MAX || nc == PART_MAX) {
			gw_error(r, 400, "MalformedXML", "bad <PartNumber>");
			goto out_chosen;
		}
		if (n <= last) {
			gw_error(r, 400, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.");
			goto out_chosen;
		}
		last = n;
		size_t i = 0;
		while (i < ps.n && ps.v[i].n != n)
			i++;
		bool ok = i < ps.n;
		if (ok && xml_next(&(struct xml_span){part.p, part.n}, "ETag", &pe) &&
		    !xml_unescape(&pe, &v)) {
			const char *e = v.data;
			size_t el = v.len;
			if (el >= 2 && e[0] == '"') {
				e++;
				el -= 2;
			}
			ok = el == strlen(ps.v[i].etag) - 2 && !memcmp(e, ps.v[i].etag + 1, el);
		}
		if (!ok) {
			gw_error(r, 400, "InvalidPart", "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.");
			goto out_chosen;
		}
		chosen[nc++] = i;
	}
	if (!nc) {
		gw_error(r, 400, "MalformedXML", "no <Part>");
		goto out_chosen;
	}
	for (size_t k = 0; k + 1 < nc; k++)
		if (ps.v[chosen[k]].size < GW_PART_MIN) {
			gw_error(r, 400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.");
			goto out_chosen;
		}
	rc = dfs_getxattr(r->c, dir.data, GW_XATTR_META, &meta);
	if (rc && rc != -ENODATA) {
		gw_errno(r, rc, true);
		goto out_chosen;
	}
	m = EVP_MD_CTX_new();
	EVP_DigestInit_ex(m, EVP_md5(), NULL);
	if ((rc = gw_put_begin(r, path.data, &p)))
		goto fail;
	for (size_t k = 0; k < nc && !rc; k++) {
		struct part *pt = &ps.v[chosen[k]];
		uint8_t raw[16];
		for (int j = 0; j < 16; j++) {
			unsigned b;
			sscanf(pt->etag + 1 + 2 * j, "%2x", &b);
			raw[j] = (uint8_t)b;
		}
		EVP_DigestUpdate(m, raw, 16);
		buf_reset(&pp);
		buf_printf(&pp, "%s/%05ld", dir.data, pt->n);
		rc = gw_copy_into(r, pp.data, 0, pt->size, p);
	}
	if (rc) {
		gw_put_abort(r, p);
		goto fail;
	}
	uint8_t h[16];
	unsigned hl = 16;
	char etag[64];
	EVP_DigestFinal_ex(m, h, &hl);
	sigv4_hex(h, 16, etag);
	snprintf(etag + 32, sizeof etag - 32, "-%zu", nc);
	if ((rc = gw_put_commit(r, p, etag, &meta)))
		goto fail;
	MHD_destroy_response(r->op);
	r->op = NULL;
	rc = dfs_delete(r->c, dir.data, true);
	if (rc)
		log_warn("cannot remove the finished upload '%s': %s", dir.data, strerror(-rc));
	buf_adds(&x, XML_DECL "<CompleteMultipartUploadResult xmlns=\"" XML_NS "\">");
	xml_elemf(&x, "Location", "/%s/%s", r->bucket.data, r->key.data);
	xml_elem(&x, "Bucket", r->bucket.data);
	xml_elem(&x, "Key", r->key.data);
	xml_elemf(&x, "ETag", "\"%s\"", etag);
	buf_adds(&x, "</CompleteMultipartUploadResult>");
	gw_xml(r, 200, &x);
	goto out_chosen;
fail:
	gw_errno(r, rc, true);
out_chosen:
	free(chosen);
out:
	EVP_MD_CTX_free(m);
	free(ps.v);
	buf_free(&dir);
	buf_free(&path);
	buf_free(&v);
	buf_free(&meta);
	buf_free(&x);
	buf_free(&pp);
}

void gw_complete_multipart(struct s3req *r)
{
	gw_buffer_body(r, 4 << 20, complete_finish);
}

void gw_abort_multipart(struct s3req *r)
{
	struct buf dir = BUF_INIT;
	if (!upload_dir(r, &dir)) {
		int rc = dfs_delete(r->c, dir.data, true);
		if (rc)
			gw_errno(r, rc, true);
		else
			gw_respond(r, 204, MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT));
	}
	buf_free(&dir);
}

void gw_list_parts(struct s3req *r)
{
	struct buf dir = BUF_INIT, x = BUF_INIT, id = BUF_INIT;
	struct parts ps = {0};
	if (upload_dir(r, &dir))
		goto out;
	int rc = list_parts(r, dir.data, &ps);
	if (rc) {
		gw_errno(r, rc, true);
		goto out;
	}
	gw_query(r, "uploadId", &id);
	buf_adds(&x, XML_DECL "<ListPartsResult xmlns=\"" XML_NS "\">");
	xml_elem(&x, "Bucket", r->bucket.data);
	xml_elem(&x, "Key", r->key.data);
	xml_elem(&x, "UploadId", id.data);
	xml_elem(&x, "PartNumberMarker", "0");
	xml_elemf(&x, "NextPartNumberMarker", "%ld", ps.n ? ps.v[ps.n - 1].n : 0);
	xml_elem(&x, "MaxParts", "10000");
	xml_elem(&x, "IsTruncated", "false");
	xml_elem(&x, "StorageClass", "STANDARD");
	for (size_t i = 0; i < ps.n; i++) {
		char d[64];
		gw_iso_date(ps.v[i].mtime, d);
		buf_adds(&x, "<Part>");
		xml_elemf(&x, "PartNumber", "%ld", ps.v[i].n);
		xml_elem(&x, "LastModified", d);
		xml_elem(&x, "ETag", ps.v[i].etag);
		xml_elemf(&x, "Size", "%" PRIu64, ps.v[i].size);
		buf_adds(&x, "</Part>");
	}
	buf_adds(&x, "</ListPartsResult>");
	gw_xml(r, 200, &x);
out:
	free(ps.v);
	buf_free(&dir);
	buf_free(&x);
	buf_free(&id);
}

struct uploads {
	struct dfs_client *c;
	const char *dir;
	const char *prefix;
	struct buf *xml;
	double older_than; /* expiry: remove those untouched since (s since the epoch) */
	int err;
};

static int each_upload(void *arg, const char *name, const struct dfs_attr *a)
{
	struct uploads *u = arg;
	if (a->type != PROTO_T_DIR || !upload_id_ok(name))
		return 0;
	struct buf path = BUF_INIT, key = BUF_INIT;
	buf_printf(&path, "%s/%s", u->dir, name);
	if (u->older_than > 0) {
		if ((double)a->mtime / 1e9 < u->older_than) {
			int rc = dfs_delete(u->c, path.data, true);
			if (rc)
				log_warn("cannot expire the upload '%s': %s", path.data, strerror(-rc));
			else
				log_info("expired the abandoned upload '%s'", path.data);
		}
	} else if (!dfs_getxattr(u->c, path.data, XATTR_KEY, &key) &&
		   !strncmp(key.data, u->prefix, strlen(u->prefix))) {
		char d[64];
		gw_iso_date(a->mtime, d);
		buf_adds(u->xml, "<Upload>");
		xml_elem(u->xml, "Key", key.data);
		xml_elem(u->xml, "UploadId", name);
		xml_elem(u->xml, "StorageClass", "STANDARD");
		xml_elem(u->xml, "Initiated", d);
		buf_adds(u->xml, "</Upload>");
	}
	buf_free(&path);
	buf_free(&key);
	return 0;
}

void gw_list_multipart(struct s3req *r)
{
	struct buf dir = BUF_INIT, x = BUF_INIT, prefix = BUF_INIT;
	if (gw_need_bucket(r))
		goto out;
	gw_query(r, "prefix", &prefix);
	keymap_bucket_path(r->gw->root, r->bucket.data, &dir);
	buf_adds(&dir, "/" UPLOADS);
	buf_adds(&x, XML_DECL "<ListMultipartUploadsResult xmlns=\"" XML_NS "\">");
	xml_elem(&x, "Bucket", r->bucket.data);
	xml_elem(&x, "KeyMarker", "");
	xml_elem(&x, "UploadIdMarker", "");
	xml_elem(&x, "Prefix", prefix.data);
	xml_elem(&x, "MaxUploads", "1000");
	xml_elem(&x, "IsTruncated", "false");
	struct uploads u = {r->c, dir.data, prefix.data, &x, 0, 0};
	int rc = dfs_list(r->c, dir.data, each_upload, &u);
	if (rc && rc != -ENOENT) {
		gw_errno(r, rc, false);
		goto out;
	}
	buf_adds(&x, "</ListMultipartUploadsResult>");
	gw_xml(r, 200, &x);
out:
	buf_free(&dir);
	buf_free(&x);
	buf_free(&prefix);
}

static int each_bucket(void *arg, const char *name, const struct dfs_attr *a)
{
	struct uploads *u = arg;
	if (a->type != PROTO_T_DIR || !keymap_bucket_ok(name))
		return 0;
	struct buf dir = BUF_INIT;
	buf_printf(&dir, "%s/%s/" UPLOADS, u->dir, name);
	struct uploads sub = *u;
	sub.dir = dir.data;
	int rc = dfs_list(u->c, dir.data, each_upload, &sub);
	if (rc && rc != -ENOENT)
		log_warn("cannot list the uploads of '%s': %s", dir.data, strerror(-rc));
	buf_free(&dir);
	return 0;
}

void gw_expire_uploads(struct gw *gw)
{
	if (!gw->admin)
		return;
	struct uploads u = {gw->admin, gw->root, "", NULL, (double)time(NULL) - gw->upload_expiry, 0};
	int rc = dfs_list(gw->admin, *gw->root ? gw->root : "/", each_bucket, &u);
	if (rc)
		log_warn("cannot list the buckets for upload expiry: %s", strerror(-rc));
}
