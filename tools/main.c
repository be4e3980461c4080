/*
 * dfs: the command line. `dfs --help` lists the commands; `dfs CMD --help` explains
 * one. Global options (-n, --dir, --key, --config, -q, -v) may stand anywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
} cmds[] = {
	{"put", cmd_put, "put [-f] [-r REPL] [-b BLOCKSIZE] SRC... DST",
	 "Copy local files or directories (recursively) into the cluster; SRC '-' reads\n"
	 "standard input. DST is a file, or an existing directory to copy into.\n"
	 "  -f, --force            overwrite an existing file\n"
	 "  -r, --replication N    copies of each block (1..512; default: the directory's or\n"
	 "                         the cluster's replication setting)\n"
	 "  -b, --block-size SIZE  block size, a multiple of 64K (K, M, G suffixes)\n"},
	{"get", cmd_get, "get [-f] SRC... DST",
	 "Copy files or directories (recursively) out of the cluster; DST '-' writes to\n"
	 "standard output. Every block is verified against its checksums.\n"
	 "  -f, --force            overwrite an existing local file\n"},
	{"cat", cmd_cat, "cat PATH...", "Write files to standard output.\n"},
	{"ls", cmd_ls, "ls [-l] [-R] [-h] [PATH...]",
	 "List directories (default /).\n"
	 "  -l  long format: mode, replication, uid, gid, size, mtime, path\n"
	 "  -R  recurse into subdirectories\n"
	 "  -h  sizes in K, M, G\n"},
	{"mkdir", cmd_mkdir, "mkdir [-p] PATH...",
	 "Create directories.\n  -p  create missing parents; no error if it exists\n"},
	{"rm", cmd_rm, "rm [-r] [-f] [--skip-trash] PATH...",
	 "Remove files; directories need -r. With the cluster's trash_interval set, they\n"
	 "go to /user/NAME/.Trash/Current/PATH first (emptied after that interval; 'dfs mv'\n"
	 "brings them back).\n"
	 "  -r            remove directories and their contents\n"
	 "  -f            no error for paths that do not exist\n"
	 "  --skip-trash  delete at once\n"},
	{"mv", cmd_mv, "mv SRC... DST",
	 "Rename (atomically) files or directories; into DST when it is a directory.\n"},
	{"chmod", cmd_chmod, "chmod [-R] MODE PATH...",
	 "Change permission bits: octal (755) or symbolic (u+x,go-w,a=rX).\n"
	 "  -R  every file and directory below PATH too\n"},
	{"chown", cmd_chown, "chown [-R] OWNER[:GROUP] PATH...",
	 "Change the owner (and group): names of this host, or numbers.\n"
	 "  -R  every file and directory below PATH too\n"},
	{"chgrp", cmd_chgrp, "chgrp [-R] GROUP PATH...",
	 "Change the group: a name of this host, or a number.\n"
	 "  -R  every file and directory below PATH too\n"},
	{"stat", cmd_stat, "stat [--json] PATH...", "Show a path's attributes.\n"},
	{"du", cmd_du, "du [-s] [-h] [PATH...]",
	 "Bytes used by each entry of a directory.\n  -s  one total per PATH\n  -h  human units\n"},
	{"df", cmd_df, "df [-h]", "Cluster capacity, used and available space.\n"},
	{"setrep", cmd_setrep, "setrep [-w] N PATH...",
	 "Set the replication of files; on a directory, of every file below it and of\n"
	 "new files created in it.\n"
	 "  -w, --wait  wait until every block has that many replicas\n"},
	{"blocks", cmd_blocks, "blocks [--json] PATH",
	 "Each block of a file: id, genstamp, offset, length, datanodes holding it.\n"},
	{"report", cmd_report, "report [--json] [-h]",
	 "Cluster totals and every datanode: state, capacity, used, blocks, last contact.\n"},
	{"fsck", cmd_fsck, "fsck [PATH] [--json]",
	 "Check every file below PATH (default /): healthy, under- and over-replicated,\n"
	 "corrupt and missing blocks. Exit status 0 when HEALTHY, 1 when CORRUPT.\n"},
	{"admin", cmd_admin,
	 "admin safemode get|enter|leave | nodes | namenodes [--json] | decommission NODE |\n"
	 "       recommission NODE | backup DIR",
	 "  safemode get|enter|leave  the namenode's safe mode (read-only, no replication)\n"
	 "  nodes                     every datanode: state, blocks, last contact\n"
	 "  namenodes [--json]        every namenode of the group: role (leader, follower,\n"
	 "                            down), Raft term, commit and applied index; exit\n"
	 "                            status 1 when none serves\n"
	 "  decommission NODE         retire a datanode: its blocks are copied elsewhere, then\n"
	 "                            it shows 'decommissioned' and can be stopped\n"
	 "  recommission NODE         put it back in service\n"
	 "  backup DIR                a consistent snapshot of the namespace, taken online, into\n"
	 "                            DIR/namespace.dfsbak (restore: dfs-namenode format --dir D\n"
	 "                            --from-backup DIR; the datanodes then report their blocks)\n"},
	{"run", cmd_run,
	 "run --input PATH... --output DIR (--map CMD | --grep STR | --regex ERE)\n"
	 "       [--invert] [--ignore-case] [--count] [--overwrite] [--detach]\n"
	 "       [--reduce CMD|count|sum|min|max [--combine count|sum|min|max]\n"
	 "        [--reducers N] [--key-fields K] [--partition hash|range]]\n"
	 "       [--output-replication R]",
	 "Run a job next to the data: one task per block of every input file (directories:\n"
	 "the files below them, names starting with '_' or '.' skipped), each on a node\n"
	 "holding that block. A task gets the lines that start in its block.\n"
	 "  --map CMD         run '/bin/sh -c CMD' with the lines on stdin; its stdout is the\n"
	 "                    task's output (with a filter: after it)\n"
	 "  --grep STR        keep the lines containing STR (a fixed string), in the datanode\n"
	 "  --regex ERE       keep the lines matching a POSIX extended regular expression\n"
	 "  --invert          keep the lines that do not match\n"
	 "  --ignore-case     match ASCII letters in either case\n"
	 "  --count           print the number of kept lines (last line of standard output)\n"
	 "  --overwrite       replace DIR if it exists (else that is an error)\n"
	 "  --detach          print the job id and return at once\n"
	 "  --reduce CMD      MapReduce: the map output ('key<TAB>value' lines; no tab: all\n"
	 "                    key) is partitioned by key, sorted bytewise and each reducer\n"
	 "                    runs CMD (or a built-in: count, sum, min, max) on its sorted\n"
	 "                    partition; --map may be left out (the input is the map output)\n"
	 "  --combine B       a built-in run on each map's sorted output first\n"
	 "  --reducers N      reduce tasks (default 1); output DIR/part-r-NNNNN\n"
	 "  --key-fields K    the key is the first K tab-separated fields (default 1)\n"	 "  --partition P     hash (default), or range: boundaries from a sample of the\n"
	 "                    input taken now (through --map, run here), so part-r-* in\n"
	 "                    order are globally sorted\n"
	 "  --output-replication R  replication of the output files (default: the cluster's)\n"
	 "Output: DIR/part-NNNNN per task in input order, and DIR/_SUCCESS. Progress and\n"
	 "the summary go to standard error. Exit status 0 when the job succeeded.\n"},
	{"job", cmd_job, "job list [--json] | status ID [--json] | kill ID | logs ID [TASK]",
	 "  list        recent jobs (the namenode keeps the last 100)\n"
	 "  status ID   a job's state, tasks, placement and counts\n"
	 "  kill ID     stop a running job; its output is removed\n"
	 "  logs ID [TASK]  every attempt (of one task): node, exit status, standard error\n"},
	{"mount", cmd_mount, "mount [-f] [-o OPTIONS] MOUNTPOINT",
	 "Mounts the cluster at MOUNTPOINT with FUSE (runs dfs-fuse; -f stays in the\n"
	 "foreground). Unmount with: fusermount3 -u MOUNTPOINT\n"},
	{"local", cmd_local,
	 "local up [--dir DIR] [--datanodes N] [--mount MNT | --no-mount] [--fuse-opts OPTS]\n"
	 "       [--tls] [--no-s3] [-o KEY=VALUE]... | down | status [--json] |\n"
	 "       stop-node ID [--kill] | start-node ID | add-node",
	 "The embedded cluster: a namenode and N datanodes (default 3) on 127.0.0.1 with\n"
	 "all state under DIR (default ./.dfs, or $DFS_DIR).\n"
	 "  up          format (first time) and start; returns when every datanode is live\n"
	 "              and the FUSE mount (DIR/mnt, or --mount MNT) is up; run again on a\n"
	 "              stopped DIR to restart it on the same ports; --tls makes a\n"
	 "              throw-away CA and certificates in DIR/tls, and from then on every\n"
	 "              connection of this cluster (daemons, tool, mount) is TLS 1.3\n"
	 "  down        unmount, then stop exactly the processes of DIR\n"
	 "  status      pids, addresses, data directories (--json for scripts)\n"
	 "  stop-node   stop one daemon ('namenode' or a datanode id); --kill sends SIGKILL\n"
	 "  start-node  start it again, on the same address\n"
	 "  add-node    add and start one more datanode\n"
	 "  -o KEY=VALUE  a setting for every daemon (see README), kept for restarts\n"},
};

#define NCMDS (sizeof cmds / sizeof cmds[0])

static const char global_help[] =
	"Global options (anywhere on the line):\n"
	"  -n, --namenode HOST:PORT  the namenode (else $DFS_NAMENODE, --dir, ./.dfs, config)\n"
	"      --dir DIR             an embedded cluster's directory (else $DFS_DIR, ./.dfs)\n"
	"      --key FILE            the cluster key file (else $DFS_KEY, from the config)\n"
	"      --config FILE         config file (else $DFS_CONFIG, /etc/dfs/dfs.conf)\n"
	"      --tls-cert FILE, --tls-key FILE, --tls-ca FILE\n"
	"                            TLS to a TLS cluster (else tls_* from the config)\n"
	"  -q, --quiet               less output (no progress bars)\n"
	"  -v, --verbose             more output (a line per file copied)\n";

int cli_usage(const char *cmd, bool help)
{
	FILE *f = help ? stdout : stderr;
	for (size_t i = 0; i < NCMDS; i++) {
		if (strcmp(cmds[i].name, cmd))
			continue;
		fprintf(f, "usage: dfs %s\n", cmds[i].usage);
		if (help)
			fprintf(f, "\n%s\n%s", cmds[i].help, global_help);
		else
			fprintf(f, "try 'dfs %s --help'\n", cmd);
	}
	return help ? 0 : 2;
}

static void main_help(FILE *f)
{
	fprintf(f, "usage: dfs COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  %s\n", cmds[i].usage);
	fprintf(f, "\n%s\n'dfs COMMAND --help' explains a command.\n", global_help);
}

/* The global options that take a value (the next argument, or after '=' where with_eq). */
static const struct {
	const char *name;
	const char **slot;
	bool with_eq;
} value_globals[] = {
	{"-n", &cli_g.namenode, false},       {"--namenode", &cli_g.namenode, true},
	{"--dir", &cli_g.dir, true},          {"--key", &cli_g.key, true},
	{"--config", &cli_g.config, true},    {"--tls-cert", &cli_g.tls_cert, false},
	{"--tls-key", &cli_g.tls_key, false}, {"--tls-ca", &cli_g.tls_ca, false},
};

/* Removes the global options from argv (they may stand anywhere); returns new argc. */
static int take_globals(int argc, char **argv)
{
	int out = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		const char **slot = NULL, *value = NULL;
		for (size_t k = 0; k < sizeof value_globals / sizeof value_globals[0] && !slot; k++) {
			const char *name = value_globals[k].name;
			size_t n = strlen(name);
			if (!strcmp(a, name)) {
				slot = value_globals[k].slot;
			} else if (value_globals[k].with_eq && !strncmp(a, name, n) && a[n] == '=') {
				slot = value_globals[k].slot;
				value = a + n + 1;
			}
		}
		if (slot) {
			if (!value && i + 1 >= argc) {
				fprintf(stderr, "dfs: option '%s' needs a value\n", a);
				exit(2);
			}
			*slot = value ? value : argv[++i];
			continue;
		}
		if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			cli_g.quiet = true;
			continue;
		}
		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			cli_g.verbose = true;
			continue;
		}
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	argc = take_globals(argc, argv);
	if (argc < 2) {
		main_help(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		main_help(stdout);
		return 0;
	}
	for (size_t i = 0; i < NCMDS; i++) {
		if (strcmp(cmds[i].name, argv[1]))
			continue;
		cli_cmd = cmds[i].name;
		optind = 0; /* full re-initialisation of getopt */
		return cmds[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "dfs: unknown command '%s'; try 'dfs --help'\n", argv[1]);
	return 2;
}
