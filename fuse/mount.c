/*
 * mount: the helpers every operation file uses, and the node table (see mount.h).
 */
#include "mount.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "ofile.h"

struct fs *fs_the;

struct dfs_client *fs_conn(void)
{
	static unsigned next;
	static __thread int mine = -1;
	if (mine < 0)
		mine = (int)(__atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) % fs_the->npool);
	return fs_the->pool[mine];
}

/* ---- the fresh-directory slot (see mount.h) ---- */

static struct {
	pthread_mutex_t lock;
	uint64_t mutations; /* begun on this mount */
	struct dfs_attr dir;
	uint64_t at;        /* mutations when it was noted */
	int64_t until;      /* clock_wall_ns() */
} fresh = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void mutation_begins(void)
{
	__atomic_fetch_add(&fresh.mutations, 1, __ATOMIC_SEQ_CST);
}

uint64_t fs_mutations(void)
{
	return __atomic_load_n(&fresh.mutations, __ATOMIC_SEQ_CST);
}

void fs_fresh_dir(const struct dfs_attr *dir, uint64_t seen)
{
	if (!dir->ino || fs_attr_timeout() <= 0)
		return;
	pthread_mutex_lock(&fresh.lock);
	if (fs_mutations() == seen) { /* no other change began while it was made */
		fresh.dir = *dir;
		fresh.at = seen;
		fresh.until = clock_wall_ns() + (int64_t)(fs_attr_timeout() * 1e9);
	}
	pthread_mutex_unlock(&fresh.lock);
}

bool fs_fresh_take(uint64_t ino, struct dfs_attr *out)
{
	pthread_mutex_lock(&fresh.lock);
	bool ok = fresh.dir.ino == ino && fresh.at == fs_mutations() &&
		  clock_wall_ns() < fresh.until;
	if (ok)
		*out = fresh.dir;
	if (fresh.dir.ino == ino)
		fresh.dir.ino = 0; /* once: the next GETATTR asks the namenode */
	pthread_mutex_unlock(&fresh.lock);
	return ok;
}

int fs_rofs(void)
{
	mutation_begins();
	return fs_the->read_only ? -EROFS : 0;
}

bool fs_refuse_read_only(fuse_req_t req)
{
	mutation_begins();
	if (!fs_the->read_only)
		return false;
	fuse_reply_err(req, EROFS);
	return true;
}

int fs_fail(const char *what, uint64_t ino, int rc)
{
	/* while the namenode is down every call fails: a few lines per 10 s, not one
	 * per call (thousands a minute) */
	static struct log_limit failures = {.interval = 10, .burst = 5};
	if (rc == -EIO || rc == -ETIMEDOUT || rc == -ECONNREFUSED || rc == -EPROTO ||
	    rc == -ENOTCONN || rc == -ECONNRESET) {
		log_limited(&failures, LOG_ERROR, "%s (inode %llu): %s", what,
			    (unsigned long long)ino,
			    dfs_errmsg()[0] ? dfs_errmsg() : strerror(-rc));
		return -EIO;
	}
	return rc;
}

void fs_reply_err(fuse_req_t req, const char *what, uint64_t ino, int rc)
{
	fuse_reply_err(req, -fs_fail(what, ino, rc));
}

void fs_reply_ino_err(fuse_req_t req, const char *what, uint64_t ino, int rc)
{
	fs_reply_err(req, what, ino, rc == -ENOENT ? -ESTALE : rc);
}

static mode_t type_bits(uint8_t t)
{
	switch (t) {
	case PROTO_T_DIR: return S_IFDIR;
	case PROTO_T_SYMLINK: return S_IFLNK;
	case PROTO_T_FIFO: return S_IFIFO;
	case PROTO_T_CHR: return S_IFCHR;
	case PROTO_T_BLK: return S_IFBLK;
	case PROTO_T_SOCK: return S_IFSOCK;
	default: return S_IFREG;
	}
}

static void ts(struct timespec *t, int64_t ns)
{
	t->tv_sec = (time_t)(ns / 1000000000);
	t->tv_nsec = (long)(ns % 1000000000);
}

void fs_to_stat(const struct dfs_attr *a, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = a->ino;
	st->st_mode = type_bits(a->type) | (a->mode & 07777);
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blksize = 1 << 20;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	ts(&st->st_mtim, a->mtime);
	ts(&st->st_atim, a->atime);
	ts(&st->st_ctim, a->ctime);
}

void fs_entry(struct fuse_entry_param *e, const struct dfs_attr *a)
{
	memset(e, 0, sizeof *e);
	struct dfs_attr o = *a;
	if (o.type == PROTO_T_FILE)
		ofile_overlay(&o);
	e->ino = o.ino;
	e->generation = 1;
	fs_to_stat(&o, &e->attr);
	e->attr_timeout = fs_attr_timeout();
	e->entry_timeout = fs_the->entry_timeout;
	fs_node_ref(o.ino, 1, &o);
}

void fs_reply_entry(fuse_req_t req, const char *what, int rc, const struct dfs_attr *a)
{
	if (rc)
		return fs_reply_err(req, what, 0, rc);
	struct fuse_entry_param e;
	fs_entry(&e, a);
	if (fuse_reply_entry(req, &e))
		fs_node_forget(e.ino, 1); /* the kernel never got it (interrupted) */
}

void fs_reply_attr(fuse_req_t req, struct dfs_attr *a)
{
	if (a->type == PROTO_T_FILE)
		ofile_overlay(a);
	fs_node_seen(a);
	struct stat st;
	fs_to_stat(a, &st);
	fuse_reply_attr(req, &st, fs_attr_timeout());
}

void fs_caller(fuse_req_t req, uint32_t *uid, uint32_t *gid)
{
	const struct fuse_ctx *cx = fuse_req_ctx(req);
	*uid = (uint32_t)cx->uid;
	*gid = (uint32_t)cx->gid;
}

/* ---- the node table: ino -> lookups held by the kernel, xattr knowledge ---- */

#define NODE_BUCKETS 65536

struct node {
	uint64_t ino, nlookup;
	int64_t no_xattrs_until; /* clock_wall_ns(): seen without xattrs, valid until */
	struct node *next;
};

static struct {
	pthread_mutex_t lock;
	struct node *b[NODE_BUCKETS];
	uint64_t n;
} nodes = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};

/* The node of ino (nodes.lock held), or NULL. */
static struct node *node_find(uint64_t ino, struct node ***where)
{
	struct node **pp = &nodes.b[ino % NODE_BUCKETS];
	while (*pp && (*pp)->ino != ino)
		pp = &(*pp)->next;
	if (where)
		*where = pp;
	return *pp;
}

static void note_xattrs(struct node *n, const struct dfs_attr *a)
{
	n->no_xattrs_until = (a->flags & PROTO_A_XATTRS)
				     ? 0
				     : clock_wall_ns() + (int64_t)(fs_attr_timeout() * 1e9);
}

void fs_node_ref(uint64_t ino, uint64_t k, const struct dfs_attr *a)
{
	if (ino == FUSE_ROOT_ID && !a)
		return;
	pthread_mutex_lock(&nodes.lock);
	struct node *n = node_find(ino, NULL);
	if (!n && (n = calloc(1, sizeof *n))) {
		n->ino = ino;
		n->next = nodes.b[ino % NODE_BUCKETS];
		nodes.b[ino % NODE_BUCKETS] = n;
		nodes.n++;
	}
	if (n) {
		n->nlookup += k;
		if (a)
			note_xattrs(n, a);
	}
	pthread_mutex_unlock(&nodes.lock);
}

void fs_node_forget(uint64_t ino, uint64_t k)
{
	pthread_mutex_lock(&nodes.lock);
	struct node **pp, *n = node_find(ino, &pp);
	if (n) {
		n->nlookup = n->nlookup > k ? n->nlookup - k : 0;
		if (!n->nlookup) {
			*pp = n->next;
			free(n);
			nodes.n--;
			fs_inval_forgot(ino);
		}
	}
	pthread_mutex_unlock(&nodes.lock);
}

void fs_node_seen(const struct dfs_attr *a)
{
	pthread_mutex_lock(&nodes.lock);
	struct node *n = node_find(a->ino, NULL);
	if (n)
		note_xattrs(n, a);
	pthread_mutex_unlock(&nodes.lock);
}

bool fs_node_no_xattrs(uint64_t ino)
{
	pthread_mutex_lock(&nodes.lock);
	struct node *n = node_find(ino, NULL);
	bool none = n && n->no_xattrs_until > clock_wall_ns();
	pthread_mutex_unlock(&nodes.lock);
	return none;
}

void fs_node_xattrs_changed(uint64_t ino)
{
	pthread_mutex_lock(&nodes.lock);
	struct node *n = node_find(ino, NULL);
	if (n)
		n->no_xattrs_until = 0;
	pthread_mutex_unlock(&nodes.lock);
}

size_t fs_node_list(uint64_t **out)
{
	pthread_mutex_lock(&nodes.lock);
	size_t n = 0;
	uint64_t *v = malloc((nodes.n + 1) * sizeof *v);
	for (size_t b = 0; v && b < NODE_BUCKETS; b++)
		for (struct node *x = nodes.b[b]; x && n < nodes.n; x = x->next)
			v[n++] = x->ino;
	pthread_mutex_unlock(&nodes.lock);
	*out = v;
	return n;
}

uint64_t fs_node_count(void)
{
	pthread_mutex_lock(&nodes.lock);
	uint64_t n = nodes.n;
	pthread_mutex_unlock(&nodes.lock);
	return n;
}
