/*
 * Unit tests for crc (CRC32C of block chunks). Every test runs in its own forked
 * process.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc.h"
#include "proto.h"
#include "unit.h"

#define CHUNK PROTO_CHUNK_SIZE

/* ---- crc ---- */

START_TEST(test_crc32c_check_value)
{
	ck_assert_uint_eq(crc32c("123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c("", 0), 0);
	/* RFC 3720 B.4: 32 bytes of zeros, then 32 bytes of 0xff */
	uint8_t z[32];
	memset(z, 0, sizeof z);
	ck_assert_uint_eq(crc32c(z, sizeof z), 0x8A9136AAu);
	memset(z, 0xff, sizeof z);
	ck_assert_uint_eq(crc32c(z, sizeof z), 0x62A8AB43u);
}
END_TEST

START_TEST(test_crc32c_chunks)
{
	size_t n = 3 * CHUNK + CHUNK / 2;
	uint8_t *p = random_bytes(n, 11);
	uint32_t crcs[6];
	memset(crcs, 0, sizeof crcs);
	crcs[4] = 0xdeadbeef;
	ck_assert_uint_eq(crc32c_chunks(p, n, CHUNK, crcs), 4);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(crcs[i], crc32c(p + (size_t)i * CHUNK, CHUNK));
	ck_assert_uint_eq(crcs[3], crc32c(p + 3 * CHUNK, CHUNK / 2));
	ck_assert_uint_eq(crcs[4], 0xdeadbeef); /* nothing written past the last chunk */
	/* different chunks of random data have different crcs */
	ck_assert_uint_ne(crcs[0], crcs[1]);

	/* an exact multiple and the empty buffer */
	ck_assert_uint_eq(crc32c_chunks(p, 2 * CHUNK, CHUNK, crcs), 2);
	ck_assert_uint_eq(crc32c_chunks(p, 0, CHUNK, crcs), 0);
	ck_assert_uint_eq(crc32c_chunks(p, 1, CHUNK, crcs), 1);
	ck_assert_uint_eq(crcs[0], crc32c(p, 1));
	free(p);
}
END_TEST

START_TEST(test_crc32c_verify)
{
	size_t n = 3 * CHUNK + CHUNK / 2;
	uint8_t *p = random_bytes(n, 12);
	uint32_t crcs[4];
	ck_assert_uint_eq(crc32c_chunks(p, n, CHUNK, crcs), 4);
	ck_assert_int_eq(crc32c_verify(p, n, CHUNK, crcs), -1);

	p[2 * CHUNK + 100] ^= 0x10;
	ck_assert_int_eq(crc32c_verify(p, n, CHUNK, crcs), 2);
	p[2 * CHUNK + 100] ^= 0x10;
	ck_assert_int_eq(crc32c_verify(p, n, CHUNK, crcs), -1);

	p[n - 1] ^= 0x01; /* the short last chunk */
	ck_assert_int_eq(crc32c_verify(p, n, CHUNK, crcs), 3);
	p[n - 1] ^= 0x01;

	/* two bad chunks: the first one is reported */
	p[0] ^= 0x80;
	p[CHUNK + 5] ^= 0x80;
	ck_assert_int_eq(crc32c_verify(p, n, CHUNK, crcs), 0);
	p[0] ^= 0x80;
	ck_assert_int_eq(crc32c_verify(p, n, CHUNK, crcs), 1);
	p[CHUNK + 5] ^= 0x80;

	/* a bad checksum rather than bad data */
	crcs[3] ^= 1;
	ck_assert_int_eq(crc32c_verify(p, n, CHUNK, crcs), 3);
	ck_assert_int_eq(crc32c_verify(p, 0, CHUNK, crcs), -1);
	free(p);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("crc",
		{"crc", .tests = UNIT_TESTS(
			test_crc32c_check_value, test_crc32c_chunks, test_crc32c_verify)});
}
