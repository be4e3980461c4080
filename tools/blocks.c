/*
 * blocks: `dfs setrep`, `dfs blocks`, `dfs report` and `dfs fsck` -- replication, block
 * placement and the cluster's health. Main thread only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "proto.h"

/* ---------------- setrep ---------------- */

struct setrep_ctx {
	struct dfs_client *c;
	uint16_t n;
};

/* Sets the replication of path and, for a directory, of everything below it. */
static int setrep_tree(void *arg, const char *path, const struct dfs_attr *entry)
{
	struct setrep_ctx *s = arg;
	if (entry && entry->type != PROTO_T_DIR && entry->type != PROTO_T_FILE)
		return 0;
	struct dfs_attr a;
	int rc = dfs_setrep(s->c, path, s->n, &a);
	if (rc)
		return cli_fail(path, rc);
	return a.type == PROTO_T_DIR ? cli_list(s->c, path, setrep_tree, s) : 0;
}

/* Waits until every block below path has its replication (setrep -w). */
static int setrep_wait(struct dfs_client *c, const char *path)
{
	for (int i = 0;; i++) {
		struct dfs_fsck f;
		int rc = dfs_fsck(c, path, &f);
		if (rc)
			return cli_fail(path, rc);
		uint64_t left = f.under_replicated + f.over_replicated, bad = f.corrupt + f.missing;
		dfs_fsck_free(&f);
		if (!left && bad) {
			cli_error(path, "%llu blocks are corrupt or missing",
				  (unsigned long long)bad);
			return 1;
		}
		if (!left)
			return 0;
		if (i % 25 == 0 && !cli_g.quiet)
			fprintf(stderr, "waiting for %llu blocks of %s to reach their replication\n",
				(unsigned long long)left, path);
		usleep(200000);
	}
}

int cmd_setrep(int argc, char **argv)
{
	bool wait = false;
	const struct cli_opt opts[] = {CLI_BOOL('w', "wait", &wait), CLI_END};
	int st = cli_parse_options("setrep", argc, argv, opts, 2, CLI_ANY);
	if (st >= 0)
		return st;
	uint16_t n;
	if (!cli_parse_repl(argv[optind], &n))
		return 2;
	struct dfs_client *c = cli_connect();
	struct setrep_ctx s = {c, n};
	struct buf p = BUF_INIT;
	int status = 0;
	for (int i = optind + 1; i < argc; i++) {
		cli_remote_path(argv[i], &p);
		status |= setrep_tree(&s, p.data, NULL);
		if (!status && wait)
			status |= setrep_wait(c, p.data);
		if (!status)
			printf("replication of %s set to %llu\n", p.data, (unsigned long long)n);
	}
	buf_free(&p);
	dfs_close(c);
	return status;
}

/* ---------------- blocks ---------------- */

int cmd_blocks(int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = {CLI_JSON(&json), CLI_END};
	int st = cli_parse_options("blocks", argc, argv, opts, 1, 1);
	if (st >= 0)
		return st;
	struct dfs_client *c = cli_connect();
	struct buf p = BUF_INIT, out = BUF_INIT;
	cli_remote_path(argv[optind], &p);
	struct dfs_blocks b;
	int rc = dfs_get_blocks(c, p.data, 0, 0, &b);
	dfs_close(c);
	if (rc) {
		int s = cli_fail(p.data, rc);
		buf_free(&p);
		return s;
	}
	if (json) {
		buf_addc(&out, '{');
		json_kstr(&out, "path", p.data);
		json_ku64(&out, "length", b.attr.size);
		json_ku64(&out, "replication", b.attr.replication);
		json_ku64(&out, "block_size", b.attr.block_size);
		json_key(&out, "blocks");
		buf_addc(&out, '[');
		for (size_t i = 0; i < b.n; i++) {
			json_sep(&out);
			buf_addc(&out, '{');
			json_ku64(&out, "id", b.v[i].id);
			json_ku64(&out, "genstamp", b.v[i].genstamp);
			json_ku64(&out, "offset", b.v[i].offset);
			json_ku64(&out, "length", b.v[i].length);
			json_key(&out, "locations");
			buf_addc(&out, '[');
			for (uint32_t l = 0; l < b.v[i].nlocs; l++) {
				json_sep(&out);
				json_str(&out, b.v[i].locs[l].id);
			}
			buf_adds(&out, "]}");
		}
		buf_adds(&out, "]}");
		printf("%s\n", out.data);
	} else {
		printf("%s: %" PRIu64 " bytes, %zu blocks, replication %u, block size %" PRIu64 "\n",
		       p.data, b.attr.size, b.n, b.attr.replication, b.attr.block_size);
		for (size_t i = 0; i < b.n; i++) {
			printf("  %zu. blk_%" PRIu64 "_%" PRIu64 " offset %" PRIu64 " length %" PRIu64
			       " on", i, b.v[i].id, b.v[i].genstamp, b.v[i].offset, b.v[i].length);
			if (!b.v[i].nlocs)
				printf(" (no live replica)");
			for (uint32_t l = 0; l < b.v[i].nlocs; l++)
				printf(" %s(%s)", b.v[i].locs[l].id, b.v[i].locs[l].addr);
			printf("\n");
		}
	}
	dfs_blocks_free(&b);
	buf_free(&p);
	buf_free(&out);
	return 0;
}

/* ---------------- report, fsck ---------------- */

/* One count of a report or fsck: its --json key and its label in the text output,
 * so that each count is named once for both. */
struct count {
	const char *key, *label;
	uint64_t v;
};

static void json_counts(struct buf *out, const struct count *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_ku64(out, v[i].key, v[i].v);
}

/* Prints "<indent><label>: <count>" a line. */
static void print_counts(const char *indent, const struct count *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%s: %" PRIu64 "\n", indent, v[i].label, v[i].v);
}

int cmd_report(int argc, char **argv)
{
	bool json = false, human = false;
	const struct cli_opt opts[] = {CLI_JSON(&json), CLI_BOOL('h', "human-readable", &human),
				       CLI_END};
	int st = cli_parse_options("report", argc, argv, opts, 0, 0);
	if (st >= 0)
		return st;
	struct dfs_client *c = cli_connect();
	struct dfs_report r;
	int rc = dfs_report(c, &r);
	dfs_close(c);
	if (rc)
		return cli_fail(NULL, rc);
	const struct count counts[] = {
		{"files", "Files and directories", r.files},
		{"blocks", "Blocks", r.blocks},
		{"under_replicated", "Under-replicated blocks", r.under_replicated},
		{"corrupt", "Corrupt blocks", r.corrupt},
		{"missing", "Missing blocks", r.missing},
	};
	size_t ncounts = sizeof counts / sizeof counts[0];
	if (json) {
		struct buf out = BUF_INIT;
		buf_addc(&out, '{');
		json_kbool(&out, "safe_mode", r.safe_mode);
		json_ku64(&out, "capacity", r.capacity);
		json_ku64(&out, "used", r.used);
		json_ku64(&out, "remaining", r.remaining);
		json_counts(&out, counts, ncounts);
		json_key(&out, "datanodes");
		buf_addc(&out, '[');
		for (uint32_t i = 0; i < r.ndatanodes; i++) {
			struct dfs_dn_report *d = &r.datanodes[i];
			json_sep(&out);
			buf_addc(&out, '{');
			json_kstr(&out, "id", d->id);
			json_kstr(&out, "addr", d->addr);
			json_kstr(&out, "state", dfs_dn_state_name(d->state));
			json_ku64(&out, "capacity", d->capacity);
			json_ku64(&out, "used", d->used);
			json_ku64(&out, "remaining", d->remaining);
			json_ku64(&out, "blocks", d->blocks);
			json_kstr(&out, "fs_id", d->fs_id);
			json_kdbl(&out, "last_contact_s", (double)d->last_contact_ms / 1000.0);
			json_ku64(&out, "xceivers", d->xceivers);
			buf_addc(&out, '}');
		}
		buf_adds(&out, "]}");
		printf("%s\n", out.data);
		buf_free(&out);
		dfs_report_free(&r);
		return 0;
	}
	char a[32], b[32], d[32];
	uint32_t live = 0, dead = 0, maint = 0;
	for (uint32_t i = 0; i < r.ndatanodes; i++) {
		uint8_t state = r.datanodes[i].state;
		live += state != PROTO_DN_DEAD && state != PROTO_DN_MAINTENANCE;
		dead += state == PROTO_DN_DEAD;
		maint += state == PROTO_DN_MAINTENANCE;
	}
	printf("Safe mode: %s\n", r.safe_mode ? "ON" : "off");
	printf("Configured capacity: %s\n", cli_size(r.capacity, human, a));
	printf("DFS used: %s\nDFS remaining: %s\n", cli_size(r.used, human, b),
	       cli_size(r.remaining, human, d));
	print_counts("", counts, ncounts);
	if (maint)
		printf("Datanodes: %u live, %u dead, %u in maintenance\n\n", live, dead, maint);
	else
		printf("Datanodes: %u live, %u dead\n\n", live, dead);
	printf("%-14s %-22s %-8s %10s %10s %10s %8s %s\n", "ID", "ADDRESS", "STATE", "CAPACITY",
	       "USED", "REMAINING", "BLOCKS", "LAST CONTACT");
	for (uint32_t i = 0; i < r.ndatanodes; i++) {
		struct dfs_dn_report *n = &r.datanodes[i];
		char x[32], y[32], z[32];
		printf("%-14s %-22s %-8s %10s %10s %10s %8" PRIu64 " %.1fs ago\n", n->id, n->addr,
		       dfs_dn_state_name(n->state), cli_size(n->capacity, human, x),
		       cli_size(n->used, human, y), cli_size(n->remaining, human, z), n->blocks,
		       (double)n->last_contact_ms / 1000.0);
	}
	dfs_report_free(&r);
	return 0;
}

int cmd_fsck(int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = {CLI_JSON(&json), CLI_END};
	int st = cli_parse_options("fsck", argc, argv, opts, 0, 1);
	if (st >= 0)
		return st;
	struct buf p = BUF_INIT;
	cli_remote_path(optind < argc ? argv[optind] : "/", &p);
	struct dfs_client *c = cli_connect();
	struct dfs_fsck f;
	int rc = dfs_fsck(c, p.data, &f);
	dfs_close(c);
	if (rc) {
		st = cli_fail(p.data, rc);
		buf_free(&p);
		return st;
	}
	bool healthy = !f.corrupt && !f.missing;
	const char *status = healthy ? "HEALTHY" : "CORRUPT";
	const struct count counts[] = {
		{"files", "Files", f.files},
		{"blocks", "Blocks", f.blocks},
		{"under_replicated", "Under-replicated blocks", f.under_replicated},
		{"over_replicated", "Over-replicated blocks", f.over_replicated},
		{"corrupt", "Corrupt blocks", f.corrupt},
		{"missing", "Missing blocks", f.missing},
	};
	size_t ncounts = sizeof counts / sizeof counts[0];
	if (json) {
		struct buf o = BUF_INIT;
		buf_addc(&o, '{');
		json_kstr(&o, "status", status);
		json_kstr(&o, "path", p.data);
		json_counts(&o, counts, ncounts);
		json_key(&o, "problems");
		buf_addc(&o, '[');
		for (uint32_t i = 0; i < f.nproblems; i++) {
			json_sep(&o);
			buf_addc(&o, '{');
			json_kstr(&o, "path", f.problems[i].path);
			json_kstr(&o, "problem", f.problems[i].what);
			buf_addc(&o, '}');
		}
		buf_adds(&o, "]}");
		printf("%s\n", o.data);
		buf_free(&o);
	} else {
		for (uint32_t i = 0; i < f.nproblems; i++)
			printf("%s: %s\n", f.problems[i].path, f.problems[i].what);
		printf("Status: %s\n Path: %s\n", status, p.data);
		print_counts(" ", counts, ncounts);
	}
	dfs_fsck_free(&f);
	buf_free(&p);
	return healthy ? 0 : 1;
}
