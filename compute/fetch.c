/* fetch: map outputs to reducers, and the job token. See fetch.h. Any thread. */
#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "fsutil.h"
#include "net.h"
#include "pack.h"
#include "shuffle.h"

#define TOKEN_TAG "dfs-job-token"

void fetch_job_token(const uint8_t key[32], const char *job, uint8_t out[JOB_TOKEN_LEN])
{
	struct buf m = BUF_INIT;
	buf_add(&m, TOKEN_TAG, sizeof TOKEN_TAG); /* with its NUL: a separator */
	buf_adds(&m, job);
	unsigned int len = JOB_TOKEN_LEN;
	HMAC(EVP_sha256(), key, 32, (const unsigned char *)m.data, m.len, out, &len);
	buf_free(&m);
}

bool fetch_token_ok(const uint8_t key[32], const char *job, const uint8_t *tok)
{
	uint8_t want[JOB_TOKEN_LEN];
	fetch_job_token(key, job, want);
	bool ok = tok && !CRYPTO_memcmp(want, tok, JOB_TOKEN_LEN);
	OPENSSL_cleanse(want, sizeof want);
	return ok;
}

static int refuse(int fd, const struct proto_hdr *h, int rc, const char *msg)
{
	struct buf p = BUF_INIT;
	pack_str(&p, msg);
	int r = proto_send(fd, h->type, PROTO_F_REPLY, h->reqid, proto_status(rc), p.data, p.len);
	buf_free(&p);
	return r;
}

int fetch_serve(int fd, const struct proto_hdr *h, const struct buf *payload,
		const char *scratch, const uint8_t key[32], uint64_t *sent)
{
	*sent = 0;
	struct unpack u;
	unpack_init(&u, payload->data, payload->len);
	char job[JOB_ID_MAX + 1];
	unpack_str(&u, job, sizeof job);
	uint32_t task = unpack_u32(&u), attempt = unpack_u32(&u), part = unpack_u32(&u);
	const uint8_t *tok = unpack_raw(&u, JOB_TOKEN_LEN);
	if (!unpack_ok(&u) || !shuf_is_job_id(job))
		return refuse(fd, h, -EPROTO, "malformed fetch request"), -EPROTO;
	if (!fetch_token_ok(key, job, tok))
		return refuse(fd, h, -EACCES, "no valid job token for this job") ? -EPIPE : 0;
	struct buf path = BUF_INIT;
	shuf_map_base(scratch, job, task, attempt, &path);
	buf_printf(&path, ".p%u", part);
	int in = open(path.data, O_RDONLY | O_CLOEXEC);
	buf_free(&path);
	struct stat st;
	if (in < 0 || fstat(in, &st)) {
		if (in >= 0)
			close(in);
		return refuse(fd, h, -ENOENT, "no such map output on this node") ? -EPIPE : 0;
	}
	uint8_t lenb[8];
	be64_put(lenb, (uint64_t)st.st_size);
	int rc = proto_send(fd, h->type, PROTO_F_REPLY, h->reqid, 0, lenb, sizeof lenb);
	char *chunk = rc ? NULL : malloc(FETCH_CHUNK);
	if (!rc && !chunk)
		rc = -ENOMEM;
	while (!rc) {
		ssize_t n = read(in, chunk, FETCH_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		rc = proto_send(fd, h->type, PROTO_F_REPLY, h->reqid, 0, chunk, (size_t)n);
		*sent += (uint64_t)n;
		if (n == 0)
			break;
	}
	free(chunk);
	close(in);
	return rc;
}

int fetch_map_output(const struct fetch_req *r, const char *dest, uint64_t *bytes,
		     struct buf *why)
{
	*bytes = 0;
	int fd = net_connect(r->addr, 5000);
	if (fd < 0) {
		buf_printf(why, "cannot connect to %s: %s", r->addr, strerror(-fd));
		return fd;
	}
	net_set_bulk(fd);
	net_set_timeout(fd, 60000);
	int rc = auth_client(fd, r->cluster_key, PROTO_ROLE_CLIENT, r->uid, r->gid);
	if (rc) {
		buf_printf(why, "cannot authenticate to %s: %s", r->addr, auth_strerror(rc));
		net_close(fd);
		return rc;
	}
	struct buf req = BUF_INIT, in = BUF_INIT;
	pack_str(&req, r->job);
	pack_u32(&req, r->task);
	pack_u32(&req, r->attempt);
	pack_u32(&req, r->partition);
	pack_raw(&req, r->token, JOB_TOKEN_LEN);
	rc = proto_send(fd, PROTO_DT_FETCH_MAP_OUTPUT, 0, 1, 0, req.data, req.len);
	struct proto_hdr h;
	if (!rc)
		rc = proto_recv(fd, &h, &in, PROTO_MAX_DATA);
	if (!rc && h.status) {
		rc = proto_errno(h.status);
		struct unpack u;
		unpack_init(&u, in.data, in.len);
		char msg[256] = "";
		unpack_str(&u, msg, sizeof msg);
		buf_printf(why, "%s refused the fetch: %s", r->addr, msg[0] ? msg : strerror(-rc));
		goto out;
	}
	uint64_t want = 0;
	if (!rc && in.len == 8)
		want = be64_get((const uint8_t *)in.data);
	else if (!rc)
		rc = -EPROTO;
	int out = -1;
	if (!rc) {
		out = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (out < 0) {
			rc = -errno;
			buf_printf(why, "cannot create %s: %s", dest, strerror(errno));
			goto out;
		}
	}
	while (!rc) {
		rc = proto_recv(fd, &h, &in, PROTO_MAX_DATA);
		if (!rc && (h.status || h.type != PROTO_DT_FETCH_MAP_OUTPUT))
			rc = -EPROTO;
		if (rc || !in.len)
			break;
		rc = fs_write_full(out, in.data, in.len);
		*bytes += in.len;
	}
	if (out >= 0 && close(out) && !rc)
		rc = -errno;
	if (!rc && *bytes != want)
		rc = -EBADMSG;
	if (rc && !why->len)
		buf_printf(why, "fetch from %s broke: %s", r->addr, strerror(-rc));
	if (!rc && (rc = shuf_run_check(dest, NULL)))
		buf_printf(why, "map output from %s is corrupt: %s", r->addr, strerror(-rc));
out:
	if (rc)
		unlink(dest);
	buf_free(&req);
	buf_free(&in);
	net_close(fd);
	return rc;
}
