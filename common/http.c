/* http: status and metrics over libmicrohttpd. See http.h. */
#include "http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"
#include "fsutil.h"
#include "log.h"
#include "net.h"

/* With TLS on (http_set_tls): the PEM text of the certificate and key, for HTTPS */
static char *tls_cert_pem, *tls_key_pem;

int http_set_tls(const char *cert, const char *key, struct buf *err)
{
	struct buf c = BUF_INIT, k = BUF_INIT;
	int rc = fs_read_file(cert, &c);
	if (!rc && (rc = fs_read_file(key, &k)))
		cert = key;
	if (rc) {
		buf_printf(err, "cannot read '%s': %s", cert, strerror(-rc));
		buf_free(&c);
		buf_free(&k);
		return rc;
	}
	free(tls_cert_pem);
	free(tls_key_pem);
	tls_cert_pem = c.data; /* NUL-terminated; kept for every later start */
	tls_key_pem = k.data;
	return 0;
}

struct http {
	struct MHD_Daemon *d;
	struct ev_loop *loop;
	int lfd, epfd;
	http_render_fn render;
	void *arg;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	(void)version;
	(void)upload;
	struct http *h = cls;
	if (!*state) { /* the first call is for the headers only */
		*state = h;
		return MHD_YES;
	}
	if (*upload_size)
		return MHD_NO; /* GET has no body: drop such a client */
	struct buf body = BUF_INIT;
	const char *ctype = "text/plain; charset=utf-8";
	int status;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		buf_adds(&body, "only GET\n");
	} else {
		status = h->render(h->arg, url, &body, &ctype);
	}
	struct MHD_Response *r =
		MHD_create_response_from_buffer(body.len, body.data, MHD_RESPMEM_MUST_COPY);
	buf_free(&body);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_epoll(struct ev_loop *loop, int fd, int events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	struct http *h = arg;
	MHD_run(h->d);
}

static int start(const char *addr, struct ev_loop *loop, http_render_fn render, void *arg,
		 char *bound, size_t boundsz, struct http **out)
{
	struct http *h = calloc(1, sizeof *h);
	if (!h)
		return -ENOMEM;
	h->render = render;
	h->arg = arg;
	h->loop = loop;
	h->epfd = -1;
	h->lfd = net_listen(addr, 64);
	if (h->lfd < 0) {
		int rc = h->lfd;
		free(h);
		return rc;
	}
	net_local_addr(h->lfd, bound, boundsz);
	unsigned flags = MHD_USE_ERROR_LOG;
	if (loop)
		flags |= MHD_USE_EPOLL;
	else
		flags |= MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
	struct MHD_OptionItem https[] = {
		{MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key_pem},
		{MHD_OPTION_HTTPS_MEM_CERT, 0, tls_cert_pem},
		{MHD_OPTION_END, 0, NULL},
	};
	if (tls_cert_pem)
		flags |= MHD_USE_TLS;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET,
				h->lfd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
				MHD_OPTION_ARRAY, tls_cert_pem ? https : https + 2, MHD_OPTION_END);
	if (!h->d) {
		close(h->lfd);
		free(h);
		return -EIO;
	}
	if (loop) {
		const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
		h->epfd = i ? i->epoll_fd : -1;
		if (h->epfd < 0 || ev_watch(loop, h->epfd, EV_READ, on_epoll, h)) {
			MHD_stop_daemon(h->d);
			close(h->lfd);
			free(h);
			return -EIO;
		}
	}
	*out = h;
	return 0;
}

int http_start(const char *addr, http_render_fn render, void *arg, char *bound, size_t boundsz,
	       struct http **out)
{
	return start(addr, NULL, render, arg, bound, boundsz, out);
}

int http_start_in_loop(const char *addr, struct ev_loop *loop, http_render_fn render, void *arg,
		       char *bound, size_t boundsz, struct http **out)
{
	return start(addr, loop, render, arg, bound, boundsz, out);
}

void http_tick(struct http *h)
{
	if (h && h->loop)
		MHD_run(h->d);
}

void http_stop(struct http *h)
{
	if (!h)
		return;
	if (h->loop && h->epfd >= 0)
		ev_unwatch(h->loop, h->epfd);
	MHD_stop_daemon(h->d);
	close(h->lfd);
	free(h);
}
