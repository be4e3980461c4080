/*
 * blockmap: which datanodes hold which block -- soft state in RAM, rebuilt from block
 * reports after every restart (never persisted). Loop thread only.
 *
 * Each entry also caches what the namespace says of the block (file inode, genstamp,
 * length, expected replication) so reports and placement need no LevelDB reads.
 * Datanodes are named by their index in the datanode table (datanodes.h).
 *
 * The map also keeps how many blocks each datanode holds, moved by every replica added
 * or removed here and by nn_blockmap_remove, so `report` shows exactly what the map
 * says (a count kept beside it drifted: deletes, re-replication, aborted writes).
 */
#ifndef DFS_NN_BLOCKMAP_H
#define DFS_NN_BLOCKMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nn_block {
	uint64_t id, gs, len, ino;
	uint16_t repl;  /* expected replication */
	uint16_t nrep;  /* replicas known */
	uint16_t cap;
	uint8_t flags;   /* NN_BLOCK_* */
	uint32_t *reps; /* datanode indexes */
};

/* the file's last block, still being written: not missing while it has no replica */
#define NN_BLOCK_UC 0x01
/* every replica left was found bad: kept (nothing better exists), shown by fsck */
#define NN_BLOCK_CORRUPT 0x02

struct nn_blockmap;

struct nn_blockmap *nn_blockmap_new(void);
void nn_blockmap_free(struct nn_blockmap *m);
size_t nn_blockmap_count(const struct nn_blockmap *m);
/* Adds (or updates the namespace facts of) a block; returns the entry. */
struct nn_block *nn_blockmap_put(struct nn_blockmap *m, uint64_t id, uint64_t gs, uint64_t len,
				 uint64_t ino, uint16_t repl);
/* NULL when unknown. The pointer is valid until the next put or remove. */
struct nn_block *nn_blockmap_get(struct nn_blockmap *m, uint64_t id);
/* Forgets a block (its replicas too, and their share of each node's count). */
void nn_blockmap_remove(struct nn_blockmap *m, uint64_t id);
/* Records / forgets that datanode dn holds block b (an entry of m); the node's count
 * moves with it. add returns false if already known, remove if it was not. */
bool nn_block_add_replica(struct nn_blockmap *m, struct nn_block *b, uint32_t dn);
bool nn_block_remove_replica(struct nn_blockmap *m, struct nn_block *b, uint32_t dn);
/* How many blocks of the map datanode dn holds. */
uint64_t nn_blockmap_node_blocks(const struct nn_blockmap *m, uint32_t dn);
bool nn_block_has_replica(const struct nn_block *b, uint32_t dn);
/* Calls cb for every block (the map must not change during the walk). */
void nn_blockmap_each(struct nn_blockmap *m, void (*cb)(void *arg, struct nn_block *b), void *arg);

#endif
