/* admin: `dfs admin` -- safe mode, datanodes, decommissioning, backups.
 * Main thread only. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "cli.h"
#include "fsutil.h"
#include "pack.h"
#include "json.h"
#include "proto.h"

static int admin_safemode(struct dfs_client *c, const char *what)
{
	uint8_t action;
	if (!strcmp(what, "get"))
		action = PROTO_SAFEMODE_GET;
	else if (!strcmp(what, "enter"))
		action = PROTO_SAFEMODE_ENTER;
	else if (!strcmp(what, "leave"))
		action = PROTO_SAFEMODE_LEAVE;
	else
		return cli_usage("admin", false);
	bool on;
	uint64_t reported, total;
	int rc = dfs_safemode(c, action, &on, &reported, &total);
	if (rc)
		return cli_fail("safemode", rc);
	printf("Safe mode is %s (%" PRIu64 " of %" PRIu64 " blocks reported)\n", on ? "ON" : "OFF",
	       reported, total);
	return 0;
}

static int admin_nodes(struct dfs_client *c)
{
	struct dfs_report r;
	int rc = dfs_report(c, &r);
	if (rc)
		return cli_fail("nodes", rc);
	printf("%-14s %-22s %-8s %8s %s\n", "ID", "ADDRESS", "STATE", "BLOCKS", "LAST CONTACT");
	for (uint32_t i = 0; i < r.ndatanodes; i++) {
		struct dfs_dn_report *d = &r.datanodes[i];
		printf("%-14s %-22s %-8s %8" PRIu64 " %.1fs ago\n", d->id, d->addr,
		       dfs_dn_state_name(d->state), d->blocks, (double)d->last_contact_ms / 1000);
	}
	dfs_report_free(&r);
	return 0;
}

/* dfs admin backup DIR: the namespace, as one consistent snapshot, into
 * DIR/namespace.dfsbak (common/backup.h). */
static int admin_backup(struct dfs_client *c, const char *dir)
{
	struct buf req = BUF_INIT, rep = BUF_INIT;
	struct backup_writer *w = NULL;
	uint64_t total = 0;
	int rc = 0;
	for (uint8_t start = 1;; start = 0) {
		buf_reset(&req);
		pack_u8(&req, start);
		rc = dfs_call(c, PROTO_CN_BACKUP, &req, &rep);
		if (rc)
			break;
		if (rep.len < 5) {
			rc = -EPROTO;
			break;
		}
		if (!w) { /* the namenode agreed: now the file */
			int frc = fs_mkdir_p(dir, 0700);
			if (!frc)
				frc = backup_create(dir, &w);
			if (frc) {
				cli_error(dir, "cannot write a backup there: %s", strerror(-frc));
				buf_free(&req);
				buf_free(&rep);
				return 1;
			}
		}
		/* u32 n, the records, then the 'more' byte */
		uint32_t n = be32_get((const uint8_t *)rep.data);
		uint8_t more = (uint8_t)rep.data[rep.len - 1];
		if ((rc = backup_write(w, rep.data + 4, rep.len - 5, n)))
			break;
		total += n;
		if (!more)
			break;
	}
	buf_free(&req);
	buf_free(&rep);
	if (rc) {
		backup_abort(w);
		return cli_fail(dir, rc);
	}
	if ((rc = backup_finish(w))) {
		cli_error(dir, "cannot finish the backup: %s", strerror(-rc));
		return 1;
	}
	printf("backed up the namespace (%llu records) to %s/%s\n", (unsigned long long)total, dir,
	       BACKUP_FILE);
	return 0;
}

/* `admin namenodes`: every member of the group the client knows, asked one by one. */
static int admin_namenodes(bool json)
{
	struct dfs_client_opts o;
	cli_locate(&o);
	char list[sizeof o.namenode];
	snprintf(list, sizeof list, "%s", o.namenode);
	struct buf out = BUF_INIT;
	if (json)
		buf_addc(&out, '[');
	else
		buf_printf(&out, "%-5s %-22s %-9s %-10s %6s %10s %10s\n", "ID", "ADDRESS", "ROLE",
			   "STATE", "TERM", "COMMIT", "APPLIED");
	int k = 0, leaders = 0;
	o.timeout_ms = 3000; /* a hung or cut-off member shows as down, not as a wait */
	for (char *save = NULL, *a = strtok_r(list, ", ", &save); a;
	     a = strtok_r(NULL, ", ", &save)) {
		k++;
		snprintf(o.namenode, sizeof o.namenode, "%s", a);
		struct dfs_client *c = NULL;
		struct dfs_group_status g;
		bool up = !dfs_connect(&o, &c) && !dfs_group_status(c, &g);
		dfs_close(c);
		const char *role = !up ? "down"
			: !strcmp(g.state, "leader") || !strcmp(g.state, "single") ? "leader"
										       : "follower";
		leaders += !strcmp(role, "leader");
		char id[16];
		snprintf(id, sizeof id, "nn%d", k);
		if (json) {
			json_sep(&out);
			buf_addc(&out, '{');
			json_kstr(&out, "id", id);
			json_kstr(&out, "addr", a);
			json_kstr(&out, "role", role);
			json_kstr(&out, "state", up ? g.state : "down");
			json_ku64(&out, "term", up ? g.term : 0);
			json_ku64(&out, "commit_index", up ? g.commit_index : 0);
			json_ku64(&out, "applied_index", up ? g.applied_index : 0);
			buf_addc(&out, '}');
		} else {
			buf_printf(&out, "%-5s %-22s %-9s %-10s %6llu %10llu %10llu\n", id, a, role,
				   up ? g.state : "-", (unsigned long long)(up ? g.term : 0),
				   (unsigned long long)(up ? g.commit_index : 0),
				   (unsigned long long)(up ? g.applied_index : 0));
		}
	}
	if (json)
		buf_adds(&out, "]\n");
	fputs(out.data ? out.data : "", stdout);
	buf_free(&out);
	if (!leaders) {
		cli_error("namenodes", "no member serves (no leader among %d)", k);
		return 1;
	}
	return 0;
}

int cmd_admin(int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = {CLI_JSON(&json), CLI_END};
	int st = cli_parse_options("admin", argc, argv, opts, 1, CLI_ANY);
	if (st >= 0)
		return st;
	const char *sub = argv[optind];
	int status;
	if (!strcmp(sub, "safemode") && optind + 1 < argc) {
		struct dfs_client *c = cli_connect();
		status = admin_safemode(c, argv[optind + 1]);
		dfs_close(c);
	} else if ((!strcmp(sub, "decommission") || !strcmp(sub, "recommission")) &&
		   optind + 1 < argc) {
		struct dfs_client *c = cli_connect();
		bool on = sub[0] == 'd';
		int rc = dfs_decommission(c, argv[optind + 1], on);
		dfs_close(c);
		status = rc ? cli_fail(argv[optind + 1], rc) : 0;
		if (!rc)
			printf("datanode %s %s\n", argv[optind + 1],
			       on ? "is being decommissioned (see 'dfs admin nodes')"
				  : "is back in service");
	} else if (!strcmp(sub, "backup") && optind + 1 < argc) {
		struct dfs_client *c = cli_connect();
		status = admin_backup(c, argv[optind + 1]);
		dfs_close(c);
	} else if (!strcmp(sub, "namenodes")) {
		status = admin_namenodes(json);
	} else if (!strcmp(sub, "nodes")) {
		struct dfs_client *c = cli_connect();
		status = admin_nodes(c);
		dfs_close(c);
	} else {
		status = cli_usage("admin", false);
	}
	return status;
}
