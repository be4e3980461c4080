/*
 * op_admin: the administrators' requests -- statfs and the cluster report, fsck, the
 * safe mode command (the states are in safemode.c), decommission, the trash and online
 * backups. Loop thread only; no locks.
 */
#include "server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "group.h"
#include "trash.h"

/* ---------- the cluster's numbers ---------- */

void nn_op_statfs(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		  struct unpack *u)
{
	(void)u;
	struct nn_totals t;
	nn_totals(s, &t, false);
	struct buf p = BUF_INIT;
	pack_u64(&p, t.capacity);
	pack_u64(&p, t.used);
	pack_u64(&p, t.remaining);
	pack_u64(&p, nn_ns_files(s->ns));
	pack_u64(&p, nn_blockmap_count(s->bm));
	nn_reply(s, c, h, &p);
	buf_free(&p);
}

void nn_op_report(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		  struct unpack *u)
{
	(void)u;
	struct nn_totals t;
	nn_totals(s, &t, true);
	struct buf p = BUF_INIT;
	double now = ev_now();
	pack_u8(&p, s->safe_mode);
	pack_u64(&p, t.capacity);
	pack_u64(&p, t.used);
	pack_u64(&p, t.remaining);
	pack_u64(&p, nn_ns_files(s->ns));
	pack_u64(&p, nn_blockmap_count(s->bm));
	pack_u64(&p, t.under);
	pack_u64(&p, t.corrupt);
	pack_u64(&p, t.missing);
	pack_u32(&p, s->dns.n);
	for (uint32_t i = 0; i < s->dns.n; i++) {
		const struct nn_dn *d = &s->dns.v[i];
		pack_str(&p, d->id);
		pack_str(&p, d->addr);
		pack_u8(&p, nn_dn_shown_state(d));
		pack_u64(&p, d->capacity);
		pack_u64(&p, d->used);
		pack_u64(&p, d->remaining);
		pack_u64(&p, nn_blockmap_node_blocks(s->bm, i));
		pack_i64(&p, (int64_t)((now - d->last_contact) * 1000));
		pack_u32(&p, d->xceivers);
	}
	pack_u32(&p, s->dns.n);
	for (uint32_t i = 0; i < s->dns.n; i++) {
		char fsids[PROTO_FS_MAX * (PROTO_FSID_MAX + 1)];
		nn_dn_fs_ids(&s->dns.v[i], fsids, sizeof fsids);
		pack_str(&p, fsids);
	}
	nn_reply(s, c, h, &p);
	buf_free(&p);
}

/* CN_LIVENESS: the settings clients' datanode deadlines follow, and the nodes not to
 * use now (stale, dead, retired), so a reader or a pipeline drops a hung node as soon
 * as the namenode knows, not after a deadline of its own. */
void nn_op_group_status(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			struct unpack *u)
{
	(void)u;
	struct raftnode_status st = {0};
	const char *state = "single";
	if (s->group)
		nn_group_status(s->group, &st, &state);
	struct buf p = BUF_INIT;
	pack_u8(&p, s->group != NULL);
	pack_u32(&p, s->cfg.raft_id);
	pack_str(&p, state);
	pack_str(&p, s->group ? raftnode_role_name(st.role) : "");
	pack_u64(&p, st.term);
	pack_u64(&p, st.commit_index);
	pack_u64(&p, st.applied_index);
	pack_str(&p, s->group ? nn_group_leader(s->group) : "");
	nn_reply(s, c, h, &p);
	buf_free(&p);
}

void nn_op_liveness(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	(void)u;
	struct buf p = BUF_INIT;
	pack_u32(&p, (uint32_t)(s->cfg.heartbeat_interval * 1000));
	pack_u32(&p, (uint32_t)(s->cfg.stale_node_timeout * 1000));
	pack_u32(&p, (uint32_t)(s->cfg.dead_node_timeout * 1000));
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->dns.n; i++)
		n += nn_dn_shown_state(&s->dns.v[i]) != PROTO_DN_LIVE;
	pack_u32(&p, n);
	for (uint32_t i = 0; i < s->dns.n; i++) {
		const struct nn_dn *d = &s->dns.v[i];
		uint8_t state = nn_dn_shown_state(d);
		if (state == PROTO_DN_LIVE)
			continue;
		pack_str(&p, d->id);
		pack_str(&p, d->addr);
		pack_u8(&p, state);
	}
	nn_reply(s, c, h, &p);
	buf_free(&p);
}

/* ---------- fsck ---------- */

struct fsck {
	struct nn_server *s;
	uint64_t files, blocks, under, over, corrupt, missing;
	uint32_t nproblems;
	struct buf problems;
	char path[PROTO_PATH_MAX + 1];
	int depth;
};

static void fsck_problem(struct fsck *f, const char *what)
{
	if (f->nproblems >= 1000)
		return;
	pack_str(&f->problems, f->path);
	pack_str(&f->problems, what);
	f->nproblems++;
}

static void fsck_file(struct fsck *f, const struct nn_attr *a)
{
	struct nn_blocks bl = {0};
	f->files++;
	if (nn_ns_blocks(f->s->ns, a->ino, 0, 0, &bl))
		return;
	double now = ev_now();
	for (size_t i = 0; i < bl.n; i++) {
		struct nn_block *b = nn_blockmap_get(f->s->bm, bl.v[i].id);
		char what[160];
		f->blocks++;
		if (!b)
			continue;
		uint32_t live, maint;
		nn_repl_count(b, &f->s->dns, now, &live, &maint);
		if (b->flags & NN_BLOCK_UC)
			continue;
		if (b->flags & NN_BLOCK_CORRUPT) {
			f->corrupt++;
			snprintf(what, sizeof what, "block %llu: every replica is corrupt",
				 (unsigned long long)b->id);
			fsck_problem(f, what);
		} else if (!live) {
			f->missing++;
			snprintf(what, sizeof what, "block %llu: missing (no live replica)",
				 (unsigned long long)b->id);
			fsck_problem(f, what);
		} else if (live < b->repl) {
			f->under++;
			snprintf(what, sizeof what, "block %llu: under-replicated, %u of %u",
				 (unsigned long long)b->id, live, b->repl);
			fsck_problem(f, what);
		} else if (live > b->repl) {
			f->over++;
		}
	}
	nn_blocks_free(&bl);
}

static int fsck_entry(void *arg, const char *name, const struct nn_attr *a)
{
	struct fsck *f = arg;
	size_t len = strlen(f->path);
	if (len + 1 + strlen(name) > PROTO_PATH_MAX || f->depth > 4096)
		return 0;
	snprintf(f->path + len, sizeof f->path - len, "%s%s", len > 1 ? "/" : "", name);
	if (a->type == PROTO_T_DIR) {
		bool more;
		f->depth++;
		nn_ns_list(f->s->ns, f->path, NULL, UINT32_MAX, fsck_entry, f, &more);
		f->depth--;
	} else if (a->type == PROTO_T_FILE) {
		fsck_file(f, a);
	}
	f->path[len] = 0;
	return 0;
}

void nn_op_fsck(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		struct unpack *u)
{
	struct fsck *f = calloc(1, sizeof *f);
	if (!f)
		return nn_reply_err(s, c, h, -ENOMEM, NULL);
	f->s = s;
	buf_init(&f->problems);
	unpack_str(u, f->path, sizeof f->path);
	struct nn_attr a;
	int rc = unpack_ok(u) ? nn_ns_stat(s->ns, f->path, &a) : -EPROTO;
	if (!rc) {
		if (a.type == PROTO_T_DIR) {
			bool more;
			while (strlen(f->path) > 1 && f->path[strlen(f->path) - 1] == '/')
				f->path[strlen(f->path) - 1] = 0;
			rc = nn_ns_list(s->ns, f->path, NULL, UINT32_MAX, fsck_entry, f, &more);
		} else if (a.type == PROTO_T_FILE) {
			fsck_file(f, &a);
		}
	}
	if (rc) {
		nn_reply_err(s, c, h, rc, NULL);
	} else {
		struct buf p = BUF_INIT;
		pack_u64(&p, f->files);
		pack_u64(&p, f->blocks);
		pack_u64(&p, f->under);
		pack_u64(&p, f->over);
		pack_u64(&p, f->corrupt);
		pack_u64(&p, f->missing);
		pack_u32(&p, f->nproblems);
		pack_raw(&p, f->problems.data, f->problems.len);
		nn_reply(s, c, h, &p);
		buf_free(&p);
	}
	buf_free(&f->problems);
	free(f);
}

/* ---------- decommission and safe mode ---------- */

void nn_op_decommission(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			struct unpack *u)
{
	char id[PROTO_ID_MAX + 1];
	unpack_str(u, id, sizeof id);
	uint8_t on = unpack_u8(u);
	if (nn_malformed(s, c, h, u))
		return;
	int i = nn_dns_find(&s->dns, id);
	if (i < 0)
		return nn_reply_err(s, c, h, -ENOENT, "no datanode '%s'", id);
	struct nn_dn *d = &s->dns.v[i];
	d->decommission = on;
	d->decommissioned = false;
	s->repl_dirty = true;
	log_info("datanode '%s' %s by an administrator", id,
		 on ? "is being decommissioned" : "is back in service");
	nn_reply_ok(s, c, h);
}

void nn_check_decommission(struct nn_server *s)
{
	for (uint32_t i = 0; i < s->dns.n; i++) {
		struct nn_dn *d = &s->dns.v[i];
		if (!d->decommission || d->decommissioned || !d->connected)
			continue;
		if (nn_repl_decommission_done(s->bm, &s->dns, i)) {
			d->decommissioned = true;
			log_info("datanode '%s' is decommissioned: it can be taken away", d->id);
		}
	}
}

void nn_op_safemode(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		    struct unpack *u)
{
	uint8_t action = unpack_u8(u);
	if (!unpack_ok(u) || action > PROTO_SAFEMODE_LEAVE)
		return nn_reply_err(s, c, h, -EPROTO, "malformed request");
	if (action == PROTO_SAFEMODE_ENTER)
		nn_safemode_enter(s);
	else if (action == PROTO_SAFEMODE_LEAVE)
		nn_safemode_leave(s);
	uint64_t reported, total;
	nn_safemode_count(s, &reported, &total);
	struct buf p = BUF_INIT;
	pack_u8(&p, s->safe_mode);
	pack_u64(&p, reported);
	pack_u64(&p, total);
	nn_reply(s, c, h, &p);
	buf_free(&p);
}

/* ---------- trash ---------- */

void nn_op_trash(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		 struct unpack *u)
{
	char path[PROTO_PATH_MAX + 1], user[PROTO_NAME_MAX + 1];
	unpack_str(u, path, sizeof path);
	unpack_str(u, user, sizeof user);
	if (nn_malformed(s, c, h, u))
		return;
	if (s->cfg.trash_interval <= 0)
		return nn_reply_err(s, c, h, -EOPNOTSUPP, "the trash is off (trash_interval 0)");
	if (nn_denied(s, c, h, nn_perm_remove(s->ns, path, &c->cred, true)))
		return;
	char where[PROTO_PATH_MAX + 1];
	int rc = nn_trash_move(s->ns, path, user, c->peer.uid, c->peer.gid, (int64_t)time(NULL),
			       where, sizeof where);
	if (rc == -EINVAL)
		return nn_reply_err(s, c, h, rc, "already in the trash, or a bad user name");
	if (rc == -EBUSY)
		return nn_reply_err(s, c, h, rc, "cannot move %s to the trash", path);
	if (rc)
		return nn_reply_err(s, c, h, rc, NULL);
	struct buf p = BUF_INIT;
	pack_str(&p, where);
	nn_reply(s, c, h, &p);
	buf_free(&p);
}

/* ---------- backup ---------- */

void nn_op_backup(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		  struct unpack *u)
{
	uint8_t start = unpack_u8(u);
	if (nn_malformed(s, c, h, u))
		return;
	if (start) {
		nn_ns_dump_end(c->dump);
		c->dump = NULL;
		int rc = nn_ns_dump_start(s->ns, &c->dump);
		if (rc)
			return nn_reply_err(s, c, h, rc, NULL);
		log_info("backup of the namespace started by %s", c->peer_addr);
	} else if (!c->dump) {
		return nn_reply_err(s, c, h, -EINVAL, "no backup in progress on this connection");
	}
	struct buf p = BUF_INIT, recs = BUF_INIT;
	uint32_t n = nn_ns_dump_next(c->dump, &recs, 4u << 20);
	pack_u32(&p, n);
	pack_raw(&p, recs.data, recs.len);
	pack_u8(&p, n != 0);
	if (!n) {
		nn_ns_dump_end(c->dump);
		c->dump = NULL;
	}
	nn_reply(s, c, h, &p);
	buf_free(&p);
	buf_free(&recs);
}
