/*
 * sigv4: AWS Signature Version 4 as S3 uses it, and the hashes around it (SHA-256,
 * HMAC-SHA256, MD5, hex, base64; OpenSSL underneath). No state; any thread.
 *
 * A request is given as its method, its path and query exactly as they came on the
 * wire (still percent-encoded) and its headers. sigv4_parse finds the credentials in
 * the Authorization header or, for a presigned URL, in the query (X-Amz-*), and
 * sigv4_verify rebuilds the canonical request (each path segment and query parameter
 * decoded and encoded again by AWS's rules, query sorted, signed headers trimmed),
 * the string to sign and the signature with the caller's secret. The payload hash
 * that enters the canonical request is the x-amz-content-sha256 header (or
 * UNSIGNED-PAYLOAD for a presigned URL); checking the body against it, or against
 * chunk signatures (sigv4_chunk_signature, chunked.h), is the caller's part.
 */
#ifndef DFS_S3_SIGV4_H
#define DFS_S3_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct sigv4_hdr {
	const char *name; /* any case */
	const char *value;
};

struct sigv4_input {
	const char *method;
	const char *path;  /* raw, percent-encoded, without the query */
	const char *query; /* raw, after '?' ("" when none) */
	const struct sigv4_hdr *h;
	size_t nh;
};

struct sigv4_auth {
	char access[128];
	char date[9];      /* YYYYMMDD of the credential scope */
	char region[64];
	char service[16];
	char amzdate[17];  /* YYYYMMDDTHHMMSSZ */
	char scope[128];   /* date/region/service/aws4_request */
	char signed_headers[1024];
	char signature[65];
	char payload[80];  /* the payload hash as it enters the canonical request */
	bool presigned;
	long expires;      /* presigned: X-Amz-Expires seconds */
};

/* SIGV4_NONE: the request carries no signature (anonymous). */
#define SIGV4_NONE 1

/* Finds and parses the credentials of in into a: 0, SIGV4_NONE, or -EINVAL with the S3
 * error code (a static string) in *code. */
int sigv4_parse(const struct sigv4_input *in, struct sigv4_auth *a, const char **code);
/* Seconds since the epoch of an amzdate (YYYYMMDDTHHMMSSZ); -1 when malformed. */
long long sigv4_time(const char *amzdate);
/* The signing key of secret for a date (YYYYMMDD), region and service. */
void sigv4_signing_key(const char *secret, const char *date, const char *region,
		       const char *service, uint8_t key[32]);
/* The canonical request of in under a's signed headers and payload hash, into out
 * (reset first). -EINVAL when a signed header is missing. */
int sigv4_canonical(const struct sigv4_input *in, const struct sigv4_auth *a, struct buf *out);
/* Computes the request's signature with secret into sig (hex). 0, or -EINVAL. */
int sigv4_sign(const struct sigv4_input *in, const struct sigv4_auth *a, const char *secret,
	       char sig[65]);
/* 0 when a's signature is right for secret, -EACCES when not, -EINVAL when unusable. */
int sigv4_verify(const struct sigv4_input *in, const struct sigv4_auth *a, const char *secret);
/* The signature of one aws-chunked chunk whose data hashes to data_sha (raw), chained
 * to the previous signature prev (hex), into out (hex). */
void sigv4_chunk_signature(const uint8_t key[32], const char *amzdate, const char *scope,
			   const char *prev, const uint8_t data_sha[32], char out[65]);

/* Hashes and encodings. */
void sigv4_sha256(const void *p, size_t n, uint8_t out[32]);
void sigv4_hmac(const void *key, size_t klen, const void *p, size_t n, uint8_t out[32]);
void sigv4_hex(const uint8_t *p, size_t n, char *out); /* 2n+1 bytes */
/* Base64 of p[0..n) into out (4*((n+2)/3)+1 bytes). */
void sigv4_base64(const uint8_t *p, size_t n, char *out);
/* Decodes base64 s into out (at most max bytes): the length, or -1 when malformed. */
int sigv4_unbase64(const char *s, uint8_t *out, size_t max);
/* Percent-decodes s[0..n) into out (reset first); -EINVAL for a bad escape or a NUL. */
int sigv4_unescape(const char *s, size_t n, struct buf *out);
/* AWS's URI encoding of s[0..n) appended to out; '/' kept when keep_slash. */
void sigv4_escape(const char *s, size_t n, bool keep_slash, struct buf *out);

#endif
