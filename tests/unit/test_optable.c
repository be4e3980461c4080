/*
 * Unit tests for the namenode's request table and dispatcher (namenode/optable.c):
 * every client->namenode and datanode->namenode id in common/proto.h (its X-macro
 * lists, so an id added there without a table entry fails here) has exactly
 * one entry and nothing else has one; the flags classify every entry; requests that
 * only read leave the namespace clean; and the dispatcher, driven through
 * nn_server_inject_replies on a real server, refuses mutating requests in safe mode and
 * privileged ones from a non-superuser, with one superuser rule for all of them.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../namenode/server_int.h"
#include "cfg.h"
#include "fsutil.h"
#include "log.h"
#include "pack.h"
#include "proto.h"
#include "nntest.h"

/* ---------- the table against proto.h ---------- */

struct proto_id {
	char name[64];
	unsigned long value;
};

/* The client->namenode and datanode->namenode ids: proto.h's own lists (X-macros), so
 * an id added there without a table entry fails here. Returns how many. */
static size_t read_proto_ids(struct proto_id *ids, size_t max)
{
#define PROTO_ID_ENTRY(name, id, logname) {"PROTO_" #name, id},
	static const struct proto_id all[] = {PROTO_CN_MESSAGES(PROTO_ID_ENTRY)
						      PROTO_CN_INODE_MESSAGES(PROTO_ID_ENTRY)
						      PROTO_DN_MESSAGES(PROTO_ID_ENTRY)};
#undef PROTO_ID_ENTRY
	size_t n = sizeof all / sizeof all[0];
	ck_assert_uint_le(n, max);
	for (size_t i = 0; i < n; i++) {
		ids[i] = all[i];
		/* the lists and the sections agree */
		enum proto_dir d = proto_type_dir((uint16_t)all[i].value);
		ck_assert(d == PROTO_DIR_CN || d == PROTO_DIR_DN);
	}
	return n;
}

static size_t table_size(void)
{
	size_t n = 0;
	while (nn_optable_at(n))
		n++;
	return n;
}

START_TEST(test_every_id_has_one_entry)
{
	struct proto_id ids[256];
	size_t n = read_proto_ids(ids, 256);
	ck_assert_uint_ge(n, 40); /* the parse found the enum */
	for (size_t i = 0; i < n; i++) {
		size_t found = 0;
		for (size_t k = 0; nn_optable_at(k); k++)
			if (nn_optable_at(k)->type == ids[i].value) {
				found++;
				ck_assert_str_eq(nn_optable_at(k)->name, ids[i].name);
			}
		ck_assert_msg(found == 1, "%s (0x%lx) has %zu entries in namenode/optable.c",
			      ids[i].name, ids[i].value, found);
		ck_assert_ptr_nonnull(nn_optable_lookup((uint16_t)ids[i].value));
	}
	/* and no entry for anything else (each proto.h id has one, so counts match) */
	ck_assert_uint_eq(table_size(), n);
	for (size_t k = 0; nn_optable_at(k); k++) {
		const struct nn_op *op = nn_optable_at(k);
		bool known = false;
		for (size_t i = 0; i < n; i++)
			known |= ids[i].value == op->type && !strcmp(ids[i].name, op->name);
		ck_assert_msg(known, "%s is not a namenode-bound id of proto.h", op->name);
		ck_assert_ptr_nonnull(op->fn);
	}
	ck_assert_ptr_null(nn_optable_lookup(PROTO_HELLO));
	ck_assert_ptr_null(nn_optable_lookup(PROTO_NN_COMMANDS));
	ck_assert_ptr_null(nn_optable_lookup(PROTO_DT_READ_BLOCK));
}
END_TEST

static bool in_list(uint16_t type, const uint16_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == type)
			return true;
	return false;
}

/* The requests that change the namespace and must wait out safe mode (the list the
 * dispatcher had by hand before the table). */
static const uint16_t writers[] = {
	PROTO_CN_MKDIR, PROTO_CN_CREATE, PROTO_CN_ADD_BLOCK, PROTO_CN_RENAME,
	PROTO_CN_DELETE, PROTO_CN_SETREP, PROTO_CN_ABANDON, PROTO_CN_SETATTR,
	PROTO_CN_SYMLINK, PROTO_CN_LINK, PROTO_CN_MKNOD, PROTO_CN_SETXATTR,
	PROTO_CN_REMOVEXATTR, PROTO_CN_ALLOC_BLOCK, PROTO_CN_UPDATE, PROTO_CN_JOB_SUBMIT,
	PROTO_CN_TRASH, PROTO_CN_SETATTR_INO, PROTO_CN_MKDIR_AT, PROTO_CN_CREATE_AT,
	PROTO_CN_MKNOD_AT, PROTO_CN_SYMLINK_AT, PROTO_CN_LINK_AT, PROTO_CN_UNLINK_AT,
	PROTO_CN_RENAME_AT, PROTO_CN_SETXATTR_INO, PROTO_CN_REMOVEXATTR_INO, PROTO_CN_RECLAIM,
	PROTO_CN_RECREATE,
};
static const uint16_t privileged[] = {PROTO_CN_SAFEMODE, PROTO_CN_DECOMMISSION,
				      PROTO_CN_BACKUP};

START_TEST(test_flags)
{
	for (size_t k = 0; nn_optable_at(k); k++) {
		const struct nn_op *op = nn_optable_at(k);
		uint32_t f = op->flags;
		int kinds = !!(f & NN_OP_READS) + !!(f & NN_OP_MUTATES) + !!(f & NN_OP_SAFE_OK);
		ck_assert_msg(kinds == 1, "%s: exactly one of READS, MUTATES, SAFE_OK", op->name);
		bool dn = !strncmp(op->name, "PROTO_DN_", 9);
		ck_assert_msg(dn == !!(f & NN_OP_DATANODE), "%s: NN_OP_DATANODE", op->name);
		ck_assert_msg(!(f & NN_OP_REGISTERED) || dn, "%s: REGISTERED on a client call",
			      op->name);
		ck_assert_msg(!dn || !(f & NN_OP_MUTATES), "%s: datanodes end safe mode",
			      op->name);
		bool w = in_list(op->type, writers, sizeof writers / sizeof *writers);
		ck_assert_msg(w == !!(f & NN_OP_MUTATES), "%s: NN_OP_MUTATES", op->name);
		bool p = in_list(op->type, privileged, sizeof privileged / sizeof *privileged);
		ck_assert_msg(p == !!(f & NN_OP_SUPER), "%s: NN_OP_SUPER", op->name);
		if (f & (NN_OP_SUPER | NN_OP_CLIENT))
			ck_assert_ptr_nonnull(op->denied);
		ck_assert(!op->needs_super || (f & NN_OP_SUPER));
	}
}
END_TEST

/* ---------- a real server, driven through the test hook (nntest.h) ---------- */

static int32_t safemode(uint32_t uid, uint8_t action, char *msg, size_t n)
{
	struct buf p = BUF_INIT, r = BUF_INIT;
	pack_u8(&p, action);
	int32_t st = call(PROTO_ROLE_CLIENT, uid, PROTO_CN_SAFEMODE, &p, &r);
	if (st && msg)
		message(&r, msg, n);
	buf_free(&p);
	buf_free(&r);
	return st;
}

/* A file /d/f (closed, with user.x), a symlink /d/l; returns /d/f's inode. */
static uint64_t populate(void)
{
	struct buf p = BUF_INIT, r = BUF_INIT;
	pack_str(&p, "/d");
	pack_u32(&p, 0755);
	pack_u8(&p, 0);
	ck_assert_int_eq(call(PROTO_ROLE_CLIENT, 0, PROTO_CN_MKDIR, &p, NULL), 0);
	buf_reset(&p);
	pack_str(&p, "/d/f");
	pack_u32(&p, 0644);
	pack_u8(&p, PROTO_CREATE_CLOSED);
	pack_u16(&p, 0);
	pack_u64(&p, 0);
	pack_str(&p, "test");
	ck_assert_int_eq(call(PROTO_ROLE_CLIENT, 0, PROTO_CN_CREATE, &p, &r), 0);
	struct unpack u;
	unpack_init(&u, r.data, r.len);
	uint64_t ino = unpack_u64(&u);
	buf_reset(&p);
	pack_str(&p, "/d/l");
	pack_str(&p, "f");
	ck_assert_int_eq(call(PROTO_ROLE_CLIENT, 0, PROTO_CN_SYMLINK, &p, NULL), 0);
	buf_reset(&p);
	pack_str(&p, "/d/f");
	pack_str(&p, "user.x");
	pack_u32(&p, 0);
	pack_u32(&p, 3);
	pack_raw(&p, "abc", 3);
	ck_assert_int_eq(call(PROTO_ROLE_CLIENT, 0, PROTO_CN_SETXATTR, &p, NULL), 0);
	buf_free(&p);
	buf_free(&r);
	return ino;
}

/* A well-formed request for each entry flagged NN_OP_READS, and the status it gets. */
static int32_t read_probe(uint16_t type, uint64_t ino, struct buf *p, bool *have)
{
	*have = true;
	switch (type) {
	case PROTO_CN_GET_BLOCKS:
		pack_str(p, "/d/f"); pack_u64(p, 0); pack_u64(p, 1 << 20);
		return 0;
	case PROTO_CN_STAT: pack_str(p, "/d/f"); return 0;
	case PROTO_CN_LIST:
		pack_str(p, "/d"); pack_str(p, ""); pack_u32(p, 100);
		return 0;
	case PROTO_CN_FILE_BLOCKS:
		pack_u64(p, ino); pack_u64(p, 0); pack_u64(p, 1 << 20);
		return 0;
	case PROTO_CN_BLOCK_TOKEN:
		pack_u64(p, 99); pack_u64(p, 1); pack_u8(p, 1);
		return PROTO_E_NOENT;
	case PROTO_CN_READLINK: pack_str(p, "/d/l"); return 0;
	case PROTO_CN_GETXATTR: pack_str(p, "/d/f"); pack_str(p, "user.x"); return 0;
	case PROTO_CN_LISTXATTR: pack_str(p, "/d/f"); return 0;
	case PROTO_CN_LOOKUP: pack_u64(p, NN_ROOT_INO); pack_str(p, "d"); return 0;
	case PROTO_CN_GETATTR: pack_u64(p, ino); return 0;
	case PROTO_CN_READLINK_INO: pack_u64(p, ino); return PROTO_E_INVAL; /* not a link */
	case PROTO_CN_READDIR:
		pack_u64(p, NN_ROOT_INO); pack_str(p, ""); pack_u32(p, 100);
		return 0;
	case PROTO_CN_GETXATTR_INO: pack_u64(p, ino); pack_str(p, "user.x"); return 0;
	case PROTO_CN_LISTXATTR_INO: pack_u64(p, ino); return 0;
	case PROTO_CN_STATFS:
	case PROTO_CN_REPORT:
	case PROTO_CN_LIVENESS:
	case PROTO_CN_GROUP_STATUS:
	case PROTO_CN_JOB_LIST: return 0;
	case PROTO_CN_FSCK: pack_str(p, "/"); return 0;
	case PROTO_CN_BACKUP: pack_u8(p, 1); return 0;
	case PROTO_CN_JOB_STATUS: pack_str(p, "job_none"); pack_u32(p, 0); return PROTO_E_NOENT;
	case PROTO_CN_JOB_LOGS: pack_str(p, "job_none"); pack_i32(p, -1); return PROTO_E_NOENT;
	default: *have = false; return 0;
	}
}

START_TEST(test_reads_leave_the_namespace_clean)
{
	nntest_start(0, true);
	uint64_t ino = populate();
	for (size_t k = 0; nn_optable_at(k); k++) {
		const struct nn_op *op = nn_optable_at(k);
		if (!(op->flags & NN_OP_READS))
			continue;
		struct buf p = BUF_INIT;
		bool have;
		int32_t want = read_probe(op->type, ino, &p, &have);
		ck_assert_msg(have, "%s reads: give it a probe in read_probe", op->name);
		ck_assert_int_eq(nn_ns_sync(srv->ns), 0);
		ck_assert(!nn_ns_dirty(srv->ns));
		ck_assert_int_eq(call(PROTO_ROLE_CLIENT, 0, op->type, &p, NULL), want);
		ck_assert_msg(!nn_ns_dirty(srv->ns), "%s changed the namespace: it is not "
			      "NN_OP_READS", op->name);
		buf_free(&p);
	}
	nntest_stop();
}
END_TEST

START_TEST(test_safe_mode_refuses_writers)
{
	nntest_start(0, true);
	populate();
	ck_assert_int_eq(safemode(0, PROTO_SAFEMODE_ENTER, NULL, 0), 0);
	ck_assert(srv->safe_mode);
	for (size_t k = 0; nn_optable_at(k); k++) {
		const struct nn_op *op = nn_optable_at(k);
		if (op->flags & NN_OP_DATANODE)
			continue;
		struct buf r = BUF_INIT;
		int32_t st = call(PROTO_ROLE_CLIENT, 0, op->type, NULL, &r);
		if (op->flags & NN_OP_MUTATES) {
			char msg[200];
			ck_assert_msg(st == PROTO_E_ROFS, "%s ran in safe mode", op->name);
			message(&r, msg, sizeof msg);
			ck_assert_ptr_nonnull(strstr(msg, "safe mode"));
		} else {
			ck_assert_msg(st != PROTO_E_ROFS, "%s refused in safe mode", op->name);
		}
		buf_free(&r);
	}
	/* a real write, refused before it touches anything */
	struct buf p = BUF_INIT;
	pack_str(&p, "/d/f");
	pack_u8(&p, 0);
	ck_assert_int_eq(call(PROTO_ROLE_CLIENT, 0, PROTO_CN_DELETE, &p, NULL), PROTO_E_ROFS);
	ck_assert_int_eq(safemode(0, PROTO_SAFEMODE_LEAVE, NULL, 0), 0);
	ck_assert_int_eq(call(PROTO_ROLE_CLIENT, 0, PROTO_CN_DELETE, &p, NULL), 0);
	buf_free(&p);
	nntest_stop();
}
END_TEST

START_TEST(test_roles)
{
	nntest_start(0, true);
	/* datanode requests from a client, and unknown types: not served */
	ck_assert_int_eq(call(PROTO_ROLE_CLIENT, 0, PROTO_DN_HEARTBEAT, NULL, NULL),
			 PROTO_E_NOSYS);
	ck_assert_int_eq(call(PROTO_ROLE_CLIENT, 0, 0x8f, NULL, NULL), PROTO_E_NOSYS);
	ck_assert_int_eq(call(PROTO_ROLE_DATANODE, 0, PROTO_AUTH, NULL, NULL), PROTO_E_NOSYS);
	/* a datanode that has not registered */
	struct buf r = BUF_INIT;
	char msg[200];
	ck_assert_int_eq(call(PROTO_ROLE_DATANODE, 0, PROTO_DN_HEARTBEAT, NULL, &r),
			 PROTO_E_PERM);
	message(&r, msg, sizeof msg);
	ck_assert_str_eq(msg, "datanode not registered");
	ck_assert_int_eq(call(PROTO_ROLE_DATANODE, 0, PROTO_DN_BYE, NULL, NULL), 0);
	/* backups are for clients only, even a superuser datanode */
	buf_reset(&r);
	struct buf p = BUF_INIT;
	pack_u8(&p, 1);
	ck_assert_int_eq(call(PROTO_ROLE_DATANODE, 0, PROTO_CN_BACKUP, &p, &r), PROTO_E_PERM);
	message(&r, msg, sizeof msg);
	ck_assert_str_eq(msg, "only the superuser takes backups");
	buf_free(&p);
	buf_free(&r);
	nntest_stop();
}
END_TEST

/* Decommission of a node that does not exist: ENOENT once past the privilege check. */
static int32_t decommission(uint32_t uid, char *msg, size_t n)
{
	struct buf p = BUF_INIT, r = BUF_INIT;
	pack_str(&p, "no-such-node");
	pack_u8(&p, 1);
	int32_t st = call(PROTO_ROLE_CLIENT, uid, PROTO_CN_DECOMMISSION, &p, &r);
	if (st && msg)
		message(&r, msg, n);
	buf_free(&p);
	buf_free(&r);
	return st;
}

static int32_t backup(uint32_t uid, char *msg, size_t n)
{
	struct buf p = BUF_INIT, r = BUF_INIT;
	pack_u8(&p, 1);
	int32_t st = call(PROTO_ROLE_CLIENT, uid, PROTO_CN_BACKUP, &p, &r);
	if (st && msg)
		message(&r, msg, n);
	buf_free(&p);
	buf_free(&r);
	return st;
}

START_TEST(test_one_superuser_rule)
{
	nntest_start(4242, true);
	char msg[200];
	/* anyone may read safe mode; a plain user may change nothing */
	ck_assert_int_eq(safemode(1000, PROTO_SAFEMODE_GET, NULL, 0), 0);
	ck_assert_int_eq(safemode(1000, PROTO_SAFEMODE_ENTER, msg, sizeof msg), PROTO_E_PERM);
	ck_assert_str_eq(msg, "only the superuser may change safe mode");
	ck_assert(!srv->safe_mode);
	ck_assert_int_eq(decommission(1000, msg, sizeof msg), PROTO_E_PERM);
	ck_assert_str_eq(msg, "only the superuser may decommission nodes");
	ck_assert_int_eq(backup(1000, msg, sizeof msg), PROTO_E_PERM);
	ck_assert_str_eq(msg, "only the superuser takes backups");
	/* a malformed safe mode request is malformed, whoever sends it */
	struct buf p = BUF_INIT;
	pack_u8(&p, 9);
	ck_assert_int_eq(call(PROTO_ROLE_CLIENT, 1000, PROTO_CN_SAFEMODE, &p, NULL),
			 PROTO_E_PROTO);
	buf_free(&p);
	/* the `superuser` setting's uid may do all three, as uid 0 may */
	uint32_t supers[] = {4242, 0};
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(safemode(supers[i], PROTO_SAFEMODE_ENTER, NULL, 0), 0);
		ck_assert(srv->safe_mode && srv->safe_manual);
		ck_assert_int_eq(safemode(supers[i], PROTO_SAFEMODE_LEAVE, NULL, 0), 0);
		ck_assert(!srv->safe_mode);
		ck_assert_int_eq(decommission(supers[i], NULL, 0), PROTO_E_NOENT);
		ck_assert_int_eq(backup(supers[i], NULL, 0), 0);
	}
	nntest_stop();
}
END_TEST

START_TEST(test_no_permissions_no_superuser_checks)
{
	nntest_start(0, false);
	ck_assert_int_eq(safemode(1000, PROTO_SAFEMODE_ENTER, NULL, 0), 0);
	ck_assert_int_eq(safemode(1000, PROTO_SAFEMODE_LEAVE, NULL, 0), 0);
	ck_assert_int_eq(decommission(1000, NULL, 0), PROTO_E_NOENT);
	ck_assert_int_eq(backup(1000, NULL, 0), 0);
	nntest_stop();
}
END_TEST

int main(void)
{
	log_set_level(LOG_ERROR);
	nntest_name = "optable";
	return UNIT_MAIN("optable",
		{"table", .tests = UNIT_TESTS(test_every_id_has_one_entry, test_flags)},
		{"dispatcher", .timeout = 30, .tests = UNIT_TESTS(
			test_reads_leave_the_namespace_clean, test_safe_mode_refuses_writers,
			test_roles, test_one_superuser_rule,
			test_no_permissions_no_superuser_checks)});
}
