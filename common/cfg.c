/* cfg: settings. See cfg.h. Filled by the main thread before any other starts. */
#include "cfg.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum kind { K_SIZE, K_U32, K_SECS, K_RATIO, K_STR, K_SYNC, K_BOOL };

/* Each setting: its name, how its value is written, and its default as it would be
 * written in the file (NULL: zero or "", or computed by cfg_defaults). */
static const struct {
	const char *key;
	enum kind kind;
	size_t off;
	size_t size;
	const char *def;
} keys[] = {
#define F(name, kind, def) \
	{#name, kind, offsetof(struct cfg, name), sizeof(((struct cfg *)0)->name), def}
	F(block_size, K_SIZE, "64M"),
	F(replication, K_U32, "3"),
	F(heartbeat_interval, K_SECS, "1"),
	F(stale_node_timeout, K_SECS, "4"),
	F(dead_node_timeout, K_SECS, "10"),
	F(maintenance_timeout, K_SECS, "600"),
	F(scan_period, K_SECS, "1209600"),
	F(safemode_threshold, K_RATIO, "0.999"),
	F(lease_timeout, K_SECS, "60"),
	F(task_slots, K_U32, NULL), /* the number of online CPUs */
	F(locality_delay, K_SECS, "1"),
	F(task_attempts, K_U32, "4"),
	F(task_timeout, K_SECS, "600"),
	F(speculation, K_BOOL, "on"),
	F(sort_buffer, K_SIZE, "128M"),
	F(reduce_slowstart, K_RATIO, "0.8"),
	F(task_user, K_STR, "nobody"),
	F(trash_interval, K_SECS, "0"),
	F(retry_cache_seconds, K_SECS, "120"),
	F(metadata_sync, K_SYNC, "always"),
	F(permissions, K_BOOL, "on"),
	F(superuser, K_U32, NULL),
	F(max_connections, K_U32, "4096"),
	F(max_unauth_connections, K_U32, "64"),
	F(handshake_timeout, K_SECS, "5"),
	F(frame_timeout, K_SECS, "30"),
	F(block_token_lifetime, K_SECS, "3600"),
	F(block_key_interval, K_SECS, "3600"),
	F(test_corrupt_writes, K_U32, NULL), /* 0: off (test-only) */
	F(test_io_delay, K_SECS, NULL),      /* 0: off (test-only) */
	F(test_exit_before_reply, K_STR, NULL), /* "": off (test-only) */
	F(test_hold_reduces, K_STR, NULL),   /* "": off (test-only) */
	F(namenode, K_STR, NULL),
	F(namenodes, K_STR, NULL),
	F(raft_addrs, K_STR, NULL),
	F(raft_id, K_U32, NULL),
	F(election_timeout, K_SECS, "1"),
	F(listen, K_STR, NULL),
	F(advertise, K_STR, NULL),
	F(http, K_STR, NULL),
	F(key_file, K_STR, NULL),
	F(datanode_key_file, K_STR, NULL),
	F(tls_cert, K_STR, NULL),
	F(tls_key, K_STR, NULL),
	F(tls_ca, K_STR, NULL),
	F(name_dir, K_STR, NULL),
	F(data_dir, K_STR, NULL),
	F(log_file, K_STR, NULL),
	F(log_level, K_STR, "info"),
#undef F
};

void cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof *c);
	struct buf err = BUF_INIT;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (!keys[i].def)
			continue;
		int rc = cfg_set(c, keys[i].key, keys[i].def, &err);
		assert(rc == 0 && "a default in keys[] does not parse");
		(void)rc;
	}
	buf_free(&err);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	c->task_slots = n > 0 ? (uint32_t)n : 1;
}

void cfg_datanode_key_path(const struct cfg *c, char *out, size_t outsz)
{
	if (c->datanode_key_file[0]) {
		snprintf(out, outsz, "%s", c->datanode_key_file);
		return;
	}
	const char *slash = strrchr(c->key_file, '/');
	if (!slash)
		snprintf(out, outsz, "datanode.key");
	else
		snprintf(out, outsz, "%.*s/datanode.key", (int)(slash - c->key_file), c->key_file);
}

int cfg_parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	unsigned shift = 0;
	switch (toupper((unsigned char)*end)) {
	case 0: break;
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	default: return -EINVAL;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || (shift && v > (~0ULL >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int cfg_parse_seconds(const char *s, double *out)
{
	char *end;
	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0)
		return -EINVAL;
	*out = v;
	return 0;
}

int cfg_set(struct cfg *c, const char *key, const char *value, struct buf *err)
{
	if (!strcmp(key, "config_version")) {
		uint64_t v;
		if (cfg_parse_size(value, &v) || v == 0)
			goto bad;
		if (v > CFG_VERSION) {
			buf_printf(err, "config_version %s is newer than this program's %d: use the "
				   "dfs that wrote it", value, CFG_VERSION);
			return -EINVAL;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (strcmp(keys[i].key, key))
			continue;
		void *p = (char *)c + keys[i].off;
		uint64_t sz;
		double d;
		switch (keys[i].kind) {
		case K_SIZE:
			if (cfg_parse_size(value, &sz) || sz == 0)
				goto bad;
			if (!strcmp(key, "block_size") &&
			    (sz % 65536 || sz > (1ULL << 40)))
				goto bad_block;
			*(uint64_t *)p = sz;
			return 0;
		case K_U32:
			if (cfg_parse_size(value, &sz) || sz == 0 || sz > 1000000)
				goto bad;
			if (!strcmp(key, "replication") && sz > 512)
				goto bad;
			*(uint32_t *)p = (uint32_t)sz;
			return 0;
		case K_SECS:
			if (cfg_parse_seconds(value, &d))
				goto bad;
			*(double *)p = d;
			return 0;
		case K_RATIO:
			if (cfg_parse_seconds(value, &d) || d > 1)
				goto bad;
			*(double *)p = d;
			return 0;
		case K_SYNC:
			if (!strcmp(value, "always")) {
				*(double *)p = 0;
				return 0;
			}
			if (cfg_parse_seconds(value, &d) || d <= 0)
				goto bad;
			*(double *)p = d;
			return 0;
		case K_BOOL:
			if (!strcmp(value, "1") || !strcmp(value, "on") || !strcmp(value, "yes") ||
			    !strcmp(value, "true"))
				*(uint32_t *)p = 1;
			else if (!strcmp(value, "0") || !strcmp(value, "off") ||
				 !strcmp(value, "no") || !strcmp(value, "false"))
				*(uint32_t *)p = 0;
			else
				goto bad;
			return 0;
		case K_STR:
			if (strlen(value) >= keys[i].size)
				goto bad;
			memcpy(p, value, strlen(value) + 1);
			return 0;
		}
	}
	buf_printf(err, "unknown setting '%s'", key);
	return -EINVAL;
bad_block:
	buf_printf(err, "invalid block_size '%s': must be a multiple of 64K", value);
	return -EINVAL;
bad:
	buf_printf(err, "invalid value '%s' for setting '%s'", value, key);
	return -EINVAL;
}

int cfg_set_kv(struct cfg *c, const char *kv, struct buf *err)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv) {
		buf_printf(err, "expected KEY=VALUE, got '%s'", kv);
		return -EINVAL;
	}
	char key[64];
	size_t kl = (size_t)(eq - kv);
	if (kl >= sizeof key) {
		buf_printf(err, "unknown setting '%.*s'", (int)kl, kv);
		return -EINVAL;
	}
	memcpy(key, kv, kl);
	key[kl] = 0;
	return cfg_set(c, key, eq + 1, err);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static int load_stream(struct cfg *c, FILE *f, const char *path, struct buf *err)
{
	char line[8192];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			buf_printf(err, "%s:%d: expected 'key = value'", path, lineno);
			rc = -EINVAL;
			break;
		}
		*eq = 0;
		struct buf why = BUF_INIT;
		rc = cfg_set(c, trim(s), trim(eq + 1), &why);
		if (rc)
			buf_printf(err, "%s:%d: %s", path, lineno, why.data);
		buf_free(&why);
		if (rc)
			break;
	}
	return rc;
}

int cfg_load(struct cfg *c, const char *path, struct buf *err)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		buf_printf(err, "cannot open config '%s': %s", path, strerror(e));
		return -e;
	}
	int rc = load_stream(c, f, path, err);
	fclose(f);
	return rc;
}

int cfg_parse(struct cfg *c, const char *text, size_t len, const char *name, struct buf *err)
{
	if (!len)
		return 0;
	FILE *f = fmemopen((void *)text, len, "r");
	if (!f)
		return -errno;
	int rc = load_stream(c, f, name, err);
	fclose(f);
	return rc;
}
