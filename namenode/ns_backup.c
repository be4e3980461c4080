/*
 * ns_backup: dumping the namespace for `dfs admin backup` and restoring one for
 * `dfs-namenode format --from-backup`.
 *
 * Dump: runs on the namenode's loop thread, in pieces (nn_ns_dump_next per CN_BACKUP
 * request) while the namenode keeps serving. It reads a LevelDB snapshot taken by
 * nn_ns_dump_start, so the records form one consistent state however many mutations
 * happen between the pieces. It copies every record of ns_int.h's format as it is on
 * disk, in key order, format record "V" included, and does not fill LevelDB's block
 * cache.
 *
 * Restore: runs on `dfs-namenode format`'s main thread, before any loop exists, into a
 * directory holding no namespace. Records are written as they come, in synced batches
 * of about 8 MiB; the restore fails with -EPROTO unless the records carried this
 * build's format record, and the caller removes a half-restored directory.
 */
#include "ns_int.h"

#include <errno.h>
#include <stdlib.h>

#include "buf.h"
#include "log.h"
#include "pack.h"

#define NN_RESTORE_BATCH (8u << 20)

struct nn_ns_dump {
	struct nn_ns *ns; /* borrowed: outlives the dump */
	const leveldb_snapshot_t *snap;
	leveldb_readoptions_t *ropts;
	leveldb_iterator_t *it;
};

int nn_ns_dump_start(struct nn_ns *ns, struct nn_ns_dump **out)
{
	struct nn_ns_dump *d = calloc(1, sizeof *d);
	if (!d)
		return -ENOMEM;
	d->ns = ns;
	d->snap = leveldb_create_snapshot(ns->db);
	d->ropts = leveldb_readoptions_create();
	leveldb_readoptions_set_snapshot(d->ropts, d->snap);
	leveldb_readoptions_set_fill_cache(d->ropts, 0);
	d->it = leveldb_create_iterator(ns->db, d->ropts);
	leveldb_iter_seek_to_first(d->it);
	*out = d;
	return 0;
}

uint32_t nn_ns_dump_next(struct nn_ns_dump *d, struct buf *out, size_t max_bytes)
{
	uint32_t n = 0;
	size_t start = out->len;
	while (leveldb_iter_valid(d->it) && out->len - start < max_bytes) {
		size_t kl, vl;
		const char *k = leveldb_iter_key(d->it, &kl);
		const char *v = leveldb_iter_value(d->it, &vl);
		pack_u32(out, (uint32_t)kl);
		pack_raw(out, k, kl);
		pack_u32(out, (uint32_t)vl);
		pack_raw(out, v, vl);
		n++;
		leveldb_iter_next(d->it);
	}
	return n;
}

void nn_ns_dump_end(struct nn_ns_dump *d)
{
	if (!d)
		return;
	leveldb_iter_destroy(d->it);
	leveldb_readoptions_destroy(d->ropts);
	leveldb_release_snapshot(d->ns->db, d->snap);
	free(d);
}

/* Writes wb synced (restore has no loop turn to group commits into). 0 or -EIO. */
static int write_synced(struct nn_ns *ns, leveldb_writebatch_t *wb)
{
	char *err = NULL;
	leveldb_write(ns->db, ns->wopts_sync, wb, &err);
	if (err) {
		log_error("restore: %s", err);
		leveldb_free(err);
		return -EIO;
	}
	return 0;
}

int nn_ns_restore(const char *dir, int (*next)(void *arg, struct buf *key, struct buf *value),
		  void *arg)
{
	struct nn_ns *ns;
	int rc = nn_ns_open_db(dir, true, &ns);
	if (rc)
		return rc;
	struct buf k = BUF_INIT, v = BUF_INIT;
	bool have_format = false;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	size_t batched = 0;
	while ((rc = next(arg, &k, &v)) == 1) {
		uint32_t fmt;
		if (k.len == 1 && k.data[0] == 'V')
			have_format = nn_ns_is_format_record(v.data, v.len, &fmt) &&
				      fmt == NN_NS_FORMAT;
		leveldb_writebatch_put(wb, k.data, k.len, v.data, v.len);
		batched += k.len + v.len;
		if (batched > NN_RESTORE_BATCH) {
			rc = write_synced(ns, wb);
			leveldb_writebatch_clear(wb);
			batched = 0;
			if (rc)
				break;
		}
	}
	if (!rc && !have_format)
		rc = -EPROTO; /* not a dfs namespace of this format */
	if (!rc)
		rc = write_synced(ns, wb);
	leveldb_writebatch_destroy(wb);
	buf_free(&k);
	buf_free(&v);
	nn_ns_close(ns);
	return rc;
}
