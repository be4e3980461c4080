/*
 * server_int: the namenode server's private header (Redis's server.h, SQLite's
 * sqliteInt.h): the state shared by the server's files, and the functions they call in
 * each other. Everything here runs on the loop thread only; nothing is locked.
 * server.h is the public API (start, run, stop, free, the test hook).
 *
 * Layout of the server:
 *   server.c       lifecycle (start, free, the test hook), the periodic tick, and the
 *                  helpers every request family uses (credentials, block release,
 *                  block tokens)
 *   conn.c         connections: accept, TLS and dfs handshakes, framing, deadlines,
 *                  replies, the end-of-turn group-commit flush, close
 *   optable.c      the request table {type, handler, flags} and the dispatcher, which
 *                  enforces safe mode, the caller's role and privilege from it
 *   op_files.c     files and directories: create, blocks, stat, list, rename, delete...
 *   op_posix.c     the POSIX calls of the mount: setattr, symlink, readlink, link, mknod
 *   op_inode.c     the same calls addressed by inode, for the mount (no path resolved)
 *   op_xattr.c     extended attributes (by path or by inode) and file locks
 *   op_admin.c     statfs, report, fsck, safe mode, decommission, trash, backup
 *   op_datanode.c  the datanodes' requests: register, heartbeat, block reports...
 *   op_jobs.c      the compute jobs' requests and the CN_JOB_STATUS waiters
 *   lease.c        writers' leases and their recovery (state machine at its top)
 *   safemode.c     safe mode (state machine at its top)
 *   status.c       the status page, /api/status and /metrics
 */
#ifndef DFS_NN_SERVER_INT_H
#define DFS_NN_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "blockmap.h"
#include "callbacks.h"
#include "buf.h"
#include "cfg.h"
#include "datanodes.h"
#include "ev.h"
#include "jobs.h"
#include "locks.h"
#include "log.h"
#include "ns.h"
#include "pack.h"
#include "perm.h"
#include "proto.h"
#include "replication.h"
#include "server.h"
#include "token.h"

struct http;

/* ---------- state ---------- */

/* NN_CONN_TLS: the TLS handshake (tls.h; only with TLS on), then the dfs handshake */
enum nn_conn_state { NN_CONN_TLS, NN_CONN_HANDSHAKE, NN_CONN_READY };

struct nn_conn {
	int fd;
	enum nn_conn_state state;
	struct auth_server auth;
	struct auth_peer peer;
	struct nn_cred cred; /* who the peer is, for permission checks (perm.h) */
	struct buf in, out;
	size_t safe;      /* bytes of out that may be written */
	bool queued;      /* in the server's flush list */
	bool closing;     /* close once out is written */
	bool said_bye;
	double accepted;    /* ev_now() at accept: the handshake deadline runs from here */
	double frame_since; /* a frame has been arriving since then (0: none pending) */
	int dn;           /* datanode index when a datanode's control channel, else -1 */
	char peer_addr[64], peer_host[64];
	uint64_t *writing; /* inodes this client created and has not completed: its leases */
	uint32_t nwriting, capwriting;
	uint64_t id;       /* unique per connection: its lock session */
	uint64_t *pending; /* blocks from CN_ALLOC_BLOCK not yet used by a CN_UPDATE */
	struct nn_ns_dump *dump; /* a backup being read (CN_BACKUP) */
	uint32_t npending, cappending;
	uint64_t *kept; /* files unlinked while this client had them open (CN_RECLAIM) */
	uint32_t nkept, capkept;
	/* cache callbacks (callbacks.h): this connection's session slot (-1: none); the
	 * watcher, whose CN_WATCH replies never wait; replies held for invalidations */
	int cb_slot;
	bool cb_watcher, cb_held;
	size_t cb_len; /* with cb_held: out's first cb_len bytes wait for the acks */
	uint64_t wait_tag; /* group: out's first wait_len bytes wait for this entry */
	size_t wait_len;
	struct nn_conn *prev, *next;
};

/* A writer's connection closed with the file still open: recovered at `deadline`. */
struct nn_orphan {
	uint64_t ino;
	double deadline;
};

struct nn_server {
	struct cfg cfg;
	struct auth_keys keys;
	struct token_keys tokens; /* block keys (token.h), rolled by on_tick */
	struct ev_loop *loop;
	int lfd;
	struct nn_ns *ns;
	struct nn_rc *rc;           /* first replies of mutating calls (retrycache.h) */
	struct nn_group *group;     /* a namenode group's member, or NULL (group.h) */
	struct nn_blockmap *bm;
	struct nn_dns dns;
	struct nn_conn *conns;
	uint32_t nconns;
	struct nn_conn **flush;
	size_t nflush, capflush;
	struct nn_conn **dn_conn; /* by datanode index */
	uint32_t dn_conn_cap;
	double last_sync;
	uint32_t nunauth; /* connections still in the handshake */
	double trash_last; /* the last trash checkpoint (trash.h) */
	struct log_limit reject_log;
	struct nn_repl *repl;
	bool repl_dirty;       /* something changed that may need copies or deletions */
	double repl_last;      /* last scheduling pass */
	struct nn_orphan *orphans;  /* leases of writers that went away (lease.c) */
	uint32_t norphans, caporphans;
	bool safe_mode;        /* read-only, no replication decisions (safemode.c) */
	bool safe_manual;      /* entered by an administrator: left only by one */
	double started;
	uint64_t rpc_count[256];
	double rpc_seconds[256];  /* time spent handling each request type */
	uint64_t heartbeats;
	struct http *http;        /* status page and metrics, or NULL */
	struct nn_locks locks;
	uint64_t next_conn_id;
	/* set by a handler whose success lives in its connection only (a deferred create,
	 * a block handed out): no retry-cache record, since a retry comes on another
	 * connection, where the first outcome is gone, and must run anew */
	bool rc_skip;
	struct nn_cb *cb;                        /* the mounts' cache callbacks */
	struct nn_conn *cb_watch[NN_CB_SESSIONS]; /* each session's waiting CN_WATCH */
	uint32_t cb_nheld;                       /* connections with cb_held */
	struct nn_jobs *jobs;
	struct nn_waiter *waiters; /* CN_JOB_STATUS calls waiting for their job to end */
	uint32_t nwaiters, capwaiters;
};

/* A client waiting (CN_JOB_STATUS with wait_ms) for a job to end. */
struct nn_waiter {
	struct nn_conn *c;
	uint64_t reqid;
	char job[JOB_ID_MAX + 1];
	double deadline;
};

/* Rejected peers are logged at a bounded rate (common/log.h). */
#define log_reject(s, ...) log_warn_limited(&(s)->reject_log, __VA_ARGS__)


/* The signature of every request handler: s and c borrowed; u reads h's payload. */
typedef void nn_op_fn(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		      struct unpack *u);

/* Loads what serving needs from the namespace: the retry cache, the block list, the
 * leases of open files; a group's new leader also starts safe mode (server.c). */
int nn_server_load(struct nn_server *s);

/* ---------- conn.c: connections and replies ---------- */

/* A namenode group's entry `tag` (and every one before it) is committed: the replies
 * that waited for it may go. */
void nn_conn_settled(struct nn_server *s, uint64_t tag);

/* Puts c in the list flushed at the end of the turn (nn_conn_turn_end). */
void nn_conn_queue(struct nn_server *s, struct nn_conn *c);
/* Takes c out of the flush list (c is about to go without being flushed). */
void nn_conn_unqueue(struct nn_server *s, struct nn_conn *c);
/* Queues the reply to h with payload (borrowed). */
void nn_reply(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
	      const struct buf *payload);
/* Queues a success reply without payload. */
void nn_reply_ok(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h);
/* Queues an error reply: status from rc (-errno), the message from fmt (NULL: none). */
void nn_reply_err(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h, int rc,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same with header flags (PROTO_F_RETRY_LATER). */
void nn_reply_err_flags(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			uint16_t flags, int rc, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Appends the wire `attr` of a (proto.h). */
void nn_pack_attr(struct buf *b, const struct nn_attr *a);
/* Queues a reply carrying a's attr. */
void nn_reply_attr(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   const struct nn_attr *a);
/* Queues the attr of a when rc is 0, else the error rc without a message. */
void nn_reply_attr_or_err(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			  int rc, const struct nn_attr *a);
/* The same, then (on success) the attributes of directory dir as the change left it:
 * the reply of a call that adds or removes a name there (the mount answers the
 * kernel's next GETATTR of the directory from it). */
void nn_reply_attr_dir(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		       int rc, const struct nn_attr *a, uint64_t dir);
/* Queues a success reply without payload when rc is 0, else the error rc without a
 * message. */
void nn_reply_ok_or_err(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			int rc);
/* Handles one whole frame of c: the handshake's AUTH, then requests (nn_dispatch). */
void nn_conn_frame(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   const void *payload);
/* The largest frame c may send in its current state and role. */
uint32_t nn_conn_max_frame(const struct nn_conn *c);
/* Forgets what c held: leases, allocated blocks, locks, waiters, its datanode. */
void nn_conn_release(struct nn_server *s, struct nn_conn *c);
/* Releases, unlinks and frees c (and closes its socket). */
void nn_conn_close(struct nn_server *s, struct nn_conn *c);
/* Closes connections past the handshake or frame deadlines. */
void nn_conn_check_deadlines(struct nn_server *s);
/* Watches s->lfd for connections and hooks nn_conn_turn_end to the end of each loop
 * turn; returns 0 or -errno. */
int nn_conn_listen(struct nn_server *s);
/* End of a loop turn: replication pass, datanode commands, waiters, the namespace
 * sync, and only then the turn's replies (group commit). */
void nn_conn_turn_end(struct nn_server *s);

/* ---------- server.c: shared by the request families ---------- */

/* nn_server_inject (server.h) that also appends every frame the server sent on the
 * connection (replies, and unsolicited frames to a datanode) to replies (borrowed;
 * may be NULL). For the unit tests of the dispatcher. */
int nn_server_inject_replies(struct nn_server *s, uint8_t role, uint32_t uid,
			     const uint8_t *bytes, size_t len, struct buf *replies);

/* The caller's identity for permission checks (perm.h) and privileged requests
 * (NN_OP_SUPER): super when uid 0, the `superuser` setting's uid, a datanode, or any
 * caller with permissions off. The one superuser rule of the namenode. */
struct nn_cred nn_cred_of(const struct nn_server *s, const struct auth_peer *p);
/* Replies with rc and returns true when a permission check (perm.h) failed (rc != 0). */
bool nn_denied(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h, int rc);
/* Replies -EPROTO "malformed request" and returns true when decoding the request in u
 * failed (its sticky error is set). */
bool nn_malformed(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		  const struct unpack *u);
/* Forgets blocks no file uses and tells their holders to delete them; frees freed. */
void nn_release_blocks(struct nn_server *s, struct nn_blocks *freed);
/* Records the datanodes ("u32 n, n x str id" in u) a client says stored block id
 * (its pipeline acked), with length len; finished clears under-construction. */
int nn_note_stored(struct nn_server *s, struct unpack *u, uint64_t id, uint64_t len,
		   bool finished);
/* Appends the wire `loc` of datanode d. */
void nn_pack_loc(struct buf *p, const struct nn_dn *d);
/* Appends a block token for (id, gs) in modes (TOKEN_*), minted for c's user. */
void nn_pack_token(struct nn_server *s, struct buf *p, const struct nn_conn *c, uint64_t id,
		   uint64_t gs, uint8_t modes);
/* Queues the block keys to datanode connection c (an unsolicited NN_BLOCK_KEYS). */
void nn_send_block_keys(struct nn_server *s, struct nn_conn *c);

/* ---------- lease.c: writers' leases (states at the top of lease.c) ---------- */

/* c now holds the lease of ino (it created the file). */
void nn_lease_add(struct nn_conn *c, uint64_t ino);
/* c gave the lease of ino up (it completed the file). */
void nn_lease_drop(struct nn_conn *c, uint64_t ino);
/* c is going away: each file it still writes becomes an orphan, recovered after
 * lease_timeout. */
void nn_lease_orphan_all(struct nn_server *s, struct nn_conn *c);
/* ino has no writer any more (a file under construction found at start-up): recovered
 * after lease_timeout. */
void nn_lease_orphan(struct nn_server *s, uint64_t ino);
/* Closes the orphans whose time came (not in safe mode). */
void nn_lease_recover(struct nn_server *s);

/* ---------- safemode.c: safe mode (states at the top of safemode.c) ---------- */

/* After the namespace is loaded: safe mode when there are blocks to wait for. */
void nn_safemode_start(struct nn_server *s);
/* Leaves the start-up safe mode once enough blocks have reported replicas. */
void nn_safemode_check(struct nn_server *s);
/* An administrator's safe mode: entered, or left, until the next command. */
void nn_safemode_enter(struct nn_server *s);
void nn_safemode_leave(struct nn_server *s);
/* Counts the finished blocks and those with a replica on a connected datanode. */
void nn_safemode_count(const struct nn_server *s, uint64_t *reported, uint64_t *total);

/* ---------- status.c: status page, /api/status, /metrics ---------- */

/* Cluster totals: space on the live datanodes, and (blocks) block health. */
struct nn_totals {
	uint64_t capacity, used, remaining;
	uint64_t under, corrupt, missing;
	const struct nn_dns *dns;
};
void nn_totals(struct nn_server *s, struct nn_totals *t, bool blocks);
/* The HTTP callback (http.h): "/", "/api/status", "/metrics"; arg is the server. */
int nn_status_render(void *arg, const char *path, struct buf *body, const char **ctype);

/* ---------- the request families' helpers ---------- */

/* op_posix.c: the owner of a new inode: the optional trailing [ids] of u honoured from
 * a root client, else the peer itself. */
void nn_new_owner(const struct nn_conn *c, struct unpack *u, uint32_t *uid, uint32_t *gid);
/* op_files.c: changes a file's replication (its blocks follow) or a directory's
 * default; a receives the new attributes. */
int nn_set_replication(struct nn_server *s, uint64_t ino, uint16_t repl, struct nn_attr *a);
/* op_files.c: releases the blocks c allocated (CN_ALLOC_BLOCK) and never used. */
void nn_pending_release(struct nn_server *s, struct nn_conn *c);
/* What a request that stats one inode replies with, given its attributes
 * (nn_reply_attr, nn_readlink_reply). */
typedef void (*nn_attr_reply_fn)(struct nn_server *s, struct nn_conn *c,
				 const struct proto_hdr *h, const struct nn_attr *a);
/* op_files.c: stats path (or inode ino when path is NULL) and replies with reply, or
 * with the error. */
void nn_stat_reply(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   const char *path, uint64_t ino, nn_attr_reply_fn reply);
/* op_files.c: CN_STAT and CN_READLINK, whose request is "str path": decodes it, checks
 * that the caller may look the path up, then nn_stat_reply. */
void nn_stat_path_reply(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
			struct unpack *u, nn_attr_reply_fn reply);
/* op_files.c: the caller may access inode ino as want (perm.h), or the inode is not
 * there (the operation reports that): 0, else -EACCES. */
int nn_perm_ino(struct nn_server *s, struct nn_conn *c, uint64_t ino, int want);
/* What CN_CREATE and CN_CREATE_AT carry after the path or (dir, name): u32 mode, u8
 * flags (PROTO_CREATE_*), u16 replication, u64 block size, str client, then the
 * optional owner (nn_new_owner). */
struct nn_create_req {
	uint32_t mode;
	uint8_t flags;
	uint16_t repl;
	uint64_t bs;
	char client[256]; /* decoded, not used */
	uint32_t uid, gid;
};
/* op_files.c: decodes that part of u into r (nn_malformed tells whether it was whole). */
void nn_unpack_create(const struct nn_conn *c, struct unpack *u, struct nn_create_req *r);
/* op_files.c: the rest of CN_CREATE and CN_CREATE_AT once decoded and permitted:
 * checks replication and block size, creates path (or name in dir when path is NULL),
 * takes the lease (or closes the file with PROTO_CREATE_CLOSED) and replies. */
void nn_create_reply(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		     const char *path, uint64_t dir, const char *name,
		     const struct nn_create_req *r);
/* op_files.c: replies to CN_LIST or CN_READDIR: up to max entries of directory path
 * (or inode dir when path is NULL) after `after`. */
void nn_list_reply(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		   const char *path, uint64_t dir, const char *after, uint32_t max);
/* op_files.c: replies to CN_RENAME or CN_RENAME_AT that returned rc: success, or the
 * error (-EINVAL: a directory moved into itself, said so). */
void nn_rename_reply(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h, int rc);
/* op_posix.c: replies to CN_READLINK or CN_READLINK_INO of a: its target, or -EINVAL
 * when a is not a symlink. */
void nn_readlink_reply(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		       const struct nn_attr *a);
/* op_admin.c: marks decommissioning nodes done once their blocks are safe elsewhere. */
void nn_check_decommission(struct nn_server *s);
/* op_datanode.c: datanode i is dead: forget its replicas and its tasks (nn_dns_check's
 * callback; arg is the server). */
void nn_on_dn_dead(void *arg, uint32_t i);
/* op_datanode.c: sends every datanode its queued commands now. */
void nn_push_commands(struct nn_server *s);
/* op_jobs.c: answers the CN_JOB_STATUS waiters whose job ended or whose wait is over;
 * with closing, drops closing's waiters unanswered instead. */
void nn_answer_waiters(struct nn_server *s, struct nn_conn *closing);

/* ---------- the request handlers (one per request type) ---------- */

/* op_files.c */
nn_op_fn nn_op_mkdir, nn_op_create, nn_op_add_block, nn_op_complete, nn_op_abandon,
	nn_op_get_blocks, nn_op_stat, nn_op_list, nn_op_rename, nn_op_delete, nn_op_setrep,
	nn_op_alloc_block, nn_op_update, nn_op_file_blocks, nn_op_block_token;
/* op_posix.c */
nn_op_fn nn_op_setattr, nn_op_symlink, nn_op_readlink, nn_op_link, nn_op_mknod;
/* op_xattr.c */
nn_op_fn nn_op_setxattr, nn_op_getxattr, nn_op_listxattr, nn_op_removexattr, nn_op_lock;
/* op_inode.c */
nn_op_fn nn_op_lookup, nn_op_getattr, nn_op_readlink_ino, nn_op_setattr_ino, nn_op_mkdir_at,
	nn_op_create_at, nn_op_mknod_at, nn_op_symlink_at, nn_op_link_at, nn_op_unlink_at,
	nn_op_rename_at, nn_op_readdir, nn_op_reclaim, nn_op_recreate;
/* conn.c: writes what of c->out is safe (c may be freed: a closing connection). */
void nn_conn_flush(struct nn_server *s, struct nn_conn *c);
/* op_callbacks.c */
nn_op_fn nn_op_session, nn_op_watch, nn_op_forget;
/* op_callbacks.c: the session of c (may be none) now holds inode ino. */
void nn_cb_seen(struct nn_server *s, const struct nn_conn *c, uint64_t ino);
/* op_callbacks.c: c is closing: its session loses a connection (and its watch). */
void nn_cb_conn_release(struct nn_server *s, struct nn_conn *c);
/* op_callbacks.c, at a turn's end after the sync: queues the invalidations of changes
 * made outside calls, answers the CN_WATCH calls that are due, and tells whether the
 * turn's replies must wait for acknowledgements; releases held replies when not. */
bool nn_cb_turn_end(struct nn_server *s);
/* op_inode.c: the files c kept open past their last name go now (c is closing). */
void nn_kept_release(struct nn_server *s, struct nn_conn *c);
/* op_inode.c: start-up: every kept file goes (no client's open survives a restart). */
void nn_kept_reclaim_all(struct nn_server *s);
/* op_admin.c */
nn_op_fn nn_op_statfs, nn_op_report, nn_op_liveness, nn_op_fsck, nn_op_safemode,
	nn_op_decommission, nn_op_trash, nn_op_backup, nn_op_group_status;
/* op_datanode.c */
nn_op_fn nn_op_bad_block, nn_op_register, nn_op_heartbeat, nn_op_block_report,
	nn_op_block_received, nn_op_block_deleted, nn_op_dn_bad_block, nn_op_task_status,
	nn_op_bye;
/* op_jobs.c */
nn_op_fn nn_op_job_submit, nn_op_job_status, nn_op_job_list, nn_op_job_kill,
	nn_op_job_logs;

/* ---------- optable.c: the request table and the dispatcher ---------- */

/* What a request does to the namenode's state: every entry has exactly one of these. */
#define NN_OP_READS 0x01   /* changes nothing durable */
#define NN_OP_MUTATES 0x02 /* changes the namespace: refused in safe mode (EROFS) */
#define NN_OP_SAFE_OK 0x04 /* changes state, and runs in safe mode too (optable.c: why) */
/* Who may send it. */
#define NN_OP_DATANODE 0x10   /* datanodes only; others get ENOSYS, as for unknown types */
#define NN_OP_REGISTERED 0x20 /* only after DN_REGISTER on this connection (EPERM) */
#define NN_OP_SUPER 0x40      /* the superuser only (nn_cred_of), or needs_super says when */
#define NN_OP_CLIENT 0x80     /* clients only (EPERM with `denied`) */

/* One request type: its handler and the policy nn_dispatch enforces before calling it. */
struct nn_op {
	uint16_t type;    /* PROTO_CN_* or PROTO_DN_* */
	const char *name; /* the constant's name, "PROTO_CN_MKDIR" */
	nn_op_fn *fn;
	uint32_t flags;   /* NN_OP_* */
	/* with NN_OP_SUPER: whether this request needs the superuser (NULL: every one);
	 * u is the payload, unread (a copy may be decoded) */
	bool (*needs_super)(const struct unpack *u);
	const char *denied; /* the EPERM message for NN_OP_SUPER and NN_OP_CLIENT */
};

/* The entry for a request type, or NULL when the namenode does not serve it. */
const struct nn_op *nn_optable_lookup(uint16_t type);
/* The table's i-th entry, or NULL past the end (for walking the table: tests). */
const struct nn_op *nn_optable_at(size_t i);
/* Handles request h of c (READY): looks it up, enforces its flags (optable.c says how),
 * calls its handler and counts and times it (rpc_count, rpc_seconds). */
void nn_dispatch(struct nn_server *s, struct nn_conn *c, const struct proto_hdr *h,
		 const void *payload);

#endif
