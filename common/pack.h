/*
 * pack: bounded big-endian encoding and decoding of message payloads.
 *
 * Encoding appends to a struct buf. Decoding reads through a cursor that knows how many
 * bytes are left and has a sticky error flag: every read past the end (or a string longer
 * than its bound) sets `err` and returns zero/empty, so a decoder reads all fields and
 * checks `err` once per message. Nothing is ever cast onto the wire.
 */
#ifndef DFS_PACK_H
#define DFS_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

void pack_u8(struct buf *b, uint8_t v);
void pack_u16(struct buf *b, uint16_t v);
void pack_u32(struct buf *b, uint32_t v);
void pack_u64(struct buf *b, uint64_t v);
static inline void pack_i64(struct buf *b, int64_t v) { pack_u64(b, (uint64_t)v); }
static inline void pack_i32(struct buf *b, int32_t v) { pack_u32(b, (uint32_t)v); }
/* A string: u32 length then the bytes (no NUL). s may be NULL (empty). */
void pack_str(struct buf *b, const char *s);
void pack_strn(struct buf *b, const char *s, size_t n);
/* Raw bytes with no length prefix. */
void pack_raw(struct buf *b, const void *p, size_t n);

struct unpack {
	const uint8_t *p;
	size_t left;
	bool err;
};

static inline void unpack_init(struct unpack *u, const void *p, size_t n)
{
	u->p = p;
	u->left = n;
	u->err = false;
}

uint8_t unpack_u8(struct unpack *u);
uint16_t unpack_u16(struct unpack *u);
uint32_t unpack_u32(struct unpack *u);
uint64_t unpack_u64(struct unpack *u);
static inline int64_t unpack_i64(struct unpack *u) { return (int64_t)unpack_u64(u); }
static inline int32_t unpack_i32(struct unpack *u) { return (int32_t)unpack_u32(u); }
/*
 * Reads a string of at most `max` bytes into dst (dstsz >= max + 1), NUL-terminated.
 * A longer string, or one with an embedded NUL, is an error.
 */
void unpack_str(struct unpack *u, char *dst, size_t dstsz);
/* Reads a string into a new heap copy of at most max bytes; caller frees. Never NULL. */
char *unpack_strdup(struct unpack *u, size_t max);
/* Borrows n raw bytes from the cursor; NULL (and err) when fewer are left. */
const void *unpack_raw(struct unpack *u, size_t n);
/* A count of items each at least `min_item` bytes long: err when they cannot fit. */
uint32_t unpack_count(struct unpack *u, size_t min_item);
/* True when the message had exactly the bytes it needed. */
static inline bool unpack_ok(const struct unpack *u) { return !u->err; }

/* Big-endian helpers for keys and headers. */
static inline void be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}
static inline uint64_t be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}
static inline void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void be16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline uint16_t be16_get(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

#endif
