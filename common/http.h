/*
 * http: the daemons' status and metrics endpoint, served by libmicrohttpd (a maintained
 * HTTP implementation: no hand-written parser of hostile bytes). GET only; every page
 * is produced by the daemon's render callback.
 *
 * Two ways to run it: in the caller's event loop (http_start_in_loop: the callback runs
 * on the loop thread, so the namenode's state needs no locks), or on its own thread
 * (http_start: the callback must be thread-safe, as the datanode's counters are).
 * With http_set_tls called first (a daemon with TLS on), it serves HTTPS with the
 * daemon's certificate (libmicrohttpd's GnuTLS); clients check it against the CA.
 */
#ifndef DFS_HTTP_H
#define DFS_HTTP_H

#include <stddef.h>

#include "buf.h"

struct ev_loop;
struct http;

/* Fills body for path ("/", "/metrics", ...) and sets *ctype (a static string); returns
 * the HTTP status (404 for an unknown path). */
typedef int (*http_render_fn)(void *arg, const char *path, struct buf *body,
			      const char **ctype);

/* Serves HTTPS from now on with this certificate and key (PEM files). 0 or -errno. */
int http_set_tls(const char *cert, const char *key, struct buf *err);
/* Listens on addr (HOST:PORT, port 0: any); the bound HOST:PORT into bound. 0 or -errno. */
int http_start(const char *addr, http_render_fn render, void *arg, char *bound, size_t boundsz,
	       struct http **out);
int http_start_in_loop(const char *addr, struct ev_loop *loop, http_render_fn render, void *arg,
		       char *bound, size_t boundsz, struct http **out);
/* Timeouts of idle HTTP connections (in-loop servers: call now and then). */
void http_tick(struct http *h);
void http_stop(struct http *h);

/* Content types. */
#define HTTP_HTML "text/html; charset=utf-8"
#define HTTP_JSON "application/json"
#define HTTP_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

#endif
