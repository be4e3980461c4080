/* proto: frame header codec, status mapping, blocking frame I/O. Any thread. */
#include "proto.h"

#include <errno.h>
#include <sys/uio.h>

#include "net.h"
#include "pack.h"

static const struct {
	int32_t status;
	int err;
} status_map[] = {
	{PROTO_E_PERM, EPERM},     {PROTO_E_NOENT, ENOENT},   {PROTO_E_IO, EIO},
	{PROTO_E_ACCES, EACCES},   {PROTO_E_BUSY, EBUSY},     {PROTO_E_EXIST, EEXIST},
	{PROTO_E_XDEV, EXDEV},     {PROTO_E_NOTDIR, ENOTDIR}, {PROTO_E_ISDIR, EISDIR},
	{PROTO_E_INVAL, EINVAL},   {PROTO_E_FBIG, EFBIG},     {PROTO_E_NOSPC, ENOSPC},
	{PROTO_E_ROFS, EROFS},     {PROTO_E_NAMETOOLONG, ENAMETOOLONG},
	{PROTO_E_NOSYS, ENOSYS},   {PROTO_E_NOTEMPTY, ENOTEMPTY},
	{PROTO_E_LOOP, ELOOP},     {PROTO_E_PROTO, EPROTO},   {PROTO_E_STALE, ESTALE},
	{PROTO_E_AGAIN, EAGAIN},   {PROTO_E_RANGE, ERANGE},   {PROTO_E_NODATA, ENODATA},
	{PROTO_E_NOTSUP, EOPNOTSUPP}, {PROTO_E_MLINK, EMLINK}, {PROTO_E_DEADLK, EDEADLK},
	{PROTO_E_TXTBSY, ETXTBSY}, {PROTO_E_NOLCK, ENOLCK},   {PROTO_E_2BIG, E2BIG},
	{PROTO_E_BADMSG, EBADMSG},
};

int32_t proto_status(int err)
{
	if (err < 0)
		err = -err;
	if (!err)
		return PROTO_OK;
	for (size_t i = 0; i < sizeof status_map / sizeof status_map[0]; i++)
		if (status_map[i].err == err)
			return status_map[i].status;
	return PROTO_E_IO;
}

int proto_errno(int32_t status)
{
	if (!status)
		return 0;
	for (size_t i = 0; i < sizeof status_map / sizeof status_map[0]; i++)
		if (status_map[i].status == status)
			return -status_map[i].err;
	return -EIO;
}

void proto_hdr_encode(const struct proto_hdr *h, uint8_t out[PROTO_HDR_LEN])
{
	be32_put(out, h->magic);
	be16_put(out + 4, h->type);
	be16_put(out + 6, h->flags);
	be64_put(out + 8, h->reqid);
	be32_put(out + 16, h->length);
	be32_put(out + 20, (uint32_t)h->status);
}

int proto_hdr_decode(const uint8_t in[PROTO_HDR_LEN], struct proto_hdr *h, uint32_t max)
{
	h->magic = be32_get(in);
	h->type = be16_get(in + 4);
	h->flags = be16_get(in + 6);
	h->reqid = be64_get(in + 8);
	h->length = be32_get(in + 16);
	h->status = (int32_t)be32_get(in + 20);
	if (h->magic != PROTO_MAGIC)
		return -EPROTO;
	if (h->length > max)
		return -EMSGSIZE;
	return 0;
}

void proto_frame(struct buf *out, uint16_t type, uint16_t flags, uint64_t reqid,
		 int32_t status, const void *payload, size_t len)
{
	struct proto_hdr h = {PROTO_MAGIC, type, flags, reqid, (uint32_t)len, status};
	uint8_t hb[PROTO_HDR_LEN];
	proto_hdr_encode(&h, hb);
	buf_add(out, hb, sizeof hb);
	buf_add(out, payload, len);
}

int proto_send(int fd, uint16_t type, uint16_t flags, uint64_t reqid, int32_t status,
	       const void *payload, size_t len)
{
	struct proto_hdr h = {PROTO_MAGIC, type, flags, reqid, (uint32_t)len, status};
	uint8_t hb[PROTO_HDR_LEN];
	proto_hdr_encode(&h, hb);
	struct iovec iov[2] = {{hb, sizeof hb}, {(void *)payload, len}};
	return net_writev_full(fd, iov, len ? 2 : 1);
}

int proto_recv(int fd, struct proto_hdr *h, struct buf *payload, uint32_t max)
{
	uint8_t hb[PROTO_HDR_LEN];
	int rc = net_read_full(fd, hb, sizeof hb);
	if (rc)
		return rc;
	rc = proto_hdr_decode(hb, h, max);
	if (rc)
		return rc;
	buf_reset(payload);
	buf_grow(payload, h->length);
	rc = net_read_full(fd, payload->data, h->length);
	if (rc)
		return rc;
	buf_commit(payload, h->length);
	return 0;
}

const char *proto_type_name(uint16_t type)
{
	switch (type) {
	case PROTO_HELLO: return "HELLO";
	case PROTO_AUTH: return "AUTH";
	case PROTO_AUTH_OK: return "AUTH_OK";
	case PROTO_CN_MKDIR: return "mkdir";
	case PROTO_CN_CREATE: return "create";
	case PROTO_CN_ADD_BLOCK: return "add_block";
	case PROTO_CN_COMPLETE: return "complete";
	case PROTO_CN_GET_BLOCKS: return "get_blocks";
	case PROTO_CN_STAT: return "stat";
	case PROTO_CN_LIST: return "list";
	case PROTO_CN_RENAME: return "rename";
	case PROTO_CN_DELETE: return "delete";
	case PROTO_CN_SETREP: return "setrep";
	case PROTO_CN_STATFS: return "statfs";
	case PROTO_CN_REPORT: return "report";
	case PROTO_CN_ABANDON: return "abandon";
	case PROTO_CN_BAD_BLOCK: return "bad_block";
	case PROTO_CN_FSCK: return "fsck";
	case PROTO_CN_SAFEMODE: return "safemode";
	case PROTO_CN_DECOMMISSION: return "decommission";
	case PROTO_CN_SETATTR: return "setattr";
	case PROTO_CN_SYMLINK: return "symlink";
	case PROTO_CN_READLINK: return "readlink";
	case PROTO_CN_LINK: return "link";
	case PROTO_CN_MKNOD: return "mknod";
	case PROTO_CN_SETXATTR: return "setxattr";
	case PROTO_CN_GETXATTR: return "getxattr";
	case PROTO_CN_LISTXATTR: return "listxattr";
	case PROTO_CN_REMOVEXATTR: return "removexattr";
	case PROTO_CN_ALLOC_BLOCK: return "alloc_block";
	case PROTO_CN_UPDATE: return "update";
	case PROTO_CN_FILE_BLOCKS: return "file_blocks";
	case PROTO_CN_LOCK: return "lock";
	case PROTO_DT_SYNC_BLOCK: return "sync_block";
	case PROTO_CN_JOB_SUBMIT: return "job_submit";
	case PROTO_CN_JOB_STATUS: return "job_status";
	case PROTO_CN_JOB_LIST: return "job_list";
	case PROTO_CN_JOB_KILL: return "job_kill";
	case PROTO_CN_JOB_LOGS: return "job_logs";
	case PROTO_CN_TRASH: return "trash";
	case PROTO_CN_BACKUP: return "backup";
	case PROTO_CN_BLOCK_TOKEN: return "block_token";
	case PROTO_DN_TASK_STATUS: return "task_status";
	case PROTO_NN_TASKS: return "tasks";
	case PROTO_DN_BAD_BLOCK: return "dn_bad_block";
	case PROTO_DN_REGISTER: return "register";
	case PROTO_DN_HEARTBEAT: return "heartbeat";
	case PROTO_DN_BLOCK_REPORT: return "block_report";
	case PROTO_DN_BLOCK_RECEIVED: return "block_received";
	case PROTO_DN_BLOCK_DELETED: return "block_deleted";
	case PROTO_DN_BYE: return "bye";
	case PROTO_NN_COMMANDS: return "commands";
	case PROTO_NN_BLOCK_KEYS: return "block_keys";
	case PROTO_DT_WRITE_BLOCK: return "write_block";
	case PROTO_DT_PACKET: return "packet";
	case PROTO_DT_ACK: return "ack";
	case PROTO_DT_READ_BLOCK: return "read_block";
	default: return "unknown";
	}
}
