/*
 * local: `dfs local` -- the embedded cluster on one machine: a namenode (or a group of
 * namenodes, `up --namenodes N`) and N datanodes as separate processes on 127.0.0.1, all
 * state under one directory:
 *
 *   DIR/cluster.key        the cluster key (made by the first `up`)
 *   DIR/dfs.conf           namenode address and key file, read by every client
 *   DIR/settings           the -o KEY=VALUE settings, re-applied on every start
 *   DIR/nodes              datanode ids, one per line
 *   DIR/namenode/          namespace (LevelDB)
 *   DIR/namenodes          with a group: the number of its namenodes, nn1..nnN, each
 *                          with DIR/nnK/ as its namespace and run/nnK.raft its Raft
 *                          address (chosen at the first `up`, kept: the group's
 *                          configuration is fixed when it starts)
 *   DIR/<id>/              a datanode's blocks
 *   DIR/run/<name>.pid     pid of a running daemon
 *   DIR/run/<name>.addr    the HOST:PORT it bound (kept, so restarts reuse the port)
 *   DIR/logs/<name>.log    its log
 *   DIR/s3.keys            the S3 gateway's key file (a key pair made by the first
 *                          `up`, mapped to the user who ran it); run/s3.pid, run/s3.addr
 *                          are its dfs-s3's
 *   DIR/mnt                the FUSE mount (default; run/fuse.pid is its dfs-fuse,
 *                          run/mount its mount point)
 *   DIR/tls/               with `up --tls`: a throw-away CA (ca.pem, ca.key), the
 *                          daemons' certificate (node.pem, node.key) and the clients'
 *                          (client.pem, client.key); while it exists every start uses
 *                          TLS
 *
 * Main thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cfg.h"
#include "cli.h"
#include "ev.h"
#include "fsutil.h"
#include "json.h"
#include "local_int.h"
#include "net.h"
#include "tls.h"

void path_of(const struct local *l, const char *rel, struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "%s/%s", l->dir.data, rel);
}

static void bin_path(const char *name, struct buf *out)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	buf_reset(out);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = 0;
		buf_printf(out, "%s/%s", self, name);
	} else {
		buf_adds(out, name);
	}
}

/* ---- state files ---- */

static void load_nodes(struct local *l)
{
	struct buf p = BUF_INIT, b = BUF_INIT;
	path_of(l, "nodes", &p);
	l->nids = 0;
	if (fs_read_file(p.data, &b) == 0) {
		char *save = NULL;
		for (char *t = strtok_r(b.data, "\n", &save); t && l->nids < MAX_NODES;
		     t = strtok_r(NULL, "\n", &save))
			if (*t)
				snprintf(l->ids[l->nids++], sizeof l->ids[0], "%s", t);
	}
	path_of(l, "settings", &p);
	buf_reset(&l->settings);
	fs_read_file(p.data, &l->settings);
	path_of(l, "namenodes", &p);
	buf_reset(&b);
	l->nnn = 1;
	if (fs_read_file(p.data, &b) == 0 && atoi(b.data) > 1 && atoi(b.data) <= MAX_NAMENODES)
		l->nnn = atoi(b.data);
	buf_free(&p);
	buf_free(&b);
}

void local_nn_name(const struct local *l, int k, char *out, size_t sz)
{
	if (l->nnn <= 1)
		snprintf(out, sz, "namenode");
	else
		snprintf(out, sz, "nn%d", k);
}

void local_nn_list(const struct local *l, char *out, size_t sz)
{
	size_t n = 0;
	out[0] = 0;
	for (int k = 1; k <= l->nnn && n < sz; k++) {
		char name[32], addr[256];
		local_nn_name(l, k, name, sizeof name);
		daemon_addr(l, name, addr, sizeof addr);
		n += (size_t)snprintf(out + n, sz - n, "%s%s", k > 1 ? "," : "", addr);
	}
}

/* A free port on 127.0.0.1 ("127.0.0.1:PORT"), for a group's fixed addresses. */
static int free_addr(char *out, size_t sz)
{
	int fd = net_listen("127.0.0.1:0", 1);
	if (fd < 0)
		return fd;
	net_local_addr(fd, out, sz);
	close(fd);
	return 0;
}

/* A group's members get their client and Raft addresses before the first start. */
static int group_addrs(struct local *l)
{
	for (int k = 1; k <= l->nnn && l->nnn > 1; k++) {
		char name[32], addr[256];
		local_nn_name(l, k, name, sizeof name);
		for (int f = 0; f < 2; f++) {
			const char *suffix = f ? "raft" : "addr";
			daemon_file(l, name, suffix, addr, sizeof addr);
			if (addr[0])
				continue;
			struct buf p = BUF_INIT;
			buf_printf(&p, "%s/run/%s.%s", l->dir.data, name, suffix);
			int rc = free_addr(addr, sizeof addr);
			if (!rc) {
				char line[300];
				int n = snprintf(line, sizeof line, "%s\n", addr);
				rc = fs_write_atomic(p.data, line, (size_t)n);
			}
			buf_free(&p);
			if (rc) {
				cli_error(name, "cannot choose an address: %s", strerror(-rc));
				return rc;
			}
		}
	}
	return 0;
}

static int save_nodes(struct local *l)
{
	struct buf p = BUF_INIT, b = BUF_INIT;
	for (int i = 0; i < l->nids; i++)
		buf_printf(&b, "%s\n", l->ids[i]);
	path_of(l, "nodes", &p);
	int rc = fs_write_atomic(p.data, b.data, b.len);
	buf_free(&p);
	buf_free(&b);
	return rc;
}

static bool pid_is_ours(pid_t pid)
{
	if (pid <= 0 || kill(pid, 0))
		return false;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	struct buf b = BUF_INIT;
	bool ok = false;
	if (fs_read_file(path, &b) == 0) {
		/* "pid (comm) S ..." : alive, not a zombie, and one of our daemons */
		char *rp = strrchr(b.data, ')');
		ok = strstr(b.data, "(dfs-") && rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
	}
	buf_free(&b);
	return ok;
}

/* The pid of daemon `name` when it runs, else 0. */
pid_t running_pid(const struct local *l, const char *name)
{
	struct buf p = BUF_INIT, b = BUF_INIT;
	buf_printf(&p, "%s/run/%s.pid", l->dir.data, name);
	pid_t pid = 0;
	if (fs_read_file(p.data, &b) == 0)
		pid = (pid_t)atoi(b.data);
	buf_free(&p);
	buf_free(&b);
	return pid_is_ours(pid) ? pid : 0;
}

/* The address daemon `name` bound last (kept across restarts), or "". */
/* The HOST:PORT a daemon wrote in run/NAME.SUFFIX ("" when none). */
void daemon_file(const struct local *l, const char *name, const char *suffix, char *out,
			size_t sz)
{
	struct buf p = BUF_INIT, b = BUF_INIT;
	buf_printf(&p, "%s/run/%s.%s", l->dir.data, name, suffix);
	out[0] = 0;
	if (fs_read_file(p.data, &b) == 0) {
		char *nl = strchr(b.data, '\n');
		if (nl)
			*nl = 0;
		snprintf(out, sz, "%s", b.data);
	}
	buf_free(&p);
	buf_free(&b);
}

void daemon_addr(const struct local *l, const char *name, char *out, size_t sz)
{
	daemon_file(l, name, "addr", out, sz);
}

/* ---- starting daemons ---- */

static void show_log_tail(const struct local *l, const char *name)
{
	struct buf p = BUF_INIT, b = BUF_INIT;
	buf_printf(&p, "%s/logs/%s.log", l->dir.data, name);
	if (fs_read_file(p.data, &b) == 0 && b.len) {
		size_t start = b.len, lines = 0;
		while (start > 0 && lines < 6)
			if (b.data[--start] == '\n')
				lines++;
		fprintf(stderr, "--- last lines of %s ---\n%s", p.data, b.data + start);
	}
	buf_free(&p);
	buf_free(&b);
}

static pid_t spawn(const struct local *l, const char *name, char **args)
{
	struct buf logp = BUF_INIT, pidp = BUF_INIT;
	buf_printf(&logp, "%s/logs/%s.log", l->dir.data, name);
	buf_printf(&pidp, "%s/run/%s.pid", l->dir.data, name);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		int in = open("/dev/null", O_RDONLY);
		int out = open(logp.data, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in < 0 || out < 0)
			_exit(127);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		execv(args[0], args);
		dprintf(2, "cannot run %s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
	if (pid > 0) {
		char s[32];
		int n = snprintf(s, sizeof s, "%d\n", (int)pid);
		fs_write_atomic(pidp.data, s, (size_t)n);
	}
	buf_free(&logp);
	buf_free(&pidp);
	return pid;
}

/* Waits until the daemon wrote its address file; false if it died first. */
static bool wait_addr(const struct local *l, const char *name, pid_t pid, char *addr, size_t sz)
{
	double deadline = ev_now() + 20;
	while (ev_now() < deadline) {
		daemon_addr(l, name, addr, sz);
		if (addr[0])
			return true;
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			return false;
		usleep(20000);
	}
	return false;
}

static void add_settings(const struct local *l, char **args, int *n, struct buf *store)
{
	/* store holds the strings; args point into it (store is not reallocated after) */
	for (size_t off = 0; off < l->settings.len;) {
		char *line = l->settings.data + off;
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		off += len + 1;
		if (!len)
			continue;
		args[(*n)++] = "--set";
		args[(*n)++] = store->data + store->len;
		buf_add(store, line, len);
		buf_addc(store, 0); /* the NUL ends this argument */
	}
}

/* Does DIR/tls hold a CA (the cluster uses TLS)? */
static bool uses_tls(const struct local *l)
{
	struct buf p = BUF_INIT;
	path_of(l, "tls/ca.pem", &p);
	bool yes = access(p.data, R_OK) == 0;
	buf_free(&p);
	return yes;
}

/* Makes DIR/tls (a new CA and certificates) unless it is there already. */
static int make_tls(struct local *l)
{
	if (l->tls)
		return 0;
	struct buf p = BUF_INIT, err = BUF_INIT;
	path_of(l, "tls", &p);
	static const char *const names[] = {"node", "client", NULL};
	int rc = fs_mkdir_p(p.data, 0700);
	if (rc)
		buf_printf(&err, "cannot create: %s", strerror(-rc));
	else
		rc = tls_make_local(p.data, names, &err);
	if (rc)
		cli_error(p.data, "%s", err.data);
	else
		l->tls = true;
	buf_free(&p);
	buf_free(&err);
	return rc;
}

/* Turns TLS on in this process as the cluster's client (for wait_ready). */
static int client_tls(const struct local *l)
{
	struct buf cert = BUF_INIT, key = BUF_INIT, ca = BUF_INIT, err = BUF_INIT;
	path_of(l, "tls/client.pem", &cert);
	path_of(l, "tls/client.key", &key);
	path_of(l, "tls/ca.pem", &ca);
	int rc = tls_init(cert.data, key.data, ca.data, &err);
	if (rc)
		cli_error(l->dir.data, "TLS: %s", err.data);
	buf_free(&cert);
	buf_free(&key);
	buf_free(&ca);
	buf_free(&err);
	return rc;
}

static int start_daemon(struct local *l, const char *name, bool is_namenode, const char *nn_addr)
{
	if (running_pid(l, name))
		return 0;
	char old[256], listen[300], addr[256];
	daemon_addr(l, name, old, sizeof old);
	snprintf(listen, sizeof listen, "%s", old[0] ? old : "127.0.0.1:0");
	struct buf bin = BUF_INIT, key = BUF_INIT, data = BUF_INIT, addrp = BUF_INIT,
		   logp = BUF_INIT, store = BUF_INIT, httpp = BUF_INIT, cert = BUF_INIT,
		   tkey = BUF_INIT, ca = BUF_INIT;
	path_of(l, "tls/node.pem", &cert);
	path_of(l, "tls/node.key", &tkey);
	path_of(l, "tls/ca.pem", &ca);
	buf_grow(&store, l->settings.len * 2 + 64);
	bin_path(is_namenode ? "dfs-namenode" : "dfs-datanode", &bin);
	path_of(l, "cluster.key", &key);
	path_of(l, name, &data);
	buf_printf(&addrp, "%s/run/%s.addr", l->dir.data, name);
	buf_printf(&httpp, "%s/run/%s.http", l->dir.data, name);
	buf_printf(&logp, "%s/logs/%s.log", l->dir.data, name);
	int rc = 0;
	/* a group's member: its place, and every member's addresses (fixed) */
	char g_id[32] = "", g_raft[1100] = "", g_nns[1100] = "";
	if (is_namenode && l->nnn > 1) {
		snprintf(g_id, sizeof g_id, "raft_id=%d", atoi(name + 2));
		size_t n = (size_t)snprintf(g_raft, sizeof g_raft, "raft_addrs=");
		for (int k = 1; k <= l->nnn && n < sizeof g_raft; k++) {
			char nm[32], a[256];
			local_nn_name(l, k, nm, sizeof nm);
			daemon_file(l, nm, "raft", a, sizeof a);
			n += (size_t)snprintf(g_raft + n, sizeof g_raft - n, "%s%s", k > 1 ? "," : "", a);
		}
		n = (size_t)snprintf(g_nns, sizeof g_nns, "namenodes=");
		local_nn_list(l, g_nns + n, sizeof g_nns - n);
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		char *args[64 + 2 * MAX_NODES];
		int n = 0;
		args[n++] = bin.data;
		if (!is_namenode) {
			args[n++] = "--namenode";
			args[n++] = (char *)nn_addr;
			args[n++] = "--id";
			args[n++] = (char *)name;
			args[n++] = "--data";
		} else {
			args[n++] = "--dir";
		}
		args[n++] = data.data;
		args[n++] = "--key";
		args[n++] = key.data;
		args[n++] = "--listen";
		args[n++] = listen;
		args[n++] = "--port-file";
		args[n++] = addrp.data;
		/* status page and metrics on a free local port (run/NAME.http) */
		args[n++] = "--http";
		args[n++] = "127.0.0.1:0";
		args[n++] = "--http-port-file";
		args[n++] = httpp.data;
		if (l->tls) {
			args[n++] = "--tls-cert";
			args[n++] = cert.data;
			args[n++] = "--tls-key";
			args[n++] = tkey.data;
			args[n++] = "--tls-ca";
			args[n++] = ca.data;
		}
		add_settings(l, args, &n, &store);
		if (g_id[0]) {
			args[n++] = "--set";
			args[n++] = g_id;
			args[n++] = "--set";
			args[n++] = g_raft;
			args[n++] = "--set";
			args[n++] = g_nns;
		}
		args[n] = NULL;
		unlink(addrp.data);
		pid_t pid = spawn(l, name, args);
		if (pid < 0) {
			rc = -errno;
			break;
		}
		if (wait_addr(l, name, pid, addr, sizeof addr)) {
			rc = 0;
			break;
		}
		rc = -EIO;
		if (!old[0] || attempt || g_id[0]) /* a member's address is the group's */
			break;
		/* the old port may be taken by now: any free port will do */
		fprintf(stderr, "dfs: local: %s could not reuse %s; trying a new port\n", name, old);
		snprintf(listen, sizeof listen, "127.0.0.1:0");
		buf_reset(&store);
	}
	if (rc) {
		cli_error(name, "did not start (log: %s)", logp.data);
		show_log_tail(l, name);
	}
	buf_free(&bin);
	buf_free(&key);
	buf_free(&data);
	buf_free(&addrp);
	buf_free(&httpp);
	buf_free(&logp);
	buf_free(&store);
	buf_free(&cert);
	buf_free(&tkey);
	buf_free(&ca);
	return rc;
}

static int write_conf(struct local *l)
{
	char first[32], nn[256], list[1100];
	local_nn_name(l, 1, first, sizeof first);
	daemon_addr(l, first, nn, sizeof nn);
	local_nn_list(l, list, sizeof list);
	struct buf b = BUF_INIT, p = BUF_INIT;
	buf_printf(&b, "# written by 'dfs local up'\nconfig_version = %d\nnamenode = %s\n"
		   "key_file = %s/cluster.key\n", CFG_VERSION, nn, l->dir.data);
	if (l->nnn > 1)
		buf_printf(&b, "namenodes = %s\n", list);
	if (l->tls)
		buf_printf(&b, "tls_cert = %s/tls/client.pem\ntls_key = %s/tls/client.key\n"
			       "tls_ca = %s/tls/ca.pem\n",
			   l->dir.data, l->dir.data, l->dir.data);
	path_of(l, "dfs.conf", &p);
	int rc = fs_write_atomic(p.data, b.data, b.len);
	buf_free(&b);
	buf_free(&p);
	return rc;
}

/* Waits until every datanode of the cluster is live at the namenode. */
static int wait_ready(struct local *l, double timeout)
{
	struct dfs_client_opts o;
	memset(&o, 0, sizeof o);
	struct buf key = BUF_INIT;
	path_of(l, "cluster.key", &key);
	local_nn_list(l, o.namenode, sizeof o.namenode); /* a group: the client finds the leader */
	int rc = auth_key_load(key.data, o.key);
	buf_free(&key);
	if (rc)
		return rc;
	o.uid = (uint32_t)getuid();
	o.gid = (uint32_t)getgid();
	double deadline = ev_now() + timeout;
	rc = -ETIMEDOUT;
	while (ev_now() < deadline) {
		struct dfs_client *c;
		if (dfs_connect(&o, &c) == 0) {
			struct dfs_report r;
			if (dfs_report(c, &r) == 0) {
				int live = 0;
				for (int i = 0; i < l->nids; i++)
					for (uint32_t k = 0; k < r.ndatanodes; k++)
						if (!strcmp(r.datanodes[k].id, l->ids[i]) &&
						    r.datanodes[k].state == PROTO_DN_LIVE)
							live++;
				dfs_report_free(&r);
				if (live == l->nids) {
					dfs_close(c);
					return 0;
				}
			}
			dfs_close(c);
		}
		usleep(50000);
	}
	return rc;
}

static int stop_pid(pid_t pid, bool force)
{
	kill(pid, force ? SIGKILL : SIGTERM);
	double deadline = ev_now() + 15;
	while (pid_is_ours(pid)) {
		if (ev_now() > deadline) {
			kill(pid, SIGKILL);
			deadline = ev_now() + 5;
			force = true;
		}
		waitpid(pid, NULL, WNOHANG);
		usleep(20000);
	}
	return 0;
}

static int stop_daemon(struct local *l, const char *name, bool force)
{
	pid_t pid = running_pid(l, name);
	if (!pid)
		return -ESRCH;
	stop_pid(pid, force);
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/run/%s.pid", l->dir.data, name);
	unlink(p.data);
	buf_free(&p);
	return 0;
}

/* ---- the mount ---- */

/* True when path is a mount point of a dfs-fuse (per /proc/self/mountinfo). */
static bool is_dfs_mount(const char *path)
{
	char dev[64];
	return fs_find_mount(path, "fuse.dfs", dev, sizeof dev) == 0;
}

/* A dfs mount at path that answers: listed in mountinfo, and its root stats (a mount
 * whose dfs-fuse died answers ENOTCONN). */
static bool is_live_dfs_mount(const char *path)
{
	struct stat st;
	return is_dfs_mount(path) && stat(path, &st) == 0;
}

/* Runs argv (a command on PATH) and waits: its exit status, or -1. */
static int run_quiet(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * A dfs mount at path (absolute) whose dfs-fuse is gone -- killed with -9, it left the
 * mount behind, answering ENOTCONN -- is detached (fusermount3 -u -z, else umount -l),
 * so that a new mount takes its place instead of hiding under it or being mistaken
 * for it. 0 when no dead mount is left there, else -ENOTCONN (said on stderr).
 */
static int clear_dead_mount(const char *path)
{
	for (int tries = 0; tries < 8; tries++) { /* mounts may be stacked */
		struct stat st;
		if (stat(path, &st) == 0 || errno != ENOTCONN)
			return 0;
		if (!is_dfs_mount(path))
			break; /* someone else's dead mount: not ours to remove */
		fprintf(stderr, "dfs: clearing a dead mount at %s (its dfs-fuse is gone)\n", path);
		char *fu[] = {"fusermount3", "-u", "-z", (char *)path, NULL};
		char *um[] = {"umount", "-l", (char *)path, NULL};
		if (run_quiet(fu) != 0 && run_quiet(um) != 0)
			break;
	}
	struct stat st;
	if (stat(path, &st) == 0 || errno != ENOTCONN)
		return 0;
	cli_error(path, "a dead mount is in the way and cannot be cleared (try "
			"`fusermount3 -u -z %s`)", path);
	return -ENOTCONN;
}

/* path made absolute (not resolved: a dead mount point cannot be) into out. */
static void absolute_path(const char *path, char *out, size_t sz)
{
	char cwd[PATH_MAX];
	int n = path[0] == '/' || !getcwd(cwd, sizeof cwd)
			? snprintf(out, sz, "%s", path)
			: snprintf(out, sz, "%s/%s", cwd, path);
	if (n < 0 || (size_t)n >= sz)
		snprintf(out, sz, "%s", path); /* too long: as given */
}

/* The mount point of the running mount, or "" (into out). */
void current_mount(const struct local *l, char *out, size_t sz)
{
	out[0] = 0;
	if (!running_pid(l, "fuse"))
		return;
	struct buf p = BUF_INIT, b = BUF_INIT;
	path_of(l, "run/mount", &p);
	if (fs_read_file(p.data, &b) == 0 && is_live_dfs_mount(b.data))
		snprintf(out, sz, "%s", b.data);
	buf_free(&p);
	buf_free(&b);
}

/* Starts dfs-fuse for the local cluster at mnt; warns and returns -errno on failure. */
static int local_mount(struct local *l, const char *mnt, const char *fuse_opts)
{
	char cur[PATH_MAX];
	current_mount(l, cur, sizeof cur);
	if (cur[0])
		return 0;
	char abs[PATH_MAX];
	absolute_path(mnt, abs, sizeof abs);
	int rc = clear_dead_mount(abs);
	if (rc)
		return rc;
	rc = fs_mkdir_p(mnt, 0755);
	if (rc) {
		cli_error(mnt, "cannot create the mount point: %s", strerror(-rc));
		return rc;
	}
	char real[PATH_MAX];
	if (!realpath(mnt, real)) {
		cli_error(mnt, "%s", strerror(errno));
		return -errno;
	}
	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		fprintf(stderr, "dfs: local: not mounting at %s: /dev/fuse is not usable here "
				"(%s)\n", real, strerror(errno));
		return -ENODEV;
	}
	struct buf bin = BUF_INIT, p = BUF_INIT;
	bin_path("dfs-fuse", &bin);
	char *args[12];
	int n = 0;
	args[n++] = bin.data;
	args[n++] = "-f";
	args[n++] = "--dir";
	args[n++] = l->dir.data;
	if (fuse_opts) {
		args[n++] = "-o";
		args[n++] = (char *)fuse_opts;
	}
	args[n++] = real;
	args[n] = NULL;
	path_of(l, "run/mount", &p);
	fs_write_atomic(p.data, real, strlen(real));
	pid_t pid = spawn(l, "fuse", args);
	rc = pid < 0 ? -errno : -ETIMEDOUT;
	double deadline = ev_now() + 15;
	while (pid > 0 && ev_now() < deadline) {
		if (is_live_dfs_mount(real)) {
			rc = 0;
			break;
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			rc = -EIO;
			break;
		}
		usleep(20000);
	}
	if (rc) {
		cli_error(real, "the FUSE mount did not come up (log: %s/logs/fuse.log)",
			  l->dir.data);
		show_log_tail(l, "fuse");
		if (pid > 0)
			stop_pid(pid, true);
	}
	buf_free(&bin);
	buf_free(&p);
	return rc;
}

static void local_unmount(struct local *l)
{
	char cur[PATH_MAX];
	current_mount(l, cur, sizeof cur);
	/* SIGTERM: dfs-fuse leaves its loop and unmounts (flushing open files first) */
	stop_daemon(l, "fuse", false);
	if (cur[0] && is_dfs_mount(cur)) { /* still there (busy): detach it */
		pid_t pid = fork();
		if (pid == 0) {
			execlp("fusermount3", "fusermount3", "-u", "-z", cur, (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
}

/* ---- the S3 gateway ---- */

/* The key pair of DIR/s3.keys (its first line) into access and secret; false if none. */
bool s3_keys(const struct local *l, char *access, char *secret)
{
	struct buf p = BUF_INIT, b = BUF_INIT;
	path_of(l, "s3.keys", &p);
	bool ok = fs_read_file(p.data, &b) == 0 && sscanf(b.data, "%63s %63s", access, secret) == 2;
	buf_free(&p);
	buf_free(&b);
	return ok;
}

/* Starts dfs-s3 for the local cluster (same port as last time); warns on failure. */
static int local_s3(struct local *l)
{
	char access[64], secret[64], addr[256];
	struct buf p = BUF_INIT, bin = BUF_INIT, dir = BUF_INIT, listen = BUF_INIT,
		   cert = BUF_INIT, key = BUF_INIT, ca = BUF_INIT, ready = BUF_INIT;
	int rc = 0;
	path_of(l, "s3.keys", &p);
	if (!s3_keys(l, access, secret)) {
		uint8_t r[30];
		if (RAND_bytes(r, sizeof r) != 1)
			return -EIO;
		char hx[61];
		for (int i = 0; i < 30; i++)
			snprintf(hx + 2 * i, 3, "%02X", r[i]);
		struct buf k = BUF_INIT;
		buf_printf(&k, "DFS%.17s %.40s %u:%u\n", hx, hx + 20, (unsigned)getuid(),
			   (unsigned)getgid());
		rc = fs_write_atomic(p.data, k.data, k.len);
		chmod(p.data, 0600);
		buf_free(&k);
	}
	daemon_addr(l, "s3", addr, sizeof addr);
	buf_adds(&listen, addr[0] ? addr : "127.0.0.1:0");
	path_of(l, "run/s3.addr", &ready);
	unlink(ready.data);
	bin_path("dfs-s3", &bin);
	char *args[20];
	int n = 0;
	args[n++] = bin.data;
	args[n++] = "--dir";
	args[n++] = l->dir.data;
	args[n++] = "--listen";
	args[n++] = listen.data;
	args[n++] = "--access-keys";
	args[n++] = p.data;
	args[n++] = "--ready-file";
	args[n++] = ready.data;
	if (l->tls) {
		path_of(l, "tls/node.pem", &cert);
		path_of(l, "tls/node.key", &key);
		path_of(l, "tls/ca.pem", &ca);
		args[n++] = "--tls-cert";
		args[n++] = cert.data;
		args[n++] = "--tls-key";
		args[n++] = key.data;
		args[n++] = "--tls-ca";
		args[n++] = ca.data;
	}
	args[n] = NULL;
	pid_t pid = rc ? -1 : spawn(l, "s3", args);
	if (pid < 0 || !wait_addr(l, "s3", pid, addr, sizeof addr)) {
		fprintf(stderr, "dfs: local: the S3 gateway did not start (log: %s/logs/s3.log)\n",
			l->dir.data);
		show_log_tail(l, "s3");
		rc = -EIO;
	}
	buf_free(&p);
	buf_free(&bin);
	buf_free(&dir);
	buf_free(&listen);
	buf_free(&cert);
	buf_free(&key);
	buf_free(&ca);
	buf_free(&ready);
	return rc;
}

/* ---- subcommands ---- */

static int ensure_layout(struct local *l)
{
	struct buf p = BUF_INIT;
	int rc = fs_mkdir_p(l->dir.data, 0755);
	if (!rc) {
		path_of(l, "run", &p);
		rc = fs_mkdir_p(p.data, 0755);
	}
	if (!rc) {
		path_of(l, "logs", &p);
		rc = fs_mkdir_p(p.data, 0755);
	}
	if (rc)
		cli_error(l->dir.data, "cannot create: %s", strerror(-rc));
	buf_free(&p);
	return rc;
}

static int format_one(struct local *l, const char *name)
{
	struct buf p = BUF_INIT, bin = BUF_INIT, key = BUF_INIT;
	buf_printf(&p, "%s/%s/CURRENT", l->dir.data, name);
	int rc = 0;
	if (access(p.data, F_OK) != 0) {
		path_of(l, name, &p);
		path_of(l, "cluster.key", &key);
		bin_path("dfs-namenode", &bin);
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
			int devnull = open("/dev/null", O_WRONLY);
			if (devnull >= 0)
				dup2(devnull, 1);
			execl(bin.data, bin.data, "format", "--dir", p.data, "--key", key.data,
			      (char *)NULL);
			_exit(127);
		}
		int st = 0;
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			cli_error(l->dir.data, "cannot format the namenode (%s)", bin.data);
			rc = -EIO;
		}
	}
	buf_free(&p);
	buf_free(&bin);
	buf_free(&key);
	return rc;
}

/* Formats every namenode that has no namespace yet; a group's members share DIR's
 * cluster.key and datanode.key, and the first leader's records become everyone's. */
static int format_if_new(struct local *l)
{
	for (int k = 1; k <= l->nnn; k++) {
		char name[32];
		local_nn_name(l, k, name, sizeof name);
		if (format_one(l, name))
			return -EIO;
	}
	return 0;
}

/* Starts every namenode (a group's members each in turn: none waits for the others). */
static int start_namenodes(struct local *l)
{
	for (int k = 1; k <= l->nnn; k++) {
		char name[32];
		local_nn_name(l, k, name, sizeof name);
		if (start_daemon(l, name, true, NULL))
			return 1;
	}
	return 0;
}

static int local_up(struct local *l, int datanodes, int namenodes, const char *settings_arg,
		    const char *mnt, const char *fuse_opts, bool tls, bool s3)
{
	int rc = ensure_layout(l);
	if (rc)
		return 1;
	if ((tls && make_tls(l)) || (l->tls && client_tls(l)))
		return 1;
	load_nodes(l);
	if (settings_arg) {
		struct buf p = BUF_INIT;
		path_of(l, "settings", &p);
		rc = fs_write_atomic(p.data, settings_arg, strlen(settings_arg));
		buf_free(&p);
		buf_reset(&l->settings);
		buf_adds(&l->settings, settings_arg);
	}
	if (datanodes < 0)
		datanodes = l->nids ? l->nids : 3;
	if (datanodes > MAX_NODES) {
		cli_error(NULL, "at most %d datanodes", MAX_NODES);
		return 2;
	}
	if (namenodes > 0 && namenodes != l->nnn) {
		struct buf p = BUF_INIT;
		path_of(l, l->nnn > 1 ? "nn1" : "namenode", &p);
		bool exists = access(p.data, F_OK) == 0;
		buf_free(&p);
		if (exists) {
			cli_error(l->dir.data, "this cluster has %d namenode%s; --namenodes cannot "
				  "change it", l->nnn, l->nnn > 1 ? "s" : "");
			return 2;
		}
		l->nnn = namenodes;
		char v[16];
		int n = snprintf(v, sizeof v, "%d\n", namenodes);
		path_of(l, "namenodes", &p);
		rc = fs_write_atomic(p.data, v, (size_t)n);
		buf_free(&p);
		if (rc)
			return 1;
	}
	while (l->nids < datanodes) {
		snprintf(l->ids[l->nids], sizeof l->ids[0], "dn%d", l->nids + 1);
		l->nids++;
	}
	if (save_nodes(l) || format_if_new(l) || group_addrs(l))
		return 1;
	if (start_namenodes(l))
		return 1;
	if (write_conf(l)) {
		cli_error(l->dir.data, "cannot write dfs.conf");
		return 1;
	}
	char nn[1100];
	local_nn_list(l, nn, sizeof nn); /* a group's datanodes follow its leader */
	for (int i = 0; i < l->nids; i++)
		if (start_daemon(l, l->ids[i], false, nn))
			return 1;
	if (wait_ready(l, 30)) {
		cli_error(l->dir.data, "datanodes did not register within 30s (logs in %s/logs)",
			  l->dir.data);
		return 1;
	}
	char mounted[PATH_MAX] = "";
	if (mnt && !local_mount(l, mnt, fuse_opts))
		current_mount(l, mounted, sizeof mounted);
	bool s3_up = s3 && (running_pid(l, "s3") || !local_s3(l));
	if (!cli_g.quiet) {
		printf("local cluster up: namenode%s %s, %d datanodes, state in %s%s\n",
		       l->nnn > 1 ? "s" : "", nn, l->nids, l->dir.data,
		       l->tls ? ", TLS on every connection" : "");
		char web[256], first[32];
		local_nn_name(l, 1, first, sizeof first);
		daemon_file(l, first, "http", web, sizeof web);
		if (web[0])
			printf("status page: %s://%s/\n", l->tls ? "https" : "http", web);
		if (mounted[0])
			printf("mounted at %s\n", mounted);
		char s3addr[256], access[64], secret[64];
		daemon_addr(l, "s3", s3addr, sizeof s3addr);
		if (s3_up && s3_keys(l, access, secret))
			printf("S3 endpoint: %s://%s (region us-east-1, access key %s, secret key %s)\n",
			       l->tls ? "https" : "http", s3addr, access, secret);
	}
	return 0;
}

static int local_down(struct local *l)
{
	load_nodes(l);
	local_unmount(l);
	int stopped = stop_daemon(l, "s3", false) == 0;
	for (int i = 0; i < l->nids; i++)
		stopped += stop_daemon(l, l->ids[i], false) == 0;
	for (int k = 1; k <= l->nnn; k++) {
		char name[32];
		local_nn_name(l, k, name, sizeof name);
		stopped += stop_daemon(l, name, false) == 0;
	}
	if (!cli_g.quiet)
		printf("local cluster in %s stopped (%d processes)\n", l->dir.data, stopped);
	return 0;
}

static int find_node(struct local *l, const char *id)
{
	load_nodes(l);
	for (int k = 1; k <= l->nnn; k++) {
		char name[32];
		local_nn_name(l, k, name, sizeof name);
		if (!strcmp(id, name))
			return -1;
	}
	for (int i = 0; i < l->nids; i++)
		if (!strcmp(l->ids[i], id))
			return i;
	cli_error(id, "no such node in the local cluster in %s", l->dir.data);
	return -2;
}

static int opt_datanodes(void *datanodes, const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (*end || v < 1 || v > MAX_NODES) {
		cli_error(NULL, "--datanodes must be between 1 and %d", MAX_NODES);
		return 2;
	}
	*(int *)datanodes = (int)v;
	return 0;
}

static int opt_namenodes(void *namenodes, const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (*end || v < 1 || v > MAX_NAMENODES || (v > 1 && v % 2 == 0)) {
		cli_error(NULL, "--namenodes must be 1 or an odd number up to %d (a majority "
			  "must survive the loss of a member)", MAX_NAMENODES);
		return 2;
	}
	*(int *)namenodes = (int)v;
	return 0;
}

/* -o KEY=VALUE: checked now, appended to the settings (a struct buf) as a line. */
static int opt_setting(void *settings, const char *kv)
{
	struct cfg scratch;
	struct buf err = BUF_INIT;
	cfg_defaults(&scratch);
	int rc = cfg_set_kv(&scratch, kv, &err);
	if (rc)
		cli_error(NULL, "-o %s: %s", kv, err.data);
	else
		buf_printf(settings, "%s\n", kv);
	buf_free(&err);
	return rc ? 2 : 0;
}

int cmd_local(int argc, char **argv)
{
	int datanodes = -1, namenodes = 0;
	bool json = false, force = false, no_mount = false, tls = false, no_s3 = false;
	const char *mnt = NULL, *fuse_opts = NULL;
	struct buf settings = BUF_INIT;
	const struct cli_opt opts[] = {
		CLI_CALLBACK(0, "datanodes", opt_datanodes, &datanodes),
		CLI_CALLBACK(0, "namenodes", opt_namenodes, &namenodes),
		CLI_CALLBACK('o', NULL, opt_setting, &settings),
		CLI_STRING(0, "mount", &mnt),
		CLI_BOOL(0, "no-mount", &no_mount),
		CLI_JSON(&json),
		CLI_BOOL(0, "kill", &force),
		CLI_STRING(0, "fuse-opts", &fuse_opts),
		CLI_BOOL(0, "tls", &tls),
		CLI_BOOL(0, "no-s3", &no_s3),
		CLI_END};
	int st = cli_parse_options("local", argc, argv, opts, 1, CLI_ANY);
	bool have_settings = settings.len > 0;
	if (st >= 0) {
		buf_free(&settings);
		return st;
	}
	const char *sub = argv[optind];
	struct local l = {.dir = BUF_INIT, .settings = BUF_INIT};
	locate_local_dir(cli_g.dir, &l.dir);
	l.tls = uses_tls(&l);
	int status = 0;
	if (!strcmp(sub, "up")) {
		struct buf defmnt = BUF_INIT;
		path_of(&l, "mnt", &defmnt);
		status = local_up(&l, datanodes, namenodes, have_settings ? settings.data : NULL,
				  no_mount ? NULL : mnt ? mnt : defmnt.data, fuse_opts, tls, !no_s3);
		buf_free(&defmnt);
	} else if (!strcmp(sub, "down")) {
		status = local_down(&l);
	} else if (!strcmp(sub, "status")) {
		load_nodes(&l);
		status = l.nnn > 1 && l.tls && client_tls(&l) ? 1 : local_status(&l, json);
	} else if (!strcmp(sub, "stop-node") || !strcmp(sub, "start-node")) {
		if (optind + 1 >= argc)
			return cli_usage("local", false);
		const char *id = argv[optind + 1];
		int i = find_node(&l, id);
		if (i == -2) {
			status = 1;
		} else if (sub[2] == 'o') { /* stop-node */
			if (stop_daemon(&l, id, force)) {
				cli_error(id, "is not running");
				status = 1;
			}
		} else {
			char nn[1100];
			local_nn_list(&l, nn, sizeof nn);
			status = start_daemon(&l, id, i == -1, nn) ? 1 : 0;
			if (!status && i == -1)
				write_conf(&l);
		}
	} else if (!strcmp(sub, "add-node")) {
		load_nodes(&l);
		status = local_up(&l, l.nids + 1, 0, NULL, NULL, NULL, false, false);
		if (!status)
			printf("added datanode %s\n", l.ids[l.nids - 1]);
	} else {
		cli_error(sub, "unknown local command (up, down, status, stop-node, start-node, "
			       "add-node)");
		status = 2;
	}
	buf_free(&l.dir);
	buf_free(&l.settings);
	buf_free(&settings);
	return status;
}

/* dfs-fuse's command line, as `dfs mount` builds it. */
struct fuse_args {
	char *v[32];
	int n;
};

static int opt_foreground(void *args, const char *arg)
{
	(void)arg;
	struct fuse_args *a = args;
	a->v[a->n++] = "-f";
	return 0;
}

static int opt_fuse_o(void *args, const char *arg)
{
	struct fuse_args *a = args;
	if (a->n > 20)
		return cli_usage("mount", false);
	a->v[a->n++] = "-o";
	a->v[a->n++] = (char *)arg;
	return 0;
}

int cmd_mount(int argc, char **argv)
{
	struct fuse_args fa = {.n = 0};
	char **args = fa.v;
	struct buf bin = BUF_INIT;
	bin_path("dfs-fuse", &bin);
	args[fa.n++] = bin.data;
	const struct cli_opt opts[] = {CLI_FLAG_CALLBACK('f', NULL, opt_foreground, &fa),
				       CLI_CALLBACK('o', NULL, opt_fuse_o, &fa), CLI_END};
	int st = cli_parse_options("mount", argc, argv, opts, 1, 1);
	if (st >= 0)
		return st;
	int n = fa.n;
	const char *gl[][2] = {{"-n", cli_g.namenode}, {"--dir", cli_g.dir},
			       {"--key", cli_g.key}, {"--config", cli_g.config}};
	for (size_t i = 0; i < sizeof gl / sizeof gl[0]; i++)
		if (gl[i][1]) {
			args[n++] = (char *)gl[i][0];
			args[n++] = (char *)gl[i][1];
		}
	args[n++] = argv[optind];
	args[n] = NULL;
	char abs[PATH_MAX];
	absolute_path(argv[optind], abs, sizeof abs);
	if (clear_dead_mount(abs))
		return 1;
	fflush(NULL);
	execv(args[0], args);
	cli_error(args[0], "cannot run: %s", strerror(errno));
	return 1;
}
