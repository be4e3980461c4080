/*
 * proto: the dfs wire protocol. This header IS the specification (MooseFS'
 * MFSCommunication.h style): every conversation -- client<->namenode,
 * datanode<->namenode, client<->datanode, datanode<->datanode -- is a stream of frames
 * over TCP.
 *
 * Frame = 24-byte header, then `length` payload bytes:
 *   u32 magic   PROTO_MAGIC ("DFS1")
 *   u16 type    a PROTO_* message id below (ids are append-only)
 *   u16 flags   PROTO_F_REPLY on answers; PROTO_F_RETRY_ID on a request whose reqid
 *               names the call across the requester's retries (namenode/retrycache.h);
 *               PROTO_F_RETRY_LATER on an error reply that a later retry may not get
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
/* 2: block access tokens; 3: ids in order by direction (DN_BAD_BLOCK, DN_TASK_STATUS
 * and the NN_* messages renumbered); 4: the inode-addressed calls (0x70-0x80). A peer
 * of another version is refused with both versions named (auth.h). */
#define PROTO_VERSION 4u
#define PROTO_HDR_LEN 24
#define PROTO_F_REPLY 0x0001
#define PROTO_F_RETRY_ID 0x0002
/* On an error reply: the refusal is passing (a namenode in its start-up safe mode): the
 * same call may be sent again shortly. */
#define PROTO_F_RETRY_LATER 0x0004

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
#define PROTO_FSID_MAX 63 /* a file system's id as a datanode reports it */
#define PROTO_FS_MAX 16   /* file systems per datanode report */

enum proto_role { PROTO_ROLE_CLIENT = 1, PROTO_ROLE_DATANODE = 2, PROTO_ROLE_NAMENODE = 3 };

/*
 * Message ids, one list per direction (X-macros: X(NAME, id, log name)); the enum, the
 * names and each id's direction are generated from these lists, so a message exists in
 * exactly one place. Ids are in order within each section; PROTO_VERSION is bumped
 * whenever an id or a layout changes. Replies carry the layout after "=>".
 *
 * Shared layouts:
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

/* Handshake, on every connection (layouts at the top of this file). */
#define PROTO_HANDSHAKE_MESSAGES(X) \
	X(HELLO, 0x01, "HELLO") \
	X(AUTH, 0x02, "AUTH") \
	X(AUTH_OK, 0x03, "AUTH_OK")

/* client -> namenode. */
#define PROTO_CN_MESSAGES(X) \
	/* str path, u32 mode, u8 flags (PROTO_MKDIR_*) [ids] => attr */ \
	X(CN_MKDIR, 0x10, "mkdir") \
	/* str path, u32 mode, u8 flags (PROTO_CREATE_*), u16 replication (0 = inherit), \
	   u64 block_size (0 = inherit), str client name [ids] => attr */ \
	X(CN_CREATE, 0x11, "create") \
	/* u64 ino, u64 prev block id (0 = none), u64 prev length, u32 n, n x str node ids \
	   that stored prev, str favored datanode id ("" = none), u32 n, n x str datanode \
	   ids to avoid (they failed this writer) [u64 bytes the block will hold when \
	   fewer than the block size: placement needs only that much room; absent or 0: \
	   a whole block] => block (the pipeline, in order) */ \
	X(CN_ADD_BLOCK, 0x12, "add_block") \
	/* u64 ino, u64 last block id (0 = none), u64 last length, u32 n, n x str node ids \
	   that stored it => attr */ \
	X(CN_COMPLETE, 0x13, "complete") \
	/* str path, u64 offset, u64 length => attr, u32 n, n x block */ \
	X(CN_GET_BLOCKS, 0x14, "get_blocks") \
	/* str path => attr */ \
	X(CN_STAT, 0x15, "stat") \
	/* str path, str start after (""), u32 max => u32 n, n x (str name, attr), u8 more */ \
	X(CN_LIST, 0x16, "list") \
	/* str src, str dst, u32 flags (PROTO_RENAME_*) => - */ \
	X(CN_RENAME, 0x17, "rename") \
	/* str path, u8 flags (PROTO_DELETE_*) => - */ \
	X(CN_DELETE, 0x18, "delete") \
	/* str path, u16 replication => attr */ \
	X(CN_SETREP, 0x19, "setrep") \
	/* - => u64 capacity, u64 used, u64 remaining, u64 files, u64 blocks */ \
	X(CN_STATFS, 0x1a, "statfs") \
	/* - => u8 safe_mode, u64 capacity, u64 used, u64 remaining, u64 files, u64 blocks, \
	   u64 under_replicated, u64 corrupt, u64 missing, u32 n, n x (str id, str addr, \
	   u8 state (PROTO_DN_*), u64 capacity, u64 used, u64 remaining, u64 blocks, \
	   i64 last_contact_ms, u32 xceivers) [u32 n, n x str file system ids (the \
	   datanodes' in the same order, comma-separated when several)]; capacity and \
	   remaining count each (host, file system id) once */ \
	X(CN_REPORT, 0x1b, "report") \
	/* u64 ino, u64 block id => - (drop a failed last block, or a block of \
	   CN_ALLOC_BLOCK not to be used) */ \
	X(CN_ABANDON, 0x1c, "abandon") \
	/* u64 block id, u64 genstamp, str datanode id, u8 PROTO_BAD_* => - (a reader \
	   found a bad replica) */ \
	X(CN_BAD_BLOCK, 0x1d, "bad_block") \
	/* str path => u64 files, u64 blocks, u64 under_replicated, u64 over_replicated, \
	   u64 corrupt, u64 missing, u32 n, n x (str path, str problem) (at most 1000 \
	   problems listed) */ \
	X(CN_FSCK, 0x1e, "fsck") \
	/* u8 PROTO_SAFEMODE_* => u8 on, u64 blocks reported, u64 blocks */ \
	X(CN_SAFEMODE, 0x1f, "safemode") \
	/* str datanode id, u8 1 = decommission, 0 = recommission => - */ \
	X(CN_DECOMMISSION, 0x20, "decommission") \
	/* POSIX calls for the FUSE mount. */ \
	/* str path, u32 valid (PROTO_SET_*), u32 mode, u32 uid, u32 gid, i64 atime_ns, \
	   i64 mtime_ns => attr */ \
	X(CN_SETATTR, 0x21, "setattr") \
	/* str path, str target [ids] => attr */ \
	X(CN_SYMLINK, 0x22, "symlink") \
	/* str path => str target */ \
	X(CN_READLINK, 0x23, "readlink") \
	/* str existing path, str new path => attr */ \
	X(CN_LINK, 0x24, "link") \
	/* str path, u8 type (PROTO_T_*), u32 mode, u32 rdev [ids] => attr */ \
	X(CN_MKNOD, 0x25, "mknod") \
	/* str path, str name, u32 flags (PROTO_XATTR_*), u32 n, n bytes value => - */ \
	X(CN_SETXATTR, 0x26, "setxattr") \
	/* str path, str name => u32 n, n bytes value */ \
	X(CN_GETXATTR, 0x27, "getxattr") \
	/* str path => u32 n, n bytes (NUL-terminated names) */ \
	X(CN_LISTXATTR, 0x28, "listxattr") \
	/* str path, str name => - */ \
	X(CN_REMOVEXATTR, 0x29, "removexattr") \
	/* u64 ino, str favored datanode id, u32 n, n x str datanode ids to avoid \
	   [u64 bytes it will hold, as for CN_ADD_BLOCK] => block \
	   (a pipeline for a new version of some slot of the file; the block belongs to \
	   this connection until CN_UPDATE uses it, and is deleted if the connection \
	   closes first) */ \
	X(CN_ALLOC_BLOCK, 0x2a, "alloc_block") \
	/* u64 ino, u64 new size, u32 new block count, u32 n, n x (u32 slot, u64 old id, \
	   u64 new id (0 = hole), u64 length, u32 k, k x str node ids that stored it) \
	   => attr (the file switches to the new version at once; see nn_ns_update) */ \
	X(CN_UPDATE, 0x2b, "update") \
	/* u64 ino, u64 offset, u64 length => attr, u32 n, n x block (like CN_GET_BLOCKS, \
	   by inode) */ \
	X(CN_FILE_BLOCKS, 0x2c, "file_blocks") \
	/* u64 ino, u64 owner, u8 kind (PROTO_LOCK_POSIX/FLOCK), u8 type (PROTO_LOCK_*), \
	   u64 start, u64 end (inclusive), u32 pid, u8 test => u8 conflict, then when set: \
	   u8 type, u64 start, u64 end, u32 pid (the conflicting lock). Without test, a \
	   conflict is EAGAIN (the client retries to wait); a connection's locks go when \
	   it closes */ \
	X(CN_LOCK, 0x2d, "lock") \
	/* Jobs (compute/job.h has the layouts of `spec`, `jobinfo` and `attemptlog`). */ \
	/* spec => str job id */ \
	X(CN_JOB_SUBMIT, 0x30, "job_submit") \
	/* str job id, u32 wait_ms (answer early only when the job ends) => jobinfo */ \
	X(CN_JOB_STATUS, 0x31, "job_status") \
	/* - => u32 n, n x jobinfo (newest last) */ \
	X(CN_JOB_LIST, 0x32, "job_list") \
	/* str job id => - */ \
	X(CN_JOB_KILL, 0x33, "job_kill") \
	/* str job id, i32 task (-1: every task) => u32 n, n x attemptlog */ \
	X(CN_JOB_LOGS, 0x34, "job_logs") \
	/* str path, str user name => str where it went (in /user/NAME/.Trash/Current); \
	   PROTO_E_NOTSUP when the trash is off (trash_interval 0): delete it instead */ \
	X(CN_TRASH, 0x35, "trash") \
	/* u8 start (1: take a new snapshot) => u32 n, n records (u32 key length, key, \
	   u32 value length, value: the namespace's, in key order), u8 more; the superuser \
	   only; the snapshot lives with the connection (common/backup.h has the file) */ \
	X(CN_BACKUP, 0x36, "backup") \
	/* u64 block id, u64 genstamp, u8 modes (TOKEN_*) => token (a fresh one, for a \
	   block the caller may read, or write, now) */ \
	X(CN_BLOCK_TOKEN, 0x37, "block_token") \
	/* - => u32 heartbeat_interval_ms, u32 stale_node_timeout_ms, u32 dead_node_timeout_ms, \
	   u32 n, n x (str id, str addr, u8 state (PROTO_DN_*)): the cluster's liveness \
	   settings, which clients' datanode deadlines follow, and the nodes that are not \
	   live now, which clients stop reading from and writing to at once */ \
	X(CN_LIVENESS, 0x38, "liveness")

/*
 * client -> namenode, addressed by inode: the mount's calls (libfuse's low-level API).
 * A name is `at`: u64 directory inode, str name (1..255 bytes, no '/', not "." or
 * ".."); a file is its u64 inode. No path is resolved, so only the kernel limits how
 * deep a file may be. Permissions: the caller's search permission on the directories
 * above was checked by the lookups that led it there, as in any POSIX file system;
 * each call checks the directory or inode it names (search to look up, read to list,
 * write and search to add or remove a name, the sticky bit's rule, the owner for
 * setattr). Inode numbers are never reused, so one names one file for ever.
 */
#define PROTO_CN_INODE_MESSAGES(X) \
	/* at => attr */ \
	X(CN_LOOKUP, 0x70, "lookup") \
	/* u64 ino => attr */ \
	X(CN_GETATTR, 0x71, "getattr") \
	/* u64 ino => str target */ \
	X(CN_READLINK_INO, 0x72, "readlink_ino") \
	/* u64 ino, then CN_SETATTR's fields after its path => attr */ \
	X(CN_SETATTR_INO, 0x73, "setattr_ino") \
	/* at, u32 mode [ids] => attr */ \
	X(CN_MKDIR_AT, 0x74, "mkdir_at") \
	/* at, then CN_CREATE's fields after its path => attr */ \
	X(CN_CREATE_AT, 0x75, "create_at") \
	/* at, u8 type (PROTO_T_*), u32 mode, u32 rdev [ids] => attr */ \
	X(CN_MKNOD_AT, 0x76, "mknod_at") \
	/* at, str target [ids] => attr */ \
	X(CN_SYMLINK_AT, 0x77, "symlink_at") \
	/* u64 ino, at (its new name) => attr */ \
	X(CN_LINK_AT, 0x78, "link_at") \
	/* at, u8 flags (PROTO_DELETE_DIR: rmdir; PROTO_DELETE_KEEP: the caller has the \
	   file open, so losing its last name it is kept until the caller's CN_RECLAIM or \
	   until the connection closes) => attr (the inode as the name left it: nlink 0 \
	   when that was its last name) */ \
	X(CN_UNLINK_AT, 0x79, "unlink_at") \
	/* at (source), at (target), u32 flags (PROTO_RENAME_*; PROTO_RENAME_KEEP: the \
	   caller has the target open, so a file it replaces is kept as by \
	   PROTO_DELETE_KEEP) => u64 the kept file's inode (0: none) */ \
	X(CN_RENAME_AT, 0x7a, "rename_at") \
	/* u64 dir, str start after (""), u32 max => as CN_LIST's reply */ \
	X(CN_READDIR, 0x7b, "readdir") \
	/* u64 ino, then CN_SETXATTR's fields after its path => - */ \
	X(CN_SETXATTR_INO, 0x7c, "setxattr_ino") \
	/* u64 ino, str name => u32 n, n bytes value */ \
	X(CN_GETXATTR_INO, 0x7d, "getxattr_ino") \
	/* u64 ino => u32 n, n bytes (NUL-terminated names) */ \
	X(CN_LISTXATTR_INO, 0x7e, "listxattr_ino") \
	/* u64 ino, str name => - */ \
	X(CN_REMOVEXATTR_INO, 0x7f, "removexattr_ino") \
	/* u64 ino => - (the last close of a file this connection kept with \
	   PROTO_DELETE_KEEP: it goes now) */ \
	X(CN_RECLAIM, 0x80, "reclaim") \
	/* - => u8 in a group, u32 raft id, str state (namenode/group.h; "single" out of \
	   a group), str raft role, u64 term, u64 commit index, u64 applied index, str the \
	   leader's client address. Answered by every member, leader or not. */ \
	X(CN_GROUP_STATUS, 0x81, "group_status") \
	/* u64 session (a mount's cache session, a random non-zero id its connections \
	   share) => - (namenode/callbacks.h) */ \
	X(CN_SESSION, 0x82, "session") \
	/* u64 acked (the last batch applied, 0 at first), on a connection that sent \
	   CN_SESSION => u64 batch (0: nothing), u32 n, n x (u8 PROTO_INVAL_*, u64 ino, \
	   [PROTO_INVAL_ENTRY: str name in directory ino]), u64 incarnation (random per \
	   namenode start: when it changes, the mount's holds were lost with the old \
	   process). Held up to a second while there is nothing to send. */ \
	X(CN_WATCH, 0x83, "watch") \
	/* u32 n, n x u64 ino (inodes the session's kernel no longer holds) => - */ \
	X(CN_FORGET, 0x84, "forget") \
	/* u64 ino, at, u32 mode, u16 replication (0 = inherit), u64 block size [ids] => \
	   attr. A deferred create this caller was answered with (PROTO_CREATE_DEFER), \
	   made again because the namenode lost it (a restart, a failover): inode ino is \
	   there afterwards, still deferred, unless the name was taken since (EEXIST) or \
	   the number is not one an earlier namenode handed out (ENOENT) */ \
	X(CN_RECREATE, 0x85, "recreate")

/* datanode -> namenode, on the datanode's one long-lived connection. */
#define PROTO_DN_MESSAGES(X) \
	/* str id, str addr, u64 capacity, u64 used, u64 remaining [u32 task slots, \
	   u8 flags (PROTO_DNF_*) [fslist]] => - \
	   (`fslist` is u32 n (<= PROTO_FS_MAX), n x (str file system id, u64 capacity, \
	   u64 remaining): the file systems holding its data dirs; the id (f_fsid and \
	   st_dev, "FSID:DEV" in hex) names one file system on that host, so datanodes \
	   sharing a disk count its space once) */ \
	X(DN_REGISTER, 0x40, "register") \
	/* u64 capacity, u64 used, u64 remaining, u32 xceivers [fslist] => u32 n, n x command: \
	   u8 PROTO_CMD_*, u64 block id, u64 genstamp, u64 length, u32 n, n x loc \
	   (targets) */ \
	X(DN_HEARTBEAT, 0x41, "heartbeat") \
	/* u32 n, n x (u64 id, u64 genstamp, u64 length): every finalized replica => - */ \
	X(DN_BLOCK_REPORT, 0x42, "block_report") \
	/* same layout: replicas finalized since => - */ \
	X(DN_BLOCK_RECEIVED, 0x43, "block_received") \
	/* u32 n, n x u64 id => - */ \
	X(DN_BLOCK_DELETED, 0x44, "block_deleted") \
	/* - => - (graceful stop) */ \
	X(DN_BYE, 0x45, "bye") \
	/* u32 n, n x (u64 id, u64 genstamp, u8 PROTO_BAD_*): replicas its scanner found \
	   bad => - */ \
	X(DN_BAD_BLOCK, 0x46, "dn_bad_block") \
	/* u32 n, n x task report (compute/job.h): attempts that ended, and the progress \
	   of running ones => - */ \
	X(DN_TASK_STATUS, 0x47, "task_status")

/* namenode -> datanode, unsolicited (reqid 0, no reply), on the datanode's connection. */
#define PROTO_NN_MESSAGES(X) \
	/* the heartbeat reply's command list, sent at once so recovery never waits for a \
	   heartbeat */ \
	X(NN_COMMANDS, 0x50, "commands") \
	/* u32 n, n x (u8 PROTO_TASK_START, task launch) or (u8 PROTO_TASK_KILL, \
	   str job id, u32 task, u32 attempt) */ \
	X(NN_TASKS, 0x51, "tasks") \
	/* the block keys (token.h), before the DN_REGISTER reply and at every roll: \
	   u32 n, n x (u32 key id, i64 expires_ms, raw[32] key) */ \
	X(NN_BLOCK_KEYS, 0x52, "block_keys")

/*
 * client or datanode -> datanode (data transfer). A client's request carries the
 * block's token and is refused (PROTO_E_ACCES, with why) without a valid one for that
 * block and mode; a datanode (it proved the datanode key) sends zeros there.
 */
#define PROTO_DT_MESSAGES(X) \
	/* u64 block id, u64 genstamp, u32 flags (PROTO_WRITE_*), token, u32 n, n x loc \
	   (the rest of the pipeline) => - once the whole pipeline is connected; then \
	   DT_PACKETs flow down and DT_ACKs flow back. A refusal's payload is str message, \
	   u32 index of the pipeline node that failed, counted from the receiver (0: the \
	   receiver itself; a node relaying a refusal from downstream adds one; a refusal \
	   without the index, such as a token's, is the receiver's) */ \
	X(DT_WRITE_BLOCK, 0x60, "write_block") \
	/* u64 seq, u64 offset in block, u32 data length, u8 flags (PROTO_PKT_*), u32 n, \
	   n x u32 crc32c (one per chunk), raw data */ \
	X(DT_PACKET, 0x61, "packet") \
	/* u64 seq, i32 status, u32 index of the failed pipeline node (PROTO_NO_NODE when \
	   none) */ \
	X(DT_ACK, 0x62, "ack") \
	/* u64 block id, u64 genstamp, u64 offset, u64 length, token (read) => u64 replica \
	   length; then DT_PACKETs (same reqid) from the chunk holding offset, the last one \
	   with PROTO_PKT_LAST */ \
	X(DT_READ_BLOCK, 0x63, "read_block") \
	/* u64 block id, u64 genstamp, token (write) => - once the finalized replica \
	   (data, checksums, name) is on disk */ \
	X(DT_SYNC_BLOCK, 0x64, "sync_block") \
	/* str job id, u32 map task, u32 map attempt, u32 partition, raw[32] job token \
	   (compute/fetch.h) => u64 length of that map output partition; then replies of \
	   raw bytes (same reqid), the last one empty. Refused (PROTO_E_ACCES) without the \
	   job's token, whoever the peer is */ \
	X(DT_FETCH_MAP_OUTPUT, 0x65, "fetch_map_output")

#define PROTO_ALL_MESSAGES(X) \
	PROTO_HANDSHAKE_MESSAGES(X) PROTO_CN_MESSAGES(X) PROTO_CN_INODE_MESSAGES(X) \
	PROTO_DN_MESSAGES(X) \
	PROTO_NN_MESSAGES(X) PROTO_DT_MESSAGES(X)

#define PROTO_ENUM_ENTRY_(name, id, logname) PROTO_##name = id,
enum proto_type { PROTO_ALL_MESSAGES(PROTO_ENUM_ENTRY_) };
#undef PROTO_ENUM_ENTRY_

/* Which conversation a message belongs to (its section above). */
enum proto_dir {
	PROTO_DIR_NONE = 0, /* not a message id */
	PROTO_DIR_HANDSHAKE,
	PROTO_DIR_CN, /* client -> namenode */
	PROTO_DIR_DN, /* datanode -> namenode */
	PROTO_DIR_NN, /* namenode -> datanode */
	PROTO_DIR_DT, /* client or datanode -> datanode */
};

/* The section of a message id, PROTO_DIR_NONE for an unknown one. */
enum proto_dir proto_type_dir(uint16_t type);

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
/* with CLOSED, at (CN_CREATE_AT): the namenode may answer before writing the file, and
 * write it with the caller's first change of it (one sync for a small file) or when
 * anyone observes it; until then it dies with the caller's connection (ns.h) */
#define PROTO_CREATE_DEFER 0x04

/* CN_WATCH invalidations (namenode/callbacks.h) */
#define PROTO_INVAL_ATTR 1  /* the inode's attributes (or extended attributes) changed */
#define PROTO_INVAL_DATA 2  /* ... and its contents */
#define PROTO_INVAL_ENTRY 3 /* the name in directory ino changed */
#define PROTO_INVAL_ALL 4   /* too much to list: forget every cached attribute (ino 0) */
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
#define PROTO_DELETE_KEEP 0x04 /* CN_UNLINK_AT of a file the caller has open */
#define PROTO_RENAME_NOREPLACE 0x01
#define PROTO_RENAME_EXCHANGE 0x02
#define PROTO_RENAME_KEEP 0x04 /* CN_RENAME_AT over a file the caller has open */
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
	PROTO_DN_MAINTENANCE = 6, /* stopped gracefully, within maintenance_timeout */
};

enum proto_cmd { PROTO_CMD_DELETE = 1, PROTO_CMD_REPLICATE = 2 };
/* PROTO_TASK_CLEANUP: str job id -- the job ended: remove its map outputs.
 * PROTO_TASK_MAPS: str job id, u32 map task, str node id, str addr, u32 attempt -- where
 * that map's output now is (attempt 0: lost, being run again), for the job's reducers */
enum proto_task_op {
	PROTO_TASK_START = 1,
	PROTO_TASK_KILL = 2,
	PROTO_TASK_CLEANUP = 3,
	PROTO_TASK_MAPS = 4,
};
#define PROTO_DNF_NO_EXEC 0x01 /* the datanode runs built-in filters only, no commands */

/*
 * Wire status codes: X(NAME, code, errno). Every errno a daemon may send has one (a unit
 * test scans the daemons' sources for it); the codes are fixed numbers, equal to Linux's
 * errno values, so they mean the same on any peer. proto_status()/proto_errno() are the
 * only mapping; an unknown errno goes out as PROTO_E_IO.
 */
#define PROTO_STATUSES(X) \
	X(PERM, 1, EPERM) \
	X(NOENT, 2, ENOENT) \
	X(SRCH, 3, ESRCH) \
	X(INTR, 4, EINTR) \
	X(IO, 5, EIO) \
	X(NXIO, 6, ENXIO) \
	X(2BIG, 7, E2BIG) \
	X(NOEXEC, 8, ENOEXEC) \
	X(BADF, 9, EBADF) \
	X(CHILD, 10, ECHILD) \
	X(AGAIN, 11, EAGAIN) \
	X(NOMEM, 12, ENOMEM) \
	X(ACCES, 13, EACCES) \
	X(BUSY, 16, EBUSY) \
	X(EXIST, 17, EEXIST) \
	X(XDEV, 18, EXDEV) \
	X(NODEV, 19, ENODEV) \
	X(NOTDIR, 20, ENOTDIR) \
	X(ISDIR, 21, EISDIR) \
	X(INVAL, 22, EINVAL) \
	X(NFILE, 23, ENFILE) \
	X(MFILE, 24, EMFILE) \
	X(TXTBSY, 26, ETXTBSY) \
	X(FBIG, 27, EFBIG) \
	X(NOSPC, 28, ENOSPC) \
	X(ROFS, 30, EROFS) \
	X(MLINK, 31, EMLINK) \
	X(PIPE, 32, EPIPE) \
	X(RANGE, 34, ERANGE) \
	X(DEADLK, 35, EDEADLK) \
	X(NAMETOOLONG, 36, ENAMETOOLONG) \
	X(NOLCK, 37, ENOLCK) \
	X(NOSYS, 38, ENOSYS) \
	X(NOTEMPTY, 39, ENOTEMPTY) \
	X(LOOP, 40, ELOOP) \
	X(NOMSG, 42, ENOMSG) \
	X(NODATA, 61, ENODATA) \
	X(PROTO, 71, EPROTO) \
	X(BADMSG, 74, EBADMSG) /* a checksum mismatch */ \
	X(OVERFLOW, 75, EOVERFLOW) \
	X(NOTLEADER, 78, EREMCHG) /* a follower: the payload is the leader's HOST:PORT */ \
	X(MSGSIZE, 90, EMSGSIZE) \
	X(PROTONOSUPPORT, 93, EPROTONOSUPPORT) \
	X(NOTSUP, 95, EOPNOTSUPP) \
	X(CONNRESET, 104, ECONNRESET) \
	X(NOTCONN, 107, ENOTCONN) \
	X(SHUTDOWN, 108, ESHUTDOWN) \
	X(TIMEDOUT, 110, ETIMEDOUT) \
	X(CONNREFUSED, 111, ECONNREFUSED) \
	X(HOSTUNREACH, 113, EHOSTUNREACH) \
	X(ALREADY, 114, EALREADY) \
	X(STALE, 116, ESTALE) \
	X(UCLEAN, 117, EUCLEAN) /* an older on-disk format: upgrade it first */ \
	X(DQUOT, 122, EDQUOT) \
	X(CANCELED, 125, ECANCELED)

#define PROTO_STATUS_ENTRY_(name, code, err) PROTO_E_##name = code,
enum proto_status { PROTO_OK = 0, PROTO_STATUSES(PROTO_STATUS_ENTRY_) };
#undef PROTO_STATUS_ENTRY_

/* Maps -errno (or errno) to a wire status. */
int32_t proto_status(int err);
/* Maps a wire status to -errno (0 stays 0; unknown codes become -EIO). */
int proto_errno(int32_t status);
/* strerror() for errors users see: EBADMSG reads "checksum mismatch" (a block's data
 * does not match its checksums; the only way dfs uses it). err is errno or -errno. */
const char *proto_strerror(int err);

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
