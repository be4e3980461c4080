/* net: TCP helpers. See net.h. Any thread. */
#include "net.h"
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

int net_parse_addr(const char *addr, char *host, size_t hostsz, uint16_t *port)
{
	const char *c = addr ? strrchr(addr, ':') : NULL;
	if (!c || c == addr || (size_t)(c - addr) >= hostsz)
		return -EINVAL;
	char *end;
	errno = 0;
	long p = strtol(c + 1, &end, 10);
	if (errno || end == c + 1 || *end || p < 0 || p > 65535)
		return -EINVAL;
	memcpy(host, addr, (size_t)(c - addr));
	host[c - addr] = 0;
	*port = (uint16_t)p;
	return 0;
}

static int resolve(const char *addr, struct sockaddr_in *sa)
{
	char host[256];
	uint16_t port;
	int rc = net_parse_addr(addr, host, sizeof host, &port);
	if (rc)
		return rc;
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	if (!host[0] || !strcmp(host, "*") || !strcmp(host, "0.0.0.0")) {
		sa->sin_addr.s_addr = htonl(INADDR_ANY);
		return 0;
	}
	if (inet_pton(AF_INET, host, &sa->sin_addr) == 1)
		return 0;
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
	if (getaddrinfo(host, NULL, &hints, &res))
		return -EHOSTUNREACH;
	sa->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
	freeaddrinfo(res);
	return 0;
}

int net_listen(const char *addr, int backlog)
{
	struct sockaddr_in sa;
	int rc = resolve(addr, &sa);
	if (rc)
		return rc;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, backlog)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* The address of fd's own end (peer false) or of its peer as "IP:PORT" into out. */
static int end_addr(int fd, bool peer, char *out, size_t outsz)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	if (peer ? getpeername(fd, (struct sockaddr *)&sa, &len)
		 : getsockname(fd, (struct sockaddr *)&sa, &len))
		return -errno;
	char ip[INET_ADDRSTRLEN];
	if (!inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip))
		return -errno;
	int n = snprintf(out, outsz, "%s:%u", ip, ntohs(sa.sin_port));
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

int net_local_addr(int fd, char *out, size_t outsz)
{
	return end_addr(fd, false, out, outsz);
}

int net_peer_addr(int fd, char *out, size_t outsz)
{
	return end_addr(fd, true, out, outsz);
}

int net_connect(const char *addr, int timeout_ms)
{
	struct sockaddr_in sa;
	int rc = resolve(addr, &sa);
	if (rc)
		return rc;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) && errno != EINPROGRESS) {
		rc = -errno;
		goto out_close;
	}
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	for (;;) {
		int n = poll(&p, 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out_close;
		}
		if (n == 0) {
			rc = -ETIMEDOUT;
			goto out_close;
		}
		break;
	}
	int err = 0;
	socklen_t len = sizeof err;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		rc = -err;
		goto out_close;
	}
	net_set_nonblock(fd, 0);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (tls_on()) {
		char host[256];
		uint16_t port;
		net_parse_addr(addr, host, sizeof host, &port);
		rc = tls_client(fd, host, timeout_ms > 0 ? timeout_ms : 10000);
		if (rc)
			goto out_close;
	}
	return fd;
out_close:
	close(fd);
	return rc;
}

int net_accept(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			return fd;
		}
		if (errno != EINTR)
			return -errno;
	}
}

int net_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) ? -errno : 0;
}

int net_set_timeout(int fd, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv))
		return -errno;
	return 0;
}

void net_set_bulk(int fd)
{
	int sz = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}

ssize_t net_recv(int fd, void *p, size_t n)
{
	return tls_has(fd) ? tls_recv(fd, p, n) : read(fd, p, n);
}

ssize_t net_send(int fd, const void *p, size_t n)
{
	return tls_has(fd) ? tls_send(fd, p, n) : send(fd, p, n, MSG_NOSIGNAL);
}

size_t net_pending(int fd) { return tls_pending(fd); }

void net_close(int fd)
{
	if (fd < 0)
		return;
	tls_drop(fd);
	close(fd);
}

int net_read_full(int fd, void *p, size_t n)
{
	char *c = p;
	while (n) {
		ssize_t r = net_recv(fd, c, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		if (r == 0)
			return -ECONNRESET;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

int net_write_full(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = net_send(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int net_writev_full(int fd, struct iovec *iov, int iovcnt)
{
	if (tls_has(fd)) { /* small pieces go out as one record */
		size_t total = 0;
		for (int i = 0; i < iovcnt; i++)
			total += iov[i].iov_len;
		if (total <= 16384) {
			char one[16384];
			size_t at = 0;
			for (int i = 0; i < iovcnt; i++) {
				memcpy(one + at, iov[i].iov_base, iov[i].iov_len);
				at += iov[i].iov_len;
			}
			return net_write_full(fd, one, at);
		}
		for (int i = 0; i < iovcnt; i++) {
			int rc = net_write_full(fd, iov[i].iov_base, iov[i].iov_len);
			if (rc)
				return rc;
		}
		return 0;
	}
	while (iovcnt > 0) {
		struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
		ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		while (iovcnt > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int net_sendfile_full(int out, int in, int64_t *off, size_t n)
{
	if (tls_has(out)) { /* the data must pass through the cipher: read, then send */
		char chunk[64 * 1024]; /* four TLS records */
		while (n) {
			size_t want = n < sizeof chunk ? n : sizeof chunk;
			ssize_t r = pread(in, chunk, want, (off_t)*off);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -errno;
			if (r == 0)
				return -EIO; /* file shorter than promised */
			int rc = net_write_full(out, chunk, (size_t)r);
			if (rc)
				return rc;
			*off += r;
			n -= (size_t)r;
		}
		return 0;
	}
	while (n) {
		off_t o = (off_t)*off;
		ssize_t w = sendfile(out, in, &o, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		if (w == 0)
			return -EIO; /* file shorter than promised */
		*off = o;
		n -= (size_t)w;
	}
	return 0;
}
