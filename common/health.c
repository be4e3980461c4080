/*
 * health: which datanodes this client process avoids, and its datanode deadlines
 * (health.h has the rules). A small array: a client talks to tens of datanodes, not
 * thousands, and walks it once per block.
 */
#include "health.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "clock.h"
#include "log.h"

#define HEALTH_MAX 256

struct node {
	char id[PROTO_ID_MAX + 1];
	char addr[PROTO_ADDR_MAX + 1];
	double local_until; /* avoided on this process's word until then */
	bool nn_listed;     /* the namenode's last list named it */
	uint8_t nn_state;
	bool avoided;   /* as last logged */
	double logged;  /* when its last line went out */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct node nodes[HEALTH_MAX];
static size_t nnodes;
static uint64_t generation;
/* defaults of cfg.c, until the namenode says */
static uint32_t heartbeat_ms = 1000, stale_ms = 4000, dead_ms = 10000;

void health_set_settings(uint32_t hb, uint32_t stale, uint32_t dead)
{
	pthread_mutex_lock(&lock);
	if (hb)
		heartbeat_ms = hb;
	if (stale)
		stale_ms = stale;
	if (dead)
		dead_ms = dead;
	pthread_mutex_unlock(&lock);
}

static uint32_t get(const uint32_t *v)
{
	pthread_mutex_lock(&lock);
	uint32_t x = *v;
	pthread_mutex_unlock(&lock);
	return x;
}

/* A deadline never shorter than half a second: a busy disk may pause that long. */
int health_read_timeout_ms(void)
{
	uint32_t s = get(&stale_ms);
	return (int)(s < 500 ? 500 : s);
}

int health_ack_timeout_ms(uint32_t down, bool last)
{
	uint32_t s = (uint32_t)health_read_timeout_ms();
	uint32_t margin = s / 6 < 250 ? 250 : s / 6;
	return (int)((last ? 2 : 1) * s + margin * (down ? down - 1 : 0));
}

int health_write_timeout_ms(void) { return health_ack_timeout_ms(2, false); }

int health_connect_timeout_ms(void)
{
	int s = health_read_timeout_ms();
	return s < 5000 ? s : 5000;
}

uint32_t health_heartbeat_ms(void) { return get(&heartbeat_ms); }

/* The entry for addr, made when absent (NULL when the table is full). Lock held. */
static struct node *find(const char *addr, bool make)
{
	for (size_t i = 0; i < nnodes; i++)
		if (!strcmp(nodes[i].addr, addr))
			return &nodes[i];
	if (!make || nnodes == HEALTH_MAX)
		return NULL;
	struct node *n = &nodes[nnodes++];
	memset(n, 0, sizeof *n);
	snprintf(n->addr, sizeof n->addr, "%s", addr);
	return n;
}

static bool avoided(const struct node *n, double now)
{
	return n->nn_listed || now < n->local_until;
}

/* Logs a node's turn to avoided: once per turn, and at most every 10 s per node. */
static void note_turn(struct node *n, double now, const char *why)
{
	bool was = n->avoided;
	n->avoided = true;
	if (was)
		return;
	generation++;
	if (n->logged && now - n->logged < 10)
		return;
	n->logged = now;
	log_warn("datanode '%s' (%s) %s: not using it for now", n->id[0] ? n->id : "?", n->addr,
		 why);
}

void health_suspect(const char *id, const char *addr, const char *why)
{
	double now = clock_now();
	pthread_mutex_lock(&lock);
	struct node *n = find(addr, true);
	if (n) {
		if (id && id[0])
			snprintf(n->id, sizeof n->id, "%s", id);
		if (!avoided(n, now))
			n->avoided = false; /* an earlier turn has ended */
		n->local_until = now + dead_ms / 1000.0;
		note_turn(n, now, why);
	}
	pthread_mutex_unlock(&lock);
}

void health_from_namenode(uint32_t count, const char (*ids)[PROTO_ID_MAX + 1],
			  const char (*addrs)[PROTO_ADDR_MAX + 1], const uint8_t *states)
{
	double now = clock_now();
	pthread_mutex_lock(&lock);
	bool was[HEALTH_MAX];
	size_t old_n = nnodes;
	for (size_t i = 0; i < nnodes; i++) {
		was[i] = avoided(&nodes[i], now);
		nodes[i].nn_listed = false;
		if (!avoided(&nodes[i], now))
			nodes[i].avoided = false;
	}
	for (uint32_t i = 0; i < count; i++) {
		struct node *n = find(addrs[i], true);
		if (!n)
			continue;
		size_t k = (size_t)(n - nodes);
		snprintf(n->id, sizeof n->id, "%s", ids[i]);
		bool had = k < old_n && was[k]; /* avoided already: not a new turn */
		n->nn_listed = true;
		n->nn_state = states[i];
		if (had) {
			n->avoided = true;
		} else {
			char why[64];
			snprintf(why, sizeof why, "is %s%s (the namenode says)",
				 states[i] == PROTO_DN_MAINTENANCE ? "in " : "",
				 dfs_dn_state_name(states[i]));
			n->avoided = false;
			note_turn(n, now, why);
		}
	}
	pthread_mutex_unlock(&lock);
}

bool health_avoid(const char *addr)
{
	double now = clock_now();
	pthread_mutex_lock(&lock);
	struct node *n = find(addr, false);
	bool a = n && avoided(n, now);
	pthread_mutex_unlock(&lock);
	return a;
}

uint64_t health_generation(void)
{
	pthread_mutex_lock(&lock);
	uint64_t g = generation;
	pthread_mutex_unlock(&lock);
	return g;
}

size_t health_avoided_ids(char (*ids)[PROTO_ID_MAX + 1], size_t max)
{
	double now = clock_now();
	size_t k = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nnodes && k < max; i++)
		if (nodes[i].id[0] && avoided(&nodes[i], now))
			memcpy(ids[k++], nodes[i].id, sizeof nodes[i].id);
	pthread_mutex_unlock(&lock);
	return k;
}

void health_reset(void)
{
	pthread_mutex_lock(&lock);
	nnodes = 0;
	generation = 0;
	heartbeat_ms = 1000;
	stale_ms = 4000;
	dead_ms = 10000;
	pthread_mutex_unlock(&lock);
}
