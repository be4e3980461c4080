/*
 * json: a minimal JSON writer into a struct buf, for `--json` output and HTTP status.
 * The caller writes structure tokens; json_str escapes strings per RFC 8259.
 * Commas are the caller's: json_sep() writes one unless the last byte opened a
 * container or was a key's colon.
 */
#ifndef DFS_JSON_H
#define DFS_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

/* Appends a quoted, escaped string (NULL writes null). */
void json_str(struct buf *b, const char *s);
/* Appends a comma when needed before the next value or key. */
void json_sep(struct buf *b);
/* Appends ,"key": (comma as needed). */
void json_key(struct buf *b, const char *key);
void json_kstr(struct buf *b, const char *key, const char *v);
void json_ku64(struct buf *b, const char *key, uint64_t v);
void json_ki64(struct buf *b, const char *key, int64_t v);
void json_kdbl(struct buf *b, const char *key, double v);
void json_kbool(struct buf *b, const char *key, bool v);

#endif
