/*
 * blockprobe: speaks the data-transfer protocol to a datanode with the tokens a test
 * asks for, to show that a datanode refuses block operations without a valid token.
 * The tool and the FUSE mount cannot send a bad token; this can.
 *
 *   blockprobe NAMENODE KEYFILE PATH CASE...
 *
 * reads the block list of PATH (at least two blocks) as a client, then for each CASE
 * sends one request for its first block to the first replica and prints
 * "CASE: ok" or "CASE: refused: WHY":
 *   valid      a read with the namenode's token
 *   none       a read with an all-zero token
 *   forged     a read with one bit of the token's MAC changed
 *   widened    a read token with its mode changed to write, used for a sync
 *   other      the second block's token used for the first block
 *   readsync   a read token used for DT_SYNC_BLOCK (a write-mode operation)
 *   expired    the valid token, after sleeping until it expired (short lifetimes)
 *   reread     a whole read through the client library after the token expired
 *              (it must fetch a fresh token itself)
 *   asdatanode a handshake claiming the datanode role with the cluster key
 * Exit status 0 when every case ran (whatever its answer), 1 on a setup failure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "clock.h"
#include "client.h"
#include "net.h"
#include "pack.h"
#include "proto.h"
#include "token.h"

static const char *why_of(const struct buf *in)
{
	static char msg[256];
	struct unpack u;
	unpack_init(&u, in->data, in->len);
	unpack_str(&u, msg, sizeof msg);
	return unpack_ok(&u) && msg[0] ? msg : "(no reason given)";
}

/* Sends one request for block b on a fresh connection and reports the answer. */
static void request(const char *name, const uint8_t *key, const struct dfs_block *b,
		    uint16_t type, const uint8_t tok[TOKEN_LEN])
{
	int fd = net_connect(b->locs[0].addr, 5000);
	if (fd < 0) {
		printf("%s: cannot connect: %s\n", name, strerror(-fd));
		return;
	}
	net_set_timeout(fd, 10000);
	int rc = auth_client(fd, key, PROTO_ROLE_CLIENT, getuid(), getgid());
	if (rc) {
		printf("%s: handshake failed: %s\n", name, strerror(-rc));
		close(fd);
		return;
	}
	struct buf req = BUF_INIT, in = BUF_INIT;
	pack_u64(&req, b->id);
	pack_u64(&req, b->genstamp);
	if (type == PROTO_DT_READ_BLOCK) {
		pack_u64(&req, 0);
		pack_u64(&req, 4096);
	}
	pack_raw(&req, tok, TOKEN_LEN);
	struct proto_hdr h;
	rc = proto_send(fd, type, 0, 1, 0, req.data, req.len);
	if (!rc)
		rc = proto_recv(fd, &h, &in, PROTO_MAX_DATA);
	if (rc)
		printf("%s: connection failed: %s\n", name, strerror(-rc));
	else if (h.status)
		printf("%s: refused: %s\n", name, why_of(&in));
	else
		printf("%s: ok\n", name);
	fflush(stdout);
	buf_free(&req);
	buf_free(&in);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: blockprobe NAMENODE KEYFILE PATH CASE...\n");
		return 2;
	}
	struct dfs_client_opts o = {.uid = getuid(), .gid = getgid()};
	snprintf(o.namenode, sizeof o.namenode, "%s", argv[1]);
	if (auth_key_load(argv[2], o.key)) {
		fprintf(stderr, "blockprobe: cannot load key %s\n", argv[2]);
		return 1;
	}
	struct dfs_client *c;
	struct dfs_blocks bl;
	if (dfs_connect(&o, &c) || dfs_get_blocks(c, argv[3], 0, UINT64_MAX, &bl)) {
		fprintf(stderr, "blockprobe: %s\n", dfs_errmsg());
		return 1;
	}
	if (bl.n < 2 || !bl.v[0].nlocs) {
		fprintf(stderr, "blockprobe: %s needs two blocks with replicas\n", argv[3]);
		return 1;
	}
	const struct dfs_block *b = &bl.v[0];
	for (int i = 4; i < argc; i++) {
		const char *cs = argv[i];
		uint8_t tok[TOKEN_LEN];
		memcpy(tok, b->token, TOKEN_LEN);
		if (!strcmp(cs, "valid")) {
			request(cs, o.key, b, PROTO_DT_READ_BLOCK, tok);
		} else if (!strcmp(cs, "none")) {
			memset(tok, 0, sizeof tok);
			request(cs, o.key, b, PROTO_DT_READ_BLOCK, tok);
		} else if (!strcmp(cs, "forged")) {
			tok[TOKEN_LEN - 1] ^= 1;
			request(cs, o.key, b, PROTO_DT_READ_BLOCK, tok);
		} else if (!strcmp(cs, "widened")) {
			tok[20] |= TOKEN_WRITE;
			request(cs, o.key, b, PROTO_DT_SYNC_BLOCK, tok);
		} else if (!strcmp(cs, "other")) {
			request(cs, o.key, b, PROTO_DT_READ_BLOCK, bl.v[1].token);
		} else if (!strcmp(cs, "readsync")) {
			request(cs, o.key, b, PROTO_DT_SYNC_BLOCK, tok);
		} else if (!strcmp(cs, "expired")) {
			struct token_info t;
			token_decode(tok, &t);
			int64_t wait = t.expires_ms - clock_wall_ms() + 1500;
			if (wait > 0)
				usleep((useconds_t)wait * 1000);
			request(cs, o.key, b, PROTO_DT_READ_BLOCK, tok);
		} else if (!strcmp(cs, "reread")) {
			struct dfs_reader *r;
			uint64_t n = b->length < 4096 ? b->length : 4096;
			char *buf = malloc(n);
			int rc = dfs_reader_new(c, &r);
			if (!rc) {
				rc = dfs_read_block(r, b, 0, n, buf);
				dfs_reader_close(r);
			}
			if (rc)
				printf("%s: refused: %s\n", cs, dfs_errmsg());
			else
				printf("%s: ok\n", cs);
			free(buf);
		} else if (!strcmp(cs, "asdatanode")) {
			int fd = net_connect(b->locs[0].addr, 5000);
			int rc = fd < 0 ? fd : auth_client(fd, o.key, PROTO_ROLE_DATANODE, 0, 0);
			if (rc == -EACCES)
				printf("%s: refused: wrong key for the role\n", cs);
			else
				printf("%s: %s\n", cs, rc ? strerror(-rc) : "ok");
			if (fd >= 0)
				close(fd);
		} else {
			fprintf(stderr, "blockprobe: unknown case '%s'\n", cs);
			return 1;
		}
		fflush(stdout);
	}
	dfs_blocks_free(&bl);
	dfs_close(c);
	return 0;
}
