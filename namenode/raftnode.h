/*
 * raftnode: one member of a namenode group's Raft consensus (canonical's libraft 0.15
 * with its libuv I/O and TCP transport), run on a thread of its own, and the bridge to
 * the caller's event loop: a small queue each way under one mutex and an eventfd.
 *
 * Threads: every raft_* and uv_* call happens on the raftnode thread (libuv's loop).
 * The caller's thread talks to it only through this API: raftnode_propose queues an
 * entry and wakes the raft thread (uv_async); the raft thread queues events (an entry
 * applied, a proposal's outcome) and makes raftnode_fd readable; raftnode_poll drains
 * them. raftnode_status copies a snapshot the raft thread refreshes each loop turn.
 *
 * State machine of a member (libraft's): FOLLOWER -> CANDIDATE (election timeout with
 * no leader heard) -> LEADER (a majority's votes) -> FOLLOWER (a higher term seen, or
 * the majority lost for an election timeout). Entries: proposed on the leader only
 * (-ENOTCONN elsewhere, with the leader's address in the status); a proposal ends in one
 * RAFTNODE_EV_DONE event, status 0 once a majority has it durably (libraft fsyncs its
 * own log in `dir`) and it is applied, or an error (leadership lost: the entry may
 * still be committed by the next leader). Every committed entry, from any leader, is
 * handed out once per process in index order as RAFTNODE_EV_APPLY; after a restart the
 * log is replayed from its start (or the last snapshot), so the consumer keeps its own
 * applied index durably and skips entries at or below it.
 *
 * On disk each entry is a u64 length (host byte order: the members of a group share an
 * architecture), the caller's bytes and zero padding to 8 bytes, as libraft's segment
 * format needs; APPLY events hand back the caller's bytes only.
 *
 * Not built yet: snapshots (the threshold is set so high that the log is never
 * compacted) and membership changes (the group is fixed at its first start).
 */
#ifndef DFS_RAFTNODE_H
#define DFS_RAFTNODE_H

#include <stddef.h>
#include <stdint.h>

#define RAFTNODE_MAX 9 /* members */

struct raftnode_opts {
	uint64_t id;       /* this member: 1..n, its position in addrs plus one */
	const char *dir;   /* where libraft keeps its log and metadata (created) */
	int n;             /* members */
	const char *addrs[RAFTNODE_MAX]; /* each member's raft HOST:PORT (IPv4) */
	unsigned election_ms;  /* election timeout (0: 1000); heartbeats at a tenth */
};

enum raftnode_role { RAFTNODE_DOWN = 0, RAFTNODE_FOLLOWER, RAFTNODE_CANDIDATE, RAFTNODE_LEADER };

struct raftnode_status {
	enum raftnode_role role;
	uint64_t term, commit_index, applied_index;
	uint64_t leader_id; /* 0: none known */
	char leader_addr[256];
};

enum raftnode_ev_kind { RAFTNODE_EV_APPLY = 1, RAFTNODE_EV_DONE };

struct raftnode_event {
	enum raftnode_ev_kind kind;
	uint64_t index; /* APPLY: the entry's log index */
	void *data;     /* APPLY: the entry (the caller frees it with free()) */
	size_t len;
	uint64_t tag;   /* DONE: raftnode_propose's tag */
	int status;     /* DONE: 0 or -errno */
};

struct raftnode;

/* Starts the member: bootstraps the group on the first start in dir, then runs. */
int raftnode_start(const struct raftnode_opts *o, struct raftnode **out);
/* Readable while events wait (level: read it empty with raftnode_poll). */
int raftnode_fd(const struct raftnode *rn);
/* Queues an entry (copied) for the log; its outcome comes as a DONE event with tag. */
int raftnode_propose(struct raftnode *rn, const void *data, size_t len, uint64_t tag);
/* Takes the next event: 1, or 0 when none waits. Clears the eventfd when empty. */
int raftnode_poll(struct raftnode *rn, struct raftnode_event *ev);
void raftnode_status(struct raftnode *rn, struct raftnode_status *st);
const char *raftnode_role_name(enum raftnode_role r);
/* Stops the raft thread (closing libraft cleanly) and frees everything. */
void raftnode_stop(struct raftnode *rn);

#endif
