/*
 * xml: the little XML S3 speaks. A writer (elements with escaped text into a struct buf)
 * and a scanner for the request bodies the gateway reads (DeleteObjects,
 * CompleteMultipartUpload): it finds elements by name, in document order, within a
 * range, and unescapes their text. Not a general parser: no attributes are read, and
 * namespaces prefixes are ignored. No state; any thread.
 */
#ifndef DFS_S3_XML_H
#define DFS_S3_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define XML_NS "http://s3.amazonaws.com/doc/2006-03-01/"

/* Appends s escaped as XML text. */
void xml_text(struct buf *b, const char *s, size_t n);
/* Appends <tag>text</tag> (text escaped). */
void xml_elem(struct buf *b, const char *tag, const char *text);
void xml_elemf(struct buf *b, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A span of the document. */
struct xml_span {
	const char *p;
	size_t n;
};
/* Finds the next element <tag>...</tag> in *in (advancing *in past it): its content in
 * *out. false when there is none (or the document is malformed there). */
bool xml_next(struct xml_span *in, const char *tag, struct xml_span *out);
/* The unescaped text of s into out (reset first): 0, or -EINVAL. */
int xml_unescape(const struct xml_span *s, struct buf *out);

#endif
