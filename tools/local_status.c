/*
 * local_status: `dfs local status [--json]` -- every daemon of the local cluster, and
 * for a namenode group each member's role, asked of the member itself.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "cli.h"
#include "json.h"
#include "local_int.h"

/* Each namenode's role: "leader", "follower" or "down" (a lone namenode that runs is
 * the leader). Returns the leader's number (1-based), 0 when none serves. */
static int nn_roles(const struct local *l, char roles[][16])
{
	struct dfs_client_opts o;
	memset(&o, 0, sizeof o);
	struct buf key = BUF_INIT;
	path_of(l, "cluster.key", &key);
	bool keyed = !auth_key_load(key.data, o.key);
	buf_free(&key);
	o.uid = (uint32_t)getuid();
	o.gid = (uint32_t)getgid();
	o.timeout_ms = 3000; /* a hung (SIGSTOPped) member shows as "hung", not a wait */
	int lead = 0;
	for (int k = 1; k <= l->nnn; k++) {
		char name[32];
		local_nn_name(l, k, name, sizeof name);
		snprintf(roles[k - 1], 16, "down");
		if (!running_pid(l, name))
			continue;
		if (l->nnn == 1) {
			snprintf(roles[k - 1], 16, "leader");
			lead = k;
			continue;
		}
		daemon_addr(l, name, o.namenode, sizeof o.namenode);
		struct dfs_client *c = NULL;
		struct dfs_group_status g;
		if (keyed && !dfs_connect(&o, &c) && !dfs_group_status(c, &g)) {
			bool leads = !strcmp(g.state, "leader");
			snprintf(roles[k - 1], 16, "%s", leads ? "leader" : "follower");
			if (leads)
				lead = k;
		} else if (keyed) {
			snprintf(roles[k - 1], 16, "hung"); /* it runs and does not answer */
		}
		dfs_close(c);
	}
	return lead;
}

/* {"id", "pid", "addr", "http"[, "role"]} of namenode `name`. */
static void nn_json(const struct local *l, struct buf *out, const char *name, const char *role)
{
	char addr[256];
	pid_t pid = running_pid(l, name);
	buf_addc(out, '{');
	json_kstr(out, "id", name);
	json_key(out, "pid");
	if (pid)
		buf_printf(out, "%d", (int)pid);
	else
		buf_adds(out, "null");
	daemon_addr(l, name, addr, sizeof addr);
	json_kstr(out, "addr", addr[0] ? addr : NULL);
	daemon_file(l, name, "http", addr, sizeof addr);
	json_kstr(out, "http", addr[0] && pid ? addr : NULL);
	if (role)
		json_kstr(out, "role", role);
	buf_addc(out, '}');
}

int local_status(struct local *l, bool json)
{
	char addr[256];
	struct buf out = BUF_INIT, key = BUF_INIT;
	path_of(l, "cluster.key", &key);
	if (json) {
		buf_addc(&out, '{');
		json_kstr(&out, "dir", l->dir.data);
		json_kstr(&out, "key", key.data);
		json_kbool(&out, "tls", l->tls);
		char roles[MAX_NAMENODES][16];
		int lead = nn_roles(l, roles);
		char name[32];
		local_nn_name(l, lead ? lead : 1, name, sizeof name);
		json_key(&out, "namenode"); /* the leader when status ran */
		nn_json(l, &out, name, NULL);
		json_key(&out, "namenodes");
		buf_addc(&out, '[');
		for (int k = 1; k <= l->nnn; k++) {
			local_nn_name(l, k, name, sizeof name);
			json_sep(&out);
			nn_json(l, &out, name, roles[k - 1]);
		}
		buf_addc(&out, ']');
		pid_t pid;
		json_key(&out, "datanodes");
		buf_addc(&out, '[');
		for (int i = 0; i < l->nids; i++) {
			struct buf d = BUF_INIT;
			path_of(l, l->ids[i], &d);
			json_sep(&out);
			buf_addc(&out, '{');
			json_kstr(&out, "id", l->ids[i]);
			pid = running_pid(l, l->ids[i]);
			json_key(&out, "pid");
			if (pid)
				buf_printf(&out, "%d", (int)pid);
			else
				buf_adds(&out, "null");
			daemon_addr(l, l->ids[i], addr, sizeof addr);
			json_kstr(&out, "addr", addr[0] ? addr : NULL);
			json_kstr(&out, "data_dir", d.data);
			daemon_file(l, l->ids[i], "http", addr, sizeof addr);
			json_kstr(&out, "http", addr[0] && pid ? addr : NULL);
			buf_addc(&out, '}');
			buf_free(&d);
		}
		buf_addc(&out, ']');
		char mnt[PATH_MAX];
		current_mount(l, mnt, sizeof mnt);
		json_kstr(&out, "mount", mnt[0] ? mnt : NULL);
		json_key(&out, "s3");
		char access[64], secret[64];
		pid = running_pid(l, "s3");
		daemon_addr(l, "s3", addr, sizeof addr);
		if (pid && addr[0] && s3_keys(l, access, secret)) {
			buf_printf(&out, "{\"pid\":%d", (int)pid);
			json_kstr(&out, "addr", addr);
			json_kstr(&out, "access_key", access);
			json_kstr(&out, "secret_key", secret);
			json_kstr(&out, "region", "us-east-1");
			buf_addc(&out, '}');
		} else {
			buf_adds(&out, "null");
		}
		buf_addc(&out, '}');
		printf("%s\n", out.data);
	} else {
		printf("local cluster in %s\n", l->dir.data);
		char roles[MAX_NAMENODES][16];
		nn_roles(l, roles);
		pid_t pid;
		for (int k = 1; k <= l->nnn; k++) {
			char name[32], web[256], what[200];
			local_nn_name(l, k, name, sizeof name);
			pid = running_pid(l, name);
			daemon_addr(l, name, addr, sizeof addr);
			daemon_file(l, name, "http", web, sizeof web);
			snprintf(what, sizeof what, "%s%s%s", pid ? "running" : "stopped",
				 l->nnn > 1 && pid ? ", " : "", l->nnn > 1 && pid ? roles[k - 1] : "");
			printf("  %-10s %-18s %-22s %s%s\n", name, what, addr,
			       web[0] && pid ? "status page http://" : "", web[0] && pid ? web : "");
		}
		for (int i = 0; i < l->nids; i++) {
			struct buf d = BUF_INIT;
			path_of(l, l->ids[i], &d);
			pid = running_pid(l, l->ids[i]);
			daemon_addr(l, l->ids[i], addr, sizeof addr);
			printf("  %-10s %-8s %-22s %s\n", l->ids[i], pid ? "running" : "stopped", addr,
			       d.data);
			buf_free(&d);
		}
		char mnt[PATH_MAX];
		current_mount(l, mnt, sizeof mnt);
		printf("  %-10s %-8s %s\n", "mount", mnt[0] ? "mounted" : "none", mnt);
		pid = running_pid(l, "s3");
		daemon_addr(l, "s3", addr, sizeof addr);
		printf("  %-10s %-8s %s\n", "s3", pid ? "running" : "stopped", pid ? addr : "");
	}
	buf_free(&out);
	buf_free(&key);
	return 0;
}

