/*
 * auth: the cluster key and the HMAC-SHA256 challenge-response handshake that opens
 * every connection (layout in proto.h). OpenSSL provides HMAC and the random nonces.
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
 * Checks the client's AUTH payload; on success fills peer and appends AUTH_OK to out;
 * on failure appends an error reply to out and returns -EACCES (wrong key, replay) or
 * -EPROTO (malformed).
 */
int auth_server_check(struct auth_server *s, const uint8_t key[AUTH_KEY_LEN],
		      const void *payload, size_t len, struct auth_peer *peer,
		      struct buf *out);
/* Runs the whole server side on a blocking socket (datanode threads). */
int auth_server_blocking(int fd, const uint8_t key[AUTH_KEY_LEN], uint8_t role,
			 struct auth_peer *peer);
/*
 * Runs the client side on a blocking socket: answers the challenge and checks the
 * server's proof. -EACCES when either side holds another key, -EPROTO for a peer that
 * does not speak dfs.
 */
int auth_client(int fd, const uint8_t key[AUTH_KEY_LEN], uint8_t role, uint32_t uid,
		uint32_t gid);

#endif
