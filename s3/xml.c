/* xml: S3's XML. See xml.h. */
#include "xml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void xml_text(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '&': buf_adds(b, "&amp;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&apos;"); break;
		case '\r': buf_adds(b, "&#13;"); break;
		case '\n': buf_adds(b, "&#10;"); break;
		default: buf_addc(b, s[i]);
		}
	}
}

void xml_elem(struct buf *b, const char *tag, const char *text)
{
	buf_printf(b, "<%s>", tag);
	xml_text(b, text, strlen(text));
	buf_printf(b, "</%s>", tag);
}

void xml_elemf(struct buf *b, const char *tag, const char *fmt, ...)
{
	struct buf t = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&t, fmt, ap);
	va_end(ap);
	xml_elem(b, tag, t.data);
	buf_free(&t);
}

/* Finds "<tag" followed by '>', ' ' or '/' at or after p; NULL when none. */
static const char *find_open(const char *p, const char *end, const char *tag, size_t tl)
{
	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (!lt || (size_t)(end - lt) < tl + 2)
			return NULL;
		if (!memcmp(lt + 1, tag, tl) && (lt[tl + 1] == '>' || lt[tl + 1] == ' '))
			return lt;
		p = lt + 1;
	}
	return NULL;
}

bool xml_next(struct xml_span *in, const char *tag, struct xml_span *out)
{
	size_t tl = strlen(tag);
	const char *end = in->p + in->n;
	const char *o = find_open(in->p, end, tag, tl);
	if (!o)
		return false;
	const char *gt = memchr(o, '>', (size_t)(end - o));
	if (!gt)
		return false;
	const char *c = gt + 1;
	/* the matching close: nesting of the same tag is not used by S3's bodies */
	for (const char *p = c; p + tl + 3 <= end; p++) {
		if (p[0] == '<' && p[1] == '/' && !memcmp(p + 2, tag, tl) && p[tl + 2] == '>') {
			out->p = c;
			out->n = (size_t)(p - c);
			in->n -= (size_t)(p + tl + 3 - in->p);
			in->p = p + tl + 3;
			return true;
		}
	}
	return false;
}

int xml_unescape(const struct xml_span *s, struct buf *out)
{
	static const struct {
		const char *e;
		char c;
	} ents[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
	buf_reset(out);
	for (size_t i = 0; i < s->n; i++) {
		if (s->p[i] != '&') {
			buf_addc(out, s->p[i]);
			continue;
		}
		const char *semi = memchr(s->p + i, ';', s->n - i);
		if (!semi)
			return -EINVAL;
		size_t len = (size_t)(semi - (s->p + i)) + 1;
		bool ok = false;
		for (size_t k = 0; k < sizeof ents / sizeof ents[0] && !ok; k++)
			if (len == strlen(ents[k].e) && !memcmp(s->p + i, ents[k].e, len)) {
				buf_addc(out, ents[k].c);
				ok = true;
			}
		if (!ok && len > 3 && s->p[i + 1] == '#') {
			char *e;
			long v = s->p[i + 2] == 'x' ? strtol(s->p + i + 3, &e, 16)
						    : strtol(s->p + i + 2, &e, 10);
			if (e != semi || v <= 0 || v > 127)
				return -EINVAL; /* ASCII only: enough for keys clients send */
			buf_addc(out, (char)v);
			ok = true;
		}
		if (!ok)
			return -EINVAL;
		i += len - 1;
	}
	return 0;
}
