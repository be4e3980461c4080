/*
 * op_xattr: extended attributes (the namespace's, plus user.dfs.replication and
 * user.dfs.block_size, which dfs keeps itself) and POSIX and flock locks (locks.h).
 * Each xattr request names its inode by path (CN_*XATTR) or by number (CN_*XATTR_INO,
 * the mount's); both are resolved to the inode first and served the same way.
 * Loop thread only; no locks.
 */
#include "server_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------- extended attributes ---------- */


/* The attributes dfs itself keeps: replication and block size, as MooseFS's goals. */
#define XATTR_REPL "user.dfs.replication"
#define XATTR_BS "user.dfs.block_size"

static bool is_dfs_xattr(const char *name)
{
	return !strcmp(name, XATTR_REPL) || !strcmp(name, XATTR_BS);
}

/* The start of every xattr request: its inode ("str path", or "u64 ino" for the _INO
 * types) and, but for the listings, "str name". name holds one byte more than
 * PROTO_NAME_MAX: a name of that length still decodes and the namespace refuses it with
 * ERANGE. */
struct xattr_req {
	char path[PROTO_PATH_MAX + 1];
	uint64_t ino;
	char name[PROTO_NAME_MAX + 2];
	struct nn_attr a; /* the inode (xattr_target) */
};

static bool by_ino(const struct proto_hdr *h)
{
	return h->type >= PROTO_CN_SETXATTR_INO && h->type <= PROTO_CN_REMOVEXATTR_INO;
}

static void unpack_xattr_req(struct unpack *u, const struct proto_hdr *h,
			     struct xattr_req *r, bool named)
{
	r->path[0] = 0;
	r->ino = 0;
	r->name[0] = 0;
	if (by_ino(h))
		r->ino = unpack_u64(u);
	else
		unpack_str(u, r->path, sizeof r->path);
	if (named)
		unpack_str(u, r->name, sizeof r->name);
}

/*
 * Resolves r's inode into r->a and checks that the caller may access it as want: the
 * user namespace by the file's permissions, and changes to the others (trusted.,
 * security., system.) by the superuser only. By path, search on the way is checked too. false when any of
 * that failed (the error is replied).
 */
static bool xattr_target(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			 struct xattr_req *r, int want)
{
	int rc = 0;
	if ((want & NN_W) && !c->cred.super && strncmp(r->name, "user.", 5))
		rc = -EPERM;
	else if (!by_ino(h))
		rc = nn_perm_path(s->ns, r->path, &c->cred, 0, want);
	if (!rc)
		rc = by_ino(h) ? nn_ns_stat_ino(s->ns, r->ino, &r->a)
			       : nn_ns_stat(s->ns, r->path, &r->a);
	if (!rc && by_ino(h) && !c->cred.super && !nn_perm_ok(&r->a, &c->cred, want))
		rc = -EACCES;
	if (rc)
		nn_reply_err(s, c, h, rc, NULL);
	return rc == 0;
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
	struct xattr_req *r = malloc(sizeof *r);
	if (!r)
		return nn_reply_err(s, c, h, -ENOMEM, NULL);
	unpack_xattr_req(u, h, r, true);
	uint32_t flags = unpack_u32(u), n = unpack_u32(u);
	const void *v = unpack_raw(u, n);
	if (nn_malformed(s, c, h, u) || !xattr_target(s, c, h, r, NN_W))
		goto out;
	int rc;
	uint64_t x = 0;
	if (!strcmp(r->name, XATTR_REPL)) {
		rc = parse_u64(v, n, &x);
		if (!rc && (x < 1 || x > PROTO_REPL_MAX))
			rc = -EINVAL;
		if (!rc)
			rc = nn_set_replication(s, r->a.ino, (uint16_t)x, &r->a);
	} else if (!strcmp(r->name, XATTR_BS)) {
		rc = parse_u64(v, n, &x);
		if (!rc)
			rc = nn_ns_set_block_size(s->ns, r->a.ino, x, &r->a);
	} else {
		rc = nn_ns_xattr_set_ino(s->ns, r->a.ino, r->name, v, n, flags);
	}
	nn_reply_ok_or_err(s, c, h, rc);
out:
	free(r);
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

/* The value of a dfs attribute (XATTR_REPL, XATTR_BS) of inode a, in decimal, into v. */
static int dfs_xattr_get(struct nn_server *s, const struct nn_attr *a, const char *name,
			 struct buf *v)
{
	if (a->type != PROTO_T_FILE && a->type != PROTO_T_DIR)
		return -ENODATA;
	bool repl = !strcmp(name, XATTR_REPL);
	uint64_t x = repl ? a->replication : a->block_size;
	if (!x) /* a directory that sets none: the cluster's default */
		x = repl ? s->cfg.replication : s->cfg.block_size;
	buf_printf(v, "%llu", (unsigned long long)x);
	return 0;
}

void nn_op_getxattr(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	struct xattr_req *r = malloc(sizeof *r);
	if (!r)
		return nn_reply_err(s, c, h, -ENOMEM, NULL);
	unpack_xattr_req(u, h, r, true);
	struct buf v = BUF_INIT;
	if (!nn_malformed(s, c, h, u) && xattr_target(s, c, h, r, NN_R)) {
		int rc = is_dfs_xattr(r->name) ? dfs_xattr_get(s, &r->a, r->name, &v)
					       : nn_ns_xattr_get_ino(s->ns, r->a.ino, r->name, &v);
		reply_bytes(s, c, h, rc, &v);
	}
	free(r);
}

void nn_op_listxattr(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		     struct unpack *u)
{
	struct xattr_req *r = malloc(sizeof *r);
	if (!r)
		return nn_reply_err(s, c, h, -ENOMEM, NULL);
	unpack_xattr_req(u, h, r, false);
	struct buf v = BUF_INIT;
	if (!nn_malformed(s, c, h, u) && xattr_target(s, c, h, r, NN_R))
		reply_bytes(s, c, h, nn_ns_xattr_list_ino(s->ns, r->a.ino, &v), &v);
	free(r);
}

void nn_op_removexattr(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		       struct unpack *u)
{
	struct xattr_req *r = malloc(sizeof *r);
	if (!r)
		return nn_reply_err(s, c, h, -ENOMEM, NULL);
	unpack_xattr_req(u, h, r, true);
	if (!nn_malformed(s, c, h, u) && xattr_target(s, c, h, r, NN_W)) {
		int rc = is_dfs_xattr(r->name) ? -EPERM
					       : nn_ns_xattr_remove_ino(s->ns, r->a.ino, r->name);
		if (rc)
			nn_reply_err(s, c, h, rc,
				     rc == -EPERM ? "dfs attributes cannot be removed" : NULL);
		else
			nn_reply_ok(s, c, h);
	}
	free(r);
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
