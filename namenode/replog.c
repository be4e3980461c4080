/*
 * replog: namespace write batches as replicated log entries (replog.h).
 */
#include "replog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pack.h"

enum { OP_PUT = 1, OP_DEL = 2 };

struct enc {
	struct buf *out;
	uint32_t n;
};

static void enc_put(void *arg, const char *k, size_t klen, const char *v, size_t vlen)
{
	struct enc *e = arg;
	pack_u8(e->out, OP_PUT);
	pack_u32(e->out, (uint32_t)klen);
	pack_raw(e->out, k, klen);
	pack_u32(e->out, (uint32_t)vlen);
	pack_raw(e->out, v, vlen);
	e->n++;
}

static void enc_del(void *arg, const char *k, size_t klen)
{
	struct enc *e = arg;
	pack_u8(e->out, OP_DEL);
	pack_u32(e->out, (uint32_t)klen);
	pack_raw(e->out, k, klen);
	e->n++;
}

void replog_encode(leveldb_writebatch_t *wb, struct buf *out)
{
	size_t start = out->len;
	pack_u8(out, REPLOG_VERSION);
	pack_u32(out, 0); /* the count, filled in below */
	struct enc e = {out, 0};
	leveldb_writebatch_iterate(wb, &e, enc_put, enc_del);
	struct buf cnt = BUF_INIT;
	pack_u32(&cnt, e.n);
	memcpy(out->data + start + 1, cnt.data, 4);
	buf_free(&cnt);
}

int replog_decode(const void *data, size_t len, leveldb_writebatch_t *wb)
{
	struct unpack u;
	unpack_init(&u, data, len);
	if (unpack_u8(&u) != REPLOG_VERSION)
		return -EPROTO;
	uint32_t n = unpack_u32(&u);
	for (uint32_t i = 0; i < n && unpack_ok(&u); i++) {
		uint8_t kind = unpack_u8(&u);
		uint32_t klen = unpack_u32(&u);
		const char *k = unpack_raw(&u, klen);
		if (!unpack_ok(&u))
			break;
		if (kind == OP_PUT) {
			uint32_t vlen = unpack_u32(&u);
			const char *v = unpack_raw(&u, vlen);
			if (unpack_ok(&u))
				leveldb_writebatch_put(wb, k, klen, v, vlen);
		} else if (kind == OP_DEL) {
			leveldb_writebatch_delete(wb, k, klen);
		} else {
			return -EPROTO;
		}
	}
	return unpack_ok(&u) && u.left == 0 ? 0 : -EPROTO;
}

int replog_applied(leveldb_t *db, uint64_t *out)
{
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	char *err = NULL;
	size_t vlen = 0;
	char *v = leveldb_get(db, ro, REPLOG_APPLIED_KEY, 1, &vlen, &err);
	leveldb_readoptions_destroy(ro);
	*out = 0;
	if (err) {
		log_error("reading the applied index: %s", err);
		leveldb_free(err);
		return -EIO;
	}
	int rc = 0;
	if (v) {
		struct unpack u;
		unpack_init(&u, v, vlen);
		*out = unpack_u64(&u);
		rc = unpack_ok(&u) ? 0 : -EPROTO;
		leveldb_free(v);
	}
	return rc;
}

int replog_apply(leveldb_t *db, uint64_t index, const void *data, size_t len,
		 uint64_t *applied)
{
	if (index <= *applied)
		return 0;
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	int rc = replog_decode(data, len, wb);
	if (!rc) {
		struct buf v = BUF_INIT;
		pack_u64(&v, index);
		leveldb_writebatch_put(wb, REPLOG_APPLIED_KEY, 1, v.data, v.len);
		buf_free(&v);
		leveldb_writeoptions_t *wo = leveldb_writeoptions_create(); /* no sync: see .h */
		char *err = NULL;
		leveldb_write(db, wo, wb, &err);
		leveldb_writeoptions_destroy(wo);
		if (err) {
			log_error("applying log entry %llu: %s", (unsigned long long)index, err);
			leveldb_free(err);
			rc = -EIO;
		}
	}
	leveldb_writebatch_destroy(wb);
	if (rc)
		return rc;
	*applied = index;
	return 1;
}
