/* backup: the namespace backup file. See backup.h. */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crc.h"
#include "pack.h"

#define MAGIC "DFSBACKUP\n"
#define END_MARK 0xffffffffu
#define MAX_FIELD (64u << 20)

struct backup_writer {
	FILE *f;
	struct buf tmp, path;
	uint64_t count;
	uint32_t crc; /* CRC32C of the records so far */
};

int backup_create(const char *dir, struct backup_writer **out)
{
	struct backup_writer *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	buf_printf(&w->path, "%s/%s", dir, BACKUP_FILE);
	buf_printf(&w->tmp, "%s.part", w->path.data);
	int fd = open(w->tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(w->f = fdopen(fd, "w"))) {
		int rc = -errno;
		if (fd >= 0)
			close(fd);
		buf_free(&w->path);
		buf_free(&w->tmp);
		free(w);
		return rc;
	}
	struct buf h = BUF_INIT;
	buf_adds(&h, MAGIC);
	pack_u32(&h, 1);
	pack_i64(&h, (int64_t)time(NULL));
	int rc = fwrite(h.data, 1, h.len, w->f) == h.len ? 0 : -EIO;
	buf_free(&h);
	if (rc) {
		backup_abort(w);
		return rc;
	}
	*out = w;
	return 0;
}

int backup_write(struct backup_writer *w, const void *records, size_t len, uint32_t n)
{
	if (len && fwrite(records, 1, len, w->f) != len)
		return -EIO;
	w->crc = crc32c_extend(w->crc, records, len);
	w->count += n;
	return 0;
}

int backup_finish(struct backup_writer *w)
{
	struct buf t = BUF_INIT;
	pack_u32(&t, END_MARK);
	pack_u64(&t, w->count);
	pack_u32(&t, w->crc);
	int rc = fwrite(t.data, 1, t.len, w->f) == t.len ? 0 : -EIO;
	buf_free(&t);
	if (!rc && (fflush(w->f) || fsync(fileno(w->f))))
		rc = -errno;
	if (fclose(w->f) && !rc)
		rc = -errno;
	w->f = NULL;
	if (!rc && rename(w->tmp.data, w->path.data))
		rc = -errno;
	if (rc)
		unlink(w->tmp.data);
	buf_free(&w->path);
	buf_free(&w->tmp);
	free(w);
	return rc;
}

void backup_abort(struct backup_writer *w)
{
	if (!w)
		return;
	if (w->f)
		fclose(w->f);
	unlink(w->tmp.data);
	buf_free(&w->path);
	buf_free(&w->tmp);
	free(w);
}

struct backup_reader {
	FILE *f;
	uint64_t count, seen;
	uint32_t crc;
};

static int read_exact(FILE *f, void *p, size_t n)
{
	return fread(p, 1, n, f) == n ? 0 : -EPROTO;
}

/* Reads record bytes, adding them to the running checksum. */
static int read_rec(struct backup_reader *r, void *p, size_t n)
{
	int rc = read_exact(r->f, p, n);
	if (!rc)
		r->crc = crc32c_extend(r->crc, p, n);
	return rc;
}

int backup_open(const char *dir, struct backup_reader **out)
{
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/%s", dir, BACKUP_FILE);
	FILE *f = fopen(path.data, "re");
	buf_free(&path);
	if (!f)
		return -errno;
	uint8_t h[22];
	if (read_exact(f, h, sizeof h) || memcmp(h, MAGIC, 10) || be32_get(h + 10) != 1) {
		fclose(f);
		return -EPROTO;
	}
	struct backup_reader *r = calloc(1, sizeof *r);
	if (!r) {
		fclose(f);
		return -ENOMEM;
	}
	r->f = f;
	*out = r;
	return 0;
}

/* Reads a record's field of len bytes into out (reset first). */
static int read_field(struct backup_reader *r, uint32_t len, struct buf *out)
{
	if (len > MAX_FIELD)
		return -EPROTO;
	buf_reset(out);
	buf_grow(out, len + 1);
	if (read_rec(r, out->data, len))
		return -EPROTO;
	buf_commit(out, len);
	return 0;
}

int backup_next(struct backup_reader *r, struct buf *key, struct buf *value)
{
	uint8_t b[4];
	if (read_exact(r->f, b, 4))
		return -EPROTO;
	uint32_t kl = be32_get(b);
	if (kl != END_MARK)
		r->crc = crc32c_extend(r->crc, b, 4);
	if (kl == END_MARK) {
		uint8_t t[12];
		if (read_exact(r->f, t, sizeof t) || be64_get(t) != r->seen ||
		    be32_get(t + 8) != r->crc || fgetc(r->f) != EOF)
			return -EPROTO;
		r->count = r->seen;
		return 0;
	}
	uint8_t vb[4];
	if (read_field(r, kl, key) || read_rec(r, vb, 4) || read_field(r, be32_get(vb), value))
		return -EPROTO;
	r->seen++;
	return 1;
}

uint64_t backup_count(const struct backup_reader *r) { return r->count; }

void backup_close(struct backup_reader *r)
{
	if (!r)
		return;
	fclose(r->f);
	free(r);
}
