/*
 * optable: the namenode's requests, one table entry each (Redis's redisCommandTable),
 * and the dispatcher that enforces the table's policy. Loop thread only; no locks.
 *
 * Every client->namenode (CN_*) and datanode->namenode (DN_*) id of proto.h has exactly
 * one entry (tests/unit/test_optable.c checks it against proto.h's text). An entry says
 * what the request does to the namenode's state -- exactly one of NN_OP_READS,
 * NN_OP_MUTATES, NN_OP_SAFE_OK -- and who may send it. nn_dispatch is the one place
 * that refuses, in this order:
 *   1. an unknown type, or a datanode request (NN_OP_DATANODE) from anyone else:
 *      ENOSYS "unknown request type"
 *   2. NN_OP_MUTATES in safe mode: EROFS
 *   3. NN_OP_SUPER from a caller that is not the superuser (nn_cred_of: uid 0, the
 *      `superuser` setting, or permissions off), for every request or only for those
 *      `needs_super` picks; NN_OP_CLIENT from a datanode: EPERM with the entry's message
 *   4. NN_OP_REGISTERED on a datanode connection that has not registered: EPERM
 * Handlers then only decode, check permissions on paths (perm.h) and act.
 */
#include "server_int.h"

#include <errno.h>
#include <time.h>

#include "group.h"
#include "retrycache.h"

/* CN_SAFEMODE: reading the state is for everyone, changing it for the superuser. */
static bool safemode_changes(const struct unpack *u)
{
	struct unpack v = *u;
	uint8_t action = unpack_u8(&v);
	/* a malformed request goes on to the handler, which says so */
	return unpack_ok(&v) && (action == PROTO_SAFEMODE_ENTER || action == PROTO_SAFEMODE_LEAVE);
}

#define OP(type, fn, flags) {type, #type, fn, flags, NULL, NULL}
#define OP_SUPER(type, fn, flags, needs, denied) \
	{type, #type, fn, (flags) | NN_OP_SUPER, needs, denied}

/*
 * NN_OP_SAFE_OK entries change state but run in safe mode too: datanode requests are
 * how safe mode ends (and replica locations are soft state); CN_COMPLETE lets a writer
 * close what it wrote; CN_BAD_BLOCK, CN_LOCK, CN_DECOMMISSION, the cache callbacks'
 * calls (CN_SESSION, CN_WATCH, CN_FORGET) and the job control calls change memory
 * only, or (a job's end and commit) what jobs own.
 */
static const struct nn_op ops[] = {
	/* files and directories (op_files.c) */
	OP(PROTO_CN_MKDIR, nn_op_mkdir, NN_OP_MUTATES),
	OP(PROTO_CN_CREATE, nn_op_create, NN_OP_MUTATES),
	OP(PROTO_CN_ADD_BLOCK, nn_op_add_block, NN_OP_MUTATES),
	OP(PROTO_CN_COMPLETE, nn_op_complete, NN_OP_SAFE_OK),
	OP(PROTO_CN_ABANDON, nn_op_abandon, NN_OP_MUTATES),
	OP(PROTO_CN_GET_BLOCKS, nn_op_get_blocks, NN_OP_READS),
	OP(PROTO_CN_STAT, nn_op_stat, NN_OP_READS),
	OP(PROTO_CN_LIST, nn_op_list, NN_OP_READS),
	OP(PROTO_CN_RENAME, nn_op_rename, NN_OP_MUTATES),
	OP(PROTO_CN_DELETE, nn_op_delete, NN_OP_MUTATES),
	OP(PROTO_CN_SETREP, nn_op_setrep, NN_OP_MUTATES),
	OP(PROTO_CN_ALLOC_BLOCK, nn_op_alloc_block, NN_OP_MUTATES),
	OP(PROTO_CN_UPDATE, nn_op_update, NN_OP_MUTATES),
	OP(PROTO_CN_FILE_BLOCKS, nn_op_file_blocks, NN_OP_READS),
	OP(PROTO_CN_BLOCK_TOKEN, nn_op_block_token, NN_OP_READS),
	/* POSIX calls (op_posix.c) */
	OP(PROTO_CN_SETATTR, nn_op_setattr, NN_OP_MUTATES),
	OP(PROTO_CN_SYMLINK, nn_op_symlink, NN_OP_MUTATES),
	OP(PROTO_CN_READLINK, nn_op_readlink, NN_OP_READS),
	OP(PROTO_CN_LINK, nn_op_link, NN_OP_MUTATES),
	OP(PROTO_CN_MKNOD, nn_op_mknod, NN_OP_MUTATES),
	/* extended attributes and locks (op_xattr.c) */
	OP(PROTO_CN_SETXATTR, nn_op_setxattr, NN_OP_MUTATES),
	OP(PROTO_CN_GETXATTR, nn_op_getxattr, NN_OP_READS),
	OP(PROTO_CN_LISTXATTR, nn_op_listxattr, NN_OP_READS),
	OP(PROTO_CN_REMOVEXATTR, nn_op_removexattr, NN_OP_MUTATES),
	OP(PROTO_CN_LOCK, nn_op_lock, NN_OP_SAFE_OK),
	/* the same by inode, for the mount (op_inode.c; xattrs in op_xattr.c) */
	OP(PROTO_CN_LOOKUP, nn_op_lookup, NN_OP_READS),
	OP(PROTO_CN_GETATTR, nn_op_getattr, NN_OP_READS),
	OP(PROTO_CN_READLINK_INO, nn_op_readlink_ino, NN_OP_READS),
	OP(PROTO_CN_SETATTR_INO, nn_op_setattr_ino, NN_OP_MUTATES),
	OP(PROTO_CN_MKDIR_AT, nn_op_mkdir_at, NN_OP_MUTATES),
	OP(PROTO_CN_CREATE_AT, nn_op_create_at, NN_OP_MUTATES),
	OP(PROTO_CN_MKNOD_AT, nn_op_mknod_at, NN_OP_MUTATES),
	OP(PROTO_CN_SYMLINK_AT, nn_op_symlink_at, NN_OP_MUTATES),
	OP(PROTO_CN_LINK_AT, nn_op_link_at, NN_OP_MUTATES),
	OP(PROTO_CN_UNLINK_AT, nn_op_unlink_at, NN_OP_MUTATES),
	OP(PROTO_CN_RENAME_AT, nn_op_rename_at, NN_OP_MUTATES),
	OP(PROTO_CN_READDIR, nn_op_readdir, NN_OP_READS),
	OP(PROTO_CN_SETXATTR_INO, nn_op_setxattr, NN_OP_MUTATES),
	OP(PROTO_CN_GETXATTR_INO, nn_op_getxattr, NN_OP_READS),
	OP(PROTO_CN_LISTXATTR_INO, nn_op_listxattr, NN_OP_READS),
	OP(PROTO_CN_REMOVEXATTR_INO, nn_op_removexattr, NN_OP_MUTATES),
	OP(PROTO_CN_RECLAIM, nn_op_reclaim, NN_OP_MUTATES),
	/* administration (op_admin.c) */
	OP(PROTO_CN_STATFS, nn_op_statfs, NN_OP_READS),
	OP(PROTO_CN_REPORT, nn_op_report, NN_OP_READS),
	OP(PROTO_CN_FSCK, nn_op_fsck, NN_OP_READS),
	OP(PROTO_CN_LIVENESS, nn_op_liveness, NN_OP_READS),
	OP_SUPER(PROTO_CN_SAFEMODE, nn_op_safemode, NN_OP_SAFE_OK, safemode_changes,
		 "only the superuser may change safe mode"),
	OP_SUPER(PROTO_CN_DECOMMISSION, nn_op_decommission, NN_OP_SAFE_OK, NULL,
		 "only the superuser may decommission nodes"),
	OP(PROTO_CN_TRASH, nn_op_trash, NN_OP_MUTATES),
	OP_SUPER(PROTO_CN_BACKUP, nn_op_backup, NN_OP_READS | NN_OP_CLIENT, NULL,
		 "only the superuser takes backups"),
	OP(PROTO_CN_BAD_BLOCK, nn_op_bad_block, NN_OP_SAFE_OK),
	OP(PROTO_CN_GROUP_STATUS, nn_op_group_status, NN_OP_READS),
	OP(PROTO_CN_SESSION, nn_op_session, NN_OP_SAFE_OK),
	OP(PROTO_CN_WATCH, nn_op_watch, NN_OP_SAFE_OK),
	OP(PROTO_CN_FORGET, nn_op_forget, NN_OP_SAFE_OK),
	OP(PROTO_CN_RECREATE, nn_op_recreate, NN_OP_MUTATES),
	/* jobs (op_jobs.c) */
	OP(PROTO_CN_JOB_SUBMIT, nn_op_job_submit, NN_OP_MUTATES),
	OP(PROTO_CN_JOB_STATUS, nn_op_job_status, NN_OP_READS),
	OP(PROTO_CN_JOB_LIST, nn_op_job_list, NN_OP_READS),
	OP(PROTO_CN_JOB_KILL, nn_op_job_kill, NN_OP_SAFE_OK),
	OP(PROTO_CN_JOB_LOGS, nn_op_job_logs, NN_OP_READS),
	/* datanodes (op_datanode.c) */
	OP(PROTO_DN_REGISTER, nn_op_register, NN_OP_SAFE_OK | NN_OP_DATANODE),
	OP(PROTO_DN_HEARTBEAT, nn_op_heartbeat, NN_OP_SAFE_OK | NN_OP_DATANODE | NN_OP_REGISTERED),
	OP(PROTO_DN_BLOCK_REPORT, nn_op_block_report,
	   NN_OP_SAFE_OK | NN_OP_DATANODE | NN_OP_REGISTERED),
	OP(PROTO_DN_BLOCK_RECEIVED, nn_op_block_received,
	   NN_OP_SAFE_OK | NN_OP_DATANODE | NN_OP_REGISTERED),
	OP(PROTO_DN_BLOCK_DELETED, nn_op_block_deleted,
	   NN_OP_SAFE_OK | NN_OP_DATANODE | NN_OP_REGISTERED),
	OP(PROTO_DN_BAD_BLOCK, nn_op_dn_bad_block,
	   NN_OP_SAFE_OK | NN_OP_DATANODE | NN_OP_REGISTERED),
	OP(PROTO_DN_TASK_STATUS, nn_op_task_status,
	   NN_OP_SAFE_OK | NN_OP_DATANODE | NN_OP_REGISTERED),
	OP(PROTO_DN_BYE, nn_op_bye, NN_OP_SAFE_OK | NN_OP_DATANODE),
};

const struct nn_op *nn_optable_lookup(uint16_t type)
{
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
		if (ops[i].type == type)
			return &ops[i];
	return NULL;
}

const struct nn_op *nn_optable_at(size_t i)
{
	return i < sizeof ops / sizeof *ops ? &ops[i] : NULL;
}

/* Steps 1-4 of the file's comment: NULL when op may run, else the refusal (its errno
 * in *rc). */
static const char *refusal(const struct nn_server *s, const struct nn_conn *c,
			   const struct nn_op *op, const struct unpack *u, int *rc)
{
	*rc = -EPERM;
	if (op->flags & NN_OP_MUTATES && s->safe_mode) {
		*rc = -EROFS;
		return "the namenode is in safe mode (waiting for datanodes to report their "
		       "blocks); try again shortly";
	}
	if ((op->flags & NN_OP_SUPER) && !c->cred.super && (!op->needs_super || op->needs_super(u)))
		return op->denied;
	if ((op->flags & NN_OP_CLIENT) && c->peer.role != PROTO_ROLE_CLIENT)
		return op->denied;
	if ((op->flags & NN_OP_REGISTERED) && c->dn < 0)
		return "datanode not registered";
	return NULL;
}

void nn_dispatch(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		 const void *payload)
{
	double t0 = ev_now();
	struct unpack u;
	unpack_init(&u, payload, h->length);
	s->rpc_count[h->type & 0xff]++;
	const struct nn_op *op = nn_optable_lookup(h->type);
	if (!nn_group_serving(s->group) && h->type != PROTO_CN_GROUP_STATUS) {
		/* a group member that does not serve: the caller goes to the leader */
		nn_reply_err(s, c, h, -EREMCHG, "%s", nn_group_leader(s->group));
	} else if (!op || ((op->flags & NN_OP_DATANODE) && c->peer.role != PROTO_ROLE_DATANODE)) {
		nn_reply_err(s, c, h, -ENOSYS, "unknown request type 0x%x", h->type);
	} else {
		int rc;
		/* a retried call that already changed the namespace gets its first reply,
		 * even in safe mode (retrycache.h) */
		bool keep = (op->flags & NN_OP_MUTATES) || h->type == PROTO_CN_COMPLETE;
		const char *why;
		size_t before = c->out.len;
		if (keep && nn_rc_replay(s->rc, h, payload, &c->out)) {
			nn_conn_queue(s, c);
		} else if ((why = refusal(s, c, op, &u, &rc))) {
			/* the start-up safe mode passes by itself: the client may wait */
			nn_reply_err_flags(s, c, h, rc == -EROFS && !s->safe_manual ?
					   PROTO_F_RETRY_LATER : 0, rc, "%s", why);
		} else {
			s->rc_skip = false;
			op->fn(s, c, h, &u);
			if (nn_cb_any(s->cb)) /* what it changed, for the mounts holding it */
				nn_cb_changes(s->cb, s->ns, c->cb_slot, ev_now());
			if (keep && !s->rc_skip && c->out.len > before)
				nn_rc_record(s->rc, h, payload, c->out.data + before,
					     c->out.len - before, (int64_t)time(NULL));
		}
	}
	/* timed for /metrics (the sync of the turn not included) */
	s->rpc_seconds[h->type & 0xff] += ev_now() - t0;
}
