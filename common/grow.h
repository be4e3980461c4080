/*
 * grow: the one way an array grows (git's ALLOC_GROW is the model). Any thread.
 *
 *   if (ALLOC_GROW(v, n + 1, cap)) return -ENOMEM;
 *   v[n++] = x;
 *
 * makes room for at least `need` elements in the array v whose capacity (in elements)
 * is cap, doubling (at least 4) so that appends are amortised O(1). v and cap are
 * lvalues, updated only on success; on failure v is untouched (still valid, still
 * owned by the caller) and the result is -ENOMEM. cap may be any integer type: the new
 * capacity never exceeds what a signed integer of its size holds.
 */
#ifndef DFS_GROW_H
#define DFS_GROW_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

/* The capacity to grow to for `need` elements of `elem` bytes from `cap`, kept within a
 * cap variable of `cap_size` bytes; 0 when that is impossible (overflow). */
size_t grow_capacity(size_t cap, size_t need, size_t elem, size_t cap_size);

#define ALLOC_GROW(v, need, cap)                                                            \
	__extension__({                                                                     \
		int grow_rc_ = 0;                                                           \
		if ((size_t)(need) > (size_t)(cap)) {                                       \
			size_t grow_n_ = grow_capacity((size_t)(cap), (size_t)(need),       \
						       sizeof *(v), sizeof(cap));           \
			void *grow_p_ = grow_n_ ? realloc((v), grow_n_ * sizeof *(v)) : NULL; \
			if (grow_p_) {                                                      \
				(v) = grow_p_;                                              \
				(cap) = (__typeof__(cap))grow_n_;                           \
			} else {                                                            \
				grow_rc_ = -ENOMEM;                                         \
			}                                                                   \
		}                                                                           \
		grow_rc_;                                                                   \
	})

#endif
