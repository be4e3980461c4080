/*
 * fs: POSIX operations on the cluster (see fs.h). Errors are the namenode's errno
 * (ENOENT, EEXIST, ENOTEMPTY, ...), never EIO for a caller's mistake; a failure of the
 * cluster itself (unreachable nodes, lost replicas) is EIO with the reason logged.
 */
#include "fs.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "buf.h"
#include "log.h"
#include "ofile.h"
#include "grow.h"

static struct fs *the_fs(void) { return fuse_get_context()->private_data; }

/* A namenode connection for the calling thread (threads spread over the pool). */
static struct dfs_client *conn(void)
{
	static unsigned next;
	static __thread int mine = -1;
	struct fs *fs = the_fs();
	if (mine < 0)
		mine = (int)(__atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) % fs->npool);
	return fs->pool[mine];
}

static int rofs(void) { return the_fs()->read_only ? -EROFS : 0; }

/* Logs failures that are the cluster's, not the caller's. */
static int fail(const char *op, const char *path, int rc)
{
	if (rc == -EIO || rc == -ETIMEDOUT || rc == -ECONNREFUSED || rc == -EPROTO ||
	    rc == -ENOTCONN) {
		log_error("%s '%s': %s", op, path ? path : "", dfs_errmsg()[0] ? dfs_errmsg()
								     : strerror(-rc));
		return -EIO;
	}
	return rc;
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

static void to_stat(const struct dfs_attr *a, struct stat *st)
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

/* ---- which inodes have no extended attributes ----
 * `ls -l` asks every file for security.selinux and system.posix_acl_access; the
 * attributes just fetched (getattr, readdir) tell whether the inode has any xattr at
 * all, so those questions are answered here for attr_timeout, like the attributes. */

#define XC_SLOTS 16384
#define XC_TTL_NS 1000000000LL
static struct {
	pthread_mutex_t lock;
	struct {
		uint64_t hash;
		int64_t until;
	} v[XC_SLOTS];
} xc = {PTHREAD_MUTEX_INITIALIZER, {{0, 0}}};

static uint64_t path_hash(const char *dir, const char *name)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const char *p = dir; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	if (name) {
		if (strcmp(dir, "/"))
			h = (h ^ '/') * 1099511628211ULL;
		for (const char *p = name; *p; p++)
			h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	}
	return h | 1; /* never 0 (an empty slot) */
}


static void xc_note(uint64_t h, const struct dfs_attr *a)
{
	pthread_mutex_lock(&xc.lock);
	size_t k = h % XC_SLOTS;
	if (a->flags & PROTO_A_XATTRS) {
		if (xc.v[k].hash == h)
			xc.v[k].hash = 0;
	} else {
		xc.v[k].hash = h;
		xc.v[k].until = clock_wall_ns() + XC_TTL_NS;
	}
	pthread_mutex_unlock(&xc.lock);
}

static bool xc_has_none(const char *path)
{
	uint64_t h = path_hash(path, NULL);
	pthread_mutex_lock(&xc.lock);
	size_t k = h % XC_SLOTS;
	bool none = xc.v[k].hash == h && xc.v[k].until > clock_wall_ns();
	pthread_mutex_unlock(&xc.lock);
	return none;
}

static void xc_forget(const char *path)
{
	uint64_t h = path_hash(path, NULL);
	pthread_mutex_lock(&xc.lock);
	if (xc.v[h % XC_SLOTS].hash == h)
		xc.v[h % XC_SLOTS].hash = 0;
	pthread_mutex_unlock(&xc.lock);
}

/*
 * After create, mkdir, mknod, symlink and link, libfuse asks this same thread for the
 * new entry's attributes at once; the call that made it already returned them.
 */
static __thread struct {
	uint64_t hash;
	int64_t when;
	struct dfs_attr a;
} made;

static void made_note_hash(uint64_t h, const struct dfs_attr *a)
{
	made.hash = h;
	made.when = clock_wall_ns();
	made.a = *a;
}

static void made_note(const char *path, const struct dfs_attr *a)
{
	made_note_hash(path_hash(path, NULL), a);
}

/* Ends an operation op that made path (attributes a): noted when rc is 0, else failed. */
static int made_or_fail(const char *op, const char *path, int rc, const struct dfs_attr *a)
{
	if (rc)
		return fail(op, path, rc);
	made_note(path, a);
	return 0;
}

static bool made_take(const char *path, struct dfs_attr *a)
{
	bool hit = made.hash && made.hash == path_hash(path, NULL) &&
		   clock_wall_ns() - made.when < 100000000; /* 0.1 s */
	if (hit)
		*a = made.a;
	made.hash = 0;
	return hit;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	struct dfs_attr a;
	int rc = made_take(path, &a) ? 0 : dfs_stat(conn(), path, &a);
	if (rc)
		return fail("stat", path, rc);
	if (a.type == PROTO_T_FILE)
		ofile_overlay(&a);
	xc_note(path_hash(path, NULL), &a);
	to_stat(&a, st);
	return 0;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
	char target[PROTO_PATH_MAX + 1];
	int rc = dfs_readlink(conn(), path, target, sizeof target);
	if (rc)
		return fail("readlink", path, rc);
	snprintf(buf, size, "%s", target);
	return 0;
}

static void caller(uint32_t *uid, uint32_t *gid)
{
	struct fuse_context *cx = fuse_get_context();
	*uid = (uint32_t)cx->uid;
	*gid = (uint32_t)cx->gid;
}

static int fs_mknod(const char *path, mode_t mode, dev_t rdev)
{
	int rc = rofs();
	if (rc)
		return rc;
	uint32_t uid, gid;
	caller(&uid, &gid);
	struct dfs_attr a;
	uint8_t t;
	switch (mode & S_IFMT) {
	case S_IFREG:
		rc = dfs_create_closed(conn(), path, mode & 07777, false, uid, gid, &a);
		return made_or_fail("mknod", path, rc, &a);
	case S_IFIFO: t = PROTO_T_FIFO; break;
	case S_IFCHR: t = PROTO_T_CHR; break;
	case S_IFBLK: t = PROTO_T_BLK; break;
	case S_IFSOCK: t = PROTO_T_SOCK; break;
	default: return -EINVAL;
	}
	rc = dfs_mknod(conn(), path, t, mode & 07777, (uint32_t)rdev, uid, gid, &a);
	return made_or_fail("mknod", path, rc, &a);
}

static int fs_mkdir(const char *path, mode_t mode)
{
	int rc = rofs();
	if (rc)
		return rc;
	uint32_t uid, gid;
	caller(&uid, &gid);
	struct dfs_attr a;
	rc = dfs_mkdir_as(conn(), path, mode & 07777, uid, gid, &a);
	return made_or_fail("mkdir", path, rc, &a);
}

static int fs_unlink(const char *path)
{
	int rc = rofs();
	if (!rc)
		rc = dfs_delete(conn(), path, false);
	return rc ? fail("unlink", path, rc) : 0;
}

static int fs_rmdir(const char *path)
{
	int rc = rofs();
	if (!rc)
		rc = dfs_rmdir(conn(), path);
	return rc ? fail("rmdir", path, rc) : 0;
}

static int fs_symlink(const char *target, const char *path)
{
	int rc = rofs();
	if (rc)
		return rc;
	uint32_t uid, gid;
	caller(&uid, &gid);
	struct dfs_attr a;
	rc = dfs_symlink(conn(), path, target, uid, gid, &a);
	return made_or_fail("symlink", path, rc, &a);
}

static int fs_rename(const char *from, const char *to, unsigned int flags)
{
	int rc = rofs();
	if (rc)
		return rc;
	uint32_t f = 0;
	if (flags & RENAME_NOREPLACE)
		f |= PROTO_RENAME_NOREPLACE;
	if (flags & RENAME_EXCHANGE)
		f |= PROTO_RENAME_EXCHANGE;
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	rc = dfs_rename(conn(), from, to, f);
	return rc ? fail("rename", from, rc) : 0;
}

static int fs_link(const char *from, const char *to)
{
	struct dfs_attr a;
	int rc = rofs();
	if (!rc)
		rc = dfs_link(conn(), from, to, &a);
	if (!rc)
		made_note(to, &a);
	if (!rc) /* the other name's link count changed */
		fuse_invalidate_path(fuse_get_context()->fuse, from);
	return rc ? fail("link", to, rc) : 0;
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)fi;
	int rc = rofs();
	if (!rc)
		rc = dfs_setattr(conn(), path, PROTO_SET_MODE, mode & 07777, 0, 0, 0, 0, NULL);
	return rc ? fail("chmod", path, rc) : 0;
}

static int fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	(void)fi;
	int rc = rofs();
	if (rc)
		return rc;
	uint32_t valid = 0;
	if (uid != (uid_t)-1)
		valid |= PROTO_SET_UID;
	if (gid != (gid_t)-1)
		valid |= PROTO_SET_GID;
	rc = dfs_setattr(conn(), path, valid, 0, (uint32_t)uid, (uint32_t)gid, 0, 0, NULL);
	return rc ? fail("chown", path, rc) : 0;
}


static int fs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	(void)fi; /* a directory's handle may stand there too: go by path */
	int rc = rofs();
	if (rc)
		return rc;
	uint32_t valid = 0;
	int64_t t[2] = {0, 0};
	for (int i = 0; i < 2; i++) {
		if (tv && tv[i].tv_nsec == UTIME_OMIT)
			continue;
		valid |= i == 0 ? PROTO_SET_ATIME : PROTO_SET_MTIME;
		t[i] = !tv || tv[i].tv_nsec == UTIME_NOW
			       ? clock_wall_ns()
			       : (int64_t)tv[i].tv_sec * 1000000000 + tv[i].tv_nsec;
	}
	/* unflushed writes would set mtime when they land: land them first (by path only
	 * when some file is open here, to learn which) */
	struct dfs_attr a;
	if (ofile_any_open() && !(rc = dfs_stat(conn(), path, &a)) && a.type == PROTO_T_FILE)
		rc = ofile_flush_ino(a.ino);
	if (!rc)
		rc = dfs_setattr(conn(), path, valid, 0, 0, 0, t[0], t[1], NULL);
	return rc ? fail("utimens", path, rc) : 0;
}

static struct ofile *handle(struct fuse_file_info *fi)
{
	return (struct ofile *)(uintptr_t)fi->fh;
}

/* Opens the file whose fresh attributes are a; decides whether the kernel may keep
 * its cached pages (only when the file is unchanged since this mount last saw it). */
static int open_blocks(const char *path, struct dfs_blocks *b, struct fuse_file_info *fi)
{
	uint64_t key = path_hash(path, NULL);
	const struct dfs_attr attr = b->attr, *a = &attr; /* ofile_get may take b */
	if (a->type == PROTO_T_DIR)
		return -EISDIR;
	if (a->type != PROTO_T_FILE)
		return -EINVAL;
	bool open_here = ofile_is_open(a->ino);
	struct ofile *f;
	int rc = ofile_get(conn(), b, &f);
	if (rc)
		return rc;
	fi->keep_cache = ofile_version_same(a, key);
	log_debug("open '%s': inode %llu, %llu bytes, keep_cache %d", path,
		  (unsigned long long)a->ino, (unsigned long long)a->size, fi->keep_cache);
	/* the kernel may hold this name's old size for attr_timeout: drop it too, so the
	 * open sees the file whole (close-to-open) */
	if (!fi->keep_cache) {
		int irc = fuse_invalidate_path(fuse_get_context()->fuse, path);
		if (irc)
			log_debug("cannot invalidate '%s' in the kernel: %s", path, strerror(-irc));
	}
	if (!open_here)
		ofile_version_note(a->ino, key, a->mtime, a->size);
	ofile_set_key(f, key);
	fi->fh = (uintptr_t)f;
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		int rc = rofs();
		if (rc)
			return rc;
	}
	/* one call: fresh attributes (close-to-open) and the block list */
	struct dfs_blocks b;
	int rc = dfs_get_blocks(conn(), path, 0, 0, &b);
	if (!rc) {
		rc = open_blocks(path, &b, fi);
		dfs_blocks_free(&b);
	}
	if (!rc && (fi->flags & O_TRUNC) && ofile_size(handle(fi))) {
		rc = ofile_truncate(handle(fi), 0);
		if (!rc)
			rc = ofile_flush(handle(fi), false);
		if (rc)
			ofile_put(handle(fi));
	}
	return rc ? fail("open", path, rc) : 0;
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int rc = rofs();
	if (rc)
		return rc;
	uint32_t uid, gid;
	caller(&uid, &gid);
	struct dfs_blocks b = {0};
	rc = dfs_create_closed(conn(), path, mode & 07777, false, uid, gid, &b.attr);
	if (rc == -EEXIST && !(fi->flags & O_EXCL))
		return fs_open(path, fi); /* created by someone else meanwhile */
	if (!rc) {
		made_note(path, &b.attr);
		rc = open_blocks(path, &b, fi);
	}
	dfs_blocks_free(&b);
	return rc ? fail("create", path, rc) : 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	ssize_t n = ofile_read(handle(fi), buf, size, (uint64_t)off);
	return n < 0 ? fail("read", path, (int)n) : (int)n;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	ssize_t n = ofile_write(handle(fi), buf, size, (uint64_t)off);
	return n < 0 ? fail("write", path, (int)n) : (int)n;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	int rc = rofs();
	if (rc)
		return rc;
	if (size < 0)
		return -EINVAL;
	struct ofile *f = fi ? handle(fi) : NULL;
	if (!f) {
		struct dfs_blocks b;
		rc = dfs_get_blocks(conn(), path, 0, 0, &b);
		if (!rc) {
			rc = ofile_get(conn(), &b, &f);
			dfs_blocks_free(&b);
		}
		if (rc)
			return fail("truncate", path, rc);
	}
	rc = ofile_truncate(f, (uint64_t)size);
	if (!rc)
		rc = ofile_flush(f, false);
	if (!fi)
		ofile_put(f);
	return rc ? fail("truncate", path, rc) : 0;
}

static int fs_flush(const char *path, struct fuse_file_info *fi)
{
	int rc = ofile_flush(handle(fi), false);
	return rc ? fail("flush", path, rc) : 0;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	int rc = ofile_flush(handle(fi), true);
	return rc ? fail("fsync", path, rc) : 0;
}

static int handle_ino(const char *path, struct fuse_file_info *fi, uint64_t *ino);

/* The last close of a file or directory holding a flock lock releases it. */
static void flock_release(const char *path, struct fuse_file_info *fi)
{
	uint64_t ino;
	if (!fi->flock_release || handle_ino(path, fi, &ino))
		return;
	struct dfs_lock l = {.kind = PROTO_LOCK_FLOCK, .type = PROTO_LOCK_UNLOCK,
			     .start = 0, .end = UINT64_MAX};
	dfs_setlk(the_fs()->pool[0], ino, fi->lock_owner, &l);
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	flock_release(path, fi);
	ofile_put(handle(fi));
	return 0;
}

static int fs_statfs(const char *path, struct statvfs *st)
{
	struct dfs_statfs s;
	int rc = dfs_statfs(conn(), &s);
	if (rc)
		return fail("statfs", path, rc);
	memset(st, 0, sizeof *st);
	st->f_bsize = 4096;
	st->f_frsize = 4096;
	st->f_blocks = s.capacity / 4096;
	st->f_bfree = s.remaining / 4096;
	st->f_bavail = s.remaining / 4096;
	st->f_files = s.files + (1u << 30);
	st->f_ffree = 1u << 30;
	st->f_favail = 1u << 30;
	st->f_namemax = PROTO_NAME_MAX;
	return 0;
}

/* xattr names: user.*, trusted.* and security.* are stored; system.* (ACLs) is not
 * supported, so tools fall back to the mode bits. */
static int xattr_ns_ok(const char *name)
{
	return strncmp(name, "system.", 7) ? 0 : -EOPNOTSUPP;
}

static int fs_setxattr(const char *path, const char *name, const char *value, size_t size,
		       int flags)
{
	int rc = rofs();
	if (!rc)
		rc = xattr_ns_ok(name);
	if (rc)
		return rc;
	uint32_t f = 0;
	if (flags & XATTR_CREATE)
		f |= PROTO_XATTR_CREATE;
	if (flags & XATTR_REPLACE)
		f |= PROTO_XATTR_REPLACE;
	xc_forget(path);
	rc = dfs_setxattr(conn(), path, name, value, size, f);
	return rc ? fail("setxattr", path, rc) : 0;
}

/* Copies v into buf following the xattr size protocol (0: just the size). */
static int xattr_out(const struct buf *v, char *buf, size_t size)
{
	if (!size)
		return (int)v->len;
	if (v->len > size)
		return -ERANGE;
	memcpy(buf, v->data, v->len);
	return (int)v->len;
}

static int fs_getxattr(const char *path, const char *name, char *value, size_t size)
{
	int rc = xattr_ns_ok(name);
	if (rc)
		return rc == -EOPNOTSUPP ? -ENODATA : rc;
	if (strncmp(name, "user.dfs.", 9) && xc_has_none(path))
		return -ENODATA;
	struct buf v = BUF_INIT;
	rc = dfs_getxattr(conn(), path, name, &v);
	if (!rc)
		rc = xattr_out(&v, value, size);
	buf_free(&v);
	return rc < 0 ? fail("getxattr", path, rc) : rc;
}

static int fs_listxattr(const char *path, char *list, size_t size)
{
	(void)list;
	if (xc_has_none(path))
		return 0;
	struct buf v = BUF_INIT;
	int rc = dfs_listxattr(conn(), path, &v);
	if (!rc)
		rc = xattr_out(&v, list, size);
	buf_free(&v);
	return rc < 0 ? fail("listxattr", path, rc) : rc;
}

static int fs_removexattr(const char *path, const char *name)
{
	int rc = rofs();
	if (!rc)
		rc = xattr_ns_ok(name);
	if (!rc) {
		xc_forget(path);
		rc = dfs_removexattr(conn(), path, name);
	}
	return rc ? fail("removexattr", path, rc) : 0;
}

/* ---- directories ----
 * opendir keeps the listing (names and attributes, fetched at offset 0) in the handle,
 * and readdir hands it out with real offsets: libfuse then looks each entry up at once
 * while filling (readdirplus), and that lookup is answered from the attributes just
 * listed (made_note) instead of a namenode call per entry. */

struct dirlist {
	struct dirent_rec {
		char *name;
		struct dfs_attr a;
	} *v;
	size_t n, cap;
};

static void dirlist_clear(struct dirlist *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].name);
	d->n = 0;
}

static int collect(void *arg, const char *name, const struct dfs_attr *a)
{
	struct dirlist *d = arg;
	if (ALLOC_GROW(d->v, d->n + 1, d->cap))
		return -ENOMEM;
	d->v[d->n].name = strdup(name);
	if (!d->v[d->n].name)
		return -ENOMEM;
	d->v[d->n++].a = *a;
	return 0;
}

/* A directory's fh carries this bit, so calls that take both kinds (locks) tell them
 * apart; a file's fh is its struct ofile. */
#define DIR_TAG ((uint64_t)1)

static int fs_opendir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	struct dirlist *d = calloc(1, sizeof *d);
	if (!d)
		return -ENOMEM;
	fi->fh = (uintptr_t)d | DIR_TAG;
	return 0;
}

static int fs_releasedir(const char *path, struct fuse_file_info *fi)
{
	flock_release(path, fi);
	struct dirlist *d = (struct dirlist *)(uintptr_t)(fi->fh & ~DIR_TAG);
	if (d) {
		dirlist_clear(d);
		free(d->v);
		free(d);
	}
	return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct dirlist *d = (struct dirlist *)(uintptr_t)(fi->fh & ~DIR_TAG);
	if (!d || off < 0)
		return -EINVAL;
	if (off == 0) { /* (re)start: a fresh listing */
		dirlist_clear(d);
		int rc = dfs_list(conn(), path, collect, d);
		if (rc) {
			dirlist_clear(d);
			return fail("readdir", path, rc);
		}
	}
	bool plus = (flags & FUSE_READDIR_PLUS) != 0;
	/* offsets: 1 after ".", 2 after "..", 3 + i after entry i */
	for (size_t k = (size_t)off; k < d->n + 2; k++) {
		if (k < 2) {
			if (filler(buf, k ? ".." : ".", NULL, (off_t)k + 1, 0))
				break;
			continue;
		}
		struct dfs_attr a = d->v[k - 2].a;
		const char *name = d->v[k - 2].name;
		if (a.type == PROTO_T_FILE)
			ofile_overlay(&a);
		uint64_t h = path_hash(path, name);
		xc_note(h, &a);
		made_note_hash(h, &a); /* for libfuse's lookup inside filler */
		struct stat st;
		to_stat(&a, &st);
		if (filler(buf, name, &st, (off_t)k + 1, plus ? FUSE_FILL_DIR_PLUS : 0))
			break;
	}
	return 0;
}

/* ---- advisory locks, kept by the namenode so they hold across mounts ----
 * All of this mount's locks travel on one connection (pool[0]): that connection is
 * the mount's lock session, and its locks go with it when the mount goes away.
 * A blocking request (F_SETLKW, flock without LOCK_NB) polls, backing off to 50 ms,
 * until it gets the lock or the caller is interrupted. */

/* The inode an open handle stands for: a file's from its ofile, a directory's asked
 * for by path (directories can be locked too). */
static int handle_ino(const char *path, struct fuse_file_info *fi, uint64_t *ino)
{
	if (!(fi->fh & DIR_TAG)) {
		*ino = ofile_ino(handle(fi));
		return 0;
	}
	struct dfs_attr a;
	int rc = dfs_stat(conn(), path, &a);
	if (!rc)
		*ino = a.ino;
	return rc;
}

static int lock_wait(uint64_t ino, uint64_t owner, const struct dfs_lock *l)
{
	struct dfs_client *c = the_fs()->pool[0];
	useconds_t delay = 1000;
	for (;;) {
		int rc = dfs_setlk(c, ino, owner, l);
		if (rc != -EAGAIN)
			return rc;
		if (fuse_interrupted())
			return -EINTR;
		usleep(delay);
		if (delay < 50000)
			delay *= 2;
	}
}

static int fs_lock(const char *path, struct fuse_file_info *fi, int cmd, struct flock *fl)
{
	uint64_t ino;
	int irc = handle_ino(path, fi, &ino);
	if (irc)
		return fail("lock", path, irc);
	struct dfs_lock l = {.kind = PROTO_LOCK_POSIX, .pid = (uint32_t)fl->l_pid};
	l.type = fl->l_type == F_RDLCK ? PROTO_LOCK_READ
		 : fl->l_type == F_WRLCK ? PROTO_LOCK_WRITE : PROTO_LOCK_UNLOCK;
	if (fl->l_start < 0 || fl->l_len < 0)
		return -EINVAL;
	l.start = (uint64_t)fl->l_start;
	l.end = fl->l_len ? l.start + (uint64_t)fl->l_len - 1 : UINT64_MAX;
	int rc;
	if (cmd == F_GETLK) {
		struct dfs_lock o;
		rc = dfs_getlk(the_fs()->pool[0], ino, fi->lock_owner, &l, &o);
		if (rc == 1) {
			fl->l_type = o.type == PROTO_LOCK_READ ? F_RDLCK : F_WRLCK;
			fl->l_whence = SEEK_SET;
			fl->l_start = (off_t)o.start;
			fl->l_len = o.end == UINT64_MAX ? 0 : (off_t)(o.end - o.start + 1);
			fl->l_pid = (pid_t)o.pid;
			rc = 0;
		} else if (!rc) {
			fl->l_type = F_UNLCK;
		}
	} else if (cmd == F_SETLKW) {
		rc = lock_wait(ino, fi->lock_owner, &l);
	} else {
		rc = dfs_setlk(the_fs()->pool[0], ino, fi->lock_owner, &l);
	}
	return rc < 0 ? fail("lock", path, rc) : 0;
}

static int fs_flock(const char *path, struct fuse_file_info *fi, int op)
{
	uint64_t ino;
	int irc = handle_ino(path, fi, &ino);
	if (irc)
		return fail("flock", path, irc);
	struct dfs_lock l = {.kind = PROTO_LOCK_FLOCK, .start = 0, .end = UINT64_MAX};
	int how = op & ~LOCK_NB;
	l.type = how == LOCK_SH ? PROTO_LOCK_READ : how == LOCK_EX ? PROTO_LOCK_WRITE
								  : PROTO_LOCK_UNLOCK;
	int rc = (op & LOCK_NB) || how == LOCK_UN
			 ? dfs_setlk(the_fs()->pool[0], ino, fi->lock_owner, &l)
			 : lock_wait(ino, fi->lock_owner, &l);
	if (rc == -EAGAIN)
		rc = -EWOULDBLOCK;
	return rc < 0 ? fail("flock", path, rc) : 0;
}

static void *fs_init(struct fuse_conn_info *cc, struct fuse_config *cfg)
{
	/* big requests: libfuse's default caps writes at 128 KiB */
	struct fs *fs = fuse_get_context()->private_data;
	cc->max_write = 1 << 20;
	/* the kernel keeps the smaller of this and the mount's read_ahead_kb, which
	 * main raised before the loop started (set_readahead) */
	if (fs->readahead > cc->max_readahead)
		cc->max_readahead = fs->readahead;
	cc->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE; /* it would hide other mounts' sizes */
	/* attributes with every directory batch, not just the first one (the "auto"
	 * heuristic turns `ls -l` of a big directory into a lookup per entry) */
	cc->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	cfg->use_ino = 1;
	cfg->nullpath_ok = 0;
	return fuse_get_context()->private_data;
}

const struct fuse_operations fs_ops = {
	.getattr = fs_getattr,
	.readlink = fs_readlink,
	.mknod = fs_mknod,
	.mkdir = fs_mkdir,
	.unlink = fs_unlink,
	.rmdir = fs_rmdir,
	.symlink = fs_symlink,
	.rename = fs_rename,
	.link = fs_link,
	.chmod = fs_chmod,
	.chown = fs_chown,
	.truncate = fs_truncate,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.statfs = fs_statfs,
	.flush = fs_flush,
	.release = fs_release,
	.fsync = fs_fsync,
	.setxattr = fs_setxattr,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.removexattr = fs_removexattr,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.releasedir = fs_releasedir,
	.init = fs_init,
	.create = fs_create,
	.utimens = fs_utimens,
	.lock = fs_lock,
	.flock = fs_flock,
};
