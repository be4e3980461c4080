/* sigv4: AWS Signature Version 4. See sigv4.h. */
#include "sigv4.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ALGO "AWS4-HMAC-SHA256"

void sigv4_sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned len = 32;
	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

void sigv4_hmac(const void *key, size_t klen, const void *p, size_t n, uint8_t out[32])
{
	unsigned len = 32;
	HMAC(EVP_sha256(), key, (int)klen, p, n, out, &len);
}

void sigv4_hex(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = 0;
}

void sigv4_base64(const uint8_t *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

int sigv4_unbase64(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s);
	if (n % 4 || n / 4 * 3 > max + 2)
		return -1;
	uint8_t tmp[n / 4 * 3 + 1];
	int len = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
	if (len < 0)
		return -1;
	if (n >= 1 && s[n - 1] == '=')
		len--;
	if (n >= 2 && s[n - 2] == '=')
		len--;
	if ((size_t)len > max)
		return -1;
	memcpy(out, tmp, (size_t)len);
	return len;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int sigv4_unescape(const char *s, size_t n, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return -EINVAL;
			if ((h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0)
				return -EINVAL;
			c = h * 16 + l;
			i += 2;
		}
		if (!c)
			return -EINVAL;
		buf_addc(out, (char)c);
	}
	return 0;
}

void sigv4_escape(const char *s, size_t n, bool keep_slash, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
		    (c == '/' && keep_slash))
			buf_addc(out, (char)c);
		else
			buf_printf(out, "%%%02X", c);
	}
}

static const char *header(const struct sigv4_input *in, const char *name)
{
	for (size_t i = 0; i < in->nh; i++)
		if (!strcasecmp(in->h[i].name, name))
			return in->h[i].value;
	return NULL;
}

/* The decoded value of query parameter name into out: 0, or -ENOENT. */
static int query_param(const char *q, const char *name, struct buf *out)
{
	size_t nl = strlen(name);
	for (const char *p = q; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len > nl && !strncmp(p, name, nl) && p[nl] == '=')
			return sigv4_unescape(p + nl + 1, len - nl - 1, out) ? -EINVAL : 0;
		p = amp ? amp + 1 : NULL;
	}
	return -ENOENT;
}

static int copy_field(char *dst, size_t dsz, const char *src, size_t n)
{
	if (n >= dsz)
		return -EINVAL;
	memcpy(dst, src, n);
	dst[n] = 0;
	return 0;
}

/* "AKID/20130524/us-east-1/s3/aws4_request" into a. */
static int parse_credential(const char *cred, size_t n, struct sigv4_auth *a)
{
	const char *f[5];
	size_t fl[5];
	const char *p = cred, *end = cred + n;
	for (int i = 0; i < 5; i++) {
		const char *slash = i < 4 ? memchr(p, '/', (size_t)(end - p)) : end;
		if (!slash)
			return -EINVAL;
		f[i] = p;
		fl[i] = (size_t)(slash - p);
		p = slash + 1;
	}
	if (copy_field(a->access, sizeof a->access, f[0], fl[0]) ||
	    copy_field(a->date, sizeof a->date, f[1], fl[1]) ||
	    copy_field(a->region, sizeof a->region, f[2], fl[2]) ||
	    copy_field(a->service, sizeof a->service, f[3], fl[3]) || fl[4] != 12 ||
	    memcmp(f[4], "aws4_request", 12) || strlen(a->date) != 8 || !fl[0])
		return -EINVAL;
	return copy_field(a->scope, sizeof a->scope, f[1], (size_t)(end - f[1]));
}

long long sigv4_time(const char *d)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return -1;
	for (int i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)d[i]))
			return -1;
	if (sscanf(d, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

static int parse_header_auth(const struct sigv4_input *in, const char *h, struct sigv4_auth *a,
			     const char **code)
{
	*code = "AuthorizationHeaderMalformed";
	if (strncmp(h, ALGO " ", strlen(ALGO) + 1)) {
		if (!strncmp(h, "AWS ", 4))
			*code = "InvalidRequest"; /* signature v2: not supported */
		return -EINVAL;
	}
	bool got[3] = {false, false, false};
	const char *p = h + strlen(ALGO) + 1;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len && p[len - 1] == ' ')
			len--;
		if (len > 11 && !strncmp(p, "Credential=", 11)) {
			if (parse_credential(p + 11, len - 11, a))
				return -EINVAL;
			got[0] = true;
		} else if (len > 14 && !strncmp(p, "SignedHeaders=", 14)) {
			if (copy_field(a->signed_headers, sizeof a->signed_headers, p + 14, len - 14))
				return -EINVAL;
			got[1] = true;
		} else if (len > 10 && !strncmp(p, "Signature=", 10)) {
			if (copy_field(a->signature, sizeof a->signature, p + 10, len - 10))
				return -EINVAL;
			got[2] = true;
		} else if (len) {
			return -EINVAL;
		}
		p += len;
		while (*p && *p != ',')
			p++;
	}
	if (!got[0] || !got[1] || !got[2])
		return -EINVAL;
	const char *d = header(in, "x-amz-date");
	if (!d || copy_field(a->amzdate, sizeof a->amzdate, d, strlen(d)) ||
	    sigv4_time(a->amzdate) < 0) {
		*code = "AccessDenied";
		return -EINVAL;
	}
	const char *ph = header(in, "x-amz-content-sha256");
	if (!ph) {
		*code = "InvalidRequest";
		return -EINVAL;
	}
	if (copy_field(a->payload, sizeof a->payload, ph, strlen(ph)))
		return -EINVAL;
	return 0;
}

static int parse_query_auth(const struct sigv4_input *in, struct sigv4_auth *a,
			    const char **code)
{
	struct buf v = BUF_INIT;
	int rc = -EINVAL;
	*code = "AuthorizationQueryParametersError";
	a->presigned = true;
	if (query_param(in->query, "X-Amz-Algorithm", &v) || strcmp(v.data, ALGO))
		goto out;
	if (query_param(in->query, "X-Amz-Credential", &v) ||
	    parse_credential(v.data, v.len, a))
		goto out;
	if (query_param(in->query, "X-Amz-Date", &v) ||
	    copy_field(a->amzdate, sizeof a->amzdate, v.data, v.len) ||
	    sigv4_time(a->amzdate) < 0)
		goto out;
	if (query_param(in->query, "X-Amz-SignedHeaders", &v) ||
	    copy_field(a->signed_headers, sizeof a->signed_headers, v.data, v.len))
		goto out;
	if (query_param(in->query, "X-Amz-Signature", &v) ||
	    copy_field(a->signature, sizeof a->signature, v.data, v.len))
		goto out;
	char *end;
	if (query_param(in->query, "X-Amz-Expires", &v))
		goto out;
	a->expires = strtol(v.data, &end, 10);
	if (*end || a->expires < 1 || a->expires > 604800)
		goto out;
	const char *ph = header(in, "x-amz-content-sha256");
	snprintf(a->payload, sizeof a->payload, "%s", ph ? ph : "UNSIGNED-PAYLOAD");
	rc = 0;
out:
	buf_free(&v);
	return rc;
}

int sigv4_parse(const struct sigv4_input *in, struct sigv4_auth *a, const char **code)
{
	memset(a, 0, sizeof *a);
	const char *h = header(in, "authorization");
	if (h)
		return parse_header_auth(in, h, a, code);
	if (strstr(in->query, "X-Amz-Signature="))
		return parse_query_auth(in, a, code);
	return SIGV4_NONE;
}

void sigv4_signing_key(const char *secret, const char *date, const char *region,
		       const char *service, uint8_t key[32])
{
	struct buf k = BUF_INIT;
	buf_printf(&k, "AWS4%s", secret);
	uint8_t t[32];
	sigv4_hmac(k.data, k.len, date, strlen(date), t);
	sigv4_hmac(t, 32, region, strlen(region), t);
	sigv4_hmac(t, 32, service, strlen(service), t);
	sigv4_hmac(t, 32, "aws4_request", 12, key);
	buf_free(&k);
}

struct qparam {
	struct buf k, v;
};

static int cmp_qparam(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->k.data, y->k.data);
	return c ? c : strcmp(x->v.data, y->v.data);
}

/* The canonical query string: every parameter but X-Amz-Signature, encoded, sorted. */
static int canonical_query(const char *q, struct buf *out)
{
	size_t n = 0, cap = 0;
	struct qparam *v = NULL;
	int rc = 0;
	struct buf tmp = BUF_INIT;
	for (const char *p = q; p && *p && !rc;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t kl = eq ? (size_t)(eq - p) : len;
		if (len && !(kl == 15 && !strncmp(p, "X-Amz-Signature", 15))) {
			if (n == cap) {
				cap = cap ? 2 * cap : 8;
				struct qparam *nv = realloc(v, cap * sizeof *v);
				if (!nv) {
					rc = -ENOMEM;
					break;
				}
				v = nv;
			}
			buf_init(&v[n].k);
			buf_init(&v[n].v);
			n++;
			if (sigv4_unescape(p, kl, &tmp))
				rc = -EINVAL;
			sigv4_escape(tmp.data, tmp.len, false, &v[n - 1].k);
			if (eq && sigv4_unescape(eq + 1, len - kl - 1, &tmp))
				rc = -EINVAL;
			if (eq)
				sigv4_escape(tmp.data, tmp.len, false, &v[n - 1].v);
		}
		p = amp ? amp + 1 : NULL;
	}
	if (!rc && n)
		qsort(v, n, sizeof *v, cmp_qparam);
	for (size_t i = 0; i < n; i++) {
		if (!rc)
			buf_printf(out, "%s%s=%s", i ? "&" : "", v[i].k.data, v[i].v.data);
		buf_free(&v[i].k);
		buf_free(&v[i].v);
	}
	free(v);
	buf_free(&tmp);
	return rc;
}

/* Appends value trimmed, inner runs of spaces as one. */
static void add_trimmed(struct buf *out, const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	size_t n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	bool sp = false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == ' ' || v[i] == '\t') {
			sp = true;
			continue;
		}
		if (sp)
			buf_addc(out, ' ');
		sp = false;
		buf_addc(out, v[i]);
	}
}

int sigv4_canonical(const struct sigv4_input *in, const struct sigv4_auth *a, struct buf *out)
{
	struct buf tmp = BUF_INIT;
	int rc = -EINVAL;
	buf_reset(out);
	buf_printf(out, "%s\n", in->method);
	if (sigv4_unescape(in->path, strlen(in->path), &tmp))
		goto out;
	sigv4_escape(tmp.data, tmp.len, true, out);
	buf_addc(out, '\n');
	if (canonical_query(in->query, out))
		goto out;
	buf_addc(out, '\n');
	/* the signed headers, in the order given (clients sort them; we keep theirs) */
	for (const char *p = a->signed_headers; *p;) {
		const char *semi = strchr(p, ';');
		size_t len = semi ? (size_t)(semi - p) : strlen(p);
		char name[256];
		if (!len || len >= sizeof name)
			goto out;
		memcpy(name, p, len);
		name[len] = 0;
		bool found = false;
		buf_printf(out, "%s:", name);
		for (size_t i = 0; i < in->nh; i++) {
			if (strcasecmp(in->h[i].name, name))
				continue;
			if (found)
				buf_addc(out, ',');
			add_trimmed(out, in->h[i].value);
			found = true;
		}
		if (!found)
			goto out;
		buf_addc(out, '\n');
		p = semi ? semi + 1 : p + len;
	}
	buf_printf(out, "\n%s\n%s", a->signed_headers, a->payload);
	rc = 0;
out:
	buf_free(&tmp);
	return rc;
}

int sigv4_sign(const struct sigv4_input *in, const struct sigv4_auth *a, const char *secret,
	       char sig[65])
{
	struct buf c = BUF_INIT, sts = BUF_INIT;
	int rc = sigv4_canonical(in, a, &c);
	if (!rc) {
		uint8_t h[32], key[32], s[32];
		char hx[65];
		sigv4_sha256(c.data, c.len, h);
		sigv4_hex(h, 32, hx);
		buf_printf(&sts, ALGO "\n%s\n%s\n%s", a->amzdate, a->scope, hx);
		sigv4_signing_key(secret, a->date, a->region, a->service, key);
		sigv4_hmac(key, 32, sts.data, sts.len, s);
		sigv4_hex(s, 32, sig);
	}
	buf_free(&c);
	buf_free(&sts);
	return rc;
}

int sigv4_verify(const struct sigv4_input *in, const struct sigv4_auth *a, const char *secret)
{
	char sig[65];
	int rc = sigv4_sign(in, a, secret, sig);
	if (rc)
		return rc;
	/* constant time: the signature is a secret-derived value */
	unsigned char d = strlen(a->signature) != 64;
	for (int i = 0; i < 64 && a->signature[i]; i++)
		d |= (unsigned char)(sig[i] ^ a->signature[i]);
	return d ? -EACCES : 0;
}

void sigv4_chunk_signature(const uint8_t key[32], const char *amzdate, const char *scope,
			   const char *prev, const uint8_t data_sha[32], char out[65])
{
	static const char empty[] =
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	char dh[65];
	sigv4_hex(data_sha, 32, dh);
	struct buf sts = BUF_INIT;
	buf_printf(&sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s", amzdate, scope, prev,
		   empty, dh);
	uint8_t s[32];
	sigv4_hmac(key, 32, sts.data, sts.len, s);
	sigv4_hex(s, 32, out);
	buf_free(&sts);
}
