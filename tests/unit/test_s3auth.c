/*
 * Unit tests for the S3 gateway's Signature V4 signer and aws-chunked decoder
 * (s3/sigv4.h, s3/chunked.h), against the examples AWS publishes in "Signature
 * Calculations for the Authorization Header", "Query String Authentication" and
 * "Signature Calculation: Transfer Payload in Multiple Chunks" (S3 API reference).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunked.h"
#include "sigv4.h"
#include "unit.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

START_TEST(test_get_object_example)
{
	struct sigv4_hdr h[] = {
		{"Host", "examplebucket.s3.amazonaws.com"},
		{"Range", "bytes=0-9"},
		{"x-amz-content-sha256", EMPTY_SHA},
		{"x-amz-date", "20130524T000000Z"},
		{"Authorization",
		 "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
		 "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
		 "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
	};
	struct sigv4_input in = {"GET", "/test.txt", "", h, 5};
	struct sigv4_auth a;
	const char *code = NULL;
	ck_assert_int_eq(sigv4_parse(&in, &a, &code), 0);
	ck_assert_str_eq(a.access, "AKIAIOSFODNN7EXAMPLE");
	ck_assert_str_eq(a.scope, "20130524/us-east-1/s3/aws4_request");
	ck_assert_int_eq(sigv4_verify(&in, &a, SECRET), 0);
	ck_assert_int_eq(sigv4_verify(&in, &a, "wrong"), -EACCES);
	h[1].value = "bytes=0-10"; /* a signed header changed */
	ck_assert_int_eq(sigv4_verify(&in, &a, SECRET), -EACCES);
}
END_TEST

START_TEST(test_put_object_example)
{
	struct sigv4_hdr h[] = {
		{"Host", "examplebucket.s3.amazonaws.com"},
		{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
		{"x-amz-date", "20130524T000000Z"},
		{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
		{"x-amz-content-sha256",
		 "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"},
		{"Authorization",
		 "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
		 "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
		 "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"},
	};
	struct sigv4_input in = {"PUT", "/test%24file.text", "", h, 6};
	struct sigv4_auth a;
	const char *code = NULL;
	ck_assert_int_eq(sigv4_parse(&in, &a, &code), 0);
	ck_assert_int_eq(sigv4_verify(&in, &a, SECRET), 0);
	uint8_t sha[32];
	char hx[65];
	sigv4_sha256("Welcome to Amazon S3.", 21, sha);
	sigv4_hex(sha, 32, hx);
	ck_assert_str_eq(hx, a.payload);
}
END_TEST

START_TEST(test_list_objects_example)
{
	struct sigv4_hdr h[] = {
		{"Host", "examplebucket.s3.amazonaws.com"},
		{"x-amz-date", "20130524T000000Z"},
		{"x-amz-content-sha256", EMPTY_SHA},
		{"Authorization",
		 "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
		 "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
		 "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
	};
	/* parameters out of order and one without a value: the canonical query sorts them */
	struct sigv4_input in = {"GET", "/", "prefix=J&max-keys=2", h, 4};
	struct sigv4_auth a;
	const char *code = NULL;
	ck_assert_int_eq(sigv4_parse(&in, &a, &code), 0);
	ck_assert_int_eq(sigv4_verify(&in, &a, SECRET), 0);
	struct sigv4_input lc = {"GET", "/", "lifecycle", h, 3};
	struct sigv4_hdr h2[4];
	memcpy(h2, h, sizeof h2);
	h2[3].value = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
		      "aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
		      "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543";
	lc.h = h2;
	lc.nh = 4;
	ck_assert_int_eq(sigv4_parse(&lc, &a, &code), 0);
	ck_assert_int_eq(sigv4_verify(&lc, &a, SECRET), 0);
}
END_TEST

START_TEST(test_presigned_example)
{
	struct sigv4_hdr h[] = {{"Host", "examplebucket.s3.amazonaws.com"}};
	struct sigv4_input in = {
		"GET", "/test.txt",
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524"
		"%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
		"&X-Amz-SignedHeaders=host&X-Amz-Signature="
		"aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
		h, 1};
	struct sigv4_auth a;
	const char *code = NULL;
	ck_assert_int_eq(sigv4_parse(&in, &a, &code), 0);
	ck_assert(a.presigned);
	ck_assert_int_eq(a.expires, 86400);
	ck_assert_str_eq(a.payload, "UNSIGNED-PAYLOAD");
	ck_assert_int_eq(sigv4_verify(&in, &a, SECRET), 0);
	ck_assert_int_eq(sigv4_time("20130524T000000Z"), 1369353600);
}
END_TEST

START_TEST(test_parse_errors)
{
	struct sigv4_hdr h[] = {{"Host", "x"}, {"Authorization", "AWS4-HMAC-SHA256 Credential=x"},
				{"x-amz-date", "20130524T000000Z"}};
	struct sigv4_input in = {"GET", "/", "", h, 3};
	struct sigv4_auth a;
	const char *code = NULL;
	ck_assert_int_eq(sigv4_parse(&in, &a, &code), -EINVAL);
	ck_assert_str_eq(code, "AuthorizationHeaderMalformed");
	in.nh = 1;
	ck_assert_int_eq(sigv4_parse(&in, &a, &code), SIGV4_NONE);
	struct buf b = BUF_INIT;
	ck_assert_int_eq(sigv4_unescape("a%2", 3, &b), -EINVAL);
	ck_assert_int_eq(sigv4_unescape("a%00", 4, &b), -EINVAL);
	ck_assert_int_eq(sigv4_unescape("a%2Fb+c", 7, &b), 0);
	ck_assert_str_eq(b.data, "a/b+c");
	buf_reset(&b);
	sigv4_escape("a b/c~*", 7, true, &b);
	ck_assert_str_eq(b.data, "a%20b/c~%2A");
	uint8_t raw[16];
	ck_assert_int_eq(sigv4_unbase64("1B2M2Y8AsgTpgAmY7PhCfg==", raw, 16), 16);
	char hx[33];
	sigv4_hex(raw, 16, hx);
	ck_assert_str_eq(hx, "d41d8cd98f00b204e9800998ecf8427e");
	ck_assert_int_eq(sigv4_unbase64("!!!!", raw, 16), -1);
	buf_free(&b);
}
END_TEST

/* ---- aws-chunked: AWS's example of 65 KiB of 'a' in 64 KiB chunks ---- */

struct sink {
	struct buf out;
};

static int to_buf(void *arg, const char *p, size_t n)
{
	buf_add(&((struct sink *)arg)->out, p, n);
	return 0;
}

/* The example's body, with each chunk header carrying its published signature. */
static void example_body(struct buf *b, const char *flip)
{
	static const char *sig[] = {
		"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
	};
	size_t sizes[] = {65536, 1024, 0};
	for (int i = 0; i < 3; i++) {
		buf_printf(b, "%zx;chunk-signature=%s\r\n", sizes[i], sig[i]);
		for (size_t j = 0; j < sizes[i]; j++)
			buf_addc(b, flip && i == 1 && j == 7 ? *flip : 'a');
		buf_adds(b, "\r\n");
	}
}

START_TEST(test_chunked_example)
{
	struct sigv4_hdr h[] = {
		{"Host", "s3.amazonaws.com"},
		{"x-amz-date", "20130524T000000Z"},
		{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
		{"Authorization",
		 "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
		 "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
		 "x-amz-decoded-content-length;x-amz-storage-class,"
		 "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"},
		{"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
		{"Content-Encoding", "aws-chunked"},
		{"x-amz-decoded-content-length", "66560"},
		{"Content-Length", "66824"},
	};
	struct sigv4_input in = {"PUT", "/examplebucket/chunkObject.txt", "", h, 8};
	struct sigv4_auth a;
	const char *code = NULL;
	ck_assert_int_eq(sigv4_parse(&in, &a, &code), 0);
	ck_assert_int_eq(sigv4_verify(&in, &a, SECRET), 0);
	uint8_t key[32];
	sigv4_signing_key(SECRET, a.date, a.region, a.service, key);

	struct buf body = BUF_INIT;
	example_body(&body, NULL);
	ck_assert_uint_eq(body.len, 66824);
	/* fed whole, then byte by byte, then in odd slices: the same result */
	for (size_t step = body.len; step; step = step == body.len ? 1 : (step == 1 ? 0 : 0)) {
		struct chunked c;
		struct sink s = {.out = BUF_INIT};
		ck_assert_int_eq(chunked_init(&c, key, a.amzdate, a.scope, a.signature), 0);
		for (size_t off = 0; off < body.len; off += step) {
			size_t n = body.len - off < step ? body.len - off : step;
			ck_assert_int_eq(chunked_feed(&c, body.data + off, n, to_buf, &s), 0);
		}
		ck_assert(chunked_done(&c));
		ck_assert_uint_eq(s.out.len, 66560);
		ck_assert_uint_eq(c.total, 66560);
		chunked_free(&c);
		buf_free(&s.out);
	}
	/* one byte changed in the second chunk: its signature fails */
	buf_reset(&body);
	example_body(&body, "b");
	struct chunked c;
	struct sink s = {.out = BUF_INIT};
	chunked_init(&c, key, a.amzdate, a.scope, a.signature);
	ck_assert_int_eq(chunked_feed(&c, body.data, body.len, to_buf, &s), -EACCES);
	chunked_free(&c);
	/* a wrong seed: the first chunk fails */
	chunked_init(&c, key, a.amzdate, a.scope, EMPTY_SHA);
	buf_reset(&body);
	example_body(&body, NULL);
	ck_assert_int_eq(chunked_feed(&c, body.data, body.len, to_buf, &s), -EACCES);
	chunked_free(&c);
	buf_free(&s.out);
	buf_free(&body);
}
END_TEST

START_TEST(test_chunked_unsigned_trailer)
{
	const char body[] = "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
	struct chunked c;
	struct sink s = {.out = BUF_INIT};
	ck_assert_int_eq(chunked_init(&c, NULL, NULL, NULL, NULL), 0);
	for (size_t i = 0; i < sizeof body - 1; i++)
		ck_assert_int_eq(chunked_feed(&c, body + i, 1, to_buf, &s), 0);
	ck_assert(chunked_done(&c));
	ck_assert_str_eq(s.out.data, "hello world");
	struct buf v = BUF_INIT;
	ck_assert_ptr_nonnull(chunked_trailer(&c, "x-amz-checksum-crc32", &v));
	ck_assert_str_eq(v.data, "DUoRhQ==");
	ck_assert_ptr_null(chunked_trailer(&c, "x-amz-checksum-sha256", &v));
	ck_assert_int_eq(chunked_feed(&c, "x", 1, to_buf, &s), -EINVAL); /* after the end */
	chunked_free(&c);
	/* malformed: a bad size, a missing CRLF, a signature where none is expected */
	const char *bad[] = {"zz\r\n", "5\r\nhelloXX\r\n", "5;chunk-signature=" EMPTY_SHA "\r\n",
			     "5\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		chunked_init(&c, NULL, NULL, NULL, NULL);
		ck_assert_int_eq(chunked_feed(&c, bad[i], strlen(bad[i]), to_buf, &s), -EINVAL);
		chunked_free(&c);
	}
	buf_free(&v);
	buf_free(&s.out);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("s3auth",
			 {.name = "sigv4", .tests = UNIT_TESTS(test_get_object_example, test_put_object_example,
					      test_list_objects_example, test_presigned_example,
					      test_parse_errors)},
			 {.name = "chunked", .tests = UNIT_TESTS(test_chunked_example, test_chunked_unsigned_trailer)});
}
