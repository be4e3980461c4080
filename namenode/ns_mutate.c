/*
 * ns_mutate: every change to the namespace's inodes, directory entries and block
 * lists -- mkdir, create, the write path (add_block, abandon_block, complete), rename,
 * delete, setrep, setattr, symlink, mknod, link, block rewrites (update) and
 * set_block_size. Loop thread only. Each call checks everything first, then builds one
 * WriteBatch holding all of its changes (entries, inodes, blocks, parents' times and
 * link counts, and the "C" counters when it used an id) and hands it to nn_ns_commit:
 * a mutation is applied whole or not at all, and the invariants listed in ns_int.h
 * hold after each one. The in-RAM counts (ns->nfiles, ns->nblocks) move with the batch
 * (nn_ns_delete puts them back when it gives up half-way).
 *
 * File states: a file is created under construction (PROTO_A_UNDER_CONSTRUCTION,
 * nn_ns_create); nn_ns_add_block appends blocks while it is, nn_ns_abandon_block drops
 * the last one again (a failed pipeline), nn_ns_complete closes it. nn_ns_update
 * rewrites only closed files. Sizes: inode.size is the sum of the block lengths
 * recorded so far (the last block's length is recorded by the next add_block or by
 * complete).
 *
 * Links: a file, symlink or device loses its inode, blocks and xattrs with its last
 * entry (drop_link); a directory has exactly one entry and goes with it.
 */
#include "ns_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pack.h"

static void touch_dir(struct nn_attr *d, int64_t t)
{
	d->mtime = t;
	d->ctime = t;
}

/* The key of inode ino's "U" record (kept while open). */
static size_t key_kept(uint8_t *k, uint64_t ino) { return nn_ns_key_prefix(k, 'U', ino); }

/* Removes one link to inode a (its entry already deleted by the caller); when the last
 * link goes, deletes the inode, its blocks and xattrs into wb and freed -- or, with
 * keep (a file some mount has open), keeps it with nlink 0 and a "U" record. */
static void drop_link_keep(struct nn_ns *ns, leveldb_writebatch_t *wb, struct nn_attr *a,
			   struct nn_blocks *freed, int64_t t, bool keep)
{
	if (a->type != PROTO_T_DIR && (a->nlink > 1 || (keep && a->nlink == 1))) {
		a->nlink--;
		a->ctime = t;
		nn_ns_put_inode(wb, a);
		if (!a->nlink) {
			uint8_t k[NN_NS_PREFIX_LEN];
			leveldb_writebatch_put(wb, (const char *)k, key_kept(k, a->ino), "", 0);
		}
		return;
	}
	if (!a->nlink) { /* a kept inode going at last */
		uint8_t k[NN_NS_PREFIX_LEN];
		leveldb_writebatch_delete(wb, (const char *)k, key_kept(k, a->ino));
	}
	uint8_t k[NN_NS_PREFIX_LEN];
	leveldb_writebatch_delete(wb, (const char *)k, nn_ns_key_inode(k, a->ino));
	ns->nfiles--;
	if (a->type == PROTO_T_FILE) {
		struct nn_blocks bl = {0};
		nn_ns_blocks(ns, a->ino, 0, 0, &bl);
		for (size_t i = 0; i < bl.n; i++) {
			nn_ns_del_block(wb, a->ino, bl.v[i].index);
			if (!bl.v[i].id)
				continue; /* a hole */
			if (freed)
				nn_blocks_push(freed, &bl.v[i]);
			ns->nblocks--;
		}
		nn_blocks_free(&bl);
	}
	nn_ns_xattr_drop_all(ns, wb, a->ino);
}

static void drop_link(struct nn_ns *ns, leveldb_writebatch_t *wb, struct nn_attr *a,
		      struct nn_blocks *freed, int64_t t)
{
	drop_link_keep(ns, wb, a, freed, t, false);
}

void nn_ns_init_child(struct nn_ns *ns, struct nn_attr *a, uint8_t type, uint32_t mode,
		      uint32_t uid, uint32_t gid, int64_t t)
{
	memset(a, 0, sizeof *a);
	a->ino = ns->next_ino++;
	a->type = type;
	a->mode = mode & 07777;
	a->uid = uid;
	a->gid = gid;
	a->nlink = type == PROTO_T_DIR ? 2 : 1;
	a->mtime = a->atime = a->ctime = t;
}

int nn_ns_mkdir(struct nn_ns *ns, const char *path, uint32_t mode, bool parents,
		uint32_t uid, uint32_t gid, struct nn_attr *out)
{
	int rc = nn_ns_check_path(path);
	if (rc)
		return rc;
	struct nn_attr cur, child;
	rc = nn_ns_stat_ino(ns, NN_ROOT_INO, &cur);
	if (rc)
		return rc;
	const char *p = path;
	char name[PROTO_NAME_MAX + 1];
	bool created = false;
	leveldb_writebatch_t *wb = NULL;
	int64_t t = nn_ns_now();
	if (nn_ns_is_last(p)) /* mkdir / */
		return parents ? (out ? (*out = cur, 0) : 0) : -EEXIST;
	while (nn_ns_next_name(&p, name)) {
		if (cur.type != PROTO_T_DIR) {
			rc = -ENOTDIR;
			goto fail;
		}
		uint64_t ino;
		rc = created ? -ENOENT : nn_ns_dirent_get(ns, cur.ino, name, &ino);
		if (rc == 0) {
			rc = nn_ns_stat_ino(ns, ino, &child);
			if (rc)
				goto fail;
			if (nn_ns_is_last(p) && !parents) {
				rc = -EEXIST;
				goto fail;
			}
			if (nn_ns_is_last(p) && child.type != PROTO_T_DIR) {
				rc = -EEXIST;
				goto fail;
			}
			cur = child;
			continue;
		}
		if (rc != -ENOENT)
			goto fail;
		if (!nn_ns_is_last(p) && !parents)
			goto fail; /* ENOENT: missing parent */
		if (!wb)
			wb = leveldb_writebatch_create();
		nn_ns_init_child(ns, &child, PROTO_T_DIR, nn_ns_is_last(p) ? mode : (mode | 0300),
				 uid, gid, t);
		child.replication = cur.replication;
		child.block_size = cur.block_size;
		child.parent = cur.ino;
		nn_ns_put_dirent(wb, cur.ino, name, child.ino, PROTO_T_DIR);
		cur.nlink++;
		touch_dir(&cur, t);
		nn_ns_put_inode(wb, &cur);
		nn_ns_put_inode(wb, &child);
		ns->nfiles++;
		created = true;
		cur = child;
	}
	if (wb) {
		nn_ns_put_counters(ns, wb);
		rc = nn_ns_commit(ns, wb);
		wb = NULL;
		if (rc)
			return rc;
	}
	if (out)
		*out = cur;
	return 0;
fail:
	if (wb) /* only reachable before anything was created; ids merely skip */
		leveldb_writebatch_destroy(wb);
	return rc;
}

int nn_ns_mkdir_at(struct nn_ns *ns, uint64_t dir, const char *name, uint32_t mode,
		   uint32_t uid, uint32_t gid, struct nn_attr *out)
{
	struct nn_ns_slot *sl = malloc(sizeof *sl);
	if (!sl)
		return -ENOMEM;
	int rc = nn_ns_slot_at(ns, dir, name, sl);
	if (!rc && sl->exists)
		rc = -EEXIST;
	if (rc) {
		free(sl);
		return rc;
	}
	struct nn_attr *p = &sl->dir, a;
	int64_t t = nn_ns_now();
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	nn_ns_init_child(ns, &a, PROTO_T_DIR, mode, uid, gid, t);
	a.replication = p->replication;
	a.block_size = p->block_size;
	a.parent = p->ino;
	nn_ns_put_dirent(wb, p->ino, sl->name, a.ino, PROTO_T_DIR);
	p->nlink++;
	touch_dir(p, t);
	nn_ns_put_inode(wb, p);
	nn_ns_put_inode(wb, &a);
	nn_ns_put_counters(ns, wb);
	ns->nfiles++;
	free(sl);
	rc = nn_ns_commit(ns, wb);
	if (!rc && out)
		*out = a;
	return rc;
}

/* Creates a file (under construction) at slot sl. */
static int create_in(struct nn_ns *ns, struct nn_ns_slot *sl, uint32_t mode, bool overwrite,
		     uint16_t replication, uint64_t block_size, uint32_t uid, uint32_t gid,
		     struct nn_attr *out, struct nn_blocks *freed)
{
	struct nn_attr *parent = &sl->dir, a;
	if (replication > PROTO_REPL_MAX)
		return -EINVAL;
	if (sl->exists) {
		if (sl->old.type == PROTO_T_DIR)
			return -EISDIR;
		if (!overwrite)
			return -EEXIST;
	}
	int64_t t = nn_ns_now();
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	if (sl->exists)
		drop_link(ns, wb, &sl->old, freed, t);
	nn_ns_init_child(ns, &a, PROTO_T_FILE, mode, uid, gid, t);
	a.replication = replication ? replication
			: parent->replication ? parent->replication : ns->defaults.replication;
	a.block_size = block_size ? block_size
		       : parent->block_size ? parent->block_size : ns->defaults.block_size;
	a.flags = PROTO_A_UNDER_CONSTRUCTION;
	nn_ns_put_dirent(wb, parent->ino, sl->name, a.ino, PROTO_T_FILE);
	nn_ns_put_inode(wb, &a);
	touch_dir(parent, t);
	nn_ns_put_inode(wb, parent);
	nn_ns_put_counters(ns, wb);
	ns->nfiles++;
	int rc = nn_ns_commit(ns, wb);
	if (!rc && out)
		*out = a;
	return rc;
}

/* Resolves a slot by path (when path is set) or by (dir, name) into a new *sl. */
static int slot_new(struct nn_ns *ns, const char *path, uint64_t dir, const char *name,
		    struct nn_ns_slot **sl)
{
	*sl = malloc(sizeof **sl);
	if (!*sl)
		return -ENOMEM;
	int rc = path ? nn_ns_slot_path(ns, path, *sl) : nn_ns_slot_at(ns, dir, name, *sl);
	if (rc) {
		free(*sl);
		*sl = NULL;
	}
	return rc;
}

int nn_ns_create(struct nn_ns *ns, const char *path, uint32_t mode, bool overwrite,
		 uint16_t replication, uint64_t block_size, uint32_t uid, uint32_t gid,
		 struct nn_attr *out, struct nn_blocks *freed)
{
	struct nn_ns_slot *sl;
	int rc = slot_new(ns, path, 0, NULL, &sl);
	if (rc)
		return rc == -EBUSY ? -EISDIR : rc;
	rc = create_in(ns, sl, mode, overwrite, replication, block_size, uid, gid, out, freed);
	free(sl);
	return rc;
}

int nn_ns_create_at(struct nn_ns *ns, uint64_t dir, const char *name, uint32_t mode,
		    bool overwrite, uint16_t replication, uint64_t block_size, uint32_t uid,
		    uint32_t gid, struct nn_attr *out, struct nn_blocks *freed)
{
	struct nn_ns_slot *sl;
	int rc = slot_new(ns, NULL, dir, name, &sl);
	if (rc)
		return rc;
	rc = create_in(ns, sl, mode, overwrite, replication, block_size, uid, gid, out, freed);
	free(sl);
	return rc;
}

static int open_file(struct nn_ns *ns, uint64_t ino, struct nn_attr *a)
{
	int rc = nn_ns_stat_ino(ns, ino, a);
	if (rc)
		return rc;
	if (a->type != PROTO_T_FILE)
		return -EISDIR;
	return 0;
}

/* The last block of file a (which has blocks) into *b. */
static int last_block(struct nn_ns *ns, const struct nn_attr *a, struct nn_blockrec *b)
{
	uint8_t k[NN_NS_BLOCK_KEY_LEN];
	struct buf v = BUF_INIT;
	*b = (struct nn_blockrec){.ino = a->ino, .index = a->nblocks - 1};
	int rc = nn_ns_db_get(ns, k, nn_ns_key_block(k, a->ino, b->index), &v);
	if (!rc)
		rc = nn_ns_decode_block(v.data, v.len, b);
	buf_free(&v);
	return rc;
}

/* Records the last block's final length into wb and a. */
static int set_last_len(struct nn_ns *ns, leveldb_writebatch_t *wb, struct nn_attr *a,
			uint64_t id, uint64_t len)
{
	if (!a->nblocks)
		return id ? -EINVAL : 0;
	struct nn_blockrec b;
	int rc = last_block(ns, a, &b);
	if (rc)
		return rc;
	if (b.id != id || len > a->block_size)
		return -EINVAL;
	a->size = a->size - b.len + len;
	b.len = len;
	nn_ns_put_block(wb, a->ino, b.index, &b);
	return 0;
}

int nn_ns_add_block(struct nn_ns *ns, uint64_t ino, uint64_t prev_id, uint64_t prev_len,
		    struct nn_blockrec *newb, struct nn_attr *out)
{
	struct nn_attr a;
	int rc = open_file(ns, ino, &a);
	if (rc)
		return rc;
	if (!(a.flags & PROTO_A_UNDER_CONSTRUCTION))
		return -EINVAL;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	rc = set_last_len(ns, wb, &a, prev_id, prev_len);
	if (rc) {
		leveldb_writebatch_destroy(wb);
		return rc;
	}
	*newb = (struct nn_blockrec){.id = ns->next_block++, .gs = ns->next_gs++, .len = 0,
				     .offset = a.size, .ino = ino, .index = a.nblocks};
	nn_ns_put_block(wb, ino, a.nblocks, newb);
	a.nblocks++;
	a.mtime = a.ctime = nn_ns_now();
	nn_ns_put_inode(wb, &a);
	nn_ns_put_counters(ns, wb);
	ns->nblocks++;
	rc = nn_ns_commit(ns, wb);
	if (!rc && out)
		*out = a;
	return rc;
}

int nn_ns_abandon_block(struct nn_ns *ns, uint64_t ino, uint64_t block_id,
			struct nn_blocks *freed)
{
	struct nn_attr a;
	int rc = open_file(ns, ino, &a);
	if (rc)
		return rc;
	struct nn_blockrec b;
	if (!(a.flags & PROTO_A_UNDER_CONSTRUCTION) || !a.nblocks ||
	    last_block(ns, &a, &b) || b.id != block_id)
		return -EINVAL;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	nn_ns_del_block(wb, ino, b.index);
	a.nblocks--;
	a.size -= b.len;
	nn_ns_put_inode(wb, &a);
	ns->nblocks--;
	if (freed)
		nn_blocks_push(freed, &b);
	return nn_ns_commit(ns, wb);
}

int nn_ns_complete(struct nn_ns *ns, uint64_t ino, uint64_t last_id, uint64_t last_len,
		   struct nn_attr *out)
{
	struct nn_attr a;
	int rc = open_file(ns, ino, &a);
	if (rc)
		return rc;
	if (!(a.flags & PROTO_A_UNDER_CONSTRUCTION)) {
		if (out)
			*out = a; /* a retried complete */
		return 0;
	}
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	rc = set_last_len(ns, wb, &a, last_id, last_len);
	if (rc) {
		leveldb_writebatch_destroy(wb);
		return rc;
	}
	a.flags &= (uint8_t)~PROTO_A_UNDER_CONSTRUCTION;
	a.mtime = a.ctime = nn_ns_now();
	nn_ns_put_inode(wb, &a);
	rc = nn_ns_commit(ns, wb);
	if (!rc && out)
		*out = a;
	return rc;
}

/* Refuses (-EINVAL) moving directory a into directory dir when dir is a or below it. */
static int check_not_within(struct nn_ns *ns, const struct nn_attr *a, uint64_t dir)
{
	if (a->type != PROTO_T_DIR)
		return 0;
	int rc = nn_ns_is_within(ns, dir, a->ino);
	return rc == 1 ? -EINVAL : rc;
}

/* Renames slot ss to slot ds (see nn_ns_rename). */
static int rename_in(struct nn_ns *ns, struct nn_ns_slot *ss, struct nn_ns_slot *ds,
		     uint32_t flags, struct nn_blocks *freed)
{
	struct nn_attr sp = ss->dir, s = ss->old, dp = ds->dir, d = ds->old;
	const char *sname = ss->name, *dname = ds->name;
	bool dexists = ds->exists;
	int rc;
	if (!ss->exists)
		return -ENOENT;
	if ((flags & PROTO_RENAME_NOREPLACE) && (flags & PROTO_RENAME_EXCHANGE))
		return -EINVAL;
	if (dexists && d.ino == s.ino)
		return 0; /* the same name, the same file, or hard links to it: nothing to do */
	if ((rc = check_not_within(ns, &s, dp.ino)))
		return rc;
	if (dexists && (flags & PROTO_RENAME_NOREPLACE))
		return -EEXIST;
	if (flags & PROTO_RENAME_EXCHANGE) {
		if (!dexists)
			return -ENOENT;
		if ((rc = check_not_within(ns, &d, sp.ino)))
			return rc;
	} else if (dexists) {
		if (s.type == PROTO_T_DIR && d.type != PROTO_T_DIR)
			return -ENOTDIR;
		if (s.type != PROTO_T_DIR && d.type == PROTO_T_DIR)
			return -EISDIR;
		if (d.type == PROTO_T_DIR && !nn_ns_dir_is_empty(ns, d.ino))
			return -ENOTEMPTY;
	}
	int64_t t = nn_ns_now();
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	bool same_parent = sp.ino == dp.ino;
	if (flags & PROTO_RENAME_EXCHANGE) {
		nn_ns_put_dirent(wb, sp.ino, sname, d.ino, d.type);
		nn_ns_put_dirent(wb, dp.ino, dname, s.ino, s.type);
		if (!same_parent && s.type != d.type) {
			int delta = (s.type == PROTO_T_DIR) - (d.type == PROTO_T_DIR);
			sp.nlink = (uint32_t)((int)sp.nlink - delta);
			dp.nlink = (uint32_t)((int)dp.nlink + delta);
		}
		d.ctime = t;
		if (d.type == PROTO_T_DIR)
			d.parent = sp.ino;
		nn_ns_put_inode(wb, &d);
	} else {
		nn_ns_del_dirent(wb, sp.ino, sname);
		if (dexists) {
			if (d.type == PROTO_T_DIR)
				dp.nlink--;
			drop_link_keep(ns, wb, &d, freed, t,
				       (flags & PROTO_RENAME_KEEP) && d.type == PROTO_T_FILE);
		}
		nn_ns_put_dirent(wb, dp.ino, dname, s.ino, s.type);
		if (s.type == PROTO_T_DIR && !same_parent) {
			sp.nlink--;
			dp.nlink++;
		}
	}
	s.ctime = t;
	if (s.type == PROTO_T_DIR)
		s.parent = dp.ino;
	nn_ns_put_inode(wb, &s);
	touch_dir(&dp, t);
	if (same_parent) {
		nn_ns_put_inode(wb, &dp);
	} else {
		touch_dir(&sp, t);
		nn_ns_put_inode(wb, &sp);
		nn_ns_put_inode(wb, &dp);
	}
	return nn_ns_commit(ns, wb);
}

/* Resolves two slots (by path when spath is set) and renames; frees them. */
static int rename_slots(struct nn_ns *ns, const char *spath, uint64_t sdir, const char *sname,
			const char *dpath, uint64_t ddir, const char *dname, uint32_t flags,
			struct nn_blocks *freed)
{
	struct nn_ns_slot *ss, *ds;
	int rc = slot_new(ns, spath, sdir, sname, &ss); /* -EBUSY for the root */
	if (rc)
		return rc;
	if (!ss->exists) {
		free(ss);
		return -ENOENT;
	}
	rc = slot_new(ns, dpath, ddir, dname, &ds);
	if (!rc) {
		rc = rename_in(ns, ss, ds, flags, freed);
		free(ds);
	}
	free(ss);
	return rc;
}

int nn_ns_rename(struct nn_ns *ns, const char *src, const char *dst, uint32_t flags,
		 struct nn_blocks *freed)
{
	return rename_slots(ns, src, 0, NULL, dst, 0, NULL, flags, freed);
}

int nn_ns_rename_at(struct nn_ns *ns, uint64_t sdir, const char *sname, uint64_t ddir,
		    const char *dname, uint32_t flags, struct nn_blocks *freed)
{
	return rename_slots(ns, NULL, sdir, sname, NULL, ddir, dname, flags, freed);
}

/* Deletes the subtree under directory d (entries, inodes, blocks) into wb. */
static int delete_tree(struct nn_ns *ns, leveldb_writebatch_t *wb, struct nn_attr *d,
		       struct nn_blocks *freed, int64_t t, int depth)
{
	if (depth > 4096)
		return -ELOOP;
	uint8_t k[NN_NS_PREFIX_LEN];
	nn_ns_key_prefix(k, 'D', d->ino);
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	int rc = 0;
	struct nn_attr *c = malloc(sizeof *c);
	if (!c) {
		leveldb_iter_destroy(it);
		return -ENOMEM;
	}
	for (leveldb_iter_seek(it, (const char *)k, sizeof k); leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t kl, vl;
		const char *key = leveldb_iter_key(it, &kl);
		if (kl <= sizeof k || memcmp(key, k, sizeof k))
			break;
		const char *v = leveldb_iter_value(it, &vl);
		uint64_t child;
		if (nn_ns_decode_dirent(v, vl, &child) || nn_ns_stat_ino(ns, child, c)) {
			rc = -EIO;
			break;
		}
		leveldb_writebatch_delete(wb, key, kl);
		if (c->type == PROTO_T_DIR) {
			rc = delete_tree(ns, wb, c, freed, t, depth + 1);
			if (rc)
				break;
		}
		drop_link(ns, wb, c, freed, t);
	}
	free(c);
	leveldb_iter_destroy(it);
	return rc;
}

/* Removes the name in slot sl (and, with recursive, a directory's whole subtree);
 * with keep, a file losing its last name is kept (drop_link_keep). */
static int delete_in(struct nn_ns *ns, struct nn_ns_slot *sl, bool recursive, bool keep,
		     struct nn_blocks *freed)
{
	struct nn_attr p = sl->dir, a = sl->old;
	const char *name = sl->name;
	int rc;
	if (!sl->exists)
		return -ENOENT;
	if (a.type == PROTO_T_DIR && !recursive && !nn_ns_dir_is_empty(ns, a.ino))
		return -ENOTEMPTY;
	int64_t t = nn_ns_now();
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	uint64_t files_before = ns->nfiles, blocks_before = ns->nblocks;
	if (a.type == PROTO_T_DIR) {
		rc = delete_tree(ns, wb, &a, freed, t, 0);
		if (rc) {
			ns->nfiles = files_before;
			ns->nblocks = blocks_before;
			leveldb_writebatch_destroy(wb);
			return rc;
		}
		p.nlink--;
	}
	nn_ns_del_dirent(wb, p.ino, name);
	drop_link_keep(ns, wb, &a, freed, t, keep && a.type == PROTO_T_FILE);
	touch_dir(&p, t);
	nn_ns_put_inode(wb, &p);
	return nn_ns_commit(ns, wb);
}

int nn_ns_delete(struct nn_ns *ns, const char *path, bool recursive, struct nn_blocks *freed)
{
	struct nn_ns_slot *sl;
	int rc = slot_new(ns, path, 0, NULL, &sl);
	if (rc)
		return rc;
	rc = delete_in(ns, sl, recursive, false, freed);
	free(sl);
	return rc;
}

int nn_ns_unlink_at(struct nn_ns *ns, uint64_t dir, const char *name, uint32_t flags,
		    struct nn_blocks *freed, struct nn_attr *gone)
{
	bool rmdir = flags & NN_UNLINK_DIR;
	struct nn_ns_slot *sl;
	int rc = slot_new(ns, NULL, dir, name, &sl);
	if (rc)
		return rc;
	if (sl->exists && rmdir && sl->old.type != PROTO_T_DIR)
		rc = -ENOTDIR;
	else if (sl->exists && !rmdir && sl->old.type == PROTO_T_DIR)
		rc = -EISDIR;
	else
		rc = delete_in(ns, sl, false, flags & NN_UNLINK_KEEP, freed);
	if (!rc && gone) {
		*gone = sl->old;
		if (gone->type != PROTO_T_DIR && gone->nlink > 0)
			gone->nlink--; /* 0: that was its last name */
	}
	free(sl);
	return rc;
}

int nn_ns_setrep(struct nn_ns *ns, uint64_t ino, uint16_t replication, struct nn_attr *out)
{
	if (replication < 1 || replication > PROTO_REPL_MAX)
		return -EINVAL;
	struct nn_attr a;
	int rc = nn_ns_stat_ino(ns, ino, &a);
	if (rc)
		return rc;
	if (a.type != PROTO_T_FILE && a.type != PROTO_T_DIR)
		return -EINVAL;
	a.replication = replication;
	a.ctime = nn_ns_now();
	return nn_ns_commit_inode(ns, &a, out);
}

/* ---- POSIX attributes, special files, links ---- */

int nn_ns_setattr(struct nn_ns *ns, const char *path, uint32_t valid, uint32_t mode,
		  uint32_t uid, uint32_t gid, int64_t atime, int64_t mtime, struct nn_attr *out)
{
	struct nn_attr a;
	int rc = nn_ns_stat(ns, path, &a);
	return rc ? rc : nn_ns_setattr_ino(ns, a.ino, valid, mode, uid, gid, atime, mtime, out);
}

int nn_ns_setattr_ino(struct nn_ns *ns, uint64_t ino, uint32_t valid, uint32_t mode,
		      uint32_t uid, uint32_t gid, int64_t atime, int64_t mtime,
		      struct nn_attr *out)
{
	struct nn_attr a;
	int rc = nn_ns_stat_ino(ns, ino, &a);
	if (rc)
		return rc;
	if (valid & PROTO_SET_MODE)
		a.mode = mode & 07777;
	if (valid & PROTO_SET_UID)
		a.uid = uid;
	if (valid & PROTO_SET_GID)
		a.gid = gid;
	if (valid & PROTO_SET_ATIME)
		a.atime = atime;
	if (valid & PROTO_SET_MTIME)
		a.mtime = mtime;
	a.ctime = nn_ns_now();
	return nn_ns_commit_inode(ns, &a, out);
}

/* Resolves a slot (by path when path is set) whose name must be free: -EEXIST when
 * something (or the root itself) is there already. */
static int free_slot(struct nn_ns *ns, const char *path, uint64_t dir, const char *name,
		     struct nn_ns_slot **sl)
{
	int rc = slot_new(ns, path, dir, name, sl);
	if (rc == -EBUSY)
		return -EEXIST;
	if (!rc && (*sl)->exists) {
		free(*sl);
		*sl = NULL;
		rc = -EEXIST;
	}
	return rc;
}

/* Adds a new non-directory, non-file inode (a filled in by the caller) at path, or at
 * (dir, name) when path is NULL. */
static int add_node(struct nn_ns *ns, const char *path, uint64_t dir, const char *name,
		    struct nn_attr *a, uint8_t type, uint32_t mode, uint32_t uid, uint32_t gid)
{
	struct nn_ns_slot *sl;
	int rc = free_slot(ns, path, dir, name, &sl);
	if (rc)
		return rc;
	struct nn_attr parent = sl->dir;
	int64_t t = nn_ns_now();
	char target[sizeof a->target];
	uint32_t rdev = a->rdev;
	memcpy(target, a->target, sizeof target);
	nn_ns_init_child(ns, a, type, mode, uid, gid, t);
	memcpy(a->target, target, sizeof target);
	a->rdev = rdev;
	if (type == PROTO_T_SYMLINK)
		a->size = strlen(a->target);
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	nn_ns_put_dirent(wb, parent.ino, sl->name, a->ino, type);
	free(sl);
	nn_ns_put_inode(wb, a);
	touch_dir(&parent, t);
	nn_ns_put_inode(wb, &parent);
	nn_ns_put_counters(ns, wb);
	ns->nfiles++;
	return nn_ns_commit(ns, wb);
}

static int symlink_node(struct nn_ns *ns, const char *path, uint64_t dir, const char *name,
			const char *target, uint32_t uid, uint32_t gid, struct nn_attr *out)
{
	size_t n = strlen(target);
	if (!n)
		return -ENOENT;
	if (n > PROTO_PATH_MAX)
		return -ENAMETOOLONG;
	struct nn_attr a;
	memset(&a, 0, sizeof a);
	memcpy(a.target, target, n + 1);
	int rc = add_node(ns, path, dir, name, &a, PROTO_T_SYMLINK, 0777, uid, gid);
	if (!rc && out)
		*out = a;
	return rc;
}

int nn_ns_symlink(struct nn_ns *ns, const char *path, const char *target, uint32_t uid,
		  uint32_t gid, struct nn_attr *out)
{
	return symlink_node(ns, path, 0, NULL, target, uid, gid, out);
}

int nn_ns_symlink_at(struct nn_ns *ns, uint64_t dir, const char *name, const char *target,
		     uint32_t uid, uint32_t gid, struct nn_attr *out)
{
	return symlink_node(ns, NULL, dir, name, target, uid, gid, out);
}

static int mknod_node(struct nn_ns *ns, const char *path, uint64_t dir, const char *name,
		      uint8_t type, uint32_t mode, uint32_t rdev, uint32_t uid, uint32_t gid,
		      struct nn_attr *out)
{
	if (type != PROTO_T_FIFO && type != PROTO_T_CHR && type != PROTO_T_BLK &&
	    type != PROTO_T_SOCK)
		return -EINVAL;
	struct nn_attr a;
	memset(&a, 0, sizeof a);
	a.rdev = rdev;
	int rc = add_node(ns, path, dir, name, &a, type, mode, uid, gid);
	if (!rc && out)
		*out = a;
	return rc;
}

int nn_ns_mknod(struct nn_ns *ns, const char *path, uint8_t type, uint32_t mode,
		uint32_t rdev, uint32_t uid, uint32_t gid, struct nn_attr *out)
{
	return mknod_node(ns, path, 0, NULL, type, mode, rdev, uid, gid, out);
}

int nn_ns_mknod_at(struct nn_ns *ns, uint64_t dir, const char *name, uint8_t type,
		   uint32_t mode, uint32_t rdev, uint32_t uid, uint32_t gid, struct nn_attr *out)
{
	return mknod_node(ns, NULL, dir, name, type, mode, rdev, uid, gid, out);
}

/* Adds a name (path, or (dir, name) when path is NULL) for inode a. */
static int link_node(struct nn_ns *ns, struct nn_attr *a, const char *path, uint64_t dir,
		     const char *name, struct nn_attr *out)
{
	if (a->type == PROTO_T_DIR)
		return -EPERM;
	if (a->nlink >= 65000)
		return -EMLINK;
	struct nn_ns_slot *sl;
	int rc = free_slot(ns, path, dir, name, &sl);
	if (rc)
		return rc;
	int64_t t = nn_ns_now();
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	a->nlink++;
	a->ctime = t;
	nn_ns_put_dirent(wb, sl->dir.ino, sl->name, a->ino, a->type);
	nn_ns_put_inode(wb, a);
	touch_dir(&sl->dir, t);
	nn_ns_put_inode(wb, &sl->dir);
	free(sl);
	rc = nn_ns_commit(ns, wb);
	if (!rc && out)
		*out = *a;
	return rc;
}

int nn_ns_link(struct nn_ns *ns, const char *existing, const char *newpath,
	       struct nn_attr *out)
{
	struct nn_attr a;
	int rc = nn_ns_stat(ns, existing, &a);
	return rc ? rc : link_node(ns, &a, newpath, 0, NULL, out);
}

int nn_ns_link_at(struct nn_ns *ns, uint64_t ino, uint64_t dir, const char *name,
		  struct nn_attr *out)
{
	struct nn_attr a;
	int rc = nn_ns_stat_ino(ns, ino, &a);
	return rc ? rc : link_node(ns, &a, NULL, dir, name, out);
}

int nn_ns_reclaim(struct nn_ns *ns, uint64_t ino, struct nn_blocks *freed)
{
	struct nn_attr a;
	uint8_t k[NN_NS_PREFIX_LEN];
	struct buf v = BUF_INIT;
	int rc = nn_ns_db_get(ns, k, key_kept(k, ino), &v);
	buf_free(&v);
	if (rc)
		return rc; /* -ENOENT: not kept (linked again, or reclaimed already) */
	if ((rc = nn_ns_stat_ino(ns, ino, &a)))
		return rc;
	if (a.nlink)
		return -EIO;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	drop_link(ns, wb, &a, freed, nn_ns_now());
	return nn_ns_commit(ns, wb);
}

int nn_ns_scan_kept(struct nn_ns *ns, nn_ns_ino_cb cb, void *arg)
{
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	int rc = 0;
	for (leveldb_iter_seek(it, "U", 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t kl;
		const uint8_t *key = (const uint8_t *)leveldb_iter_key(it, &kl);
		if (kl < 1 || key[0] != 'U')
			break;
		if (kl != NN_NS_PREFIX_LEN) {
			rc = -EIO;
			break;
		}
		cb(arg, be64_get(key + 1));
	}
	leveldb_iter_destroy(it);
	return rc;
}

int nn_ns_update(struct nn_ns *ns, uint64_t ino, uint64_t size, uint32_t nblocks,
		 const struct nn_ns_change *ch, size_t n, struct nn_blocks *freed,
		 struct nn_attr *out)
{
	struct nn_attr a;
	int rc = open_file(ns, ino, &a);
	if (rc)
		return rc;
	if (a.flags & PROTO_A_UNDER_CONSTRUCTION)
		return -EBUSY;
	struct nn_blocks cur = {0};
	if ((rc = nn_ns_blocks(ns, ino, 0, 0, &cur)))
		goto out;
	rc = -EIO;
	if (cur.n != a.nblocks)
		goto out; /* the inode and its block records disagree */
	/* the new list: current blocks (by slot), then the changes on top */
	uint64_t *lens = calloc(nblocks ? nblocks : 1, sizeof *lens);
	bool *set = calloc(nblocks ? nblocks : 1, sizeof *set);
	rc = -ENOMEM;
	if (!lens || !set)
		goto out_free;
	for (uint32_t i = 0; i < nblocks && i < cur.n; i++) {
		lens[i] = cur.v[i].len;
		set[i] = true;
	}
	rc = -EINVAL;
	for (size_t i = 0; i < n; i++) {
		uint32_t x = ch[i].index;
		if (x >= nblocks || ch[i].len > a.block_size)
			goto out_free;
		uint64_t was = x < cur.n ? cur.v[x].id : 0;
		if (was != ch[i].old_id) {
			rc = -ESTALE;
			goto out_free;
		}
		lens[x] = ch[i].len;
		set[x] = true;
	}
	uint64_t sum = 0;
	for (uint32_t i = 0; i < nblocks; i++) {
		if (!set[i])
			goto out_free; /* a gap nobody filled */
		if (i + 1 < nblocks && lens[i] != a.block_size)
			goto out_free; /* only the last block may be short */
		sum += lens[i];
	}
	if (sum != size)
		goto out_free;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	for (size_t i = nblocks; i < cur.n; i++) {
		nn_ns_del_block(wb, ino, (uint32_t)i);
		if (cur.v[i].id) {
			if (freed)
				nn_blocks_push(freed, &cur.v[i]);
			ns->nblocks--;
		}
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t x = ch[i].index;
		if (x < cur.n && cur.v[x].id) {
			if (freed)
				nn_blocks_push(freed, &cur.v[x]);
			ns->nblocks--;
		}
		struct nn_blockrec b = {.id = ch[i].new_id, .gs = ch[i].new_id ? ch[i].gs : 0,
					.len = ch[i].len, .ino = ino, .index = x};
		nn_ns_put_block(wb, ino, x, &b);
		if (b.id)
			ns->nblocks++;
	}
	a.nblocks = nblocks;
	a.size = size;
	a.mtime = a.ctime = nn_ns_now();
	nn_ns_put_inode(wb, &a);
	rc = nn_ns_commit(ns, wb);
	if (!rc && out)
		*out = a;
out_free:
	free(lens);
	free(set);
out:
	nn_blocks_free(&cur);
	return rc;
}

int nn_ns_set_block_size(struct nn_ns *ns, uint64_t ino, uint64_t block_size,
			 struct nn_attr *out)
{
	if (block_size % PROTO_CHUNK_SIZE || block_size > (1ULL << 40))
		return -EINVAL;
	struct nn_attr a;
	int rc = nn_ns_stat_ino(ns, ino, &a);
	if (rc)
		return rc;
	if (a.type == PROTO_T_FILE && a.nblocks)
		return -EBUSY; /* its blocks are laid out already */
	if (a.type != PROTO_T_FILE && a.type != PROTO_T_DIR)
		return -EINVAL;
	if (!block_size && a.type == PROTO_T_FILE)
		return -EINVAL;
	a.block_size = block_size;
	a.ctime = nn_ns_now();
	return nn_ns_commit_inode(ns, &a, out);
}
