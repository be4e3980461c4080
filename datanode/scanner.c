/* scanner: background replica verification. Its own thread; uses the block store. */
#include "scanner.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ev.h"
#include "log.h"

struct dn_scanner {
	struct dn_store *store;
	double period;
	pthread_t thread;
	atomic_bool stop;
};

/* Sleeps up to `secs`, waking early on stop. */
static void nap(struct dn_scanner *sc, double secs)
{
	double end = ev_now() + secs;
	while (!atomic_load(&sc->stop) && ev_now() < end) {
		double left = end - ev_now();
		usleep(left > 0.1 ? 100000 : (useconds_t)(left * 1e6) + 1);
	}
}

static void *scanner_main(void *arg)
{
	struct dn_scanner *sc = arg;
	nap(sc, 1); /* let the node register first */
	while (!atomic_load(&sc->stop)) {
		double start = ev_now();
		struct dn_replica_info *v;
		size_t n;
		if (dn_store_list(sc->store, false, &v, &n)) {
			nap(sc, 5);
			continue;
		}
		uint64_t total = 0;
		for (size_t i = 0; i < n; i++)
			total += v[i].len;
		double rate = (double)total / (sc->period * 0.9);
		if (rate < 1048576)
			rate = 1048576;
		size_t bad = 0;
		for (size_t i = 0; i < n && !atomic_load(&sc->stop); i++) {
			int rc = dn_store_verify(sc->store, v[i].id, v[i].gs);
			/* reported again each pass until the namenode has it replaced; a
			 * replica gone from the disk (-ENOENT) was already dropped and
			 * reported deleted by the store itself */
			if (rc == -EBADMSG) {
				log_warn("scanner: replica blk_%" PRIu64 "_%" PRIu64 " is corrupt",
					 v[i].id, v[i].gs);
				dn_store_report_bad(sc->store, v[i].id, v[i].gs, PROTO_BAD_CHECKSUM);
				bad++;
			}
			nap(sc, (double)v[i].len / rate);
		}
		free(v);
		if (bad)
			log_info("scanner: pass over %zu replicas found %zu bad", n, bad);
		double left = sc->period - (ev_now() - start);
		nap(sc, left > 0 ? left : 0);
	}
	return NULL;
}

int dn_scanner_start(struct dn_store *s, double scan_period, struct dn_scanner **out)
{
	struct dn_scanner *sc = calloc(1, sizeof *sc);
	if (!sc)
		return -ENOMEM;
	sc->store = s;
	sc->period = scan_period > 0.1 ? scan_period : 0.1;
	if (pthread_create(&sc->thread, NULL, scanner_main, sc)) {
		free(sc);
		return -EAGAIN;
	}
	*out = sc;
	return 0;
}

void dn_scanner_stop(struct dn_scanner *sc)
{
	atomic_store(&sc->stop, true);
	pthread_join(sc->thread, NULL);
	free(sc);
}
