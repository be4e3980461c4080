/* blockmap: open-addressing hash of block id -> replicas. Loop thread only. */
#include "blockmap.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"

struct nn_blockmap {
	struct nn_block *slots; /* id 0 = empty; removals backward-shift, no tombstones */
	size_t cap, count;
	uint64_t *node_blocks; /* blocks held, by datanode index */
	uint32_t nnodes, nodes_cap;
};

static size_t slot_of(uint64_t id, size_t cap)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (size_t)id & (cap - 1);
}

struct nn_blockmap *nn_blockmap_new(void)
{
	struct nn_blockmap *m = calloc(1, sizeof *m);
	if (!m)
		abort();
	m->cap = 1024;
	m->slots = calloc(m->cap, sizeof *m->slots);
	if (!m->slots)
		abort();
	return m;
}

void nn_blockmap_free(struct nn_blockmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].reps);
	free(m->slots);
	free(m->node_blocks);
	free(m);
}

size_t nn_blockmap_count(const struct nn_blockmap *m) { return m->count; }

static struct nn_block *find(struct nn_blockmap *m, uint64_t id, bool *found)
{
	size_t i = slot_of(id, m->cap);
	while (m->slots[i].id && m->slots[i].id != id)
		i = (i + 1) & (m->cap - 1);
	*found = m->slots[i].id == id;
	return &m->slots[i];
}

static void grow(struct nn_blockmap *m)
{
	struct nn_block *old = m->slots;
	size_t oldcap = m->cap;
	m->cap *= 2;
	m->slots = calloc(m->cap, sizeof *m->slots);
	if (!m->slots)
		abort();
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i].id)
			continue;
		bool found;
		*find(m, old[i].id, &found) = old[i];
	}
	free(old);
}

struct nn_block *nn_blockmap_put(struct nn_blockmap *m, uint64_t id, uint64_t gs, uint64_t len,
				 uint64_t ino, uint16_t repl)
{
	if ((m->count + 1) * 4 > m->cap * 3)
		grow(m);
	bool found;
	struct nn_block *b = find(m, id, &found);
	if (!found) {
		memset(b, 0, sizeof *b);
		b->id = id;
		m->count++;
	}
	b->gs = gs;
	b->len = len;
	b->ino = ino;
	b->repl = repl;
	return b;
}

struct nn_block *nn_blockmap_get(struct nn_blockmap *m, uint64_t id)
{
	bool found;
	struct nn_block *b = find(m, id, &found);
	return found && id ? b : NULL;
}

void nn_blockmap_remove(struct nn_blockmap *m, uint64_t id)
{
	bool found;
	struct nn_block *b = find(m, id, &found);
	if (!found || !id)
		return;
	for (uint16_t r = 0; r < b->nrep; r++)
		m->node_blocks[b->reps[r]]--;
	free(b->reps);
	b->reps = NULL;
	b->nrep = b->cap = 0;
	size_t i = (size_t)(b - m->slots);
	m->slots[i].id = 0;
	m->count--;
	/* backward-shift the cluster that follows so lookups never stop early */
	size_t j = i;
	for (;;) {
		j = (j + 1) & (m->cap - 1);
		if (!m->slots[j].id)
			break;
		size_t home = slot_of(m->slots[j].id, m->cap);
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (between)
			continue;
		m->slots[i] = m->slots[j];
		m->slots[j].id = 0;
		m->slots[j].reps = NULL;
		i = j;
	}
}

bool nn_block_has_replica(const struct nn_block *b, uint32_t dn)
{
	for (uint16_t i = 0; i < b->nrep; i++)
		if (b->reps[i] == dn)
			return true;
	return false;
}

bool nn_block_add_replica(struct nn_blockmap *m, struct nn_block *b, uint32_t dn)
{
	if (nn_block_has_replica(b, dn))
		return false;
	if (ALLOC_GROW(b->reps, b->nrep + 1, b->cap))
		abort();
	if (dn >= m->nnodes) {
		uint32_t old = m->nodes_cap;
		if (ALLOC_GROW(m->node_blocks, dn + 1, m->nodes_cap))
			abort();
		memset(m->node_blocks + old, 0, (m->nodes_cap - old) * sizeof *m->node_blocks);
		m->nnodes = dn + 1;
	}
	b->reps[b->nrep++] = dn;
	m->node_blocks[dn]++;
	return true;
}

bool nn_block_remove_replica(struct nn_blockmap *m, struct nn_block *b, uint32_t dn)
{
	for (uint16_t i = 0; i < b->nrep; i++) {
		if (b->reps[i] == dn) {
			b->reps[i] = b->reps[--b->nrep];
			m->node_blocks[dn]--;
			return true;
		}
	}
	return false;
}

uint64_t nn_blockmap_node_blocks(const struct nn_blockmap *m, uint32_t dn)
{
	return dn < m->nnodes ? m->node_blocks[dn] : 0;
}

void nn_blockmap_each(struct nn_blockmap *m, void (*cb)(void *arg, struct nn_block *b), void *arg)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].id)
			cb(arg, &m->slots[i]);
}
