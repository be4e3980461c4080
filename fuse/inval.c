/*
 * inval: this mount's cache callbacks (namenode/callbacks.h). The mount is one session
 * (a random id every namenode connection of it names: dfs_client_opts.session); a
 * thread of its own waits on the namenode for invalidations (CN_WATCH) and applies them
 * to the kernel's caches, then acknowledges them with its next CN_WATCH. While that
 * works, attributes are cached for `watched_attr_timeout` (60 s) instead of
 * attr_timeout, since another client's change reaches the kernel at once.
 *
 * States: UNWATCHED (short timeouts) -> WATCHING (a CN_WATCH answered: long timeouts)
 * -> back to UNWATCHED when a CN_WATCH fails, or comes back later than
 * INVAL_TRUST_MS after the one before: then the namenode may have stopped waiting for
 * this mount (its lease, NN_CB_LEASE_MS, is longer), so every cached attribute is
 * voided (fs_node_list) before anything else.
 *
 * Entry invalidations go through a second thread: the kernel takes the directory's
 * lock for them, which a create in that directory on this mount may hold while its
 * reply waits on the namenode -- for this mount's acknowledgement, possibly. So the
 * acknowledging thread never waits on a directory lock; attribute and data
 * invalidations take no such lock. Inodes the kernel forgot are given back to the
 * namenode (CN_FORGET) before each CN_WATCH.
 *
 * Threads: its own two; fs_inval_forgot is called by any worker (a mutex guards the
 * queues).
 */
#include "mount.h"

#include "bcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "pack.h"

#define INVAL_TRUST_MS 1800 /* < NN_CB_LEASE_MS (2500), > NN_CB_POLL_MS + a tick */
#define FORGET_BATCH 4096

struct entry_inval {
	uint64_t dir;
	char name[PROTO_NAME_MAX + 1];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread, entries_thread;
	bool running, stop;
	struct dfs_client *c; /* the watch's connection, for fs_inval_stop to interrupt */
	struct dfs_client_opts co;
	bool watching; /* read by every worker (fs_attr_timeout) */
	uint64_t *forgot;
	size_t nforgot, capforgot;
	struct entry_inval *ent;
	size_t nent, capent;
} iv = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

bool fs_inval_watching(void) { return __atomic_load_n(&iv.watching, __ATOMIC_RELAXED); }

double fs_attr_timeout(void)
{
	if (fs_inval_watching() && fs_the->attr_timeout > 0 &&
	    fs_the->watched_attr_timeout > fs_the->attr_timeout)
		return fs_the->watched_attr_timeout;
	return fs_the->attr_timeout;
}

void fs_inval_forgot(uint64_t ino)
{
	pthread_mutex_lock(&iv.lock);
	if (iv.running && iv.nforgot < (1u << 20)) {
		uint64_t *v = iv.forgot;
		if (iv.nforgot == iv.capforgot) {
			size_t cap = iv.capforgot ? iv.capforgot * 2 : 1024;
			v = realloc(iv.forgot, cap * sizeof *v);
			if (v) {
				iv.forgot = v;
				iv.capforgot = cap;
			}
		}
		if (iv.nforgot < iv.capforgot)
			iv.forgot[iv.nforgot++] = ino;
	}
	pthread_mutex_unlock(&iv.lock);
}

/* Forgets every attribute the kernel caches (this mount no longer hears of changes). */
static void void_all(const char *why)
{
	bcache_clear(); /* before the kernel's caches: no open may refill them from it */
	uint64_t *inos = NULL;
	size_t n = fs_node_list(&inos);
	for (size_t i = 0; i < n; i++) {
		fuse_lowlevel_notify_inval_inode(fs_the->se, inos[i], -1, 0);
		fs_node_xattrs_changed(inos[i]);
	}
	fuse_lowlevel_notify_inval_inode(fs_the->se, FUSE_ROOT_ID, -1, 0);
	free(inos);
	log_info("cache callbacks: %s; %zu cached inodes voided", why, n);
}

static void set_watching(bool on, const char *why)
{
	if (fs_inval_watching() == on)
		return;
	if (!on) {
		__atomic_store_n(&iv.watching, false, __ATOMIC_RELAXED); /* short timeouts first */
		void_all(why);
	} else {
		__atomic_store_n(&iv.watching, true, __ATOMIC_RELAXED);
		log_info("cache callbacks: on (attributes cached %.0f s)", fs_attr_timeout());
	}
}

static void queue_entry(uint64_t dir, const char *name)
{
	pthread_mutex_lock(&iv.lock);
	if (iv.nent == iv.capent) {
		size_t cap = iv.capent ? iv.capent * 2 : 64;
		struct entry_inval *v = realloc(iv.ent, cap * sizeof *v);
		if (v) {
			iv.ent = v;
			iv.capent = cap;
		}
	}
	if (iv.nent < iv.capent) {
		iv.ent[iv.nent].dir = dir;
		snprintf(iv.ent[iv.nent].name, sizeof iv.ent[iv.nent].name, "%s", name);
		iv.nent++;
		pthread_cond_broadcast(&iv.cond);
	}
	pthread_mutex_unlock(&iv.lock);
}

static void *entries_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&iv.lock);
	while (!iv.stop) {
		if (!iv.nent) {
			pthread_cond_wait(&iv.cond, &iv.lock);
			continue;
		}
		struct entry_inval e = iv.ent[--iv.nent];
		pthread_mutex_unlock(&iv.lock);
		int rc = fuse_lowlevel_notify_inval_entry(fs_the->se, e.dir, e.name, strlen(e.name));
		if (rc && rc != -ENOENT)
			log_debug("cannot invalidate entry '%s' of %llu: %s", e.name,
				  (unsigned long long)e.dir, strerror(-rc));
		pthread_mutex_lock(&iv.lock);
	}
	pthread_mutex_unlock(&iv.lock);
	return NULL;
}

/* Applies one CN_WATCH reply; its batch number into *batch. */
static int apply(const struct buf *rep, uint64_t *batch, uint64_t *incarnation)
{
	struct unpack u;
	unpack_init(&u, rep->data, rep->len);
	*batch = unpack_u64(&u);
	uint32_t n = unpack_count(&u, 9);
	for (uint32_t i = 0; i < n && unpack_ok(&u); i++) {
		uint8_t kind = unpack_u8(&u);
		uint64_t ino = unpack_u64(&u);
		char name[PROTO_NAME_MAX + 1] = "";
		if (kind == PROTO_INVAL_ENTRY)
			unpack_str(&u, name, sizeof name);
		if (!unpack_ok(&u))
			break;
		switch (kind) {
		case PROTO_INVAL_ATTR:
		case PROTO_INVAL_DATA:
			bcache_drop(ino);
			fuse_lowlevel_notify_inval_inode(fs_the->se, ino,
							 kind == PROTO_INVAL_DATA ? 0 : -1, 0);
			fs_node_xattrs_changed(ino);
			break;
		case PROTO_INVAL_ENTRY:
			queue_entry(ino, name);
			break;
		case PROTO_INVAL_ALL:
			void_all("the namenode had too many invalidations to list");
			break;
		default:
			break; /* a newer namenode's: nothing known to drop */
		}
	}
	*incarnation = unpack_u64(&u);
	return unpack_ok(&u) ? 0 : -EPROTO;
}

/* Sends what the kernel forgot (a batch of it). */
static void send_forgets(struct dfs_client *c)
{
	pthread_mutex_lock(&iv.lock);
	size_t n = iv.nforgot < FORGET_BATCH ? iv.nforgot : FORGET_BATCH;
	struct buf req = BUF_INIT, rep = BUF_INIT;
	pack_u32(&req, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		pack_u64(&req, iv.forgot[iv.nforgot - n + i]);
	iv.nforgot -= n;
	pthread_mutex_unlock(&iv.lock);
	if (n)
		dfs_call(c, PROTO_CN_FORGET, &req, &rep); /* lost: the namenode says too much */
	buf_free(&req);
	buf_free(&rep);
}

/* Waits ms, or less when the mount stops. */
static void pause_ms(int ms)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&iv.lock);
	if (!iv.stop)
		pthread_cond_timedwait(&iv.cond, &iv.lock, &t);
	pthread_mutex_unlock(&iv.lock);
}

static void *inval_main(void *arg)
{
	(void)arg;
	struct dfs_client *c = NULL;
	bool watched = false; /* c carried a CN_WATCH: the namenode never holds its replies */
	uint64_t acked = 0, incarnation = 0;
	double last = 0; /* the last CN_WATCH answer (clock_now) */
	struct buf req = BUF_INIT, rep = BUF_INIT;
	for (;;) {
		pthread_mutex_lock(&iv.lock);
		bool stop = iv.stop;
		pthread_mutex_unlock(&iv.lock);
		if (stop)
			break;
		if (!c && dfs_connect(&iv.co, &c)) {
			c = NULL;
			set_watching(false, "no namenode connection");
			pause_ms(500);
			continue;
		}
		pthread_mutex_lock(&iv.lock);
		iv.c = c;
		if (iv.stop)
			dfs_interrupt(c); /* stopped while it connected */
		pthread_mutex_unlock(&iv.lock);
		if (watched)
			send_forgets(c);
		buf_reset(&req);
		pack_u64(&req, acked);
		int rc = dfs_call(c, PROTO_CN_WATCH, &req, &rep);
		double now = clock_now();
		if (rc) {
			if (rc == -ECANCELED)
				break; /* stopping */
			set_watching(false, dfs_errmsg()[0] ? dfs_errmsg() : strerror(-rc));
			pthread_mutex_lock(&iv.lock);
			iv.c = NULL;
			pthread_mutex_unlock(&iv.lock);
			dfs_close(c); /* a new connection names the session again */
			c = NULL;
			watched = false;
			if (rc == -EINVAL || rc == -EBUSY || rc == -ENOSYS)
				pause_ms(2000); /* no callbacks there: ask again now and then */
			continue;
		}
		if (fs_inval_watching() && now - last > INVAL_TRUST_MS / 1000.0)
			set_watching(false, "a watch came back late");
		last = now;
		watched = true;
		uint64_t batch, inc;
		if (apply(&rep, &batch, &inc)) {
			set_watching(false, "a malformed invalidation");
			continue;
		}
		if (inc != incarnation && fs_inval_watching())
			set_watching(false, "the namenode restarted or another leads (what it knew "
					    "this mount holds is gone)");
		incarnation = inc;
		if (batch)
			acked = batch;
		set_watching(true, NULL);
	}
	pthread_mutex_lock(&iv.lock);
	iv.c = NULL;
	pthread_mutex_unlock(&iv.lock);
	dfs_close(c);
	buf_free(&req);
	buf_free(&rep);
	return NULL;
}

int fs_inval_start(const struct dfs_client_opts *co)
{
	iv.co = *co;
	iv.co.timeout_ms = INVAL_TRUST_MS; /* an answer later than this: trust nothing */
	pthread_mutex_lock(&iv.lock);
	iv.running = true;
	iv.stop = false;
	pthread_mutex_unlock(&iv.lock);
	if (pthread_create(&iv.entries_thread, NULL, entries_main, NULL))
		return -EAGAIN;
	if (pthread_create(&iv.thread, NULL, inval_main, NULL)) {
		fs_inval_stop();
		return -EAGAIN;
	}
	return 0;
}

void fs_inval_stop(void)
{
	pthread_mutex_lock(&iv.lock);
	bool was = iv.running;
	iv.stop = true;
	iv.running = false;
	if (iv.c)
		dfs_interrupt(iv.c); /* its long poll ends now */
	pthread_cond_broadcast(&iv.cond);
	pthread_mutex_unlock(&iv.lock);
	if (!was)
		return;
	pthread_join(iv.entries_thread, NULL);
	if (iv.thread)
		pthread_join(iv.thread, NULL);
	free(iv.forgot);
	free(iv.ent);
	iv.forgot = NULL;
	iv.ent = NULL;
}

uint64_t fs_inval_session(void)
{
	uint64_t id = 0;
	while (!id && getrandom(&id, sizeof id, 0) == (ssize_t)sizeof id)
		;
	return id ? id : (uint64_t)getpid() << 32 ^ (uint64_t)clock_wall_ns();
}
