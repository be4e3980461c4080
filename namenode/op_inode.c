/*
 * op_inode: the inode-addressed requests of the mount (proto.h's
 * PROTO_CN_INODE_MESSAGES): lookup, getattr, readlink, setattr, and the calls that add,
 * remove or rename a name given as (directory inode, name) -- mkdir, create, mknod,
 * symlink, link, unlink/rmdir, rename -- and readdir. No path is resolved: each call
 * checks permissions on the directory or inode it names (the lookups that reached it
 * checked search on the directories above, as in a local file system), and the
 * namespace does the rest (ns.h, "The same calls addressed by inode"). Their xattr
 * siblings are in op_xattr.c. Loop thread only; no locks.
 */
#include "server_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "log.h"

/* A name in a directory, as requests carry it ("at" in proto.h). name has room for one
 * byte more than PROTO_NAME_MAX, so that a name one byte too long still decodes and
 * is refused with ENAMETOOLONG rather than as a malformed request. */
struct at {
	uint64_t dir;
	char name[PROTO_NAME_MAX + 2];
};

static void unpack_at(struct unpack *u, struct at *a)
{
	a->dir = unpack_u64(u);
	unpack_str(u, a->name, sizeof a->name);
}

/* May the caller remove (or rename away, or replace) the name at? Write and search on
 * the directory, and in a sticky directory only the owner of the entry or of the
 * directory. 0, -EACCES or -EPERM; what is missing the operation reports. */
static int perm_remove_at(struct nn_server *s, struct nn_conn *c, const struct at *at)
{
	if (c->cred.super)
		return 0;
	int rc = nn_perm_ino(s, c, at->dir, NN_W | NN_X);
	if (rc)
		return rc;
	struct nn_attr d, a;
	if (nn_ns_stat_ino(s->ns, at->dir, &d) || nn_ns_lookup(s->ns, at->dir, at->name, &a))
		return 0;
	if ((d.mode & 01000) && c->cred.uid != a.uid && c->cred.uid != d.uid)
		return -EPERM;
	return 0;
}

void nn_op_lookup(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		  struct unpack *u)
{
	struct at at;
	unpack_at(u, &at);
	if (nn_malformed(s, c, h, u) || nn_denied(s, c, h, nn_perm_ino(s, c, at.dir, NN_X)))
		return;
	struct nn_attr *a = malloc(sizeof *a);
	if (!a)
		return nn_reply_err(s, c, h, -ENOMEM, NULL);
	nn_reply_attr_or_err(s, c, h, nn_ns_lookup(s->ns, at.dir, at.name, a), a);
	free(a);
}

/* The requests "u64 ino" that stat an inode (CN_GETATTR, CN_READLINK_INO): decodes it,
 * then nn_stat_reply. */
static void ino_reply(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		      struct unpack *u, nn_attr_reply_fn reply)
{
	uint64_t ino = unpack_u64(u);
	if (!nn_malformed(s, c, h, u))
		nn_stat_reply(s, c, h, NULL, ino, reply);
}

void nn_op_getattr(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   struct unpack *u)
{
	ino_reply(s, c, h, u, nn_reply_attr);
}

void nn_op_readlink_ino(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			struct unpack *u)
{
	ino_reply(s, c, h, u, nn_readlink_reply);
}

void nn_op_setattr_ino(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		       struct unpack *u)
{
	uint64_t ino = unpack_u64(u);
	uint32_t valid = unpack_u32(u), mode = unpack_u32(u), uid = unpack_u32(u),
		 gid = unpack_u32(u);
	int64_t at = unpack_i64(u), mt = unpack_i64(u);
	if (nn_malformed(s, c, h, u))
		return;
	struct nn_attr a;
	int rc = nn_ns_stat_ino(s->ns, ino, &a);
	if (!rc)
		rc = nn_perm_setattr(&a, &c->cred, valid, uid, gid);
	if (!rc)
		rc = nn_ns_setattr_ino(s->ns, ino, valid, mode, uid, gid, at, mt, &a);
	nn_reply_attr_or_err(s, c, h, rc, &a);
}

/* Decodes `at` and checks that the caller may add a name there (write and search on
 * the directory): false when not (replied). The caller decodes the rest, then calls
 * nn_malformed. */
static bool add_request(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			struct unpack *u, struct at *at)
{
	unpack_at(u, at);
	return !nn_malformed(s, c, h, u) &&
	       !nn_denied(s, c, h, nn_perm_ino(s, c, at->dir, NN_W | NN_X));
}

void nn_op_mkdir_at(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	struct at at;
	if (!add_request(s, c, h, u, &at))
		return;
	uint32_t mode = unpack_u32(u), uid, gid;
	nn_new_owner(c, u, &uid, &gid);
	if (nn_malformed(s, c, h, u))
		return;
	struct nn_attr a;
	int rc = nn_ns_mkdir_at(s->ns, at.dir, at.name, mode, uid, gid, &a);
	nn_reply_attr_dir(s, c, h, rc, &a, at.dir);
}

void nn_op_create_at(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		     struct unpack *u)
{
	struct at at;
	if (!add_request(s, c, h, u, &at))
		return;
	struct nn_create_req r;
	nn_unpack_create(c, u, &r);
	if (nn_malformed(s, c, h, u))
		return;
	struct nn_attr old;
	if ((r.flags & PROTO_CREATE_OVERWRITE) && !c->cred.super &&
	    !nn_ns_lookup(s->ns, at.dir, at.name, &old) && !nn_perm_ok(&old, &c->cred, NN_W))
		return nn_reply_err(s, c, h, -EACCES, NULL);
	nn_create_reply(s, c, h, NULL, at.dir, at.name, &r);
}

void nn_op_recreate(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	uint64_t ino = unpack_u64(u);
	struct at at;
	if (!add_request(s, c, h, u, &at))
		return;
	uint32_t mode = unpack_u32(u), uid, gid;
	uint16_t repl = unpack_u16(u);
	uint64_t bs = unpack_u64(u);
	nn_new_owner(c, u, &uid, &gid);
	if (nn_malformed(s, c, h, u))
		return;
	if (repl > PROTO_REPL_MAX)
		return nn_reply_err(s, c, h, -EINVAL, "replication %u is out of range", repl);
	struct nn_attr *a = malloc(sizeof *a);
	if (!a)
		return nn_reply_err(s, c, h, -ENOMEM, NULL);
	int rc = nn_ns_redefer(s->ns, ino, at.dir, at.name, mode, repl, bs, uid, gid, c->id, a);
	s->rc_skip = true; /* dropped with c, like the create it makes again */
	if (rc)
		nn_reply_err(s, c, h, rc, rc == -ENOENT ? "this namenode handed that inode out "
				"and it is gone: deleted, or its creator went away" :
				rc == -EEXIST ? "the name was taken meanwhile" : NULL);
	else
		nn_reply_attr(s, c, h, a);
	if (!rc)
		log_info("inode %llu: a create the namenode lost made again at '%s' in %llu",
			 (unsigned long long)ino, at.name, (unsigned long long)at.dir);
	free(a);
}

void nn_op_mknod_at(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	struct at at;
	if (!add_request(s, c, h, u, &at))
		return;
	uint8_t type = unpack_u8(u);
	uint32_t mode = unpack_u32(u), rdev = unpack_u32(u), uid, gid;
	nn_new_owner(c, u, &uid, &gid);
	if (nn_malformed(s, c, h, u))
		return;
	struct nn_attr a;
	int rc = nn_ns_mknod_at(s->ns, at.dir, at.name, type, mode, rdev, uid, gid, &a);
	nn_reply_attr_dir(s, c, h, rc, &a, at.dir);
}

void nn_op_symlink_at(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		      struct unpack *u)
{
	struct at at;
	char target[PROTO_PATH_MAX + 1];
	if (!add_request(s, c, h, u, &at))
		return;
	unpack_str(u, target, sizeof target);
	uint32_t uid, gid;
	nn_new_owner(c, u, &uid, &gid);
	if (nn_malformed(s, c, h, u))
		return;
	struct nn_attr *a = malloc(sizeof *a);
	if (!a)
		return nn_reply_err(s, c, h, -ENOMEM, NULL);
	int rc = nn_ns_symlink_at(s->ns, at.dir, at.name, target, uid, gid, a);
	nn_reply_attr_dir(s, c, h, rc, a, at.dir);
	free(a);
}

void nn_op_link_at(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   struct unpack *u)
{
	uint64_t ino = unpack_u64(u);
	struct at at;
	if (!add_request(s, c, h, u, &at) || nn_malformed(s, c, h, u))
		return;
	struct nn_attr a;
	int rc = nn_ns_link_at(s->ns, ino, at.dir, at.name, &a);
	if (rc)
		return nn_reply_err(s, c, h, rc, rc == -EPERM ? "cannot hard-link a directory"
							      : NULL);
	nn_reply_attr_dir(s, c, h, 0, &a, at.dir);
}

/* c keeps inode ino (nameless, open there) until its CN_RECLAIM or its close; false
 * when that could not be noted (then the next restart reclaims it). */
static bool keep_for(struct nn_conn *c, uint64_t ino)
{
	if (ALLOC_GROW(c->kept, c->nkept + 1, c->capkept)) {
		log_error("out of memory: inode %llu stays kept until the next restart",
			  (unsigned long long)ino);
		return false;
	}
	c->kept[c->nkept++] = ino;
	return true;
}

void nn_op_unlink_at(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		     struct unpack *u)
{
	struct at at;
	unpack_at(u, &at);
	uint8_t flags = unpack_u8(u);
	if (nn_malformed(s, c, h, u) || nn_denied(s, c, h, perm_remove_at(s, c, &at)))
		return;
	struct nn_blocks freed = {0};
	struct nn_attr *gone = malloc(sizeof *gone);
	if (!gone)
		return nn_reply_err(s, c, h, -ENOMEM, NULL);
	bool keep = flags & PROTO_DELETE_KEEP;
	int rc = nn_ns_unlink_at(s->ns, at.dir, at.name,
				 ((flags & PROTO_DELETE_DIR) ? NN_UNLINK_DIR : 0) |
					 (keep ? NN_UNLINK_KEEP : 0),
				 &freed, gone);
	nn_release_blocks(s, &freed);
	if (!rc && gone->type == PROTO_T_FILE && !gone->nlink) {
		if (!keep)
			nn_lease_drop(c, gone->ino); /* a file it was writing went with its name */
		else
			keep_for(c, gone->ino);
	}
	/* then the directory as the change left it (the mount answers the kernel's GETATTR
	 * of it, which follows every unlink, without a round trip) */
	nn_reply_attr_dir(s, c, h, rc, gone, at.dir);
	free(gone);
}

/* Deletes kept inode ino (its blocks go from the datanodes). */
static int reclaim(struct nn_server *s, uint64_t ino)
{
	struct nn_blocks freed = {0};
	int rc = nn_ns_reclaim(s->ns, ino, &freed);
	nn_release_blocks(s, &freed);
	return rc;
}

void nn_op_reclaim(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   struct unpack *u)
{
	uint64_t ino = unpack_u64(u);
	if (nn_malformed(s, c, h, u))
		return;
	uint32_t i = 0;
	while (i < c->nkept && c->kept[i] != ino)
		i++;
	if (i == c->nkept)
		return nn_reply_err(s, c, h, -ENOENT, "inode %llu is not kept by this client",
				    (unsigned long long)ino);
	c->kept[i] = c->kept[--c->nkept];
	nn_reply_ok_or_err(s, c, h, reclaim(s, ino));
}

static void reclaim_one(void *arg, uint64_t ino)
{
	struct nn_server *s = arg;
	int rc = reclaim(s, ino);
	if (rc && rc != -ENOENT)
		log_warn("cannot reclaim kept inode %llu: %s", (unsigned long long)ino,
			 strerror(-rc));
}

void nn_kept_release(struct nn_server *s, struct nn_conn *c)
{
	for (uint32_t i = 0; i < c->nkept; i++)
		reclaim_one(s, c->kept[i]);
	free(c->kept);
	c->kept = NULL;
	c->nkept = c->capkept = 0;
}

void nn_kept_reclaim_all(struct nn_server *s)
{
	uint64_t before = nn_ns_files(s->ns);
	nn_ns_scan_kept(s->ns, reclaim_one, s);
	if (before != nn_ns_files(s->ns))
		log_info("reclaimed %llu files unlinked while open before the restart",
			 (unsigned long long)(before - nn_ns_files(s->ns)));
}

void nn_op_rename_at(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		     struct unpack *u)
{
	struct at from, to;
	unpack_at(u, &from);
	unpack_at(u, &to);
	uint32_t flags = unpack_u32(u);
	if (nn_malformed(s, c, h, u) || nn_denied(s, c, h, perm_remove_at(s, c, &from)) ||
	    nn_denied(s, c, h, perm_remove_at(s, c, &to)))
		return;
	int rc = nn_ns_check_name(from.name);
	if (rc || (rc = nn_ns_check_name(to.name)))
		return nn_reply_err(s, c, h, rc, NULL);
	struct nn_attr *old = malloc(sizeof *old);
	if (!old)
		return nn_reply_err(s, c, h, -ENOMEM, NULL);
	bool keep = (flags & PROTO_RENAME_KEEP) &&
		    !nn_ns_lookup(s->ns, to.dir, to.name, old) && old->type == PROTO_T_FILE;
	struct nn_blocks freed = {0};
	rc = nn_ns_rename_at(s->ns, from.dir, from.name, to.dir, to.name, flags, &freed);
	nn_release_blocks(s, &freed);
	uint64_t kept = 0;
	if (!rc && keep && !nn_ns_stat_ino(s->ns, old->ino, old) && !old->nlink)
		kept = keep_for(c, old->ino) ? old->ino : 0;
	free(old);
	if (rc)
		return nn_reply_err(s, c, h, rc,
				    rc == -EINVAL ? "cannot move a directory into itself" : NULL);
	struct buf p = BUF_INIT;
	pack_u64(&p, kept);
	nn_reply(s, c, h, &p);
	buf_free(&p);
}

void nn_op_readdir(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   struct unpack *u)
{
	char after[PROTO_NAME_MAX + 1];
	uint64_t dir = unpack_u64(u);
	unpack_str(u, after, sizeof after);
	uint32_t max = unpack_u32(u);
	if (nn_malformed(s, c, h, u) || nn_denied(s, c, h, nn_perm_ino(s, c, dir, NN_R)))
		return;
	nn_list_reply(s, c, h, NULL, dir, after, max);
}
