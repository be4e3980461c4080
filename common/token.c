/* token: block access tokens and their rolling keys. See token.h. Any thread. */
#include "token.h"
#include "clock.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>


void token_keys_init(struct token_keys *ks)
{
	memset(ks, 0, sizeof *ks);
	pthread_mutex_init(&ks->mu, NULL);
}

void token_keys_destroy(struct token_keys *ks)
{
	OPENSSL_cleanse(ks->v, sizeof ks->v);
	pthread_mutex_destroy(&ks->mu);
}

static bool new_key(struct token_keys *ks, uint32_t id)
{
	if (ks->n == TOKEN_KEYS_MAX) { /* only with a lifetime far above the interval */
		memmove(ks->v, ks->v + 1, (TOKEN_KEYS_MAX - 1) * sizeof *ks->v);
		ks->n--;
	}
	struct token_key *k = &ks->v[ks->n];
	if (RAND_bytes(k->key, sizeof k->key) != 1)
		return false;
	k->id = id;
	k->expires_ms = INT64_MAX; /* set when it stops minting */
	ks->n++;
	return true;
}

bool token_keys_roll(struct token_keys *ks, int64_t now_ms, int64_t interval_ms,
		     int64_t lifetime_ms)
{
	pthread_mutex_lock(&ks->mu);
	bool changed = false;
	if (ks->n < 2) {
		uint32_t id;
		if (RAND_bytes((uint8_t *)&id, sizeof id) != 1)
			goto out;
		id &= 0x7fffffffu; /* room to count up; 0 is never a key id */
		ks->n = 0;
		changed = new_key(ks, id + 1) && new_key(ks, id + 2);
		if (!changed)
			ks->n = 0;
		ks->rolled_ms = now_ms;
		goto out;
	}
	if (now_ms - ks->rolled_ms < interval_ms)
		goto out;
	struct token_key *cur = &ks->v[ks->n - 2];
	int64_t cur_expires = cur->expires_ms;
	cur->expires_ms = now_ms + lifetime_ms; /* it signs no more tokens from now */
	if (!new_key(ks, ks->v[ks->n - 1].id + 1)) {
		ks->v[ks->n - 2].expires_ms = cur_expires;
		goto out;
	}
	ks->rolled_ms = now_ms;
	/* drop keys every token of which has expired (never the two newest) */
	uint32_t keep = 0;
	for (uint32_t i = 0; i < ks->n; i++)
		if (i + 2 >= ks->n || ks->v[i].expires_ms > now_ms)
			ks->v[keep++] = ks->v[i];
	OPENSSL_cleanse(ks->v + keep, (ks->n - keep) * sizeof *ks->v);
	ks->n = keep;
	changed = true;
out:
	pthread_mutex_unlock(&ks->mu);
	return changed;
}

static void body(uint8_t out[TOKEN_BODY_LEN], const struct token_info *t)
{
	be32_put(out, t->key_id);
	be64_put(out + 4, t->block);
	be64_put(out + 12, t->genstamp);
	out[20] = t->modes;
	be64_put(out + 21, (uint64_t)t->expires_ms);
	be32_put(out + 29, t->uid);
}

static void sign(const uint8_t key[TOKEN_KEY_LEN], const uint8_t *msg,
		 uint8_t mac[TOKEN_LEN - TOKEN_BODY_LEN])
{
	unsigned int len = TOKEN_LEN - TOKEN_BODY_LEN;
	HMAC(EVP_sha256(), key, TOKEN_KEY_LEN, msg, TOKEN_BODY_LEN, mac, &len);
}

void token_mint(struct token_keys *ks, uint64_t block, uint64_t gs, uint8_t modes,
		uint32_t uid, int64_t now_ms, int64_t lifetime_ms, uint8_t out[TOKEN_LEN])
{
	pthread_mutex_lock(&ks->mu);
	if (ks->n < 2) { /* no keys (the random source failed): a token nobody accepts */
		pthread_mutex_unlock(&ks->mu);
		memset(out, 0, TOKEN_LEN);
		return;
	}
	const struct token_key *k = &ks->v[ks->n - 2];
	struct token_info t = {.key_id = k->id, .block = block, .genstamp = gs,
			       .modes = modes, .expires_ms = now_ms + lifetime_ms, .uid = uid};
	body(out, &t);
	sign(k->key, out, out + TOKEN_BODY_LEN);
	pthread_mutex_unlock(&ks->mu);
}

void token_keys_pack(struct token_keys *ks, struct buf *out)
{
	pthread_mutex_lock(&ks->mu);
	pack_u32(out, ks->n);
	for (uint32_t i = 0; i < ks->n; i++) {
		pack_u32(out, ks->v[i].id);
		pack_i64(out, ks->v[i].expires_ms);
		pack_raw(out, ks->v[i].key, TOKEN_KEY_LEN);
	}
	pthread_mutex_unlock(&ks->mu);
}

int token_keys_unpack(struct token_keys *ks, struct unpack *u)
{
	struct token_key v[TOKEN_KEYS_MAX];
	uint32_t n = unpack_count(u, 4 + 8 + TOKEN_KEY_LEN);
	if (n > TOKEN_KEYS_MAX)
		return -EPROTO;
	for (uint32_t i = 0; i < n; i++) {
		v[i].id = unpack_u32(u);
		v[i].expires_ms = unpack_i64(u);
		const void *k = unpack_raw(u, TOKEN_KEY_LEN);
		if (!k)
			return -EPROTO;
		memcpy(v[i].key, k, TOKEN_KEY_LEN);
	}
	if (!unpack_ok(u))
		return -EPROTO;
	pthread_mutex_lock(&ks->mu);
	OPENSSL_cleanse(ks->v, sizeof ks->v);
	memcpy(ks->v, v, n * sizeof *v);
	ks->n = n;
	pthread_mutex_unlock(&ks->mu);
	OPENSSL_cleanse(v, sizeof v);
	return 0;
}

void token_decode(const uint8_t tok[TOKEN_LEN], struct token_info *t)
{
	t->key_id = be32_get(tok);
	t->block = be64_get(tok + 4);
	t->genstamp = be64_get(tok + 12);
	t->modes = tok[20];
	t->expires_ms = (int64_t)be64_get(tok + 21);
	t->uid = be32_get(tok + 29);
}

int token_check(struct token_keys *ks, const uint8_t tok[TOKEN_LEN], uint64_t block,
		uint64_t gs, uint8_t mode, int64_t now_ms, const char **why)
{
	struct token_info t;
	token_decode(tok, &t);
	uint8_t mac[TOKEN_LEN - TOKEN_BODY_LEN];
	bool known = false;
	pthread_mutex_lock(&ks->mu);
	for (uint32_t i = 0; i < ks->n && !known; i++)
		if (ks->v[i].id == t.key_id) {
			known = true;
			sign(ks->v[i].key, tok, mac);
		}
	pthread_mutex_unlock(&ks->mu);
	if (!t.key_id)
		*why = "no block token"; /* key ids start above 0 */
	else if (now_ms > t.expires_ms)
		*why = "block token expired"; /* whatever its key: it is refused anyway */
	else if (!known)
		*why = ks->n ? "block token signed with an unknown or retired key"
			     : "no block keys from the namenode yet";
	else if (CRYPTO_memcmp(mac, tok + TOKEN_BODY_LEN, sizeof mac))
		*why = "forged block token";
	else if (t.block != block || t.genstamp != gs)
		*why = "block token is for another block";
	else if (!(t.modes & mode))
		*why = mode == TOKEN_READ ? "block token does not allow reading"
					  : "block token does not allow writing";
	else
		return 0;
	return -EACCES;
}
