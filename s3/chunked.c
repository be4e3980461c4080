/* chunked: aws-chunked body decoder. See chunked.h. */
#include "chunked.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

#define LINE_MAX_LEN 4096
#define CHUNK_MAX (64ull << 20) /* no client sends bigger chunks; bounds a bad size */

int chunked_init(struct chunked *c, const uint8_t *key, const char *amzdate, const char *scope,
		 const char *seed)
{
	memset(c, 0, sizeof *c);
	buf_init(&c->line);
	buf_init(&c->trailers);
	c->state = CHUNKED_SIZE;
	if (key) {
		c->sign = true;
		memcpy(c->key, key, 32);
		snprintf(c->amzdate, sizeof c->amzdate, "%s", amzdate);
		snprintf(c->scope, sizeof c->scope, "%s", scope);
		snprintf(c->prev, sizeof c->prev, "%s", seed);
		c->sha = EVP_MD_CTX_new();
		if (!c->sha)
			return -ENOMEM;
	}
	return 0;
}

void chunked_free(struct chunked *c)
{
	buf_free(&c->line);
	buf_free(&c->trailers);
	EVP_MD_CTX_free(c->sha);
	c->sha = NULL;
}

/* The chunk header line "HEX[;chunk-signature=SIG]". */
static int parse_size(struct chunked *c)
{
	char *p = c->line.data, *end;
	if (!isxdigit((unsigned char)*p))
		return -EINVAL;
	unsigned long long n = strtoull(p, &end, 16);
	if (n > CHUNK_MAX)
		return -EINVAL;
	c->want[0] = 0;
	if (*end == ';') {
		static const char k[] = ";chunk-signature=";
		if (strncmp(end, k, sizeof k - 1) || strlen(end + sizeof k - 1) != 64)
			return -EINVAL;
		memcpy(c->want, end + sizeof k - 1, 65);
	} else if (*end) {
		return -EINVAL;
	}
	if (c->sign != !!c->want[0])
		return -EINVAL;
	c->left = n;
	if (c->sign && !EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL))
		return -ENOMEM;
	return 0;
}

/* The current chunk's data is complete: its signature, and where the decoder goes. */
static int end_chunk(struct chunked *c, bool last)
{
	if (c->sign) {
		uint8_t h[32];
		unsigned hl = 32;
		char sig[65];
		EVP_DigestFinal_ex(c->sha, h, &hl);
		sigv4_chunk_signature(c->key, c->amzdate, c->scope, c->prev, h, sig);
		if (strcmp(sig, c->want))
			return -EACCES;
		memcpy(c->prev, sig, 65);
	}
	c->state = last ? CHUNKED_TRAILER : CHUNKED_DATA;
	return 0;
}

/* Adds one trailer line "name:value" (name lowercased). */
static int add_trailer(struct chunked *c)
{
	char *colon = strchr(c->line.data, ':');
	if (!colon || colon == c->line.data)
		return -EINVAL;
	for (char *p = c->line.data; p < colon; p++)
		buf_addc(&c->trailers, (char)tolower((unsigned char)*p));
	char *v = colon + 1;
	while (*v == ' ')
		v++;
	buf_printf(&c->trailers, ":%s\n", v);
	return 0;
}

int chunked_feed(struct chunked *c, const char *p, size_t n, chunked_sink sink, void *arg)
{
	int rc = 0;
	while (n && !rc) {
		switch (c->state) {
		case CHUNKED_SIZE:
		case CHUNKED_TRAILER:
		case CHUNKED_DATA_END: {
			const char *nl = memchr(p, '\n', n);
			size_t take = nl ? (size_t)(nl - p) + 1 : n;
			if (c->line.len + take > LINE_MAX_LEN)
				return -EINVAL;
			buf_add(&c->line, p, take);
			p += take;
			n -= take;
			if (!nl)
				break;
			if (c->line.len < 2 || c->line.data[c->line.len - 2] != '\r')
				return -EINVAL;
			buf_truncate(&c->line, c->line.len - 2);
			if (c->state == CHUNKED_DATA_END) {
				if (c->line.len)
					return -EINVAL;
				c->state = CHUNKED_SIZE;
			} else if (c->state == CHUNKED_TRAILER) {
				if (!c->line.len)
					c->state = CHUNKED_DONE;
				else
					rc = add_trailer(c);
			} else if (!(rc = parse_size(c))) {
				if (!c->left)
					rc = end_chunk(c, true);
				else
					c->state = CHUNKED_DATA;
			}
			buf_reset(&c->line);
			break;
		}
		case CHUNKED_DATA: {
			size_t take = n < c->left ? n : (size_t)c->left;
			if (c->sign && !EVP_DigestUpdate(c->sha, p, take))
				return -ENOMEM;
			rc = sink(arg, p, take);
			c->left -= take;
			c->total += take;
			p += take;
			n -= take;
			if (!rc && !c->left) {
				rc = end_chunk(c, false);
				c->state = CHUNKED_DATA_END;
			}
			break;
		}
		case CHUNKED_DONE:
			return -EINVAL;
		}
	}
	return rc;
}

const char *chunked_trailer(struct chunked *c, const char *name, struct buf *out)
{
	size_t nl = strlen(name);
	for (const char *p = c->trailers.data; *p;) {
		const char *e = strchr(p, '\n');
		if (!strncmp(p, name, nl) && p[nl] == ':') {
			buf_reset(out);
			buf_add(out, p + nl + 1, (size_t)(e - p - nl - 1));
			return out->data;
		}
		p = e + 1;
	}
	return NULL;
}
