/* trash: per-user trash. See trash.h. */
#include "trash.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "buf.h"
#include "log.h"
#include "proto.h"

static bool user_ok(const char *u)
{
	size_t n = strlen(u);
	return n && n <= 64 && !strchr(u, '/') && strcmp(u, ".") && strcmp(u, "..");
}

/* mkdir that is happy when the directory exists. */
static int ensure_dir(struct nn_ns *ns, const char *path, uint32_t mode, bool parents,
		      uint32_t uid, uint32_t gid)
{
	int rc = nn_ns_mkdir(ns, path, mode, parents, uid, gid, NULL);
	return rc == -EEXIST ? 0 : rc;
}

int nn_trash_move(struct nn_ns *ns, const char *path, const char *user, uint32_t uid,
		  uint32_t gid, int64_t now_s, char *out, size_t outsz)
{
	if (!user_ok(user))
		return -EINVAL;
	struct buf home = BUF_INIT, trash = BUF_INIT, target = BUF_INIT;
	buf_printf(&home, "/user/%s", user);
	buf_printf(&trash, "%s/.Trash", home.data);
	int rc = 0;
	size_t tl = trash.len;
	if (!strncmp(path, trash.data, tl) && (path[tl] == 0 || path[tl] == '/')) {
		rc = -EINVAL; /* already in the trash: the caller deletes it */
		goto out;
	}
	if (!strcmp(path, "/") || !strcmp(path, home.data)) {
		rc = -EBUSY; /* the root, or the home holding the trash itself */
		goto out;
	}
	buf_printf(&target, "%s/Current%s", trash.data, path);
	char *slash = strrchr(target.data, '/');
	*slash = 0;
	if ((rc = ensure_dir(ns, "/user", 0755, false, 0, 0)) ||
	    (rc = ensure_dir(ns, home.data, 0755, false, uid, gid)) ||
	    (rc = ensure_dir(ns, trash.data, 0700, false, uid, gid)) ||
	    (rc = ensure_dir(ns, target.data, 0700, true, uid, gid)))
		goto out;
	*slash = '/';
	struct nn_attr a;
	if (!nn_ns_stat(ns, target.data, &a))
		buf_printf(&target, ".%lld", (long long)now_s); /* removed before: keep both */
	struct nn_blocks freed = {0};
	rc = nn_ns_rename(ns, path, target.data, PROTO_RENAME_NOREPLACE, &freed);
	nn_blocks_free(&freed); /* nothing is replaced */
	if (!rc)
		snprintf(out, outsz, "%s", target.data);
out:
	buf_free(&home);
	buf_free(&trash);
	buf_free(&target);
	return rc;
}

struct names {
	char (*v)[PROTO_NAME_MAX + 1];
	uint32_t n, cap;
};

static int add_name(void *arg, const char *name, const struct nn_attr *a)
{
	(void)a;
	struct names *l = arg;
	if (ALLOC_GROW(l->v, l->n + 1, l->cap))
		return -ENOMEM;
	snprintf(l->v[l->n++], sizeof l->v[0], "%s", name);
	return 0;
}

static void list_all(struct nn_ns *ns, const char *dir, struct names *l)
{
	nn_ns_list_all(ns, dir, add_name, l);
}

void nn_trash_tick(struct nn_ns *ns, double interval, int64_t now_s, struct nn_blocks *freed)
{
	struct names users = {0};
	list_all(ns, "/user", &users);
	for (uint32_t i = 0; i < users.n; i++) {
		struct buf t = BUF_INIT, p = BUF_INIT;
		buf_printf(&t, "/user/%s/.Trash", users.v[i]);
		struct names items = {0};
		list_all(ns, t.data, &items);
		for (uint32_t k = 0; k < items.n; k++) {
			buf_reset(&p);
			buf_printf(&p, "%s/%s", t.data, items.v[k]);
			char *end;
			long long when = strtoll(items.v[k], &end, 10);
			if (!strcmp(items.v[k], "Current")) {
				struct names cur = {0};
				list_all(ns, p.data, &cur);
				if (cur.n) {
					struct buf cp = BUF_INIT;
					buf_printf(&cp, "%s/%lld", t.data, (long long)now_s);
					struct nn_blocks none = {0};
					nn_ns_rename(ns, p.data, cp.data, PROTO_RENAME_NOREPLACE, &none);
					nn_blocks_free(&none);
					buf_free(&cp);
				}
				free(cur.v);
			} else if (!*end && now_s - when >= (long long)interval) {
				if (!nn_ns_delete(ns, p.data, true, freed))
					log_info("trash: emptied %s", p.data);
			}
		}
		free(items.v);
		buf_free(&t);
		buf_free(&p);
	}
	free(users.v);
}
