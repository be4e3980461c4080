/* pack: bounded encode/decode. See pack.h. Any thread. */
#include "pack.h"

#include <stdlib.h>
#include <string.h>

void pack_u8(struct buf *b, uint8_t v) { buf_add(b, &v, 1); }

void pack_u16(struct buf *b, uint16_t v)
{
	uint8_t p[2];
	be16_put(p, v);
	buf_add(b, p, 2);
}

void pack_u32(struct buf *b, uint32_t v)
{
	uint8_t p[4];
	be32_put(p, v);
	buf_add(b, p, 4);
}

void pack_u64(struct buf *b, uint64_t v)
{
	uint8_t p[8];
	be64_put(p, v);
	buf_add(b, p, 8);
}

void pack_strn(struct buf *b, const char *s, size_t n)
{
	pack_u32(b, (uint32_t)n);
	buf_add(b, s, n);
}

void pack_str(struct buf *b, const char *s) { pack_strn(b, s ? s : "", s ? strlen(s) : 0); }

void pack_raw(struct buf *b, const void *p, size_t n) { buf_add(b, p, n); }

static const uint8_t *take(struct unpack *u, size_t n)
{
	if (u->err || u->left < n) {
		u->err = true;
		u->left = 0;
		return NULL;
	}
	const uint8_t *p = u->p;
	u->p += n;
	u->left -= n;
	return p;
}

uint8_t unpack_u8(struct unpack *u)
{
	const uint8_t *p = take(u, 1);
	return p ? p[0] : 0;
}

uint16_t unpack_u16(struct unpack *u)
{
	const uint8_t *p = take(u, 2);
	return p ? be16_get(p) : 0;
}

uint32_t unpack_u32(struct unpack *u)
{
	const uint8_t *p = take(u, 4);
	return p ? be32_get(p) : 0;
}

uint64_t unpack_u64(struct unpack *u)
{
	const uint8_t *p = take(u, 8);
	return p ? be64_get(p) : 0;
}

const void *unpack_raw(struct unpack *u, size_t n) { return take(u, n); }

static const char *str_bytes(struct unpack *u, size_t max, uint32_t *len)
{
	*len = unpack_u32(u);
	if (u->err || *len > max) {
		u->err = true;
		return NULL;
	}
	const char *s = (const char *)take(u, *len);
	if (s && memchr(s, 0, *len)) {
		u->err = true;
		return NULL;
	}
	return s;
}

void unpack_str(struct unpack *u, char *dst, size_t dstsz)
{
	uint32_t len;
	const char *s = str_bytes(u, dstsz ? dstsz - 1 : 0, &len);
	if (!dstsz)
		return;
	if (!s) {
		dst[0] = 0;
		return;
	}
	memcpy(dst, s, len);
	dst[len] = 0;
}

char *unpack_strdup(struct unpack *u, size_t max)
{
	uint32_t len;
	const char *s = str_bytes(u, max, &len);
	if (!s)
		len = 0;
	char *d = malloc((size_t)len + 1);
	if (!d)
		abort();
	if (len)
		memcpy(d, s, len);
	d[len] = 0;
	return d;
}

uint32_t unpack_count(struct unpack *u, size_t min_item)
{
	uint32_t n = unpack_u32(u);
	if (min_item && (size_t)n > u->left / min_item) {
		u->err = true;
		u->left = 0;
		return 0;
	}
	return n;
}
