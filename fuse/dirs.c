/*
 * dirs: directory handles. opendir makes an empty handle; a readdir at offset 0 fetches
 * the whole listing (names and attributes, by inode: CN_READDIR) into it, and later
 * calls hand it out with stable offsets (1 after ".", 2 after "..", 3 + i after entry
 * i), so a listing read in several calls is one snapshot. readdirplus gives each entry
 * its attributes, so `ls -l` needs no call per entry: each such entry counts a lookup
 * (mount.h's node table), as lookup does.
 */
#include "mount.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

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

void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	struct dirlist *d = calloc(1, sizeof *d);
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi)) {
		free(d);
	}
}

void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs_flock_release(ino, fi);
	struct dirlist *d = (struct dirlist *)(uintptr_t)fi->fh;
	if (d) {
		dirlist_clear(d);
		free(d->v);
		free(d);
	}
	fuse_reply_err(req, 0);
}

static void readdir_(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi, bool plus)
{
	struct dirlist *d = (struct dirlist *)(uintptr_t)fi->fh;
	if (!d || off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (off == 0) { /* (re)start: a fresh listing */
		dirlist_clear(d);
		int rc = dfs_readdir(fs_conn(), ino, collect, d);
		if (rc) {
			dirlist_clear(d);
			return fs_reply_err(req, "readdir", ino, rc);
		}
	}
	char *buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t used = 0;
	for (size_t k = (size_t)off; k < d->n + 2; k++) {
		const char *name = k == 0 ? "." : k == 1 ? ".." : d->v[k - 2].name;
		struct fuse_entry_param e;
		memset(&e, 0, sizeof e);
		if (k < 2) { /* no attributes: the kernel looks "." and ".." up itself */
			e.attr.st_ino = k ? 0xffffffffu : ino; /* "..": unknown, as libfuse says */
			e.attr.st_mode = S_IFDIR;
		} else if (plus) {
			fs_entry(&e, &d->v[k - 2].a); /* counts a lookup */
		} else {
			fs_to_stat(&d->v[k - 2].a, &e.attr);
		}
		size_t n = plus ? fuse_add_direntry_plus(req, buf + used, size - used, name, &e,
							 (off_t)k + 1)
				: fuse_add_direntry(req, buf + used, size - used, name, &e.attr,
						    (off_t)k + 1);
		if (n > size - used) { /* did not fit: the next call starts here */
			if (plus && k >= 2)
				fs_node_forget(e.ino, 1);
			break;
		}
		used += n;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	readdir_(req, ino, size, off, fi, false);
}

void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	readdir_(req, ino, size, off, fi, true);
}
