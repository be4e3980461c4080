/* replication: re-replication and excess deletion. Loop thread only; see replication.h. */
#include "replication.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "log.h"
#include "pack.h"

struct pending {
	uint64_t block;
	uint32_t source, target;
	double deadline;
};

struct avoid {
	uint64_t block;
	uint32_t dn;
	double until;
};

struct nn_repl {
	struct pending *v;
	uint32_t n, cap;
	struct avoid *av; /* nodes that held a bad copy (nn_repl_avoid), oldest first */
	uint32_t nav, avcap;
};

struct cand {
	struct nn_block *b;
	uint32_t live;
};

struct nn_repl *nn_repl_new(void)
{
	struct nn_repl *r = calloc(1, sizeof *r);
	if (!r)
		abort();
	return r;
}

void nn_repl_free(struct nn_repl *r)
{
	if (!r)
		return;
	free(r->v);
	free(r->av);
	free(r);
}

uint32_t nn_repl_pending(const struct nn_repl *r) { return r->n; }

void nn_repl_avoid(struct nn_repl *r, uint64_t id, uint32_t dn, double now)
{
	uint32_t keep = 0;
	for (uint32_t i = 0; i < r->nav; i++) /* drop the expired and any older note */
		if (r->av[i].until > now && !(r->av[i].block == id && r->av[i].dn == dn))
			r->av[keep++] = r->av[i];
	r->nav = keep;
	if (r->nav >= NN_REPL_AVOID_MAX) {
		memmove(r->av, r->av + 1, (r->nav - 1) * sizeof *r->av);
		r->nav--;
	}
	if (ALLOC_GROW(r->av, r->nav + 1, r->avcap))
		abort();
	r->av[r->nav++] = (struct avoid){id, dn, now + NN_REPL_AVOID_SECS};
}

/* Adds the nodes to avoid for block id to exclude (up to max entries). */
static uint32_t avoided_for(const struct nn_repl *r, uint64_t id, double now,
			    uint32_t *exclude, uint32_t n, uint32_t max)
{
	for (uint32_t i = 0; i < r->nav && n < max; i++)
		if (r->av[i].block == id && r->av[i].until > now)
			exclude[n++] = r->av[i].dn;
	return n;
}


/* Can serve as a copy's source. */
static bool is_live(const struct nn_dn *n)
{
	return n->connected && n->reported && n->state != PROTO_DN_DEAD;
}

/* Counts toward a block's replication (a node being decommissioned does not). */
static bool counts(const struct nn_dn *n)
{
	return is_live(n) && !n->decommission;
}

void nn_repl_count(const struct nn_block *b, const struct nn_dns *dns, double now,
		   uint32_t *live, uint32_t *maint)
{
	*live = *maint = 0;
	for (uint16_t i = 0; i < b->nrep; i++) {
		const struct nn_dn *n = &dns->v[b->reps[i]];
		if (counts(n))
			(*live)++;
		else if (nn_dn_in_maintenance(n, now))
			(*maint)++;
	}
}

static uint32_t pending_for(const struct nn_repl *r, uint64_t id, uint32_t *targets,
			    uint32_t max)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < r->n; i++)
		if (r->v[i].block == id && k < max)
			targets[k++] = r->v[i].target;
	return k;
}

static void add_pending(struct nn_repl *r, uint64_t block, uint32_t source, uint32_t target,
			double deadline)
{
	if (ALLOC_GROW(r->v, r->n + 1, r->cap))
		abort();
	r->v[r->n++] = (struct pending){block, source, target, deadline};
}

static void drop_pending(struct nn_repl *r, struct nn_dns *dns, uint32_t i)
{
	struct nn_dn *src = &dns->v[r->v[i].source];
	if (src->replicating)
		src->replicating--;
	r->v[i] = r->v[--r->n];
}

bool nn_repl_arrived(struct nn_repl *r, struct nn_dns *dns, uint64_t id, uint32_t dn)
{
	for (uint32_t i = 0; i < r->n; i++)
		if (r->v[i].block == id && r->v[i].target == dn) {
			drop_pending(r, dns, i);
			return true;
		}
	return false;
}

bool nn_repl_expire(struct nn_repl *r, struct nn_dns *dns, double now)
{
	bool any = false;
	for (uint32_t i = 0; i < r->n;) {
		struct pending *p = &r->v[i];
		if (p->deadline <= now || !is_live(&dns->v[p->source]) ||
		    !is_live(&dns->v[p->target])) {
			if (p->deadline <= now)
				log_warn("copy of block %llu to datanode '%s' timed out; retrying",
					 (unsigned long long)p->block, dns->v[p->target].id);
			drop_pending(r, dns, i);
			any = true;
		} else {
			i++;
		}
	}
	return any;
}

struct scan {
	struct nn_repl *r;
	struct nn_blockmap *bm;
	struct nn_dns *dns;
	double now;
	uint32_t live_nodes;
	struct cand *c;
	size_t n, cap;
	uint32_t queued;
};

/* How many of b's counted replicas sit on the same host as replica i. */
static uint32_t same_host(const struct scan *s, const struct nn_block *b, uint16_t i)
{
	uint32_t k = 0;
	const char *host = s->dns->v[b->reps[i]].host;
	for (uint16_t j = 0; j < b->nrep; j++)
		k += counts(&s->dns->v[b->reps[j]]) && !strcmp(s->dns->v[b->reps[j]].host, host);
	return k;
}

/* Deletes one excess replica: one on a host holding several (keeping the spread over
 * hosts), else the one on the fullest node. */
static void trim_excess(struct scan *s, struct nn_block *b)
{
	int victim = -1;
	uint32_t vshare = 0;
	for (uint16_t i = 0; i < b->nrep; i++) {
		struct nn_dn *n = &s->dns->v[b->reps[i]];
		if (!counts(n))
			continue;
		uint32_t share = same_host(s, b, i);
		if (victim < 0 || share > vshare ||
		    (share == vshare && n->remaining < s->dns->v[b->reps[victim]].remaining)) {
			victim = i;
			vshare = share;
		}
	}
	if (victim < 0)
		return;
	uint32_t dn = b->reps[victim];
	nn_dns_queue_delete(s->dns, dn, b->id, b->gs);
	nn_block_remove_replica(s->bm, b, dn);
	s->queued++;
}

static void examine(void *arg, struct nn_block *b)
{
	struct scan *s = arg;
	if (b->flags & NN_BLOCK_UC)
		return;
	uint32_t live, maint, pend_t[PROTO_REPL_MAX], sources = 0;
	nn_repl_count(b, s->dns, s->now, &live, &maint);
	for (uint16_t i = 0; i < b->nrep; i++)
		sources += is_live(&s->dns->v[b->reps[i]]); /* retiring nodes included */
	if (!sources)
		return; /* missing: nothing to copy from */
	uint32_t pend = pending_for(s->r, b->id, pend_t, PROTO_REPL_MAX);
	uint32_t target = b->repl < s->live_nodes ? b->repl : s->live_nodes;
	uint32_t have = live + pend + (live >= 2 ? maint : 0);
	if (have < target) {
		if (ALLOC_GROW(s->c, s->n + 1, s->cap))
			abort();
		s->c[s->n++] = (struct cand){b, live};
	} else if (live > b->repl && !pend && !maint) {
		while (live-- > b->repl)
			trim_excess(s, b);
	}
}

static int by_urgency(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	return (x->live > y->live) - (x->live < y->live);
}

uint32_t nn_repl_schedule(struct nn_repl *r, struct nn_blockmap *bm, struct nn_dns *dns,
			  double now)
{
	struct scan s = {.r = r, .bm = bm, .dns = dns, .now = now};
	for (uint32_t i = 0; i < dns->n; i++)
		s.live_nodes += counts(&dns->v[i]);
	nn_blockmap_each(bm, examine, &s);
	if (s.n)
		qsort(s.c, s.n, sizeof *s.c, by_urgency);
	for (size_t k = 0; k < s.n; k++) {
		struct nn_block *b = s.c[k].b;
		uint32_t live, maint, pend_t[PROTO_REPL_MAX];
		nn_repl_count(b, dns, now, &live, &maint);
		uint32_t pend = pending_for(r, b->id, pend_t, PROTO_REPL_MAX);
		uint32_t target = b->repl < s.live_nodes ? b->repl : s.live_nodes;
		uint32_t have = live + pend + (live >= 2 ? maint : 0);
		if (have >= target)
			continue;
		/* the least busy live holder copies it */
		int src = -1;
		for (uint16_t i = 0; i < b->nrep; i++) {
			struct nn_dn *n = &dns->v[b->reps[i]];
			if (!is_live(n) || n->state != PROTO_DN_LIVE ||
			    n->replicating >= NN_REPL_STREAMS) /* a retiring node may be a source */
				continue;
			if (src < 0 || n->replicating < dns->v[src].replicating)
				src = (int)b->reps[i];
		}
		if (src < 0)
			continue;
		uint32_t exclude[3 * PROTO_REPL_MAX], nex = 0, targets[PROTO_REPL_MAX];
		for (uint16_t i = 0; i < b->nrep && nex < PROTO_REPL_MAX; i++)
			exclude[nex++] = b->reps[i];
		for (uint32_t i = 0; i < pend; i++)
			exclude[nex++] = pend_t[i];
		uint32_t want = target - have;
		if (want > NN_REPL_STREAMS - dns->v[src].replicating)
			want = NN_REPL_STREAMS - dns->v[src].replicating;
		/* not back onto a node whose copy was bad while another can take it */
		uint32_t nav = avoided_for(r, b->id, now, exclude, nex, 3 * PROTO_REPL_MAX);
		uint32_t got = nn_dns_choose(dns, want, -1, exclude, nav, b->len, targets);
		if (!got && nav > nex)
			got = nn_dns_choose(dns, want, -1, exclude, nex, b->len, targets);
		if (!got)
			continue;
		nn_dns_queue_replicate(dns, (uint32_t)src, b->id, b->gs, b->len, targets, got);
		/* a copy moves at least ~20 MB/s even on a busy disk; allow for that */
		double deadline = now + 10 + (double)b->len / 20e6;
		for (uint32_t i = 0; i < got; i++)
			add_pending(r, b->id, (uint32_t)src, targets[i], deadline);
		dns->v[src].replicating += got;
		s.queued++;
	}
	free(s.c);
	return s.queued;
}

struct decom_check {
	const struct nn_dns *dns;
	uint32_t dn, live_nodes;
	bool safe;
};

static void decom_block(void *arg, struct nn_block *b)
{
	struct decom_check *c = arg;
	if (!c->safe || !nn_block_has_replica(b, c->dn))
		return;
	uint32_t live = 0;
	for (uint16_t i = 0; i < b->nrep; i++)
		live += counts(&c->dns->v[b->reps[i]]);
	uint32_t target = b->repl < c->live_nodes ? b->repl : c->live_nodes;
	if (live < target || !live)
		c->safe = false;
}

bool nn_repl_decommission_done(struct nn_blockmap *bm, const struct nn_dns *dns, uint32_t dn)
{
	struct decom_check c = {dns, dn, 0, true};
	for (uint32_t i = 0; i < dns->n; i++)
		c.live_nodes += counts(&dns->v[i]);
	nn_blockmap_each(bm, decom_block, &c);
	return c.safe;
}
