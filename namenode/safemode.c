/*
 * safemode: the namenode read-only while the replicas' whereabouts are unknown.
 * Loop thread only; no locks.
 *
 * States (server.safe_mode, server.safe_manual):
 *
 *   STARTUP (on, automatic)  after a start with blocks in the namespace
 *                            (nn_safemode_start). Replica locations are soft state:
 *                            until the datanodes report, the namenode cannot tell a
 *                            missing block from an unreported one.
 *   OFF                      nn_safemode_check (every tick and after each full block
 *                            report) leaves STARTUP once safemode_threshold of the
 *                            blocks have a reported replica, or -- so that a node gone
 *                            for good is never waited for -- once dead_node_timeout
 *                            has passed and every datanode that registered has reported.
 *   MANUAL (on)              an administrator's CN_SAFEMODE ENTER (nn_safemode_enter)
 *                            from any state; only CN_SAFEMODE LEAVE (nn_safemode_leave)
 *                            ends it, to OFF.
 *
 * While on: requests flagged NN_OP_MUTATES are refused with EROFS (the dispatcher,
 * optable.c), no replication decisions are made (nn_conn_turn_end), leases are not
 * recovered, and decommission, jobs and the trash wait (the tick, server.c).
 */
#include "server_int.h"

struct safe_count {
	const struct nn_dns *dns;
	uint64_t total, reported;
};

static void safe_count_block(void *arg, struct nn_block *b)
{
	struct safe_count *sc = arg;
	if (b->flags & NN_BLOCK_UC)
		return;
	sc->total++;
	for (uint16_t i = 0; i < b->nrep; i++)
		if (sc->dns->v[b->reps[i]].connected) {
			sc->reported++;
			return;
		}
}

void nn_safemode_count(const struct nn_server *s, uint64_t *reported, uint64_t *total)
{
	struct safe_count sc = {&s->dns, 0, 0};
	nn_blockmap_each(s->bm, safe_count_block, &sc);
	*reported = sc.reported;
	*total = sc.total;
}

void nn_safemode_start(struct nn_server *s)
{
	s->safe_mode = nn_blockmap_count(s->bm) > 0;
	s->safe_manual = false;
	if (s->safe_mode)
		log_info("in safe mode until the datanodes report their blocks");
}

void nn_safemode_enter(struct nn_server *s)
{
	s->safe_mode = s->safe_manual = true;
	log_info("safe mode entered by an administrator");
}

void nn_safemode_leave(struct nn_server *s)
{
	s->safe_mode = s->safe_manual = false;
	s->repl_dirty = true;
	log_info("safe mode left by an administrator");
}

void nn_safemode_check(struct nn_server *s)
{
	if (!s->safe_mode || s->safe_manual)
		return;
	struct safe_count sc;
	nn_safemode_count(s, &sc.reported, &sc.total);
	bool all_reported = true;
	for (uint32_t i = 0; i < s->dns.n; i++)
		if (s->dns.v[i].connected && !s->dns.v[i].reported)
			all_reported = false;
	bool enough = !sc.total || (double)sc.reported >= s->cfg.safemode_threshold *
							   (double)sc.total;
	bool waited = ev_now() - s->started > s->cfg.dead_node_timeout && all_reported;
	if (enough || waited) {
		s->safe_mode = false;
		s->repl_dirty = true;
		log_info("leaving safe mode: %llu of %llu blocks reported%s",
			 (unsigned long long)sc.reported, (unsigned long long)sc.total,
			 enough ? "" : " (stopped waiting for absent datanodes)");
	}
}
