/*
 * client: the core of the client library -- the namenode connection (connect with
 * handshake retries, reconnect after a namenode restart), one call and its reply, the
 * per-thread error text, and what the other client files share: the attr and location
 * decoders and the datanode dial (client_int.h lists the files).
 *
 * Threads: any. A struct dfs_client is shared by the caller's threads; client_call
 * holds its lock for one request and its reply, so their calls are serialised on the
 * one connection. dfs_set_reconnect is meant for before the client is shared. The
 * error text is thread-local.
 */
#include "client.h"
#include "client_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "net.h"
#include "tls.h"

#define NN_TIMEOUT_MS 60000 /* longest wait for one namenode reply */
/* In a group, a member that does not greet within GROUP_GREET_MS is passed over, and a
 * reply slower than GROUP_SLICE_MS makes the client ask the other members whether the
 * one it waits on still leads (a hung leader is replaced in a few seconds; its calls
 * go on with the new one), and again after each further slice. */
#define GROUP_GREET_MS 2000
#define GROUP_SLICE_MS 1000
/* a group member's TCP connect: on a LAN it takes well under a millisecond, so one that
 * takes this long is cut off (a one-shot command tries the members in order) */
#define GROUP_CONNECT_MS 500

__thread char client_errmsg[CLIENT_ERR_MAX];

const char *dfs_errmsg(void) { return client_errmsg; }

void client_set_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(client_errmsg, sizeof client_errmsg, fmt, ap);
	va_end(ap);
}

void client_err_from_reply(const void *data, size_t len)
{
	struct unpack u;
	unpack_init(&u, data, len);
	unpack_str(&u, client_errmsg, sizeof client_errmsg);
}

const char *dfs_dn_state_name(uint8_t state)
{
	switch (state) {
	case PROTO_DN_LIVE: return "live";
	case PROTO_DN_STALE: return "stale";
	case PROTO_DN_DEAD: return "dead";
	case PROTO_DN_DECOMMISSIONING: return "decommissioning";
	case PROTO_DN_DECOMMISSIONED: return "decommissioned";
	case PROTO_DN_MAINTENANCE: return "maintenance";
	default: return "unknown";
	}
}

/* Connects to addr and authenticates. A handshake cut short (a server under a flood
 * of unauthenticated connections drops the oldest ones) is tried again a few times. */
/* CN_SESSION on a fresh connection: 0 once answered, whatever the answer (a namenode
 * without callbacks, or with every session taken, still serves the connection). */
static int name_session(int fd, uint64_t session)
{
	uint8_t b[8];
	be64_put(b, session);
	int rc = proto_send(fd, PROTO_CN_SESSION, 0, 0, 0, b, sizeof b);
	struct proto_hdr h;
	struct buf rep = BUF_INIT;
	if (!rc)
		rc = proto_recv(fd, &h, &rep, 64 * 1024);
	buf_free(&rep);
	return rc;
}

static int open_one(const struct dfs_client_opts *opts, const char *addr, int *out,
		    bool *connected)
{
	int rc = 0;
	*connected = false;
	int wait = opts->timeout_ms > 0 ? opts->timeout_ms : NN_TIMEOUT_MS, greet = wait;
	int reach = 5000;
	if (strchr(opts->namenode, ',')) {
		reach = GROUP_CONNECT_MS;
		greet = wait < GROUP_GREET_MS ? wait : GROUP_GREET_MS;
		if (wait > GROUP_SLICE_MS)
			wait = GROUP_SLICE_MS; /* recv_reply counts the slices of a longer wait */
	}
	for (int attempt = 0; attempt < 4; attempt++) {
		if (attempt)
			usleep(50000u << attempt);
		int fd = net_connect(addr, greet < reach ? greet : reach);
		if (fd < 0)
			return fd;
		*connected = true;
		net_set_timeout(fd, greet);
		rc = auth_client(fd, opts->key, PROTO_ROLE_CLIENT, opts->uid, opts->gid);
		if (!rc && opts->session)
			rc = name_session(fd, opts->session);
		if (!rc) {
			net_set_timeout(fd, wait); /* a hung namenode fails calls */
			*out = fd;
			return 0;
		}
		net_close(fd);
		if (rc != -ECONNRESET && rc != -EPIPE)
			break;
	}
	return rc;
}

int client_nn_list(const char *list, char (*out)[PROTO_ADDR_MAX + 1], int max)
{
	int n = 0;
	const char *p = list;
	while (*p && n < max) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t len = strcspn(p, ", ");
		if (!len)
			break;
		if (len > PROTO_ADDR_MAX)
			len = PROTO_ADDR_MAX;
		memcpy(out[n], p, len);
		out[n][len] = 0;
		n++;
		p += strcspn(p, ",");
	}
	return n;
}

/* Connects to one member of opts->namenode's list: the leader hint first (when given),
 * then each member from *cur on. *cur becomes the one connected to. The error is the
 * last member's; *connected tells whether any TCP connection was made. */
static int open_conn(const struct dfs_client_opts *opts, const char *hint, int *cur, int *out,
		     bool *connected)
{
	char addrs[CLIENT_NN_MAX][PROTO_ADDR_MAX + 1];
	int n = client_nn_list(opts->namenode, addrs, CLIENT_NN_MAX);
	if (!n)
		return -EINVAL;
	int rc = -ENOTCONN;
	bool any = false;
	if (hint && *hint) {
		for (int i = 0; i < n; i++)
			if (!strcmp(addrs[i], hint))
				*cur = i;
	}
	for (int i = 0; i < n; i++) {
		int k = (*cur + i) % n;
		rc = open_one(opts, addrs[k], out, connected);
		any = any || *connected;
		if (!rc) {
			*cur = k;
			break;
		}
		if (*connected && rc == -EACCES)
			break; /* a wrong key is wrong on every member */
	}
	*connected = any;
	return rc;
}

/* Whether the client holds a list of more than one namenode. */
static bool is_group(const struct dfs_client *c) { return strchr(c->opts.namenode, ',') != NULL; }

int dfs_connect(const struct dfs_client_opts *opts, struct dfs_client **out)
{
	client_errmsg[0] = 0;
	int fd = -1, cur = 0;
	bool connected;
	int rc = opts->namenode[0] ? open_conn(opts, NULL, &cur, &fd, &connected) : -EINVAL;
	if (rc == -EINVAL)
		client_set_err("no namenode address given");
	else if (!connected && tls_on() && (rc == -EACCES || rc == -EPROTO))
		client_set_err("TLS with namenode %s failed: %s", opts->namenode, tls_error());
	else if (!connected && rc)
		client_set_err("cannot connect to namenode %s: %s", opts->namenode, strerror(-rc));
	else if (rc == -EACCES)
		client_set_err("namenode %s refused the connection: wrong cluster key", opts->namenode);
	else if (rc == -ENOMSG)
		client_set_err("namenode %s sent no greeting: if the cluster uses TLS, give --tls-cert, "
			"--tls-key and --tls-ca (or tls_* in the config)", opts->namenode);
	else if (rc)
		client_set_err("handshake with namenode %s failed: %s", opts->namenode,
			tls_on() && rc == -EPROTO ? tls_error() : auth_strerror(rc));
	if (rc)
		return rc;
	struct dfs_client *c = calloc(1, sizeof *c);
	if (!c) {
		net_close(fd);
		return -ENOMEM;
	}
	c->opts = *opts;
	c->fd = fd;
	c->cur = cur;
	c->reconnect = is_group(c); /* a group member may fail: go on with the next */
	/* call ids: a random client id, then a call number (retrycache.h on the namenode) */
	uint64_t cid = 0;
	while (!(cid & CLIENT_ID_MASK) && getrandom(&cid, sizeof cid, 0) == (ssize_t)sizeof cid)
		;
	if (!(cid & CLIENT_ID_MASK))
		cid = (uint64_t)getpid() << 20 ^ (uint64_t)time(NULL);
	c->idbase = (cid & CLIENT_ID_MASK) << CLIENT_CALL_BITS;
	c->reqid = c->idbase;
	pthread_mutex_init(&c->lock, NULL);

	*out = c;
	dfs_refresh_liveness(c);
	client_errmsg[0] = 0;
	return 0;
}

int dfs_refresh_liveness(struct dfs_client *c)
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	int rc = client_call(c, PROTO_CN_LIVENESS, &req, &rep);
	if (rc == -ENOSYS) {
		rc = 0; /* an older namenode: the defaults stay */
		goto out;
	}
	if (rc)
		goto out;
	struct unpack u;
	unpack_init(&u, rep.data, rep.len);
	uint32_t hb = unpack_u32(&u), stale = unpack_u32(&u), dead = unpack_u32(&u);
	uint32_t n = unpack_count(&u, 6);
	char (*ids)[PROTO_ID_MAX + 1] = calloc(n + 1, sizeof *ids);
	char (*addrs)[PROTO_ADDR_MAX + 1] = calloc(n + 1, sizeof *addrs);
	uint8_t *states = calloc(n + 1, 1);
	if (!ids || !addrs || !states) {
		rc = -ENOMEM;
	} else {
		for (uint32_t i = 0; i < n; i++) {
			unpack_str(&u, ids[i], sizeof ids[i]);
			unpack_str(&u, addrs[i], sizeof addrs[i]);
			states[i] = unpack_u8(&u);
		}
		rc = unpack_ok(&u) ? 0 : -EPROTO;
	}
	if (!rc) {
		health_set_settings(hb, stale, dead);
		health_from_namenode(n, (const char (*)[PROTO_ID_MAX + 1])ids,
				     (const char (*)[PROTO_ADDR_MAX + 1])addrs, states);
	}
	free(ids);
	free(addrs);
	free(states);
out:
	buf_free(&req);
	buf_free(&rep);
	return rc;
}

void dfs_close(struct dfs_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		net_close(c->fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* recv_reply's verdict on a member that another one says no longer leads */
#define DEPOSED (-ESTALE)

static int recv_reply(struct dfs_client *c, struct proto_hdr *h, struct buf *rep);

/* Whether a member other than the one c waits on says that another member leads (or
 * leads itself): then the one waited on is hung or cut off, and deposed. Each member is
 * asked on a connection of its own, GROUP_SLICE_MS at most. */
static bool member_deposed(const struct dfs_client *c)
{
	char addrs[CLIENT_NN_MAX][PROTO_ADDR_MAX + 1];
	int n = client_nn_list(c->opts.namenode, addrs, CLIENT_NN_MAX);
	if (c->cur < 0 || c->cur >= n)
		return false;
	for (int i = 0; i < n; i++) {
		if (i == c->cur)
			continue;
		int fd = -1;
		bool connected;
		if (open_one(&c->opts, addrs[i], &fd, &connected))
			continue;
		struct buf rep = BUF_INIT;
		struct proto_hdr h;
		int rc = proto_send(fd, PROTO_CN_GROUP_STATUS, 0, 1, 0, NULL, 0);
		struct dfs_client probe = {.opts = c->opts, .fd = fd, .cur = -1};
		probe.opts.namenode[0] = 0; /* a single wait: no probing of the probe */
		if (!rc)
			rc = recv_reply(&probe, &h, &rep);
		net_close(fd);
		bool answered = !rc && !h.status && h.type == PROTO_CN_GROUP_STATUS;
		struct dfs_group_status g;
		if (answered) {
			struct unpack u;
			unpack_init(&u, rep.data, rep.len);
			client_get_group_status(&u, &g);
			answered = unpack_ok(&u);
		}
		buf_free(&rep);
		if (!answered)
			continue;
		if (!strcmp(g.role, "leader") || (g.leader[0] && strcmp(g.leader, addrs[c->cur])))
			return true;
		if (g.leader[0])
			return false; /* it names the one waited on: a slow call, not a hung leader */
	}
	return false;
}

/*
 * Reads the one reply the namenode owes us. Nothing else can follow it on the stream
 * (one request at a time under c->lock), so it reads greedily: usually one syscall.
 */
static int recv_reply(struct dfs_client *c, struct proto_hdr *h, struct buf *rep)
{
	int fd = c->fd;
	bool group = strchr(c->opts.namenode, ',') != NULL;
	int limit = c->opts.timeout_ms > 0 ? c->opts.timeout_ms : NN_TIMEOUT_MS, waited = 0;
	buf_reset(rep);
	size_t want = PROTO_HDR_LEN;
	bool have_hdr = false;
	while (rep->len < want) {
		buf_grow(rep, (want > rep->len + 16384 ? want - rep->len : 16384));
		ssize_t n = net_recv(fd, rep->data + rep->len, rep->cap - rep->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && group) {
			waited += GROUP_SLICE_MS;
			if (waited >= limit)
				return -ETIMEDOUT;
			if (member_deposed(c))
				return DEPOSED;
			continue;
		}
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		buf_commit(rep, (size_t)n);
		if (!have_hdr && rep->len >= PROTO_HDR_LEN) {
			int rc = proto_hdr_decode((uint8_t *)rep->data, h, PROTO_MAX_REPLY);
			if (rc)
				return rc;
			have_hdr = true;
			want = PROTO_HDR_LEN + h->length;
		}
	}
	if (rep->len != want)
		return -EPROTO;
	buf_consume(rep, PROTO_HDR_LEN);
	return 0;
}

/* Opens a new namenode connection after the last one broke (a namenode restart);
 * called with c->lock held. Leases and allocated blocks of the old one are gone. */
static int reconnect(struct dfs_client *c)
{
	if (!c->reconnect)
		return -ENOTCONN;
	int fd = -1;
	bool connected;
	int rc = open_conn(&c->opts, c->leader, &c->cur, &fd, &connected);
	c->leader[0] = 0;
	if (!rc)
		c->fd = fd;
	return rc;
}


void dfs_set_reconnect(struct dfs_client *c, bool on) { c->reconnect = on; }

void dfs_interrupt(struct dfs_client *c)
{
	__atomic_store_n(&c->cancelled, 1, __ATOMIC_RELEASE);
	int fd = __atomic_load_n(&c->fd, __ATOMIC_ACQUIRE);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR); /* a call waiting on it returns now */
}

/* Takes the leader's address out of a NOT_LEADER reply into c->leader ("" while the
 * group has none: an election is under way). */
static void note_leader(struct dfs_client *c, const struct buf *rep)
{
	struct unpack u;
	unpack_init(&u, rep->data, rep->len);
	unpack_str(&u, c->leader, sizeof c->leader);
	if (!unpack_ok(&u))
		c->leader[0] = 0;
}

int client_call(struct dfs_client *c, uint16_t type, const struct buf *req, struct buf *rep)
{
	client_errmsg[0] = 0;
	pthread_mutex_lock(&c->lock);
	int rc;
	struct proto_hdr h;
	bool group = is_group(c);
	int max_attempts = group || c->reconnect ? CLIENT_FAILOVER_TRIES : 2;
	/* With reconnect on, a call whose connection broke (the namenode restarted, or
	 * died mid-call) is sent again on a new connection, with a growing pause while
	 * the namenode does not answer, for about 20 s. Every attempt carries the same
	 * call id (PROTO_F_RETRY_ID), so a change the namenode made but could not answer
	 * is answered from its retry cache, not made twice. With a group of namenodes, a
	 * NOT_LEADER reply (the follower did nothing) moves the call to the leader it
	 * names, a broken or refused connection to the next member, and a reply slower
	 * than GROUP_SLICE_MS from a member that another one says no longer leads (it
	 * hangs) to the next member too. */
	uint64_t id = ++c->reqid;
	if (!(id & ((1ULL << CLIENT_CALL_BITS) - 1))) /* the call number wrapped */
		id = c->reqid = c->idbase | 1; /* 0 is never used */
	bool later = false; /* the last reply said: again, shortly */
	for (int attempt = 0;; attempt++) {
		if (__atomic_load_n(&c->cancelled, __ATOMIC_ACQUIRE)) {
			rc = -ECANCELED;
			break;
		}
		bool was_open = c->fd >= 0;
		/* the first retry goes at once (to the leader a follower named, or to a new
		 * connection), later ones after a growing pause: an election, or a
		 * follower naming a leader that just died, takes a few seconds */
		if (later || attempt > 1 || (attempt && !c->leader[0] && group))
			usleep(attempt < 5 ? 100000u * (unsigned)attempt : 500000u);
		later = false;
		rc = was_open ? 0 : reconnect(c);
		if (!rc)
			rc = proto_send(c->fd, type, PROTO_F_RETRY_ID, id, 0, req->data, req->len);
		if (!rc)
			rc = recv_reply(c, &h, rep);
		if (!rc && (h.reqid != id || h.type != type))
			rc = -EPROTO;
		if (!rc && h.status == PROTO_E_NOTLEADER && group) {
			note_leader(c, rep);
			net_close(c->fd); /* this member does not serve: go to the leader */
			c->fd = -1;
			c->cur++;
			if (attempt + 1 < max_attempts)
				continue;
			break;
		}
		if (!rc && h.status && (h.flags & PROTO_F_RETRY_LATER) && c->reconnect &&
		    attempt + 1 < max_attempts) {
			later = true;
			continue; /* a passing refusal (start-up safe mode): the same call again */
		}
		if (rc && c->fd >= 0) {
			net_close(c->fd); /* the stream is out of step: no further calls on it */
			c->fd = -1;
		}
		bool down = rc == -ECONNREFUSED || rc == -ECONNRESET || rc == -EPIPE ||
			    rc == -ETIMEDOUT || rc == -EHOSTUNREACH;
		if (rc && group && !was_open && c->reconnect &&
		    attempt + 1 < max_attempts && down)
			continue; /* no member answered: the group may be electing */
		if (rc && !group && c->reconnect && attempt + 1 < max_attempts && down)
			continue; /* the namenode died or restarts: wait for it */
		if (rc && group && was_open)
			c->cur++; /* the member we were on broke: try the others first */
		if (!rc || !c->reconnect || !was_open || attempt + 1 >= max_attempts ||
		    (rc != -ECONNRESET && rc != -EPIPE && rc != DEPOSED))
			break;
	}
	pthread_mutex_unlock(&c->lock);
	if (rc == DEPOSED)
		rc = -ETIMEDOUT;
	if (rc) {
		client_set_err(group ? "lost the namenode connection (no member of %s answered): %s"
				     : "lost the namenode connection%.0s: %s",
			       c->opts.namenode, strerror(-rc));
		return rc == -ECONNRESET ? -EIO : rc;
	}
	if (h.status == PROTO_E_NOTLEADER && !group) {
		note_leader(c, rep);
		client_set_err("namenode %s is not the leader (the leader is '%s'): give every "
			       "namenode (namenodes = ... or -n A,B,C)", c->opts.namenode, c->leader);
		return -EAGAIN;
	}
	if (h.status == PROTO_E_NOTLEADER) {
		client_set_err("no leader among the namenodes %s after %d tries (last hint: '%s')",
			       c->opts.namenode, max_attempts, c->leader);
		return -EAGAIN;
	}
	if (h.status) {
		client_err_from_reply(rep->data, rep->len);
		return proto_errno(h.status);
	}
	return 0;
}

int dfs_call(struct dfs_client *c, uint16_t type, const struct buf *req, struct buf *rep)
{
	buf_reset(rep);
	return client_call(c, type, req, rep);
}

void client_get_attr(struct unpack *u, struct dfs_attr *a) { attr_unpack(u, a); }

void client_get_group_status(struct unpack *u, struct dfs_group_status *g)
{
	memset(g, 0, sizeof *g);
	g->in_group = unpack_u8(u);
	g->raft_id = unpack_u32(u);
	unpack_str(u, g->state, sizeof g->state);
	unpack_str(u, g->role, sizeof g->role);
	g->term = unpack_u64(u);
	g->commit_index = unpack_u64(u);
	g->applied_index = unpack_u64(u);
	unpack_str(u, g->leader, sizeof g->leader);
}

static int attr_reply(struct buf *rep, struct dfs_attr *out)
{
	struct unpack u;
	unpack_init(&u, rep->data, rep->len);
	struct dfs_attr a;
	client_get_attr(&u, &a);
	if (!unpack_ok(&u))
		return -EPROTO;
	if (out)
		*out = a;
	return 0;
}

int client_call_attr(struct dfs_client *c, uint16_t type, struct buf *req, struct dfs_attr *out)
{
	struct buf rep = BUF_INIT;
	int rc = client_call(c, type, req, &rep);
	if (!rc)
		rc = attr_reply(&rep, out);
	buf_free(&rep);
	buf_free(req);
	return rc;
}

int client_get_locs(struct unpack *u, uint32_t *n, struct dfs_loc **locs)
{
	*n = unpack_count(u, 8);
	*locs = calloc(*n + 1, sizeof **locs);
	if (!*locs)
		return -ENOMEM;
	for (uint32_t i = 0; i < *n; i++) {
		unpack_str(u, (*locs)[i].id, sizeof (*locs)[i].id);
		unpack_str(u, (*locs)[i].addr, sizeof (*locs)[i].addr);
	}
	return unpack_ok(u) ? 0 : -EPROTO;
}

int client_dn_dial(const struct dfs_client *c, const char *addr, int *fdp, bool *connected)
{
	*connected = false;
	int fd = net_connect(addr, health_connect_timeout_ms());
	if (fd < 0)
		return fd;
	*connected = true;
	net_set_bulk(fd);
	net_set_timeout(fd, health_read_timeout_ms()); /* a writer sets its own */
	int rc = auth_client(fd, c->opts.key, PROTO_ROLE_CLIENT, c->opts.uid, c->opts.gid);
	if (rc) {
		net_close(fd);
		return rc;
	}
	*fdp = fd;
	return 0;
}
