/*
 * tls: TLS 1.3 (OpenSSL) under every dfs connection, when the process is given a
 * certificate, its private key and the cluster's CA (settings tls_cert, tls_key,
 * tls_ca; flags --tls-cert, --tls-key, --tls-ca). It is process-wide: a daemon, a tool
 * run or a mount has one identity. Both ends present a certificate signed by the CA and
 * verify the other's (mutual TLS); a client also checks that the server's certificate
 * names the host it dialled (an IP or DNS subjectAltName). A plaintext peer of a TLS
 * process, or the reverse, fails its first handshake. The dfs handshake (auth.h) still
 * runs inside: TLS encrypts and authenticates hosts, the keys authorise roles.
 *
 * The rest of the code keeps passing plain fds: net.h's I/O functions go through the
 * TLS session registered for an fd (net_connect makes one for a client when TLS is
 * on; servers call tls_server or tls_server_start/tls_server_step on accepted fds),
 * and net_close frees it. Sessions are used by one thread at a time, like their fds.
 *
 * tls_make_local writes a throw-away CA and certificates for `dfs local up --tls`.
 */
#ifndef DFS_TLS_H
#define DFS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/* Turns TLS on for this process (call once, before any connection). All three files
 * are needed; -errno with why in err. */
int tls_init(const char *cert, const char *key, const char *ca, struct buf *err);
/* Is TLS on? */
bool tls_on(void);

/* Client side on a connected blocking fd: handshake within timeout_ms, verifying the
 * server against the CA and host. -EACCES when a certificate is refused, -EPROTO when
 * the peer does not speak TLS (a plaintext server), -ETIMEDOUT; tls_error() says more. */
int tls_client(int fd, const char *host, int timeout_ms);
/* Server side on an accepted blocking fd (the fd's timeouts bound it). */
int tls_server(int fd);
/* Server side on a non-blocking fd: start, then step on each readiness event until it
 * returns 0 (done), or -EAGAIN (*want_write: wait for writability, else readability). */
int tls_server_start(int fd);
int tls_server_step(int fd, bool *want_write);
/* The last failure of this thread, in words (never NULL). */
const char *tls_error(void);

/* I/O on a fd with a session; read/write semantics: -1 with errno (EAGAIN when a
 * non-blocking fd would block, ECONNRESET, EPIPE, EPROTO), 0 for the peer's close. */
bool tls_has(int fd);
ssize_t tls_recv(int fd, void *p, size_t n);
ssize_t tls_send(int fd, const void *p, size_t n);
/* Decrypted bytes waiting inside the session (a poll on the fd does not see them). */
size_t tls_pending(int fd);
/* Frees fd's session, if any (net_close calls it before closing the fd). */
void tls_drop(int fd);

/*
 * Makes dir/ca.pem + ca.key (a new CA), and for each name in names (NULL-terminated)
 * dir/NAME.pem + NAME.key, signed by it, valid for 127.0.0.1, ::1 and localhost, for
 * ten years. Keys are P-256, mode 0600. -errno with why in err.
 */
int tls_make_local(const char *dir, const char *const *names, struct buf *err);

#endif
