/*
 * ops: the mount's operation table (libfuse's low-level API) and the calls on names
 * and attributes -- lookup, forget, getattr, setattr, readlink, mknod, mkdir, symlink,
 * link, unlink, rmdir, rename, statfs and the xattrs. Each is one namenode call by
 * inode (proto.h's inode-addressed messages). Errors are the namenode's errno (ENOENT,
 * EEXIST, ENOTEMPTY, ...), never EIO for a caller's mistake; a failure of the cluster
 * itself is EIO with the reason logged (fs_fail). Permissions are the kernel's
 * (default_permissions); the namenode sees the mount as root and records the caller
 * as the owner of what it makes.
 */
#include "mount.h"

#include "bcache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include "buf.h"
#include "clock.h"
#include "log.h"
#include "ofile.h"

static void fs_init(void *userdata, struct fuse_conn_info *cc)
{
	struct fs *fs = userdata;
	cc->max_write = 1 << 20; /* big requests: the default caps writes at 128 KiB */
	/* the kernel keeps the smaller of this and the mount's read_ahead_kb, which main
	 * raised after mounting (set_readahead) */
	if (fs->readahead > cc->max_readahead)
		cc->max_readahead = fs->readahead;
	cc->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE; /* it would hide other mounts' sizes */
	/* the page cache is dropped by open when the file changed (files.c), not whenever
	 * a new mtime shows: with auto_inval_data the kernel would throw away the pages
	 * this mount itself just wrote as soon as it saw the mtime of its own write */
	cc->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	/* attributes with every directory batch, not just the first one (the "auto"
	 * heuristic turns `ls -l` of a big directory into a lookup per entry) */
	if (cc->capable & FUSE_CAP_READDIRPLUS)
		cc->want |= FUSE_CAP_READDIRPLUS;
	cc->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct dfs_attr a;
	int rc = dfs_lookup(fs_conn(), parent, name, &a);
	if (rc == -ENOENT && fs_the->negative_timeout > 0) {
		struct fuse_entry_param e = {.ino = 0, .entry_timeout = fs_the->negative_timeout};
		fuse_reply_entry(req, &e);
		return;
	}
	fs_reply_entry(req, "lookup", rc, &a);
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fs_node_forget(ino, nlookup);
	fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	for (size_t i = 0; i < count; i++)
		fs_node_forget(f[i].ino, f[i].nlookup);
	fuse_reply_none(req);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct dfs_attr a;
	if (fs_fresh_take(ino, &a))
		return fs_reply_attr(req, &a);
	int rc = dfs_getattr(fs_conn(), ino, &a);
	if (rc)
		return fs_reply_ino_err(req, "getattr", ino, rc);
	fs_reply_attr(req, &a);
}

static int64_t time_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *st, int to_set,
		       struct fuse_file_info *fi)
{
	if (fs_refuse_read_only(req))
		return;
	bcache_drop(ino); /* its kept attributes are about to be old */
	int rc;
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (st->st_size < 0) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		if ((uint64_t)st->st_size > FS_FILE_MAX) {
			fuse_reply_err(req, EFBIG);
			return;
		}
		if ((rc = fs_truncate(ino, (uint64_t)st->st_size, fi)))
			return fs_reply_ino_err(req, "truncate", ino, rc);
	}
	uint32_t valid = 0;
	int64_t at = 0, mt = 0;
	if (to_set & FUSE_SET_ATTR_MODE)
		valid |= PROTO_SET_MODE;
	if (to_set & FUSE_SET_ATTR_UID)
		valid |= PROTO_SET_UID;
	if (to_set & FUSE_SET_ATTR_GID)
		valid |= PROTO_SET_GID;
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
		valid |= PROTO_SET_ATIME;
		at = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? clock_wall_ns() : time_ns(&st->st_atim);
	}
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		valid |= PROTO_SET_MTIME;
		mt = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? clock_wall_ns() : time_ns(&st->st_mtim);
		/* unflushed writes would set mtime when they land: land them first */
		if ((rc = ofile_flush_ino(ino)))
			return fs_reply_ino_err(req, "setattr", ino, rc);
	}
	struct dfs_attr a;
	if (valid)
		rc = dfs_setattr_ino(fs_conn(), ino, valid, st->st_mode & 07777,
				     (uint32_t)st->st_uid, (uint32_t)st->st_gid, at, mt, &a);
	else
		rc = dfs_getattr(fs_conn(), ino, &a);
	if (rc)
		return fs_reply_ino_err(req, "setattr", ino, rc);
	fs_reply_attr(req, &a);
}

static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char target[PROTO_PATH_MAX + 1];
	int rc = dfs_readlink_ino(fs_conn(), ino, target, sizeof target);
	if (rc)
		return fs_reply_ino_err(req, "readlink", ino, rc);
	fuse_reply_readlink(req, target);
}

static void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	if (fs_refuse_read_only(req))
		return;
	int rc;
	uint32_t uid, gid;
	fs_caller(req, &uid, &gid);
	uint64_t seen = fs_mutations();
	struct dfs_attr a, after;
	uint8_t t;
	switch (mode & S_IFMT) {
	case S_IFREG:
		rc = dfs_create_at(fs_conn(), parent, name, mode & 07777, PROTO_CREATE_CLOSED, 0,
				   0, uid, gid, &a, &after);
		if (!rc && after.ino == parent)
			fs_fresh_dir(&after, seen);
		return fs_reply_entry(req, "mknod", rc, &a);
	case S_IFIFO: t = PROTO_T_FIFO; break;
	case S_IFCHR: t = PROTO_T_CHR; break;
	case S_IFBLK: t = PROTO_T_BLK; break;
	case S_IFSOCK: t = PROTO_T_SOCK; break;
	default: {
		fuse_reply_err(req, EINVAL);
		return;
	}
	}
	rc = dfs_mknod_at(fs_conn(), parent, name, t, mode & 07777, (uint32_t)rdev, uid, gid, &a,
			  &after);
	if (!rc && after.ino == parent)
		fs_fresh_dir(&after, seen);
	fs_reply_entry(req, "mknod", rc, &a);
}

static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	if (fs_refuse_read_only(req))
		return;
	int rc;
	uint32_t uid, gid;
	fs_caller(req, &uid, &gid);
	uint64_t seen = fs_mutations();
	struct dfs_attr a, after;
	rc = dfs_mkdir_at(fs_conn(), parent, name, mode & 07777, uid, gid, &a, &after);
	if (!rc && after.ino == parent)
		fs_fresh_dir(&after, seen);
	fs_reply_entry(req, "mkdir", rc, &a);
}

static void fs_symlink(fuse_req_t req, const char *target, fuse_ino_t parent,
		       const char *name)
{
	if (fs_refuse_read_only(req))
		return;
	int rc;
	uint32_t uid, gid;
	fs_caller(req, &uid, &gid);
	uint64_t seen = fs_mutations();
	struct dfs_attr a, after;
	rc = dfs_symlink_at(fs_conn(), parent, name, target, uid, gid, &a, &after);
	if (!rc && after.ino == parent)
		fs_fresh_dir(&after, seen);
	fs_reply_entry(req, "symlink", rc, &a);
}

static void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	if (fs_refuse_read_only(req))
		return;
	uint64_t seen = fs_mutations();
	struct dfs_attr a, after;
	int rc = dfs_link_at(fs_conn(), ino, parent, name, &a, &after);
	if (!rc && after.ino == parent)
		fs_fresh_dir(&after, seen);
	fs_reply_entry(req, "link", rc, &a);
}

/*
 * An open file keeps its inode past its last name (POSIX): when this mount has the
 * file open, the unlink (or a rename over it, fs_rename) asks the namenode to keep it,
 * on the session connection (pool[0]), and the last close here reclaims it
 * (ofile_mark_kept). If the mount dies,
 * the session goes and the namenode deletes the file then. No hidden names.
 */
static void unlink_(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir)
{
	if (fs_refuse_read_only(req))
		return;
	uint64_t seen = fs_mutations();
	int rc;
	struct dfs_client *c = fs_conn();
	uint8_t flags = dir ? PROTO_DELETE_DIR : 0;
	struct dfs_attr a, after;
	if (!dir && ofile_any_open() && !dfs_lookup(c, parent, name, &a) &&
	    ofile_is_open(a.ino)) {
		flags |= PROTO_DELETE_KEEP;
		c = fs_the->pool[0];
	}
	rc = dfs_unlink_at(c, parent, name, flags, &a, &after);
	if (!rc && (flags & PROTO_DELETE_KEEP) && !a.nlink)
		ofile_mark_kept(a.ino, c);
	if (rc)
		return fs_reply_err(req, dir ? "rmdir" : "unlink", parent, rc);
	if (after.ino == parent)
		fs_fresh_dir(&after, seen);
	fuse_reply_err(req, 0);
}

static void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	unlink_(req, parent, name, false);
}

static void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	unlink_(req, parent, name, true);
}

static void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	if (fs_refuse_read_only(req))
		return;
	int rc;
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	uint32_t f = 0;
	if (flags & RENAME_NOREPLACE)
		f |= PROTO_RENAME_NOREPLACE;
	if (flags & RENAME_EXCHANGE)
		f |= PROTO_RENAME_EXCHANGE;
	/* a file replaced while this mount has it open is kept, as by unlink */
	struct dfs_client *c = fs_conn();
	struct dfs_attr old;
	if (!(f & PROTO_RENAME_EXCHANGE) && ofile_any_open() &&
	    !dfs_lookup(c, newparent, newname, &old) && ofile_is_open(old.ino)) {
		f |= PROTO_RENAME_KEEP;
		c = fs_the->pool[0];
	}
	uint64_t kept;
	rc = dfs_rename_at(c, parent, name, newparent, newname, f, &kept);
	if (rc)
		return fs_reply_err(req, "rename", parent, rc);
	if (kept)
		ofile_mark_kept(kept, c);
	fuse_reply_err(req, 0);
}

static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct dfs_statfs s;
	int rc = dfs_statfs(fs_conn(), &s);
	if (rc)
		return fs_reply_err(req, "statfs", ino, rc);
	struct statvfs st;
	memset(&st, 0, sizeof st);
	st.f_bsize = 4096;
	st.f_frsize = 4096;
	st.f_blocks = s.capacity / 4096;
	st.f_bfree = s.remaining / 4096;
	st.f_bavail = s.remaining / 4096;
	st.f_files = s.files + (1u << 30);
	st.f_ffree = 1u << 30;
	st.f_favail = 1u << 30;
	st.f_namemax = PROTO_NAME_MAX;
	fuse_reply_statfs(req, &st);
}

/* ---- extended attributes ----
 * user.*, trusted.* and security.* are stored; system.* (ACLs) is not supported, so
 * tools fall back to the mode bits. Inodes seen without any xattr answer the probes
 * of `ls -l` and cp -a themselves (the node table). */

static int xattr_ns_ok(const char *name)
{
	return strncmp(name, "system.", 7) ? 0 : -EOPNOTSUPP;
}

static void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	int rc = fs_rofs();
	if (!rc)
		rc = xattr_ns_ok(name);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	uint32_t f = 0;
	if (flags & XATTR_CREATE)
		f |= PROTO_XATTR_CREATE;
	if (flags & XATTR_REPLACE)
		f |= PROTO_XATTR_REPLACE;
	fs_node_xattrs_changed(ino);
	rc = dfs_setxattr_ino(fs_conn(), ino, name, value, size, f);
	if (rc)
		return fs_reply_ino_err(req, "setxattr", ino, rc);
	fuse_reply_err(req, 0);
}

/* Replies with v following the xattr size protocol (size 0: just the length). */
static void reply_xattr(fuse_req_t req, const struct buf *v, size_t size)
{
	if (!size)
		fuse_reply_xattr(req, v->len);
	else if (v->len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, v->data, v->len);
}

static void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	if (xattr_ns_ok(name) || (strncmp(name, "user.dfs.", 9) && fs_node_no_xattrs(ino))) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	struct buf v = BUF_INIT;
	int rc = dfs_getxattr_ino(fs_conn(), ino, name, &v);
	if (rc)
		fs_reply_ino_err(req, "getxattr", ino, rc);
	else
		reply_xattr(req, &v, size);
	buf_free(&v);
}

/* Drops the S3 gateway's own xattrs (user.s3.*: ETag and object metadata, see
 * s3/gw.h) from a NUL-separated name list: they describe the object, not the file, and
 * a copy of them onto another file (cp -a, rsync -X) would be stale. */
static void hide_s3_xattrs(struct buf *v)
{
	size_t w = 0;
	for (size_t r = 0; r < v->len;) {
		size_t n = strnlen(v->data + r, v->len - r) + 1;
		if (strncmp(v->data + r, "user.s3.", 8)) {
			memmove(v->data + w, v->data + r, n);
			w += n;
		}
		r += n;
	}
	buf_truncate(v, w < v->len ? w : v->len);
}

static void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct buf v = BUF_INIT;
	int rc = fs_node_no_xattrs(ino) ? 0 : dfs_listxattr_ino(fs_conn(), ino, &v);
	if (!rc)
		hide_s3_xattrs(&v);
	if (rc)
		fs_reply_ino_err(req, "listxattr", ino, rc);
	else
		reply_xattr(req, &v, size);
	buf_free(&v);
}

static void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	int rc = fs_rofs();
	if (!rc)
		rc = xattr_ns_ok(name);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fs_node_xattrs_changed(ino);
	rc = dfs_removexattr_ino(fs_conn(), ino, name);
	if (rc)
		return fs_reply_ino_err(req, "removexattr", ino, rc);
	fuse_reply_err(req, 0);
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.forget = fs_forget,
	.forget_multi = fs_forget_multi,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.readlink = fs_readlink,
	.mknod = fs_mknod,
	.mkdir = fs_mkdir,
	.unlink = fs_unlink,
	.rmdir = fs_rmdir,
	.symlink = fs_symlink,
	.rename = fs_rename,
	.link = fs_link,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.flush = fs_flush,
	.release = fs_release,
	.fsync = fs_fsync,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.readdirplus = fs_readdirplus,
	.releasedir = fs_releasedir,
	.statfs = fs_statfs,
	.setxattr = fs_setxattr,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.removexattr = fs_removexattr,
	.create = fs_create,
	.getlk = fs_getlk,
	.setlk = fs_setlk,
	.flock = fs_flock,
};
