/*
 * Unit tests for the namenode's inode-addressed requests (namenode/op_inode.c and the
 * _INO xattr requests of op_xattr.c), on a real server driven through
 * nn_server_inject_replies (nntest.h): each call's layout and answer, hard links seen
 * as one inode, the directory-loop check, and the permission checks each call makes on
 * the directory or inode it names, for a caller that is not the superuser.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "attr.h"
#include "log.h"

#include "nntest.h"

/* One request as uid; the reply's attr into out when there is one. */
static int32_t call_attr(uint32_t uid, uint16_t type, struct buf *p, struct dfs_attr *out)
{
	struct buf r = BUF_INIT;
	int32_t st = call(PROTO_ROLE_CLIENT, uid, type, p, &r);
	if (!st && out) {
		struct unpack u;
		unpack_init(&u, r.data, r.len);
		attr_unpack(&u, out);
		ck_assert(unpack_ok(&u));
	}
	buf_reset(p);
	buf_free(&r);
	return st;
}

static void at(struct buf *p, uint64_t dir, const char *name)
{
	pack_u64(p, dir);
	pack_str(p, name);
}

static int32_t mkdir_at(uint32_t uid, uint64_t dir, const char *name, uint32_t mode,
			struct dfs_attr *out)
{
	struct buf p = BUF_INIT;
	at(&p, dir, name);
	pack_u32(&p, mode);
	int32_t st = call_attr(uid, PROTO_CN_MKDIR_AT, &p, out);
	buf_free(&p);
	return st;
}

static int32_t create_at(uint32_t uid, uint64_t dir, const char *name, uint32_t mode,
			 struct dfs_attr *out)
{
	struct buf p = BUF_INIT;
	at(&p, dir, name);
	pack_u32(&p, mode);
	pack_u8(&p, PROTO_CREATE_CLOSED);
	pack_u16(&p, 0);
	pack_u64(&p, 0);
	pack_str(&p, "test");
	int32_t st = call_attr(uid, PROTO_CN_CREATE_AT, &p, out);
	buf_free(&p);
	return st;
}

static int32_t lookup(uint32_t uid, uint64_t dir, const char *name, struct dfs_attr *out)
{
	struct buf p = BUF_INIT;
	at(&p, dir, name);
	int32_t st = call_attr(uid, PROTO_CN_LOOKUP, &p, out);
	buf_free(&p);
	return st;
}

static int32_t unlink_at(uint32_t uid, uint64_t dir, const char *name, uint8_t flags,
			 struct dfs_attr *gone)
{
	struct buf p = BUF_INIT;
	at(&p, dir, name);
	pack_u8(&p, flags);
	int32_t st = call_attr(uid, PROTO_CN_UNLINK_AT, &p, gone);
	buf_free(&p);
	return st;
}

static int32_t rename_at(uint32_t uid, uint64_t sdir, const char *sname, uint64_t ddir,
			 const char *dname, char *msg, size_t n)
{
	struct buf p = BUF_INIT, r = BUF_INIT;
	at(&p, sdir, sname);
	at(&p, ddir, dname);
	pack_u32(&p, 0);
	int32_t st = call(PROTO_ROLE_CLIENT, uid, PROTO_CN_RENAME_AT, &p, &r);
	if (st && msg)
		message(&r, msg, n);
	buf_free(&p);
	buf_free(&r);
	return st;
}

static int32_t setattr_ino(uint32_t uid, uint64_t ino, uint32_t valid, uint32_t mode,
			   uint32_t owner, uint32_t group, struct dfs_attr *out)
{
	struct buf p = BUF_INIT;
	pack_u64(&p, ino);
	pack_u32(&p, valid);
	pack_u32(&p, mode);
	pack_u32(&p, owner);
	pack_u32(&p, group);
	pack_i64(&p, 0);
	pack_i64(&p, 0);
	int32_t st = call_attr(uid, PROTO_CN_SETATTR_INO, &p, out);
	buf_free(&p);
	return st;
}

static int readdir_count(uint32_t uid, uint64_t dir, int32_t *st)
{
	struct buf p = BUF_INIT, r = BUF_INIT;
	pack_u64(&p, dir);
	pack_str(&p, "");
	pack_u32(&p, 100);
	*st = call(PROTO_ROLE_CLIENT, uid, PROTO_CN_READDIR, &p, &r);
	struct unpack u;
	unpack_init(&u, r.data, r.len);
	int n = *st ? -1 : (int)unpack_u32(&u);
	buf_free(&p);
	buf_free(&r);
	return n;
}

START_TEST(test_calls)
{
	nntest_start(0, true);
	struct dfs_attr d, f, a;
	ck_assert_int_eq(mkdir_at(0, NN_ROOT_INO, "d", 0755, &d), 0);
	ck_assert_int_eq(d.type, PROTO_T_DIR);
	ck_assert_int_eq(create_at(0, d.ino, "f", 0644, &f), 0);
	ck_assert(!(f.flags & PROTO_A_UNDER_CONSTRUCTION)); /* PROTO_CREATE_CLOSED */
	ck_assert_int_eq(create_at(0, d.ino, "f", 0644, &a), PROTO_E_EXIST);
	ck_assert_int_eq(lookup(0, d.ino, "f", &a), 0);
	ck_assert_uint_eq(a.ino, f.ino);
	ck_assert_int_eq(lookup(0, d.ino, "nope", &a), PROTO_E_NOENT);
	ck_assert_int_eq(lookup(0, f.ino, "x", &a), PROTO_E_NOTDIR);

	/* a hard link: the same inode by either name, at once */
	struct buf p = BUF_INIT;
	pack_u64(&p, f.ino);
	at(&p, NN_ROOT_INO, "g");
	ck_assert_int_eq(call_attr(0, PROTO_CN_LINK_AT, &p, &a), 0);
	ck_assert_uint_eq(a.nlink, 2);
	ck_assert_int_eq(setattr_ino(0, f.ino, PROTO_SET_MODE | PROTO_SET_UID | PROTO_SET_GID,
				     0201, 65534, 65533, &a), 0);
	ck_assert_int_eq(lookup(0, NN_ROOT_INO, "g", &a), 0);
	ck_assert_uint_eq(a.mode, 0201);
	ck_assert_uint_eq(a.uid, 65534);
	ck_assert_uint_eq(a.gid, 65533);
	ck_assert_int_eq(unlink_at(0, d.ino, "f", 0, &a), 0);
	ck_assert_uint_eq(a.nlink, 1); /* one name left */
	pack_u64(&p, f.ino);
	ck_assert_int_eq(call_attr(0, PROTO_CN_GETATTR, &p, &a), 0);
	ck_assert_uint_eq(a.nlink, 1);
	ck_assert_int_eq(unlink_at(0, NN_ROOT_INO, "g", 0, &a), 0);
	ck_assert_uint_eq(a.nlink, 0); /* that was the last */
	pack_u64(&p, f.ino);
	ck_assert_int_eq(call_attr(0, PROTO_CN_GETATTR, &p, &a), PROTO_E_NOENT);

	/* symlinks, device nodes, rmdir vs unlink */
	at(&p, d.ino, "l");
	pack_str(&p, "../target");
	ck_assert_int_eq(call_attr(0, PROTO_CN_SYMLINK_AT, &p, &a), 0);
	pack_u64(&p, a.ino);
	struct buf r = BUF_INIT;
	ck_assert_int_eq(call(PROTO_ROLE_CLIENT, 0, PROTO_CN_READLINK_INO, &p, &r), 0);
	struct unpack u;
	unpack_init(&u, r.data, r.len);
	char target[64];
	unpack_str(&u, target, sizeof target);
	ck_assert_str_eq(target, "../target");
	buf_reset(&p);
	at(&p, d.ino, "fifo");
	pack_u8(&p, PROTO_T_FIFO);
	pack_u32(&p, 0600);
	pack_u32(&p, 0);
	ck_assert_int_eq(call_attr(0, PROTO_CN_MKNOD_AT, &p, &a), 0);
	ck_assert_uint_eq(a.type, PROTO_T_FIFO);
	ck_assert_int_eq(unlink_at(0, NN_ROOT_INO, "d", 0, NULL), PROTO_E_ISDIR);
	ck_assert_int_eq(unlink_at(0, d.ino, "fifo", PROTO_DELETE_DIR, NULL), PROTO_E_NOTDIR);
	ck_assert_int_eq(unlink_at(0, NN_ROOT_INO, "d", PROTO_DELETE_DIR, NULL),
			 PROTO_E_NOTEMPTY);
	int32_t st;
	ck_assert_int_eq(readdir_count(0, d.ino, &st), 2);

	/* rename, and a directory into itself */
	struct dfs_attr e;
	ck_assert_int_eq(mkdir_at(0, d.ino, "e", 0755, &e), 0);
	char msg[200];
	ck_assert_int_eq(rename_at(0, NN_ROOT_INO, "d", e.ino, "d", msg, sizeof msg),
			 PROTO_E_INVAL);
	ck_assert_ptr_nonnull(strstr(msg, "into itself"));
	ck_assert_int_eq(rename_at(0, d.ino, "fifo", e.ino, "p", NULL, 0), 0);
	ck_assert_int_eq(lookup(0, e.ino, "p", &a), 0);
	ck_assert_int_eq(rename_at(0, d.ino, "..", e.ino, "q", NULL, 0), PROTO_E_INVAL);

	/* xattrs by inode, dfs's own among them */
	struct dfs_attr x;
	ck_assert_int_eq(create_at(0, d.ino, "x", 0644, &x), 0);
	pack_u64(&p, x.ino);
	pack_str(&p, "user.dfs.replication");
	pack_u32(&p, 0);
	pack_u32(&p, 1);
	pack_raw(&p, "2", 1);
	ck_assert_int_eq(call_attr(0, PROTO_CN_SETXATTR_INO, &p, NULL), 0);
	ck_assert_int_eq(lookup(0, d.ino, "x", &a), 0);
	ck_assert_uint_eq(a.replication, 2);
	pack_u64(&p, x.ino);
	pack_str(&p, "user.k");
	pack_u32(&p, 0);
	pack_u32(&p, 2);
	pack_raw(&p, "v1", 2);
	ck_assert_int_eq(call_attr(0, PROTO_CN_SETXATTR_INO, &p, NULL), 0);
	pack_u64(&p, x.ino);
	pack_str(&p, "user.k");
	buf_reset(&r);
	ck_assert_int_eq(call(PROTO_ROLE_CLIENT, 0, PROTO_CN_GETXATTR_INO, &p, &r), 0);
	unpack_init(&u, r.data, r.len);
	ck_assert_uint_eq(unpack_u32(&u), 2);
	ck_assert(!memcmp(unpack_raw(&u, 2), "v1", 2));
	buf_reset(&p);
	pack_u64(&p, x.ino);
	pack_str(&p, "user.k");
	ck_assert_int_eq(call_attr(0, PROTO_CN_REMOVEXATTR_INO, &p, NULL), 0);
	pack_u64(&p, x.ino);
	pack_str(&p, "user.k");
	ck_assert_int_eq(call_attr(0, PROTO_CN_GETXATTR_INO, &p, NULL), PROTO_E_NODATA);
	buf_free(&p);
	buf_free(&r);
	nntest_stop();
}
END_TEST

START_TEST(test_names)
{
	nntest_start(0, true);
	char name[PROTO_NAME_MAX + 2];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = 0; /* 256 bytes */
	struct dfs_attr a;
	ck_assert_int_eq(create_at(0, NN_ROOT_INO, name, 0644, &a), PROTO_E_NAMETOOLONG);
	name[PROTO_NAME_MAX] = 0;
	ck_assert_int_eq(create_at(0, NN_ROOT_INO, name, 0644, &a), 0);
	ck_assert_int_eq(create_at(0, NN_ROOT_INO, "a/b", 0644, &a), PROTO_E_INVAL);
	ck_assert_int_eq(mkdir_at(0, NN_ROOT_INO, ".", 0755, &a), PROTO_E_INVAL);
	ck_assert_int_eq(mkdir_at(0, NN_ROOT_INO, "", 0755, &a), PROTO_E_INVAL);
	ck_assert_int_eq(mkdir_at(0, 999999, "x", 0755, &a), PROTO_E_NOENT);
	/* a request cut short is malformed, and the server keeps serving */
	struct buf p = BUF_INIT;
	pack_u64(&p, NN_ROOT_INO);
	ck_assert_int_eq(call_attr(0, PROTO_CN_LOOKUP, &p, &a), PROTO_E_PROTO);
	ck_assert_int_eq(lookup(0, NN_ROOT_INO, name, &a), 0);
	buf_free(&p);
	nntest_stop();
}
END_TEST

START_TEST(test_permissions)
{
	nntest_start(0, true);
	const uint32_t alice = 1000, bob = 2000;
	struct dfs_attr priv, tmp, home, a, f;
	/* as root: a private directory, a sticky world-writable one, alice's home */
	ck_assert_int_eq(mkdir_at(0, NN_ROOT_INO, "priv", 0700, &priv), 0);
	ck_assert_int_eq(mkdir_at(0, NN_ROOT_INO, "tmp", 01777, &tmp), 0);
	ck_assert_int_eq(mkdir_at(0, NN_ROOT_INO, "home", 0755, &home), 0);
	ck_assert_int_eq(setattr_ino(0, home.ino, PROTO_SET_UID, 0, alice, 0, &a), 0);

	/* write and search on the directory to add a name; search to look one up; read
	 * to list */
	ck_assert_int_eq(create_at(alice, NN_ROOT_INO, "x", 0644, &a), PROTO_E_ACCES);
	ck_assert_int_eq(mkdir_at(alice, priv.ino, "x", 0755, &a), PROTO_E_ACCES);
	ck_assert_int_eq(lookup(alice, priv.ino, "x", &a), PROTO_E_ACCES);
	int32_t st;
	readdir_count(alice, priv.ino, &st);
	ck_assert_int_eq(st, PROTO_E_ACCES);
	ck_assert_int_eq(create_at(alice, home.ino, "f", 0600, &f), 0);
	ck_assert_uint_eq(f.uid, alice); /* a non-root caller owns what it makes */

	/* the owner changes the mode; nobody else does, and only root gives files away */
	ck_assert_int_eq(setattr_ino(bob, f.ino, PROTO_SET_MODE, 0666, 0, 0, &a), PROTO_E_PERM);
	ck_assert_int_eq(setattr_ino(alice, f.ino, PROTO_SET_UID, 0, bob, 0, &a), PROTO_E_PERM);
	ck_assert_int_eq(setattr_ino(alice, f.ino, PROTO_SET_MODE, 0640, 0, 0, &a), 0);
	ck_assert_uint_eq(a.mode, 0640);

	/* the sticky bit: bob may not remove or rename alice's file in /tmp */
	struct dfs_attr t;
	ck_assert_int_eq(create_at(alice, tmp.ino, "t", 0644, &t), 0);
	ck_assert_int_eq(unlink_at(bob, tmp.ino, "t", 0, NULL), PROTO_E_PERM);
	ck_assert_int_eq(rename_at(bob, tmp.ino, "t", tmp.ino, "u", NULL, 0), PROTO_E_PERM);
	ck_assert_int_eq(unlink_at(alice, tmp.ino, "t", 0, NULL), 0);

	/* xattrs: by the file's permissions, and trusted.* by the superuser only */
	struct buf p = BUF_INIT;
	pack_u64(&p, f.ino);
	pack_str(&p, "user.k");
	ck_assert_int_eq(call_attr(bob, PROTO_CN_GETXATTR_INO, &p, NULL), PROTO_E_ACCES);
	pack_u64(&p, f.ino);
	pack_str(&p, "trusted.k");
	pack_u32(&p, 0);
	pack_u32(&p, 1);
	pack_raw(&p, "v", 1);
	ck_assert_int_eq(call_attr(alice, PROTO_CN_SETXATTR_INO, &p, NULL), PROTO_E_PERM);
	buf_free(&p);
	nntest_stop();
}
END_TEST

/* Sends the n requests (types[i], payloads[i]) on one connection, which then closes;
 * status[i] gets each reply's status. */
static void call_on_one_conn(size_t n, const uint16_t *types, struct buf *const *payloads,
			     int32_t *status)
{
	struct buf in = BUF_INIT, replies = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		proto_frame(&in, types[i], 0, 100 + i, 0, payloads[i]->data, payloads[i]->len);
		status[i] = INT32_MIN;
	}
	ck_assert_int_eq(nn_server_inject_replies(srv, PROTO_ROLE_CLIENT, 0, (uint8_t *)in.data,
						  in.len, &replies), (int)n);
	for (size_t off = 0; off + PROTO_HDR_LEN <= replies.len;) {
		struct proto_hdr h;
		ck_assert_int_eq(proto_hdr_decode((uint8_t *)replies.data + off, &h,
						  PROTO_MAX_REPLY), 0);
		if ((h.flags & PROTO_F_REPLY) && h.reqid >= 100 && h.reqid < 100 + n)
			status[h.reqid - 100] = h.status;
		off += PROTO_HDR_LEN + h.length;
	}
	buf_free(&in);
	buf_free(&replies);
}

START_TEST(test_kept_until_reclaim)
{
	nntest_start(0, true);
	struct dfs_attr f, g, a;
	ck_assert_int_eq(create_at(0, NN_ROOT_INO, "f", 0644, &f), 0);
	ck_assert_int_eq(create_at(0, NN_ROOT_INO, "g", 0644, &g), 0);
	struct buf un = BUF_INIT, get = BUF_INIT, rec = BUF_INIT;
	/* kept while the connection lives, gone when it closes */
	at(&un, NN_ROOT_INO, "f");
	pack_u8(&un, PROTO_DELETE_KEEP);
	pack_u64(&get, f.ino);
	uint16_t t1[] = {PROTO_CN_UNLINK_AT, PROTO_CN_GETATTR};
	struct buf *p1[] = {&un, &get};
	int32_t st[3];
	call_on_one_conn(2, t1, p1, st);
	ck_assert_int_eq(st[0], 0);
	ck_assert_int_eq(st[1], 0); /* still there, nameless */
	ck_assert_int_eq(lookup(0, NN_ROOT_INO, "f", &a), PROTO_E_NOENT);
	struct buf p = BUF_INIT;
	pack_u64(&p, f.ino);
	ck_assert_int_eq(call_attr(0, PROTO_CN_GETATTR, &p, &a), PROTO_E_NOENT);
	/* ... or at CN_RECLAIM, which only the keeping connection may send */
	buf_reset(&un);
	buf_reset(&get);
	at(&un, NN_ROOT_INO, "g");
	pack_u8(&un, PROTO_DELETE_KEEP);
	pack_u64(&rec, g.ino);
	pack_u64(&get, g.ino);
	uint16_t t2[] = {PROTO_CN_UNLINK_AT, PROTO_CN_RECLAIM, PROTO_CN_GETATTR};
	struct buf *p2[] = {&un, &rec, &get};
	call_on_one_conn(3, t2, p2, st);
	ck_assert_int_eq(st[0], 0);
	ck_assert_int_eq(st[1], 0);
	ck_assert_int_eq(st[2], PROTO_E_NOENT);
	ck_assert_int_eq(call_attr(0, PROTO_CN_RECLAIM, &rec, NULL), PROTO_E_NOENT);
	buf_free(&un);
	buf_free(&get);
	buf_free(&rec);
	buf_free(&p);
	nntest_stop();
}
END_TEST

int main(void)
{
	log_set_level(LOG_ERROR);
	nntest_name = "op_inode";
	return UNIT_MAIN("op_inode",
		{"op_inode", .timeout = 30, .tests = UNIT_TESTS(
			test_calls, test_names, test_permissions, test_kept_until_reclaim)});
}
