/*
 * lease: one writer per file, and what happens to a file whose writer went away.
 * Loop thread only; no locks.
 *
 * A file's lease goes through these states (the inode's PROTO_A_UNDER_CONSTRUCTION
 * flag is set in the first three):
 *
 *   HELD      the connection that created the file holds the lease (its conn.writing
 *             lists the inode): nn_op_create -> nn_lease_add. Only its blocks are
 *             added (CN_ADD_BLOCK checks the file is under construction).
 *   ORPHANED  that connection closed with the file still open: nn_conn_release ->
 *             nn_lease_orphan_all puts it in server.orphans with a deadline
 *             lease_timeout away; and every file found under construction when the
 *             namenode starts (nn_server_start -> nn_ns_scan_open_files ->
 *             nn_lease_orphan), since no lease survives a restart.
 *   RECOVERED nn_lease_recover (every tick, never in safe mode: the replicas'
 *             lengths are not known yet) past the deadline -> recover_file closes the
 *             file at the length its datanodes stored: the last block keeps the length
 *             of its finalized replicas, or is dropped when none finalized, so what
 *             the writer had fully written stays.
 *   FREE      the file is complete: the writer's CN_COMPLETE (nn_op_complete ->
 *             nn_lease_drop), CN_CREATE with PROTO_CREATE_CLOSED (never held), or
 *             recovery. A file deleted or completed meanwhile is skipped by recovery.
 */
#include "server_int.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"

void nn_lease_add(struct nn_conn *c, uint64_t ino)
{
	if (ALLOC_GROW(c->writing, c->nwriting + 1, c->capwriting))
		abort();
	c->writing[c->nwriting++] = ino;
}

void nn_lease_drop(struct nn_conn *c, uint64_t ino)
{
	for (uint32_t i = 0; i < c->nwriting; i++)
		if (c->writing[i] == ino) {
			c->writing[i] = c->writing[--c->nwriting];
			return;
		}
}

void nn_lease_orphan(struct nn_server *s, uint64_t ino)
{
	if (ALLOC_GROW(s->orphans, s->norphans + 1, s->caporphans))
		abort();
	s->orphans[s->norphans++] = (struct nn_orphan){ino, ev_now() + s->cfg.lease_timeout};
}

void nn_lease_orphan_all(struct nn_server *s, struct nn_conn *c)
{
	for (uint32_t i = 0; i < c->nwriting; i++)
		nn_lease_orphan(s, c->writing[i]);
	free(c->writing);
	c->writing = NULL;
	c->nwriting = c->capwriting = 0;
}


static void recover_file(struct nn_server *s, uint64_t ino)
{
	struct nn_attr a;
	if (nn_ns_stat_ino(s->ns, ino, &a) || a.type != PROTO_T_FILE ||
	    !(a.flags & PROTO_A_UNDER_CONSTRUCTION))
		return; /* gone, or completed meanwhile */
	struct nn_blocks bl = {0};
	nn_ns_blocks(s->ns, ino, 0, 0, &bl);
	uint64_t last = 0, len = 0;
	if (bl.n) {
		struct nn_blockrec *r = &bl.v[bl.n - 1];
		struct nn_block *b = nn_blockmap_get(s->bm, r->id);
		if (b && b->nrep) {
			last = r->id;
			len = b->len;
		} else {
			struct nn_blocks freed = {0};
			nn_ns_abandon_block(s->ns, ino, r->id, &freed);
			nn_release_blocks(s, &freed);
			if (bl.n > 1) {
				last = bl.v[bl.n - 2].id;
				len = bl.v[bl.n - 2].len;
			}
		}
	}
	nn_blocks_free(&bl);
	struct nn_attr done;
	int rc = nn_ns_complete(s->ns, ino, last, len, &done);
	if (rc) {
		log_error("lease recovery of inode %llu failed: %s", (unsigned long long)ino,
			  strerror(-rc));
		return;
	}
	struct nn_block *b = last ? nn_blockmap_get(s->bm, last) : NULL;
	if (b)
		b->flags &= (uint8_t)~NN_BLOCK_UC;
	log_info("recovered the lease of inode %llu: its writer went away; closed at %llu bytes",
		 (unsigned long long)ino, (unsigned long long)done.size);
}

void nn_lease_recover(struct nn_server *s)
{
	double now = ev_now();
	for (uint32_t i = 0; i < s->norphans;) {
		if (s->orphans[i].deadline > now || s->safe_mode) {
			i++;
			continue;
		}
		uint64_t ino = s->orphans[i].ino;
		s->orphans[i] = s->orphans[--s->norphans];
		recover_file(s, ino);
	}
}
