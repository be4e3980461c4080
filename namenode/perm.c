/* perm: POSIX permission checks. See perm.h. */
#include "perm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "buf.h"
#include "proto.h"

bool nn_perm_ok(const struct nn_attr *a, const struct nn_cred *c, int want)
{
	if (c->super || !want)
		return true;
	uint32_t bits = c->uid == a->uid   ? (a->mode >> 6) & 7
			: c->gid == a->gid ? (a->mode >> 3) & 7
					   : a->mode & 7;
	return ((uint32_t)want & bits) == (uint32_t)want;
}

/* Search on "/" and every directory above path; its parent's path into parent. */
static int walk_dirs(struct nn_ns *ns, const char *path, const struct nn_cred *c,
		     char *parent, size_t psz)
{
	size_t n = strlen(path);
	const char *last = strrchr(path, '/');
	if (n >= psz || !last || path[0] != '/')
		return -EINVAL;
	for (size_t i = 0; i <= (size_t)(last - path); i++) {
		if (path[i] != '/')
			continue;
		size_t len = i ? i : 1; /* "/" itself, then each "/a/b" before a '/' */
		memcpy(parent, path, len);
		parent[len] = 0;
		struct nn_attr a;
		int rc = nn_ns_stat(ns, parent, &a);
		if (rc)
			return rc;
		if (a.type != PROTO_T_DIR)
			return -ENOTDIR;
		if (!nn_perm_ok(&a, c, NN_X))
			return -EACCES;
	}
	return 0; /* parent holds the last prefix: the parent directory */
}

int nn_perm_path(struct nn_ns *ns, const char *path, const struct nn_cred *c, int parent_want,
		 int want)
{
	if (c->super)
		return 0;
	if (!strcmp(path, "/")) {
		struct nn_attr a;
		int rc = nn_ns_stat(ns, path, &a);
		return rc ? rc : nn_perm_ok(&a, c, want) ? 0 : -EACCES;
	}
	char parent[PROTO_PATH_MAX + 1];
	int rc = walk_dirs(ns, path, c, parent, sizeof parent);
	if (rc)
		return rc;
	struct nn_attr a;
	if (parent_want) {
		if ((rc = nn_ns_stat(ns, parent, &a)))
			return rc;
		if (!nn_perm_ok(&a, c, parent_want))
			return -EACCES;
	}
	if (want && !nn_ns_stat(ns, path, &a) && !nn_perm_ok(&a, c, want))
		return -EACCES;
	return 0;
}

int nn_perm_mkdirs(struct nn_ns *ns, const char *path, const struct nn_cred *c)
{
	if (c->super)
		return 0;
	char p[PROTO_PATH_MAX + 1];
	snprintf(p, sizeof p, "%s", path);
	/* the deepest existing ancestor (or path itself: then nothing is made) */
	struct nn_attr a;
	while (nn_ns_stat(ns, p, &a)) {
		char *slash = strrchr(p, '/');
		if (!slash)
			return -EINVAL;
		if (slash == p) {
			p[1] = 0;
			break;
		}
		*slash = 0;
	}
	if (!strcmp(p, path))
		return nn_perm_path(ns, path, c, 0, 0);
	if (strcmp(p, "/")) {
		int rc = nn_perm_path(ns, p, c, 0, NN_W | NN_X);
		if (rc)
			return rc;
	} else if (nn_ns_stat(ns, "/", &a) || !nn_perm_ok(&a, c, NN_W | NN_X)) {
		return -EACCES;
	}
	return 0;
}

struct subtree {
	struct nn_ns *ns;
	const struct nn_cred *c;
	char (*dirs)[PROTO_NAME_MAX + 1];
	uint32_t n, cap;
};

static int note_dir(void *arg, const char *name, const struct nn_attr *a)
{
	struct subtree *t = arg;
	if (a->type != PROTO_T_DIR)
		return 0;
	if (ALLOC_GROW(t->dirs, t->n + 1, t->cap))
		return -ENOMEM;
	snprintf(t->dirs[t->n++], sizeof t->dirs[0], "%s", name);
	return 0;
}

/* Write, search and read on directory path and every directory below it. */
static int check_subtree(struct nn_ns *ns, const char *path, const struct nn_cred *c,
			 int depth)
{
	struct nn_attr a;
	int rc = nn_ns_stat(ns, path, &a);
	if (rc)
		return rc;
	if (!nn_perm_ok(&a, c, NN_R | NN_W | NN_X))
		return -EACCES;
	if (depth > 256)
		return -ELOOP;
	struct subtree t = {ns, c, NULL, 0, 0};
	rc = nn_ns_list_all(ns, path, note_dir, &t);
	for (uint32_t i = 0; i < t.n && !rc; i++) {
		struct buf p = BUF_INIT;
		buf_printf(&p, "%s/%s", strcmp(path, "/") ? path : "", t.dirs[i]);
		rc = check_subtree(ns, p.data, c, depth + 1);
		buf_free(&p);
	}
	free(t.dirs);
	return rc;
}

int nn_perm_remove(struct nn_ns *ns, const char *path, const struct nn_cred *c, bool subtree)
{
	if (c->super)
		return 0;
	int rc = nn_perm_path(ns, path, c, NN_W | NN_X, 0);
	if (rc)
		return rc;
	char parent[PROTO_PATH_MAX + 1];
	snprintf(parent, sizeof parent, "%s", path);
	char *slash = strrchr(parent, '/');
	if (slash == parent)
		parent[1] = 0;
	else if (slash)
		*slash = 0;
	struct nn_attr d, a;
	if (nn_ns_stat(ns, parent, &d) || nn_ns_stat(ns, path, &a))
		return 0; /* the operation reports what is missing */
	if ((d.mode & 01000) && c->uid != a.uid && c->uid != d.uid)
		return -EPERM; /* sticky directory: not yours, and not your directory */
	if (subtree && a.type == PROTO_T_DIR)
		return check_subtree(ns, path, c, 0);
	return 0;
}

int nn_perm_setattr(const struct nn_attr *a, const struct nn_cred *c, uint32_t valid,
		    uint32_t uid, uint32_t gid)
{
	if (c->super)
		return 0;
	if ((valid & PROTO_SET_UID) && (uid != a->uid || a->uid != c->uid))
		return -EPERM; /* only the superuser gives files away */
	if ((valid & (PROTO_SET_MODE | PROTO_SET_ATIME | PROTO_SET_MTIME)) && a->uid != c->uid)
		return -EPERM;
	if ((valid & PROTO_SET_GID) && (a->uid != c->uid || gid != c->gid))
		return -EPERM;
	return 0;
}
