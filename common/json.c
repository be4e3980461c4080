/* json: minimal writer. See json.h. Any thread. */
#include "json.h"

#include <inttypes.h>

void json_str(struct buf *b, const char *s)
{
	if (!s) {
		buf_adds(b, "null");
		return;
	}
	buf_addc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': buf_adds(b, "\\\""); break;
		case '\\': buf_adds(b, "\\\\"); break;
		case '\n': buf_adds(b, "\\n"); break;
		case '\r': buf_adds(b, "\\r"); break;
		case '\t': buf_adds(b, "\\t"); break;
		default:
			if (*p < 0x20)
				buf_printf(b, "\\u%04x", *p);
			else
				buf_addc(b, (char)*p);
		}
	}
	buf_addc(b, '"');
}

void json_sep(struct buf *b)
{
	if (!b->len)
		return;
	char last = b->data[b->len - 1];
	if (last != '{' && last != '[' && last != ':')
		buf_addc(b, ',');
}

void json_key(struct buf *b, const char *key)
{
	json_sep(b);
	json_str(b, key);
	buf_addc(b, ':');
}

void json_kstr(struct buf *b, const char *key, const char *v)
{
	json_key(b, key);
	json_str(b, v);
}

void json_ku64(struct buf *b, const char *key, uint64_t v)
{
	json_key(b, key);
	buf_printf(b, "%" PRIu64, v);
}

void json_ki64(struct buf *b, const char *key, int64_t v)
{
	json_key(b, key);
	buf_printf(b, "%" PRId64, v);
}

void json_kdbl(struct buf *b, const char *key, double v)
{
	json_key(b, key);
	buf_printf(b, "%.3f", v);
}

void json_kbool(struct buf *b, const char *key, bool v)
{
	json_key(b, key);
	buf_adds(b, v ? "true" : "false");
}
