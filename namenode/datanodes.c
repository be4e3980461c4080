/* datanodes: the namenode's datanode table and placement. Loop thread only. */
#include "datanodes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "log.h"
#include "net.h"
#include "pack.h"

void nn_dns_init(struct nn_dns *d, double stale_timeout, double dead_timeout,
		 double maintenance_timeout)
{
	memset(d, 0, sizeof *d);
	d->stale_timeout = stale_timeout;
	d->dead_timeout = dead_timeout;
	d->maintenance_timeout = maintenance_timeout;
}

void nn_dns_free(struct nn_dns *d)
{
	for (uint32_t i = 0; i < d->n; i++)
		buf_free(&d->v[i].cmds);
	free(d->v);
	memset(d, 0, sizeof *d);
}

int nn_dns_find(const struct nn_dns *d, const char *id)
{
	for (uint32_t i = 0; i < d->n; i++)
		if (!strcmp(d->v[i].id, id))
			return (int)i;
	return -1;
}

uint32_t nn_dns_register(struct nn_dns *d, const char *id, const char *addr, double now)
{
	int found = nn_dns_find(d, id);
	uint32_t i;
	if (found >= 0) {
		i = (uint32_t)found;
	} else {
		if (ALLOC_GROW(d->v, d->n + 1, d->cap))
			abort();
		i = d->n++;
		memset(&d->v[i], 0, sizeof d->v[i]);
		buf_init(&d->v[i].cmds);
		snprintf(d->v[i].id, sizeof d->v[i].id, "%s", id);
	}
	struct nn_dn *n = &d->v[i];
	snprintf(n->addr, sizeof n->addr, "%s", addr);
	uint16_t port;
	if (net_parse_addr(addr, n->host, sizeof n->host, &port))
		snprintf(n->host, sizeof n->host, "%s", addr);
	n->state = PROTO_DN_LIVE;
	n->connected = true;
	n->last_contact = now;
	n->maintenance_until = 0;
	n->replicating = 0;
	n->reported = false;
	buf_reset(&n->cmds);
	n->ncmds = 0;
	return i;
}

void nn_dns_heartbeat(struct nn_dns *d, uint32_t i, uint64_t capacity, uint64_t used,
		      uint64_t remaining, uint32_t xceivers, double now)
{
	struct nn_dn *n = &d->v[i];
	n->capacity = capacity;
	n->used = used;
	n->remaining = remaining;
	n->xceivers = xceivers;
	n->last_contact = now;
	if (n->state == PROTO_DN_STALE || n->state == PROTO_DN_DEAD)
		n->state = PROTO_DN_LIVE;
}

void nn_dns_lost(struct nn_dns *d, uint32_t i, bool graceful, double now)
{
	struct nn_dn *n = &d->v[i];
	n->connected = false;
	n->state = PROTO_DN_DEAD;
	n->maintenance_until = graceful ? now + d->maintenance_timeout : 0;
	n->replicating = 0;
	buf_reset(&n->cmds);
	n->ncmds = 0;
}

void nn_dns_unpack_fslist(struct nn_dns *d, uint32_t i, struct unpack *u)
{
	if (!u->left)
		return;
	struct nn_dn *n = &d->v[i];
	uint32_t k = unpack_count(u, 20);
	if (k > PROTO_FS_MAX) {
		u->err = true;
		return;
	}
	for (uint32_t j = 0; j < k; j++) {
		unpack_str(u, n->fs[j].id, sizeof n->fs[j].id);
		n->fs[j].capacity = unpack_u64(u);
		n->fs[j].remaining = unpack_u64(u);
	}
	n->nfs = unpack_ok(u) ? k : 0;
}

struct fs_ref {
	const char *host, *id;
	uint64_t capacity, remaining;
};

static int by_host_fs(const void *a, const void *b)
{
	const struct fs_ref *x = a, *y = b;
	int c = strcmp(x->host, y->host);
	return c ? c : strcmp(x->id, y->id);
}

void nn_dns_space(const struct nn_dns *d, uint64_t *capacity, uint64_t *remaining)
{
	*capacity = *remaining = 0;
	size_t n = 0;
	for (uint32_t i = 0; i < d->n; i++)
		if (d->v[i].state != PROTO_DN_DEAD)
			n += d->v[i].nfs;
	struct fs_ref *v = n ? calloc(n, sizeof *v) : NULL;
	if (n && !v)
		abort();
	n = 0;
	for (uint32_t i = 0; i < d->n; i++) {
		const struct nn_dn *dn = &d->v[i];
		if (dn->state == PROTO_DN_DEAD)
			continue;
		if (!dn->nfs) { /* it never said which file systems: its own totals */
			*capacity += dn->capacity;
			*remaining += dn->remaining;
		}
		for (uint32_t k = 0; k < dn->nfs; k++)
			v[n++] = (struct fs_ref){dn->host, dn->fs[k].id, dn->fs[k].capacity,
						 dn->fs[k].remaining};
	}
	if (n)
		qsort(v, n, sizeof *v, by_host_fs);
	for (size_t k = 0; k < n; k++) {
		if (k && !by_host_fs(&v[k - 1], &v[k]))
			continue; /* another datanode on that disk: counted already */
		*capacity += v[k].capacity;
		*remaining += v[k].remaining;
	}
	free(v);
}

void nn_dn_fs_ids(const struct nn_dn *n, char *out, size_t sz)
{
	size_t len = 0;
	out[0] = 0;
	for (uint32_t k = 0; k < n->nfs && len < sz; k++) {
		int w = snprintf(out + len, sz - len, "%s%s", k ? "," : "", n->fs[k].id);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

bool nn_dn_in_maintenance(const struct nn_dn *n, double now)
{
	return !n->connected && n->maintenance_until > now;
}

int nn_dns_on_host(const struct nn_dns *d, const char *host)
{
	int found = -1;
	bool other_host = false;
	for (uint32_t i = 0; i < d->n; i++) {
		if (!nn_dn_is_usable(&d->v[i]))
			continue;
		if (strcmp(d->v[i].host, host)) {
			other_host = true;
		} else {
			if (found >= 0)
				return -1; /* several nodes share this host: no single local one */
			found = (int)i;
		}
	}
	return other_host ? found : -1;
}

void nn_dns_check(struct nn_dns *d, double now, void (*dead_cb)(void *arg, uint32_t i),
		  void *arg)
{
	/* The namenode itself was away (stopped, swapped out, a stalled disk): the
	 * heartbeats of that time wait unread in its sockets, so silence while it was not
	 * running says nothing of the datanodes. The pause is credited to every node, not
	 * held against all of them at once. */
	double gap = d->last_check ? now - d->last_check : 0;
	double pause_limit = d->stale_timeout / 2 > 1 ? d->stale_timeout / 2 : 1;
	d->last_check = now;
	if (gap > pause_limit) {
		log_warn("the namenode did not run for %.1fs: datanodes' silence meanwhile is "
			 "not counted", gap);
		for (uint32_t i = 0; i < d->n; i++)
			d->v[i].last_contact += gap;
	}
	for (uint32_t i = 0; i < d->n; i++) {
		struct nn_dn *n = &d->v[i];
		double silent = now - n->last_contact;
		if (!n->connected && n->maintenance_until && n->maintenance_until <= now) {
			log_warn("datanode '%s' did not come back within maintenance_timeout: "
				 "re-replicating its blocks", n->id);
			n->maintenance_until = 0;
			if (dead_cb)
				dead_cb(arg, i);
			continue;
		}
		if (n->state == PROTO_DN_DEAD || n->state == PROTO_DN_DECOMMISSIONED)
			continue;
		if (silent > d->dead_timeout) {
			log_warn("datanode '%s' (%s) is dead: no heartbeat for %.1fs", n->id,
				 n->addr, silent);
			n->state = PROTO_DN_DEAD;
			if (dead_cb)
				dead_cb(arg, i);
		} else if (silent > d->stale_timeout && n->state == PROTO_DN_LIVE) {
			log_warn("datanode '%s' (%s) is stale: no heartbeat for %.1fs", n->id,
				 n->addr, silent);
			n->state = PROTO_DN_STALE;
		}
	}
}

bool nn_dn_is_usable(const struct nn_dn *n)
{
	return n->connected && n->reported && n->state == PROTO_DN_LIVE && !n->decommission;
}

uint8_t nn_dn_shown_state(const struct nn_dn *n)
{
	if (n->decommission && n->state != PROTO_DN_DEAD)
		return n->decommissioned ? PROTO_DN_DECOMMISSIONED : PROTO_DN_DECOMMISSIONING;
	/* registered but not yet reported its blocks: not usable yet */
	if (n->state == PROTO_DN_LIVE && !n->reported)
		return PROTO_DN_STALE;
	/* said goodbye: its replicas are expected back until maintenance_timeout
	 * (nn_dns_check clears maintenance_until then) */
	if (n->state == PROTO_DN_DEAD && !n->connected && n->maintenance_until)
		return PROTO_DN_MAINTENANCE;
	return n->state;
}

uint32_t nn_dns_live(const struct nn_dns *d)
{
	uint32_t c = 0;
	for (uint32_t i = 0; i < d->n; i++)
		c += nn_dn_is_usable(&d->v[i]);
	return c;
}

static bool in_list(const uint32_t *v, uint32_t n, uint32_t x)
{
	for (uint32_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static bool host_used(const struct nn_dns *d, const uint32_t *chosen, uint32_t n,
		      const char *host)
{
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(d->v[chosen[i]].host, host))
			return true;
	return false;
}

/* Room for one more block (a node that reported no capacity yet gets the benefit). */
static bool has_room(const struct nn_dn *n, uint64_t block_size)
{
	return !n->capacity || n->remaining >= block_size;
}

/* Lower is better: few transfers in flight, then much free space -- in 5% steps, so
 * that nodes sharing a disk (whose reports differ by a few blocks) weigh the same and
 * the random choice spreads the replicas. */
static double load_score(const struct nn_dn *n)
{
	double free_share = n->capacity ? (double)n->remaining / (double)n->capacity : 0;
	return (double)n->xceivers - 4.0 * (double)(int)(free_share * 20) / 20;
}

uint32_t nn_dns_choose(struct nn_dns *d, uint32_t want, int favored, const uint32_t *exclude,
		       uint32_t nexclude, uint64_t block_size, uint32_t *out)
{
	uint32_t got = 0;
	if (favored >= 0 && (uint32_t)favored < d->n && want &&
	    nn_dn_is_usable(&d->v[favored]) && has_room(&d->v[favored], block_size) &&
	    !in_list(exclude, nexclude, (uint32_t)favored))
		out[got++] = (uint32_t)favored;
	/* pass 0: distinct hosts only; pass 1: any node */
	for (int pass = 0; pass < 2 && got < want; pass++) {
		while (got < want) {
			/* power of two random choices among eligible nodes */
			uint32_t best = UINT32_MAX, seen = 0;
			for (uint32_t tries = 0; tries < 2; tries++) {
				uint32_t eligible = 0, pick = UINT32_MAX;
				for (uint32_t i = 0; i < d->n; i++) {
					struct nn_dn *n = &d->v[i];
					if (!nn_dn_is_usable(n) || in_list(out, got, i) ||
					    in_list(exclude, nexclude, i) || !has_room(n, block_size) ||
					    (pass == 0 && host_used(d, out, got, n->host)))
						continue;
					eligible++;
					if ((uint32_t)rand() % eligible == 0)
						pick = i; /* reservoir sampling */
				}
				if (pick == UINT32_MAX)
					break;
				seen++;
				if (best == UINT32_MAX ||
				    load_score(&d->v[pick]) < load_score(&d->v[best]))
					best = pick;
			}
			if (!seen)
				break;
			out[got++] = best;
		}
	}
	return got;
}

uint32_t nn_dns_sort_for_reader(const struct nn_dns *d, const char *client_host,
				uint32_t *reps, uint32_t n)
{
	uint32_t out[PROTO_REPL_MAX], k = 0;
	if (n > PROTO_REPL_MAX)
		n = PROTO_REPL_MAX;
	/* shuffle first so equal nodes share the read load */
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = (uint32_t)rand() % i, t = reps[i - 1];
		reps[i - 1] = reps[j];
		reps[j] = t;
	}
	for (int pass = 0; pass < 3; pass++) {
		for (uint32_t i = 0; i < n; i++) {
			const struct nn_dn *dn = &d->v[reps[i]];
			/* nodes being retired still serve reads, after the others */
			bool usable = dn->connected && dn->reported && dn->state == PROTO_DN_LIVE &&
				      !dn->decommission;
			bool local = usable && client_host && !strcmp(dn->host, client_host);
			bool last = dn->connected && (dn->state == PROTO_DN_STALE ||
				    (dn->state == PROTO_DN_LIVE && dn->decommission));
			if ((pass == 0 && local) || (pass == 1 && usable && !local) ||
			    (pass == 2 && last))
				out[k++] = reps[i];
		}
	}
	memcpy(reps, out, k * sizeof *reps);
	return k;
}

void nn_dns_queue_replicate(struct nn_dns *d, uint32_t i, uint64_t id, uint64_t gs,
			    uint64_t len, const uint32_t *targets, uint32_t n)
{
	struct nn_dn *src = &d->v[i];
	pack_u8(&src->cmds, PROTO_CMD_REPLICATE);
	pack_u64(&src->cmds, id);
	pack_u64(&src->cmds, gs);
	pack_u64(&src->cmds, len);
	pack_u32(&src->cmds, n);
	for (uint32_t t = 0; t < n; t++) {
		pack_str(&src->cmds, d->v[targets[t]].id);
		pack_str(&src->cmds, d->v[targets[t]].addr);
	}
	src->ncmds++;
}

void nn_dns_queue_delete(struct nn_dns *d, uint32_t i, uint64_t id, uint64_t gs)
{
	struct nn_dn *n = &d->v[i];
	if (!n->connected)
		return; /* it reports its blocks again when it returns */
	pack_u8(&n->cmds, PROTO_CMD_DELETE);
	pack_u64(&n->cmds, id);
	pack_u64(&n->cmds, gs);
	pack_u64(&n->cmds, 0);
	pack_u32(&n->cmds, 0);
	n->ncmds++;
}
