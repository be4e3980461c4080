/* Unit tests: block access tokens (common/token.h): minting, every way a token is
 * refused, key roll-over, and the key set's wire form. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"
#include "unit.h"

#define MIN 60000 /* ms */

/* A namenode's keys and a datanode's copy of them, as NN_BLOCK_KEYS carries them. */
static void sync_keys(struct token_keys *nn, struct token_keys *dn)
{
	struct buf b = BUF_INIT;
	token_keys_pack(nn, &b);
	struct unpack u;
	unpack_init(&u, b.data, b.len);
	ck_assert_int_eq(token_keys_unpack(dn, &u), 0);
	ck_assert(unpack_ok(&u) && u.left == 0);
	buf_free(&b);
}

START_TEST(test_valid_and_refused)
{
	struct token_keys nn, dn;
	token_keys_init(&nn);
	token_keys_init(&dn);
	int64_t now = 1000000;
	const char *why = NULL;
	uint8_t tok[TOKEN_LEN];

	/* no token; no keys yet: the datanode refuses everything, and says so */
	memset(tok, 0, sizeof tok);
	ck_assert_int_eq(token_check(&dn, tok, 1, 1, TOKEN_READ, now, &why), -EACCES);
	ck_assert_str_eq(why, "no block token");
	tok[3] = 1;
	be64_put(tok + 21, (uint64_t)now + 1);
	ck_assert_int_eq(token_check(&dn, tok, 1, 1, TOKEN_READ, now, &why), -EACCES);
	ck_assert_str_eq(why, "no block keys from the namenode yet");

	ck_assert(token_keys_roll(&nn, now, 10 * MIN, 10 * MIN));
	sync_keys(&nn, &dn);
	token_mint(&nn, 42, 7, TOKEN_READ, 1000, now, 10 * MIN, tok);
	struct token_info t;
	token_decode(tok, &t);
	ck_assert_uint_eq(t.block, 42);
	ck_assert_uint_eq(t.genstamp, 7);
	ck_assert_uint_eq(t.modes, TOKEN_READ);
	ck_assert_uint_eq(t.uid, 1000);
	ck_assert_int_eq(t.expires_ms, now + 10 * MIN);
	ck_assert_int_eq(token_check(&dn, tok, 42, 7, TOKEN_READ, now + 1, &why), 0);

	/* another block, another version of it, another mode */
	ck_assert_int_eq(token_check(&dn, tok, 43, 7, TOKEN_READ, now, &why), -EACCES);
	ck_assert_str_eq(why, "block token is for another block");
	ck_assert_int_eq(token_check(&dn, tok, 42, 8, TOKEN_READ, now, &why), -EACCES);
	ck_assert_str_eq(why, "block token is for another block");
	ck_assert_int_eq(token_check(&dn, tok, 42, 7, TOKEN_WRITE, now, &why), -EACCES);
	ck_assert_str_eq(why, "block token does not allow writing");

	/* expired */
	ck_assert_int_eq(token_check(&dn, tok, 42, 7, TOKEN_READ, now + 10 * MIN + 1, &why),
			 -EACCES);
	ck_assert_str_eq(why, "block token expired");

	/* forged: every single-bit change of the body or the MAC is caught */
	for (int i = 0; i < TOKEN_LEN; i++) {
		uint8_t f[TOKEN_LEN];
		memcpy(f, tok, sizeof f);
		f[i] ^= 0x10;
		why = NULL;
		ck_assert_int_eq(token_check(&dn, f, 42, 7, TOKEN_READ, now, &why), -EACCES);
		ck_assert_ptr_nonnull(why);
	}
	/* widening a read token to writing, or extending its life, breaks the MAC */
	uint8_t f[TOKEN_LEN];
	memcpy(f, tok, sizeof f);
	f[20] |= TOKEN_WRITE;
	ck_assert_int_eq(token_check(&dn, f, 42, 7, TOKEN_WRITE, now, &why), -EACCES);
	ck_assert_str_eq(why, "forged block token");

	/* a token of another cluster (other keys, same ids) is forged here */
	struct token_keys other;
	token_keys_init(&other);
	ck_assert(token_keys_roll(&other, now, 10 * MIN, 10 * MIN));
	token_mint(&other, 42, 7, TOKEN_READ, 0, now, 10 * MIN, f);
	be32_put(f, t.key_id); /* claims a key id this cluster uses */
	ck_assert_int_eq(token_check(&dn, f, 42, 7, TOKEN_READ, now, &why), -EACCES);
	ck_assert_str_eq(why, "forged block token");
	token_keys_destroy(&other);

	/* a write token allows writing; a pipeline's allows both */
	token_mint(&nn, 42, 7, TOKEN_WRITE | TOKEN_READ, 0, now, 10 * MIN, tok);
	ck_assert_int_eq(token_check(&dn, tok, 42, 7, TOKEN_WRITE, now, &why), 0);
	ck_assert_int_eq(token_check(&dn, tok, 42, 7, TOKEN_READ, now, &why), 0);
	token_keys_destroy(&nn);
	token_keys_destroy(&dn);
}
END_TEST

START_TEST(test_roll_over)
{
	/* keys roll every 10 minutes, tokens live 10 minutes: a token minted just before a
	 * roll stays valid to its end, on a datanode that got the new set, and a fresh
	 * token after a roll is valid on a datanode that has not heard of that roll yet */
	struct token_keys nn, dn;
	token_keys_init(&nn);
	token_keys_init(&dn);
	const int64_t iv = 10 * MIN, life = 10 * MIN;
	int64_t now = 5000000;
	const char *why;
	ck_assert(token_keys_roll(&nn, now, iv, life));
	ck_assert(!token_keys_roll(&nn, now + iv - 1, iv, life)); /* not due */
	sync_keys(&nn, &dn);
	uint8_t old[TOKEN_LEN], fresh[TOKEN_LEN];
	token_mint(&nn, 9, 1, TOKEN_READ, 0, now + iv - 1, life, old);

	now += iv;
	ck_assert(token_keys_roll(&nn, now, iv, life));
	/* the datanode has not got the new set: the new current key was sent as "next" */
	token_mint(&nn, 9, 1, TOKEN_READ, 0, now, life, fresh);
	ck_assert_int_eq(token_check(&dn, fresh, 9, 1, TOKEN_READ, now, &why), 0);
	struct token_info a, b;
	token_decode(old, &a);
	token_decode(fresh, &b);
	ck_assert_uint_ne(a.key_id, b.key_id);
	sync_keys(&nn, &dn);
	ck_assert_int_eq(token_check(&dn, old, 9, 1, TOKEN_READ, now + life - 2, &why), 0);
	ck_assert_int_eq(token_check(&dn, fresh, 9, 1, TOKEN_READ, now, &why), 0);

	/* many rolls later the old key is gone, and the set stays small */
	for (int i = 0; i < 20; i++) {
		now += iv;
		ck_assert(token_keys_roll(&nn, now, iv, life));
	}
	sync_keys(&nn, &dn);
	ck_assert_uint_le(nn.n, 3);
	ck_assert_int_eq(token_check(&dn, old, 9, 1, TOKEN_READ, a.expires_ms, &why), -EACCES);
	ck_assert_str_eq(why, "block token signed with an unknown or retired key");
	token_keys_destroy(&nn);
	token_keys_destroy(&dn);
}
END_TEST

START_TEST(test_keys_wire)
{
	struct token_keys nn, dn;
	token_keys_init(&nn);
	token_keys_init(&dn);
	ck_assert(token_keys_roll(&nn, 0, 1000, 1000));
	sync_keys(&nn, &dn);
	ck_assert_uint_eq(dn.n, nn.n);
	for (uint32_t i = 0; i < nn.n; i++) {
		ck_assert_uint_eq(dn.v[i].id, nn.v[i].id);
		ck_assert_int_eq(dn.v[i].expires_ms, nn.v[i].expires_ms);
		ck_assert_mem_eq(dn.v[i].key, nn.v[i].key, TOKEN_KEY_LEN);
	}
	/* malformed sets are refused and leave the old one in place */
	struct buf b = BUF_INIT;
	token_keys_pack(&nn, &b);
	for (size_t cut = 0; cut < b.len; cut += 7) {
		struct unpack u;
		unpack_init(&u, b.data, cut);
		ck_assert_int_eq(token_keys_unpack(&dn, &u), -EPROTO);
		ck_assert_uint_eq(dn.n, nn.n);
	}
	be32_put((uint8_t *)b.data, TOKEN_KEYS_MAX + 1);
	struct unpack u;
	unpack_init(&u, b.data, b.len);
	ck_assert_int_eq(token_keys_unpack(&dn, &u), -EPROTO);
	buf_free(&b);
	token_keys_destroy(&nn);
	token_keys_destroy(&dn);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("token",
		{"token", .tests = UNIT_TESTS(
			test_valid_and_refused, test_roll_over, test_keys_wire)});
}
