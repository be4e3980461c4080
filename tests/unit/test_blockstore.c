/*
 * Unit tests for the datanode block store (datanode/blockstore.h) in a fresh temporary
 * data directory per test. Every test runs in its own forked process (CK_FORK default).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../datanode/blockstore.h"
#include "../../datanode/layout.h"
#include "buf.h"
#include "crc.h"
#include "log.h"
#include "pack.h"
#include "proto.h"

#include "testdir.h"
#include "unit.h"

#define CHUNK PROTO_CHUNK_SIZE

/* ---- fixtures ---- */

static char dir[4200];

static void tmp_setup(void) { testdir_make("store"); }

static void dir_setup(void)
{
	snprintf(dir, sizeof dir, "%s/data-XXXXXX", tmp_base);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* ---- helpers ---- */

static struct dn_store *open_ok(const char *id)
{
	struct dn_store *s = NULL;
	int rc = dn_store_open(dir, id, &s);
	ck_assert_msg(rc == 0, "dn_store_open: %d", rc);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* Appends one packet of len bytes at the writer's current end, with correct crcs. */
static int write_packet(struct dn_writer *w, const uint8_t *data, size_t len)
{
	uint32_t crcs[PROTO_MAX_PACKET / CHUNK];
	uint32_t n = crc32c_chunks(data, len, CHUNK, crcs);
	return dn_writer_write(w, dn_writer_length(w), data, len, crcs, n);
}

/* Writes and finalizes replica (id, gs) holding data[0..len) in packets of 2 chunks. */
static void put_replica(struct dn_store *s, uint64_t id, uint64_t gs, const uint8_t *data,
			size_t len)
{
	struct dn_writer *w;
	ck_assert_int_eq(dn_store_create(s, id, gs, &w), 0);
	for (size_t off = 0; off < len; off += 2 * CHUNK) {
		size_t n = len - off < 2 * CHUNK ? len - off : 2 * CHUNK;
		ck_assert_int_eq(write_packet(w, data + off, n), 0);
	}
	ck_assert_uint_eq(dn_writer_length(w), len);
	ck_assert_int_eq(dn_writer_finalize(w, false), 0);
}

static void final_path(char *out, size_t sz, uint64_t id, uint64_t gs, const char *suffix)
{
	snprintf(out, sz, "%s/current/%02x/blk_%" PRIu64 "_%" PRIu64 "%s", dir,
		 (unsigned)(id & 0xff), id, gs, suffix);
}

/* Number of entries (other than . and ..) in dir/sub. */
static int count_entries(const char *sub)
{
	char p[4300];
	snprintf(p, sizeof p, "%s/%s", dir, sub);
	DIR *d = opendir(p);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strncmp(e->d_name, "spare_", 6)) /* files made ahead (spares.h) */
			n++;
	closedir(d);
	return n;
}

/* The inode numbers of the spare data files in rbw/ (at most max); their count. */
static int spare_inodes(ino_t *out, int max)
{
	char p[4300];
	snprintf(p, sizeof p, "%s/rbw", dir);
	DIR *d = opendir(p);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "spare_", 6) && !strstr(e->d_name, ".meta") && n < max)
			out[n++] = e->d_ino;
	closedir(d);
	return n;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, p + got, n - got, (off_t)got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* dn_store_open_read of replica (id, gs), closing what it opened: its result. A failed
 * open hands back no descriptors. */
static int open_read_rc(struct dn_store *s, uint64_t id, uint64_t gs)
{
	int dfd = -1, mfd = -1;
	uint64_t len;
	int rc = dn_store_open_read(s, id, gs, &dfd, &mfd, &len);
	if (rc == 0) {
		close(dfd);
		close(mfd);
	} else {
		ck_assert_int_eq(dfd, -1);
		ck_assert_int_eq(mfd, -1);
	}
	return rc;
}

/* Finalized replica (id, gs) opens for reading and holds len bytes. */
static void assert_readable(struct dn_store *s, uint64_t id, uint64_t gs, uint64_t len)
{
	int dfd, mfd;
	uint64_t got = len + 1;
	ck_assert_int_eq(dn_store_open_read(s, id, gs, &dfd, &mfd, &got), 0);
	ck_assert_uint_eq(got, len);
	close(dfd);
	close(mfd);
}

/* The data file and the meta file of finalized replica (id, gs) are both on disk
 * (present) or both gone. */
static void assert_on_disk(uint64_t id, uint64_t gs, bool present)
{
	char p[4300];
	final_path(p, sizeof p, id, gs, "");
	ck_assert_msg(exists(p) == present, "'%s' %s", p, present ? "missing" : "left");
	final_path(p, sizeof p, id, gs, ".meta");
	ck_assert_msg(exists(p) == present, "'%s' %s", p, present ? "missing" : "left");
}

/* A writer of replica (id, 1) that holds one packet, data[0..len): unfinished, so its
 * data and meta files are in rbw/. */
static struct dn_writer *start_replica(struct dn_store *s, uint64_t id, const uint8_t *data,
				       size_t len)
{
	struct dn_writer *w;
	ck_assert_int_eq(dn_store_create(s, id, 1, &w), 0);
	ck_assert_int_eq(write_packet(w, data, len), 0);
	ck_assert_int_eq(count_entries("rbw"), 2);
	return w;
}

/* The bytes the store counts as used. */
static uint64_t store_used(struct dn_store *s)
{
	uint64_t cap, used, rem;
	dn_store_usage(s, &cap, &used, &rem);
	return used;
}

/* ---- node id ---- */

START_TEST(test_open_id)
{
	struct dn_store *s = open_ok("dnX");
	ck_assert_str_eq(dn_store_id(s), "dnX");
	ck_assert_uint_eq(dn_store_count(s), 0);
	dn_store_close(s);

	char p[4300];
	snprintf(p, sizeof p, "%s/VERSION", dir);
	FILE *f = fopen(p, "r");
	ck_assert_ptr_nonnull(f);
	char line[128] = "";
	ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
	ck_assert_str_eq(line, "id = dnX\n");
	ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
	fclose(f);
	ck_assert_str_eq(line, "layout = 1\n"); /* DN_LAYOUT_VERSION, recorded */
	snprintf(p, sizeof p, "%s/rbw", dir);
	ck_assert(exists(p));

	/* the directory belongs to dnX */
	s = NULL;
	ck_assert_int_eq(dn_store_open(dir, "dnY", &s), -EINVAL);
	s = open_ok(NULL);
	ck_assert_str_eq(dn_store_id(s), "dnX");
	dn_store_close(s);
	s = open_ok("");
	ck_assert_str_eq(dn_store_id(s), "dnX");
	dn_store_close(s);
	s = open_ok("dnX");
	ck_assert_str_eq(dn_store_id(s), "dnX");
	dn_store_close(s);
}
END_TEST

START_TEST(test_open_random_id)
{
	struct dn_store *s = open_ok(NULL);
	char id[PROTO_ID_MAX + 1];
	snprintf(id, sizeof id, "%s", dn_store_id(s));
	ck_assert_uint_gt(strlen(id), 0);
	dn_store_close(s);
	/* chosen once, then kept */
	s = open_ok(NULL);
	ck_assert_str_eq(dn_store_id(s), id);
	dn_store_close(s);
}
END_TEST

START_TEST(test_open_malformed_version)
{
	char p[4300];
	snprintf(p, sizeof p, "%s/VERSION", dir);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("garbage\n", f);
	fclose(f);
	struct dn_store *s = NULL;
	ck_assert_int_eq(dn_store_open(dir, NULL, &s), -EINVAL);
}
END_TEST

static void put_version(const char *content)
{
	char p[4300];
	snprintf(p, sizeof p, "%s/VERSION", dir);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
}

START_TEST(test_layout_versions)
{
	/* a directory of the layout before versions were recorded: refused until upgraded */
	put_version("id = dnOld\n");
	struct buf why = BUF_INIT;
	ck_assert_int_eq(dn_layout_check(dir, &why), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(why.data, "dfs-datanode upgrade --data"));
	ck_assert_ptr_nonnull(strstr(why.data, "layout 0, this datanode uses 1"));
	struct dn_store *s = NULL;
	ck_assert_int_eq(dn_store_open(dir, NULL, &s), -EUCLEAN);
	buf_reset(&why);
	ck_assert_int_eq(dn_layout_upgrade(dir, &why), 0);
	ck_assert_ptr_nonnull(strstr(why.data, "upgraded from layout 0 to 1"));
	struct dn_version v;
	ck_assert_int_eq(dn_version_read(dir, &v), 0);
	ck_assert_str_eq(v.id, "dnOld");
	ck_assert_int_eq(v.layout, DN_LAYOUT_VERSION);
	buf_reset(&why);
	ck_assert_int_eq(dn_layout_check(dir, &why), 0);
	ck_assert_int_eq(dn_store_open(dir, NULL, &s), 0);
	ck_assert_str_eq(dn_store_id(s), "dnOld");
	dn_store_close(s);

	/* a newer layout: refused, and upgrade leaves it alone */
	put_version("id = dnNew\nlayout = 9\n");
	buf_reset(&why);
	ck_assert_int_eq(dn_layout_check(dir, &why), -EPROTONOSUPPORT);
	ck_assert_ptr_nonnull(strstr(why.data, "layout 9, newer than this datanode's 1"));
	s = NULL;
	ck_assert_int_eq(dn_store_open(dir, NULL, &s), -EPROTONOSUPPORT);
	buf_reset(&why);
	ck_assert_int_eq(dn_layout_upgrade(dir, &why), -EPROTONOSUPPORT);
	ck_assert_int_eq(dn_version_read(dir, &v), 0);
	ck_assert_int_eq(v.layout, 9);

	/* a bad layout line */
	put_version("id = dnBad\nlayout = x\n");
	ck_assert_int_eq(dn_version_read(dir, &v), -EINVAL);
	buf_free(&why);
}
END_TEST

/* ---- writing and reading ---- */

START_TEST(test_write_read)
{
	struct dn_store *s = open_ok("dnX");
	const size_t l1 = 2 * CHUNK, l2 = CHUNK, l3 = 1000, total = l1 + l2 + l3;
	uint8_t *data = random_bytes(total, 42);
	uint32_t crcs[8];
	uint32_t nchunks = crc32c_chunks(data, total, CHUNK, crcs);
	ck_assert_uint_eq(nchunks, 4);

	const uint64_t id = 0x1234567, gs = 1001;
	struct dn_writer *w;
	ck_assert_int_eq(dn_store_create(s, id, gs, &w), 0);
	ck_assert_uint_eq(dn_writer_length(w), 0);
	ck_assert_int_eq(dn_writer_write(w, 0, data, l1, crcs, 2), 0);
	ck_assert_uint_eq(dn_writer_length(w), l1);
	ck_assert_int_eq(dn_writer_write(w, l1, data + l1, l2, crcs + 2, 1), 0);
	ck_assert_int_eq(dn_writer_write(w, l1 + l2, data + l1 + l2, l3, crcs + 3, 1), 0);
	ck_assert_uint_eq(dn_writer_length(w), total);
	/* not readable before it is finalized */
	int dfd = -1, mfd = -1;
	uint64_t len = 0;
	ck_assert_int_eq(dn_store_open_read(s, id, gs, &dfd, &mfd, &len), -ENOENT);
	ck_assert_int_eq(count_entries("rbw"), 2);
	ck_assert_int_eq(dn_writer_finalize(w, true), 0);
	ck_assert_int_eq(count_entries("rbw"), 0);

	ck_assert_int_eq(dn_store_open_read(s, id, gs, &dfd, &mfd, &len), 0);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_ge(mfd, 0);
	ck_assert_uint_eq(len, total);

	struct stat st;
	ck_assert_int_eq(fstat(dfd, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)total);
	uint8_t *back = malloc(total);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(read_all(dfd, back, total), 0);
	ck_assert_mem_eq(back, data, total);

	ck_assert_int_eq(fstat(mfd, &st), 0);
	ck_assert_int_eq(st.st_size, DN_META_HDR + 4 * (off_t)nchunks);
	uint8_t meta[DN_META_HDR + 4 * 4];
	ck_assert_int_eq(read_all(mfd, meta, sizeof meta), 0);
	ck_assert_mem_eq(meta, "DFSC", 4);
	ck_assert_uint_eq(be16_get(meta + 4), 1);
	ck_assert_uint_eq(be32_get(meta + 8), CHUNK);
	for (uint32_t i = 0; i < nchunks; i++)
		ck_assert_uint_eq(be32_get(meta + DN_META_HDR + 4 * i), crcs[i]);
	close(dfd);
	close(mfd);

	/* where the header says finalized replicas live */
	assert_on_disk(id, gs, true);

	uint64_t cap, used, rem;
	dn_store_usage(s, &cap, &used, &rem);
	ck_assert_uint_eq(used, total);
	ck_assert_uint_gt(cap, 0);
	ck_assert_uint_eq(dn_store_count(s), 1);
	free(back);
	free(data);
	dn_store_close(s);
}
END_TEST

START_TEST(test_write_bad_crc)
{
	struct dn_store *s = open_ok("dnX");
	uint8_t *data = random_bytes(2 * CHUNK, 7);
	uint32_t crcs[2];
	crc32c_chunks(data, 2 * CHUNK, CHUNK, crcs);
	struct dn_writer *w;
	ck_assert_int_eq(dn_store_create(s, 5, 1, &w), 0);
	crcs[1] ^= 0x100;
	ck_assert_int_eq(dn_writer_write(w, 0, data, 2 * CHUNK, crcs, 2), -EBADMSG);
	ck_assert_uint_eq(dn_writer_length(w), 0);
	crcs[1] ^= 0x100;
	data[10] ^= 1; /* the data rather than the checksum is damaged */
	ck_assert_int_eq(dn_writer_write(w, 0, data, 2 * CHUNK, crcs, 2), -EBADMSG);
	ck_assert_uint_eq(dn_writer_length(w), 0);
	data[10] ^= 1;
	/* the writer is still usable with good data */
	ck_assert_int_eq(dn_writer_write(w, 0, data, 2 * CHUNK, crcs, 2), 0);
	ck_assert_uint_eq(dn_writer_length(w), 2 * CHUNK);
	dn_writer_abort(w);
	free(data);
	dn_store_close(s);
}
END_TEST

START_TEST(test_write_bad_offset)
{
	struct dn_store *s = open_ok("dnX");
	uint8_t *data = random_bytes(CHUNK, 8);
	uint32_t crc[1];
	crc32c_chunks(data, CHUNK, CHUNK, crc);
	struct dn_writer *w;
	ck_assert_int_eq(dn_store_create(s, 6, 1, &w), 0);
	ck_assert_int_eq(dn_writer_write(w, CHUNK, data, CHUNK, crc, 1), -EINVAL); /* a gap */
	ck_assert_int_eq(dn_writer_write(w, 0, data, CHUNK, crc, 1), 0);
	ck_assert_int_eq(dn_writer_write(w, 0, data, CHUNK, crc, 1), -EINVAL); /* a rewrite */
	ck_assert_int_eq(dn_writer_write(w, 2 * CHUNK, data, CHUNK, crc, 1), -EINVAL);
	/* the wrong number of checksums */
	ck_assert_int_eq(dn_writer_write(w, CHUNK, data, CHUNK, crc, 0), -EINVAL);
	ck_assert_uint_eq(dn_writer_length(w), CHUNK);
	/* after a short packet the replica cannot continue */
	uint32_t c100;
	crc32c_chunks(data, 100, CHUNK, &c100);
	ck_assert_int_eq(dn_writer_write(w, CHUNK, data, 100, &c100, 1), 0);
	ck_assert_int_eq(dn_writer_write(w, CHUNK + 100, data, 100, &c100, 1), -EINVAL);
	ck_assert_uint_eq(dn_writer_length(w), CHUNK + 100);
	dn_writer_abort(w);
	free(data);
	dn_store_close(s);
}
END_TEST

START_TEST(test_create_existing)
{
	struct dn_store *s = open_ok("dnX");
	uint8_t data[3000];
	fill(data, sizeof data, 9);
	put_replica(s, 77, 5, data, sizeof data);
	struct dn_writer *w = NULL;
	ck_assert_int_eq(dn_store_create(s, 77, 5, &w), -EEXIST);
	ck_assert_int_eq(dn_store_create(s, 77, 4, &w), -EEXIST); /* older genstamp */
	/* the finalized replica was not disturbed */
	assert_readable(s, 77, 5, sizeof data);
	dn_store_close(s);
}
END_TEST

START_TEST(test_newer_genstamp_supersedes)
{
	struct dn_store *s = open_ok("dnX");
	uint8_t a[500], b[800];
	fill(a, sizeof a, 1);
	fill(b, sizeof b, 2);
	put_replica(s, 300, 5, a, sizeof a);
	put_replica(s, 300, 6, b, sizeof b); /* e.g. pipeline recovery */
	ck_assert_uint_eq(dn_store_count(s), 1);
	ck_assert_int_eq(open_read_rc(s, 300, 5), -ESTALE);
	assert_readable(s, 300, 6, sizeof b);
	assert_on_disk(300, 5, false);
	ck_assert_uint_eq(store_used(s), sizeof b);
	dn_store_close(s);
}
END_TEST

START_TEST(test_open_read_errors)
{
	struct dn_store *s = open_ok("dnX");
	uint8_t data[100];
	fill(data, sizeof data, 3);
	put_replica(s, 9, 2, data, sizeof data);
	/* (open_read_rc checks that a failed open hands back no descriptors) */
	ck_assert_int_eq(open_read_rc(s, 9, 3), -ESTALE);
	ck_assert_int_eq(open_read_rc(s, 9, 1), -ESTALE);
	ck_assert_int_eq(open_read_rc(s, 10, 2), -ENOENT);
	ck_assert_int_eq(open_read_rc(s, 9 + 256, 2), -ENOENT);
	dn_store_close(s);
}
END_TEST

START_TEST(test_empty_replica)
{
	/* a block whose only packet is empty: 0 bytes, a bare meta header */
	struct dn_store *s = open_ok("dnX");
	struct dn_writer *w;
	ck_assert_int_eq(dn_store_create(s, 11, 1, &w), 0);
	ck_assert_int_eq(dn_writer_write(w, 0, "", 0, NULL, 0), 0);
	ck_assert_int_eq(dn_writer_finalize(w, false), 0);
	int dfd, mfd;
	uint64_t len = 99;
	ck_assert_int_eq(dn_store_open_read(s, 11, 1, &dfd, &mfd, &len), 0);
	ck_assert_uint_eq(len, 0);
	struct stat st;
	ck_assert_int_eq(fstat(mfd, &st), 0);
	ck_assert_int_eq(st.st_size, DN_META_HDR);
	close(dfd);
	close(mfd);
	dn_store_close(s);
	/* and it survives a reopen */
	s = open_ok(NULL);
	assert_readable(s, 11, 1, 0);
	dn_store_close(s);
}
END_TEST

/* ---- listing, incremental changes, delete ---- */

static const struct dn_replica_info *find_info(const struct dn_replica_info *v, size_t n,
					       uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

START_TEST(test_list)
{
	struct dn_store *s = open_ok("dnX");
	uint8_t data[3 * CHUNK];
	fill(data, sizeof data, 4);
	put_replica(s, 1, 10, data, 100);
	put_replica(s, 2, 20, data, 3 * CHUNK);
	put_replica(s, 257, 30, data, CHUNK + 1); /* same subdirectory as 1 */
	struct dn_writer *w; /* being written: not listed */
	ck_assert_int_eq(dn_store_create(s, 4, 40, &w), 0);
	ck_assert_int_eq(write_packet(w, data, 10), 0);

	struct dn_replica_info *v = NULL;
	size_t n = 0;
	ck_assert_int_eq(dn_store_list(s, false, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	const struct dn_replica_info *r = find_info(v, n, 1);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->gs, 10);
	ck_assert_uint_eq(r->len, 100);
	r = find_info(v, n, 2);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->gs, 20);
	ck_assert_uint_eq(r->len, 3 * CHUNK);
	r = find_info(v, n, 257);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->gs, 30);
	ck_assert_uint_eq(r->len, CHUNK + 1);
	ck_assert_ptr_null(find_info(v, n, 4));
	free(v);
	ck_assert_uint_eq(dn_store_count(s), 3);

	/* a plain listing (the scanner's) keeps the pending incremental report; only the
	 * full report's listing replaces it */
	struct dn_replica_info *rv;
	uint64_t *dv;
	size_t rn, dn;
	ck_assert_int_eq(dn_store_list(s, false, &v, &n), 0);
	free(v);
	dn_store_take_changes(s, &rv, &rn, &dv, &dn);
	ck_assert_uint_eq(rn, 3);
	free(rv);
	free(dv);
	put_replica(s, 5, 50, data, 10);
	ck_assert_int_eq(dn_store_list(s, true, &v, &n), 0);
	free(v);
	dn_store_take_changes(s, &rv, &rn, &dv, &dn);
	ck_assert_uint_eq(rn, 0);
	free(rv);
	free(dv);
	dn_writer_abort(w);
	dn_store_close(s);
}
END_TEST

START_TEST(test_changes)
{
	struct dn_store *s = open_ok("dnX");
	uint8_t data[500];
	fill(data, sizeof data, 5);
	struct dn_replica_info *rec = NULL;
	uint64_t *del = NULL;
	size_t nrec = 9, ndel = 9;
	dn_store_take_changes(s, &rec, &nrec, &del, &ndel);
	ck_assert_uint_eq(nrec, 0);
	ck_assert_uint_eq(ndel, 0);
	free(rec);
	free(del);

	put_replica(s, 100, 1, data, 500);
	put_replica(s, 101, 2, data, 250);
	struct dn_writer *w; /* aborted: never reported */
	ck_assert_int_eq(dn_store_create(s, 102, 3, &w), 0);
	dn_writer_abort(w);

	dn_store_take_changes(s, &rec, &nrec, &del, &ndel);
	ck_assert_uint_eq(nrec, 2);
	ck_assert_uint_eq(ndel, 0);
	const struct dn_replica_info *r = find_info(rec, nrec, 100);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->gs, 1);
	ck_assert_uint_eq(r->len, 500);
	r = find_info(rec, nrec, 101);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->len, 250);
	free(rec);
	free(del);

	/* taken once */
	dn_store_take_changes(s, &rec, &nrec, &del, &ndel);
	ck_assert_uint_eq(nrec, 0);
	ck_assert_uint_eq(ndel, 0);
	free(rec);
	free(del);

	ck_assert_int_eq(dn_store_delete(s, 100, 2), -ENOENT); /* wrong genstamp */
	ck_assert_int_eq(dn_store_delete(s, 100, 1), 0);
	ck_assert_int_eq(dn_store_delete(s, 101, 0), 0); /* any genstamp */
	ck_assert_int_eq(dn_store_delete(s, 100, 1), -ENOENT);
	ck_assert_int_eq(dn_store_delete(s, 555, 0), -ENOENT);
	dn_store_take_changes(s, &rec, &nrec, &del, &ndel);
	ck_assert_uint_eq(nrec, 0);
	ck_assert_uint_eq(ndel, 2);
	ck_assert(del[0] == 100 || del[1] == 100);
	ck_assert(del[0] == 101 || del[1] == 101);
	free(rec);
	free(del);

	/* deleted replicas are gone from the map and from disk */
	ck_assert_int_eq(open_read_rc(s, 100, 1), -ENOENT);
	assert_on_disk(100, 1, false);
	ck_assert_uint_eq(dn_store_count(s), 0);
	ck_assert_uint_eq(store_used(s), 0);
	dn_store_close(s);
}
END_TEST

/* ---- restart ---- */

START_TEST(test_reopen_scan)
{
	struct dn_store *s = open_ok("dnX");
	uint8_t *data = random_bytes(3 * CHUNK, 6);
	put_replica(s, 1000, 7, data, 3 * CHUNK - 5);
	put_replica(s, 1001, 8, data, 2000);
	dn_store_close(s);

	s = open_ok(NULL);
	ck_assert_uint_eq(dn_store_count(s), 2);
	int dfd, mfd;
	uint64_t len;
	ck_assert_int_eq(dn_store_open_read(s, 1000, 7, &dfd, &mfd, &len), 0);
	ck_assert_uint_eq(len, 3 * CHUNK - 5);
	uint8_t *back = malloc(len);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(read_all(dfd, back, len), 0);
	ck_assert_mem_eq(back, data, len);
	close(dfd);
	close(mfd);
	assert_readable(s, 1001, 8, 2000);
	ck_assert_int_eq(open_read_rc(s, 1001, 9), -ESTALE);
	struct dn_writer *w;
	ck_assert_int_eq(dn_store_create(s, 1001, 8, &w), -EEXIST);
	ck_assert_uint_eq(store_used(s), 3 * CHUNK - 5 + 2000);
	/* replicas found by the scan are not "newly received" */
	struct dn_replica_info *rec;
	uint64_t *del;
	size_t nrec, ndel;
	dn_store_take_changes(s, &rec, &nrec, &del, &ndel);
	ck_assert_uint_eq(nrec, 0);
	free(rec);
	free(del);
	free(back);
	free(data);
	dn_store_close(s);
}
END_TEST

START_TEST(test_reopen_truncated_meta)
{
	struct dn_store *s = open_ok("dnX");
	uint8_t *data = random_bytes(3 * CHUNK, 7);
	put_replica(s, 2000, 1, data, 3 * CHUNK);
	put_replica(s, 2001, 1, data, 3 * CHUNK);
	dn_store_close(s);

	char p[4300];
	final_path(p, sizeof p, 2000, 1, ".meta");
	ck_assert_int_eq(truncate(p, DN_META_HDR + 4), 0); /* 1 of 3 checksums left */
	s = open_ok(NULL);
	ck_assert_uint_eq(dn_store_count(s), 1);
	ck_assert_int_eq(open_read_rc(s, 2000, 1), -ENOENT);
	assert_readable(s, 2001, 1, 3 * CHUNK);
	struct dn_replica_info *v;
	size_t n;
	ck_assert_int_eq(dn_store_list(s, false, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(v[0].id, 2001);
	free(v);
	dn_store_close(s);

	/* a missing meta file is just as damaged */
	final_path(p, sizeof p, 2001, 1, ".meta");
	ck_assert_int_eq(unlink(p), 0);
	s = open_ok(NULL);
	ck_assert_uint_eq(dn_store_count(s), 0);
	dn_store_close(s);
	free(data);
}
END_TEST

START_TEST(test_abort)
{
	struct dn_store *s = open_ok("dnX");
	uint8_t data[5000];
	fill(data, sizeof data, 8);
	struct dn_writer *w = start_replica(s, 3000, data, sizeof data);
	dn_writer_abort(w);
	ck_assert_int_eq(count_entries("rbw"), 0);
	ck_assert_int_eq(open_read_rc(s, 3000, 1), -ENOENT);
	ck_assert_uint_eq(dn_store_count(s), 0);
	assert_on_disk(3000, 1, false);
	/* the same replica can be written again afterwards */
	put_replica(s, 3000, 1, data, sizeof data);
	assert_readable(s, 3000, 1, sizeof data);
	dn_store_close(s);
}
END_TEST

START_TEST(test_reopen_discards_rbw)
{
	/* a replica being written when the node stopped is not kept */
	struct dn_store *s = open_ok("dnX");
	uint8_t data[5000];
	fill(data, sizeof data, 9);
	struct dn_writer *w = start_replica(s, 4000, data, sizeof data);
	dn_store_close(s);

	struct dn_store *s2 = open_ok(NULL);
	ck_assert_int_eq(count_entries("rbw"), 0);
	ck_assert_uint_eq(dn_store_count(s2), 0);
	ck_assert_int_eq(open_read_rc(s2, 4000, 1), -ENOENT);
	dn_writer_abort(w); /* frees the old writer (its files are gone already) */
	dn_store_close(s2);
}
END_TEST

/* Replica files made ahead: the store keeps spare pairs in rbw/, a new replica takes
 * one (its data file is a former spare, its .meta already has the header), a second
 * writer of the same replica is still refused, and a close leaves no spare behind. */
START_TEST(test_spares)
{
	struct dn_store *s = open_ok("dnS");
	ino_t before[64];
	int n = 0;
	for (int i = 0; i < 500 && (n = spare_inodes(before, 64)) < 8; i++)
		usleep(10000); /* the maker runs on its own thread */
	ck_assert_int_ge(n, 8);
	struct dn_writer *w;
	ck_assert_int_eq(dn_store_create(s, 5000, 1, &w), 0);
	char p[4300];
	snprintf(p, sizeof p, "%s/rbw/blk_5000_1", dir);
	struct stat st;
	ck_assert_int_eq(stat(p, &st), 0);
	bool taken = false;
	for (int i = 0; i < n; i++)
		taken = taken || before[i] == st.st_ino;
	ck_assert_msg(taken, "the new replica did not take a spare file");
	struct dn_writer *w2;
	ck_assert_int_eq(dn_store_create(s, 5000, 1, &w2), -EBUSY);
	uint8_t data[3000];
	fill(data, sizeof data, 4);
	ck_assert_int_eq(write_packet(w, data, sizeof data), 0);
	ck_assert_int_eq(dn_writer_finalize(w, false), 0);
	assert_readable(s, 5000, 1, sizeof data);
	dn_store_close(s);
	ck_assert_int_eq(spare_inodes(before, 64), 0);
}
END_TEST

/* Two data directories (two disks): replicas spread over both, found again after a
 * reopen, read, verified and deleted wherever they are; a directory of another node is
 * refused. */
START_TEST(test_volumes)
{
	char two[8500], second[4300];
	snprintf(second, sizeof second, "%s-disk2", dir);
	snprintf(two, sizeof two, "%s,%s", dir, second);
	struct dn_store *s;
	ck_assert_int_eq(dn_store_open(two, "dnv", &s), 0);
	uint8_t data[3 * CHUNK];
	for (uint64_t id = 1; id <= 10; id++) {
		fill(data, sizeof data, (uint32_t)id);
		put_replica(s, id, 1, data, sizeof data);
	}
	int in1 = 0, in2 = 0;
	char p[9000];
	for (uint64_t id = 1; id <= 10; id++) {
		snprintf(p, sizeof p, "%s/current/%02x/blk_%" PRIu64 "_1", dir, (unsigned)id, id);
		in1 += exists(p);
		snprintf(p, sizeof p, "%s/current/%02x/blk_%" PRIu64 "_1", second, (unsigned)id, id);
		in2 += exists(p);
	}
	ck_assert_int_eq(in1 + in2, 10);
	ck_assert_int_gt(in1, 0);
	ck_assert_int_gt(in2, 0);
	dn_store_close(s);
	ck_assert_int_eq(dn_store_open(two, NULL, &s), 0);
	ck_assert_str_eq(dn_store_id(s), "dnv");
	ck_assert_uint_eq(dn_store_count(s), 10);
	for (uint64_t id = 1; id <= 10; id++) {
		uint8_t back[3 * CHUNK];
		fill(data, sizeof data, (uint32_t)id);
		ck_assert_int_eq(dn_store_verify(s, id, 1), 0);
		ck_assert_int_eq(dn_store_pread(s, id, 1, 0, sizeof back, back), (ssize_t)sizeof back);
		ck_assert(!memcmp(back, data, sizeof back));
		ck_assert_int_eq(dn_store_sync(s, id, 1), 0);
	}
	for (uint64_t id = 1; id <= 10; id++)
		ck_assert_int_eq(dn_store_delete(s, id, 1), 0);
	for (uint64_t id = 1; id <= 10; id++) {
		snprintf(p, sizeof p, "%s/current/%02x/blk_%" PRIu64 "_1", second, (unsigned)id, id);
		ck_assert(!exists(p));
	}
	uint64_t cap, used, rem;
	dn_store_usage(s, &cap, &used, &rem);
	ck_assert_uint_gt(cap, 0); /* the same disk twice counts once */
	struct stat st;
	ck_assert_int_eq(stat(dir, &st), 0);
	dn_store_close(s);
	/* a second directory that belongs to another node */
	char other[4300], mixed[9000];
	snprintf(other, sizeof other, "%s-other", dir);
	ck_assert_int_eq(dn_store_open(other, "someone-else", &s), 0);
	dn_store_close(s);
	snprintf(mixed, sizeof mixed, "%s,%s", dir, other);
	ck_assert_int_eq(dn_store_open(mixed, NULL, &s), -EINVAL);
	ck_assert_int_eq(dn_store_open("", NULL, &s), -EINVAL);
}
END_TEST

int main(void)
{
	log_set_level(LOG_WARN); /* keep expected-failure messages, drop start-up chatter */
	return UNIT_MAIN("blockstore",
		{"blockstore", .timeout = 30, .once_setup = tmp_setup,
		 .once_teardown = tmp_teardown, .setup = dir_setup,
		 .tests = UNIT_TESTS(
			test_open_id, test_layout_versions, test_volumes, test_open_random_id,
			test_open_malformed_version, test_write_read, test_write_bad_crc,
			test_write_bad_offset, test_create_existing, test_newer_genstamp_supersedes,
			test_open_read_errors, test_empty_replica, test_list, test_changes,
			test_reopen_scan, test_reopen_truncated_meta, test_abort,
			test_reopen_discards_rbw, test_spares)});
}
