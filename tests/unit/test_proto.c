/*
 * Unit tests for proto (frame header, status mapping, blocking frame I/O), packet
 * (DT_PACKET / DT_ACK) and auth (key files, HMAC handshake). Frames travel over
 * AF_UNIX socketpairs; a helper thread plays the other side where a side would
 * otherwise block. Every test runs in its own forked process (CK_FORK default).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "buf.h"
#include "crc.h"
#include "net.h"
#include "pack.h"
#include "packet.h"
#include "proto.h"

#include "testdir.h"
#include "unit.h"

/* ---- helpers ---- */

/* The temp directory of the current test case (unchecked fixture: parent process). */
static void tmp_setup(void) { testdir_make("proto"); }

/* A fresh directory for one test, below tmp_base. */
static void tmp_dir(char *out, size_t sz)
{
	int n = snprintf(out, sz, "%s/t-XXXXXX", tmp_base);
	ck_assert(n > 0 && (size_t)n < sz);
	ck_assert_ptr_nonnull(mkdtemp(out));
}

static void write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	size_t n = strlen(content);
	ck_assert_int_eq(write(fd, content, n), (ssize_t)n);
	close(fd);
}

/* A thread that sends one DT_PACKET (big packets do not fit in the socket buffer). */
struct packet_job {
	int fd;
	uint64_t reqid, seq, offset;
	uint8_t flags;
	const void *data;
	uint32_t len;
	const uint32_t *crcs;
	int rc;
};

static void *packet_sender(void *arg)
{
	struct packet_job *j = arg;
	j->rc = packet_send(j->fd, j->reqid, j->seq, j->offset, j->flags, j->data, j->len,
			    j->crcs);
	return NULL;
}

/* ---- header codec ---- */

START_TEST(test_hdr_round_trip)
{
	struct proto_hdr h = {PROTO_MAGIC, PROTO_CN_CREATE, PROTO_F_REPLY,
			      0x1122334455667788ULL, 4096, -5};
	uint8_t raw[PROTO_HDR_LEN];
	proto_hdr_encode(&h, raw);
	/* big-endian magic "DFS1" first */
	ck_assert_mem_eq(raw, "DFS1", 4);
	struct proto_hdr d;
	memset(&d, 0, sizeof d);
	ck_assert_int_eq(proto_hdr_decode(raw, &d, 4096), 0);
	ck_assert_uint_eq(d.magic, PROTO_MAGIC);
	ck_assert_uint_eq(d.type, PROTO_CN_CREATE);
	ck_assert_uint_eq(d.flags, PROTO_F_REPLY);
	ck_assert_uint_eq(d.reqid, 0x1122334455667788ULL);
	ck_assert_uint_eq(d.length, 4096);
	ck_assert_int_eq(d.status, -5);
}
END_TEST

START_TEST(test_hdr_bad_magic)
{
	struct proto_hdr h = {PROTO_MAGIC, PROTO_CN_STAT, 0, 1, 10, 0};
	uint8_t raw[PROTO_HDR_LEN];
	proto_hdr_encode(&h, raw);
	raw[3] ^= 0x01;
	struct proto_hdr d;
	ck_assert_int_eq(proto_hdr_decode(raw, &d, 1000), -EPROTO);
	/* a bad magic wins over a bad length */
	h.length = 5000;
	proto_hdr_encode(&h, raw);
	raw[0] = 'X';
	ck_assert_int_eq(proto_hdr_decode(raw, &d, 1000), -EPROTO);
}
END_TEST

START_TEST(test_hdr_too_long)
{
	struct proto_hdr h = {PROTO_MAGIC, PROTO_CN_STAT, 0, 1, 1001, 0};
	uint8_t raw[PROTO_HDR_LEN];
	proto_hdr_encode(&h, raw);
	struct proto_hdr d;
	ck_assert_int_eq(proto_hdr_decode(raw, &d, 1000), -EMSGSIZE);
	/* exactly the maximum is fine */
	ck_assert_int_eq(proto_hdr_decode(raw, &d, 1001), 0);
	h.length = 0xffffffffu;
	proto_hdr_encode(&h, raw);
	ck_assert_int_eq(proto_hdr_decode(raw, &d, PROTO_MAX_REPLY), -EMSGSIZE);
}
END_TEST

START_TEST(test_frame)
{
	struct buf out = BUF_INIT;
	proto_frame(&out, PROTO_CN_LIST, 0, 77, 0, "abc", 3);
	ck_assert_uint_eq(out.len, PROTO_HDR_LEN + 3);
	struct proto_hdr h;
	ck_assert_int_eq(proto_hdr_decode((uint8_t *)out.data, &h, 3), 0);
	ck_assert_uint_eq(h.type, PROTO_CN_LIST);
	ck_assert_uint_eq(h.reqid, 77);
	ck_assert_uint_eq(h.length, 3);
	ck_assert_mem_eq(out.data + PROTO_HDR_LEN, "abc", 3);
	buf_free(&out);
}
END_TEST

/* ---- status mapping ---- */

/* The status map as proto.h lists it, independently of proto.c's table. */
#define ERRMAP_ENTRY(name, code, e) {#e, e, code},
static const struct {
	const char *name;
	int err;
	int32_t status;
} errmap[] = {PROTO_STATUSES(ERRMAP_ENTRY)};
#undef ERRMAP_ENTRY
#define NERRMAP (sizeof errmap / sizeof errmap[0])

START_TEST(test_status_map)
{
	/* each errno travels and comes back as itself, with its fixed Linux number */
	size_t i = (size_t)_i;
	int e = errmap[i].err;
	int32_t st = errmap[i].status;
	ck_assert_int_eq(st, e); /* the codes are Linux's numbers (we build on Linux) */
	ck_assert_int_eq(proto_status(-e), st);
	ck_assert_int_eq(proto_status(e), st); /* positive errno works too */
	ck_assert_int_eq(proto_errno(st), -e);
	ck_assert_int_eq(proto_errno(proto_status(-e)), -e);
	ck_assert_str_eq(strerrorname_np(e), errmap[i].name);
}
END_TEST

START_TEST(test_status_unique)
{
	for (size_t i = 0; i < NERRMAP; i++)
		for (size_t j = i + 1; j < NERRMAP; j++) {
			ck_assert_msg(errmap[i].status != errmap[j].status, "code %d twice",
				      errmap[i].status);
			ck_assert_msg(errmap[i].err != errmap[j].err, "%s twice", errmap[i].name);
		}
}
END_TEST

static bool is_mapped(const char *name)
{
	if (!strcmp(name, "EWOULDBLOCK")) /* the same number as EAGAIN */
		name = "EAGAIN";
	if (!strcmp(name, "ENOTSUP")) /* the same number as EOPNOTSUPP */
		name = "EOPNOTSUPP";
	for (size_t i = 0; i < NERRMAP; i++)
		if (!strcmp(errmap[i].name, name))
			return true;
	return false;
}

/* Every `-EXXX` that the daemons' and the library's sources return. */
static void scan_sources(const char *dir, struct buf *unmapped, int *files)
{
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open '%s' (make unit runs from the repository)", dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 3 || strcmp(de->d_name + n - 2, ".c"))
			continue;
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "r");
		ck_assert_ptr_nonnull(f);
		(*files)++;
		int c, prev = 0;
		while ((c = fgetc(f)) != EOF) {
			if (c == 'E' && prev == '-') {
				char name[40] = "E";
				size_t k = 1;
				while ((c = fgetc(f)) != EOF && ((c >= 'A' && c <= 'Z') ||
								 (c >= '0' && c <= '9')) &&
				       k < sizeof name - 1)
					name[k++] = (char)c;
				name[k] = 0;
				if (k >= 3 && !is_mapped(name) && !strstr(unmapped->data, name))
					buf_printf(unmapped, " %s (%s)", name, path);
			}
			prev = c;
		}
		fclose(f);
	}
	closedir(d);
}

START_TEST(test_status_covers_sources)
{
	/* a daemon that sends an errno the wire does not know sends EIO instead: the map
	 * must name every one the code base uses */
	struct buf unmapped = BUF_INIT;
	buf_printf(&unmapped, "%s", "");
	int files = 0;
	static const char *dirs[] = {"namenode", "datanode", "compute", "common"};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		scan_sources(dirs[i], &unmapped, &files);
	ck_assert_int_gt(files, 20);
	ck_assert_msg(unmapped.len == 0, "errnos without a wire status:%s", unmapped.data);
	buf_free(&unmapped);
}
END_TEST

START_TEST(test_status_ok_and_unknown)
{
	ck_assert_int_eq(proto_status(0), PROTO_OK);
	ck_assert_int_eq(proto_errno(0), 0);
	/* an errno the wire does not know travels as EIO */
	ck_assert_int_eq(proto_status(-EDOM), PROTO_E_IO);
	ck_assert_int_eq(proto_status(-EL2HLT), PROTO_E_IO);
	/* a status this side does not know becomes -EIO */
	ck_assert_int_eq(proto_errno(9999), -EIO);
	ck_assert_int_eq(proto_errno(-1), -EIO);
	ck_assert_int_eq(proto_errno(EDOM), -EIO);
}
END_TEST

START_TEST(test_strerror)
{
	ck_assert_str_eq(proto_strerror(-EBADMSG), "checksum mismatch");
	ck_assert_str_eq(proto_strerror(EBADMSG), "checksum mismatch");
	ck_assert_str_eq(proto_strerror(-ENOENT), strerror(ENOENT));
	ck_assert_str_eq(auth_strerror(-EACCES), strerror(EACCES));
}
END_TEST

START_TEST(test_type_dirs)
{
	/* every id is in one section, ids ascend within a section, and names are unique */
#define ID_ENTRY(name, id, logname) {id, logname, #name},
	static const struct {
		uint16_t id;
		const char *logname, *name;
	} ids[] = {PROTO_ALL_MESSAGES(ID_ENTRY)};
#undef ID_ENTRY
	size_t n = sizeof ids / sizeof ids[0];
	for (size_t i = 0; i < n; i++) {
		enum proto_dir d = proto_type_dir(ids[i].id);
		ck_assert_int_ne(d, PROTO_DIR_NONE);
		ck_assert_str_eq(proto_type_name(ids[i].id), ids[i].logname);
		/* the prefix says the direction */
		const char *want = d == PROTO_DIR_CN   ? "CN_"
				   : d == PROTO_DIR_DN ? "DN_"
				   : d == PROTO_DIR_NN ? "NN_"
				   : d == PROTO_DIR_DT ? "DT_"
						       : "";
		ck_assert_msg(!strncmp(ids[i].name, want, strlen(want)), "%s in section %d",
			      ids[i].name, d);
		if (i > 0 && proto_type_dir(ids[i - 1].id) == d)
			ck_assert_msg(ids[i].id > ids[i - 1].id, "%s out of order", ids[i].name);
		for (size_t j = i + 1; j < n; j++) {
			ck_assert_uint_ne(ids[i].id, ids[j].id);
			ck_assert_str_ne(ids[i].logname, ids[j].logname);
		}
	}
	ck_assert_int_eq(proto_type_dir(0), PROTO_DIR_NONE);
	ck_assert_int_eq(proto_type_dir(0x7fff), PROTO_DIR_NONE);
}
END_TEST

START_TEST(test_type_name)
{
	ck_assert_str_eq(proto_type_name(PROTO_HELLO), "HELLO");
	ck_assert_str_eq(proto_type_name(PROTO_CN_CREATE), "create");
	ck_assert_str_eq(proto_type_name(PROTO_DT_READ_BLOCK), "read_block");
	ck_assert_str_eq(proto_type_name(0xfff0), "unknown");
}
END_TEST

/* ---- frame I/O over a socketpair ---- */

START_TEST(test_send_recv)
{
	int sv[2];
	make_pair(sv);
	uint8_t payload[3000];
	fill(payload, sizeof payload, 7);
	ck_assert_int_eq(proto_send(sv[0], PROTO_CN_RENAME, 0, 42, 0, payload, sizeof payload),
			 0);
	ck_assert_int_eq(proto_send(sv[0], PROTO_CN_DELETE, PROTO_F_REPLY, 43,
				    proto_status(-ENOENT), NULL, 0),
			 0);
	struct proto_hdr h;
	struct buf in = BUF_INIT;
	buf_adds(&in, "stale bytes that must be dropped");
	ck_assert_int_eq(proto_recv(sv[1], &h, &in, PROTO_MAX_CLIENT_REQ), 0);
	ck_assert_uint_eq(h.type, PROTO_CN_RENAME);
	ck_assert_uint_eq(h.flags, 0);
	ck_assert_uint_eq(h.reqid, 42);
	ck_assert_int_eq(h.status, 0);
	ck_assert_uint_eq(in.len, sizeof payload);
	ck_assert_mem_eq(in.data, payload, sizeof payload);

	ck_assert_int_eq(proto_recv(sv[1], &h, &in, PROTO_MAX_CLIENT_REQ), 0);
	ck_assert_uint_eq(h.type, PROTO_CN_DELETE);
	ck_assert_uint_eq(h.flags, PROTO_F_REPLY);
	ck_assert_uint_eq(h.reqid, 43);
	ck_assert_int_eq(proto_errno(h.status), -ENOENT);
	ck_assert_uint_eq(in.len, 0);
	buf_free(&in);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_recv_eof)
{
	int sv[2];
	make_pair(sv);
	close(sv[0]);
	struct proto_hdr h;
	struct buf in = BUF_INIT;
	ck_assert_int_eq(proto_recv(sv[1], &h, &in, 1000), -ECONNRESET);
	buf_free(&in);
	close(sv[1]);
}
END_TEST

START_TEST(test_recv_truncated)
{
	int sv[2];
	make_pair(sv);
	struct proto_hdr h = {PROTO_MAGIC, PROTO_CN_STAT, 0, 9, 100, 0};
	uint8_t raw[PROTO_HDR_LEN], body[10];
	proto_hdr_encode(&h, raw);
	fill(body, sizeof body, 3);
	ck_assert_int_eq(net_write_full(sv[0], raw, sizeof raw), 0);
	ck_assert_int_eq(net_write_full(sv[0], body, sizeof body), 0);
	close(sv[0]);
	struct proto_hdr d;
	struct buf in = BUF_INIT;
	int rc = proto_recv(sv[1], &d, &in, 1000);
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(rc, -ECONNRESET);
	buf_free(&in);
	close(sv[1]);
}
END_TEST

START_TEST(test_recv_garbage)
{
	int sv[2];
	make_pair(sv);
	uint8_t junk[PROTO_HDR_LEN];
	fill(junk, sizeof junk, 12345);
	junk[0] = 0x00; /* never the 'D' of the magic */
	ck_assert_int_eq(net_write_full(sv[0], junk, sizeof junk), 0);
	struct proto_hdr d;
	struct buf in = BUF_INIT;
	ck_assert_int_eq(proto_recv(sv[1], &d, &in, PROTO_MAX_REPLY), -EPROTO);
	buf_free(&in);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_recv_over_max)
{
	int sv[2];
	make_pair(sv);
	uint8_t payload[200];
	memset(payload, 'z', sizeof payload);
	ck_assert_int_eq(proto_send(sv[0], PROTO_AUTH, 0, 1, 0, payload, sizeof payload), 0);
	struct proto_hdr d;
	struct buf in = BUF_INIT;
	ck_assert_int_eq(proto_recv(sv[1], &d, &in, 199), -EMSGSIZE);
	buf_free(&in);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ---- DT_PACKET / DT_ACK ---- */

/* Receives one frame on fd into h and in: a DT_PACKET, decoded into a new packet that
 * borrows in's bytes (caller frees it with free()). */
static struct packet *recv_packet(int fd, struct proto_hdr *h, struct buf *in)
{
	ck_assert_int_eq(proto_recv(fd, h, in, PROTO_MAX_DATA), 0);
	ck_assert_uint_eq(h->type, PROTO_DT_PACKET);
	struct packet *p = malloc(sizeof *p);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(packet_decode(in->data, in->len, p), 0);
	return p;
}

START_TEST(test_packet_round_trip)
{
	int sv[2];
	make_pair(sv);
	const uint32_t len = 3 * PROTO_CHUNK_SIZE + PROTO_CHUNK_SIZE / 2;
	uint8_t *data = malloc(len);
	ck_assert_ptr_nonnull(data);
	fill(data, len, 99);
	uint32_t crcs[8];
	ck_assert_uint_eq(crc32c_chunks(data, len, PROTO_CHUNK_SIZE, crcs), 4);

	struct packet_job j = {sv[0], 5, 17, 8u << 20, PROTO_PKT_LAST, data, len, crcs, -1};
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, packet_sender, &j), 0);
	struct proto_hdr h;
	struct buf in = BUF_INIT;
	struct packet *p = recv_packet(sv[1], &h, &in);
	pthread_join(t, NULL);
	ck_assert_int_eq(j.rc, 0);
	ck_assert_uint_eq(h.reqid, 5);
	ck_assert_uint_eq(p->seq, 17);
	ck_assert_uint_eq(p->offset, 8u << 20);
	ck_assert_uint_eq(p->len, len);
	ck_assert_uint_eq(p->flags, PROTO_PKT_LAST);
	ck_assert_uint_eq(p->ncrcs, 4);
	for (uint32_t i = 0; i < 4; i++)
		ck_assert_uint_eq(p->crcs[i], crcs[i]);
	ck_assert_mem_eq(p->data, data, len);
	/* the data is borrowed from the payload */
	ck_assert(p->data >= (const uint8_t *)in.data &&
		  p->data + len == (const uint8_t *)in.data + in.len);
	ck_assert_int_eq(crc32c_verify(p->data, p->len, PROTO_CHUNK_SIZE, p->crcs), -1);
	free(p);
	free(data);
	buf_free(&in);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_packet_empty)
{
	/* an empty last packet carries no crcs and no data */
	int sv[2];
	make_pair(sv);
	ck_assert_int_eq(packet_send(sv[0], 1, 2, 3, PROTO_PKT_LAST, NULL, 0, NULL), 0);
	struct proto_hdr h;
	struct buf in = BUF_INIT;
	struct packet *p = recv_packet(sv[1], &h, &in);
	ck_assert_uint_eq(p->seq, 2);
	ck_assert_uint_eq(p->offset, 3);
	ck_assert_uint_eq(p->len, 0);
	ck_assert_uint_eq(p->ncrcs, 0);
	ck_assert_uint_eq(p->flags, PROTO_PKT_LAST);
	free(p);
	buf_free(&in);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_packet_too_big)
{
	int sv[2];
	make_pair(sv);
	ck_assert_int_eq(packet_send(sv[0], 1, 2, 3, 0, "", PROTO_MAX_PACKET + 1, NULL),
			 -EINVAL);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Builds a DT_PACKET payload by hand: len data bytes of 'd', ncrcs zero crcs. */
static void raw_packet(struct buf *b, uint32_t len, uint32_t ncrcs, size_t data_bytes)
{
	pack_u64(b, 1);
	pack_u64(b, 0);
	pack_u32(b, len);
	pack_u8(b, 0);
	pack_u32(b, ncrcs);
	for (uint32_t i = 0; i < ncrcs; i++)
		pack_u32(b, 0);
	for (size_t i = 0; i < data_bytes; i++)
		buf_addc(b, 'd');
}

/* What packet_decode says of raw_packet(len, ncrcs, data_bytes). */
static int decode_raw(uint32_t len, uint32_t ncrcs, size_t data_bytes)
{
	struct packet *p = malloc(sizeof *p);
	ck_assert_ptr_nonnull(p);
	struct buf b = BUF_INIT;
	raw_packet(&b, len, ncrcs, data_bytes);
	int rc = packet_decode(b.data, b.len, p);
	free(p);
	buf_free(&b);
	return rc;
}

START_TEST(test_packet_bad_crc_count)
{
	ck_assert_int_eq(decode_raw(70000, 2, 70000), 0); /* 70000 bytes need 2 crcs */
	ck_assert_int_eq(decode_raw(70000, 1, 70000), -EPROTO);
	ck_assert_int_eq(decode_raw(70000, 3, 70000), -EPROTO);
	ck_assert_int_eq(decode_raw(0, 1, 0), -EPROTO);
	/* a hostile crc count must not overrun p->crcs */
	struct packet *p = malloc(sizeof *p);
	ck_assert_ptr_nonnull(p);
	struct buf b = BUF_INIT;
	pack_u64(&b, 1);
	pack_u64(&b, 0);
	pack_u32(&b, 100);
	pack_u8(&b, 0);
	pack_u32(&b, 0xffffffffu);
	for (int i = 0; i < 200; i++)
		pack_u32(&b, 0);
	ck_assert_int_eq(packet_decode(b.data, b.len, p), -EPROTO);
	free(p);
	buf_free(&b);
}
END_TEST

START_TEST(test_packet_bad_length)
{
	ck_assert_int_eq(decode_raw(1000, 1, 999), -EPROTO);  /* data shorter than len */
	ck_assert_int_eq(decode_raw(1000, 1, 1001), -EPROTO); /* trailing byte */
	uint32_t big = PROTO_MAX_PACKET + PROTO_CHUNK_SIZE;
	/* over the packet maximum */
	ck_assert_int_eq(decode_raw(big, big / PROTO_CHUNK_SIZE, 0), -EPROTO);
	struct packet *p = malloc(sizeof *p);
	ck_assert_ptr_nonnull(p);
	struct buf b = BUF_INIT;
	raw_packet(&b, 10, 1, 10);
	ck_assert_int_eq(packet_decode(b.data, 20, p), -EPROTO); /* truncated header */
	free(p);
	buf_free(&b);
}
END_TEST

START_TEST(test_ack_round_trip)
{
	int sv[2];
	make_pair(sv);
	ck_assert_int_eq(packet_send_ack(sv[0], 31, 0x100000001ULL, proto_status(-EIO), 2), 0);
	ck_assert_int_eq(packet_send_ack(sv[0], 32, 7, 0, PROTO_NO_NODE), 0);
	struct proto_hdr h;
	struct buf in = BUF_INIT;
	uint64_t seq;
	int32_t status;
	uint32_t failed;

	ck_assert_int_eq(proto_recv(sv[1], &h, &in, PROTO_MAX_DATA), 0);
	ck_assert_uint_eq(h.type, PROTO_DT_ACK);
	ck_assert_uint_eq(h.flags, PROTO_F_REPLY);
	ck_assert_uint_eq(h.reqid, 31);
	ck_assert_int_eq(packet_decode_ack(in.data, in.len, &seq, &status, &failed), 0);
	ck_assert_uint_eq(seq, 0x100000001ULL);
	ck_assert_int_eq(status, PROTO_E_IO);
	ck_assert_uint_eq(failed, 2);

	ck_assert_int_eq(proto_recv(sv[1], &h, &in, PROTO_MAX_DATA), 0);
	ck_assert_uint_eq(h.reqid, 32);
	ck_assert_int_eq(packet_decode_ack(in.data, in.len, &seq, &status, &failed), 0);
	ck_assert_uint_eq(seq, 7);
	ck_assert_int_eq(status, 0);
	ck_assert_uint_eq(failed, PROTO_NO_NODE);

	/* an ack of the wrong size is malformed */
	ck_assert_int_eq(packet_decode_ack(in.data, in.len - 1, &seq, &status, &failed),
			 -EPROTO);
	buf_addc(&in, 0);
	ck_assert_int_eq(packet_decode_ack(in.data, in.len, &seq, &status, &failed), -EPROTO);
	buf_free(&in);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ---- auth ---- */

START_TEST(test_key_create_load)
{
	char dir[4200], path[4300];
	tmp_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/key", dir);
	ck_assert_int_eq(auth_key_create(path), 0);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);

	uint8_t key[AUTH_KEY_LEN + 1];
	memset(key, 0xa5, sizeof key);
	ck_assert_int_eq(auth_key_load(path, key), 0);
	ck_assert_uint_eq(key[AUTH_KEY_LEN], 0xa5); /* exactly 32 bytes written */

	/* the file is 64 hex digits; what was loaded is what they say */
	char hex[128];
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ssize_t n = read(fd, hex, sizeof hex);
	close(fd);
	ck_assert_int_ge(n, 2 * AUTH_KEY_LEN);
	for (int i = 0; i < AUTH_KEY_LEN; i++) {
		char digits[3];
		snprintf(digits, sizeof digits, "%02x", key[i]);
		ck_assert_msg(!strncasecmp(hex + 2 * i, digits, 2), "key byte %d: '%.2s', not %s", i,
			      hex + 2 * i, digits);
	}

	/* never overwrites an existing key */
	ck_assert_int_eq(auth_key_create(path), -EEXIST);

	/* two keys differ */
	char path2[4300];
	snprintf(path2, sizeof path2, "%s/key2", dir);
	ck_assert_int_eq(auth_key_create(path2), 0);
	uint8_t key2[AUTH_KEY_LEN];
	ck_assert_int_eq(auth_key_load(path2, key2), 0);
	ck_assert(memcmp(key, key2, AUTH_KEY_LEN) != 0);
}
END_TEST

START_TEST(test_key_load_malformed)
{
	char dir[4200], path[4300];
	tmp_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/key", dir);
	uint8_t key[AUTH_KEY_LEN];

	write_file(path, "0123456789abcdef\n"); /* too short */
	ck_assert_int_eq(auth_key_load(path, key), -EINVAL);

	write_file(path, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\n");
	ck_assert_int_eq(auth_key_load(path, key), -EINVAL); /* not hex */

	write_file(path,
		   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef junk\n");
	ck_assert_int_eq(auth_key_load(path, key), -EINVAL); /* trailing garbage */

	write_file(path, "");
	ck_assert_int_eq(auth_key_load(path, key), -EINVAL);

	/* upper-case hex and a CRLF are fine */
	write_file(path, "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\r\n");
	ck_assert_int_eq(auth_key_load(path, key), 0);
	ck_assert_uint_eq(key[0], 0x01);
	ck_assert_uint_eq(key[7], 0xef);
	ck_assert_uint_eq(key[31], 0xef);

	snprintf(path, sizeof path, "%s/missing", dir);
	ck_assert_int_eq(auth_key_load(path, key), -ENOENT);
}
END_TEST

struct server_job {
	int fd;
	struct auth_keys keys;
	struct auth_peer peer;
	int rc;
};

static void *auth_server_thread(void *arg)
{
	struct server_job *j = arg;
	j->rc = auth_server_blocking(j->fd, &j->keys, PROTO_ROLE_NAMENODE, &j->peer);
	return NULL;
}

/* A server's keys: cluster, and datanode (NULL: it takes no datanodes). */
static struct auth_keys keys_of(const uint8_t *cluster, const uint8_t *datanode)
{
	struct auth_keys k = {.has_datanode = datanode != NULL};
	memcpy(k.cluster, cluster, AUTH_KEY_LEN);
	if (datanode)
		memcpy(k.datanode, datanode, AUTH_KEY_LEN);
	return k;
}

/* Runs one handshake of a peer in role with ckey against a server holding skeys;
 * returns the client's result, the server's in *server_rc. */
static int handshake_as(const struct auth_keys *skeys, uint8_t role, const uint8_t *ckey,
			struct auth_peer *peer, int *server_rc)
{
	int sv[2];
	make_pair(sv);
	struct server_job j = {sv[0], *skeys, {0, 0, 0}, -1};
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, auth_server_thread, &j), 0);
	int rc = auth_client(sv[1], ckey, role, 1234, 5678);
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
	*peer = j.peer;
	*server_rc = j.rc;
	return rc;
}

static int handshake(const uint8_t *skey, const uint8_t *ckey, struct auth_peer *peer,
		     int *server_rc)
{
	struct auth_keys k = keys_of(skey, NULL);
	return handshake_as(&k, PROTO_ROLE_CLIENT, ckey, peer, server_rc);
}

static void load_new_key(const char *dir, const char *name, uint8_t key[AUTH_KEY_LEN])
{
	char path[4300];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	ck_assert_int_eq(auth_key_create(path), 0);
	ck_assert_int_eq(auth_key_load(path, key), 0);
}

START_TEST(test_handshake_ok)
{
	char dir[4200];
	tmp_dir(dir, sizeof dir);
	uint8_t key[AUTH_KEY_LEN];
	load_new_key(dir, "key", key);
	struct auth_peer peer;
	int src;
	ck_assert_int_eq(handshake(key, key, &peer, &src), 0);
	ck_assert_int_eq(src, 0);
	ck_assert_uint_eq(peer.role, PROTO_ROLE_CLIENT);
	ck_assert_uint_eq(peer.uid, 1234);
	ck_assert_uint_eq(peer.gid, 5678);
}
END_TEST

START_TEST(test_handshake_wrong_key)
{
	char dir[4200];
	tmp_dir(dir, sizeof dir);
	uint8_t k1[AUTH_KEY_LEN], k2[AUTH_KEY_LEN];
	load_new_key(dir, "k1", k1);
	load_new_key(dir, "k2", k2);
	struct auth_peer peer;
	int src;
	ck_assert_int_eq(handshake(k1, k2, &peer, &src), -EACCES);
	ck_assert_int_eq(src, -EACCES);
	ck_assert_uint_eq(peer.role, 0); /* the server learned nothing */
	/* a single flipped bit is enough */
	memcpy(k2, k1, sizeof k2);
	k2[AUTH_KEY_LEN - 1] ^= 1;
	ck_assert_int_eq(handshake(k2, k1, &peer, &src), -EACCES);
	ck_assert_int_eq(src, -EACCES);
}
END_TEST

START_TEST(test_handshake_roles)
{
	/* each role proves its own key: the cluster key does not make a datanode */
	char dir[4200];
	tmp_dir(dir, sizeof dir);
	uint8_t ck[AUTH_KEY_LEN], dk[AUTH_KEY_LEN];
	load_new_key(dir, "cluster", ck);
	load_new_key(dir, "datanode", dk);
	struct auth_keys both = keys_of(ck, dk), clients_only = keys_of(ck, NULL);
	struct auth_peer peer;
	int src;
	ck_assert_int_eq(handshake_as(&both, PROTO_ROLE_DATANODE, dk, &peer, &src), 0);
	ck_assert_int_eq(src, 0);
	ck_assert_uint_eq(peer.role, PROTO_ROLE_DATANODE);
	ck_assert_int_eq(handshake_as(&both, PROTO_ROLE_CLIENT, ck, &peer, &src), 0);
	ck_assert_uint_eq(peer.role, PROTO_ROLE_CLIENT);
	/* a client key holder claiming to be a datanode */
	memset(&peer, 0, sizeof peer);
	ck_assert_int_eq(handshake_as(&both, PROTO_ROLE_DATANODE, ck, &peer, &src), -EACCES);
	ck_assert_int_eq(src, -EACCES);
	ck_assert_uint_eq(peer.role, 0);
	/* the datanode key does not make a client either */
	ck_assert_int_eq(handshake_as(&both, PROTO_ROLE_CLIENT, dk, &peer, &src), -EACCES);
	ck_assert_int_eq(src, -EACCES);
	/* a server without the datanode key takes no datanodes; nor a made-up role */
	ck_assert_int_eq(handshake_as(&clients_only, PROTO_ROLE_DATANODE, dk, &peer, &src),
			 -EACCES);
	ck_assert_int_eq(handshake_as(&both, PROTO_ROLE_NAMENODE, ck, &peer, &src), -EACCES);
	ck_assert_int_eq(src, -EACCES);
}
END_TEST

START_TEST(test_server_check_bad_auth)
{
	/* auth_server_check on its own: a malformed payload, a made-up proof, a wrong version */
	uint8_t key[AUTH_KEY_LEN];
	memset(key, 0x42, sizeof key);
	struct auth_keys keys = keys_of(key, key);
	struct auth_server s;
	struct buf out = BUF_INIT;
	auth_server_hello(&s, PROTO_ROLE_DATANODE, &out);
	struct proto_hdr h;
	ck_assert_int_eq(proto_hdr_decode((uint8_t *)out.data, &h, PROTO_MAX_HANDSHAKE), 0);
	ck_assert_uint_eq(h.type, PROTO_HELLO);
	ck_assert_uint_eq(h.length, 4 + 1 + AUTH_NONCE_LEN);

	struct auth_peer peer = {0, 0, 0};
	buf_reset(&out);
	ck_assert_int_eq(auth_server_check(&s, &keys, "short", 5, &peer, &out), -EPROTO);
	ck_assert_int_eq(proto_hdr_decode((uint8_t *)out.data, &h, PROTO_MAX_HANDSHAKE), 0);
	ck_assert_int_eq(proto_errno(h.status), -EPROTO);

	/* right size, made-up proof */
	struct buf p = BUF_INIT;
	uint8_t zeros[AUTH_MAC_LEN] = {0};
	pack_u32(&p, PROTO_VERSION);
	pack_u8(&p, PROTO_ROLE_CLIENT);
	pack_raw(&p, zeros, AUTH_NONCE_LEN);
	pack_raw(&p, zeros, AUTH_MAC_LEN);
	pack_u32(&p, 0);
	pack_u32(&p, 0);
	buf_reset(&out);
	ck_assert_int_eq(auth_server_check(&s, &keys, p.data, p.len, &peer, &out), -EACCES);
	ck_assert_int_eq(proto_hdr_decode((uint8_t *)out.data, &h, PROTO_MAX_HANDSHAKE), 0);
	ck_assert_uint_eq(h.type, PROTO_AUTH_OK);
	ck_assert_int_eq(proto_errno(h.status), -EACCES);
	ck_assert_uint_eq(peer.role, 0);

	/* wrong version: refused, and the reply names both versions */
	be32_put((uint8_t *)p.data, PROTO_VERSION + 1);
	buf_reset(&out);
	ck_assert_int_eq(auth_server_check(&s, &keys, p.data, p.len, &peer, &out),
			 -EPROTONOSUPPORT);
	ck_assert_int_eq(proto_hdr_decode((uint8_t *)out.data, &h, PROTO_MAX_HANDSHAKE), 0);
	ck_assert_int_eq(proto_errno(h.status), -EPROTONOSUPPORT);
	struct unpack u;
	unpack_init(&u, out.data + PROTO_HDR_LEN, h.length);
	char msg[128];
	unpack_str(&u, msg, sizeof msg);
	ck_assert(unpack_ok(&u));
	char want[128];
	snprintf(want, sizeof want, "this server speaks protocol version %u, the client %u",
		 PROTO_VERSION, PROTO_VERSION + 1);
	ck_assert_str_eq(msg, want);
	snprintf(want, sizeof want, "the peer speaks protocol version %u, this program speaks %u",
		 PROTO_VERSION + 1, PROTO_VERSION);
	ck_assert_str_eq(auth_strerror(-EPROTONOSUPPORT), want);
	buf_free(&p);
	buf_free(&out);
}
END_TEST

/* HMAC-SHA256(key, label | a | b), as proto.h specifies the proofs. */
static void proof(const uint8_t *key, const char *label, const uint8_t *a, const uint8_t *b,
		  uint8_t out[AUTH_MAC_LEN])
{
	uint8_t msg[16 + 2 * AUTH_NONCE_LEN];
	size_t l = strlen(label);
	memcpy(msg, label, l);
	memcpy(msg + l, a, AUTH_NONCE_LEN);
	memcpy(msg + l + AUTH_NONCE_LEN, b, AUTH_NONCE_LEN);
	unsigned int n = AUTH_MAC_LEN;
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, AUTH_KEY_LEN, msg,
				   l + 2 * AUTH_NONCE_LEN, out, &n));
	ck_assert_uint_eq(n, AUTH_MAC_LEN);
}

START_TEST(test_server_check_replay)
{
	/* a proof made for one server nonce is worthless against another */
	uint8_t key[AUTH_KEY_LEN], cnonce[AUTH_NONCE_LEN], mac[AUTH_MAC_LEN];
	fill(key, sizeof key, 5);
	fill(cnonce, sizeof cnonce, 6);
	uint8_t other[AUTH_KEY_LEN];
	fill(other, sizeof other, 9);
	struct auth_keys keys = keys_of(other, key); /* key: the datanode key */
	struct auth_server s1, s2;
	struct buf out = BUF_INIT, p = BUF_INIT;
	auth_server_hello(&s1, PROTO_ROLE_NAMENODE, &out);
	auth_server_hello(&s2, PROTO_ROLE_NAMENODE, &out);
	ck_assert(memcmp(s1.nonce, s2.nonce, AUTH_NONCE_LEN) != 0);

	proof(key, "dfs-client", s1.nonce, cnonce, mac);
	pack_u32(&p, PROTO_VERSION);
	pack_u8(&p, PROTO_ROLE_DATANODE);
	pack_raw(&p, cnonce, sizeof cnonce);
	pack_raw(&p, mac, sizeof mac);
	pack_u32(&p, 10);
	pack_u32(&p, 20);

	struct auth_peer peer = {0, 0, 0};
	buf_reset(&out);
	ck_assert_int_eq(auth_server_check(&s1, &keys, p.data, p.len, &peer, &out), 0);
	ck_assert_uint_eq(peer.role, PROTO_ROLE_DATANODE);
	ck_assert_uint_eq(peer.uid, 10);
	ck_assert_uint_eq(peer.gid, 20);
	/* AUTH_OK carries the server's proof over (cnonce, snonce) */
	struct proto_hdr h;
	ck_assert_int_eq(proto_hdr_decode((uint8_t *)out.data, &h, PROTO_MAX_HANDSHAKE), 0);
	ck_assert_uint_eq(h.type, PROTO_AUTH_OK);
	ck_assert_int_eq(h.status, 0);
	ck_assert_uint_eq(h.length, AUTH_MAC_LEN);
	ck_assert_uint_eq(out.len, PROTO_HDR_LEN + AUTH_MAC_LEN);
	uint8_t want[AUTH_MAC_LEN];
	proof(key, "dfs-server", cnonce, s1.nonce, want);
	ck_assert_mem_eq(out.data + PROTO_HDR_LEN, want, AUTH_MAC_LEN);

	struct auth_peer peer2 = {0, 0, 0};
	buf_reset(&out);
	ck_assert_int_eq(auth_server_check(&s2, &keys, p.data, p.len, &peer2, &out), -EACCES);
	ck_assert_uint_eq(peer2.role, 0);
	buf_free(&p);
	buf_free(&out);
}
END_TEST

/* A server of the next protocol version greets. */
static void *future_server(void *arg)
{
	int fd = *(int *)arg;
	struct buf p = BUF_INIT;
	uint8_t nonce[AUTH_NONCE_LEN] = {1};
	pack_u32(&p, PROTO_VERSION + 1);
	pack_u8(&p, PROTO_ROLE_NAMENODE);
	pack_raw(&p, nonce, sizeof nonce);
	proto_send(fd, PROTO_HELLO, 0, 0, 0, p.data, p.len);
	buf_free(&p);
	return NULL;
}

START_TEST(test_client_vs_other_version)
{
	int sv[2];
	make_pair(sv);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, future_server, &sv[0]), 0);
	uint8_t key[AUTH_KEY_LEN] = {0};
	ck_assert_int_eq(auth_client(sv[1], key, PROTO_ROLE_CLIENT, 0, 0), -EPROTONOSUPPORT);
	char want[128];
	snprintf(want, sizeof want, "the peer speaks protocol version %u, this program speaks %u",
		 PROTO_VERSION + 1, PROTO_VERSION);
	ck_assert_str_eq(auth_strerror(-EPROTONOSUPPORT), want);
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static void *garbage_server(void *arg)
{
	int fd = *(int *)arg;
	uint8_t junk[64];
	fill(junk, sizeof junk, 77);
	junk[0] = 0;
	net_write_full(fd, junk, sizeof junk);
	return NULL;
}

START_TEST(test_client_vs_garbage)
{
	int sv[2];
	make_pair(sv);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, garbage_server, &sv[0]), 0);
	uint8_t key[AUTH_KEY_LEN] = {0};
	ck_assert_int_eq(auth_client(sv[1], key, PROTO_ROLE_CLIENT, 0, 0), -EPROTO);
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("proto",
		{"header", .loop = test_status_map, .loop_n = (int)NERRMAP, .tests = UNIT_TESTS(
			test_hdr_round_trip, test_hdr_bad_magic, test_hdr_too_long, test_frame,
			test_status_unique, test_status_covers_sources, test_status_ok_and_unknown,
			test_strerror, test_type_name, test_type_dirs)},
		{"io", .tests = UNIT_TESTS(
			test_send_recv, test_recv_eof, test_recv_truncated, test_recv_garbage,
			test_recv_over_max)},
		{"packet", .tests = UNIT_TESTS(
			test_packet_round_trip, test_packet_empty, test_packet_too_big,
			test_packet_bad_crc_count, test_packet_bad_length, test_ack_round_trip)},
		{"auth", .once_setup = tmp_setup, .once_teardown = tmp_teardown,
		 .tests = UNIT_TESTS(
			test_key_create_load, test_key_load_malformed, test_handshake_ok,
			test_handshake_wrong_key, test_handshake_roles, test_server_check_bad_auth,
			test_server_check_replay, test_client_vs_garbage,
			test_client_vs_other_version)});
}
