/*
 * group: the namenode as one member of a replicated group (namenode high availability).
 * The namespace's durable record is the group's Raft log (raftnode.h): each loop turn's
 * merged LevelDB batch is one entry (replog.h), and its replies leave only once a
 * majority has the entry on disk. Only the leader serves.
 *
 * Settings: raft_id (this member, 1..n), raft_addrs (every member's Raft HOST:PORT, in
 * member order), namenodes (every member's client HOST:PORT, same order: a follower
 * names the leader by it), election_timeout. Without raft_addrs there is no group
 * and nothing here runs: the namenode syncs LevelDB itself, as always.
 *
 * States of a member:
 *   FOLLOWER   (also candidate) applies every committed entry to its LevelDB with the
 *              entry's index (replog_apply), and answers every request NOT_LEADER with
 *              the leader's client address ("" while none is known). Keeps no soft
 *              state: no datanodes, leases or jobs.
 *   PROMOTING  Raft made it leader: it proposes an empty entry and waits until it is
 *              applied (so is everything before it); on a group's first leadership it
 *              then proposes its freshly formatted records (the "format entry", key "G"
 *              marks it done) so that every member starts from the same root.
 *   LEADER     loads what a start loads (counters, block list, leases of open files,
 *              retry cache; safe mode until datanodes report) and serves. Its own
 *              entries are already in its LevelDB: applying them writes the index only.
 *   -> a proposal fails or leadership is lost: the process runs itself again (exec),
 *              since its LevelDB may hold changes of entries that never committed.
 *
 * The LEADER marker (name_dir/LEADER): created before a member serves, removed at a
 * stop with nothing in flight. A start that finds it destroys the namespace's LevelDB,
 * formats it empty and rebuilds it from the log, which libraft replays from its first
 * entry (no snapshots yet: the log is never compacted).
 *
 * Threads: the namenode loop's; libraft runs on raftnode's own thread.
 */
#ifndef DFS_NN_GROUP_H
#define DFS_NN_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "raftnode.h"

struct nn_server;
struct nn_group;

/* True when cfg makes this namenode a group member. */
bool nn_group_configured(const struct cfg *cfg);
/* Before the namespace is opened: checks the settings, and rebuilds a former leader's
 * LevelDB (see above). 0 or -errno (logged). */
int nn_group_prepare(const struct cfg *cfg);
/* Starts the member on s's loop; s->ns is open. */
int nn_group_start(struct nn_server *s, struct nn_group **out);
void nn_group_stop(struct nn_group *g);
/* True when this member serves (LEADER); always true without a group. */
bool nn_group_serving(const struct nn_group *g);
/* The leader's client address for a NOT_LEADER reply ("" when none is known). */
const char *nn_group_leader(struct nn_group *g);
/* End of a loop turn: the turn's batch goes to the log. */
void nn_group_turn_end(struct nn_group *g);
/* The proposal replies queued now must wait for (0: none in flight). */
uint64_t nn_group_unsettled(const struct nn_group *g);
/* Role changes (from the server's tick). */
void nn_group_tick(struct nn_group *g);
/* This member's state, for status pages. */
void nn_group_status(struct nn_group *g, struct raftnode_status *st, const char **state);

#endif
