/* spares: replica files made ahead of need (spares.h). */
#include "spares.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blockstore.h"
#include "log.h"

#define SPARES_MAX 32 /* per directory */

struct pair {
	int data_fd, meta_fd;
	unsigned n; /* its names: rbw/spare_<n>[.meta] */
};

struct vol {
	char rbw[4200];
	struct pair p[SPARES_MAX];
	unsigned count;
	time_t pause_until; /* the directory failed a create: leave it alone till then */
	bool warned;
};

struct dn_spares {
	pthread_mutex_t lock; /* guards everything below but the thread */
	pthread_cond_t cond;  /* a spare was taken, or stop */
	bool stop;
	unsigned nvols, per_vol, next;
	struct vol v[DN_MAX_VOLUMES];
	unsigned char hdr[64];
	size_t hdrlen;
	pthread_t thread;
};

static void names(const struct vol *v, unsigned n, char *data, char *meta, size_t sz)
{
	snprintf(data, sz, "%s/spare_%u", v->rbw, n);
	snprintf(meta, sz, "%s/spare_%u.meta", v->rbw, n);
}

/* Creates one pair in v (no lock held). 0 or -errno (nothing left behind). */
static int make_pair(const struct dn_spares *sp, const struct vol *v, unsigned n,
		     struct pair *out)
{
	char data[4300], meta[4300];
	names(v, n, data, meta, sizeof data);
	int dfd = open(data, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (dfd < 0)
		return -errno;
	int mfd = open(meta, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = mfd < 0 ? -errno : 0;
	if (!rc && pwrite(mfd, sp->hdr, sp->hdrlen, 0) != (ssize_t)sp->hdrlen)
		rc = errno ? -errno : -ENOSPC;
	if (rc) {
		if (mfd >= 0)
			close(mfd);
		close(dfd);
		unlink(meta);
		unlink(data);
		return rc;
	}
	*out = (struct pair){dfd, mfd, n};
	return 0;
}

static void drop_pair(const struct vol *v, const struct pair *p)
{
	char data[4300], meta[4300];
	names(v, p->n, data, meta, sizeof data);
	close(p->data_fd);
	close(p->meta_fd);
	unlink(data);
	unlink(meta);
}

static void *maker_main(void *arg)
{
	struct dn_spares *sp = arg;
	pthread_mutex_lock(&sp->lock);
	while (!sp->stop) {
		time_t now = time(NULL);
		struct vol *v = NULL;
		for (unsigned i = 0; i < sp->nvols && !v; i++)
			if (sp->v[i].count < sp->per_vol && now >= sp->v[i].pause_until)
				v = &sp->v[i];
		if (!v) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&sp->cond, &sp->lock, &ts);
			continue;
		}
		unsigned n = sp->next++;
		pthread_mutex_unlock(&sp->lock);
		struct pair p;
		int rc = make_pair(sp, v, n, &p);
		pthread_mutex_lock(&sp->lock);
		if (rc) {
			v->pause_until = time(NULL) + 1;
			if (!v->warned)
				log_warn("spares: cannot make replica files ahead in '%s': %s (new "
					 "replicas make their own meanwhile)", v->rbw, strerror(-rc));
			v->warned = true;
		} else if (sp->stop || v->count >= sp->per_vol) {
			drop_pair(v, &p);
		} else {
			v->p[v->count++] = p;
			v->warned = false;
		}
	}
	pthread_mutex_unlock(&sp->lock);
	return NULL;
}

struct dn_spares *dn_spares_start(const char (*vols)[4096], unsigned nvols, const void *hdr,
				  size_t hdrlen, unsigned per_vol)
{
	if (!nvols || nvols > DN_MAX_VOLUMES || hdrlen > sizeof ((struct dn_spares *)0)->hdr)
		return NULL;
	struct dn_spares *sp = calloc(1, sizeof *sp);
	if (!sp)
		return NULL;
	pthread_mutex_init(&sp->lock, NULL);
	pthread_cond_init(&sp->cond, NULL);
	sp->nvols = nvols;
	sp->per_vol = per_vol < SPARES_MAX ? per_vol : SPARES_MAX;
	memcpy(sp->hdr, hdr, hdrlen);
	sp->hdrlen = hdrlen;
	for (unsigned i = 0; i < nvols; i++)
		snprintf(sp->v[i].rbw, sizeof sp->v[i].rbw, "%.4090s/rbw", vols[i]);
	if (pthread_create(&sp->thread, NULL, maker_main, sp)) {
		pthread_cond_destroy(&sp->cond);
		pthread_mutex_destroy(&sp->lock);
		free(sp);
		return NULL;
	}
	return sp;
}

int dn_spares_take(struct dn_spares *sp, unsigned vol, const char *data_path,
		   const char *meta_path, int *data_fd, int *meta_fd)
{
	if (!sp || vol >= sp->nvols)
		return -ENOENT;
	struct vol *v = &sp->v[vol];
	pthread_mutex_lock(&sp->lock);
	if (!v->count) {
		pthread_mutex_unlock(&sp->lock);
		return -ENOENT;
	}
	struct pair p = v->p[--v->count];
	pthread_cond_signal(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
	char data[4300], meta[4300];
	names(v, p.n, data, meta, sizeof data);
	/* no replace: a second writer of the same replica must not take the first's file */
	if (renameat2(AT_FDCWD, data, AT_FDCWD, data_path, RENAME_NOREPLACE)) {
		int rc = -errno;
		drop_pair(v, &p);
		return rc;
	}
	if (rename(meta, meta_path)) {
		int rc = -errno;
		close(p.data_fd);
		close(p.meta_fd);
		unlink(data_path);
		unlink(meta);
		return rc;
	}
	*data_fd = p.data_fd;
	*meta_fd = p.meta_fd;
	return 0;
}

void dn_spares_stop(struct dn_spares *sp)
{
	if (!sp)
		return;
	pthread_mutex_lock(&sp->lock);
	sp->stop = true;
	pthread_cond_broadcast(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
	pthread_join(sp->thread, NULL);
	for (unsigned i = 0; i < sp->nvols; i++)
		for (unsigned k = 0; k < sp->v[i].count; k++)
			drop_pair(&sp->v[i], &sp->v[i].p[k]);
	pthread_cond_destroy(&sp->cond);
	pthread_mutex_destroy(&sp->lock);
	free(sp);
}
