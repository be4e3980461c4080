/* locate: finding the namenode and the key. See locate.h. */
#include "locate.h"
#include "tls.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"

void locate_local_dir(const char *dir, struct buf *out)
{
	buf_reset(out);
	if (!dir || !*dir)
		dir = getenv("DFS_DIR");
	if (!dir || !*dir)
		dir = ".dfs";
	if (dir[0] != '/') {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof cwd))
			buf_printf(out, "%s/", cwd);
	}
	buf_adds(out, dir);
	while (out->len > 1 && out->data[out->len - 1] == '/')
		buf_truncate(out, out->len - 1);
}

/* The TLS files found so far (command line first, then the config in use). */
struct tls_files {
	char cert[4096], key[4096], ca[4096];
};

static void set_if_empty(char *dst, size_t sz, const char *v)
{
	if (!dst[0] && v && *v)
		snprintf(dst, sz, "%s", v);
}

/* Reads namenode, key_file and the TLS files from a config file into opts, keyfile
 * and tls (only fields still empty). */
static int from_config(const char *path, struct dfs_client_opts *opts, char *keyfile,
		       size_t keysz, struct tls_files *tls, struct buf *err)
{
	struct cfg c;
	cfg_defaults(&c);
	int rc = cfg_load(&c, path, err);
	if (rc)
		return rc;
	set_if_empty(opts->namenode, sizeof opts->namenode, c.namenodes); /* a group first */
	set_if_empty(opts->namenode, sizeof opts->namenode, c.namenode);
	set_if_empty(keyfile, keysz, c.key_file);
	set_if_empty(tls->cert, sizeof tls->cert, c.tls_cert);
	set_if_empty(tls->key, sizeof tls->key, c.tls_key);
	set_if_empty(tls->ca, sizeof tls->ca, c.tls_ca);
	return 0;
}

int locate_cluster(const struct locate_args *a, struct dfs_client_opts *opts, struct buf *err)
{
	char keyfile[4096] = "";
	struct tls_files tls = {"", "", ""};
	set_if_empty(tls.cert, sizeof tls.cert, a->tls_cert);
	set_if_empty(tls.key, sizeof tls.key, a->tls_key);
	set_if_empty(tls.ca, sizeof tls.ca, a->tls_ca);
	const char *env;
	opts->namenode[0] = 0;
	if (a->key && *a->key)
		snprintf(keyfile, sizeof keyfile, "%s", a->key);
	else if ((env = getenv("DFS_KEY")) && *env)
		snprintf(keyfile, sizeof keyfile, "%s", env);
	if (a->namenode && *a->namenode)
		snprintf(opts->namenode, sizeof opts->namenode, "%s", a->namenode);
	else if ((env = getenv("DFS_NAMENODE")) && *env)
		snprintf(opts->namenode, sizeof opts->namenode, "%s", env);

	int rc = 0;
	struct buf dir = BUF_INIT, conf = BUF_INIT;
	bool explicit_dir = (a->dir && *a->dir) || ((env = getenv("DFS_DIR")) && *env);
	locate_local_dir(a->dir, &dir);
	buf_printf(&conf, "%s/dfs.conf", dir.data);
	if ((!opts->namenode[0] || !keyfile[0]) && access(conf.data, R_OK) == 0) {
		rc = from_config(conf.data, opts, keyfile, sizeof keyfile, &tls, err);
	} else if (explicit_dir && !opts->namenode[0]) {
		buf_printf(err, "no local cluster in '%s' (start one with 'dfs local up')",
			   dir.data);
		rc = -ENOENT;
	}
	if (!rc && (!opts->namenode[0] || !keyfile[0])) {
		const char *cf = a->config && *a->config ? a->config : getenv("DFS_CONFIG");
		if (cf && *cf)
			rc = from_config(cf, opts, keyfile, sizeof keyfile, &tls, err);
		else if (access("/etc/dfs/dfs.conf", R_OK) == 0)
			rc = from_config("/etc/dfs/dfs.conf", opts, keyfile, sizeof keyfile, &tls,
					 err);
	}
	if (!rc && !opts->namenode[0]) {
		buf_adds(err, "cannot find the cluster: give -n HOST:PORT, set DFS_NAMENODE, "
			      "or start a local one with 'dfs local up'");
		rc = -ENOENT;
	}
	if (!rc && !keyfile[0]) {
		buf_adds(err, "cannot find the cluster key: give --key FILE or set DFS_KEY");
		rc = -ENOENT;
	}
	if (!rc) {
		rc = auth_key_load(keyfile, opts->key);
		if (rc)
			buf_printf(err, "cannot load cluster key '%s': %s", keyfile,
				   rc == -EINVAL ? "malformed key file" : strerror(-rc));
	}
	if (!rc && (tls.cert[0] || tls.key[0] || tls.ca[0])) {
		struct buf why = BUF_INIT;
		rc = tls_init(tls.cert, tls.key, tls.ca, &why);
		if (rc)
			buf_printf(err, "TLS: %s", why.data);
		buf_free(&why);
	}
	buf_free(&dir);
	buf_free(&conf);
	return rc;
}
