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

int cmd_admin(int argc, char **argv)
{
	int st = cli_parse_options("admin", argc, argv, NULL, 1, CLI_ANY);
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
	} else if (!strcmp(sub, "nodes")) {
		struct dfs_client *c = cli_connect();
		status = admin_nodes(c);
		dfs_close(c);
	} else {
		status = cli_usage("admin", false);
	}
	return status;
}
