/* locks: advisory lock table (see locks.h). Loop thread only; linear scans (the table
 * holds what clients hold at once, not history). */
#include "locks.h"

#include <errno.h>
#include <stdlib.h>

#include "grow.h"
#include "proto.h"

static bool same_owner(const struct nn_lock *a, const struct nn_lock *b)
{
	return a->session == b->session && a->owner == b->owner;
}

static bool overlaps(const struct nn_lock *a, const struct nn_lock *b)
{
	return a->start <= b->end && b->start <= a->end;
}

bool nn_locks_test(const struct nn_locks *t, const struct nn_lock *want,
		   struct nn_lock *conflict)
{
	for (uint32_t i = 0; i < t->n; i++) {
		const struct nn_lock *l = &t->v[i];
		if (l->ino != want->ino || l->kind != want->kind || same_owner(l, want) ||
		    !overlaps(l, want))
			continue;
		if (l->type == PROTO_LOCK_WRITE || want->type == PROTO_LOCK_WRITE) {
			if (conflict)
				*conflict = *l;
			return true;
		}
	}
	return false;
}

static int push(struct nn_locks *t, const struct nn_lock *l)
{
	if (t->n >= NN_LOCKS_MAX)
		return -ENOLCK;
	if (ALLOC_GROW(t->v, t->n + 1, t->cap))
		return -ENOLCK;
	t->v[t->n++] = *l;
	return 0;
}

int nn_locks_set(struct nn_locks *t, const struct nn_lock *l)
{
	if (l->start > l->end)
		return -EINVAL;
	if (l->type != PROTO_LOCK_UNLOCK && nn_locks_test(t, l, NULL))
		return -EAGAIN;
	/* the owner's own locks lose the overlap: trimmed, split or dropped */
	for (uint32_t i = 0; i < t->n;) { /* split pieces never overlap l: skipped */
		struct nn_lock *o = &t->v[i];
		if (o->ino != l->ino || o->kind != l->kind || !same_owner(o, l) || !overlaps(o, l)) {
			i++;
			continue;
		}
		struct nn_lock before = *o, after = *o;
		bool keep_before = o->start < l->start, keep_after = o->end > l->end;
		before.end = l->start - 1;
		after.start = l->end + 1;
		if (keep_before) {
			*o = before;
			if (keep_after && push(t, &after))
				return -ENOLCK;
			i++;
		} else if (keep_after) {
			*o = after;
			i++;
		} else {
			t->v[i] = t->v[--t->n];
		}
	}
	return l->type == PROTO_LOCK_UNLOCK ? 0 : push(t, l);
}

void nn_locks_drop_session(struct nn_locks *t, uint64_t session)
{
	for (uint32_t i = 0; i < t->n;)
		if (t->v[i].session == session)
			t->v[i] = t->v[--t->n];
		else
			i++;
}

void nn_locks_free(struct nn_locks *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}
