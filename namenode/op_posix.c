/*
 * op_posix: the POSIX calls the FUSE mount needs beyond files and directories --
 * setattr (chmod, chown, utimes, truncate's times), symlink, readlink, link, mknod --
 * and the owner of new inodes. Loop thread only; no locks.
 */
#include "server_int.h"

#include <errno.h>
#include <stdlib.h>

static int perm_setattr(struct nn_server *s, struct nn_conn *c, const char *path, uint32_t valid,
			uint32_t uid, uint32_t gid)
{
	int rc = nn_perm_path(s->ns, path, &c->cred, 0, 0);
	struct nn_attr a;
	if (rc || c->cred.super || nn_ns_stat(s->ns, path, &a))
		return rc;
	return nn_perm_setattr(&a, &c->cred, valid, uid, gid);
}


void nn_new_owner(const struct nn_conn *c, struct unpack *u, uint32_t *uid, uint32_t *gid)
{
	*uid = c->peer.uid;
	*gid = c->peer.gid;
	if (u->left >= 8) {
		uint32_t ru = unpack_u32(u), rg = unpack_u32(u);
		if (c->peer.uid == 0) {
			*uid = ru;
			*gid = rg;
		}
	}
}

void nn_op_setattr(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	uint32_t valid = unpack_u32(u), mode = unpack_u32(u), uid = unpack_u32(u),
		 gid = unpack_u32(u);
	int64_t at = unpack_i64(u), mt = unpack_i64(u);
	if (nn_malformed(s, c, h, u) ||
	    nn_denied(s, c, h, perm_setattr(s, c, path, valid, uid, gid)))
		return;
	struct nn_attr a;
	int rc = nn_ns_setattr(s->ns, path, valid, mode, uid, gid, at, mt, &a);
	nn_reply_attr_or_err(s, c, h, rc, &a);
}

void nn_op_symlink(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1], target[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	unpack_str(u, target, sizeof target);
	uint32_t uid, gid;
	nn_new_owner(c, u, &uid, &gid);
	if (nn_malformed(s, c, h, u) ||
	    nn_denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, NN_W | NN_X, 0)))
		return;
	struct nn_attr *a = malloc(sizeof *a);
	if (!a)
		return nn_reply_err(s, c, h, -ENOMEM, NULL);
	int rc = nn_ns_symlink(s->ns, path, target, uid, gid, a);
	nn_reply_attr_or_err(s, c, h, rc, a);
	free(a);
}

void nn_op_readlink(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	nn_stat_path_reply(s, c, h, u, nn_readlink_reply);
}

void nn_readlink_reply(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		       const struct nn_attr *a)
{
	if (a->type != PROTO_T_SYMLINK)
		return nn_reply_err(s, c, h, -EINVAL, NULL);
	struct buf p = BUF_INIT;
	pack_str(&p, a->target);
	nn_reply(s, c, h, &p);
	buf_free(&p);
}

void nn_op_link(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		struct unpack *u)
{
	char src[PROTO_PATH_MAX + 1], dst[PROTO_PATH_MAX + 1];
	unpack_str(u, src, sizeof src);
	unpack_str(u, dst, sizeof dst);
	if (nn_malformed(s, c, h, u) ||
	    nn_denied(s, c, h, nn_perm_path(s->ns, src, &c->cred, 0, 0)) ||
	    nn_denied(s, c, h, nn_perm_path(s->ns, dst, &c->cred, NN_W | NN_X, 0)))
		return;
	struct nn_attr a;
	int rc = nn_ns_link(s->ns, src, dst, &a);
	if (rc)
		return nn_reply_err(s, c, h, rc, rc == -EPERM ? "cannot hard-link a directory"
							      : NULL);
	nn_reply_attr(s, c, h, &a);
}

void nn_op_mknod(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		 struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	uint8_t type = unpack_u8(u);
	uint32_t mode = unpack_u32(u), rdev = unpack_u32(u), uid, gid;
	nn_new_owner(c, u, &uid, &gid);
	if (nn_malformed(s, c, h, u) ||
	    nn_denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, NN_W | NN_X, 0)))
		return;
	struct nn_attr a;
	int rc = nn_ns_mknod(s->ns, path, type, mode, rdev, uid, gid, &a);
	nn_reply_attr_or_err(s, c, h, rc, &a);
}
