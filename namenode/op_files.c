/*
 * op_files: the requests on files and directories -- mkdir, create and the streaming
 * write (add_block, complete, abandon), reads (get_blocks, file_blocks, block_token),
 * stat, list, rename, delete, setrep -- and copy-on-write block rewrites (alloc_block,
 * update). Loop thread only; no locks.
 */
#include "server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

static bool pending_take(struct nn_conn *c, uint64_t id);

int nn_perm_ino(struct nn_server *s, struct nn_conn *c, uint64_t ino, int want)
{
	struct nn_attr a;
	if (c->cred.super || nn_ns_stat_ino(s->ns, ino, &a))
		return 0;
	return nn_perm_ok(&a, &c->cred, want) ? 0 : -EACCES;
}

void nn_op_mkdir(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		 struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	uint32_t mode = unpack_u32(u);
	uint8_t flags = unpack_u8(u);
	uint32_t uid, gid;
	nn_new_owner(c, u, &uid, &gid);
	if (nn_malformed(s, c, h, u))
		return;
	int perm = (flags & PROTO_MKDIR_PARENTS)
			   ? nn_perm_mkdirs(s->ns, path, &c->cred)
			   : nn_perm_path(s->ns, path, &c->cred, NN_W | NN_X, 0);
	if (nn_denied(s, c, h, perm))
		return;
	struct nn_attr a;
	int rc = nn_ns_mkdir(s->ns, path, mode, flags & PROTO_MKDIR_PARENTS, uid, gid, &a);
	nn_reply_attr_or_err(s, c, h, rc, &a);
}

static bool block_size_ok(uint64_t bs)
{
	return bs == 0 || (bs % PROTO_CHUNK_SIZE == 0 && bs <= (1ULL << 40));
}

void nn_op_create(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		  struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	struct nn_create_req r;
	nn_unpack_create(c, u, &r);
	if (nn_malformed(s, c, h, u) ||
	    nn_denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, NN_W | NN_X,
					    (r.flags & PROTO_CREATE_OVERWRITE) ? NN_W : 0)))
		return;
	nn_create_reply(s, c, h, path, 0, NULL, &r);
}

void nn_unpack_create(const struct nn_conn *c, struct unpack *u, struct nn_create_req *r)
{
	r->mode = unpack_u32(u);
	r->flags = unpack_u8(u);
	r->repl = unpack_u16(u);
	r->bs = unpack_u64(u);
	unpack_str(u, r->client, sizeof r->client);
	nn_new_owner(c, u, &r->uid, &r->gid);
}

/* The CN_CREATE_AT reply of a deferred create: the file, then its directory as the
 * file's writing will leave it (its times moved to the create's: ns_defer.c), since the
 * caller caches that reply as the directory's state. */
static void reply_deferred(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			   int rc, const struct nn_attr *a, uint64_t dir)
{
	struct nn_attr *d = rc ? NULL : malloc(sizeof *d);
	if (!d || nn_ns_stat_ino(s->ns, dir, d)) {
		free(d);
		return nn_reply_attr_dir(s, c, h, rc, a, dir);
	}
	nn_ns_defer_touch_dir(d, a);
	struct buf p = BUF_INIT;
	nn_pack_attr(&p, a);
	nn_pack_attr(&p, d);
	nn_reply(s, c, h, &p);
	buf_free(&p);
	free(d);
	nn_cb_seen(s, c, a->ino);
	nn_cb_seen(s, c, dir);
}

void nn_create_reply(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		     const char *path, uint64_t dir, const char *name,
		     const struct nn_create_req *r)
{
	if (r->repl > PROTO_REPL_MAX)
		return nn_reply_err(s, c, h, -EINVAL, "replication %u is out of range 1..%d",
				    r->repl, PROTO_REPL_MAX);
	if (!block_size_ok(r->bs))
		return nn_reply_err(s, c, h, -EINVAL,
				    "block size %llu is not a multiple of %u (64K)",
				    (unsigned long long)r->bs, PROTO_CHUNK_SIZE);
	struct nn_attr a;
	struct nn_blocks freed = {0};
	bool over = r->flags & PROTO_CREATE_OVERWRITE;
	if (!path && !over && (r->flags & PROTO_CREATE_CLOSED) && (r->flags & PROTO_CREATE_DEFER)) {
		int rc = nn_ns_create_deferred(s->ns, dir, name, r->mode, r->repl, r->bs, r->uid,
					       r->gid, c->id, &a);
		if (rc != -EAGAIN) {
			s->rc_skip = true; /* dropped with c: a retry creates it anew */
			return reply_deferred(s, c, h, rc, &a, dir);
		}
	}
	int rc = path ? nn_ns_create(s->ns, path, r->mode, over, r->repl, r->bs, r->uid, r->gid,
				     &a, &freed)
		      : nn_ns_create_at(s->ns, dir, name, r->mode, over, r->repl, r->bs, r->uid,
					r->gid, &a, &freed);
	nn_release_blocks(s, &freed);
	if (!rc && (r->flags & PROTO_CREATE_CLOSED))
		rc = nn_ns_complete(s->ns, a.ino, 0, 0, &a); /* same group commit */
	else if (!rc)
		nn_lease_add(c, a.ino);
	if (path)
		nn_reply_attr_or_err(s, c, h, rc, &a);
	else
		nn_reply_attr_dir(s, c, h, rc, &a, dir); /* CN_CREATE_AT */
}

/* The room a new block needs: what the writer says it will hold (`hint`, the
 * optional trailing u64 of CN_ADD_BLOCK / CN_ALLOC_BLOCK) when fewer than the block
 * size, else a whole block. */
static uint64_t block_need(uint64_t hint, const struct nn_attr *a)
{
	return hint && hint < a->block_size ? hint : a->block_size;
}

/* The ENOSPC reply when no datanode has room for `need` bytes, naming the block size
 * and the most any usable node has free. */
static void reply_no_room(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			  const struct nn_attr *a, uint64_t need)
{
	uint64_t most = 0;
	for (uint32_t i = 0; i < s->dns.n; i++)
		if (nn_dn_is_usable(&s->dns.v[i]) && s->dns.v[i].remaining > most)
			most = s->dns.v[i].remaining;
	char why[96];
	if (need < a->block_size)
		snprintf(why, sizeof why, "%llu bytes", (unsigned long long)need);
	else
		snprintf(why, sizeof why, "a whole block (the file's block size, %llu MiB)",
			 (unsigned long long)(a->block_size >> 20));
	nn_reply_err(s, c, h, -ENOSPC, "no datanode has room for a block: it needs %s and "
		     "the most free on a datanode is %llu MiB", why,
		     (unsigned long long)(most >> 20));
}

/* Puts new block nb of file a in the block map (under construction), chooses its
 * pipeline (nodes with `need` bytes free) and replies with it; false (nothing sent)
 * when no datanode has room. */
static bool reply_pipeline(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			   const struct nn_attr *a, const struct nn_blockrec *nb,
			   const char *favored, const uint32_t *exclude, uint32_t nexclude,
			   uint64_t need)
{
	uint32_t want = a->replication, targets[PROTO_REPL_MAX];
	int fav = favored[0] ? nn_dns_find(&s->dns, favored)
			     : nn_dns_on_host(&s->dns, c->peer_host);
	uint32_t got = nn_dns_choose(&s->dns, want, fav, exclude, nexclude, need, targets);
	if (!got)
		return false;
	struct nn_block *b = nn_blockmap_put(s->bm, nb->id, nb->gs, 0, a->ino, a->replication);
	b->flags |= NN_BLOCK_UC;
	struct buf p = BUF_INIT;
	pack_u64(&p, nb->id);
	pack_u64(&p, nb->gs);
	pack_u64(&p, nb->offset);
	pack_u64(&p, 0);
	pack_u32(&p, got);
	for (uint32_t i = 0; i < got; i++)
		nn_pack_loc(&p, &s->dns.v[targets[i]]);
	nn_pack_token(s, &p, c, nb->id, nb->gs, TOKEN_WRITE | TOKEN_READ);
	nn_reply(s, c, h, &p);
	buf_free(&p);
	return true;
}

/* Reads "u32 n, n x str datanode id" into exclude (unknown ids skipped). */
static uint32_t unpack_excluded(struct nn_server *s, struct unpack *u,
				uint32_t exclude[PROTO_REPL_MAX])
{
	uint32_t nex = unpack_count(u, 4), n = 0;
	for (uint32_t i = 0; i < nex && unpack_ok(u); i++) {
		char id[PROTO_ID_MAX + 1];
		unpack_str(u, id, sizeof id);
		int idx = nn_dns_find(&s->dns, id);
		if (idx >= 0 && n < PROTO_REPL_MAX)
			exclude[n++] = (uint32_t)idx;
	}
	return n;
}

/* Skips the "u32 n, n x str node ids" at u (the nodes that stored a block) and returns a
 * cursor at them, for nn_note_stored once the whole request has been checked. */
static struct unpack skip_stored_by(struct unpack *u)
{
	struct unpack at = *u;
	uint32_t n = unpack_count(u, 4);
	for (uint32_t i = 0; i < n; i++)
		(void)unpack_raw(u, unpack_u32(u));
	return at;
}

void nn_op_add_block(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		     struct unpack *u)
{
	uint64_t ino = unpack_u64(u), prev = unpack_u64(u), prev_len = unpack_u64(u);
	struct unpack acked = skip_stored_by(u);
	char favored[PROTO_ID_MAX + 1];
	unpack_str(u, favored, sizeof favored);
	uint32_t exclude[PROTO_REPL_MAX], nexclude = unpack_excluded(s, u, exclude);
	uint64_t hint = u->left ? unpack_u64(u) : 0;
	if (nn_malformed(s, c, h, u))
		return;
	if (!nn_dns_live(&s->dns))
		return nn_reply_err(s, c, h, -ENOSPC, "no live datanodes to write to");
	struct nn_attr a;
	struct nn_blockrec nb;
	int rc = nn_ns_add_block(s->ns, ino, prev, prev_len, &nb, &a);
	if (rc)
		return nn_reply_err(s, c, h, rc, rc == -EINVAL ? "file is not open for writing"
							       : NULL);
	nn_note_stored(s, &acked, prev, prev_len, true);
	uint64_t need = block_need(hint, &a);
	if (reply_pipeline(s, c, h, &a, &nb, favored, exclude, nexclude, need))
		return;
	struct nn_blocks freed = {0};
	nn_ns_abandon_block(s->ns, ino, nb.id, &freed);
	nn_release_blocks(s, &freed);
	reply_no_room(s, c, h, &a, need);
}

void nn_op_complete(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	uint64_t ino = unpack_u64(u), last = unpack_u64(u), len = unpack_u64(u);
	struct unpack acked = skip_stored_by(u);
	if (nn_malformed(s, c, h, u))
		return;
	struct nn_attr a;
	int rc = nn_ns_complete(s->ns, ino, last, len, &a);
	if (rc)
		return nn_reply_err(s, c, h, rc, rc == -EINVAL ? "block list mismatch" : NULL);
	nn_note_stored(s, &acked, last, len, true);
	nn_lease_drop(c, ino);
	nn_reply_attr(s, c, h, &a);
}

void nn_op_abandon(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   struct unpack *u)
{
	uint64_t ino = unpack_u64(u), id = unpack_u64(u);
	if (nn_malformed(s, c, h, u))
		return;
	struct nn_blocks freed = {0};
	if (pending_take(c, id)) { /* a free-standing block given up (CN_ALLOC_BLOCK) */
		struct nn_blockrec r = {.id = id};
		nn_blocks_push(&freed, &r);
		nn_release_blocks(s, &freed);
		return nn_reply_ok(s, c, h);
	}
	int rc = nn_ns_abandon_block(s->ns, ino, id, &freed);
	nn_release_blocks(s, &freed);
	nn_reply_ok_or_err(s, c, h, rc);
}

static void reply_blocks(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			 const struct nn_attr *ap, uint64_t off, uint64_t len);

void nn_op_get_blocks(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		      struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	uint64_t off = unpack_u64(u), len = unpack_u64(u);
	if (nn_malformed(s, c, h, u) ||
	    nn_denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, 0, NN_R)))
		return;
	struct nn_attr a;
	int rc = nn_ns_stat(s->ns, path, &a);
	if (!rc && a.type == PROTO_T_DIR)
		rc = -EISDIR;
	else if (!rc && a.type != PROTO_T_FILE)
		rc = -EINVAL;
	if (rc)
		return nn_reply_err(s, c, h, rc, NULL);
	reply_blocks(s, c, h, &a, off, len);
}

/* Replies with a's attributes and its blocks overlapping [off, off+len). */
static void reply_blocks(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			 const struct nn_attr *ap, uint64_t off, uint64_t len)
{
	struct nn_attr a = *ap;
	struct nn_blocks bl = {0};
	int rc = nn_ns_blocks(s->ns, a.ino, off, len, &bl);
	if (rc) {
		nn_blocks_free(&bl);
		return nn_reply_err(s, c, h, rc, NULL);
	}
	struct buf p = BUF_INIT;
	nn_pack_attr(&p, &a);
	nn_cb_seen(s, c, a.ino);
	pack_u32(&p, (uint32_t)bl.n);
	for (size_t i = 0; i < bl.n; i++) {
		pack_u64(&p, bl.v[i].id);
		pack_u64(&p, bl.v[i].gs);
		pack_u64(&p, bl.v[i].offset);
		pack_u64(&p, bl.v[i].len);
		struct nn_block *b = nn_blockmap_get(s->bm, bl.v[i].id);
		uint32_t reps[PROTO_REPL_MAX], n = 0;
		if (b && b->nrep) { /* a block whose replicas all went has no array */
			n = b->nrep > PROTO_REPL_MAX ? PROTO_REPL_MAX : b->nrep;
			memcpy(reps, b->reps, n * sizeof *reps);
			n = nn_dns_sort_for_reader(&s->dns, c->peer_host, reps, n);
		}
		if (!n && s->safe_mode && !s->safe_manual && !(b && (b->flags & NN_BLOCK_UC))) {
			/* just started (or a group's new leader): the datanodes have not all
			 * reported yet; the reader asks again shortly */
			unsigned long long id = (unsigned long long)bl.v[i].id;
			nn_blocks_free(&bl);
			buf_free(&p);
			return nn_reply_err_flags(s, c, h, PROTO_F_RETRY_LATER, -EAGAIN,
						  "the namenode is in safe mode and has not heard "
						  "of a replica of block %llu yet", id);
		}
		pack_u32(&p, n);
		for (uint32_t r = 0; r < n; r++)
			nn_pack_loc(&p, &s->dns.v[reps[r]]);
		nn_pack_token(s, &p, c, bl.v[i].id, bl.v[i].gs, TOKEN_READ);
	}
	nn_blocks_free(&bl);
	nn_reply(s, c, h, &p);
	buf_free(&p);
}

void nn_stat_reply(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   const char *path, uint64_t ino, nn_attr_reply_fn reply)
{
	struct nn_attr *a = malloc(sizeof *a);
	if (!a)
		return nn_reply_err(s, c, h, -ENOMEM, NULL);
	int rc = path ? nn_ns_stat(s->ns, path, a) : nn_ns_stat_ino(s->ns, ino, a);
	if (rc)
		nn_reply_err(s, c, h, rc, NULL);
	else
		reply(s, c, h, a);
	free(a);
}

void nn_stat_path_reply(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			struct unpack *u, nn_attr_reply_fn reply)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	if (nn_malformed(s, c, h, u) ||
	    nn_denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, 0, 0)))
		return;
	nn_stat_reply(s, c, h, path, 0, reply);
}

void nn_op_stat(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		struct unpack *u)
{
	nn_stat_path_reply(s, c, h, u, nn_reply_attr);
}

struct list_ctx {
	struct buf *p;
	uint32_t n;
	struct nn_server *s;
	const struct nn_conn *c; /* its session caches what it lists (readdirplus) */
};

static int list_one(void *arg, const char *name, const struct nn_attr *a)
{
	struct list_ctx *l = arg;
	pack_str(l->p, name);
	nn_pack_attr(l->p, a);
	nn_cb_seen(l->s, l->c, a->ino);
	l->n++;
	return 0;
}

void nn_op_list(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1], after[PROTO_NAME_MAX + 1];
	unpack_str(u, path, sizeof path);
	unpack_str(u, after, sizeof after);
	uint32_t max = unpack_u32(u);
	if (nn_malformed(s, c, h, u) ||
	    nn_denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, 0, NN_R)))
		return;
	nn_list_reply(s, c, h, path, 0, after, max);
}

void nn_list_reply(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   const char *path, uint64_t dir, const char *after, uint32_t max)
{
	if (max == 0 || max > 4096)
		max = 4096;
	struct buf entries = BUF_INIT, p = BUF_INIT;
	struct list_ctx l = {&entries, 0, s, c};
	bool more = false;
	int rc = path ? nn_ns_list(s->ns, path, after, max, list_one, &l, &more)
		      : nn_ns_list_ino(s->ns, dir, after, max, list_one, &l, &more);
	if (rc) {
		buf_free(&entries);
		return nn_reply_err(s, c, h, rc, NULL);
	}
	pack_u32(&p, l.n);
	pack_raw(&p, entries.data, entries.len);
	pack_u8(&p, more);
	nn_reply(s, c, h, &p);
	buf_free(&entries);
	buf_free(&p);
}

void nn_op_rename(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		  struct unpack *u)
{
	char src[PROTO_PATH_MAX + 1], dst[PROTO_PATH_MAX + 1];
	unpack_str(u, src, sizeof src);
	unpack_str(u, dst, sizeof dst);
	uint32_t flags = unpack_u32(u) & ~(uint32_t)PROTO_RENAME_KEEP; /* CN_RENAME_AT's */
	if (nn_malformed(s, c, h, u) ||
	    nn_denied(s, c, h, nn_perm_remove(s->ns, src, &c->cred, false)) ||
	    nn_denied(s, c, h, nn_perm_remove(s->ns, dst, &c->cred, false)))
		return;
	struct nn_blocks freed = {0};
	int rc = nn_ns_rename(s->ns, src, dst, flags, &freed);
	nn_release_blocks(s, &freed);
	nn_rename_reply(s, c, h, rc);
}

void nn_rename_reply(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h, int rc)
{
	if (rc)
		return nn_reply_err(s, c, h, rc,
				    rc == -EINVAL ? "cannot move a directory into itself" : NULL);
	nn_reply_ok(s, c, h);
}

void nn_op_delete(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		  struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	uint8_t flags = unpack_u8(u);
	if (nn_malformed(s, c, h, u))
		return;
	bool recursive = flags & PROTO_DELETE_RECURSIVE;
	if (nn_denied(s, c, h, nn_perm_remove(s->ns, path, &c->cred, recursive)))
		return;
	struct nn_attr a;
	if ((flags & PROTO_DELETE_DIR) && !nn_ns_stat(s->ns, path, &a) && a.type != PROTO_T_DIR)
		return nn_reply_err(s, c, h, -ENOTDIR, NULL);
	struct nn_blocks freed = {0};
	int rc = nn_ns_delete(s->ns, path, recursive, &freed);
	nn_release_blocks(s, &freed);
	if (rc)
		return nn_reply_err(s, c, h, rc, rc == -EBUSY ? "cannot remove the root" : NULL);
	nn_reply_ok(s, c, h);
}

/* Changes a file's replication (its blocks follow) or a directory's default. */
int nn_set_replication(struct nn_server *s, uint64_t ino, uint16_t repl, struct nn_attr *a)
{
	int rc = nn_ns_setrep(s->ns, ino, repl, a);
	if (rc || a->type != PROTO_T_FILE)
		return rc;
	struct nn_blocks bl = {0};
	nn_ns_blocks(s->ns, a->ino, 0, 0, &bl);
	for (size_t i = 0; i < bl.n; i++) {
		struct nn_block *b = nn_blockmap_get(s->bm, bl.v[i].id);
		if (b)
			b->repl = repl;
	}
	nn_blocks_free(&bl);
	s->repl_dirty = true;
	return 0;
}

void nn_op_setrep(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		  struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1];
	unpack_str(u, path, sizeof path);
	uint16_t repl = unpack_u16(u);
	if (nn_malformed(s, c, h, u) ||
	    nn_denied(s, c, h, nn_perm_path(s->ns, path, &c->cred, 0, NN_W)))
		return;
	if (repl < 1 || repl > PROTO_REPL_MAX)
		return nn_reply_err(s, c, h, -EINVAL, "replication %u is out of range 1..%d", repl,
				    PROTO_REPL_MAX);
	struct nn_attr a;
	int rc = nn_ns_stat(s->ns, path, &a);
	if (!rc)
		rc = nn_set_replication(s, a.ino, repl, &a);
	nn_reply_attr_or_err(s, c, h, rc, &a);
}



/* ---------- block rewrites ----------
 * A closed file changes by copy-on-write of whole blocks: the client asks for a fresh
 * block (op_alloc_block: it is this connection's until used), writes the slot's new
 * contents through its pipeline, then switches the file to the new blocks in one
 * namespace update (op_update), after which the old blocks are deleted. A writer dying
 * before the update leaves the old version whole; its fresh blocks are released with
 * its connection (pending_release). */

#define NN_MAX_PENDING 4096

static bool pending_take(struct nn_conn *c, uint64_t id)
{
	for (uint32_t i = 0; i < c->npending; i++)
		if (c->pending[i] == id) {
			c->pending[i] = c->pending[--c->npending];
			return true;
		}
	return false;
}

void nn_pending_release(struct nn_server *s, struct nn_conn *c)
{
	struct nn_blocks freed = {0};
	for (uint32_t i = 0; i < c->npending; i++) {
		struct nn_blockrec r = {.id = c->pending[i]};
		nn_blocks_push(&freed, &r);
	}
	nn_release_blocks(s, &freed);
	free(c->pending);
	c->pending = NULL;
	c->npending = c->cappending = 0;
}

void nn_op_alloc_block(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		       struct unpack *u)
{
	uint64_t ino = unpack_u64(u);
	char favored[PROTO_ID_MAX + 1];
	unpack_str(u, favored, sizeof favored);
	uint32_t exclude[PROTO_REPL_MAX], nexclude = unpack_excluded(s, u, exclude);
	uint64_t hint = u->left ? unpack_u64(u) : 0;
	if (nn_malformed(s, c, h, u))
		return;
	struct nn_attr a;
	int rc = nn_ns_peek_ino(s->ns, ino, &a); /* a deferred file stays so: see op_update */
	if (!rc && a.type != PROTO_T_FILE)
		rc = -EISDIR;
	if (rc)
		return nn_reply_err(s, c, h, rc, NULL);
	if (c->npending >= NN_MAX_PENDING)
		return nn_reply_err(s, c, h, -EBUSY, "too many blocks in flight on one connection");
	if (!nn_dns_live(&s->dns))
		return nn_reply_err(s, c, h, -ENOSPC, "no live datanodes to write to");
	struct nn_blockrec nb = {.ino = ino};
	if ((rc = nn_ns_alloc_block(s->ns, &nb.id, &nb.gs)))
		return nn_reply_err(s, c, h, rc, NULL);
	uint64_t need = block_need(hint, &a);
	if (!reply_pipeline(s, c, h, &a, &nb, favored, exclude, nexclude, need))
		return reply_no_room(s, c, h, &a, need);
	if (ALLOC_GROW(c->pending, c->npending + 1, c->cappending))
		abort();
	c->pending[c->npending++] = nb.id;
	s->rc_skip = true; /* c's until used: a retry elsewhere gets a block of its own */
}

void nn_op_update(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		  struct unpack *u)
{
	uint64_t ino = unpack_u64(u), size = unpack_u64(u);
	uint32_t nblocks = unpack_u32(u);
	uint32_t n = unpack_count(u, 32);
	if (nn_malformed(s, c, h, u))
		return;
	struct nn_ns_change *ch = calloc(n ? n : 1, sizeof *ch);
	struct unpack *acked = calloc(n ? n : 1, sizeof *acked);
	if (!ch || !acked) {
		free(ch);
		free(acked);
		return nn_reply_err(s, c, h, -ENOMEM, NULL);
	}
	int rc = 0;
	for (uint32_t i = 0; i < n && unpack_ok(u); i++) {
		ch[i].index = unpack_u32(u);
		ch[i].old_id = unpack_u64(u);
		ch[i].new_id = unpack_u64(u);
		ch[i].len = unpack_u64(u);
		acked[i] = skip_stored_by(u);
		if (!ch[i].new_id)
			continue;
		struct nn_block *b = nn_blockmap_get(s->bm, ch[i].new_id);
		bool mine = false;
		for (uint32_t j = 0; j < c->npending && !mine; j++)
			mine = c->pending[j] == ch[i].new_id;
		if (!b || !mine || b->ino != ino) {
			rc = -EINVAL;
			break;
		}
		ch[i].gs = b->gs;
	}
	if (!unpack_ok(u))
		rc = -EPROTO;
	struct nn_attr a;
	struct nn_blocks freed = {0};
	if (!rc)
		rc = nn_ns_update(s->ns, ino, size, nblocks, ch, n, &freed, &a);
	if (!rc) {
		for (uint32_t i = 0; i < n; i++) {
			if (!ch[i].new_id)
				continue;
			pending_take(c, ch[i].new_id);
			nn_note_stored(s, &acked[i], ch[i].new_id, ch[i].len, true);
			struct nn_block *b = nn_blockmap_get(s->bm, ch[i].new_id);
			if (b)
				b->repl = a.replication;
		}
		s->repl_dirty = true;
	}
	nn_release_blocks(s, &freed);
	free(ch);
	free(acked);
	if (rc)
		return nn_reply_err(s, c, h, rc,
				    rc == -ESTALE  ? "the file was changed by another writer meanwhile"
				    : rc == -EBUSY ? "the file is being written by a streaming writer"
				    : rc == -EINVAL ? "inconsistent block update"
						    : NULL);
	nn_reply_attr(s, c, h, &a);
}

void nn_op_file_blocks(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		       struct unpack *u)
{
	uint64_t ino = unpack_u64(u), off = unpack_u64(u), len = unpack_u64(u);
	if (nn_malformed(s, c, h, u) || nn_denied(s, c, h, nn_perm_ino(s, c, ino, NN_R)))
		return;
	struct nn_attr a;
	int rc = nn_ns_stat_ino(s->ns, ino, &a);
	if (!rc && a.type != PROTO_T_FILE)
		rc = a.type == PROTO_T_DIR ? -EISDIR : -EINVAL;
	if (rc)
		return nn_reply_err(s, c, h, rc, NULL);
	reply_blocks(s, c, h, &a, off, len);
}

/* A fresh token for a block the caller may read (or write): clients whose token
 * expired, or was signed by a key a restarted namenode no longer has, ask again. */
void nn_op_block_token(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		       struct unpack *u)
{
	uint64_t id = unpack_u64(u), gs = unpack_u64(u);
	uint8_t modes = unpack_u8(u);
	if (!unpack_ok(u) || !modes || (modes & ~(TOKEN_READ | TOKEN_WRITE)))
		return nn_reply_err(s, c, h, -EPROTO, "malformed request");
	struct nn_block *b = nn_blockmap_get(s->bm, id);
	if (!b || b->gs != gs)
		return nn_reply_err(s, c, h, -ENOENT, "no block %llu with genstamp %llu",
				    (unsigned long long)id, (unsigned long long)gs);
	int want = ((modes & TOKEN_READ) ? NN_R : 0) | ((modes & TOKEN_WRITE) ? NN_W : 0);
	if (nn_denied(s, c, h, nn_perm_ino(s, c, b->ino, want)))
		return;
	struct buf p = BUF_INIT;
	nn_pack_token(s, &p, c, id, gs, modes);
	nn_reply(s, c, h, &p);
	buf_free(&p);
}
