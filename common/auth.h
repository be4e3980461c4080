/*
 * auth: the keys and the HMAC-SHA256 challenge-response handshake that opens every
 * connection (layout in proto.h). OpenSSL provides HMAC and the random nonces.
 *
 * Two secrets: the cluster key, which every client holds, and the datanode key, which
 * only the namenode and the datanodes hold (`dfs-namenode format` makes both). A peer
 * proves the key of the role it claims: a client the cluster key, a datanode the
 * datanode key. So holding the cluster key lets one talk to the cluster as a client, but
 * not register as a datanode, learn the block keys or skip block access tokens.
 * Thread-safe; state lives in the caller's struct auth_server.
 */
#ifndef DFS_AUTH_H
#define DFS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define AUTH_KEY_LEN 32
#define AUTH_NONCE_LEN 32
#define AUTH_MAC_LEN 32

/* Creates a new random key file at path (mode 0600; -EEXIST if present). */
int auth_key_create(const char *path);
/* Loads a key file (64 hex digits); -errno, -EINVAL when malformed. */
int auth_key_load(const char *path, uint8_t key[AUTH_KEY_LEN]);

/* The keys a server accepts: a client proves `cluster`, a datanode `datanode`
 * (refused when has_datanode is false). */
struct auth_keys {
	uint8_t cluster[AUTH_KEY_LEN];
	uint8_t datanode[AUTH_KEY_LEN];
	bool has_datanode;
};

/* Who the authenticated peer is. */
struct auth_peer {
	uint8_t role; /* PROTO_ROLE_* */
	uint32_t uid, gid;
};

/* Server-side handshake state of one connection. */
struct auth_server {
	uint8_t nonce[AUTH_NONCE_LEN];
};

/* Starts a server handshake: appends the HELLO frame to out. */
void auth_server_hello(struct auth_server *s, uint8_t role, struct buf *out);
/*
 * Checks the client's AUTH payload against the key of the role it claims; on success
 * fills peer and appends AUTH_OK to out; on failure appends an error reply to out and
 * returns -EACCES (wrong key, replay, a role this server does not take), -EPROTO
 * (malformed) or -EPROTONOSUPPORT (the client speaks another protocol version; the
 * reply names both, and so does auth_strerror on this thread).
 */
int auth_server_check(struct auth_server *s, const struct auth_keys *keys,
		      const void *payload, size_t len, struct auth_peer *peer,
		      struct buf *out);
/* Runs the whole server side on a blocking socket (datanode threads). */
int auth_server_blocking(int fd, const struct auth_keys *keys, uint8_t role,
			 struct auth_peer *peer);
/*
 * Runs the client side on a blocking socket: answers the challenge with key (the
 * cluster key for PROTO_ROLE_CLIENT, the datanode key for PROTO_ROLE_DATANODE) and
 * checks the server's proof. -EACCES when either side holds another key, -EPROTO for a
 * peer that does not speak dfs, -ENOMSG when the server stayed silent for a second or more and
 * then closed or timed out without greeting (a TLS server waiting for a TLS client),
 * -EPROTONOSUPPORT when the server speaks another protocol version (auth_strerror names
 * both).
 */
int auth_client(int fd, const uint8_t key[AUTH_KEY_LEN], uint8_t role, uint32_t uid,
		uint32_t gid);

/*
 * What a handshake error means, for a message: for -EPROTONOSUPPORT "the peer speaks
 * protocol version N, this program speaks M" with the version of the last handshake
 * that failed so on this thread; otherwise proto_strerror(rc). The string lives until
 * the next call on the same thread.
 */
const char *auth_strerror(int rc);

#endif
