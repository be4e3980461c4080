/*
 * token: block access tokens (HDFS' idea). The namenode mints a token with every block
 * location and pipeline it hands out; a datanode serves a client's read, write or sync
 * of a block only with a valid, unexpired token for that block and that mode. A token
 * is an HMAC-SHA256, under a block key only the namenode and the datanodes hold, of:
 *
 *   u32 key id, u64 block id, u64 genstamp, u8 modes (TOKEN_*), i64 expiry (Unix ms),
 *   u32 uid (whom it was minted for: for the datanode's log)
 *
 * and travels as those 33 bytes followed by the 32-byte MAC (TOKEN_LEN in all).
 *
 * Keys roll over: the namenode holds the key it mints with and the next one, and sends
 * both (with every older key still able to verify an unexpired token) to each datanode
 * when it registers and at every roll. A key is sent a whole interval before it is
 * first used, so a datanode always knows the key of a fresh token, and a key is kept
 * until the last token it signed expired, so transfers in flight never break.
 *
 * A token_keys set is protected by its own mutex: any thread.
 */
#ifndef DFS_TOKEN_H
#define DFS_TOKEN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "pack.h"

#define TOKEN_LEN 65
#define TOKEN_BODY_LEN 33
#define TOKEN_KEY_LEN 32
#define TOKEN_KEYS_MAX 64 /* beyond lifetime/interval + 2 keys the oldest go early */

#define TOKEN_READ 0x01
#define TOKEN_WRITE 0x02 /* write the block, and sync it */

struct token_key {
	uint32_t id;
	int64_t expires_ms; /* no token it signed is valid after this */
	uint8_t key[TOKEN_KEY_LEN];
};

struct token_keys {
	pthread_mutex_t mu;
	uint32_t n;
	struct token_key v[TOKEN_KEYS_MAX]; /* v[n-2]: mints now; v[n-1]: the next one */
	int64_t rolled_ms;                  /* when v[n-2] started minting (namenode) */
};

/* The fields a token carries. */
struct token_info {
	uint32_t key_id;
	uint64_t block, genstamp;
	uint8_t modes;
	int64_t expires_ms;
	uint32_t uid;
};

void token_keys_init(struct token_keys *ks);
void token_keys_destroy(struct token_keys *ks);

/*
 * Namenode: makes the first keys, or rolls over when `interval_ms` has passed since
 * the last roll (the next key starts minting, a new next key is made, keys whose tokens
 * have all expired are dropped). Tokens live lifetime_ms. True when the set changed
 * (then send it to the datanodes); -EIO-like failures of the random source leave the
 * set as it was and return false.
 */
bool token_keys_roll(struct token_keys *ks, int64_t now_ms, int64_t interval_ms,
		     int64_t lifetime_ms);
/* Namenode: a token for block (id, gs) in modes for uid, valid lifetime_ms from now. */
void token_mint(struct token_keys *ks, uint64_t block, uint64_t gs, uint8_t modes,
		uint32_t uid, int64_t now_ms, int64_t lifetime_ms, uint8_t out[TOKEN_LEN]);

/* Appends the set as "u32 n, n x (u32 id, i64 expires_ms, raw[32] key)". */
void token_keys_pack(struct token_keys *ks, struct buf *out);
/* Datanode: replaces the set with the one packed in u; -EPROTO when malformed (the
 * set is then unchanged). */
int token_keys_unpack(struct token_keys *ks, struct unpack *u);

/* Reads the fields of a token without checking it. */
void token_decode(const uint8_t tok[TOKEN_LEN], struct token_info *out);
/*
 * Datanode: 0 when tok is a valid token for block (id, gs) allowing mode at now_ms;
 * otherwise -EACCES with *why saying what is wrong ("no block token" for key id 0,
 * "expired", "signed with an unknown key", "forged", "for another block", ...) for the
 * error reply and the log.
 */
int token_check(struct token_keys *ks, const uint8_t tok[TOKEN_LEN], uint64_t block,
		uint64_t gs, uint8_t mode, int64_t now_ms, const char **why);

#endif
