/* buf: growable byte buffer. See buf.h. Any thread, one buffer per thread at a time. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char buf_empty[1];

void buf_init(struct buf *b)
{
	b->data = buf_empty;
	b->len = 0;
	b->cap = 0;
}

void buf_free(struct buf *b)
{
	if (b->cap)
		free(b->data);
	buf_init(b);
}

void buf_grow(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap < ((size_t)1 << 30) ? cap * 2 : cap + ((size_t)1 << 30);
	char *p = b->cap ? realloc(b->data, cap) : malloc(cap);
	if (!p) {
		fprintf(stderr, "out of memory growing a buffer to %zu bytes\n", cap);
		abort();
	}
	if (!b->cap)
		p[0] = 0;
	b->data = p;
	b->cap = cap;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	if (!n)
		return;
	buf_grow(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
}

void buf_adds(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

void buf_addc(struct buf *b, char c) { buf_add(b, &c, 1); }

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(b->data + b->len, b->cap ? b->cap - b->len : 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if (b->len + (size_t)n + 1 > b->cap) {
		buf_grow(b, (size_t)n);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		if (n < 0)
			return;
	}
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_truncate(struct buf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	b->len = n;
	if (b->cap)
		b->data[n] = 0;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_truncate(b, 0);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	buf_truncate(b, b->len - n);
}

void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = 0;
}

char *buf_detach(struct buf *b, size_t *len)
{
	if (!b->cap)
		buf_grow(b, 0);
	char *p = b->data;
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}
