/*
 * client: namenode RPC, pipeline writer, verified reader. See client.h for the
 * threading contract.
 *
 * Writer states: NO_BLOCK -> (add_block, connect pipeline: open_block) BLOCK_OPEN ->
 * packets stream with up to WINDOW unacknowledged -> the block's last packet and all its
 * acks (end_block) -> NO_BLOCK ... -> dfs_writer_close completes the file with the last
 * block's length and the nodes that stored it.
 */
#include "client.h"
#include "tls.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "crc.h"
#include "net.h"
#include "connpool.h"
#include "pack.h"
#include "packet.h"

#define WINDOW 16 /* packets in flight per pipeline */
#define NN_TIMEOUT_MS 60000 /* longest wait for one namenode reply */

/* Datanode write connections whose last block finished cleanly (process-wide). */
static struct connpool idle = CONNPOOL_INITIALIZER;

struct dfs_client {
	struct dfs_client_opts opts;
	pthread_mutex_t lock; /* guards fd and reqid */
	int fd;
	uint64_t reqid;
	bool reconnect; /* open a new connection when the old one broke */
};

static __thread char errmsg[512];

const char *dfs_errmsg(void) { return errmsg; }

static void set_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof errmsg, fmt, ap);
	va_end(ap);
}

const char *dfs_dn_state_name(uint8_t state)
{
	switch (state) {
	case PROTO_DN_LIVE: return "live";
	case PROTO_DN_STALE: return "stale";
	case PROTO_DN_DEAD: return "dead";
	case PROTO_DN_DECOMMISSIONING: return "decommissioning";
	case PROTO_DN_DECOMMISSIONED: return "decommissioned";
	default: return "unknown";
	}
}

/* ---------- connection and calls ---------- */

/* Connects and authenticates. A handshake cut short (a server under a flood of
 * unauthenticated connections drops the oldest ones) is tried again a few times. */
static int open_conn(const struct dfs_client_opts *opts, int *out, bool *connected)
{
	int rc = 0;
	*connected = false;
	for (int attempt = 0; attempt < 4; attempt++) {
		if (attempt)
			usleep(50000u << attempt);
		int fd = net_connect(opts->namenode, 5000);
		if (fd < 0)
			return fd;
		*connected = true;
		net_set_timeout(fd, NN_TIMEOUT_MS); /* a hung namenode fails calls */
		rc = auth_client(fd, opts->key, PROTO_ROLE_CLIENT, opts->uid, opts->gid);
		if (!rc) {
			*out = fd;
			return 0;
		}
		net_close(fd);
		if (rc != -ECONNRESET && rc != -EPIPE)
			break;
	}
	return rc;
}

int dfs_connect(const struct dfs_client_opts *opts, struct dfs_client **out)
{
	errmsg[0] = 0;
	int fd = -1;
	bool connected;
	int rc = open_conn(opts, &fd, &connected);
	if (!connected && tls_on() && (rc == -EACCES || rc == -EPROTO))
		set_err("TLS with namenode %s failed: %s", opts->namenode, tls_error());
	else if (!connected && rc)
		set_err("cannot connect to namenode %s: %s", opts->namenode, strerror(-rc));
	else if (rc == -EACCES)
		set_err("namenode %s refused the connection: wrong cluster key", opts->namenode);
	else if (rc == -ENOMSG)
		set_err("namenode %s sent no greeting: if the cluster uses TLS, give --tls-cert, "
			"--tls-key and --tls-ca (or tls_* in the config)", opts->namenode);
	else if (rc)
		set_err("handshake with namenode %s failed: %s", opts->namenode,
			tls_on() && rc == -EPROTO ? tls_error() : strerror(-rc));
	if (rc)
		return rc;
	struct dfs_client *c = calloc(1, sizeof *c);
	if (!c) {
		net_close(fd);
		return -ENOMEM;
	}
	c->opts = *opts;
	c->fd = fd;
	pthread_mutex_init(&c->lock, NULL);

	*out = c;
	return 0;
}

void dfs_close(struct dfs_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		net_close(c->fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/*
 * Reads the one reply the namenode owes us. Nothing else can follow it on the stream
 * (one request at a time under c->lock), so it reads greedily: usually one syscall.
 */
static int recv_reply(int fd, struct proto_hdr *h, struct buf *rep)
{
	buf_reset(rep);
	size_t want = PROTO_HDR_LEN;
	bool have_hdr = false;
	while (rep->len < want) {
		buf_grow(rep, (want > rep->len + 16384 ? want - rep->len : 16384));
		ssize_t n = net_recv(fd, rep->data + rep->len, rep->cap - rep->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		buf_commit(rep, (size_t)n);
		if (!have_hdr && rep->len >= PROTO_HDR_LEN) {
			int rc = proto_hdr_decode((uint8_t *)rep->data, h, PROTO_MAX_REPLY);
			if (rc)
				return rc;
			have_hdr = true;
			want = PROTO_HDR_LEN + h->length;
		}
	}
	if (rep->len != want)
		return -EPROTO;
	buf_consume(rep, PROTO_HDR_LEN);
	return 0;
}

/* Opens a new namenode connection after the last one broke (a namenode restart);
 * called with c->lock held. Leases and allocated blocks of the old one are gone. */
static int reconnect(struct dfs_client *c)
{
	if (!c->reconnect)
		return -ENOTCONN;
	int fd = -1;
	bool connected;
	int rc = open_conn(&c->opts, &fd, &connected);
	if (!rc)
		c->fd = fd;
	return rc;
}

void dfs_set_reconnect(struct dfs_client *c, bool on) { c->reconnect = on; }

/* One request and its reply; on an error reply, sets errmsg from the server. */
static int call(struct dfs_client *c, uint16_t type, const struct buf *req, struct buf *rep)
{
	errmsg[0] = 0;
	pthread_mutex_lock(&c->lock);
	int rc;
	struct proto_hdr h;
	/* With reconnect on, a connection that broke while idle (the namenode restarted)
	 * is replaced and the request sent once more. A change the old namenode made
	 * but could not answer may then fail as already done (EEXIST, ENOENT), as a
	 * retried NFS call can. */
	for (int attempt = 0;; attempt++) {
		bool was_open = c->fd >= 0;
		rc = was_open ? 0 : reconnect(c);
		uint64_t id = ++c->reqid;
		if (!rc)
			rc = proto_send(c->fd, type, 0, id, 0, req->data, req->len);
		if (!rc)
			rc = recv_reply(c->fd, &h, rep);
		if (!rc && (h.reqid != id || h.type != type))
			rc = -EPROTO;
		if (rc && c->fd >= 0) {
			net_close(c->fd); /* the stream is out of step: no further calls on it */
			c->fd = -1;
		}
		if (!rc || !c->reconnect || !was_open || attempt ||
		    (rc != -ECONNRESET && rc != -EPIPE))
			break;
	}
	pthread_mutex_unlock(&c->lock);
	if (rc) {
		set_err("lost the namenode connection: %s", strerror(-rc));
		return rc == -ECONNRESET ? -EIO : rc;
	}
	if (h.status) {
		struct unpack u;
		unpack_init(&u, rep->data, rep->len);
		unpack_str(&u, errmsg, sizeof errmsg);
		return proto_errno(h.status);
	}
	return 0;
}

int dfs_call(struct dfs_client *c, uint16_t type, const struct buf *req, struct buf *rep)
{
	buf_reset(rep);
	return call(c, type, req, rep);
}

static void get_attr(struct unpack *u, struct dfs_attr *a)
{
	a->ino = unpack_u64(u);
	a->type = unpack_u8(u);
	a->mode = unpack_u32(u);
	a->uid = unpack_u32(u);
	a->gid = unpack_u32(u);
	a->nlink = unpack_u32(u);
	a->size = unpack_u64(u);
	a->mtime = unpack_i64(u);
	a->atime = unpack_i64(u);
	a->ctime = unpack_i64(u);
	a->replication = unpack_u16(u);
	a->block_size = unpack_u64(u);
	a->rdev = unpack_u32(u);
	a->flags = unpack_u8(u);
}

static int attr_reply(struct buf *rep, struct dfs_attr *out)
{
	struct unpack u;
	unpack_init(&u, rep->data, rep->len);
	struct dfs_attr a;
	get_attr(&u, &a);
	if (!unpack_ok(&u))
		return -EPROTO;
	if (out)
		*out = a;
	return 0;
}

/* A call with a path-first request whose reply is an attr. */
static int call_attr(struct dfs_client *c, uint16_t type, struct buf *req, struct dfs_attr *out)
{
	struct buf rep = BUF_INIT;
	int rc = call(c, type, req, &rep);
	if (!rc)
		rc = attr_reply(&rep, out);
	buf_free(&rep);
	buf_free(req);
	return rc;
}

static int call_void(struct dfs_client *c, uint16_t type, struct buf *req)
{
	struct buf rep = BUF_INIT;
	int rc = call(c, type, req, &rep);
	buf_free(&rep);
	buf_free(req);
	return rc;
}

int dfs_stat(struct dfs_client *c, const char *path, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	return call_attr(c, PROTO_CN_STAT, &req, out);
}

int dfs_mkdir(struct dfs_client *c, const char *path, uint32_t mode, bool parents,
	      struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u32(&req, mode);
	pack_u8(&req, parents ? PROTO_MKDIR_PARENTS : 0);
	return call_attr(c, PROTO_CN_MKDIR, &req, out);
}

int dfs_mkdir_as(struct dfs_client *c, const char *path, uint32_t mode, uint32_t uid,
		 uint32_t gid, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u32(&req, mode);
	pack_u8(&req, 0);
	pack_u32(&req, uid);
	pack_u32(&req, gid);
	return call_attr(c, PROTO_CN_MKDIR, &req, out);
}

int dfs_create_closed(struct dfs_client *c, const char *path, uint32_t mode, bool overwrite,
		      uint32_t uid, uint32_t gid, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u32(&req, mode);
	pack_u8(&req, PROTO_CREATE_CLOSED | (overwrite ? PROTO_CREATE_OVERWRITE : 0));
	pack_u16(&req, 0);
	pack_u64(&req, 0);
	pack_str(&req, "");
	pack_u32(&req, uid);
	pack_u32(&req, gid);
	return call_attr(c, PROTO_CN_CREATE, &req, out);
}

int dfs_symlink(struct dfs_client *c, const char *path, const char *target, uint32_t uid,
		uint32_t gid, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_str(&req, target);
	pack_u32(&req, uid);
	pack_u32(&req, gid);
	return call_attr(c, PROTO_CN_SYMLINK, &req, out);
}

int dfs_mknod(struct dfs_client *c, const char *path, uint8_t type, uint32_t mode,
	      uint32_t rdev, uint32_t uid, uint32_t gid, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u8(&req, type);
	pack_u32(&req, mode);
	pack_u32(&req, rdev);
	pack_u32(&req, uid);
	pack_u32(&req, gid);
	return call_attr(c, PROTO_CN_MKNOD, &req, out);
}

int dfs_link(struct dfs_client *c, const char *existing, const char *newpath,
	     struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, existing);
	pack_str(&req, newpath);
	return call_attr(c, PROTO_CN_LINK, &req, out);
}

int dfs_setattr(struct dfs_client *c, const char *path, uint32_t valid, uint32_t mode,
		uint32_t uid, uint32_t gid, int64_t atime, int64_t mtime, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u32(&req, valid);
	pack_u32(&req, mode);
	pack_u32(&req, uid);
	pack_u32(&req, gid);
	pack_i64(&req, atime);
	pack_i64(&req, mtime);
	return call_attr(c, PROTO_CN_SETATTR, &req, out);
}

int dfs_readlink(struct dfs_client *c, const char *path, char *out, size_t size)
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_str(&req, path);
	int rc = call(c, PROTO_CN_READLINK, &req, &rep);
	if (!rc) {
		struct unpack u;
		unpack_init(&u, rep.data, rep.len);
		unpack_str(&u, out, size);
		if (!unpack_ok(&u))
			rc = -EPROTO;
	}
	buf_free(&req);
	buf_free(&rep);
	return rc;
}

/* A call whose reply is "u32 n, n bytes", appended to out (reset first). */
static int call_bytes(struct dfs_client *c, uint16_t type, struct buf *req, struct buf *out)
{
	struct buf rep = BUF_INIT;
	int rc = call(c, type, req, &rep);
	if (!rc) {
		struct unpack u;
		unpack_init(&u, rep.data, rep.len);
		uint32_t n = unpack_u32(&u);
		const void *v = unpack_raw(&u, n);
		if (unpack_ok(&u)) {
			buf_reset(out);
			buf_add(out, v, n);
		} else {
			rc = -EPROTO;
		}
	}
	buf_free(&rep);
	buf_free(req);
	return rc;
}

int dfs_setxattr(struct dfs_client *c, const char *path, const char *name, const void *value,
		 size_t len, uint32_t flags)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_str(&req, name);
	pack_u32(&req, flags);
	pack_u32(&req, (uint32_t)len);
	pack_raw(&req, value, len);
	return call_void(c, PROTO_CN_SETXATTR, &req);
}

int dfs_getxattr(struct dfs_client *c, const char *path, const char *name, struct buf *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_str(&req, name);
	return call_bytes(c, PROTO_CN_GETXATTR, &req, out);
}

int dfs_listxattr(struct dfs_client *c, const char *path, struct buf *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	return call_bytes(c, PROTO_CN_LISTXATTR, &req, out);
}

int dfs_removexattr(struct dfs_client *c, const char *path, const char *name)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_str(&req, name);
	return call_void(c, PROTO_CN_REMOVEXATTR, &req);
}

static int call_lock(struct dfs_client *c, uint64_t ino, uint64_t owner,
		     const struct dfs_lock *l, bool test, struct dfs_lock *conflict)
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_u64(&req, ino);
	pack_u64(&req, owner);
	pack_u8(&req, l->kind);
	pack_u8(&req, l->type);
	pack_u64(&req, l->start);
	pack_u64(&req, l->end);
	pack_u32(&req, l->pid);
	pack_u8(&req, test);
	int rc = call(c, PROTO_CN_LOCK, &req, &rep);
	if (!rc) {
		struct unpack u;
		unpack_init(&u, rep.data, rep.len);
		rc = unpack_u8(&u);
		if (rc && conflict) {
			conflict->kind = l->kind;
			conflict->type = unpack_u8(&u);
			conflict->start = unpack_u64(&u);
			conflict->end = unpack_u64(&u);
			conflict->pid = unpack_u32(&u);
		}
		if (!unpack_ok(&u))
			rc = -EPROTO;
	}
	buf_free(&req);
	buf_free(&rep);
	return rc;
}

int dfs_setlk(struct dfs_client *c, uint64_t ino, uint64_t owner, const struct dfs_lock *l)
{
	int rc = call_lock(c, ino, owner, l, false, NULL);
	return rc > 0 ? 0 : rc;
}

int dfs_getlk(struct dfs_client *c, uint64_t ino, uint64_t owner, const struct dfs_lock *l,
	      struct dfs_lock *conflict)
{
	return call_lock(c, ino, owner, l, true, conflict);
}

int dfs_setrep(struct dfs_client *c, const char *path, uint16_t replication,
	       struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u16(&req, replication);
	return call_attr(c, PROTO_CN_SETREP, &req, out);
}

int dfs_rename(struct dfs_client *c, const char *src, const char *dst, uint32_t flags)
{
	struct buf req = BUF_INIT;
	pack_str(&req, src);
	pack_str(&req, dst);
	pack_u32(&req, flags);
	return call_void(c, PROTO_CN_RENAME, &req);
}

int dfs_delete(struct dfs_client *c, const char *path, bool recursive)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u8(&req, recursive ? PROTO_DELETE_RECURSIVE : 0);
	return call_void(c, PROTO_CN_DELETE, &req);
}

int dfs_rmdir(struct dfs_client *c, const char *path)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u8(&req, PROTO_DELETE_DIR);
	return call_void(c, PROTO_CN_DELETE, &req);
}

int dfs_list(struct dfs_client *c, const char *path, dfs_list_cb cb, void *arg)
{
	char after[PROTO_NAME_MAX + 1] = "";
	struct buf req = BUF_INIT, rep = BUF_INIT;
	int rc;
	for (;;) {
		buf_reset(&req);
		pack_str(&req, path);
		pack_str(&req, after);
		pack_u32(&req, 1024);
		rc = call(c, PROTO_CN_LIST, &req, &rep);
		if (rc)
			break;
		struct unpack u;
		unpack_init(&u, rep.data, rep.len);
		uint32_t n = unpack_count(&u, 60);
		for (uint32_t i = 0; i < n && !rc; i++) {
			struct dfs_attr a;
			unpack_str(&u, after, sizeof after);
			get_attr(&u, &a);
			if (!unpack_ok(&u))
				break;
			rc = cb(arg, after, &a);
		}
		bool more = unpack_u8(&u);
		if (!rc && !unpack_ok(&u))
			rc = -EPROTO;
		if (rc || !more)
			break;
	}
	buf_free(&req);
	buf_free(&rep);
	return rc;
}

int dfs_statfs(struct dfs_client *c, struct dfs_statfs *out)
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	int rc = call(c, PROTO_CN_STATFS, &req, &rep);
	if (!rc) {
		struct unpack u;
		unpack_init(&u, rep.data, rep.len);
		out->capacity = unpack_u64(&u);
		out->used = unpack_u64(&u);
		out->remaining = unpack_u64(&u);
		out->files = unpack_u64(&u);
		out->blocks = unpack_u64(&u);
		rc = unpack_ok(&u) ? 0 : -EPROTO;
	}
	buf_free(&rep);
	return rc;
}

int dfs_report(struct dfs_client *c, struct dfs_report *out)
{
	memset(out, 0, sizeof *out);
	struct buf req = BUF_INIT, rep = BUF_INIT;
	int rc = call(c, PROTO_CN_REPORT, &req, &rep);
	if (rc)
		goto out;
	struct unpack u;
	unpack_init(&u, rep.data, rep.len);
	out->safe_mode = unpack_u8(&u);
	out->capacity = unpack_u64(&u);
	out->used = unpack_u64(&u);
	out->remaining = unpack_u64(&u);
	out->files = unpack_u64(&u);
	out->blocks = unpack_u64(&u);
	out->under_replicated = unpack_u64(&u);
	out->corrupt = unpack_u64(&u);
	out->missing = unpack_u64(&u);
	out->ndatanodes = unpack_count(&u, 50);
	out->datanodes = calloc(out->ndatanodes + 1, sizeof *out->datanodes);
	if (!out->datanodes) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < out->ndatanodes; i++) {
		struct dfs_dn_report *d = &out->datanodes[i];
		unpack_str(&u, d->id, sizeof d->id);
		unpack_str(&u, d->addr, sizeof d->addr);
		d->state = unpack_u8(&u);
		d->capacity = unpack_u64(&u);
		d->used = unpack_u64(&u);
		d->remaining = unpack_u64(&u);
		d->blocks = unpack_u64(&u);
		d->last_contact_ms = unpack_i64(&u);
		d->xceivers = unpack_u32(&u);
	}
	rc = unpack_ok(&u) ? 0 : -EPROTO;
out:
	buf_free(&rep);
	if (rc)
		dfs_report_free(out);
	return rc;
}

void dfs_report_free(struct dfs_report *r)
{
	free(r->datanodes);
	r->datanodes = NULL;
	r->ndatanodes = 0;
}

static int get_locs(struct unpack *u, uint32_t *n, struct dfs_loc **locs)
{
	*n = unpack_count(u, 8);
	*locs = calloc(*n + 1, sizeof **locs);
	if (!*locs)
		return -ENOMEM;
	for (uint32_t i = 0; i < *n; i++) {
		unpack_str(u, (*locs)[i].id, sizeof (*locs)[i].id);
		unpack_str(u, (*locs)[i].addr, sizeof (*locs)[i].addr);
	}
	return unpack_ok(u) ? 0 : -EPROTO;
}

static int call_blocks(struct dfs_client *c, uint16_t type, struct buf *req,
		       struct dfs_blocks *out);

int dfs_get_blocks(struct dfs_client *c, const char *path, uint64_t offset, uint64_t len,
		   struct dfs_blocks *out)
{
	struct buf req = BUF_INIT;
	pack_str(&req, path);
	pack_u64(&req, offset);
	pack_u64(&req, len);
	return call_blocks(c, PROTO_CN_GET_BLOCKS, &req, out);
}

int dfs_file_blocks(struct dfs_client *c, uint64_t ino, uint64_t offset, uint64_t len,
		    struct dfs_blocks *out)
{
	struct buf req = BUF_INIT;
	pack_u64(&req, ino);
	pack_u64(&req, offset);
	pack_u64(&req, len);
	return call_blocks(c, PROTO_CN_FILE_BLOCKS, &req, out);
}

static int call_blocks(struct dfs_client *c, uint16_t type, struct buf *req,
		       struct dfs_blocks *out)
{
	memset(out, 0, sizeof *out);
	struct buf rep = BUF_INIT;
	int rc = call(c, type, req, &rep);
	buf_free(req);
	if (rc)
		goto out;
	struct unpack u;
	unpack_init(&u, rep.data, rep.len);
	get_attr(&u, &out->attr);
	uint32_t n = unpack_count(&u, 36);
	out->v = calloc(n + 1, sizeof *out->v);
	if (!out->v) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < n && !rc; i++) {
		struct dfs_block *b = &out->v[i];
		b->id = unpack_u64(&u);
		b->genstamp = unpack_u64(&u);
		b->offset = unpack_u64(&u);
		b->length = unpack_u64(&u);
		rc = get_locs(&u, &b->nlocs, &b->locs);
		const void *tok = unpack_raw(&u, TOKEN_LEN);
		if (tok)
			memcpy(b->token, tok, TOKEN_LEN);
		out->n = i + 1;
	}
	if (!rc && !unpack_ok(&u))
		rc = -EPROTO;
out:
	buf_free(&rep);
	if (rc)
		dfs_blocks_free(out);
	return rc;
}

int dfs_block_token(struct dfs_client *c, uint64_t id, uint64_t gs, uint8_t modes,
		    uint8_t out[TOKEN_LEN])
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_u64(&req, id);
	pack_u64(&req, gs);
	pack_u8(&req, modes);
	int rc = call(c, PROTO_CN_BLOCK_TOKEN, &req, &rep);
	if (!rc && rep.len != TOKEN_LEN)
		rc = -EPROTO;
	if (!rc)
		memcpy(out, rep.data, TOKEN_LEN);
	buf_free(&req);
	buf_free(&rep);
	return rc;
}

int dfs_bad_block(struct dfs_client *c, uint64_t id, uint64_t genstamp, const char *dn,
		  uint8_t why)
{
	char saved[sizeof errmsg];
	snprintf(saved, sizeof saved, "%s", errmsg); /* a report must not hide the cause */
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_u64(&req, id);
	pack_u64(&req, genstamp);
	pack_str(&req, dn);
	pack_u8(&req, why);
	int rc = call(c, PROTO_CN_BAD_BLOCK, &req, &rep);
	buf_free(&req);
	buf_free(&rep);
	snprintf(errmsg, sizeof errmsg, "%s", saved);
	return rc;
}

int dfs_fsck(struct dfs_client *c, const char *path, struct dfs_fsck *out)
{
	memset(out, 0, sizeof *out);
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_str(&req, path);
	int rc = call(c, PROTO_CN_FSCK, &req, &rep);
	buf_free(&req);
	if (!rc) {
		struct unpack u;
		unpack_init(&u, rep.data, rep.len);
		out->files = unpack_u64(&u);
		out->blocks = unpack_u64(&u);
		out->under_replicated = unpack_u64(&u);
		out->over_replicated = unpack_u64(&u);
		out->corrupt = unpack_u64(&u);
		out->missing = unpack_u64(&u);
		out->nproblems = unpack_count(&u, 8);
		out->problems = calloc(out->nproblems + 1, sizeof *out->problems);
		if (!out->problems)
			rc = -ENOMEM;
		for (uint32_t i = 0; !rc && i < out->nproblems; i++) {
			out->problems[i].path = unpack_strdup(&u, PROTO_PATH_MAX);
			out->problems[i].what = unpack_strdup(&u, 1024);
		}
		if (!rc && !unpack_ok(&u))
			rc = -EPROTO;
	}
	buf_free(&rep);
	if (rc)
		dfs_fsck_free(out);
	return rc;
}

void dfs_fsck_free(struct dfs_fsck *f)
{
	for (uint32_t i = 0; f->problems && i < f->nproblems; i++) {
		free(f->problems[i].path);
		free(f->problems[i].what);
	}
	free(f->problems);
	f->problems = NULL;
	f->nproblems = 0;
}

int dfs_decommission(struct dfs_client *c, const char *id, bool on)
{
	struct buf req = BUF_INIT;
	pack_str(&req, id);
	pack_u8(&req, on);
	return call_void(c, PROTO_CN_DECOMMISSION, &req);
}

int dfs_safemode(struct dfs_client *c, uint8_t action, bool *on, uint64_t *reported,
		 uint64_t *total)
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_u8(&req, action);
	int rc = call(c, PROTO_CN_SAFEMODE, &req, &rep);
	if (!rc) {
		struct unpack u;
		unpack_init(&u, rep.data, rep.len);
		*on = unpack_u8(&u);
		*reported = unpack_u64(&u);
		*total = unpack_u64(&u);
		rc = unpack_ok(&u) ? 0 : -EPROTO;
	}
	buf_free(&req);
	buf_free(&rep);
	return rc;
}

void dfs_blocks_free(struct dfs_blocks *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].locs);
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

/* ---------- writing ---------- */

struct dfs_writer {
	struct dfs_client *c;
	char path[PROTO_PATH_MAX + 1];
	struct dfs_attr attr;
	uint64_t block_size;
	/* the current block's bytes, kept until its whole pipeline acked them, so a
	 * failed pipeline can be replaced and the block sent again */
	struct buf blk;
	size_t sent; /* bytes of blk sent down the pipeline */
	/* the open pipeline */
	bool open;
	uint64_t id, gs, seq, acked;
	uint8_t token[TOKEN_LEN];
	int fd;
	uint32_t nlocs;
	struct dfs_loc *locs;
	int failed_node;           /* index in locs of the node that failed, or -1 */
	/* nodes that failed this writer: never asked for again */
	char (*excluded)[PROTO_ID_MAX + 1];
	uint32_t nexcluded;
	/* the previous (finished) block, reported with the next add_block / complete */
	uint64_t prev_id, prev_len;
	uint32_t prev_n;
	struct dfs_loc *prev_locs;
	int err;
	bool alloc; /* one free-standing block (dfs_put_block), not a file's next block */
	bool fin;   /* the LAST packet of the open pipeline went out */
	bool nosync; /* datanodes finalize without fsync (PROTO_WRITE_NOSYNC) */
	/* an external buffer holding the block instead of blk (it never moves) */
	const uint8_t *ext;
	size_t ext_len;
};

static const uint8_t *wdata(const struct dfs_writer *w)
{
	return w->ext ? w->ext : (const uint8_t *)w->blk.data;
}

static size_t wlen(const struct dfs_writer *w) { return w->ext ? w->ext_len : w->blk.len; }

int dfs_create(struct dfs_client *c, const char *path, uint32_t mode, bool overwrite,
	       uint16_t replication, uint64_t block_size, struct dfs_writer **out)
{
	struct buf req = BUF_INIT;
	struct dfs_attr a;
	char client[64];
	snprintf(client, sizeof client, "dfs-client-%d", (int)getpid());
	pack_str(&req, path);
	pack_u32(&req, mode);
	pack_u8(&req, overwrite ? PROTO_CREATE_OVERWRITE : 0);
	pack_u16(&req, replication);
	pack_u64(&req, block_size);
	pack_str(&req, client);
	int rc = call_attr(c, PROTO_CN_CREATE, &req, &a);
	if (rc)
		return rc;
	struct dfs_writer *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->c = c;
	snprintf(w->path, sizeof w->path, "%s", path);
	w->attr = a;
	w->block_size = a.block_size;
	w->fd = -1;
	w->failed_node = -1;
	buf_init(&w->blk);
	*out = w;
	return 0;
}

static void pack_prev(struct buf *req, const struct dfs_writer *w)
{
	pack_u64(req, w->prev_id);
	pack_u64(req, w->prev_len);
	pack_u32(req, w->prev_n);
	for (uint32_t i = 0; i < w->prev_n; i++)
		pack_str(req, w->prev_locs[i].id);
}

/* Connects and authenticates to datanode loc for a write; -EIO (blaming it) or
 * -EACCES on failure, with errmsg set. */
static int dn_open(struct dfs_client *c, const struct dfs_loc *loc, int *fdp)
{
	int fd = net_connect(loc->addr, 5000);
	if (fd < 0) {
		set_err("cannot connect to datanode '%s' at %s: %s", loc->id, loc->addr,
			tls_on() && (fd == -EACCES || fd == -EPROTO) ? tls_error()
								     : strerror(-fd));
		return -EIO;
	}
	net_set_bulk(fd);
	net_set_timeout(fd, 60000);
	int rc = auth_client(fd, c->opts.key, PROTO_ROLE_CLIENT, c->opts.uid, c->opts.gid);
	if (rc) {
		set_err("datanode '%s' refused the connection: %s", loc->id,
			rc == -EACCES ? "wrong cluster key" : strerror(-rc));
		net_close(fd);
		return rc == -EACCES ? rc : -EIO;
	}
	*fdp = fd;
	return 0;
}

static void close_pipeline(struct dfs_writer *w)
{
	/* a write whose every packet, the last included, was acked leaves the stream in
	 * step: the connection can carry the next block */
	if (w->fd >= 0 && w->open && w->fin && w->acked == w->seq && w->nlocs)
		connpool_put(&idle, w->locs[0].addr, w->fd);
	else if (w->fd >= 0)
		net_close(w->fd);
	w->fd = -1;
	w->open = false;
}

/* Reads one ack; on a failure remembers which node failed (w->failed_node). */
static int read_ack(struct dfs_writer *w)
{
	struct buf in = BUF_INIT;
	struct proto_hdr h;
	int rc = proto_recv(w->fd, &h, &in, 4096);
	uint64_t seq = 0;
	int32_t status = 0;
	uint32_t failed = PROTO_NO_NODE;
	if (!rc && h.type != PROTO_DT_ACK)
		rc = -EPROTO;
	if (!rc)
		rc = packet_decode_ack(in.data, in.len, &seq, &status, &failed);
	if (!rc && seq != w->acked)
		rc = -EPROTO;
	buf_free(&in);
	if (rc) {
		set_err("block %" PRIu64 ": lost the pipeline at datanode '%s': %s", w->id,
			w->locs[0].id, strerror(-rc));
		w->failed_node = 0;
		return -EIO;
	}
	if (status) {
		w->failed_node = failed < w->nlocs ? (int)failed : 0;
		rc = proto_errno(status);
		set_err("block %" PRIu64 ": datanode '%s' failed to store data: %s", w->id,
			w->locs[w->failed_node].id,
			rc == -EBADMSG ? "checksum mismatch" : strerror(-rc));
		return -EIO;
	}
	w->acked++;
	return 0;
}

/* Asks the namenode for a new block and connects its pipeline. */
static int open_block(struct dfs_writer *w)
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_u64(&req, w->attr.ino);
	if (!w->alloc)
		pack_prev(&req, w);
	pack_str(&req, w->c->opts.favored);
	pack_u32(&req, w->nexcluded);
	for (uint32_t i = 0; i < w->nexcluded; i++)
		pack_str(&req, w->excluded[i]);
	int rc = call(w->c, w->alloc ? PROTO_CN_ALLOC_BLOCK : PROTO_CN_ADD_BLOCK, &req, &rep);
	buf_free(&req);
	if (rc) {
		buf_free(&rep);
		return rc;
	}
	struct unpack u;
	unpack_init(&u, rep.data, rep.len);
	w->id = unpack_u64(&u);
	w->gs = unpack_u64(&u);
	(void)unpack_u64(&u);
	(void)unpack_u64(&u);
	free(w->locs);
	rc = get_locs(&u, &w->nlocs, &w->locs);
	const void *tok = unpack_raw(&u, TOKEN_LEN);
	if (!rc && !tok)
		rc = -EPROTO;
	if (!rc)
		memcpy(w->token, tok, TOKEN_LEN);
	buf_free(&rep);
	if (rc || !w->nlocs)
		return rc ? rc : -EPROTO;
	w->seq = w->acked = 0;
	w->sent = 0;
	w->fin = false;
	w->failed_node = 0; /* until the pipeline is up, blame its first node */
	pack_u64(&req, w->id);
	pack_u64(&req, w->gs);
	pack_u32(&req, w->nosync ? PROTO_WRITE_NOSYNC : 0);
	pack_raw(&req, w->token, TOKEN_LEN);
	pack_u32(&req, w->nlocs - 1);
	for (uint32_t i = 1; i < w->nlocs; i++) {
		pack_str(&req, w->locs[i].id);
		pack_str(&req, w->locs[i].addr);
	}
	/* a kept connection may have died idle: then try once more on a fresh one */
	for (int fresh = 0; fresh < 2; fresh++) {
		bool kept = !fresh && (w->fd = connpool_take(&idle, w->locs[0].addr)) >= 0;
		if (!kept) {
			fresh = 1;
			rc = dn_open(w->c, &w->locs[0], &w->fd);
			if (rc) {
				buf_free(&req);
				return rc;
			}
		}
		rc = proto_send(w->fd, PROTO_DT_WRITE_BLOCK, 0, 1, 0, req.data, req.len);
		struct proto_hdr h;
		if (!rc)
			rc = proto_recv(w->fd, &h, &rep, 64 * 1024);
		if (rc && kept) {
			close_pipeline(w);
			continue;
		}
		if (!rc && h.status) {
			/* "pipeline: cannot reach datanode 'X'": blame X when we can tell */
			struct unpack e;
			unpack_init(&e, rep.data, rep.len);
			unpack_str(&e, errmsg, sizeof errmsg);
			for (uint32_t i = 1; i < w->nlocs; i++) {
				char quoted[PROTO_ID_MAX + 3];
				snprintf(quoted, sizeof quoted, "'%s'", w->locs[i].id);
				if (strstr(errmsg, quoted))
					w->failed_node = (int)i;
			}
			rc = -EIO;
		} else if (rc) {
			set_err("datanode '%s' dropped the write: %s", w->locs[0].id,
				strerror(-rc));
			rc = -EIO;
		}
		break;
	}
	buf_free(&req);
	buf_free(&rep);
	if (rc) {
		close_pipeline(w);
		return rc;
	}
	w->open = true;
	w->failed_node = -1;
	return 0;
}

/* Sends the unsent bytes of the block in packets; `finish` sends the rest even when
 * short and marks the last packet, then waits for every ack. */
static int pump(struct dfs_writer *w, bool finish)
{
	int rc;
	if (!w->open && (rc = open_block(w)))
		return rc;
	uint32_t crcs[PACKET_MAX_CRCS];
	/* with finish, the LAST packet goes out even when every byte went already (then
	 * empty): it is what makes the datanodes finalize the replica */
	while (wlen(w) - w->sent >= PROTO_PACKET_SIZE || (finish && !w->fin)) {
		size_t n = wlen(w) - w->sent;
		if (n > PROTO_PACKET_SIZE)
			n = PROTO_PACKET_SIZE;
		bool last = finish && w->sent + n == wlen(w);
		const uint8_t *p = wdata(w) + w->sent;
		crc32c_chunks(p, n, PROTO_CHUNK_SIZE, crcs);
		rc = packet_send(w->fd, 1, w->seq, w->sent, last ? PROTO_PKT_LAST : 0, p,
				 (uint32_t)n, crcs);
		if (rc) {
			set_err("block %" PRIu64 ": lost the pipeline at datanode '%s': %s", w->id,
				w->locs[0].id, strerror(-rc));
			w->failed_node = 0;
			/* an error ack may name the node that really failed */
			if (w->acked < w->seq)
				read_ack(w);
			return -EIO;
		}
		w->seq++;
		w->sent += n;
		w->fin = last;
		while (w->seq - w->acked > (last ? 0 : WINDOW))
			if ((rc = read_ack(w)))
				return rc;
		if (last)
			break;
	}
	return 0;
}

/* Gives the current block up at the namenode. */
static int abandon(struct dfs_writer *w)
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_u64(&req, w->attr.ino);
	pack_u64(&req, w->id);
	int rc = call(w->c, PROTO_CN_ABANDON, &req, &rep);
	buf_free(&req);
	buf_free(&rep);
	w->id = 0;
	return rc;
}

/*
 * Recovery: the pipeline failed. Drop the failed node for this writer, give the block
 * up at the namenode, and send the whole block again down a new pipeline.
 */
static int recover(struct dfs_writer *w, bool finish)
{
	int rc = -EIO;
	for (int attempt = 0; attempt < 5 && rc == -EIO; attempt++) {
		if (w->failed_node >= 0 && (uint32_t)w->failed_node < w->nlocs) {
			char (*ex)[PROTO_ID_MAX + 1] =
				realloc(w->excluded, (w->nexcluded + 1) * sizeof *ex);
			if (!ex)
				return -ENOMEM;
			w->excluded = ex;
			snprintf(ex[w->nexcluded++], sizeof ex[0], "%s", w->locs[w->failed_node].id);
		}
		close_pipeline(w);
		int arc = abandon(w);
		if (arc)
			return arc;
		rc = pump(w, finish);
	}
	return rc;
}

/* Sends what is due; on a pipeline failure, recovers and sends again. */
static int flush_block(struct dfs_writer *w, bool finish)
{
	char first_err[sizeof errmsg];
	int rc = pump(w, finish);
	if (rc != -EIO || w->failed_node < 0)
		return rc;
	snprintf(first_err, sizeof first_err, "%s", errmsg);
	rc = recover(w, finish);
	if (rc == -ENOSPC || rc == -EIO)
		set_err("%s; no other datanode could take the block", first_err);
	return rc;
}

/* The block is complete on its pipeline: it becomes the previous block. */
static void block_done(struct dfs_writer *w)
{
	close_pipeline(w);
	w->prev_id = w->id;
	w->prev_len = w->blk.len;
	free(w->prev_locs);
	w->prev_locs = w->locs;
	w->prev_n = w->nlocs;
	w->locs = NULL;
	w->nlocs = 0;
	buf_reset(&w->blk);
	w->sent = 0;
}

int dfs_write(struct dfs_writer *w, const void *data, size_t len)
{
	if (w->err)
		return w->err;
	const uint8_t *p = data;
	while (len) {
		size_t room = (size_t)(w->block_size - w->blk.len);
		size_t n = len < room ? len : room;
		buf_add(&w->blk, p, n);
		p += n;
		len -= n;
		bool full = w->blk.len == w->block_size;
		if (full || w->blk.len - w->sent >= PROTO_PACKET_SIZE) {
			int rc = flush_block(w, full);
			if (rc)
				return w->err = rc;
			if (full)
				block_done(w);
		}
	}
	return 0;
}

static void writer_free(struct dfs_writer *w)
{
	close_pipeline(w);
	free(w->locs);
	free(w->prev_locs);
	free(w->excluded);
	buf_free(&w->blk);
	free(w);
}

int dfs_writer_close(struct dfs_writer *w)
{
	int rc = w->err;
	if (!rc && (w->blk.len || w->open)) {
		rc = flush_block(w, true);
		if (!rc)
			block_done(w);
	}
	if (!rc) {
		struct buf req = BUF_INIT, rep = BUF_INIT;
		pack_u64(&req, w->attr.ino);
		pack_prev(&req, w);
		rc = call(w->c, PROTO_CN_COMPLETE, &req, &rep);
		buf_free(&req);
		buf_free(&rep);
	}
	writer_free(w);
	return rc;
}

void dfs_writer_abort(struct dfs_writer *w)
{
	if (w->alloc && w->id) /* a free-standing block: no file will use it */
		abandon(w);
	writer_free(w);
}

int dfs_put_block(struct dfs_client *c, uint64_t ino, const void *data, size_t len, bool sync,
		  struct dfs_stored *out)
{
	memset(out, 0, sizeof *out);
	struct dfs_writer *w;
	int rc = dfs_block_writer(c, ino, data, len, &w);
	if (rc)
		return rc;
	w->ext_len = len; /* all of it, sent in one go */
	return dfs_block_finish(w, sync, out);
}

int dfs_block_extend(struct dfs_writer *w, size_t len)
{
	if (w->err)
		return w->err;
	if (len < w->ext_len || len >= w->block_size)
		return -EINVAL;
	w->ext_len = len;
	if (len - w->sent < PROTO_PACKET_SIZE)
		return 0;
	int rc = flush_block(w, false);
	return rc ? (w->err = rc) : 0;
}

int dfs_block_writer(struct dfs_client *c, uint64_t ino, const void *base, uint64_t max_len,
		     struct dfs_writer **out)
{
	struct dfs_writer *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->c = c;
	w->attr.ino = ino;
	w->block_size = max_len + 1; /* never "full": dfs_block_finish ends it */
	w->fd = -1;
	w->failed_node = -1;
	w->alloc = true;
	w->ext = base;
	buf_init(&w->blk);
	*out = w;
	return 0;
}

int dfs_block_finish(struct dfs_writer *w, bool sync, struct dfs_stored *out)
{
	memset(out, 0, sizeof *out);
	if (!w->open && !w->id)
		w->nosync = !sync; /* nothing sent yet: the pipeline opens now */
	int rc = w->err;
	if (!rc)
		rc = flush_block(w, true);
	if (rc) {
		dfs_writer_abort(w); /* no file will use the block */
		return rc;
	}
	close_pipeline(w); /* keeps the connection for the next block */
	out->id = w->id;
	out->genstamp = w->gs;
	memcpy(out->token, w->token, TOKEN_LEN);
	out->n = w->nlocs;
	out->nodes = w->locs; /* taken */
	w->locs = NULL;
	w->nlocs = 0;
	writer_free(w);
	return 0;
}

int dfs_sync_block(struct dfs_client *c, const struct dfs_block *b)
{
	if (!b->id)
		return 0; /* a hole */
	uint8_t req[16 + TOKEN_LEN];
	be64_put(req, b->id);
	be64_put(req + 8, b->genstamp);
	memcpy(req + 16, b->token, TOKEN_LEN);
	int synced = 0, rc = b->nlocs ? 0 : -EIO;
	bool refreshed = false;
	for (uint32_t i = 0; i < b->nlocs; i++) {
		int fd = connpool_take(&idle, b->locs[i].addr), one;
		if (fd < 0 && (one = dn_open(c, &b->locs[i], &fd))) {
			rc = one;
			continue;
		}
		struct proto_hdr h;
		struct buf rep = BUF_INIT;
		one = proto_send(fd, PROTO_DT_SYNC_BLOCK, 0, 1, 0, req, sizeof req);
		if (!one)
			one = proto_recv(fd, &h, &rep, 64 * 1024);
		if (!one && h.type != PROTO_DT_SYNC_BLOCK)
			one = -EPROTO;
		if (!one) {
			connpool_put(&idle, b->locs[i].addr, fd); /* in step whatever the status */
			one = proto_errno(h.status);
		} else {
			net_close(fd);
		}
		buf_free(&rep);
		if (one == -EACCES && !refreshed) { /* the token expired: get a new one */
			refreshed = true;
			if (!dfs_block_token(c, b->id, b->genstamp, TOKEN_WRITE, req + 16)) {
				i--;
				continue;
			}
		}
		if (one) {
			set_err("block %" PRIu64 ": datanode '%s' could not sync it: %s", b->id,
				b->locs[i].id, strerror(-one));
			rc = one;
		} else {
			synced++;
		}
	}
	/* a replica that vanished meanwhile is the namenode's to replace */
	return synced ? 0 : rc;
}

void dfs_stored_free(struct dfs_stored *s)
{
	free(s->nodes);
	s->nodes = NULL;
	s->n = 0;
}

int dfs_update(struct dfs_client *c, uint64_t ino, uint64_t size, uint32_t nblocks,
	       const struct dfs_change *ch, size_t n, struct dfs_attr *out)
{
	struct buf req = BUF_INIT;
	pack_u64(&req, ino);
	pack_u64(&req, size);
	pack_u32(&req, nblocks);
	pack_u32(&req, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		pack_u32(&req, ch[i].index);
		pack_u64(&req, ch[i].old_id);
		pack_u64(&req, ch[i].stored.id);
		pack_u64(&req, ch[i].len);
		pack_u32(&req, ch[i].stored.n);
		for (uint32_t j = 0; j < ch[i].stored.n; j++)
			pack_str(&req, ch[i].stored.nodes[j].id);
	}
	return call_attr(c, PROTO_CN_UPDATE, &req, out);
}

/* ---------- reading ---------- */

#define READER_CONNS 4

struct dfs_reader {
	struct dfs_client *c;
	struct dfs_blocks blocks;
	int fd; /* the datanode connection in use: one of conns[] */
	/* connections kept to the last few datanodes read from */
	struct {
		int fd;
		char addr[PROTO_ADDR_MAX + 1];
	} conns[READER_CONNS];
	unsigned next; /* the slot to reuse next */
	struct buf in;
	/* a token fetched again (the one in the block had expired) */
	uint64_t fresh_id, fresh_gs;
	uint8_t fresh_token[TOKEN_LEN];
};

static void reader_init_conns(struct dfs_reader *r)
{
	r->fd = -1;
	for (int i = 0; i < READER_CONNS; i++)
		r->conns[i].fd = -1;
}

/* Closes the connection in use (after an error: it is out of step). */
static void reader_drop_fd(struct dfs_reader *r)
{
	for (int i = 0; i < READER_CONNS; i++)
		if (r->conns[i].fd == r->fd)
			r->conns[i].fd = -1;
	if (r->fd >= 0)
		net_close(r->fd);
	r->fd = -1;
}

int dfs_open(struct dfs_client *c, const char *path, struct dfs_reader **out)
{
	struct dfs_reader *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	int rc = dfs_get_blocks(c, path, 0, 0, &r->blocks);
	if (rc) {
		free(r);
		return rc;
	}
	r->c = c;
	reader_init_conns(r);
	buf_init(&r->in);
	*out = r;
	return 0;
}

const struct dfs_attr *dfs_reader_attr(const struct dfs_reader *r) { return &r->blocks.attr; }

void dfs_reader_close(struct dfs_reader *r)
{
	if (!r)
		return;
	for (int i = 0; i < READER_CONNS; i++)
		if (r->conns[i].fd >= 0)
			net_close(r->conns[i].fd);
	dfs_blocks_free(&r->blocks);
	buf_free(&r->in);
	free(r);
}

static int dn_connect(struct dfs_reader *r, const struct dfs_loc *loc)
{
	for (int i = 0; i < READER_CONNS; i++)
		if (r->conns[i].fd >= 0 && !strcmp(r->conns[i].addr, loc->addr)) {
			r->fd = r->conns[i].fd;
			return 0;
		}
	int fd = net_connect(loc->addr, 5000);
	if (fd < 0)
		return fd;
	net_set_bulk(fd);
	net_set_timeout(fd, 60000);
	int rc = auth_client(fd, r->c->opts.key, PROTO_ROLE_CLIENT, r->c->opts.uid,
			     r->c->opts.gid);
	if (rc) {
		net_close(fd);
		return rc;
	}
	unsigned k = r->next++ % READER_CONNS;
	if (r->conns[k].fd >= 0)
		net_close(r->conns[k].fd);
	r->conns[k].fd = fd;
	snprintf(r->conns[k].addr, sizeof r->conns[k].addr, "%s", loc->addr);
	r->fd = fd;
	return 0;
}

typedef int (*sink_fn)(void *arg, const uint8_t *data, size_t len);

/*
 * Reads [off, off+len) of block b from one replica, verifying every chunk, passing the
 * requested bytes to sink in order. Returns 0, or -errno with nothing guaranteed about
 * how much reached the sink (*sent says how many bytes did).
 */
static int read_replica(struct dfs_reader *r, const struct dfs_block *b, const struct dfs_loc *loc,
			uint64_t off, uint64_t len, sink_fn sink, void *arg, uint64_t *sent)
{
	*sent = 0;
	int rc = dn_connect(r, loc);
	if (rc)
		return rc;
	uint8_t req[32 + TOKEN_LEN];
	be64_put(req, b->id);
	be64_put(req + 8, b->genstamp);
	be64_put(req + 16, off);
	be64_put(req + 24, len);
	bool fresh = r->fresh_id == b->id && r->fresh_gs == b->genstamp;
	memcpy(req + 32, fresh ? r->fresh_token : b->token, TOKEN_LEN);
	struct proto_hdr h;
	rc = proto_send(r->fd, PROTO_DT_READ_BLOCK, 0, 1, 0, req, sizeof req);
	if (!rc)
		rc = proto_recv(r->fd, &h, &r->in, 64 * 1024);
	if (!rc && h.status) {
		rc = proto_errno(h.status); /* connection still in step */
		if (rc == -EACCES) { /* the datanode says why */
			struct unpack e;
			unpack_init(&e, r->in.data, r->in.len);
			unpack_str(&e, errmsg, sizeof errmsg);
		}
		return rc;
	}
	if (rc)
		goto broken;
	struct packet *p = malloc(sizeof *p);
	if (!p)
		return -ENOMEM;
	uint64_t end = off + len;
	for (;;) {
		rc = proto_recv(r->fd, &h, &r->in, PROTO_MAX_DATA);
		if (!rc && (h.type != PROTO_DT_PACKET || packet_decode(r->in.data, r->in.len, p)))
			rc = -EPROTO;
		if (rc)
			break;
		long bad = crc32c_verify(p->data, p->len, PROTO_CHUNK_SIZE, p->crcs);
		if (bad >= 0) {
			rc = -EBADMSG;
			break;
		}
		/* deliver the overlap of [p->offset, +len) with [off + sent, end) */
		uint64_t want = off + *sent;
		uint64_t pend = p->offset + p->len;
		if (pend > want && p->offset <= want) {
			uint64_t n = (pend < end ? pend : end) - want;
			rc = sink(arg, p->data + (want - p->offset), (size_t)n);
			if (rc)
				break;
			*sent += n;
		}
		if (p->flags & PROTO_PKT_LAST)
			break;
	}
	free(p);
	if (!rc && *sent < len)
		rc = -EIO; /* replica shorter than the namenode says */
	if (!rc)
		return 0;
broken:
	reader_drop_fd(r);
	return rc;
}

/* Reads a range of one block from the first replica that serves it whole. */
static int read_block(struct dfs_reader *r, const struct dfs_block *b, uint64_t off,
		      uint64_t len, sink_fn sink, void *arg)
{
	if (!b->id) { /* a hole */
		static const uint8_t zeros[64 * 1024];
		while (len) {
			size_t n = len < sizeof zeros ? (size_t)len : sizeof zeros;
			int rc = sink(arg, zeros, n);
			if (rc)
				return rc;
			len -= n;
		}
		return 0;
	}
	if (!b->nlocs) {
		set_err("block %" PRIu64 " has no live replica", b->id);
		return -EIO;
	}
	int rc = -EIO;
	uint64_t done = 0;
	char first[sizeof errmsg] = "";
	bool refreshed = false;
	for (uint32_t i = 0; i < b->nlocs; i++) {
		uint64_t sent;
		rc = read_replica(r, b, &b->locs[i], off + done, len - done, sink, arg, &sent);
		done += sent;
		if (!rc)
			return 0;
		if (rc == -EACCES) {
			/* the token expired, or a restarted namenode has new keys: ask again */
			char why[256];
			snprintf(why, sizeof why, "%.200s", errmsg);
			int trc = refreshed ? -EACCES
					    : dfs_block_token(r->c, b->id, b->genstamp, TOKEN_READ,
							      r->fresh_token);
			if (!refreshed && !trc) {
				refreshed = true;
				r->fresh_id = b->id;
				r->fresh_gs = b->genstamp;
				i--;
				continue;
			}
			set_err("block %" PRIu64 ": datanode '%s' refused the read: %s", b->id,
				b->locs[i].id, why);
			if (!refreshed)
				return trc; /* no new token: the namenode said why */
		} else {
			if (rc == -EBADMSG || rc == -ENOENT)
				dfs_bad_block(r->c, b->id, b->genstamp, b->locs[i].id,
					      rc == -EBADMSG ? PROTO_BAD_CHECKSUM
							     : PROTO_BAD_MISSING);
			set_err("block %" PRIu64 ": replica on datanode '%s' failed: %s", b->id,
				b->locs[i].id,
				rc == -EBADMSG ? "checksum mismatch" : strerror(-rc));
		}
		if (!first[0])
			snprintf(first, sizeof first, "%s", errmsg);
	}
	if (b->nlocs > 1)
		set_err("block %" PRIu64 ": every replica failed (first: %s)", b->id, first);
	return rc == -ENOENT || rc == -EBADMSG ? -EIO : rc;
}

struct membuf {
	uint8_t *p;
};

static int to_mem(void *arg, const uint8_t *data, size_t len)
{
	struct membuf *m = arg;
	memcpy(m->p, data, len);
	m->p += len;
	return 0;
}

int dfs_reader_new(struct dfs_client *c, struct dfs_reader **out)
{
	struct dfs_reader *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->c = c;
	reader_init_conns(r);
	buf_init(&r->in);
	*out = r;
	return 0;
}

int dfs_read_block(struct dfs_reader *r, const struct dfs_block *b, uint64_t off,
		   uint64_t len, void *buf)
{
	if (off > b->length || len > b->length - off)
		return -EINVAL;
	struct membuf m = {buf};
	return read_block(r, b, off, len, to_mem, &m);
}

ssize_t dfs_pread(struct dfs_reader *r, void *buf, size_t len, uint64_t off)
{
	uint64_t size = r->blocks.attr.size;
	if (off >= size || !len)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	struct membuf m = {buf};
	size_t done = 0;
	for (size_t i = 0; i < r->blocks.n && done < len; i++) {
		const struct dfs_block *b = &r->blocks.v[i];
		uint64_t pos = off + done;
		if (pos < b->offset || pos >= b->offset + b->length)
			continue;
		uint64_t in = pos - b->offset;
		uint64_t n = b->length - in < len - done ? b->length - in : len - done;
		int rc = read_block(r, b, in, n, to_mem, &m);
		if (rc)
			return rc;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

struct fdsink {
	int fd;
	uint64_t done;
	void (*progress)(void *arg, uint64_t done);
	void *arg;
};

static int to_fd(void *arg, const uint8_t *data, size_t len)
{
	struct fdsink *s = arg;
	while (len) {
		ssize_t w = write(s->fd, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			set_err("cannot write output: %s", strerror(e));
			return -e;
		}
		data += w;
		len -= (size_t)w;
		s->done += (uint64_t)w;
	}
	if (s->progress)
		s->progress(s->arg, s->done);
	return 0;
}

int dfs_read_to_fd(struct dfs_reader *r, int fd, void (*progress)(void *arg, uint64_t done),
		   void *arg)
{
	struct fdsink s = {fd, 0, progress, arg};
	for (size_t i = 0; i < r->blocks.n; i++) {
		const struct dfs_block *b = &r->blocks.v[i];
		if (!b->length)
			continue;
		/* a replica failing midway is resumed from the next one (read_block) */
		int rc = read_block(r, b, 0, b->length, to_fd, &s);
		if (rc)
			return rc;
	}
	return 0;
}
