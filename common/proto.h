/*
 * proto: the dfs wire protocol. This header IS the specification (MooseFS'
 * MFSCommunication.h style): every conversation -- client<->namenode,
 * datanode<->namenode, client<->datanode, datanode<->datanode -- is a stream of frames
 * over TCP.
 *
 * Frame = 24-byte header, then `length` payload bytes:
 *   u32 magic   PROTO_MAGIC ("DFS1")
 *   u16 type    a PROTO_* message id below (ids are append-only)
 *   u16 flags   PROTO_F_REPLY on answers
 *   u64 reqid   chosen by the requester, echoed in the reply; a connection may carry
 *               several requests at once
 *   u32 length  payload bytes; checked against the receiver's per-direction maximum
 *               before anything is allocated
 *   i32 status  0, or a PROTO_E_* code on replies (proto_errno() maps it to -errno);
 *               an error reply's payload is an optional human message: str
 * All integers are big-endian; `str` is u32 length + bytes (no NUL); payloads are
 * encoded and decoded only with pack.h. A frame whose magic, length or layout is wrong
 * ends that connection, never the server. Unknown types get a PROTO_E_NOSYS reply.
 *
 * Handshake (every connection, before anything else; see auth.h):
 *   server -> HELLO    u32 version, u8 server role, raw[32] server nonce
 *   client -> AUTH     u32 version, u8 client role, raw[32] client nonce,
 *                      raw[32] HMAC-SHA256(key, "dfs-client" | snonce | cnonce),
 *                      u32 uid, u32 gid (the caller's identity)
 *   server -> AUTH_OK  raw[32] HMAC-SHA256(key, "dfs-server" | cnonce | snonce)
 *                      (or an error reply with status PROTO_E_ACCES, then close)
 * The client checks the server's proof too, so neither side talks to an impostor, and
 * fresh nonces on both sides make a captured handshake useless.
 */
#ifndef DFS_PROTO_H
#define DFS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define PROTO_MAGIC 0x44465331u /* "DFS1" */
#define PROTO_VERSION 2u /* 2: block access tokens */
#define PROTO_HDR_LEN 24
#define PROTO_F_REPLY 0x0001

/* Per-direction frame size limits, checked before allocating. */
#define PROTO_MAX_HANDSHAKE 256u            /* anything before AUTH_OK */
#define PROTO_MAX_CLIENT_REQ (1u << 20)     /* client -> namenode */
#define PROTO_MAX_DN_REQ (64u << 20)        /* datanode -> namenode (block reports) */
#define PROTO_MAX_REPLY (64u << 20)         /* namenode -> anyone */
#define PROTO_MAX_DATA ((8u << 20) + 4096u) /* client/datanode <-> datanode */

/* Data path geometry. */
#define PROTO_CHUNK_SIZE (64u * 1024u)  /* one CRC32C per chunk */
#define PROTO_PACKET_SIZE (1024u * 1024u) /* data bytes per packet, chunk multiple */
#define PROTO_MAX_PACKET (8u << 20)

/* Limits on names, paths, ids. */
#define PROTO_NAME_MAX 255
#define PROTO_PATH_MAX 4095
#define PROTO_ID_MAX 63    /* datanode id */
#define PROTO_ADDR_MAX 255 /* HOST:PORT */
#define PROTO_REPL_MAX 512

enum proto_role { PROTO_ROLE_CLIENT = 1, PROTO_ROLE_DATANODE = 2, PROTO_ROLE_NAMENODE = 3 };

enum proto_type {
	/* handshake (layouts above) */
	PROTO_HELLO = 0x01,
	PROTO_AUTH = 0x02,
	PROTO_AUTH_OK = 0x03,

	/*
	 * client -> namenode. Replies carry the layout after "=>".
	 * `attr` is: u64 ino, u8 type (PROTO_T_*), u32 mode (permission bits), u32 uid,
	 *   u32 gid, u32 nlink, u64 size, i64 mtime_ns, i64 atime_ns, i64 ctime_ns,
	 *   u16 replication, u64 block_size, u32 rdev, u8 flags (PROTO_A_*)
	 * `loc` is: str datanode id, str addr
	 * `[ids]` is an optional trailing u32 uid, u32 gid: the owner of a new inode,
	 *   honoured only from a root client (a mount acting for its callers); others get
	 *   the connection's own identity
	 * `block` is: u64 id, u64 genstamp, u64 offset in file, u64 length,
	 *   u32 n, n x loc (nearest first), token
	 * `token` is a block access token: raw[TOKEN_LEN] (layout in token.h), for
	 *   reading the block (CN_GET_BLOCKS, CN_FILE_BLOCKS) or writing it (pipelines)
	 */
	PROTO_CN_MKDIR = 0x10,      /* str path, u32 mode, u8 flags (PROTO_MKDIR_*) [ids]
	                               => attr */
	PROTO_CN_CREATE = 0x11,     /* str path, u32 mode, u8 flags (PROTO_CREATE_*),
	                               u16 replication (0 = inherit), u64 block_size
	                               (0 = inherit), str client name [ids] => attr */
	PROTO_CN_ADD_BLOCK = 0x12,  /* u64 ino, u64 prev block id (0 = none), u64 prev length,
	                               u32 n, n x str node ids that stored prev,
	                               str favored datanode id ("" = none),
	                               u32 n, n x str datanode ids to avoid (they failed
	                               this writer) => block (the pipeline, in order) */
	PROTO_CN_COMPLETE = 0x13,   /* u64 ino, u64 last block id (0 = none), u64 last length,
	                               u32 n, n x str node ids that stored it => attr */
	PROTO_CN_GET_BLOCKS = 0x14, /* str path, u64 offset, u64 length
	                               => attr, u32 n, n x block */
	PROTO_CN_STAT = 0x15,       /* str path => attr */
	PROTO_CN_LIST = 0x16,       /* str path, str start after (""), u32 max
	                               => u32 n, n x (str name, attr), u8 more */
	PROTO_CN_RENAME = 0x17,     /* str src, str dst, u32 flags (PROTO_RENAME_*) => - */
	PROTO_CN_DELETE = 0x18,     /* str path, u8 flags (PROTO_DELETE_*) => - */
	PROTO_CN_SETREP = 0x19,     /* str path, u16 replication => attr */
	PROTO_CN_STATFS = 0x1a,     /* - => u64 capacity, u64 used, u64 remaining,
	                               u64 files, u64 blocks */
	PROTO_CN_REPORT = 0x1b,     /* - => u8 safe_mode, u64 capacity, u64 used,
	                               u64 remaining, u64 files, u64 blocks,
	                               u64 under_replicated, u64 corrupt, u64 missing,
	                               u32 n, n x (str id, str addr, u8 state (PROTO_DN_*),
	                               u64 capacity, u64 used, u64 remaining, u64 blocks,
	                               i64 last_contact_ms, u32 xceivers) */
	PROTO_CN_ABANDON = 0x1c,    /* u64 ino, u64 block id => - (drop a failed last block,
	                               or a block of CN_ALLOC_BLOCK not to be used) */
	PROTO_CN_BAD_BLOCK = 0x1d,  /* u64 block id, u64 genstamp, str datanode id,
	                               u8 PROTO_BAD_* => - (a reader found a bad replica) */
	PROTO_CN_FSCK = 0x1e,       /* str path => u64 files, u64 blocks,
	                               u64 under_replicated, u64 over_replicated,
	                               u64 corrupt, u64 missing, u32 n, n x (str path,
	                               str problem) (at most 1000 problems listed) */
	PROTO_CN_DECOMMISSION = 0x20, /* str datanode id, u8 1 = decommission, 0 = recommission
	                               => - */
	PROTO_CN_SAFEMODE = 0x1f,   /* u8 PROTO_SAFEMODE_* => u8 on, u64 blocks reported,
	                               u64 blocks */
	/* POSIX calls for the FUSE mount. */
	PROTO_CN_SETATTR = 0x21,    /* str path, u32 valid (PROTO_SET_*), u32 mode, u32 uid,
	                               u32 gid, i64 atime_ns, i64 mtime_ns => attr */
	PROTO_CN_SYMLINK = 0x22,    /* str path, str target [ids] => attr */
	PROTO_CN_READLINK = 0x23,   /* str path => str target */
	PROTO_CN_LINK = 0x24,       /* str existing path, str new path => attr */
	PROTO_CN_MKNOD = 0x25,      /* str path, u8 type (PROTO_T_*), u32 mode, u32 rdev
	                               [ids] => attr */
	PROTO_CN_SETXATTR = 0x26,   /* str path, str name, u32 flags (PROTO_XATTR_*),
	                               u32 n, n bytes value => - */
	PROTO_CN_GETXATTR = 0x27,   /* str path, str name => u32 n, n bytes value */
	PROTO_CN_LISTXATTR = 0x28,  /* str path => u32 n, n bytes (NUL-terminated names) */
	PROTO_CN_REMOVEXATTR = 0x29, /* str path, str name => - */
	PROTO_CN_ALLOC_BLOCK = 0x2a, /* u64 ino, str favored datanode id, u32 n, n x str
	                               datanode ids to avoid => block (a pipeline for a new
	                               version of some slot of the file; the block belongs
	                               to this connection until CN_UPDATE uses it, and is
	                               deleted if the connection closes first) */
	PROTO_CN_UPDATE = 0x2b,     /* u64 ino, u64 new size, u32 new block count, u32 n,
	                               n x (u32 slot, u64 old id, u64 new id (0 = hole),
	                               u64 length, u32 k, k x str node ids that stored it)
	                               => attr (the file switches to the new version at
	                               once; see nn_ns_update) */
	PROTO_CN_FILE_BLOCKS = 0x2c, /* u64 ino, u64 offset, u64 length => attr, u32 n,
	                               n x block (like CN_GET_BLOCKS, by inode) */
	PROTO_CN_LOCK = 0x2d,       /* u64 ino, u64 owner, u8 kind (PROTO_LOCK_POSIX/FLOCK),
	                               u8 type (PROTO_LOCK_*), u64 start, u64 end (inclusive),
	                               u32 pid, u8 test => u8 conflict, then when set:
	                               u8 type, u64 start, u64 end, u32 pid (the conflicting
	                               lock). Without test, a conflict is EAGAIN (the
	                               client retries to wait); a connection's locks go
	                               when it closes */
	/* Jobs (compute/job.h has the layouts of `spec`, `jobinfo` and `attemptlog`). */
	PROTO_CN_JOB_SUBMIT = 0x30, /* spec => str job id */
	PROTO_CN_JOB_STATUS = 0x31, /* str job id, u32 wait_ms (answer early only when the
	                               job ends) => jobinfo */
	PROTO_CN_JOB_LIST = 0x32,   /* - => u32 n, n x jobinfo (newest last) */
	PROTO_CN_JOB_KILL = 0x33,   /* str job id => - */
	PROTO_CN_JOB_LOGS = 0x34,   /* str job id, i32 task (-1: every task) => u32 n,
	                               n x attemptlog */
	PROTO_CN_TRASH = 0x35,      /* str path, str user name => str where it went (in
	                               /user/NAME/.Trash/Current); PROTO_E_NOTSUP when the
	                               trash is off (trash_interval 0): delete it instead */
	PROTO_CN_BACKUP = 0x36,     /* u8 start (1: take a new snapshot) => u32 n, n
	                               records (u32 key length, key, u32 value length,
	                               value: the namespace's, in key order), u8 more; the
	                               superuser only; the snapshot lives with the
	                               connection (common/backup.h has the file) */
	PROTO_CN_BLOCK_TOKEN = 0x37, /* u64 block id, u64 genstamp, u8 modes (TOKEN_*)
	                               => token (a fresh one, for a block the caller may
	                               read, or write, now) */

	/* datanode -> namenode (on the datanode's one long-lived connection) */
	PROTO_DN_REGISTER = 0x40,       /* str id, str addr, u64 capacity, u64 used,
	                                   u64 remaining [u32 task slots, u8 flags
	                                   (PROTO_DNF_*)] => - */
	PROTO_DN_HEARTBEAT = 0x41,      /* u64 capacity, u64 used, u64 remaining,
	                                   u32 xceivers => u32 n, n x command:
	                                   u8 PROTO_CMD_*, u64 block id, u64 genstamp,
	                                   u64 length, u32 n, n x loc (targets) */
	PROTO_DN_BLOCK_REPORT = 0x42,   /* u32 n, n x (u64 id, u64 genstamp, u64 length):
	                                   every finalized replica => - */
	PROTO_DN_BLOCK_RECEIVED = 0x43, /* same layout: replicas finalized since => - */
	PROTO_DN_BLOCK_DELETED = 0x44,  /* u32 n, n x u64 id => - */
	PROTO_DN_BYE = 0x45,            /* - => - (graceful stop) */
	PROTO_DN_BAD_BLOCK = 0x47,      /* u32 n, n x (u64 id, u64 genstamp, u8 PROTO_BAD_*):
	                                   replicas its scanner found bad => - */
	PROTO_DN_TASK_STATUS = 0x48,    /* u32 n, n x task report (compute/job.h): attempts
	                                   that ended, and the progress of running ones
	                                   => - */
	PROTO_NN_TASKS = 0x49,          /* namenode -> datanode, unsolicited like
	                                   NN_COMMANDS: u32 n, n x (u8 PROTO_TASK_START,
	                                   task launch) or (u8 PROTO_TASK_KILL, str job id,
	                                   u32 task, u32 attempt) */
	PROTO_NN_COMMANDS = 0x46,       /* namenode -> datanode, unsolicited (reqid 0, no
	                                   reply): the heartbeat reply's command list, sent
	                                   at once so recovery never waits for a heartbeat */
	PROTO_NN_BLOCK_KEYS = 0x4a,     /* namenode -> datanode, unsolicited: the block keys
	                                   (token.h), before the DN_REGISTER reply and at
	                                   every roll: u32 n, n x (u32 key id,
	                                   i64 expires_ms, raw[32] key) */

	/*
	 * client or datanode -> datanode (data transfer). A client's request carries the
	 * block's token and is refused (PROTO_E_ACCES, with why) without a valid one for
	 * that block and mode; a datanode (it proved the datanode key) sends zeros there.
	 */
	PROTO_DT_WRITE_BLOCK = 0x60, /* u64 block id, u64 genstamp, u32 flags (PROTO_WRITE_*),
	                                token, u32 n, n x loc (the rest of the pipeline)
	                                => - once the whole pipeline is connected; then
	                                DT_PACKETs flow down and DT_ACKs flow back */
	PROTO_DT_PACKET = 0x61,      /* u64 seq, u64 offset in block, u32 data length,
	                                u8 flags (PROTO_PKT_*), u32 n, n x u32 crc32c (one per
	                                chunk), raw data */
	PROTO_DT_ACK = 0x62,         /* u64 seq, i32 status, u32 index of the failed
	                                pipeline node (PROTO_NO_NODE when none) */
	PROTO_DT_SYNC_BLOCK = 0x64,  /* u64 block id, u64 genstamp, token (write) => - once
	                                the finalized replica (data, checksums, name) is
	                                on disk */
	PROTO_DT_READ_BLOCK = 0x63,  /* u64 block id, u64 genstamp, u64 offset, u64 length,
	                                token (read)
	                                => u64 replica length; then DT_PACKETs (same reqid)
	                                from the chunk holding offset, the last one with
	                                PROTO_PKT_LAST */
};

/* inode types */
enum proto_ftype {
	PROTO_T_FILE = 1,
	PROTO_T_DIR = 2,
	PROTO_T_SYMLINK = 3,
	PROTO_T_FIFO = 4,
	PROTO_T_CHR = 5,
	PROTO_T_BLK = 6,
	PROTO_T_SOCK = 7,
};

#define PROTO_A_UNDER_CONSTRUCTION 0x01
#define PROTO_A_XATTRS 0x02 /* the inode has extended attributes */

#define PROTO_MKDIR_PARENTS 0x01
#define PROTO_CREATE_OVERWRITE 0x01
#define PROTO_CREATE_CLOSED 0x02 /* a complete empty file: no lease, no streaming writer */
#define PROTO_SET_MODE 0x01
#define PROTO_SET_UID 0x02
#define PROTO_SET_GID 0x04
#define PROTO_SET_ATIME 0x08
#define PROTO_SET_MTIME 0x10
#define PROTO_SET_CTIME_ONLY 0x20 /* nothing else: just touch ctime */
#define PROTO_LOCK_POSIX 0
#define PROTO_LOCK_FLOCK 1
#define PROTO_LOCK_READ 1
#define PROTO_LOCK_WRITE 2
#define PROTO_LOCK_UNLOCK 3
#define PROTO_XATTR_CREATE 0x01
#define PROTO_XATTR_REPLACE 0x02
#define PROTO_DELETE_RECURSIVE 0x01
#define PROTO_DELETE_DIR 0x02 /* only a directory (rmdir): ENOTDIR for anything else */
#define PROTO_RENAME_NOREPLACE 0x01
#define PROTO_RENAME_EXCHANGE 0x02
#define PROTO_PKT_LAST 0x01
#define PROTO_WRITE_NOSYNC 0x01 /* finalize without fsync (the client syncs on demand
                                   with DT_SYNC_BLOCK, as for a FUSE close) */
#define PROTO_BAD_CHECKSUM 1 /* data does not match its checksums */
#define PROTO_BAD_MISSING 2  /* the datanode no longer has it */
#define PROTO_SAFEMODE_GET 0
#define PROTO_SAFEMODE_ENTER 1
#define PROTO_SAFEMODE_LEAVE 2
#define PROTO_NO_NODE 0xffffffffu

enum proto_dn_state {
	PROTO_DN_LIVE = 1,
	PROTO_DN_STALE = 2,
	PROTO_DN_DEAD = 3,
	PROTO_DN_DECOMMISSIONING = 4,
	PROTO_DN_DECOMMISSIONED = 5,
};

enum proto_cmd { PROTO_CMD_DELETE = 1, PROTO_CMD_REPLICATE = 2 };
enum proto_task_op { PROTO_TASK_START = 1, PROTO_TASK_KILL = 2 };
#define PROTO_DNF_NO_EXEC 0x01 /* the datanode runs built-in filters only, no commands */

/* Wire status codes; proto_status()/proto_errno() are the only mapping. */
enum proto_status {
	PROTO_OK = 0,
	PROTO_E_PERM = 1,
	PROTO_E_NOENT = 2,
	PROTO_E_IO = 5,
	PROTO_E_ACCES = 13,
	PROTO_E_BUSY = 16,
	PROTO_E_EXIST = 17,
	PROTO_E_XDEV = 18,
	PROTO_E_NOTDIR = 20,
	PROTO_E_ISDIR = 21,
	PROTO_E_INVAL = 22,
	PROTO_E_FBIG = 27,
	PROTO_E_NOSPC = 28,
	PROTO_E_ROFS = 30,
	PROTO_E_NAMETOOLONG = 36,
	PROTO_E_NOSYS = 38,
	PROTO_E_NOTEMPTY = 39,
	PROTO_E_LOOP = 40,
	PROTO_E_PROTO = 71,
	PROTO_E_STALE = 116,
	PROTO_E_AGAIN = 11,
	PROTO_E_RANGE = 34,
	PROTO_E_NODATA = 61,
	PROTO_E_NOTSUP = 95,
	PROTO_E_MLINK = 31,
	PROTO_E_DEADLK = 35,
	PROTO_E_TXTBSY = 26,
	PROTO_E_NOLCK = 37,
	PROTO_E_2BIG = 7,
	PROTO_E_BADMSG = 74, /* a packet failed its checksum (client: "checksum mismatch") */
};

/* Maps -errno (or errno) to a wire status. */
int32_t proto_status(int err);
/* Maps a wire status to -errno (0 stays 0; unknown codes become -EIO). */
int proto_errno(int32_t status);

struct proto_hdr {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;
	uint64_t reqid;
	uint32_t length;
	int32_t status;
};

/* Writes the 24-byte header for hdr into out. */
void proto_hdr_encode(const struct proto_hdr *hdr, uint8_t out[PROTO_HDR_LEN]);
/* Reads a header; -EPROTO when the magic is wrong, -EMSGSIZE when length > max. */
int proto_hdr_decode(const uint8_t in[PROTO_HDR_LEN], struct proto_hdr *hdr, uint32_t max);
/* Appends a whole frame (header + payload) to out. */
void proto_frame(struct buf *out, uint16_t type, uint16_t flags, uint64_t reqid,
		 int32_t status, const void *payload, size_t len);

/*
 * Blocking frame I/O on a socket, used by clients and the datanode's threads.
 * proto_send writes one frame; returns 0 or -errno.
 * proto_recv reads one frame into payload (reset first), rejecting frames longer than
 * max; returns 0 or -errno (-ECONNRESET on EOF, -EPROTO on a bad header).
 */
int proto_send(int fd, uint16_t type, uint16_t flags, uint64_t reqid, int32_t status,
	       const void *payload, size_t len);
int proto_recv(int fd, struct proto_hdr *hdr, struct buf *payload, uint32_t max);

/* Human name of a message type, for logs ("CN_CREATE"); never NULL. */
const char *proto_type_name(uint16_t type);

#endif
