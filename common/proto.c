/* proto: frame header codec, status mapping, blocking frame I/O. Any thread. */
#include "proto.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "net.h"
#include "pack.h"

#define PROTO_MAP_ENTRY_(name, code, err) {PROTO_E_##name, err},
static const struct {
	int32_t status;
	int err;
} status_map[] = {PROTO_STATUSES(PROTO_MAP_ENTRY_)};
#undef PROTO_MAP_ENTRY_

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

const char *proto_strerror(int err)
{
	if (err < 0)
		err = -err;
	return err == EBADMSG ? "checksum mismatch" : strerror(err);
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
#define PROTO_NAME_CASE_(name, id, logname) case PROTO_##name: return logname;
	switch (type) {
	PROTO_ALL_MESSAGES(PROTO_NAME_CASE_)
	default: return "unknown";
	}
#undef PROTO_NAME_CASE_
}

enum proto_dir proto_type_dir(uint16_t type)
{
#define PROTO_DIR_CASE_(name, id, logname) case PROTO_##name:
	switch (type) {
	PROTO_HANDSHAKE_MESSAGES(PROTO_DIR_CASE_) return PROTO_DIR_HANDSHAKE;
	PROTO_CN_MESSAGES(PROTO_DIR_CASE_)
	PROTO_CN_INODE_MESSAGES(PROTO_DIR_CASE_) return PROTO_DIR_CN;
	PROTO_DN_MESSAGES(PROTO_DIR_CASE_) return PROTO_DIR_DN;
	PROTO_NN_MESSAGES(PROTO_DIR_CASE_) return PROTO_DIR_NN;
	PROTO_DT_MESSAGES(PROTO_DIR_CASE_) return PROTO_DIR_DT;
	default: return PROTO_DIR_NONE;
	}
#undef PROTO_DIR_CASE_
}
