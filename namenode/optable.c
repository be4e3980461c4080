/*
 * optable: the namenode's request dispatcher. Loop thread only; no locks.
 */
#include "server_int.h"

#include <errno.h>

static void dispatch_op(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			const void *payload)
{
	struct unpack u;
	unpack_init(&u, payload, h->length);
	s->rpc_count[h->type & 0xff]++;
	bool is_dn = c->peer.role == PROTO_ROLE_DATANODE;
	if (s->safe_mode) {
		switch (h->type) {
		case PROTO_CN_MKDIR: case PROTO_CN_CREATE: case PROTO_CN_ADD_BLOCK:
		case PROTO_CN_RENAME: case PROTO_CN_DELETE: case PROTO_CN_SETREP:
		case PROTO_CN_ABANDON: case PROTO_CN_SETATTR: case PROTO_CN_SYMLINK:
		case PROTO_CN_LINK: case PROTO_CN_MKNOD: case PROTO_CN_SETXATTR:
		case PROTO_CN_REMOVEXATTR: case PROTO_CN_ALLOC_BLOCK: case PROTO_CN_UPDATE:
		case PROTO_CN_JOB_SUBMIT: case PROTO_CN_TRASH:
			return nn_reply_err(s, c, h, -EROFS, "the namenode is in safe mode (waiting "
				"for datanodes to report their blocks); try again shortly");
		default: break;
		}
	}
	switch (h->type) {
	case PROTO_CN_MKDIR: return nn_op_mkdir(s, c, h, &u);
	case PROTO_CN_CREATE: return nn_op_create(s, c, h, &u);
	case PROTO_CN_ADD_BLOCK: return nn_op_add_block(s, c, h, &u);
	case PROTO_CN_COMPLETE: return nn_op_complete(s, c, h, &u);
	case PROTO_CN_ABANDON: return nn_op_abandon(s, c, h, &u);
	case PROTO_CN_GET_BLOCKS: return nn_op_get_blocks(s, c, h, &u);
	case PROTO_CN_STAT: return nn_op_stat(s, c, h, &u);
	case PROTO_CN_LIST: return nn_op_list(s, c, h, &u);
	case PROTO_CN_RENAME: return nn_op_rename(s, c, h, &u);
	case PROTO_CN_DELETE: return nn_op_delete(s, c, h, &u);
	case PROTO_CN_SETREP: return nn_op_setrep(s, c, h, &u);
	case PROTO_CN_STATFS: return nn_op_statfs(s, c, h, &u);
	case PROTO_CN_REPORT: return nn_op_report(s, c, h, &u);
	case PROTO_CN_BAD_BLOCK: return nn_op_bad_block(s, c, h, &u);
	case PROTO_CN_FSCK: return nn_op_fsck(s, c, h, &u);
	case PROTO_CN_SAFEMODE: return nn_op_safemode(s, c, h, &u);
	case PROTO_CN_DECOMMISSION: return nn_op_decommission(s, c, h, &u);
	case PROTO_CN_SETATTR: return nn_op_setattr(s, c, h, &u);
	case PROTO_CN_SYMLINK: return nn_op_symlink(s, c, h, &u);
	case PROTO_CN_READLINK: return nn_op_readlink(s, c, h, &u);
	case PROTO_CN_LINK: return nn_op_link(s, c, h, &u);
	case PROTO_CN_MKNOD: return nn_op_mknod(s, c, h, &u);
	case PROTO_CN_SETXATTR: return nn_op_setxattr(s, c, h, &u);
	case PROTO_CN_GETXATTR: return nn_op_getxattr(s, c, h, &u);
	case PROTO_CN_LISTXATTR: return nn_op_listxattr(s, c, h, &u);
	case PROTO_CN_REMOVEXATTR: return nn_op_removexattr(s, c, h, &u);
	case PROTO_CN_ALLOC_BLOCK: return nn_op_alloc_block(s, c, h, &u);
	case PROTO_CN_UPDATE: return nn_op_update(s, c, h, &u);
	case PROTO_CN_FILE_BLOCKS: return nn_op_file_blocks(s, c, h, &u);
	case PROTO_CN_LOCK: return nn_op_lock(s, c, h, &u);
	case PROTO_CN_JOB_SUBMIT: return nn_op_job_submit(s, c, h, &u);
	case PROTO_CN_JOB_STATUS: return nn_op_job_status(s, c, h, &u);
	case PROTO_CN_JOB_LIST: return nn_op_job_list(s, c, h, &u);
	case PROTO_CN_JOB_KILL: return nn_op_job_kill(s, c, h, &u);
	case PROTO_CN_JOB_LOGS: return nn_op_job_logs(s, c, h, &u);
	case PROTO_CN_TRASH: return nn_op_trash(s, c, h, &u);
	case PROTO_CN_BACKUP: return nn_op_backup(s, c, h, &u);
	case PROTO_CN_BLOCK_TOKEN: return nn_op_block_token(s, c, h, &u);
	default: break;
	}
	if (is_dn) {
		switch (h->type) {
		case PROTO_DN_REGISTER: return nn_op_register(s, c, h, &u);
		case PROTO_DN_HEARTBEAT: return nn_op_heartbeat(s, c, h, &u);
		case PROTO_DN_BLOCK_REPORT: return nn_op_block_report(s, c, h, &u);
		case PROTO_DN_BLOCK_RECEIVED: return nn_op_block_received(s, c, h, &u);
		case PROTO_DN_BLOCK_DELETED: return nn_op_block_deleted(s, c, h, &u);
		case PROTO_DN_BAD_BLOCK: return nn_op_dn_bad_block(s, c, h, &u);
		case PROTO_DN_TASK_STATUS: return nn_op_task_status(s, c, h, &u);
		case PROTO_DN_BYE: return nn_op_bye(s, c, h, &u);
		default: break;
		}
	}
	nn_reply_err(s, c, h, -ENOSYS, "unknown request type 0x%x", h->type);
}

/* Handles one request, timing it for /metrics (the sync of the turn not included). */
void nn_dispatch(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		 const void *payload)
{
	double t0 = ev_now();
	dispatch_op(s, c, h, payload);
	s->rpc_seconds[h->type & 0xff] += ev_now() - t0;
}
