/*
 * net: TCP sockets. Addresses are "HOST:PORT" strings (IPv4 dotted quads or names).
 * All functions are thread-safe; they return 0 / an fd, or -errno.
 * With TLS on (tls.h), net_connect hands back a fd whose TLS handshake is done, and
 * every I/O function here goes through the fd's TLS session; close such fds with
 * net_close.
 */
#ifndef DFS_NET_H
#define DFS_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Splits "host:port" into host (hostsz bytes) and port; -EINVAL when malformed. */
int net_parse_addr(const char *addr, char *host, size_t hostsz, uint16_t *port);
/* Listens on addr (port 0 = any free port); returns the fd. */
int net_listen(const char *addr, int backlog);
/* Writes the bound "host:port" of a listening fd into out. */
int net_local_addr(int fd, char *out, size_t outsz);
/* Writes the peer's "host:port" of a connected fd into out. */
int net_peer_addr(int fd, char *out, size_t outsz);
/* Connects with a timeout in milliseconds (which also bounds the TLS handshake, when
 * TLS is on); returns a blocking fd with TCP_NODELAY. */
int net_connect(const char *addr, int timeout_ms);
/* Accepts one connection (blocking listener); returns the fd. */
int net_accept(int lfd);
int net_set_nonblock(int fd, int on);
/* Sets send and receive timeouts on a blocking socket (0 = none). */
int net_set_timeout(int fd, int ms);
/* Bigger socket buffers for bulk transfers. */
void net_set_bulk(int fd);
/* One recv/send (through TLS when the fd has a session): read/write semantics. */
ssize_t net_recv(int fd, void *p, size_t n);
ssize_t net_send(int fd, const void *p, size_t n);
/* Bytes already received and decrypted for fd, which a poll on it does not see. */
size_t net_pending(int fd);
/* Closes a connection (and frees its TLS session). */
void net_close(int fd);
/* Reads exactly n bytes; -ECONNRESET on EOF before n. Retries EINTR. */
int net_read_full(int fd, void *p, size_t n);
/* Writes exactly n bytes. Retries EINTR; never raises SIGPIPE. */
int net_write_full(int fd, const void *p, size_t n);
/* Sends all of iov (modified). */
int net_writev_full(int fd, struct iovec *iov, int iovcnt);
/* Sends n bytes of file `in` from offset *off (advanced) with sendfile(2). */
int net_sendfile_full(int out, int in, int64_t *off, size_t n);

#endif
