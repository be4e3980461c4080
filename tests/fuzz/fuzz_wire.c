/*
 * Fuzz target: every decoder of network bytes outside the namenode's request handler.
 * The first byte picks one; the rest is its input:
 *   0 frame header        1 DT_PACKET            2 DT_ACK
 *   3 job spec (+ check)  4 task launch          5 task report
 *   6 job info            7 attempt log          8 AUTH (server side of the handshake)
 *   9 the built-in filter: pattern, NUL, data (the pattern arrives with a job)
 *  10 the split rule as a property: every split's bytes together are the input
 *  11 a config file (`key = value` lines)
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cfg.h"
#include "filter.h"
#include "job.h"
#include "log.h"
#include "packet.h"
#include "proto.h"
#include "token.h"
#include "split.h"

struct mem {
	const uint8_t *p;
	size_t n;
};

static ssize_t mem_read(void *arg, uint64_t off, void *buf, size_t max)
{
	struct mem *m = arg;
	if (off >= m->n)
		return 0;
	size_t k = m->n - off < max ? m->n - off : max;
	if (k > 3)
		k = k / 2 + 1; /* short reads too */
	memcpy(buf, m->p + off, k);
	return (ssize_t)k;
}

static int collect(void *arg, const char *data, size_t len)
{
	buf_add(arg, data, len);
	return 0;
}

static void split_property(const uint8_t *d, size_t n)
{
	if (n < 2)
		return;
	size_t bs = 1 + d[0] % 64, bufsz = 4 + d[1] % 32;
	struct mem m = {d + 2, n - 2};
	struct buf all = BUF_INIT;
	for (uint64_t s = 0; s < m.n; s += bs) {
		struct split_opts o = {bufsz, 4, d[0] & 0x80};
		uint64_t rd;
		if (split_run(s, m.n - s < bs ? m.n - s : bs, m.n, &o, mem_read, &m, collect, &all,
			      &rd))
			abort();
	}
	if (all.len != m.n || (m.n && memcmp(all.data, m.p, m.n)))
		abort(); /* a line lost or doubled */
	buf_free(&all);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet++)
		log_set_level(LOG_ERROR);
	if (size < 1)
		return 0;
	const uint8_t *d = data + 1;
	size_t n = size - 1;
	struct unpack u;
	unpack_init(&u, d, n);
	switch (data[0] % 13) {
	case 0: {
		struct proto_hdr h;
		if (n >= PROTO_HDR_LEN)
			proto_hdr_decode(d, &h, PROTO_MAX_CLIENT_REQ);
		break;
	}
	case 1: {
		static struct packet p;
		packet_decode(d, n, &p);
		break;
	}
	case 2: {
		uint64_t seq;
		int32_t st;
		uint32_t failed;
		packet_decode_ack(d, n, &seq, &st, &failed);
		break;
	}
	case 3: {
		struct job_spec s;
		if (!job_spec_unpack(&u, &s)) {
			struct buf err = BUF_INIT;
			job_spec_check(&s, &err);
			buf_free(&err);
			job_spec_free(&s);
		}
		break;
	}
	case 4: {
		struct job_launch l;
		if (!job_launch_unpack(&u, &l))
			job_launch_free(&l);
		break;
	}
	case 5: {
		struct job_report r;
		if (!job_report_unpack(&u, &r))
			job_report_free(&r);
		break;
	}
	case 6: {
		struct job_info i;
		if (!job_info_unpack(&u, &i))
			job_info_free(&i);
		break;
	}
	case 7: {
		struct job_attempt_log a;
		if (!job_attempt_log_unpack(&u, &a))
			job_attempt_log_free(&a);
		break;
	}
	case 8: {
		struct auth_server as;
		struct buf out = BUF_INIT;
		auth_server_hello(&as, PROTO_ROLE_NAMENODE, &out);
		struct auth_keys keys = {.has_datanode = true};
		struct auth_peer peer;
		auth_server_check(&as, &keys, d, n, &peer, &out);
		buf_free(&out);
		break;
	}
	case 9: { /* a flags byte, the pattern, NUL, the text */
		const uint8_t *nul = n > 1 ? memchr(d + 1, 0, n - 1) : NULL;
		if (!nul)
			break;
		struct filter *f;
		struct buf err = BUF_INIT, out = BUF_INIT;
		uint8_t kind = d[0] & 1 ? JOB_FILTER_REGEX : JOB_FILTER_GREP;
		uint8_t flags = (d[0] >> 1) & (JOB_F_INVERT | JOB_F_ICASE);
		if (!filter_new(kind, (const char *)d + 1, flags, &f, &err)) {
			size_t tl = n - (size_t)(nul - d) - 1;
			char *text = malloc(tl + 1); /* whole lines followed by a NUL */
			memcpy(text, nul + 1, tl);
			text[tl] = 0;
			filter_run(f, text, tl, &out);
			free(text);
			filter_free(f);
		}
		buf_free(&err);
		buf_free(&out);
		break;
	}
	case 10:
		split_property(d, n);
		break;
	case 11: {
		struct cfg c;
		struct buf err = BUF_INIT;
		cfg_defaults(&c);
		cfg_parse(&c, (const char *)d, n, "fuzz.conf", &err);
		buf_free(&err);
		break;
	}
	case 12: { /* a block key set (NN_BLOCK_KEYS), then a token checked against it */
		static struct token_keys ks;
		static int init;
		if (!init++)
			token_keys_init(&ks);
		if (token_keys_unpack(&ks, &u) || u.left < TOKEN_LEN)
			break;
		const uint8_t *tok = unpack_raw(&u, TOKEN_LEN);
		struct token_info t;
		token_decode(tok, &t);
		const char *why = NULL;
		int rc = token_check(&ks, tok, t.block, t.genstamp, TOKEN_READ, t.expires_ms, &why);
		if (rc) {
			/* only a token signed with one of the keys passes: check the refusal */
			if (!why)
				abort();
		}
		break;
	}
	}
	return 0;
}
