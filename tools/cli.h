/*
 * cli: what every `dfs` subcommand shares -- global options, connecting to the
 * cluster, error messages in one format ("dfs: CMD: PATH: what went wrong"), sizes.
 * Single-threaded (the tool's main thread).
 */
#ifndef DFS_TOOLS_CLI_H
#define DFS_TOOLS_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "client.h"
#include "locate.h"

/* Options valid with every command (removed from argv before the command parses). */
struct cli_global {
	const char *namenode, *dir, *config, *key;
	const char *tls_cert, *tls_key, *tls_ca;
	bool quiet, verbose;
};

extern struct cli_global cli_g;
/* The command being run, for messages. */
extern const char *cli_cmd;

/* Prints "dfs: CMD: SUBJECT: MESSAGE" (subject may be NULL) to stderr. */
void cli_error(const char *subject, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports a failed call on subject: the server's explanation when it gave one, else
 * the errno text in lowercase. Returns 1 (the exit status). */
int cli_fail(const char *subject, int rc);
/* Connects to the cluster (exits with a message on failure). */
struct dfs_client *cli_connect(void);
/* Parses SIZE with K/M/G suffix; false when malformed. */
bool cli_parse_size(const char *s, uint64_t *out);
/* Formats a byte count: exact, or human (1.5G) when human is set. */
const char *cli_size(uint64_t n, bool human, char buf[32]);
/* Makes a remote path absolute ("x" -> "/x"), removing trailing slashes. */
void cli_remote_path(const char *in, struct buf *out);
/* Joins a directory and a name. */
void cli_join(const char *dir, const char *name, struct buf *out);
/* Last component of a path (borrowed pointer into p). */
const char *cli_basename(const char *p);
/*
 * getopt_long over a command's argv (argv[0] = command name) with options allowed
 * anywhere; returns the option char, -1 at the end; prints usage errors itself.
 */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* The options of a command that takes only --json (and --help): -1 to go on (optind at
 * the operands), else the exit status to return. */
int cli_json_only(const char *cmd, int argc, char **argv, bool *json);

/* Prints the command's usage (to stdout for --help, else stderr) and returns the exit
 * status: 0 for help, 2 for a usage error. */
int cli_usage(const char *cmd, bool help);

/*
 * Expands shell wildcards (*, ?, [...]) in the last component of the remote paths
 * argv[0..argc) (as `hdfs dfs -cat /out/part-*` does): each pattern is replaced by the
 * matching names in name order (a leading '.' is matched only explicitly); a pattern
 * that matches nothing, and any path without wildcards, stays as it is. Returns a new
 * NULL-terminated array (free with cli_expand_free) and its length in *outc.
 */
char **cli_expand(struct dfs_client *c, int argc, char **argv, int *outc);
void cli_expand_free(char **v, int n);

/* Subcommands: each returns the process exit status. */
int cmd_put(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_mkdir(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_mv(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_du(int argc, char **argv);
int cmd_df(int argc, char **argv);
int cmd_setrep(int argc, char **argv);
int cmd_blocks(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_local(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_fsck(int argc, char **argv);
int cmd_admin(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_chmod(int argc, char **argv);
int cmd_chown(int argc, char **argv);
int cmd_chgrp(int argc, char **argv);
int cmd_job(int argc, char **argv);

#endif
