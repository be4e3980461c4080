/*
 * front: the gateway's HTTP front end (libmicrohttpd, one thread per connection),
 * authentication, routing, the request body pipeline, responses and metrics. See gw.h
 * for a request's life.
 */
#include "gw.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <isa-l/crc.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "crc.h"
#include "fsutil.h"
#include "keymap.h"
#include "log.h"
#include "net.h"
#include "prom.h"
#include "xml.h"

const char *const gw_api_names[API_N] = {
	"unknown", "ListBuckets", "CreateBucket", "DeleteBucket", "HeadBucket",
	"GetBucketLocation", "ListObjects", "ListObjectsV2", "PutObject", "GetObject",
	"HeadObject", "DeleteObject", "DeleteObjects", "CopyObject", "CreateMultipartUpload",
	"UploadPart", "UploadPartCopy", "CompleteMultipartUpload", "AbortMultipartUpload",
	"ListMultipartUploads", "ListParts",
};

static const int gw_statuses[GW_STATUS_N - 1] = {200, 204, 206, 304, 400, 403, 404, 405,
						  409, 411, 412, 416, 500, 501, 503};
static const double lat_bounds[GW_LAT_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						  0.1, 0.25, 0.5, 1, 2.5, 10};

static struct MHD_Daemon *the_daemon;
static struct gw *the_gw;
static char *tls_cert_pem, *tls_key_pem;
static uint64_t next_request_id;

/* ---- helpers the handlers use ---- */

const char *gw_header(const struct s3req *r, const char *name)
{
	for (size_t i = 0; i < r->nh; i++)
		if (!strcasecmp(r->h[i].name, name))
			return r->h[i].value;
	return NULL;
}

const char *gw_query(struct s3req *r, const char *name, struct buf *out)
{
	size_t nl = strlen(name);
	for (const char *p = r->query.data; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len >= nl && !strncmp(p, name, nl) && (len == nl || p[nl] == '=')) {
			if (len == nl) {
				buf_reset(out);
				return out->data;
			}
			return sigv4_unescape(p + nl + 1, len - nl - 1, out) ? NULL : out->data;
		}
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

bool gw_has_query(const struct s3req *r, const char *name)
{
	struct buf b = BUF_INIT;
	bool has = gw_query((struct s3req *)r, name, &b) != NULL;
	buf_free(&b);
	return has;
}

void gw_respond(struct s3req *r, int status, struct MHD_Response *resp)
{
	char id[32];
	snprintf(id, sizeof id, "%016" PRIx64, __atomic_add_fetch(&next_request_id, 1,
								    __ATOMIC_RELAXED));
	MHD_add_response_header(resp, "x-amz-request-id", id);
	MHD_add_response_header(resp, "Server", "dfs-s3");
	if (MHD_queue_response(r->conn, (unsigned)status, resp) != MHD_YES)
		log_warn("cannot queue the response to %s %s", r->method, r->uri.data);
	MHD_destroy_response(resp);
	r->answered = true;
	r->status = status;
}

void gw_xml(struct s3req *r, int status, struct buf *xml)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(xml->len, xml->data, MHD_RESPMEM_MUST_COPY);
	buf_reset(xml);
	if (!resp)
		return;
	MHD_add_response_header(resp, "Content-Type", "application/xml");
	gw_respond(r, status, resp);
}

void gw_error(struct s3req *r, int status, const char *code, const char *msg)
{
	if (r->answered)
		return;
	struct buf b = BUF_INIT;
	if (!r->head) {
		buf_adds(&b, XML_DECL "<Error>");
		xml_elem(&b, "Code", code);
		xml_elem(&b, "Message", msg ? msg : code);
		if (r->bucket.len)
			xml_elem(&b, "BucketName", r->bucket.data);
		if (r->key.len)
			xml_elem(&b, "Key", r->key.data);
		buf_adds(&b, "<Resource>");
		xml_text(&b, r->path.data, r->path.len);
		buf_adds(&b, "</Resource></Error>");
	}
	log_debug("%s %s: %d %s%s%s", r->method, r->uri.data, status, code, msg ? ": " : "",
		  msg ? msg : "");
	gw_xml(r, status, &b);
	buf_free(&b);
}

void gw_errno(struct s3req *r, int rc, bool is_key)
{
	const char *m = dfs_errmsg();
	switch (-rc) {
	case ENOENT:
		if (is_key)
			gw_error(r, 404, "NoSuchKey", "The specified key does not exist.");
		else
			gw_error(r, 404, "NoSuchBucket", "The specified bucket does not exist.");
		break;
	case EACCES:
	case EPERM: gw_error(r, 403, "AccessDenied", "Access Denied"); break;
	case ENOTEMPTY:
		gw_error(r, 409, "BucketNotEmpty", "The bucket you tried to delete is not empty.");
		break;
	case ENAMETOOLONG: gw_error(r, 400, "KeyTooLongError", "Your key is too long."); break;
	case EISDIR:
	case ENOTDIR:
	case EEXIST:
		gw_error(r, 409, "InvalidObjectState",
			 "The key conflicts with a directory or file of the namespace.");
		break;
	case ENOSPC:
	case EDQUOT: gw_error(r, 507, "InsufficientStorage", m && *m ? m : "no space"); break;
	case EBUSY:
	case EAGAIN: gw_error(r, 503, "SlowDown", m && *m ? m : "busy"); break;
	case EROFS: gw_error(r, 403, "AccessDenied", "read-only (safe mode)"); break;
	default:
		log_warn("%s %s: %s (%s)", r->method, r->uri.data, strerror(-rc), m);
		gw_error(r, 500, "InternalError", *m ? m : strerror(-rc));
	}
}

void gw_http_date(int64_t ns, char out[64])
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

void gw_iso_date(int64_t ns, char out[64])
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char s[48];
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 64, "%s.%03dZ", s, (int)(ns / 1000000 % 1000));
}

long long gw_parse_http_date(const char *s)
{
	static const char *const fmts[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
					   "%a %b %e %H:%M:%S %Y", "%Y-%m-%dT%H:%M:%SZ"};
	for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
		struct tm tm;
		memset(&tm, 0, sizeof tm);
		const char *e = strptime(s, fmts[i], &tm);
		if (e && !*e)
			return (long long)timegm(&tm);
	}
	return -1;
}

void gw_payload_md5(struct s3req *r, uint8_t out[16])
{
	unsigned n = 16;
	EVP_DigestFinal_ex(r->md5, out, &n);
	EVP_DigestInit_ex(r->md5, EVP_md5(), NULL); /* ready, should anyone ask twice */
}

/* The value of checksum header or trailer name, or NULL. */
static const char *checksum_value(struct s3req *r, const char *name, struct buf *tmp)
{
	const char *v = gw_header(r, name);
	if (!v && r->chunked_body)
		v = chunked_trailer(&r->ch, name, tmp);
	return v;
}

static int compare_b64(struct s3req *r, const char *name, const char *v, const uint8_t *want,
		       size_t n)
{
	uint8_t got[32];
	if (sigv4_unbase64(v, got, sizeof got) != (int)n) {
		gw_error(r, 400, "InvalidDigest", name);
		return -1;
	}
	if (memcmp(got, want, n)) {
		gw_error(r, 400, "BadDigest", name);
		return -1;
	}
	return 0;
}

int gw_check_digests(struct s3req *r)
{
	struct buf tmp = BUF_INIT;
	int rc = 0;
	const char *v = gw_header(r, "content-md5");
	if (v) {
		uint8_t md5[16];
		unsigned n = 16;
		EVP_MD_CTX *copy = EVP_MD_CTX_new();
		EVP_MD_CTX_copy_ex(copy, r->md5);
		EVP_DigestFinal_ex(copy, md5, &n);
		EVP_MD_CTX_free(copy);
		rc = compare_b64(r, "Content-MD5", v, md5, 16);
	}
	if (!rc && (v = checksum_value(r, "x-amz-checksum-crc32", &tmp))) {
		uint8_t be[4] = {(uint8_t)(r->crc32 >> 24), (uint8_t)(r->crc32 >> 16),
				 (uint8_t)(r->crc32 >> 8), (uint8_t)r->crc32};
		rc = compare_b64(r, "x-amz-checksum-crc32", v, be, 4);
	}
	if (!rc && (v = checksum_value(r, "x-amz-checksum-crc32c", &tmp))) {
		uint8_t be[4] = {(uint8_t)(r->crc32c >> 24), (uint8_t)(r->crc32c >> 16),
				 (uint8_t)(r->crc32c >> 8), (uint8_t)r->crc32c};
		rc = compare_b64(r, "x-amz-checksum-crc32c", v, be, 4);
	}
	if (!rc && (v = checksum_value(r, "x-amz-checksum-sha256", &tmp))) {
		uint8_t h[32];
		unsigned n = 32;
		EVP_DigestFinal_ex(r->csha, h, &n);
		rc = compare_b64(r, "x-amz-checksum-sha256", v, h, 32);
	}
	buf_free(&tmp);
	return rc;
}

static int buffer_sink(struct s3req *r, const char *p, size_t n)
{
	if (r->small.len + n > r->small_max) {
		r->body_code = "MaxMessageLengthExceeded";
		return -EMSGSIZE;
	}
	buf_add(&r->small, p, n);
	return 0;
}

void gw_buffer_body(struct s3req *r, size_t max, gw_finish_fn finish)
{
	r->small_max = max;
	r->body = buffer_sink;
	r->finish = finish;
}

/* ---- the payload pipeline ---- */

static int payload_sink(void *arg, const char *p, size_t n)
{
	struct s3req *r = arg;
	r->payload_len += n;
	EVP_DigestUpdate(r->md5, p, n);
	if (r->csha)
		EVP_DigestUpdate(r->csha, p, n);
	if (r->want_crc32)
		r->crc32 = crc32_gzip_refl(r->crc32, (const unsigned char *)p, n);
	if (r->want_crc32c)
		r->crc32c = crc32c_extend(r->crc32c, p, n);
	return r->body ? r->body(r, p, n) : 0;
}

static void feed(struct s3req *r, const char *p, size_t n)
{
	r->bytes_in += n;
	if (r->body_err)
		return; /* drained: the error is answered at the end */
	if (r->check_sha)
		EVP_DigestUpdate(r->sha, p, n);
	int rc = r->chunked_body ? chunked_feed(&r->ch, p, n, payload_sink, r)
				 : payload_sink(r, p, n);
	if (rc) {
		r->body_err = rc;
		if (!r->body_code)
			r->body_code = rc == -EACCES ? "SignatureDoesNotMatch"
				     : rc == -EINVAL ? "IncompleteBody" : NULL;
	}
}

/* The body has all come: checks what the payload promised, then finish. */
static void end_of_body(struct s3req *r)
{
	if (r->body_err) {
		if (r->body_code && !strcmp(r->body_code, "SignatureDoesNotMatch"))
			gw_error(r, 403, "SignatureDoesNotMatch", "a chunk signature is wrong");
		else if (r->body_code)
			gw_error(r, 400, r->body_code, NULL);
		else
			gw_errno(r, r->body_err, true);
		goto out;
	}
	if (r->chunked_body && !chunked_done(&r->ch)) {
		gw_error(r, 400, "IncompleteBody", "the aws-chunked body ended early");
		goto out;
	}
	const char *dl = gw_header(r, "x-amz-decoded-content-length");
	if (r->chunked_body && dl && strtoull(dl, NULL, 10) != r->payload_len) {
		gw_error(r, 400, "IncompleteBody", "x-amz-decoded-content-length differs");
		goto out;
	}
	if (r->check_sha) {
		uint8_t h[32];
		unsigned n = 32;
		char hx[65];
		EVP_DigestFinal_ex(r->sha, h, &n);
		sigv4_hex(h, 32, hx);
		if (strcasecmp(hx, r->auth.payload)) {
			gw_error(r, 400, "XAmzContentSHA256Mismatch",
				 "The provided 'x-amz-content-sha256' header does not match what "
				 "was computed.");
			goto out;
		}
	}
	if (r->finish)
		r->finish(r);
out:
	if (!r->answered)
		gw_error(r, 500, "InternalError", "no answer");
}

/* ---- authentication ---- */

static struct gw_user *find_user(struct gw *gw, const char *access)
{
	for (size_t i = 0; i < gw->nusers; i++)
		if (!strcmp(gw->users[i].access, access))
			return &gw->users[i];
	return NULL;
}

/* One of the user's cluster connections (each opened on first use), in turn. */
static struct dfs_client *user_client(struct gw *gw, struct gw_user *u)
{
	pthread_mutex_lock(&gw->users_lock);
	unsigned i = u->next++ % GW_POOL;
	if (!u->c[i]) {
		struct dfs_client_opts o = gw->co;
		o.uid = u->uid;
		o.gid = u->gid;
		if (dfs_connect(&o, &u->c[i])) {
			log_warn("cannot connect to the namenode '%s' as uid %u: %s", o.namenode,
				 u->uid, dfs_errmsg());
			u->c[i] = NULL;
		} else {
			dfs_set_reconnect(u->c[i], true);
		}
	}
	struct dfs_client *c = u->c[i];
	pthread_mutex_unlock(&gw->users_lock);
	return c;
}

/* Wants a checksum named in x-amz-trailer or as a header? */
static bool wants(struct s3req *r, const char *name)
{
	if (gw_header(r, name))
		return true;
	const char *t = gw_header(r, "x-amz-trailer");
	if (!t)
		return false;
	size_t nl = strlen(name);
	for (const char *p = t; (p = strcasestr(p, name)); p += nl)
		if ((p == t || p[-1] == ',' || p[-1] == ' ') &&
		    (!p[nl] || p[nl] == ',' || p[nl] == ' '))
			return true;
	return false;
}

/* Authenticates r and sets up its payload checks: 0, or answers and -1. */
static int authenticate(struct s3req *r)
{
	struct gw *gw = r->gw;
	struct sigv4_input in = {r->method, r->path.data, r->query.data, r->h, r->nh};
	const char *code = "AccessDenied";
	int rc = sigv4_parse(&in, &r->auth, &code);
	if (rc < 0) {
		gw_error(r, !strcmp(code, "AccessDenied") ? 403 : 400, code,
			 "the request's signature fields are malformed");
		return -1;
	}
	if (rc == SIGV4_NONE && strstr(r->query.data, "AWSAccessKeyId=")) {
		gw_error(r, 400, "InvalidRequest", "The authorization mechanism you have provided is "
			 "not supported. Please use AWS4-HMAC-SHA256.");
		return -1;
	}
	if (rc == SIGV4_NONE) {
		if (!gw->anonymous) {
			gw_error(r, 403, "AccessDenied", "Anonymous access is off.");
			return -1;
		}
		r->user = gw->anonymous;
		const char *ph = gw_header(r, "x-amz-content-sha256");
		snprintf(r->auth.payload, sizeof r->auth.payload, "%s", ph ? ph : "UNSIGNED-PAYLOAD");
	} else {
		r->user = find_user(gw, r->auth.access);
		if (!r->user) {
			gw_error(r, 403, "InvalidAccessKeyId",
				 "The AWS Access Key Id you provided does not exist in our records.");
			return -1;
		}
		long long t = sigv4_time(r->auth.amzdate), now = (long long)time(NULL);
		if (r->auth.presigned ? t > now + 900 : (t > now + 900 || t < now - 900)) {
			gw_error(r, 403, "RequestTimeTooSkewed",
				 "The difference between the request time and the server's time "
				 "is too large.");
			return -1;
		}
		if (r->auth.presigned && now > t + r->auth.expires) {
			gw_error(r, 403, "AccessDenied", "Request has expired");
			return -1;
		}
		rc = sigv4_verify(&in, &r->auth, r->user->secret);
		if (rc) {
			gw_error(r, 403, "SignatureDoesNotMatch",
				 "The request signature we calculated does not match the signature "
				 "you provided.");
			return -1;
		}
	}
	const char *p = r->auth.payload;
	if (strlen(p) == 64) {
		r->check_sha = true;
	} else if (!strcmp(p, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")) {
		if (r->user == gw->anonymous && rc == SIGV4_NONE) {
			gw_error(r, 400, "InvalidRequest", "signed chunks without a signature");
			return -1;
		}
		uint8_t key[32];
		sigv4_signing_key(r->user->secret, r->auth.date, r->auth.region, r->auth.service,
				  key);
		r->chunked_body = true;
		chunked_init(&r->ch, key, r->auth.amzdate, r->auth.scope, r->auth.signature);
	} else if (!strcmp(p, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")) {
		r->chunked_body = true;
		chunked_init(&r->ch, NULL, NULL, NULL, NULL);
	} else if (strcmp(p, "UNSIGNED-PAYLOAD")) {
		gw_error(r, 501, "NotImplemented", "this x-amz-content-sha256 mode");
		return -1;
	}
	if (r->check_sha) {
		r->sha = EVP_MD_CTX_new();
		EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL);
	}
	r->want_crc32 = wants(r, "x-amz-checksum-crc32");
	r->want_crc32c = wants(r, "x-amz-checksum-crc32c");
	if (wants(r, "x-amz-checksum-sha256")) {
		r->csha = EVP_MD_CTX_new();
		EVP_DigestInit_ex(r->csha, EVP_sha256(), NULL);
	}
	r->c = user_client(gw, r->user);
	if (!r->c) {
		gw_error(r, 503, "ServiceUnavailable", "the cluster is unreachable");
		return -1;
	}
	return 0;
}

/* ---- routing ---- */

/* Splits the raw path into bucket and key (decoded): 0, or answers and -1. */
static int split_path(struct s3req *r)
{
	struct buf dec = BUF_INIT;
	int rc = sigv4_unescape(r->path.data, r->path.len, &dec);
	if (rc || dec.data[0] != '/') {
		buf_free(&dec);
		gw_error(r, 400, "InvalidURI", "Couldn't parse the specified URI.");
		return -1;
	}
	const char *b = dec.data + 1, *slash = strchr(b, '/');
	buf_add(&r->bucket, b, slash ? (size_t)(slash - b) : strlen(b));
	if (slash && slash[1])
		buf_adds(&r->key, slash + 1);
	buf_free(&dec);
	return 0;
}

static void not_implemented(struct s3req *r)
{
	gw_error(r, 501, "NotImplemented", "A header or query you provided implies functionality that is not implemented.");
}

/* The handler of r (its first call), by method, path and subresource. */
static void route(struct s3req *r)
{
	static const char *const unsupported[] = {"acl", "policy", "tagging", "versioning",
						  "cors", "lifecycle", "website", "logging",
						  "notification", "replication", "encryption",
						  "object-lock", "retention", "legal-hold",
						  "versions", "torrent", "restore", "select",
						  "accelerate", "requestPayment", "analytics",
						  "inventory", "metrics", "ownershipControls",
						  "publicAccessBlock", "intelligent-tiering"};
	const char *m = r->method;
	for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
		if (gw_has_query(r, unsupported[i]))
			return not_implemented(r);
	if (!r->bucket.len) {
		if (!strcmp(m, "GET")) {
			r->api = API_LIST_BUCKETS;
			return gw_list_buckets(r);
		}
		gw_error(r, 405, "MethodNotAllowed", NULL);
		return;
	}
	if (!keymap_bucket_ok(r->bucket.data)) {
		gw_error(r, 400, "InvalidBucketName", "The specified bucket is not valid.");
		return;
	}
	if (!r->key.len) {
		if (!strcmp(m, "PUT")) {
			r->api = API_CREATE_BUCKET;
			return gw_create_bucket(r);
		}
		if (!strcmp(m, "DELETE")) {
			r->api = API_DELETE_BUCKET;
			return gw_delete_bucket(r);
		}
		if (!strcmp(m, "HEAD")) {
			r->api = API_HEAD_BUCKET;
			return gw_head_bucket(r);
		}
		if (!strcmp(m, "POST") && gw_has_query(r, "delete")) {
			r->api = API_DELETE_OBJECTS;
			return gw_delete_objects(r);
		}
		if (!strcmp(m, "GET")) {
			if (gw_has_query(r, "location")) {
				r->api = API_GET_BUCKET_LOCATION;
				return gw_bucket_location(r);
			}
			if (gw_has_query(r, "uploads")) {
				r->api = API_LIST_MULTIPART;
				return gw_list_multipart(r);
			}
			struct buf v = BUF_INIT;
			const char *lt = gw_query(r, "list-type", &v);
			bool v2 = lt && !strcmp(lt, "2");
			buf_free(&v);
			r->api = v2 ? API_LIST_OBJECTS_V2 : API_LIST_OBJECTS;
			return gw_list_objects(r, v2);
		}
		gw_error(r, 405, "MethodNotAllowed", NULL);
		return;
	}
	bool upload = gw_has_query(r, "uploadId");
	if (!strcmp(m, "PUT")) {
		if (upload && gw_has_query(r, "partNumber")) {
			r->api = gw_header(r, "x-amz-copy-source") ? API_UPLOAD_PART_COPY
								    : API_UPLOAD_PART;
			return gw_upload_part(r);
		}
		if (gw_header(r, "x-amz-copy-source")) {
			r->api = API_COPY_OBJECT;
			return gw_copy_object(r);
		}
		r->api = API_PUT_OBJECT;
		return gw_put_object(r);
	}
	if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
		if (upload && !r->head) {
			r->api = API_LIST_PARTS;
			return gw_list_parts(r);
		}
		r->api = r->head ? API_HEAD_OBJECT : API_GET_OBJECT;
		return gw_get_object(r);
	}
	if (!strcmp(m, "DELETE")) {
		r->api = upload ? API_ABORT_MULTIPART : API_DELETE_OBJECT;
		return upload ? gw_abort_multipart(r) : gw_delete_object(r);
	}
	if (!strcmp(m, "POST") && gw_has_query(r, "uploads")) {
		r->api = API_CREATE_MULTIPART;
		return gw_create_multipart(r);
	}
	if (!strcmp(m, "POST") && upload) {
		r->api = API_COMPLETE_MULTIPART;
		return gw_complete_multipart(r);
	}
	gw_error(r, 405, "MethodNotAllowed", NULL);
}

/* ---- libmicrohttpd callbacks ---- */

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct s3req *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->gw = cls;
	r->conn = conn;
	r->t0 = clock_now();
	buf_init(&r->uri);
	buf_init(&r->path);
	buf_init(&r->query);
	buf_init(&r->bucket);
	buf_init(&r->key);
	buf_init(&r->small);
	buf_adds(&r->uri, uri);
	const char *q = strchr(uri, '?');
	buf_add(&r->path, uri, q ? (size_t)(q - uri) : strlen(uri));
	buf_adds(&r->query, q ? q + 1 : "");
	r->md5 = EVP_MD_CTX_new();
	EVP_DigestInit_ex(r->md5, EVP_md5(), NULL);
	return r;
}

/* Keeps the URI as it came: the signature is over the encoded form. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

struct hdr_collect {
	struct s3req *r;
	size_t cap, bytes;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	(void)kind;
	struct hdr_collect *hc = cls;
	struct s3req *r = hc->r;
	if (r->nh == hc->cap) {
		hc->cap = hc->cap ? 2 * hc->cap : 32;
		struct sigv4_hdr *n = realloc(r->h, hc->cap * sizeof *n);
		if (!n)
			return MHD_NO;
		r->h = n;
	}
	r->h[r->nh].name = strdup(key);
	r->h[r->nh].value = strdup(value ? value : "");
	r->nh++;
	hc->bytes += strlen(key) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	(void)cls;
	(void)url;
	(void)version;
	struct s3req *r = *state;
	if (!r)
		return MHD_NO;
	if (!r->started) {
		r->started = true;
		r->method = method;
		r->head = !strcmp(method, "HEAD");
		struct hdr_collect hc = {r, 0, 0};
		MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &hc);
		if (hc.bytes > r->gw->header_max)
			gw_error(r, 400, "RequestHeaderSectionTooLarge",
				 "Your request header section exceeds the maximum allowed size.");
		else if (!split_path(r) && !authenticate(r))
			route(r);
		return MHD_YES;
	}
	if (*upload_size) {
		if (!r->answered)
			feed(r, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (!r->answered)
		end_of_body(r);
	return MHD_YES;
}

static void free_req(struct s3req *r)
{
	if (r->op_free)
		r->op_free(r);
	for (size_t i = 0; i < r->nh; i++) {
		free((char *)r->h[i].name);
		free((char *)r->h[i].value);
	}
	free(r->h);
	if (r->chunked_body)
		chunked_free(&r->ch);
	EVP_MD_CTX_free(r->sha);
	EVP_MD_CTX_free(r->md5);
	EVP_MD_CTX_free(r->csha);
	buf_free(&r->uri);
	buf_free(&r->path);
	buf_free(&r->query);
	buf_free(&r->bucket);
	buf_free(&r->key);
	buf_free(&r->small);
	free(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
			 enum MHD_RequestTerminationCode toe)
{
	(void)conn;
	(void)toe;
	struct gw *gw = cls;
	struct s3req *r = *state;
	if (!r)
		return;
	*state = NULL;
	double dt = clock_now() - r->t0;
	size_t si = GW_STATUS_N - 1;
	for (size_t i = 0; i < GW_STATUS_N - 1; i++)
		if (gw_statuses[i] == r->status)
			si = i;
	size_t li = 0;
	while (li < GW_LAT_BUCKETS && dt > lat_bounds[li])
		li++;
	pthread_mutex_lock(&gw->metrics_lock);
	gw->requests[r->api][si]++;
	gw->bytes_in += r->bytes_in;
	gw->lat[r->api][li]++;
	gw->lat_sum[r->api] += dt;
	pthread_mutex_unlock(&gw->metrics_lock);
	free_req(r);
}

void gw_count_out(uint64_t n);
void gw_count_out(uint64_t n)
{
	if (the_gw)
		__atomic_add_fetch(&the_gw->bytes_out, n, __ATOMIC_RELAXED);
}

void gw_metrics(struct gw *gw, struct buf *b)
{
	pthread_mutex_lock(&gw->metrics_lock);
	prom_head(b, "dfs_s3_requests_total", PROM_COUNTER, "S3 requests by API and HTTP status");
	for (int a = 0; a < API_N; a++)
		for (int s = 0; s < GW_STATUS_N; s++)
			if (gw->requests[a][s]) {
				char st[16];
				if (s < GW_STATUS_N - 1)
					snprintf(st, sizeof st, "%d", gw_statuses[s]);
				else
					snprintf(st, sizeof st, "other");
				buf_printf(b, "dfs_s3_requests_total{api=\"%s\",status=\"%s\"} %" PRIu64 "\n",
					   gw_api_names[a], st, gw->requests[a][s]);
			}
	prom_u64(b, "dfs_s3_bytes_in_total", PROM_COUNTER, "request body bytes received",
		 gw->bytes_in);
	prom_u64(b, "dfs_s3_bytes_out_total", PROM_COUNTER, "object bytes sent",
		 __atomic_load_n(&gw->bytes_out, __ATOMIC_RELAXED));
	prom_head(b, "dfs_s3_request_seconds", "histogram", "S3 request latency by API");
	for (int a = 0; a < API_N; a++) {
		uint64_t cum = 0, total = 0;
		for (int i = 0; i <= GW_LAT_BUCKETS; i++)
			total += gw->lat[a][i];
		if (!total)
			continue;
		for (int i = 0; i <= GW_LAT_BUCKETS; i++) {
			cum += gw->lat[a][i];
			if (i < GW_LAT_BUCKETS)
				buf_printf(b, "dfs_s3_request_seconds_bucket{api=\"%s\",le=\"%g\"} %" PRIu64 "\n",
					   gw_api_names[a], lat_bounds[i], cum);
			else
				buf_printf(b, "dfs_s3_request_seconds_bucket{api=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
					   gw_api_names[a], cum);
		}
		buf_printf(b, "dfs_s3_request_seconds_sum{api=\"%s\"} %.6f\n", gw_api_names[a],
			   gw->lat_sum[a]);
		buf_printf(b, "dfs_s3_request_seconds_count{api=\"%s\"} %" PRIu64 "\n",
			   gw_api_names[a], total);
	}
	pthread_mutex_unlock(&gw->metrics_lock);
}

int gw_start(struct gw *gw, const char *tls_cert, const char *tls_key)
{
	the_gw = gw;
	if (tls_cert && *tls_cert) {
		struct buf c = BUF_INIT, k = BUF_INIT;
		if (fs_read_file(tls_cert, &c) || fs_read_file(tls_key, &k)) {
			log_error("cannot read the TLS certificate or key ('%s', '%s')", tls_cert,
				  tls_key);
			buf_free(&c);
			buf_free(&k);
			return -EINVAL;
		}
		tls_cert_pem = c.data;
		tls_key_pem = k.data;
	}
	int lfd = net_listen(gw->listen, 128);
	if (lfd < 0) {
		log_error("cannot listen on '%s': %s", gw->listen, strerror(-lfd));
		return lfd;
	}
	net_local_addr(lfd, gw->bound, sizeof gw->bound);
	unsigned flags = MHD_USE_ERROR_LOG | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_INTERNAL_POLLING_THREAD;
	if (tls_cert_pem)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem https[] = {
		{MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key_pem},
		{MHD_OPTION_HTTPS_MEM_CERT, 0, tls_cert_pem},
		{MHD_OPTION_END, 0, NULL},
	};
	the_daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, gw, MHD_OPTION_LISTEN_SOCKET, lfd,
		MHD_OPTION_CONNECTION_LIMIT, gw->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, gw->max_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, gw->timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(gw->header_max + (1 << 20)),
		MHD_OPTION_URI_LOG_CALLBACK, uri_log, gw, MHD_OPTION_UNESCAPE_CALLBACK,
		no_unescape, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, gw,
		MHD_OPTION_ARRAY, tls_cert_pem ? https : https + 2, MHD_OPTION_END);
	if (!the_daemon) {
		log_error("cannot start the HTTP server on '%s'", gw->bound);
		return -EIO;
	}
	return 0;
}

void gw_stop(void)
{
	if (the_daemon)
		MHD_stop_daemon(the_daemon);
	the_daemon = NULL;
}
