/*
 * nntest: what the suites that drive a real namenode server share (test_optable.c,
 * test_op_inode.c): a server on a fresh namespace in a temporary tree, and one request
 * at a time injected through nn_server_inject_replies as a given role and uid, with
 * the reply's status and payload. Header-only: each suite includes it once and sets
 * nntest_name first.
 */
#ifndef DFS_NNTEST_H
#define DFS_NNTEST_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>

#include "../../namenode/server_int.h"
#include "cfg.h"
#include "pack.h"
#include "proto.h"
#include "testdir.h"
#include "unit.h"

static const char *nntest_name; /* names the temporary tree */

static struct nn_server *srv; /* the running test's server */

/* Formats a namespace in a new temporary tree and starts a server on it (listening on
 * 127.0.0.1, no datanodes); superuser and permissions are those settings. */
static inline void nntest_start(uint32_t superuser, bool permissions)
{
	testdir_make(nntest_name);
	ck_assert_int_eq(nn_ns_format(tmp_base), 0);
	struct cfg cfg;
	cfg_defaults(&cfg);
	snprintf(cfg.name_dir, sizeof cfg.name_dir, "%s", tmp_base);
	snprintf(cfg.listen, sizeof cfg.listen, "127.0.0.1:0");
	cfg.metadata_sync = 3600; /* the namespace stays dirty until the test syncs it */
	cfg.superuser = superuser;
	cfg.permissions = permissions;
	struct auth_keys keys = {.has_datanode = true};
	ck_assert_int_eq(nn_server_start(&cfg, &keys, NULL, NULL, &srv), 0);
}

/* Stops the server and removes its tree. */
static inline void nntest_stop(void)
{
	nn_server_free(srv);
	srv = NULL;
	tmp_teardown();
}

/* Sends one request of type as (role, uid); returns the reply's wire status, its
 * payload in out (may be NULL). */
static inline int32_t call(uint8_t role, uint32_t uid, uint16_t type,
			   const struct buf *payload, struct buf *out)
{
	struct buf in = BUF_INIT, replies = BUF_INIT;
	proto_frame(&in, type, 0, 7, 0, payload ? payload->data : NULL,
		    payload ? payload->len : 0);
	ck_assert_int_eq(nn_server_inject_replies(srv, role, uid, (uint8_t *)in.data, in.len,
						  &replies), 1);
	int32_t status = INT32_MIN;
	for (size_t off = 0; off + PROTO_HDR_LEN <= replies.len;) {
		struct proto_hdr h;
		ck_assert_int_eq(proto_hdr_decode((uint8_t *)replies.data + off, &h,
						  PROTO_MAX_REPLY), 0);
		if ((h.flags & PROTO_F_REPLY) && h.reqid == 7 && h.type == type) {
			status = h.status;
			if (out)
				buf_add(out, replies.data + off + PROTO_HDR_LEN, h.length);
		}
		off += PROTO_HDR_LEN + h.length;
	}
	ck_assert_msg(status != INT32_MIN, "no reply to %s", proto_type_name(type));
	buf_free(&in);
	buf_free(&replies);
	return status;
}

/* The message of an error reply's payload. */
static inline void message(const struct buf *p, char *out, size_t n)
{
	struct unpack u;
	unpack_init(&u, p->data, p->len);
	unpack_str(&u, out, n);
}

#endif
