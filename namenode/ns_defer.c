/*
 * ns_defer: creates answered before they are written -- the one-commit small file (the
 * API and the states are in ns.h, under nn_ns_create_deferred).
 *
 * The table is small (NN_DEFER_MAX files: the files being created right now) and
 * scanned linearly; the hooks that write a deferred file when it is observed sit in
 * ns_path.c's two reads (nn_ns_stat_ino, nn_ns_dirent_get) and its listings, and
 * cost nothing while the table is empty. Writing one is the create it stands for,
 * made with the attributes it was answered with: its entry, its inode, its
 * directory's times, the counters -- into the turn's batch, like any mutation, so
 * the reply of whatever observed it waits for the same sync.
 *
 * The inode number was handed out from the reserved range ("Counters" in
 * ns_store.c), so no later file gets it, even after a restart that forgot the table.
 */
#include "ns_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "log.h"

#define NN_DEFER_MAX 1024

struct nn_deferred {
	struct dfs_attr a; /* what the creator was answered */
	uint64_t dir, owner;
	char name[PROTO_NAME_MAX + 1];
};

static void take(struct nn_ns *ns, uint32_t i)
{
	free(ns->deferred[i]);
	memmove(&ns->deferred[i], &ns->deferred[i + 1],
		(ns->ndeferred - i - 1) * sizeof *ns->deferred);
	ns->ndeferred--;
}

/* Writes deferred file i (and takes it out of the table). */
static int write_one(struct nn_ns *ns, uint32_t i)
{
	struct nn_deferred d = *ns->deferred[i];
	take(ns, i); /* first: the reads below must not come back here */
	struct nn_attr *dir = malloc(sizeof *dir), a = {0};
	if (!dir)
		return -ENOMEM;
	int rc = nn_ns_stat_ino(ns, d.dir, dir);
	if (rc || dir->type != PROTO_T_DIR) {
		/* cannot be: a directory holding a deferred file is not empty */
		log_error("deferred file %llu: its directory %llu is gone",
			  (unsigned long long)d.a.ino, (unsigned long long)d.dir);
		free(dir);
		return rc ? rc : -EIO;
	}
	a.base = d.a;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	nn_ns_put_dirent(wb, d.dir, d.name, a.ino, PROTO_T_FILE);
	nn_ns_put_inode(wb, &a);
	nn_ns_defer_touch_dir(dir, &a);
	nn_ns_put_inode(wb, dir);
	nn_ns_put_counters(ns, wb);
	ns->nfiles++;
	free(dir);
	return nn_ns_commit(ns, wb);
}

void nn_ns_defer_touch_dir(struct nn_attr *d, const struct nn_attr *a)
{
	if (d->ctime > a->ctime)
		return; /* the directory changed since (its times are as that change left them) */
	d->mtime = d->ctime = a->ctime;
}

int nn_ns_defer_ino(struct nn_ns *ns, uint64_t ino)
{
	for (uint32_t i = 0; i < ns->ndeferred; i++)
		if (ns->deferred[i]->a.ino == ino)
			return write_one(ns, i);
	return -ENOENT;
}

int nn_ns_defer_name(struct nn_ns *ns, uint64_t dir, const char *name)
{
	for (uint32_t i = 0; i < ns->ndeferred; i++)
		if (ns->deferred[i]->dir == dir && !strcmp(ns->deferred[i]->name, name))
			return write_one(ns, i);
	return -ENOENT;
}

int nn_ns_defer_dir(struct nn_ns *ns, uint64_t dir)
{
	int rc = 0;
	for (uint32_t i = 0; i < ns->ndeferred;)
		if (ns->deferred[i]->dir == dir) {
			int one = write_one(ns, i);
			if (one && !rc)
				rc = one;
		} else {
			i++;
		}
	return rc;
}

/* The checks of a deferred create at (dir, name) and the new file's attributes in *a
 * (numbered ino, or from the counter when 0). */
static int defer_one(struct nn_ns *ns, uint64_t ino, uint64_t dir, const char *name,
		     uint32_t mode, uint16_t replication, uint64_t block_size, uint32_t uid,
		     uint32_t gid, uint64_t owner, struct nn_attr *out);

int nn_ns_create_deferred(struct nn_ns *ns, uint64_t dir, const char *name, uint32_t mode,
			  uint16_t replication, uint64_t block_size, uint32_t uid, uint32_t gid,
			  uint64_t owner, struct nn_attr *out)
{
	return defer_one(ns, 0, dir, name, mode, replication, block_size, uid, gid, owner, out);
}

int nn_ns_redefer(struct nn_ns *ns, uint64_t ino, uint64_t dir, const char *name, uint32_t mode,
		  uint16_t replication, uint64_t block_size, uint32_t uid, uint32_t gid,
		  uint64_t owner, struct nn_attr *out)
{
	if (!nn_ns_peek_ino(ns, ino, out))
		return 0; /* not lost after all */
	if (!ino || ino >= ns->first_ino)
		return -ENOENT;
	int rc = defer_one(ns, ino, dir, name, mode, replication, block_size, uid, gid, owner,
			   out);
	return rc == -EAGAIN ? -EEXIST : rc;
}

static int defer_one(struct nn_ns *ns, uint64_t ino, uint64_t dir, const char *name,
		     uint32_t mode, uint16_t replication, uint64_t block_size, uint32_t uid,
		     uint32_t gid, uint64_t owner, struct nn_attr *out)
{
	if (ns->ndeferred >= NN_DEFER_MAX || replication > PROTO_REPL_MAX)
		return -EAGAIN;
	struct nn_ns_slot *sl = malloc(sizeof *sl);
	if (!sl)
		return -ENOMEM;
	int rc = nn_ns_slot_at(ns, dir, name, sl); /* writes a deferred namesake first */
	if (!rc && sl->exists)
		rc = -EAGAIN; /* the usual create decides: EEXIST, EISDIR, or replace */
	if (rc) {
		free(sl);
		return rc;
	}
	struct nn_deferred *d = calloc(1, sizeof *d);
	if (!d || ALLOC_GROW(ns->deferred, ns->ndeferred + 1, ns->capdeferred)) {
		free(d);
		free(sl);
		return -ENOMEM;
	}
	struct nn_attr a;
	uint64_t next = ns->next_ino;
	nn_ns_init_child(ns, &a, PROTO_T_FILE, mode, uid, gid, nn_ns_now());
	if (ino) { /* made again: its own number, the counter untouched */
		a.ino = ino;
		ns->next_ino = next;
	}
	a.replication = replication		 ? replication
			: sl->dir.replication ? sl->dir.replication
					      : ns->defaults.replication;
	a.block_size = block_size	       ? block_size
		       : sl->dir.block_size ? sl->dir.block_size
					    : ns->defaults.block_size;
	free(sl);
	if (ns->next_ino > ns->ceil_ino) { /* past the reserved range: reserve more first */
		leveldb_writebatch_t *wb = leveldb_writebatch_create();
		nn_ns_put_counters(ns, wb);
		if ((rc = nn_ns_commit(ns, wb))) {
			free(d);
			return rc;
		}
	}
	d->a = a.base;
	d->dir = dir;
	d->owner = owner;
	snprintf(d->name, sizeof d->name, "%s", name);
	ns->deferred[ns->ndeferred++] = d;
	*out = a;
	return 0;
}

int nn_ns_peek_ino(struct nn_ns *ns, uint64_t ino, struct nn_attr *out)
{
	for (uint32_t i = 0; i < ns->ndeferred; i++)
		if (ns->deferred[i]->a.ino == ino) {
			memset(out, 0, sizeof *out);
			out->base = ns->deferred[i]->a;
			return 0;
		}
	return nn_ns_stat_ino(ns, ino, out);
}

void nn_ns_defer_drop(struct nn_ns *ns, uint64_t owner)
{
	for (uint32_t i = 0; i < ns->ndeferred;)
		if (ns->deferred[i]->owner == owner)
			take(ns, i);
		else
			i++;
}

uint32_t nn_ns_deferred(const struct nn_ns *ns) { return ns->ndeferred; }

void nn_ns_defer_free(struct nn_ns *ns)
{
	for (uint32_t i = 0; i < ns->ndeferred; i++)
		free(ns->deferred[i]);
	free(ns->deferred);
	ns->deferred = NULL;
	ns->ndeferred = ns->capdeferred = 0;
}
