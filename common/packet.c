/* packet: DT_PACKET / DT_ACK codec. Any thread. */
#include "packet.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "net.h"
#include "tls.h"
#include "pack.h"

int packet_decode(const void *payload, size_t n, struct packet *p)
{
	struct unpack u;
	unpack_init(&u, payload, n);
	p->seq = unpack_u64(&u);
	p->offset = unpack_u64(&u);
	p->len = unpack_u32(&u);
	p->flags = unpack_u8(&u);
	p->ncrcs = unpack_u32(&u);
	if (!unpack_ok(&u) || p->len > PROTO_MAX_PACKET ||
	    p->ncrcs != (p->len + PROTO_CHUNK_SIZE - 1) / PROTO_CHUNK_SIZE)
		return -EPROTO;
	for (uint32_t i = 0; i < p->ncrcs; i++)
		p->crcs[i] = unpack_u32(&u);
	p->data = unpack_raw(&u, p->len);
	if (!unpack_ok(&u) || u.left)
		return -EPROTO;
	return 0;
}

/* Frame header + packet header into hdr (returns its length). */
static size_t headers(uint8_t *hdr, uint64_t reqid, uint64_t seq, uint64_t offset,
		      uint8_t flags, uint32_t len, const uint32_t *crcs)
{
	uint32_t n = (len + PROTO_CHUNK_SIZE - 1) / PROTO_CHUNK_SIZE;
	size_t ph = 8 + 8 + 4 + 1 + 4 + 4 * (size_t)n;
	struct proto_hdr h = {PROTO_MAGIC, PROTO_DT_PACKET, 0, reqid, (uint32_t)(ph + len), 0};
	proto_hdr_encode(&h, hdr);
	uint8_t *p = hdr + PROTO_HDR_LEN;
	be64_put(p, seq);
	be64_put(p + 8, offset);
	be32_put(p + 16, len);
	p[20] = flags;
	be32_put(p + 21, n);
	for (uint32_t i = 0; i < n; i++)
		be32_put(p + 25 + 4 * i, crcs[i]);
	return PROTO_HDR_LEN + ph;
}

int packet_send(int fd, uint64_t reqid, uint64_t seq, uint64_t offset, uint8_t flags,
		const void *data, uint32_t len, const uint32_t *crcs)
{
	if (len > PROTO_MAX_PACKET)
		return -EINVAL;
	uint8_t hdr[PROTO_HDR_LEN + 25 + 4 * PACKET_MAX_CRCS];
	size_t hl = headers(hdr, reqid, seq, offset, flags, len, crcs);
	struct iovec iov[2] = {{hdr, hl}, {(void *)data, len}};
	return net_writev_full(fd, iov, len ? 2 : 1);
}

int packet_send_file(int fd, uint64_t reqid, uint64_t seq, uint64_t offset, uint8_t flags,
		     int in, int64_t in_off, uint32_t len, const uint32_t *crcs)
{
	if (len > PROTO_MAX_PACKET)
		return -EINVAL;
	uint8_t hdr[PROTO_HDR_LEN + 25 + 4 * PACKET_MAX_CRCS];
	size_t hl = headers(hdr, reqid, seq, offset, flags, len, crcs);
	if (tls_has(fd)) { /* no sendfile through a cipher (net_sendfile_full copies) */
		int rc = net_write_full(fd, hdr, hl);
		return rc ? rc : net_sendfile_full(fd, in, &in_off, len);
	}
	int rc = (int)send(fd, hdr, hl, MSG_NOSIGNAL | MSG_MORE);
	if (rc != (int)hl) {
		rc = rc < 0 ? -errno : net_write_full(fd, hdr + rc, hl - (size_t)rc);
		if (rc)
			return rc;
	}
	return net_sendfile_full(fd, in, &in_off, len);
}

int packet_send_ack(int fd, uint64_t reqid, uint64_t seq, int32_t status, uint32_t failed)
{
	uint8_t p[16];
	be64_put(p, seq);
	be32_put(p + 8, (uint32_t)status);
	be32_put(p + 12, failed);
	return proto_send(fd, PROTO_DT_ACK, PROTO_F_REPLY, reqid, 0, p, sizeof p);
}

int packet_decode_ack(const void *payload, size_t n, uint64_t *seq, int32_t *status,
		      uint32_t *failed)
{
	struct unpack u;
	unpack_init(&u, payload, n);
	*seq = unpack_u64(&u);
	*status = unpack_i32(&u);
	*failed = unpack_u32(&u);
	return unpack_ok(&u) && !u.left ? 0 : -EPROTO;
}
