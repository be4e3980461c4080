/*
 * files: open files -- create, open, read, write, flush, fsync, release, and the size
 * changes of setattr. A handle's fh is its struct ofile (ofile.h: one per inode for the
 * whole mount, shared by every handle), which owns the write model.
 *
 * Page cache: an open keeps the kernel's cached pages (FOPEN_KEEP_CACHE) only when the
 * file's version (mtime, size) is the one this mount last saw; otherwise the kernel
 * drops them and the cached attributes too, so an open sees the file as its last
 * writer closed it (close-to-open), whichever mount that was.
 */
#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ofile.h"
#include "bcache.h"

static struct ofile *handle(const struct fuse_file_info *fi)
{
	return (struct ofile *)(uintptr_t)fi->fh;
}

/* Opens the file whose fresh attributes and blocks are b (b may be taken) into fi;
 * made says the file was just created here (nothing of it can be cached yet). */
static int open_blocks(struct dfs_blocks *b, struct fuse_file_info *fi, bool made)
{
	const struct dfs_attr a = b->attr; /* ofile_get may take b */
	if (a.type == PROTO_T_DIR)
		return -EISDIR;
	if (a.type != PROTO_T_FILE)
		return -EINVAL;
	bool open_here = ofile_is_open(a.ino);
	struct ofile *f;
	int rc = ofile_get(fs_conn(), b, &f);
	if (rc)
		return rc;
	if (made)
		ofile_version_note(a.ino, a.mtime, a.size);
	fi->keep_cache = ofile_version_same(&a);
	if (!fi->keep_cache) {
		/* the kernel may hold the old size for attr_timeout: drop it too */
		int irc = fuse_lowlevel_notify_inval_inode(fs_the->se, a.ino, -1, 0);
		if (irc && irc != -ENOENT)
			log_debug("inode %llu: cannot invalidate its attributes: %s",
				  (unsigned long long)a.ino, strerror(-irc));
	}
	if (!open_here)
		ofile_version_note(a.ino, a.mtime, a.size);
	fi->fh = (uintptr_t)f;
	return 0;
}

/* O_TRUNC on open (the kernel passes it here: atomic_o_trunc). */
static int open_trunc(struct fuse_file_info *fi)
{
	if (!(fi->flags & O_TRUNC) || !ofile_size(handle(fi)))
		return 0;
	int rc = ofile_truncate(handle(fi), 0);
	return rc ? rc : ofile_flush(handle(fi), false);
}

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int rc = 0;
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		rc = fs_rofs();
	/* one call: fresh attributes (close-to-open) and the block list -- or none, when
	 * the cache callbacks vouch for what an earlier open fetched (bcache.h) */
	struct dfs_blocks b;
	bool reading = !rc && (fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_TRUNC) &&
		       fs_inval_watching();
	uint64_t epoch = reading ? bcache_epoch(ino) : 0;
	bool kept = reading && bcache_get(ino, &b);
	log_debug("open %llu: %s", (unsigned long long)ino, kept ? "kept block list" : "asks");
	if (!rc && (kept || !(rc = dfs_file_blocks(fs_conn(), ino, 0, 0, &b)))) {
		if (reading && !kept)
			bcache_put(&b, epoch);
		rc = open_blocks(&b, fi, false);
		dfs_blocks_free(&b);
	}
	if (!rc && (rc = open_trunc(fi)))
		ofile_put(handle(fi));
	if (rc)
		return fs_reply_ino_err(req, "open", ino, rc);
	if (fuse_reply_open(req, fi))
		ofile_put(handle(fi)); /* interrupted: the kernel will not release it */
}

void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi)
{
	if (fs_refuse_read_only(req))
		return;
	int rc;
	uint32_t uid, gid;
	fs_caller(req, &uid, &gid);
	struct dfs_client *c = fs_conn();
	struct dfs_blocks b = {0};
	uint64_t seen = fs_mutations();
	struct dfs_attr after;
	/* deferred: the namenode writes the file with its first block (one sync) */
	rc = dfs_create_at(c, parent, name, mode & 07777, PROTO_CREATE_CLOSED | PROTO_CREATE_DEFER,
			   0, 0, uid, gid, &b.attr, &after);
	if (!rc && after.ino == parent)
		fs_fresh_dir(&after, seen); /* the kernel asks for the directory next */
	struct dfs_attr a = b.attr; /* open_blocks takes b */
	if (rc == -EEXIST && !(fi->flags & O_EXCL)) {
		/* made by someone else meanwhile: open theirs */
		rc = dfs_lookup(c, parent, name, &a);
		if (!rc)
			rc = dfs_file_blocks(c, a.ino, 0, 0, &b);
		if (!rc)
			a = b.attr;
		if (!rc && !(rc = open_blocks(&b, fi, false)) && (rc = open_trunc(fi)))
			ofile_put(handle(fi));
	} else if (!rc && !(rc = open_blocks(&b, fi, true))) {
		ofile_mark_unsaved(handle(fi), parent, name, mode & 07777, uid, gid);
	}
	dfs_blocks_free(&b);
	if (rc) {
		fs_reply_err(req, "create", parent, rc);
		return;
	}
	struct fuse_entry_param e;
	fs_entry(&e, &a);
	if (fuse_reply_create(req, &e, fi)) {
		fs_node_forget(e.ino, 1);
		ofile_put(handle(fi));
	}
}

void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi)
{
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ssize_t n = ofile_read(handle(fi), buf, size, (uint64_t)off);
	if (n < 0)
		fs_reply_err(req, "read", ino, (int)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi)
{
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((uint64_t)off > FS_FILE_MAX || size > FS_FILE_MAX - (uint64_t)off) {
		fuse_reply_err(req, EFBIG);
		return;
	}
	ssize_t n = ofile_write(handle(fi), buf, size, (uint64_t)off);
	if (n < 0)
		return fs_reply_err(req, "write", ino, (int)n);
	fuse_reply_write(req, (size_t)n);
}

int fs_truncate(uint64_t ino, uint64_t size, struct fuse_file_info *fi)
{
	struct ofile *f = fi && fi->fh ? handle(fi) : NULL;
	int rc = 0;
	if (!f) {
		struct dfs_blocks b;
		rc = dfs_file_blocks(fs_conn(), ino, 0, 0, &b);
		if (!rc && b.attr.type != PROTO_T_FILE)
			rc = b.attr.type == PROTO_T_DIR ? -EISDIR : -EINVAL;
		if (!rc)
			rc = ofile_get(fs_conn(), &b, &f);
		dfs_blocks_free(&b);
		if (rc)
			return rc;
	}
	rc = ofile_truncate(f, size);
	/* ftruncate(2) changes the open file like a write: stored at close or fsync, as
	 * close-to-open allows; truncate(2) has no close to wait for */
	if (!rc && !(fi && fi->fh))
		rc = ofile_flush(f, false);
	if (!fi || !fi->fh)
		ofile_put(f);
	return rc;
}

void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* close(2): POSIX locks of this owner on the file go (the kernel says which) */
	fs_posix_release(ino, fi->lock_owner);
	int rc = ofile_flush(handle(fi), false);
	if (rc)
		return fs_reply_err(req, "flush", ino, rc);
	fuse_reply_err(req, 0);
}

void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	int rc = ofile_flush(handle(fi), true);
	if (rc)
		return fs_reply_err(req, "fsync", ino, rc);
	fuse_reply_err(req, 0);
}

void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs_flock_release(ino, fi);
	ofile_put(handle(fi));
	fuse_reply_err(req, 0);
}
