/* replicate: datanode-to-datanode block copies. One detached thread per copy. */
#include "replicate.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc.h"
#include "log.h"
#include "net.h"
#include "pack.h"
#include "packet.h"
#include "token.h"

#define WINDOW 16

struct job {
	struct dn_store *s;
	uint8_t key[AUTH_KEY_LEN];
	uint64_t id, gs, len;
	uint32_t n;
	struct dn_target t[];
};

static atomic_uint running;
static atomic_bool draining; /* the datanode is stopping: no new copies */
static atomic_uint deadline_ms = 20000; /* a silent target: the copy fails */

void dn_replicate_set_deadline(double stale_s)
{
	/* four times stale_node_timeout: the pipeline's own deadlines (xfer.c) name a
	 * silent node below the first sooner, and the last ack waits for a finalize */
	unsigned ms = (unsigned)(4 * stale_s * 1000);
	atomic_store(&deadline_ms, ms < 2000 ? 2000 : ms);
}

static int read_ack(int fd, uint64_t seq, struct buf *in)
{
	struct proto_hdr h;
	uint64_t aseq;
	int32_t status;
	uint32_t failed;
	int rc = proto_recv(fd, &h, in, 4096);
	if (!rc && h.type != PROTO_DT_ACK)
		rc = -EPROTO;
	if (!rc)
		rc = packet_decode_ack(in->data, in->len, &aseq, &status, &failed);
	if (!rc && aseq != seq)
		rc = -EPROTO;
	if (!rc && status)
		rc = proto_errno(status);
	return rc;
}

static int copy(struct job *j)
{
	int dfd = -1, mfd = -1, fd = -1;
	uint64_t rlen;
	int rc = dn_store_open_read(j->s, j->id, j->gs, &dfd, &mfd, &rlen);
	if (rc)
		return rc;
	uint8_t *data = malloc(PROTO_PACKET_SIZE);
	struct buf req = BUF_INIT, in = BUF_INIT;
	if (!data) {
		rc = -ENOMEM;
		goto out;
	}
	if (rlen != j->len) {
		rc = -ESTALE;
		goto out;
	}
	fd = net_connect(j->t[0].addr, 5000);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	net_set_bulk(fd);
	net_set_timeout(fd, (int)atomic_load(&deadline_ms));
	if ((rc = auth_client(fd, j->key, PROTO_ROLE_DATANODE, 0, 0)))
		goto out;
	pack_u64(&req, j->id);
	pack_u64(&req, j->gs);
	pack_u32(&req, 0);
	static const uint8_t no_token[TOKEN_LEN]; /* a datanode needs none */
	pack_raw(&req, no_token, sizeof no_token);
	pack_u32(&req, j->n - 1);
	for (uint32_t i = 1; i < j->n; i++) {
		pack_str(&req, j->t[i].id);
		pack_str(&req, j->t[i].addr);
	}
	struct proto_hdr h;
	rc = proto_send(fd, PROTO_DT_WRITE_BLOCK, 0, 1, 0, req.data, req.len);
	if (!rc)
		rc = proto_recv(fd, &h, &in, 64 * 1024);
	if (!rc && h.status)
		rc = proto_errno(h.status);
	if (rc)
		goto out;
	uint64_t seq = 0, acked = 0, pos = 0;
	uint32_t crcs[PACKET_MAX_CRCS];
	uint8_t crcb[4 * PACKET_MAX_CRCS];
	do {
		uint32_t n = (uint32_t)(rlen - pos < PROTO_PACKET_SIZE ? rlen - pos : PROTO_PACKET_SIZE);
		uint32_t nc = (n + PROTO_CHUNK_SIZE - 1) / PROTO_CHUNK_SIZE;
		if (pread(dfd, data, n, (off_t)pos) != (ssize_t)n ||
		    pread(mfd, crcb, 4 * (size_t)nc,
			  (off_t)(DN_META_HDR + 4 * (pos / PROTO_CHUNK_SIZE))) != (ssize_t)(4 * nc)) {
			rc = -EIO;
			goto out;
		}
		for (uint32_t i = 0; i < nc; i++)
			crcs[i] = be32_get(crcb + 4 * i);
		if (crc32c_verify(data, n, PROTO_CHUNK_SIZE, crcs) >= 0) {
			log_error("replica of block %" PRIu64 " is corrupt at offset %" PRIu64
				  ": not copying it", j->id, pos);
			rc = -EBADMSG;
			goto out;
		}
		bool last = pos + n >= rlen;
		rc = packet_send(fd, 1, seq++, pos, last ? PROTO_PKT_LAST : 0, data, n, crcs);
		if (rc)
			goto out;
		pos += n;
		while (seq - acked > WINDOW)
			if ((rc = read_ack(fd, acked++, &in)))
				goto out;
	} while (pos < rlen);
	while (acked < seq)
		if ((rc = read_ack(fd, acked++, &in)))
			goto out;
out:
	if (fd >= 0)
		net_close(fd);
	close(dfd);
	close(mfd);
	free(data);
	buf_free(&req);
	buf_free(&in);
	return rc;
}

static void *copy_main(void *arg)
{
	struct job *j = arg;
	int rc = copy(j);
	if (rc)
		log_warn("copy of block %" PRIu64 " to datanode '%s' failed: %s", j->id, j->t[0].id,
			 rc == -EBADMSG ? "corrupt source replica" : strerror(-rc));
	else
		log_debug("copied block %" PRIu64 " to %u datanodes", j->id, j->n);
	free(j);
	atomic_fetch_sub(&running, 1);
	return NULL;
}

int dn_replicate_start(struct dn_store *s, const uint8_t key[AUTH_KEY_LEN], uint64_t id,
		       uint64_t gs, uint64_t len, const struct dn_target *targets, uint32_t n)
{
	if (!n)
		return -EINVAL;
	if (atomic_load(&draining))
		return -ESHUTDOWN;
	if (atomic_fetch_add(&running, 1) >= DN_REPLICATE_MAX) {
		atomic_fetch_sub(&running, 1);
		return -EBUSY;
	}
	struct job *j = malloc(sizeof *j + n * sizeof *targets);
	if (!j) {
		atomic_fetch_sub(&running, 1);
		return -ENOMEM;
	}
	j->s = s;
	memcpy(j->key, key, AUTH_KEY_LEN);
	j->id = id;
	j->gs = gs;
	j->len = len;
	j->n = n;
	memcpy(j->t, targets, n * sizeof *targets);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	int rc = pthread_create(&t, &attr, copy_main, j);
	pthread_attr_destroy(&attr);
	if (rc) {
		free(j);
		atomic_fetch_sub(&running, 1);
		return -rc;
	}
	return 0;
}

bool dn_replicate_drain(double seconds)
{
	atomic_store(&draining, true);
	for (double waited = 0; atomic_load(&running) && waited < seconds; waited += 0.02)
		usleep(20000);
	return atomic_load(&running) == 0;
}
