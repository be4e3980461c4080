/* auth: cluster key and HMAC handshake. See auth.h. Any thread. */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "net.h"
#include "pack.h"
#include "proto.h"

int auth_key_create(const char *path)
{
	uint8_t key[AUTH_KEY_LEN];
	char hex[AUTH_KEY_LEN * 2 + 2];
	if (RAND_bytes(key, sizeof key) != 1)
		return -EIO;
	for (int i = 0; i < AUTH_KEY_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	hex[AUTH_KEY_LEN * 2] = '\n';
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (write(fd, hex, AUTH_KEY_LEN * 2 + 1) != AUTH_KEY_LEN * 2 + 1 || fsync(fd))
		rc = -EIO;
	close(fd);
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int auth_key_load(const char *path, uint8_t key[AUTH_KEY_LEN])
{
	char hex[AUTH_KEY_LEN * 2 + 8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, hex, sizeof hex);
	close(fd);
	if (n < AUTH_KEY_LEN * 2)
		return -EINVAL;
	for (int i = 0; i < AUTH_KEY_LEN; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	for (ssize_t i = AUTH_KEY_LEN * 2; i < n; i++)
		if (hex[i] != '\n' && hex[i] != '\r' && hex[i] != ' ')
			return -EINVAL;
	return 0;
}

static void mac(const uint8_t key[AUTH_KEY_LEN], const char *label, const uint8_t *a,
		const uint8_t *b, uint8_t out[AUTH_MAC_LEN])
{
	uint8_t msg[16 + 2 * AUTH_NONCE_LEN];
	size_t l = strlen(label);
	memcpy(msg, label, l);
	memcpy(msg + l, a, AUTH_NONCE_LEN);
	memcpy(msg + l + AUTH_NONCE_LEN, b, AUTH_NONCE_LEN);
	unsigned int outlen = AUTH_MAC_LEN;
	HMAC(EVP_sha256(), key, AUTH_KEY_LEN, msg, l + 2 * AUTH_NONCE_LEN, out, &outlen);
}

void auth_server_hello(struct auth_server *s, uint8_t role, struct buf *out)
{
	if (RAND_bytes(s->nonce, sizeof s->nonce) != 1)
		memset(s->nonce, 0, sizeof s->nonce); /* handshake then simply fails */
	struct buf p = BUF_INIT;
	pack_u32(&p, PROTO_VERSION);
	pack_u8(&p, role);
	pack_raw(&p, s->nonce, sizeof s->nonce);
	proto_frame(out, PROTO_HELLO, 0, 0, 0, p.data, p.len);
	buf_free(&p);
}

/* The protocol version of the last peer that spoke another one, on this thread. */
static _Thread_local uint32_t mismatched_version;

const char *auth_strerror(int rc)
{
	static _Thread_local char text[96];
	if (rc != -EPROTONOSUPPORT)
		return proto_strerror(rc);
	snprintf(text, sizeof text, "the peer speaks protocol version %u, this program speaks %u",
		 (unsigned)mismatched_version, (unsigned)PROTO_VERSION);
	return text;
}

static void error_frame(struct buf *out, uint16_t type, int err, const char *msg)
{
	struct buf p = BUF_INIT;
	pack_str(&p, msg);
	proto_frame(out, type, PROTO_F_REPLY, 0, proto_status(err), p.data, p.len);
	buf_free(&p);
}

int auth_server_check(struct auth_server *s, const struct auth_keys *keys,
		      const void *payload, size_t len, struct auth_peer *peer, struct buf *out)
{
	static const uint8_t zero[AUTH_NONCE_LEN];
	struct unpack u;
	unpack_init(&u, payload, len);
	uint32_t version = unpack_u32(&u);
	uint8_t role = unpack_u8(&u);
	const uint8_t *cnonce = unpack_raw(&u, AUTH_NONCE_LEN);
	const uint8_t *proof = unpack_raw(&u, AUTH_MAC_LEN);
	uint32_t uid = unpack_u32(&u), gid = unpack_u32(&u);
	if (!unpack_ok(&u)) {
		error_frame(out, PROTO_AUTH_OK, EPROTO, "bad handshake");
		return -EPROTO;
	}
	if (version != PROTO_VERSION) {
		mismatched_version = version;
		char msg[96];
		snprintf(msg, sizeof msg, "this server speaks protocol version %u, the client %u",
			 (unsigned)PROTO_VERSION, (unsigned)version);
		error_frame(out, PROTO_AUTH_OK, EPROTONOSUPPORT, msg);
		return -EPROTONOSUPPORT;
	}
	const uint8_t *key = keys->cluster;
	const char *what = "wrong cluster key";
	if (role == PROTO_ROLE_DATANODE) {
		key = keys->has_datanode ? keys->datanode : NULL;
		what = "wrong datanode key";
	} else if (role != PROTO_ROLE_CLIENT) {
		key = NULL;
	}
	if (!key) {
		error_frame(out, PROTO_AUTH_OK, EACCES, "this server does not take that role");
		return -EACCES;
	}
	uint8_t want[AUTH_MAC_LEN];
	mac(key, "dfs-client", s->nonce, cnonce, want);
	if (!memcmp(s->nonce, zero, sizeof zero) || CRYPTO_memcmp(want, proof, sizeof want)) {
		error_frame(out, PROTO_AUTH_OK, EACCES, what);
		return -EACCES;
	}
	peer->role = role;
	peer->uid = uid;
	peer->gid = gid;
	uint8_t reply[AUTH_MAC_LEN];
	mac(key, "dfs-server", cnonce, s->nonce, reply);
	proto_frame(out, PROTO_AUTH_OK, PROTO_F_REPLY, 0, 0, reply, sizeof reply);
	return 0;
}

/* Receives the next handshake frame into h and in: -EPROTO unless it is of type. */
static int recv_handshake(int fd, uint16_t type, struct proto_hdr *h, struct buf *in)
{
	int rc = proto_recv(fd, h, in, PROTO_MAX_HANDSHAKE);
	return !rc && h->type != type ? -EPROTO : rc;
}

int auth_server_blocking(int fd, const struct auth_keys *keys, uint8_t role,
			 struct auth_peer *peer)
{
	struct auth_server s;
	struct buf out = BUF_INIT, in = BUF_INIT;
	struct proto_hdr h;
	auth_server_hello(&s, role, &out);
	int rc = net_write_full(fd, out.data, out.len);
	if (rc)
		goto out;
	rc = recv_handshake(fd, PROTO_AUTH, &h, &in);
	if (rc)
		goto out;
	buf_reset(&out);
	rc = auth_server_check(&s, keys, in.data, in.len, peer, &out);
	int wrc = net_write_full(fd, out.data, out.len);
	if (!rc)
		rc = wrc;
out:
	buf_free(&out);
	buf_free(&in);
	return rc;
}

int auth_client(int fd, const uint8_t key[AUTH_KEY_LEN], uint8_t role, uint32_t uid,
		uint32_t gid)
{
	struct buf in = BUF_INIT, p = BUF_INIT;
	struct proto_hdr h;
	double t0 = clock_now();
	int rc = proto_recv(fd, &h, &in, PROTO_MAX_HANDSHAKE);
	double waited = clock_now() - t0;
	/* A server greets at once. Silence for a second or more, then a close or our
	 * timeout: a TLS server waiting for a TLS hello (its handshake deadline passed).
	 * A quick close is a server shedding load: the caller may try again. */
	if ((rc == -ECONNRESET || rc == -ETIMEDOUT) && waited >= 1)
		rc = -ENOMSG;
	if (rc)
		goto out;
	struct unpack u;
	unpack_init(&u, in.data, in.len);
	uint32_t version = unpack_u32(&u);
	(void)unpack_u8(&u);
	const uint8_t *snonce = unpack_raw(&u, AUTH_NONCE_LEN);
	if (h.type != PROTO_HELLO || !unpack_ok(&u)) {
		rc = -EPROTO;
		goto out;
	}
	if (version != PROTO_VERSION) {
		mismatched_version = version;
		rc = -EPROTONOSUPPORT;
		goto out;
	}
	uint8_t sn[AUTH_NONCE_LEN], cnonce[AUTH_NONCE_LEN], proof[AUTH_MAC_LEN];
	memcpy(sn, snonce, sizeof sn);
	if (RAND_bytes(cnonce, sizeof cnonce) != 1) {
		rc = -EIO;
		goto out;
	}
	mac(key, "dfs-client", sn, cnonce, proof);
	pack_u32(&p, PROTO_VERSION);
	pack_u8(&p, role);
	pack_raw(&p, cnonce, sizeof cnonce);
	pack_raw(&p, proof, sizeof proof);
	pack_u32(&p, uid);
	pack_u32(&p, gid);
	rc = proto_send(fd, PROTO_AUTH, 0, 0, 0, p.data, p.len);
	if (rc)
		goto out;
	rc = recv_handshake(fd, PROTO_AUTH_OK, &h, &in);
	if (rc)
		goto out;
	if (h.status) {
		rc = proto_errno(h.status);
		goto out;
	}
	uint8_t want[AUTH_MAC_LEN];
	mac(key, "dfs-server", cnonce, sn, want);
	if (in.len != AUTH_MAC_LEN || CRYPTO_memcmp(want, in.data, AUTH_MAC_LEN))
		rc = -EACCES;
out:
	buf_free(&in);
	buf_free(&p);
	return rc;
}
