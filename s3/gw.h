/*
 * gw: the S3 gateway's private header, shared by its modules (front.c: the HTTP front
 * end on libmicrohttpd, authentication, the request body pipeline, responses, metrics;
 * buckets.c: bucket calls and listing; objects.c: object calls and ETags; multipart.c:
 * multipart uploads; main.c: options and start-up).
 *
 * Threads: libmicrohttpd runs one thread per connection (bounded by max_connections);
 * each request is handled, body and all, on its connection's thread, and blocking
 * calls into the client library are fine there. struct gw is read-only after start-up
 * but for the users' lazily opened cluster connections (users_lock) and the metrics
 * (metrics_lock). One struct s3req belongs to its connection's thread.
 *
 * A request's life (front.c): uri_log makes the s3req with the raw URI -> on_request's
 * first call collects the headers, authenticates, routes and calls the handler's
 * start (which may answer at once, or set body/finish) -> each piece of the body goes
 * through the payload pipeline (aws-chunked decoding, hashes, checksums) into the
 * handler's body sink -> the last call checks the payload and calls finish, which
 * answers -> on_completed records metrics and frees the s3req.
 */
#ifndef DFS_S3_GW_H
#define DFS_S3_GW_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "chunked.h"
#include "client.h"
#include "sigv4.h"

struct MHD_Connection;
struct MHD_Response;

#define GW_POOL 8

struct gw_user {
	char access[128], secret[128];
	uint32_t uid, gid;
	/* namenode connections, opened on first use and taken in turn (users_lock): one
	 * connection serves one call at a time, so concurrent requests of one user would
	 * queue behind each other (and miss the namenode's group commit) on a single one */
	struct dfs_client *c[GW_POOL];
	unsigned next;
};

/* The APIs, for routing and for metrics (gw_api_names). */
enum gw_api {
	API_UNKNOWN, API_LIST_BUCKETS, API_CREATE_BUCKET, API_DELETE_BUCKET, API_HEAD_BUCKET,
	API_GET_BUCKET_LOCATION, API_LIST_OBJECTS, API_LIST_OBJECTS_V2, API_PUT_OBJECT,
	API_GET_OBJECT, API_HEAD_OBJECT, API_DELETE_OBJECT, API_DELETE_OBJECTS,
	API_COPY_OBJECT, API_CREATE_MULTIPART, API_UPLOAD_PART, API_UPLOAD_PART_COPY,
	API_COMPLETE_MULTIPART, API_ABORT_MULTIPART, API_LIST_MULTIPART, API_LIST_PARTS,
	API_N
};
extern const char *const gw_api_names[API_N];

#define GW_LAT_BUCKETS 12
#define GW_STATUS_N 16

struct gw {
	struct dfs_client_opts co;
	char root[4096];  /* "" or "/dir": buckets are its subdirectories */
	char region[64];
	char listen[256], bound[256];
	struct gw_user *users;
	size_t nusers;
	struct gw_user *anonymous; /* NULL: anonymous requests are refused */
	pthread_mutex_t users_lock;
	unsigned max_connections, max_per_ip;
	unsigned timeout;          /* idle connection timeout, seconds */
	size_t header_max;         /* bytes of request headers */
	double upload_expiry;      /* seconds before an abandoned multipart upload goes */
	struct dfs_client *admin;  /* root connection: expiry of abandoned uploads */
	/* metrics */
	pthread_mutex_t metrics_lock;
	uint64_t requests[API_N][GW_STATUS_N]; /* by gw_statuses index (the last: other) */
	uint64_t bytes_in, bytes_out;
	uint64_t lat[API_N][GW_LAT_BUCKETS + 1];
	double lat_sum[API_N];
};

struct s3req;
typedef int (*gw_body_fn)(struct s3req *r, const char *p, size_t n);
typedef void (*gw_finish_fn)(struct s3req *r);

struct s3req {
	struct gw *gw;
	struct MHD_Connection *conn;
	bool started, answered, head;
	enum gw_api api;
	int status;
	double t0;
	const char *method;
	struct buf uri, path, query;  /* raw */
	struct buf bucket, key;       /* decoded */
	struct sigv4_hdr *h;
	size_t nh;
	struct sigv4_auth auth;
	struct gw_user *user;
	struct dfs_client *c;
	/* the payload pipeline */
	bool chunked_body, check_sha;
	struct chunked ch;
	void *sha, *md5, *csha;  /* EVP_MD_CTX: whole body, payload MD5, x-amz-checksum-sha256 */
	bool want_crc32, want_crc32c;
	uint32_t crc32, crc32c;
	uint64_t payload_len, bytes_in;
	gw_body_fn body;
	gw_finish_fn finish;
	struct buf small;         /* a buffered body (XML) */
	size_t small_max;
	int body_err;             /* the sink's error, answered at the end */
	const char *body_code;
	void *op;                 /* the handler's state */
	void (*op_free)(struct s3req *r);
};

/* front.c */
const char *gw_header(const struct s3req *r, const char *name);
/* The decoded value of query parameter name (NULL when absent; "" when valueless). */
const char *gw_query(struct s3req *r, const char *name, struct buf *out);
bool gw_has_query(const struct s3req *r, const char *name);
/* Answers with an S3 error document (no body for HEAD). */
void gw_error(struct s3req *r, int status, const char *code, const char *msg);
/* Answers a dfs error (-errno) in S3's words: what is the resource (key or bucket). */
void gw_errno(struct s3req *r, int rc, bool is_key);
/* Answers status with an XML body (taken: reset) and extra headers ("Name: value\n"). */
void gw_xml(struct s3req *r, int status, struct buf *xml);
/* Queues response resp (taken) with status. */
void gw_respond(struct s3req *r, int status, struct MHD_Response *resp);
/* The payload's MD5 (after the body) into out (raw 16 bytes). */
void gw_payload_md5(struct s3req *r, uint8_t out[16]);
/* Checks Content-MD5 and x-amz-checksum-* of the payload: 0, or answers and -1. */
int gw_check_digests(struct s3req *r);
/* Buffers the body (up to max bytes) into r->small; then finish runs. */
void gw_buffer_body(struct s3req *r, size_t max, gw_finish_fn finish);
/* An RFC 1123 date and an ISO 8601 time of ns since the epoch. */
void gw_http_date(int64_t ns, char out[64]);
void gw_iso_date(int64_t ns, char out[64]);
/* Parses an RFC 1123 / 850 / asctime date; -1 when malformed. */
long long gw_parse_http_date(const char *s);
int gw_start(struct gw *gw, const char *tls_cert, const char *tls_key);
void gw_stop(void);
void gw_metrics(struct gw *gw, struct buf *out);

/* buckets.c */
void gw_list_buckets(struct s3req *r);
void gw_create_bucket(struct s3req *r);
void gw_delete_bucket(struct s3req *r);
void gw_head_bucket(struct s3req *r);
void gw_bucket_location(struct s3req *r);
void gw_list_objects(struct s3req *r, bool v2);
/* 0 when r's bucket exists as a directory; else answers (NoSuchBucket, ...) and -1. */
int gw_need_bucket(struct s3req *r);

/* objects.c */
void gw_put_object(struct s3req *r);
void gw_get_object(struct s3req *r);
void gw_delete_object(struct s3req *r);
void gw_delete_objects(struct s3req *r);
void gw_copy_object(struct s3req *r);
/* The ETag of the file at path (quoted, into out), computed and stored when the stored
 * one is missing or older than the file's version. 0 or -errno. */
int gw_etag(struct s3req *r, const char *path, const struct dfs_attr *a, struct buf *out);
/* The stored ETag if it matches the file's current version, else an empty out. */
int gw_stored_etag(struct dfs_client *c, const char *path, struct buf *out);
/* The version string of the file at path (length and blocks' ids and generation
 * stamps). */
int gw_file_version(struct dfs_client *c, const char *path, struct buf *out);
/* Streams the rest of a PUT-like body into a fresh hidden file next to path, then at
 * the end renames it there (the object appears whole or not at all). etag NULL: MD5. */
struct gw_put;
int gw_put_begin(struct s3req *r, const char *path, struct gw_put **out);
int gw_put_write(struct gw_put *p, const char *data, size_t n);
/* Finishes (xattrs: etag and meta) and renames into place: 0 or -errno. */
int gw_put_commit(struct s3req *r, struct gw_put *p, const char *etag, const struct buf *meta);
void gw_put_abort(struct s3req *r, struct gw_put *p);
/* A request's body sink and op_free for a gw_put held in r->op (PutObject, UploadPart). */
int gw_put_sink(struct s3req *r, const char *p, size_t n);
void gw_put_op_free(struct s3req *r);
/* The x-amz-meta-* and Content-Type headers of r as stored ("name: value\n" lines). */
void gw_collect_meta(struct s3req *r, struct buf *out);
/* Removes the empty directories above path up to its bucket (after a delete). */
void gw_prune_dirs(struct s3req *r, const char *path);
/* mkdir -p of path's parent directories below the bucket. 0 or -errno. */
int gw_make_parents(struct s3req *r, const char *path);

/* multipart.c */
void gw_create_multipart(struct s3req *r);
void gw_upload_part(struct s3req *r);
void gw_complete_multipart(struct s3req *r);
void gw_abort_multipart(struct s3req *r);
void gw_list_multipart(struct s3req *r);
void gw_list_parts(struct s3req *r);
/* Removes the uploads older than gw->upload_expiry; from the expiry thread. */
void gw_expire_uploads(struct gw *gw);

#define GW_XATTR_ETAG "user.s3.etag"
#define GW_XATTR_META "user.s3.meta"

#endif
