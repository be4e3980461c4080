/*
 * chunked: the decoder of S3's aws-chunked request bodies, fed the body as it arrives
 * (any split) and passing the payload on without holding more than one chunk header.
 *
 *   signed   (STREAMING-AWS4-HMAC-SHA256-PAYLOAD):
 *       HEX;chunk-signature=SIG\r\n DATA \r\n ... 0;chunk-signature=SIG\r\n \r\n
 *   unsigned (STREAMING-UNSIGNED-PAYLOAD-TRAILER):
 *       HEX\r\n DATA \r\n ... 0\r\n (name:value\r\n)* \r\n
 *
 * Each signed chunk's signature is checked when its data is complete, chained from the
 * seed (the request's own signature). States: SIZE (reading a chunk header line) ->
 * DATA -> DATA_END (its CRLF) -> SIZE ..., and after the zero-size chunk TRAILER (lines
 * until an empty one) -> DONE. Any byte after DONE, a line over 4 KiB, a bad size or a
 * bad signature is an error. One request's thread owns a decoder.
 */
#ifndef DFS_S3_CHUNKED_H
#define DFS_S3_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum chunked_state { CHUNKED_SIZE, CHUNKED_DATA, CHUNKED_DATA_END, CHUNKED_TRAILER, CHUNKED_DONE };

struct chunked {
	enum chunked_state state;
	bool sign;
	uint8_t key[32];
	char amzdate[17], scope[128], prev[65], want[65];
	uint64_t left;      /* data bytes of the current chunk still to come */
	uint64_t total;     /* payload bytes so far */
	struct buf line;    /* the header or trailer line being read */
	struct buf trailers; /* "name:value\n" lines, names lowercased */
	void *sha;          /* EVP_MD_CTX of the current chunk (signed mode) */
};

/* Payload sink: 0 or -errno (which stops the decoding and is returned by the feed). */
typedef int (*chunked_sink)(void *arg, const char *p, size_t n);

/* Signed when key is not NULL (then amzdate, scope and seed are needed). */
int chunked_init(struct chunked *c, const uint8_t *key, const char *amzdate, const char *scope,
		 const char *seed);
/* Decodes p[0..n): 0, -EINVAL for a malformed body, -EACCES for a bad chunk signature,
 * or the sink's error. */
int chunked_feed(struct chunked *c, const char *p, size_t n, chunked_sink sink, void *arg);
static inline bool chunked_done(const struct chunked *c) { return c->state == CHUNKED_DONE; }
/* A trailer's value (name lowercase) or NULL; valid until chunked_free. */
const char *chunked_trailer(struct chunked *c, const char *name, struct buf *out);
void chunked_free(struct chunked *c);

#endif
