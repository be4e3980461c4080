/*
 * buf: the one growable byte buffer of the project (git's strbuf, redis' sds).
 *
 * Invariants: `data` is never NULL and always NUL-terminated after `len` bytes, so a
 * buffer holding text can be passed to C string functions; it is binary-safe otherwise.
 * A zeroed or BUF_INIT buffer is valid and empty and owns no memory.
 * Not thread-safe: a buffer belongs to one thread at a time.
 */
#ifndef DFS_BUF_H
#define DFS_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap; /* 0 while data points at the shared empty string */
};

extern char buf_empty[];
#define BUF_INIT {buf_empty, 0, 0}

/* Makes b valid and empty. */
void buf_init(struct buf *b);
/* Frees b's memory; b is valid and empty afterwards. */
void buf_free(struct buf *b);
/* Ensures room for `extra` more bytes (plus the NUL). Aborts on out-of-memory. */
void buf_grow(struct buf *b, size_t extra);
/* Appends n bytes from p (borrowed). */
void buf_add(struct buf *b, const void *p, size_t n);
/* Appends a C string (borrowed). */
void buf_adds(struct buf *b, const char *s);
/* Appends one byte. */
void buf_addc(struct buf *b, char c);
/* Appends formatted text. */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Sets the length to n (n <= len), keeping the memory. */
void buf_truncate(struct buf *b, size_t n);
/* Empties b, keeping its memory. */
static inline void buf_reset(struct buf *b) { buf_truncate(b, 0); }
/* Drops the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Marks n more bytes (already written into data+len) as used. */
void buf_commit(struct buf *b, size_t n);
/* Returns the bytes and leaves b empty; caller frees with free(). Never NULL. */
char *buf_detach(struct buf *b, size_t *len);

#endif
