/*
 * group: the namenode as a member of a replicated group (see group.h).
 */
#include "group.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "ns_int.h"
#include "replog.h"
#include "retrycache.h"
#include "server_int.h"

#define GROUP_FORMAT_KEY "G"

enum g_state { G_FOLLOWER, G_PROMOTING, G_FORMATTING, G_LEADER };

struct nn_group {
	struct nn_server *s;
	struct raftnode *rn;
	enum g_state state;
	uint64_t nonce;        /* marks this process's entries */
	uint64_t proposed;     /* tags of this process's proposals, in order */
	uint64_t done;         /* the last one a majority has */
	uint64_t wait_tag;     /* PROMOTING / FORMATTING: the entry awaited */
	uint64_t applied;      /* the namespace's applied index ("R") */
	int n;
	char clients[RAFTNODE_MAX][PROTO_ADDR_MAX + 1];
	char hint[PROTO_ADDR_MAX + 1];
	char marker[4200];
	struct buf empty;      /* an entry of no changes (replog) */
};

static int split(const char *list, char (*out)[PROTO_ADDR_MAX + 1], int max)
{
	int n = 0;
	for (const char *p = list; *p && n < max;) {
		p += strspn(p, " ");
		size_t len = strcspn(p, ", ");
		if (len && len <= PROTO_ADDR_MAX)
			snprintf(out[n++], PROTO_ADDR_MAX + 1, "%.*s", (int)len, p);
		p += len;
		p += strspn(p, " ");
		p += *p == ',';
	}
	return n;
}

bool nn_group_configured(const struct cfg *cfg) { return cfg->raft_addrs[0] != 0; }

static void marker_path(const struct cfg *cfg, char *out, size_t len)
{
	snprintf(out, len, "%s/LEADER", cfg->name_dir);
}

int nn_group_prepare(const struct cfg *cfg)
{
	char raft[RAFTNODE_MAX][PROTO_ADDR_MAX + 1], cl[RAFTNODE_MAX][PROTO_ADDR_MAX + 1];
	int n = split(cfg->raft_addrs, raft, RAFTNODE_MAX);
	int nc = split(cfg->namenodes, cl, RAFTNODE_MAX);
	if (cfg->raft_id < 1 || (int)cfg->raft_id > n) {
		log_error("raft_id %u is not a member of raft_addrs (%d members)", cfg->raft_id, n);
		return -EINVAL;
	}
	if (nc != n) {
		log_error("namenodes must list every member's client address, in the order of "
			  "raft_addrs (%d addresses for %d members)", nc, n);
		return -EINVAL;
	}
	char m[4200];
	marker_path(cfg, m, sizeof m);
	if (access(m, F_OK))
		return 0;
	/* a former leader: its LevelDB may hold changes that never committed */
	log_warn("this member served as leader and did not stop cleanly: rebuilding the "
		 "namespace from the group's log");
	leveldb_options_t *o = leveldb_options_create();
	char *err = NULL;
	leveldb_destroy_db(o, cfg->name_dir, &err);
	leveldb_options_destroy(o);
	if (err) {
		log_error("cannot remove the namespace in '%s': %s", cfg->name_dir, err);
		leveldb_free(err);
		return -EIO;
	}
	int rc = nn_ns_format(cfg->name_dir);
	if (rc) {
		log_error("cannot format '%s' again: %s", cfg->name_dir, strerror(-rc));
		return rc;
	}
	unlink(m);
	return 0;
}

/* Runs this program again, as it was started (see group.h: a deposed leader). */
static void restart_self(struct nn_group *g, const char *why)
{
	log_warn("%s: this namenode restarts (its namespace is rebuilt from the log)", why);
	(void)g;
	char buf[65536];
	int fd = open("/proc/self/cmdline", O_RDONLY);
	ssize_t len = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (len <= 0) {
		log_error("cannot read the command line; exiting");
		_exit(1);
	}
	buf[len] = 0;
	char *argv[256];
	int argc = 0;
	for (char *p = buf; p < buf + len && argc < 255; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	long max = sysconf(_SC_OPEN_MAX);
	for (long fd2 = 3; fd2 < (max > 0 && max < 65536 ? max : 65536); fd2++)
		fcntl((int)fd2, F_SETFD, FD_CLOEXEC); /* the new image binds the same ports */
	/* by the program's own path, so that its name stays dfs-namenode (ps, pgrep, local
	 * status); /proc/self/exe when that path is gone (the binary was replaced) */
	char exe[4096];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[el > 0 ? el : 0] = 0;
	if (el <= 0 || access(exe, X_OK))
		snprintf(exe, sizeof exe, "/proc/self/exe");
	execv(exe, argv);
	log_error("cannot run the namenode again: %s; exiting", strerror(errno));
	_exit(1);
}

static int propose(struct nn_group *g, const struct buf *changes)
{
	struct buf e = BUF_INIT;
	pack_u64(&e, g->nonce);
	buf_add(&e, changes->data, changes->len);
	int rc = raftnode_propose(g->rn, e.data, e.len, ++g->proposed);
	buf_free(&e);
	if (rc)
		restart_self(g, "cannot propose to the group's log");
	return rc;
}

static void write_marker(struct nn_group *g)
{
	int fd = open(g->marker, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fsync(fd)) {
		log_error("cannot write '%s': %s; exiting", g->marker, strerror(errno));
		_exit(1);
	}
	close(fd);
	char dir[4200];
	snprintf(dir, sizeof dir, "%s", g->s->cfg.name_dir);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

/* The format entry: every record of this member's freshly formatted namespace. */
static void propose_format(struct nn_group *g)
{
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	leveldb_iterator_t *it = leveldb_create_iterator(g->s->ns->db, g->s->ns->ropts);
	for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t kl, vl;
		const char *k = leveldb_iter_key(it, &kl);
		const char *v = leveldb_iter_value(it, &vl);
		if (kl == 1 && (k[0] == 'R' || k[0] == 'Q'))
			continue; /* the member's own */
		leveldb_writebatch_put(wb, k, kl, v, vl);
	}
	leveldb_iter_destroy(it);
	leveldb_writebatch_put(wb, GROUP_FORMAT_KEY, 1, "1", 1);
	struct buf e = BUF_INIT;
	replog_encode(wb, &e);
	/* the records are ours already; "G" too, so that no later leader formats again */
	char *err = NULL;
	leveldb_write(g->s->ns->db, g->s->ns->wopts_async, wb, &err);
	if (err) {
		log_error("namespace write failed: %s; exiting", err);
		_exit(1);
	}
	leveldb_writebatch_destroy(wb);
	propose(g, &e);
	buf_free(&e);
	g->wait_tag = g->proposed;
	g->state = G_FORMATTING;
	log_info("group: first leader of the group: the namespace's records go to the log");
}

static void serve(struct nn_group *g)
{
	struct nn_server *s = g->s;
	int rc = nn_ns_refresh(s->ns);
	if (!rc)
		rc = nn_server_load(s);
	if (rc)
		restart_self(g, "cannot load the namespace to serve it");
	g->state = G_LEADER;
	log_info("group: leader, serving (applied index %llu)", (unsigned long long)g->applied);
}

static void on_done(struct nn_group *g, uint64_t tag, int status)
{
	if (status) {
		log_warn("group: entry %llu not committed: %s", (unsigned long long)tag,
			 strerror(-status));
		restart_self(g, "leadership lost with changes in flight");
	}
	g->done = tag;
	if (g->state == G_PROMOTING && tag == g->wait_tag) {
		struct buf v = BUF_INIT;
		bool formatted = !nn_ns_db_get(g->s->ns, (const uint8_t *)GROUP_FORMAT_KEY, 1, &v);
		buf_free(&v);
		if (formatted)
			serve(g);
		else
			propose_format(g);
	} else if (g->state == G_FORMATTING && tag == g->wait_tag) {
		serve(g);
	} else if (g->state == G_LEADER) {
		nn_conn_settled(g->s, tag);
	}
}

static void on_apply(struct nn_group *g, uint64_t index, const uint8_t *data, size_t len)
{
	if (index <= g->applied)
		return; /* replayed after a restart: already in LevelDB */
	if (len < 8) {
		log_error("group: log entry %llu is malformed; stopping rather than diverge",
			  (unsigned long long)index);
		_exit(1);
	}
	bool mine = g->state != G_FOLLOWER && be64_get(data) == g->nonce;
	int rc = mine ? replog_apply(g->s->ns->db, index, g->empty.data, g->empty.len,
				     &g->applied)
		      : replog_apply(g->s->ns->db, index, data + 8, len - 8, &g->applied);
	if (rc < 0) {
		log_error("group: cannot apply log entry %llu (%s); stopping rather than diverge",
			  (unsigned long long)index, strerror(-rc));
		_exit(1);
	}
}

static void on_events(struct ev_loop *loop, int fd, int events, void *arg)
{
	(void)loop, (void)fd, (void)events;
	struct nn_group *g = arg;
	struct raftnode_event ev;
	while (raftnode_poll(g->rn, &ev) == 1) {
		if (ev.kind == RAFTNODE_EV_APPLY) {
			on_apply(g, ev.index, ev.data, ev.len);
			free(ev.data);
		} else {
			on_done(g, ev.tag, ev.status);
		}
	}
}

static void on_fast_tick(struct ev_loop *loop, void *arg)
{
	(void)loop;
	nn_group_tick(arg);
}

int nn_group_start(struct nn_server *s, struct nn_group **out)
{
	const struct cfg *cfg = &s->cfg;
	struct nn_group *g = calloc(1, sizeof *g);
	if (!g)
		return -ENOMEM;
	g->s = s;
	marker_path(cfg, g->marker, sizeof g->marker);
	g->n = split(cfg->namenodes, g->clients, RAFTNODE_MAX);
	while (!g->nonce && getrandom(&g->nonce, sizeof g->nonce, 0) != sizeof g->nonce)
		;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	replog_encode(wb, &g->empty);
	leveldb_writebatch_destroy(wb);
	int rc = replog_applied(s->ns->db, &g->applied);
	if (rc) {
		log_error("cannot read the namespace's applied log index");
		goto fail;
	}
	struct raftnode_opts o = {.id = cfg->raft_id, .election_ms =
				  (unsigned)(cfg->election_timeout * 1000)};
	char dir[4200], raft[RAFTNODE_MAX][PROTO_ADDR_MAX + 1];
	snprintf(dir, sizeof dir, "%s/raft", cfg->name_dir);
	o.dir = dir;
	o.n = split(cfg->raft_addrs, raft, RAFTNODE_MAX);
	for (int i = 0; i < o.n; i++)
		o.addrs[i] = raft[i];
	rc = raftnode_start(&o, &g->rn);
	if (rc) {
		log_error("cannot start the group member (raft in '%s'): %s", dir, strerror(-rc));
		goto fail;
	}
	if ((rc = ev_watch(s->loop, raftnode_fd(g->rn), EV_READ, on_events, g)))
		goto fail;
	ev_every(s->loop, 0.05, on_fast_tick, g);
	log_info("group: member %u of %d (raft %s), applied index %llu", cfg->raft_id, o.n,
		 raft[cfg->raft_id - 1], (unsigned long long)g->applied);
	*out = g;
	return 0;
fail:
	nn_group_stop(g);
	return rc;
}

void nn_group_stop(struct nn_group *g)
{
	if (!g)
		return;
	if (g->rn)
		raftnode_stop(g->rn);
	/* a leader whose every entry committed leaves an exact namespace behind */
	if (g->state == G_LEADER && g->done == g->proposed)
		unlink(g->marker);
	buf_free(&g->empty);
	free(g);
}

bool nn_group_serving(const struct nn_group *g) { return !g || g->state == G_LEADER; }

const char *nn_group_leader(struct nn_group *g) { return g->hint; }

void nn_group_turn_end(struct nn_group *g)
{
	struct nn_ns *ns = g->s->ns;
	if (!ns->dirty)
		return;
	if (g->state != G_LEADER) {
		/* nothing may change a follower's namespace but the log */
		log_error("group: a change outside the log on a member that does not serve");
		leveldb_writebatch_clear(ns->pending);
		ns->dirty = false;
		return;
	}
	struct buf e = BUF_INIT;
	replog_encode(ns->pending, &e);
	leveldb_writebatch_clear(ns->pending);
	ns->dirty = false;
	propose(g, &e);
	buf_free(&e);
}

uint64_t nn_group_unsettled(const struct nn_group *g)
{
	return g && g->proposed > g->done ? g->proposed : 0;
}

void nn_group_tick(struct nn_group *g)
{
	struct raftnode_status st;
	raftnode_status(g->rn, &st);
	if (st.leader_id >= 1 && (int)st.leader_id <= g->n && st.role != RAFTNODE_LEADER)
		snprintf(g->hint, sizeof g->hint, "%s", g->clients[st.leader_id - 1]);
	else
		g->hint[0] = 0;
	if (g->state == G_FOLLOWER && st.role == RAFTNODE_LEADER) {
		write_marker(g);
		g->state = G_PROMOTING;
		propose(g, &g->empty); /* applied: everything before it is too */
		g->wait_tag = g->proposed;
		log_info("group: elected leader (term %llu); catching up",
			 (unsigned long long)st.term);
	} else if (g->state != G_FOLLOWER && st.role != RAFTNODE_LEADER) {
		restart_self(g, "no longer the group's leader");
	}
}

void nn_group_status(struct nn_group *g, struct raftnode_status *st, const char **state)
{
	raftnode_status(g->rn, st);
	static const char *names[] = {"follower", "promoting", "formatting", "leader"};
	*state = names[g->state];
}
