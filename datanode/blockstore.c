/* blockstore: replicas on disk with per-chunk CRC32C. Any thread; see blockstore.h. */
#include "blockstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "crc.h"
#include "fsutil.h"
#include "layout.h"
#include "log.h"
#include "pack.h"
#include "grow.h"
#include "spares.h"

struct replica {
	uint64_t id, gs, len;
	uint8_t vol; /* the data directory holding it */
	struct replica *next;
};

struct dn_store {
	char dir[4096]; /* the first data directory (messages) */
	char vols[DN_MAX_VOLUMES][4096];
	unsigned nvols, next_vol; /* next_vol: round-robin choice for new replicas */
	char id[PROTO_ID_MAX + 1];
	pthread_mutex_t lock; /* guards everything below */
	int efd;              /* eventfd: changes pending */
	struct replica **buckets;
	size_t nbuckets, count;
	uint64_t used;
	struct dn_replica_info *received;
	size_t nreceived, capreceived;
	uint64_t *deleted;
	size_t ndeleted, capdeleted;
	struct dn_bad_replica *bad;
	size_t nbad, capbad;
	struct dn_spares *spares; /* replica files made ahead (spares.h); NULL: none */
};

#define SPARES_PER_VOL 8

/* The header every .meta file starts with (blockstore.h). */
static void meta_header(uint8_t hdr[DN_META_HDR])
{
	memset(hdr, 0, DN_META_HDR);
	memcpy(hdr, "DFSC", 4);
	be16_put(hdr + 4, 1);
	be32_put(hdr + 8, PROTO_CHUNK_SIZE);
}

struct dn_writer {
	struct dn_store *s;
	uint64_t id, gs, len;
	uint8_t vol;
	int data_fd, meta_fd;
	char data_path[4200], meta_path[4200];
};

/* ---- replica map (lock held) ---- */

static size_t bucket_of(const struct dn_store *s, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 20) & (s->nbuckets - 1);
}

static struct replica *map_find(struct dn_store *s, uint64_t id)
{
	for (struct replica *r = s->buckets[bucket_of(s, id)]; r; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

static void map_grow(struct dn_store *s)
{
	size_t old = s->nbuckets;
	struct replica **ob = s->buckets;
	s->nbuckets = old ? old * 2 : 4096;
	s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
	if (!s->buckets)
		abort();
	for (size_t i = 0; i < old; i++) {
		for (struct replica *r = ob[i], *n; r; r = n) {
			n = r->next;
			size_t b = bucket_of(s, r->id);
			r->next = s->buckets[b];
			s->buckets[b] = r;
		}
	}
	free(ob);
}

static void map_put(struct dn_store *s, uint64_t id, uint64_t gs, uint64_t len, uint8_t vol)
{
	struct replica *r = map_find(s, id);
	if (r) {
		s->used -= r->len;
	} else {
		if (s->count + 1 > s->nbuckets)
			map_grow(s);
		r = calloc(1, sizeof *r);
		if (!r)
			abort();
		r->id = id;
		size_t b = bucket_of(s, id);
		r->next = s->buckets[b];
		s->buckets[b] = r;
		s->count++;
	}
	r->gs = gs;
	r->len = len;
	r->vol = vol;
	s->used += len;
}

static void map_del(struct dn_store *s, uint64_t id)
{
	struct replica **pp = &s->buckets[bucket_of(s, id)];
	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct replica *r = *pp;
			*pp = r->next;
			s->used -= r->len;
			s->count--;
			free(r);
			return;
		}
	}
}

/* ---- paths ---- */

static void final_paths(const struct dn_store *s, uint8_t vol, uint64_t id, uint64_t gs,
			char *data, char *meta, size_t sz)
{
	snprintf(data, sz, "%.4000s/current/%02x/blk_%" PRIu64 "_%" PRIu64, s->vols[vol],
		 (unsigned)(id & 0xff), id, gs);
	snprintf(meta, sz, "%.4150s.meta", data);
}

/* ---- open / scan ---- */

/* Reads vol's VERSION (the node id; layout.h), or writes it: the wanted id, the id of
 * the volumes before it, or a new random one. A volume of another layout is refused. */
static int load_id(struct dn_store *s, unsigned vol, const char *want)
{
	char first[PROTO_ID_MAX + 1];
	if (vol > 0) { /* every volume belongs to the same node */
		snprintf(first, sizeof first, "%s", s->id);
		want = first;
	}
	struct dn_version v;
	int rc = dn_version_read(s->vols[vol], &v);
	if (rc == 0) {
		struct buf why = BUF_INIT;
		if ((rc = dn_layout_check(s->vols[vol], &why))) {
			log_error("%s", why.data);
		} else if (want && *want && strcmp(want, v.id)) {
			log_error("data directory '%s' belongs to datanode '%s', not '%s'",
				  s->vols[vol], v.id, want);
			rc = -EINVAL;
		} else {
			snprintf(s->id, sizeof s->id, "%s", v.id);
		}
		buf_free(&why);
		return rc;
	}
	if (rc != -ENOENT)
		return rc;
	if (want && *want) {
		snprintf(s->id, sizeof s->id, "%s", want);
	} else {
		uint8_t r[4];
		RAND_bytes(r, sizeof r);
		snprintf(s->id, sizeof s->id, "dn-%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
	}
	snprintf(v.id, sizeof v.id, "%s", s->id);
	v.layout = DN_LAYOUT_VERSION;
	return dn_version_write(s->vols[vol], &v);
}

/* Checks a finalized replica's meta header and size against its data file. */
static bool replica_ok(const char *data, const char *meta, uint64_t *len)
{
	struct stat ds, ms;
	if (stat(data, &ds) || stat(meta, &ms))
		return false;
	uint64_t chunks = ((uint64_t)ds.st_size + PROTO_CHUNK_SIZE - 1) / PROTO_CHUNK_SIZE;
	if ((uint64_t)ms.st_size != DN_META_HDR + 4 * chunks)
		return false;
	*len = (uint64_t)ds.st_size;
	return true;
}

static int scan(struct dn_store *s, uint8_t vol)
{
	char sub[4200];
	for (unsigned x = 0; x < 256; x++) {
		snprintf(sub, sizeof sub, "%s/current/%02x", s->vols[vol], x);
		DIR *d = opendir(sub);
		if (!d) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		struct dirent *e;
		while ((e = readdir(d))) {
			uint64_t id, gs;
			int n = 0;
			if (sscanf(e->d_name, "blk_%" SCNu64 "_%" SCNu64 "%n", &id, &gs, &n) != 2 ||
			    e->d_name[n])
				continue;
			char data[4200], meta[4200];
			final_paths(s, vol, id, gs, data, meta, sizeof data);
			uint64_t len;
			if (!replica_ok(data, meta, &len)) {
				log_warn("replica blk_%" PRIu64 "_%" PRIu64 " is damaged "
					 "(missing or short checksum file): ignoring it", id, gs);
				continue;
			}
			struct replica *old = map_find(s, id);
			if (old && old->gs > gs)
				continue;
			map_put(s, id, gs, len, vol);
		}
		closedir(d);
	}
	return 0;
}

/* Prepares one data directory: its layout, its id, its replicas, no half-written ones. */
static int open_vol(struct dn_store *s, uint8_t vol, const char *id)
{
	const char *dir = s->vols[vol];
	char p[4200];
	int rc = fs_mkdir_p(dir, 0700);
	if (!rc) {
		snprintf(p, sizeof p, "%s/rbw", dir);
		rc = fs_mkdir_p(p, 0700);
	}
	for (unsigned x = 0; !rc && x < 256; x++) {
		snprintf(p, sizeof p, "%s/current/%02x", dir, x);
		rc = fs_mkdir_p(p, 0700);
	}
	if (!rc)
		rc = load_id(s, vol, id);
	if (!rc)
		rc = scan(s, vol);
	if (rc) {
		log_error("cannot open data directory '%s': %s", dir, strerror(-rc));
		return rc;
	}
	/* replicas being written when the node stopped were never acknowledged whole */
	snprintf(p, sizeof p, "%s/rbw", dir);
	DIR *d = opendir(p);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char f[4500];
		snprintf(f, sizeof f, "%s/%s", p, e->d_name);
		unlink(f);
	}
	if (d)
		closedir(d);
	return 0;
}

int dn_store_open(const char *dirs, const char *id, struct dn_store **out)
{
	struct dn_store *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd < 0) {
		int e = errno;
		pthread_mutex_destroy(&s->lock);
		free(s);
		return -e;
	}
	map_grow(s);
	/* "DIR" or "DIR1,DIR2,...": one volume per disk */
	int rc = 0;
	for (const char *p = dirs; *p && !rc;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (!n || n >= sizeof s->vols[0] || s->nvols == DN_MAX_VOLUMES) {
			log_error("bad data directory list '%s' (at most %d, comma-separated)", dirs,
				  DN_MAX_VOLUMES);
			rc = -EINVAL;
			break;
		}
		memcpy(s->vols[s->nvols], p, n);
		s->vols[s->nvols][n] = 0;
		rc = open_vol(s, (uint8_t)s->nvols, id);
		s->nvols++;
		p = comma ? comma + 1 : p + n;
	}
	if (!rc && !s->nvols)
		rc = -EINVAL;
	if (rc) {
		dn_store_close(s);
		return rc;
	}
	snprintf(s->dir, sizeof s->dir, "%s", s->vols[0]);
	uint8_t hdr[DN_META_HDR];
	meta_header(hdr);
	s->spares = dn_spares_start((const char (*)[4096])s->vols, s->nvols, hdr, sizeof hdr,
				    SPARES_PER_VOL);
	log_info("data directory '%s': datanode '%s', %zu replicas", dirs, s->id, s->count);
	*out = s;
	return 0;
}

void dn_store_close(struct dn_store *s)
{
	if (!s)
		return;
	dn_spares_stop(s->spares);
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct replica *r = s->buckets[i], *n; r; r = n) {
			n = r->next;
			free(r);
		}
	free(s->buckets);
	free(s->received);
	free(s->deleted);
	free(s->bad);
	pthread_mutex_destroy(&s->lock);
	close(s->efd);
	free(s);
}

const char *dn_store_id(const struct dn_store *s) { return s->id; }

void dn_store_usage(struct dn_store *s, uint64_t *capacity, uint64_t *used, uint64_t *remaining)
{
	*capacity = *remaining = 0;
	unsigned long fsids[DN_MAX_VOLUMES];
	unsigned nfs = 0;
	for (unsigned i = 0; i < s->nvols; i++) {
		struct statvfs v;
		if (statvfs(s->vols[i], &v))
			continue;
		bool seen = false; /* two directories on one disk count once */
		for (unsigned k = 0; k < nfs; k++)
			seen |= fsids[k] == v.f_fsid;
		if (seen)
			continue;
		fsids[nfs++] = v.f_fsid;
		*capacity += (uint64_t)v.f_blocks * v.f_frsize;
		*remaining += (uint64_t)v.f_bavail * v.f_frsize;
	}
	pthread_mutex_lock(&s->lock);
	*used = s->used;
	pthread_mutex_unlock(&s->lock);
}

void dn_store_pack_fslist(struct dn_store *s, struct buf *out)
{
	char ids[DN_MAX_VOLUMES][PROTO_FSID_MAX + 1];
	uint64_t cap[DN_MAX_VOLUMES], rem[DN_MAX_VOLUMES];
	uint32_t n = 0;
	for (unsigned i = 0; i < s->nvols && n < PROTO_FS_MAX; i++) {
		struct statvfs v;
		struct stat st;
		if (statvfs(s->vols[i], &v) || stat(s->vols[i], &st))
			continue;
		char id[PROTO_FSID_MAX + 1];
		snprintf(id, sizeof id, "%lx:%llx", (unsigned long)v.f_fsid,
			 (unsigned long long)st.st_dev);
		bool seen = false;
		for (uint32_t k = 0; k < n; k++)
			seen |= !strcmp(ids[k], id);
		if (seen)
			continue;
		snprintf(ids[n], sizeof ids[n], "%s", id);
		cap[n] = (uint64_t)v.f_blocks * v.f_frsize;
		rem[n] = (uint64_t)v.f_bavail * v.f_frsize;
		n++;
	}
	pack_u32(out, n);
	for (uint32_t k = 0; k < n; k++) {
		pack_str(out, ids[k]);
		pack_u64(out, cap[k]);
		pack_u64(out, rem[k]);
	}
}

uint64_t dn_store_count(struct dn_store *s)
{
	pthread_mutex_lock(&s->lock);
	uint64_t n = s->count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* ---- writing ---- */

int dn_store_create(struct dn_store *s, uint64_t id, uint64_t gs, struct dn_writer **out)
{
	pthread_mutex_lock(&s->lock);
	struct replica *r = map_find(s, id);
	bool exists = r && r->gs >= gs;
	pthread_mutex_unlock(&s->lock);
	if (exists)
		return -EEXIST;
	struct dn_writer *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->s = s;
	w->id = id;
	w->gs = gs;
	pthread_mutex_lock(&s->lock);
	w->vol = (uint8_t)(s->next_vol++ % s->nvols); /* spread over the disks */
	pthread_mutex_unlock(&s->lock);
	snprintf(w->data_path, sizeof w->data_path, "%.4000s/rbw/blk_%" PRIu64 "_%" PRIu64,
		 s->vols[w->vol], id, gs);
	snprintf(w->meta_path, sizeof w->meta_path, "%.4150s.meta", w->data_path);
	int rc = dn_spares_take(s->spares, w->vol, w->data_path, w->meta_path, &w->data_fd,
				&w->meta_fd);
	if (!rc) {
		*out = w;
		return 0;
	}
	if (rc == -EEXIST) {
		free(w);
		return -EBUSY;
	}
	rc = 0; /* no spare ready: its own files */
	/* O_EXCL: a second writer of the same replica must not truncate the first's data */
	w->meta_fd = -1;
	w->data_fd = open(w->data_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (w->data_fd < 0) {
		rc = -errno;
		free(w);
		return rc == -EEXIST ? -EBUSY : rc;
	}
	w->meta_fd = open(w->meta_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->meta_fd < 0) {
		rc = -errno;
		goto fail;
	}
	uint8_t hdr[DN_META_HDR];
	meta_header(hdr);
	if (pwrite(w->meta_fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr) {
		rc = errno ? -errno : -EIO;
		goto fail;
	}
	*out = w;
	return 0;
fail:
	log_error("cannot create replica 'blk_%" PRIu64 "': %s", id, strerror(-rc));
	dn_writer_abort(w);
	return rc;
}

static int pwrite_full(int fd, const void *p, size_t n, uint64_t off)
{
	const char *c = p;
	while (n) {
		ssize_t w = pwrite(fd, c, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		c += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int dn_writer_write(struct dn_writer *w, uint64_t offset, const void *data, size_t len,
		    const uint32_t *crcs, uint32_t ncrcs)
{
	if (offset != w->len || offset % PROTO_CHUNK_SIZE || len > PROTO_MAX_PACKET)
		return -EINVAL;
	uint32_t want = (uint32_t)((len + PROTO_CHUNK_SIZE - 1) / PROTO_CHUNK_SIZE);
	if (ncrcs != want)
		return -EINVAL;
	if (crc32c_verify(data, len, PROTO_CHUNK_SIZE, crcs) >= 0)
		return -EBADMSG;
	if (!len)
		return 0;
	int rc = pwrite_full(w->data_fd, data, len, offset);
	if (rc)
		return rc;
	uint8_t be[4 * (PROTO_MAX_PACKET / PROTO_CHUNK_SIZE)];
	for (uint32_t i = 0; i < ncrcs; i++)
		be32_put(be + 4 * i, crcs[i]);
	rc = pwrite_full(w->meta_fd, be, 4 * (size_t)ncrcs,
			 DN_META_HDR + 4 * (offset / PROTO_CHUNK_SIZE));
	if (rc)
		return rc;
	w->len += len;
	return 0;
}

uint64_t dn_writer_length(const struct dn_writer *w) { return w->len; }

static void writer_free(struct dn_writer *w)
{
	if (w->data_fd >= 0)
		close(w->data_fd);
	if (w->meta_fd >= 0)
		close(w->meta_fd);
	free(w);
}

int dn_writer_finalize(struct dn_writer *w, bool sync)
{
	struct dn_store *s = w->s;
	int rc = 0;
	if (sync && (fdatasync(w->data_fd) || fdatasync(w->meta_fd)))
		rc = -errno;
	char data[4200], meta[4200];
	final_paths(s, w->vol, w->id, w->gs, data, meta, sizeof data);
	if (!rc && (rename(w->meta_path, meta) || rename(w->data_path, data)))
		rc = -errno;
	if (rc) {
		log_error("cannot finalize replica 'blk_%" PRIu64 "': %s", w->id, strerror(-rc));
		unlink(meta);
		dn_writer_abort(w);
		return rc;
	}
	if (sync) {
		/* make the renames durable too */
		char dir[4200];
		snprintf(dir, sizeof dir, "%s/current/%02x", s->vols[w->vol],
			 (unsigned)(w->id & 0xff));
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	pthread_mutex_lock(&s->lock);
	struct replica *old = map_find(s, w->id);
	uint64_t old_gs = old ? old->gs : 0;
	uint8_t old_vol = old ? old->vol : 0;
	map_put(s, w->id, w->gs, w->len, w->vol);
	if (ALLOC_GROW(s->received, s->nreceived + 1, s->capreceived))
		abort();
	s->received[s->nreceived++] = (struct dn_replica_info){w->id, w->gs, w->len};
	pthread_mutex_unlock(&s->lock);
	dn_store_wake(s);
	if (old_gs && old_gs != w->gs) {
		/* an older version of this block: superseded */
		char od[4200], om[4200];
		final_paths(s, old_vol, w->id, old_gs, od, om, sizeof od);
		unlink(od);
		unlink(om);
	}
	writer_free(w);
	return 0;
}

void dn_writer_abort(struct dn_writer *w)
{
	unlink(w->data_path);
	unlink(w->meta_path);
	writer_free(w);
}

/* ---- reading, deleting, listing ---- */

int dn_store_open_read(struct dn_store *s, uint64_t id, uint64_t gs, int *data_fd,
		       int *meta_fd, uint64_t *len)
{
	pthread_mutex_lock(&s->lock);
	struct replica *r = map_find(s, id);
	int rc = !r ? -ENOENT : r->gs != gs ? -ESTALE : 0;
	uint64_t l = r ? r->len : 0;
	uint8_t vol = r ? r->vol : 0;
	pthread_mutex_unlock(&s->lock);
	if (rc)
		return rc;
	char data[4200], meta[4200];
	final_paths(s, vol, id, gs, data, meta, sizeof data);
	*data_fd = open(data, O_RDONLY | O_CLOEXEC);
	if (*data_fd < 0) {
		rc = -errno;
		if (rc == -ENOENT) {
			/* someone removed it under us: forget it and tell the namenode */
			log_warn("replica blk_%" PRIu64 "_%" PRIu64 " vanished from the disk", id, gs);
			dn_store_delete(s, id, gs);
		}
		return rc;
	}
	*meta_fd = open(meta, O_RDONLY | O_CLOEXEC);
	if (*meta_fd < 0) {
		rc = -errno;
		close(*data_fd);
		return rc;
	}
	*len = l;
	return 0;
}

int dn_store_sync(struct dn_store *s, uint64_t id, uint64_t gs)
{
	int dfd, mfd;
	uint64_t len;
	int rc = dn_store_open_read(s, id, gs, &dfd, &mfd, &len);
	if (rc)
		return rc;
	if (fdatasync(dfd) || fdatasync(mfd))
		rc = -errno;
	close(dfd);
	close(mfd);
	pthread_mutex_lock(&s->lock);
	struct replica *r = map_find(s, id);
	uint8_t vol = r ? r->vol : 0;
	pthread_mutex_unlock(&s->lock);
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/current/%02x", s->vols[vol], (unsigned)(id & 0xff));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (!rc && fsync(fd))
			rc = -errno;
		close(fd);
	}
	return rc;
}

int dn_store_delete(struct dn_store *s, uint64_t id, uint64_t gs)
{
	pthread_mutex_lock(&s->lock);
	struct replica *r = map_find(s, id);
	if (!r || (gs && r->gs != gs)) {
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	uint64_t rgs = r->gs;
	uint8_t vol = r->vol;
	map_del(s, id);
	if (ALLOC_GROW(s->deleted, s->ndeleted + 1, s->capdeleted))
		abort();
	s->deleted[s->ndeleted++] = id;
	pthread_mutex_unlock(&s->lock);
	dn_store_wake(s);
	char data[4200], meta[4200];
	final_paths(s, vol, id, rgs, data, meta, sizeof data);
	unlink(data);
	unlink(meta);
	return 0;
}

int dn_store_list(struct dn_store *s, bool for_report, struct dn_replica_info **out,
		  size_t *n)
{
	pthread_mutex_lock(&s->lock);
	struct dn_replica_info *v = malloc((s->count + 1) * sizeof *v);
	if (!v) {
		pthread_mutex_unlock(&s->lock);
		return -ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct replica *r = s->buckets[i]; r; r = r->next)
			v[k++] = (struct dn_replica_info){r->id, r->gs, r->len};
	if (for_report) { /* the full report supersedes the pending incremental one */
		s->nreceived = 0;
		s->ndeleted = 0;
	}
	pthread_mutex_unlock(&s->lock);
	*out = v;
	*n = k;
	return 0;
}

void dn_store_take_changes(struct dn_store *s, struct dn_replica_info **received,
			   size_t *nreceived, uint64_t **deleted, size_t *ndeleted)
{
	pthread_mutex_lock(&s->lock);
	*received = s->received;
	*nreceived = s->nreceived;
	*deleted = s->deleted;
	*ndeleted = s->ndeleted;
	s->received = NULL;
	s->nreceived = s->capreceived = 0;
	s->deleted = NULL;
	s->ndeleted = s->capdeleted = 0;
	pthread_mutex_unlock(&s->lock);
}

int dn_store_verify(struct dn_store *s, uint64_t id, uint64_t gs)
{
	int dfd, mfd;
	uint64_t len;
	int rc = dn_store_open_read(s, id, gs, &dfd, &mfd, &len);
	if (rc)
		return rc;
	size_t bufsz = PROTO_PACKET_SIZE;
	uint8_t *buf = malloc(bufsz), crcb[4 * (PROTO_PACKET_SIZE / PROTO_CHUNK_SIZE)];
	uint32_t crcs[PROTO_PACKET_SIZE / PROTO_CHUNK_SIZE];
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	struct stat st;
	if (fstat(dfd, &st) || (uint64_t)st.st_size != len) {
		rc = -EBADMSG; /* truncated or grown behind our back */
		goto out;
	}
	for (uint64_t pos = 0; pos < len; pos += bufsz) {
		size_t n = len - pos < bufsz ? (size_t)(len - pos) : bufsz;
		size_t nc = (n + PROTO_CHUNK_SIZE - 1) / PROTO_CHUNK_SIZE;
		if (pread(dfd, buf, n, (off_t)pos) != (ssize_t)n ||
		    pread(mfd, crcb, 4 * nc, (off_t)(DN_META_HDR + 4 * (pos / PROTO_CHUNK_SIZE))) !=
			    (ssize_t)(4 * nc)) {
			rc = -EBADMSG;
			goto out;
		}
		for (size_t i = 0; i < nc; i++)
			crcs[i] = be32_get(crcb + 4 * i);
		if (crc32c_verify(buf, n, PROTO_CHUNK_SIZE, crcs) >= 0) {
			rc = -EBADMSG;
			goto out;
		}
	}
out:
	free(buf);
	close(dfd);
	close(mfd);
	return rc;
}

ssize_t dn_store_pread(struct dn_store *s, uint64_t id, uint64_t gs, uint64_t off, size_t len,
		       void *buf)
{
	if (off % PROTO_CHUNK_SIZE)
		return -EINVAL;
	int dfd, mfd;
	uint64_t rlen;
	int rc = dn_store_open_read(s, id, gs, &dfd, &mfd, &rlen);
	if (rc)
		return rc;
	ssize_t out = 0;
	if (off >= rlen)
		goto done;
	if (len > rlen - off)
		len = (size_t)(rlen - off);
	size_t nc = (len + PROTO_CHUNK_SIZE - 1) / PROTO_CHUNK_SIZE;
	uint8_t *crcb = malloc(4 * nc);
	uint32_t *crcs = malloc(4 * nc);
	if (!crcb || !crcs) {
		out = -ENOMEM;
	} else if (pread(dfd, buf, len, (off_t)off) != (ssize_t)len ||
		   pread(mfd, crcb, 4 * nc, (off_t)(DN_META_HDR + 4 * (off / PROTO_CHUNK_SIZE))) !=
			   (ssize_t)(4 * nc)) {
		out = -EBADMSG;
	} else {
		for (size_t i = 0; i < nc; i++)
			crcs[i] = be32_get(crcb + 4 * i);
		/* a short last piece is only allowed at the replica's end */
		out = crc32c_verify(buf, len, PROTO_CHUNK_SIZE, crcs) >= 0 ? -EBADMSG
									    : (ssize_t)len;
	}
	free(crcb);
	free(crcs);
	if (out == -EBADMSG) {
		log_error("replica %" PRIu64 "_%" PRIu64 " fails its checksums at offset %" PRIu64
			  "; reporting it", id, gs, off);
		dn_store_report_bad(s, id, gs, PROTO_BAD_CHECKSUM);
	}
done:
	close(dfd);
	close(mfd);
	return out;
}

void dn_store_announce(struct dn_store *s, uint64_t id)
{
	pthread_mutex_lock(&s->lock);
	struct replica *r = map_find(s, id);
	if (r) {
		if (ALLOC_GROW(s->received, s->nreceived + 1, s->capreceived))
			abort();
		s->received[s->nreceived++] = (struct dn_replica_info){r->id, r->gs, r->len};
	}
	pthread_mutex_unlock(&s->lock);
	if (r)
		dn_store_wake(s);
}

void dn_store_report_bad(struct dn_store *s, uint64_t id, uint64_t gs, uint8_t why)
{
	pthread_mutex_lock(&s->lock);
	if (ALLOC_GROW(s->bad, s->nbad + 1, s->capbad))
		abort();
	s->bad[s->nbad++] = (struct dn_bad_replica){id, gs, why};
	pthread_mutex_unlock(&s->lock);
	dn_store_wake(s);
}

void dn_store_take_bad(struct dn_store *s, struct dn_bad_replica **out, size_t *n)
{
	pthread_mutex_lock(&s->lock);
	*out = s->bad;
	*n = s->nbad;
	s->bad = NULL;
	s->nbad = s->capbad = 0;
	pthread_mutex_unlock(&s->lock);
}

int dn_store_event_fd(const struct dn_store *s) { return s->efd; }

void dn_store_wake(struct dn_store *s)
{
	uint64_t one = 1;
	ssize_t w = write(s->efd, &one, sizeof one);
	(void)w; /* only fails when the counter is already huge: still readable */
}
