/* tls: TLS 1.3 under dfs connections, and throw-away certificates. See tls.h. */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

static SSL_CTX *server_ctx, *client_ctx;
/* the session of each fd (NULL: plain); sized to the fd limit at tls_init */
static _Atomic(SSL *) *sessions;
static size_t nsessions;
/* SIGPIPE is not ignored in this process: block it around writes (OpenSSL writes
 * with write(2), which raises it on a closed connection) */
static bool mask_sigpipe;
static __thread char why[256];

const char *tls_error(void) { return why[0] ? why : "TLS error"; }

/* why = prefix: the first queued OpenSSL error (the queue is cleared). */
static void set_why(const char *prefix)
{
	unsigned long e = ERR_get_error();
	char s[160] = "";
	if (e)
		ERR_error_string_n(e, s, sizeof s);
	snprintf(why, sizeof why, "%s%s%s", prefix, e ? ": " : "", s);
	ERR_clear_error();
}

bool tls_on(void) { return sessions != NULL; }

static SSL_CTX *make_ctx(bool server, const char *cert, const char *key, const char *ca,
			 struct buf *err)
{
	SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!c) {
		buf_printf(err, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	const char *what = cert;
	if (SSL_CTX_use_certificate_chain_file(c, cert) != 1)
		goto bad;
	what = key;
	if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(c) != 1)
		goto bad;
	what = ca;
	if (SSL_CTX_load_verify_locations(c, ca, NULL) != 1)
		goto bad;
	/* both ends prove themselves with a certificate from the cluster's CA */
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
			   NULL);
	if (server) {
		SSL_CTX_set_num_tickets(c, 0); /* no resumption: connections are long-lived */
		SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	}
	return c;
bad:
	set_why("");
	buf_printf(err, "cannot use '%s' (%s)", what, why);
	SSL_CTX_free(c);
	return NULL;
}

int tls_init(const char *cert, const char *key, const char *ca, struct buf *err)
{
	if (!cert || !*cert || !key || !*key || !ca || !*ca) {
		buf_printf(err, "TLS needs a certificate, its key and the CA (tls_cert, "
				"tls_key, tls_ca)");
		return -EINVAL;
	}
	if (tls_on())
		return 0;
	server_ctx = make_ctx(true, cert, key, ca, err);
	client_ctx = server_ctx ? make_ctx(false, cert, key, ca, err) : NULL;
	if (!client_ctx) {
		SSL_CTX_free(server_ctx);
		server_ctx = NULL;
		return -EINVAL;
	}
	struct rlimit rl;
	size_t n = 1 << 16;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > n)
		n = rl.rlim_cur < (1u << 20) ? (size_t)rl.rlim_cur : (1u << 20);
	nsessions = n;
	sessions = calloc(n, sizeof *sessions);
	if (!sessions)
		return -ENOMEM;
	struct sigaction sa;
	mask_sigpipe = !sigaction(SIGPIPE, NULL, &sa) && sa.sa_handler != SIG_IGN;
	return 0;
}

static SSL *session(int fd)
{
	if (!sessions || fd < 0 || (size_t)fd >= nsessions)
		return NULL;
	return atomic_load_explicit(&sessions[fd], memory_order_acquire);
}

bool tls_has(int fd) { return session(fd) != NULL; }

/* A new session for fd in ctx, registered (an old one left by a forgotten close is
 * freed). */
static SSL *attach(int fd, SSL_CTX *ctx)
{
	if ((size_t)fd >= nsessions) {
		snprintf(why, sizeof why, "descriptor %d beyond the TLS table", fd);
		return NULL;
	}
	SSL *s = SSL_new(ctx);
	if (!s || SSL_set_fd(s, fd) != 1) {
		set_why("cannot create a TLS session");
		SSL_free(s);
		return NULL;
	}
	SSL *old = atomic_exchange(&sessions[fd], s);
	SSL_free(old);
	return s;
}

void tls_drop(int fd)
{
	if (!sessions || fd < 0 || (size_t)fd >= nsessions)
		return;
	SSL *s = atomic_exchange(&sessions[fd], NULL);
	SSL_free(s); /* no close_notify: the connection is closed at once */
}

/* Maps a failed handshake to -errno and why. */
static int handshake_error(SSL *s, int r, const char *side)
{
	int e = SSL_get_error(s, r);
	long v = SSL_get_verify_result(s);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return -EAGAIN;
	if (v != X509_V_OK) {
		snprintf(why, sizeof why, "%s: peer certificate refused: %s", side,
			 X509_verify_cert_error_string(v));
		ERR_clear_error();
		return -EACCES;
	}
	if (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		snprintf(why, sizeof why, "%s: timed out", side);
		ERR_clear_error();
		return -ETIMEDOUT;
	}
	char prefix[96];
	snprintf(prefix, sizeof prefix, "%s failed (is the peer using TLS?)", side);
	set_why(prefix);
	return -EPROTO;
}

/* The end of a blocking handshake that returned r: 0, or -errno with fd's session gone
 * (a blocking socket "would block" only when its timeout passed). */
static int blocking_result(int fd, SSL *s, int r)
{
	if (r == 1)
		return 0;
	int rc = handshake_error(s, r, "TLS handshake");
	tls_drop(fd);
	return rc == -EAGAIN ? -ETIMEDOUT : rc;
}

int tls_client(int fd, const char *host, int timeout_ms)
{
	SSL *s = attach(fd, client_ctx);
	if (!s)
		return -ENOMEM;
	X509_VERIFY_PARAM *vp = SSL_get0_param(s);
	if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1) { /* not an address: a name */
		SSL_set_hostflags(s, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		SSL_set1_host(s, host);
	}
	SSL_set_tlsext_host_name(s, host);
	net_set_timeout(fd, timeout_ms);
	int r = SSL_connect(s);
	net_set_timeout(fd, 0);
	return blocking_result(fd, s, r);
}

int tls_server(int fd)
{
	SSL *s = attach(fd, server_ctx);
	if (!s)
		return -ENOMEM;
	return blocking_result(fd, s, SSL_accept(s));
}

int tls_server_start(int fd)
{
	SSL *s = attach(fd, server_ctx);
	if (!s)
		return -ENOMEM;
	SSL_set_accept_state(s);
	return 0;
}

int tls_server_step(int fd, bool *want_write)
{
	SSL *s = session(fd);
	*want_write = false;
	if (!s)
		return -EINVAL;
	int r = SSL_do_handshake(s);
	if (r == 1)
		return 0;
	*want_write = SSL_get_error(s, r) == SSL_ERROR_WANT_WRITE;
	return handshake_error(s, r, "TLS handshake");
}

/* -1 and errno for a failed SSL_read/SSL_write. */
static ssize_t io_error(SSL *s, int r)
{
	switch (SSL_get_error(s, r)) {
	case SSL_ERROR_ZERO_RETURN:
		return 0; /* the peer closed the session */
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		break;
	case SSL_ERROR_SYSCALL:
		if (!errno || ERR_peek_error())
			errno = ECONNRESET; /* the connection ended without close_notify */
		break;
	default:
		set_why("TLS record error");
		errno = EPROTO;
		break;
	}
	ERR_clear_error();
	return -1;
}

ssize_t tls_recv(int fd, void *p, size_t n)
{
	SSL *s = session(fd);
	if (!s) {
		errno = EBADF;
		return -1;
	}
	size_t got = 0;
	errno = 0;
	int r = SSL_read_ex(s, p, n, &got);
	return r == 1 ? (ssize_t)got : io_error(s, r);
}

ssize_t tls_send(int fd, const void *p, size_t n)
{
	SSL *s = session(fd);
	if (!s) {
		errno = EBADF;
		return -1;
	}
	sigset_t pipe, old;
	if (mask_sigpipe) {
		sigemptyset(&pipe);
		sigaddset(&pipe, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &pipe, &old);
	}
	size_t put = 0;
	errno = 0;
	int r = SSL_write_ex(s, p, n, &put);
	ssize_t rc = r == 1 ? (ssize_t)put : io_error(s, r);
	if (mask_sigpipe) {
		int saved = errno;
		if (rc < 0 && saved == EPIPE) { /* take the SIGPIPE this write raised */
			struct timespec zero = {0, 0};
			sigtimedwait(&pipe, NULL, &zero);
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		errno = saved;
	}
	return rc;
}

size_t tls_pending(int fd)
{
	SSL *s = session(fd);
	return s ? (size_t)SSL_pending(s) : 0;
}

/* ---------- throw-away certificates ---------- */

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	int ok = e && X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok ? 0 : -EINVAL;
}

/* A certificate for key k named cn, signed by (issuer, ikey), or self-signed. */
static X509 *make_cert(EVP_PKEY *k, const char *cn, X509 *issuer, EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	BIGNUM *serial = BN_new();
	int ok = x && serial && BN_rand(serial, 120, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
		 BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) &&
		 X509_set_version(x, 2) &&
		 X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
		 X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600) &&
		 X509_set_pubkey(x, k) &&
		 X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "O", MBSTRING_ASC,
					    (const unsigned char *)"dfs local cluster", -1, -1, 0) &&
		 X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
					    (const unsigned char *)cn, -1, -1, 0) &&
		 X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
	BN_free(serial);
	X509 *iss = issuer ? issuer : x;
	if (ok && !issuer)
		ok = !add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE") &&
		     !add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign") &&
		     !add_ext(x, iss, NID_subject_key_identifier, "hash");
	else if (ok)
		ok = !add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE") &&
		     !add_ext(x, iss, NID_key_usage, "critical,digitalSignature") &&
		     !add_ext(x, iss, NID_ext_key_usage, "serverAuth,clientAuth") &&
		     !add_ext(x, iss, NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost") &&
		     !add_ext(x, iss, NID_authority_key_identifier, "keyid");
	if (ok)
		ok = X509_sign(x, issuer ? ikey : k, EVP_sha256()) > 0;
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Writes dir/name.pem (x) and dir/name.key (k, mode 0600). */
static int save(const char *dir, const char *name, X509 *x, EVP_PKEY *k, struct buf *err)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s.key", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int ok = f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	if (f ? fclose(f) : (fd >= 0 ? close(fd) : 0))
		ok = 0;
	if (ok) {
		snprintf(path, sizeof path, "%s/%s.pem", dir, name);
		f = fopen(path, "we");
		ok = f && PEM_write_X509(f, x);
		if (f && fclose(f))
			ok = 0;
	}
	if (!ok) {
		buf_printf(err, "cannot write '%s': %s", path, strerror(errno ? errno : EIO));
		return -EIO;
	}
	return 0;
}

int tls_make_local(const char *dir, const char *const *names, struct buf *err)
{
	EVP_PKEY *cakey = EVP_EC_gen("P-256");
	X509 *ca = cakey ? make_cert(cakey, "dfs local CA", NULL, NULL) : NULL;
	int rc = ca ? save(dir, "ca", ca, cakey, err) : -EIO;
	for (size_t i = 0; !rc && names[i]; i++) {
		EVP_PKEY *k = EVP_EC_gen("P-256");
		X509 *x = k ? make_cert(k, names[i], ca, cakey) : NULL;
		rc = x ? save(dir, names[i], x, k, err) : -EIO;
		X509_free(x);
		EVP_PKEY_free(k);
	}
	if (rc == -EIO && !err->len) {
		set_why("");
		buf_printf(err, "cannot make certificates: %s", why);
	}
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return rc;
}
