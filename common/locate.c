/* locate: finding the namenode and the key. See locate.h. */
#include "locate.h"

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

/* Reads namenode/key_file from a config file into opts (only fields still empty). */
static int from_config(const char *path, struct dfs_client_opts *opts, char *keyfile,
		       size_t keysz, struct buf *err)
{
	struct cfg c;
	cfg_defaults(&c);
	int rc = cfg_load(&c, path, err);
	if (rc)
		return rc;
	if (!opts->namenode[0] && c.namenode[0])
		snprintf(opts->namenode, sizeof opts->namenode, "%s", c.namenode);
	if (!keyfile[0] && c.key_file[0])
		snprintf(keyfile, keysz, "%s", c.key_file);
	return 0;
}

int locate_cluster(const struct locate_args *a, struct dfs_client_opts *opts, struct buf *err)
{
	char keyfile[4096] = "";
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
		rc = from_config(conf.data, opts, keyfile, sizeof keyfile, err);
	} else if (explicit_dir && !opts->namenode[0]) {
		buf_printf(err, "no local cluster in '%s' (start one with 'dfs local up')",
			   dir.data);
		rc = -ENOENT;
	}
	if (!rc && (!opts->namenode[0] || !keyfile[0])) {
		const char *cf = a->config && *a->config ? a->config : getenv("DFS_CONFIG");
		if (cf && *cf)
			rc = from_config(cf, opts, keyfile, sizeof keyfile, err);
		else if (access("/etc/dfs/dfs.conf", R_OK) == 0)
			rc = from_config("/etc/dfs/dfs.conf", opts, keyfile, sizeof keyfile, err);
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
	buf_free(&dir);
	buf_free(&conf);
	return rc;
}
