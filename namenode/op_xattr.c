/*
 * op_xattr: extended attributes (the namespace's, plus user.dfs.replication and
 * user.dfs.block_size, which dfs keeps itself) and POSIX and flock locks (locks.h).
 * Loop thread only; no locks.
 */
#include "server_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------- extended attributes ---------- */

/* Extended attributes: the user namespace by the file's permissions, the others
 * (trusted., security., system.) by the superuser only. */
static int perm_xattr(struct nn_server *s, struct nn_conn *c, const char *path, const char *name,
		      int want)
{
	if (!c->cred.super && strncmp(name, "user.", 5))
		return -EPERM;
	return nn_perm_path(s->ns, path, &c->cred, 0, want);
}

/* The attributes dfs itself keeps: replication and block size, as MooseFS's goals. */
#define XATTR_REPL "user.dfs.replication"
#define XATTR_BS "user.dfs.block_size"

static bool is_dfs_xattr(const char *name)
{
	return !strcmp(name, XATTR_REPL) || !strcmp(name, XATTR_BS);
}

/* The "str path, str name" that CN_SETXATTR, CN_GETXATTR and CN_REMOVEXATTR start with.
 * name holds one byte more than PROTO_NAME_MAX: a name of that length still decodes and
 * the namespace refuses it with ERANGE. */
struct xattr_req {
	char path[PROTO_PATH_MAX + 1];
	char name[PROTO_NAME_MAX + 2];
};

static void unpack_xattr_req(struct unpack *u, struct xattr_req *r)
{
	unpack_str(u, r->path, sizeof r->path);
	unpack_str(u, r->name, sizeof r->name);
}

static int parse_u64(const void *v, uint32_t n, uint64_t *out)
{
	char tmp[32];
	if (!n || n >= sizeof tmp)
		return -EINVAL;
	memcpy(tmp, v, n);
	tmp[n] = 0;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(tmp, &end, 10);
	if (errno || end == tmp || (*end && *end != '\n') || tmp[0] == '-')
		return -EINVAL;
	*out = x;
	return 0;
}

void nn_op_setxattr(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	struct xattr_req r;
	unpack_xattr_req(u, &r);
	uint32_t flags = unpack_u32(u), n = unpack_u32(u);
	const void *v = unpack_raw(u, n);
	if (nn_malformed(s, c, h, u) ||
	    nn_denied(s, c, h, perm_xattr(s, c, r.path, r.name, NN_W)))
		return;
	int rc;
	uint64_t x = 0;
	struct nn_attr a;
	if (!strcmp(r.name, XATTR_REPL)) {
		rc = parse_u64(v, n, &x);
		if (!rc && (x < 1 || x > PROTO_REPL_MAX))
			rc = -EINVAL;
		if (!rc)
			rc = nn_set_replication(s, r.path, (uint16_t)x, &a);
	} else if (!strcmp(r.name, XATTR_BS)) {
		rc = parse_u64(v, n, &x);
		if (!rc)
			rc = nn_ns_set_block_size(s->ns, r.path, x, &a);
	} else {
		rc = nn_ns_xattr_set(s->ns, r.path, r.name, v, n, flags);
	}
	nn_reply_ok_or_err(s, c, h, rc);
}

/* Replies "u32 n, n bytes" with v when rc is 0, else the error; frees v. */
static void reply_bytes(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h, int rc,
			struct buf *v)
{
	if (rc) {
		nn_reply_err(s, c, h, rc, NULL);
	} else {
		struct buf p = BUF_INIT;
		pack_u32(&p, (uint32_t)v->len);
		pack_raw(&p, v->data, v->len);
		nn_reply(s, c, h, &p);
		buf_free(&p);
	}
	buf_free(v);
}

/* The value of a dfs attribute (XATTR_REPL, XATTR_BS) of path, in decimal, into v. */
static int dfs_xattr_get(struct nn_server *s, const char *path, const char *name, struct buf *v)
{
	struct nn_attr a;
	int rc = nn_ns_stat(s->ns, path, &a);
	if (rc)
		return rc;
	if (a.type != PROTO_T_FILE && a.type != PROTO_T_DIR)
		return -ENODATA;
	bool repl = !strcmp(name, XATTR_REPL);
	uint64_t x = repl ? a.replication : a.block_size;
	if (!x) /* a directory that sets none: the cluster's default */
		x = repl ? s->cfg.replication : s->cfg.block_size;
	buf_printf(v, "%llu", (unsigned long long)x);
	return 0;
}

void nn_op_getxattr(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	struct xattr_req r;
	unpack_xattr_req(u, &r);
	if (nn_malformed(s, c, h, u) ||
	    nn_denied(s, c, h, nn_perm_path(s->ns, r.path, &c->cred, 0, NN_R)))
		return;
	struct buf v = BUF_INIT;
	int rc = is_dfs_xattr(r.name) ? dfs_xattr_get(s, r.path, r.name, &v)
				      : nn_ns_xattr_get(s->ns, r.path, r.name, &v);
	reply_bytes(s, c, h, rc, &v);
}

void nn_op_listxattr(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		     struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	if (nn_malformed(s, c, h, u) ||
	    nn_denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, 0, NN_R)))
		return;
	struct buf v = BUF_INIT;
	reply_bytes(s, c, h, nn_ns_xattr_list(s->ns, path, &v), &v);
}

void nn_op_removexattr(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		       struct unpack *u)
{
	struct xattr_req r;
	unpack_xattr_req(u, &r);
	if (nn_malformed(s, c, h, u) ||
	    nn_denied(s, c, h, perm_xattr(s, c, r.path, r.name, NN_W)))
		return;
	int rc = is_dfs_xattr(r.name) ? -EPERM : nn_ns_xattr_remove(s->ns, r.path, r.name);
	if (rc)
		return nn_reply_err(s, c, h, rc, rc == -EPERM ? "dfs attributes cannot be removed"
							      : NULL);
	nn_reply_ok(s, c, h);
}

/* ---------- locks (locks.h) ---------- */

void nn_op_lock(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		struct unpack *u)
{
	struct nn_lock l = {.session = c->id};
	l.ino = unpack_u64(u);
	l.owner = unpack_u64(u);
	l.kind = unpack_u8(u);
	l.type = unpack_u8(u);
	l.start = unpack_u64(u);
	l.end = unpack_u64(u);
	l.pid = unpack_u32(u);
	bool test = unpack_u8(u);
	if (nn_malformed(s, c, h, u))
		return;
	if (l.kind > PROTO_LOCK_FLOCK || l.type < PROTO_LOCK_READ ||
	    l.type > PROTO_LOCK_UNLOCK || l.start > l.end)
		return nn_reply_err(s, c, h, -EINVAL, "bad lock request");
	struct buf p = BUF_INIT;
	if (test) {
		struct nn_lock o;
		bool conflict = l.type != PROTO_LOCK_UNLOCK && nn_locks_test(&s->locks, &l, &o);
		pack_u8(&p, conflict);
		if (conflict) {
			pack_u8(&p, o.type);
			pack_u64(&p, o.start);
			pack_u64(&p, o.end);
			pack_u32(&p, o.session == c->id ? o.pid : 0);
		}
	} else {
		int rc = nn_locks_set(&s->locks, &l);
		if (rc) {
			buf_free(&p);
			return nn_reply_err(s, c, h, rc, NULL);
		}
		pack_u8(&p, 0);
	}
	nn_reply(s, c, h, &p);
	buf_free(&p);
}
