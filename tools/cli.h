/*
 * cli: what every `dfs` subcommand shares -- global options, each command's option
 * parsing (cli_parse_options: every command parses through it), connecting to the
 * cluster, error messages in one format ("dfs: CMD: PATH: what went wrong"), sizes,
 * walks over remote paths and directories.
 * Single-threaded (the tool's main thread).
 *
 * The commands, one file per family (git's builtin/NAME.c): copy.c (put, get, cat),
 * listing.c (ls, stat, du, df), namespace.c (mkdir, rm, mv), perms.c (chmod, chown,
 * chgrp), blocks.c (setrep, blocks, report, fsck), admin.c (admin), jobs.c (run,
 * job), local.c (local, mount); main.c holds the table of commands and their help.
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
/* Finds the cluster (-n, $DFS_NAMENODE, --dir, the config) into o without connecting
 * (exits with a message on failure). */
void cli_locate(struct dfs_client_opts *o);
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
 * A command's options, in the manner of git's parse-options: a table ended by CLI_END,
 * each entry a short letter (0: none) and/or a long name (NULL: none) and where its
 * value goes. cli_parse_options understands --help too, and options anywhere on the
 * line (getopt_long). Error messages of a bad value are the callback's.
 */
enum cli_opt_type {
	CLI_T_END,
	CLI_T_BOOL,     /* bool *value: set to true */
	CLI_T_BIT,      /* uint8_t *value: bit ORed in */
	CLI_T_STRING,   /* const char **value: the argument (the last one given wins) */
	CLI_T_CALLBACK, /* cb(value, argument) each time it is given */
};

struct cli_opt {
	enum cli_opt_type type;
	int short_name;
	const char *long_name;
	void *value;
	uint8_t bit;
	bool has_arg; /* CLI_T_CALLBACK: takes an argument (else arg is NULL) */
	/* 0, or the exit status to return at once (2 for a bad value) */
	int (*cb)(void *value, const char *arg);
};

#define CLI_BOOL(s, l, v) {CLI_T_BOOL, (s), (l), (v), 0, false, NULL}
#define CLI_BIT(s, l, v, b) {CLI_T_BIT, (s), (l), (v), (b), false, NULL}
#define CLI_STRING(s, l, v) {CLI_T_STRING, (s), (l), (v), 0, true, NULL}
#define CLI_CALLBACK(s, l, fn, v) {CLI_T_CALLBACK, (s), (l), (v), 0, true, (fn)}
#define CLI_FLAG_CALLBACK(s, l, fn, v) {CLI_T_CALLBACK, (s), (l), (v), 0, false, (fn)}
#define CLI_JSON(v) CLI_BOOL(0, "json", (v))
#define CLI_END {CLI_T_END, 0, NULL, NULL, 0, false, NULL}

/* No upper bound on the operands for cli_parse_options. */
#define CLI_ANY (-1)

/* Parses the options of command cmd (argv[0] = its name) by table opts (NULL: none
 * but --help), then checks that at least min and at most max operands (CLI_ANY: any
 * number) follow: -1 to go on (optind at the operands), else the exit status to return
 * (0 after --help, 2 after a usage error, or what a callback returned). */
int cli_parse_options(const char *cmd, int argc, char **argv, const struct cli_opt *opts,
		      int min, int max);

/* Parses a replication factor (1..PROTO_REPL_MAX); false with a message when bad. */
bool cli_parse_repl(const char *s, uint16_t *out);

/* Where a source named src goes for destination dst: into it (dst/basename(src)) when
 * dst_dir, else dst itself. */
void cli_target(const char *dst, bool dst_dir, const char *src, struct buf *out);

/* Says "DST: not a directory (needed for several sources)"; returns 1. */
int cli_need_dir(const char *dst);
/* Makes remote destination dst absolute (into out) and tells whether it is a
 * directory: 0, or cli_need_dir's status when nsrc > 1 sources need one. */
int cli_remote_dest(struct dfs_client *c, const char *dst, int nsrc, struct buf *out,
		    bool *is_dir);

/* What cli_each_path and cli_list call for a remote path and its attributes: the
 * exit status of what it did with it. */
typedef int (*cli_path_fn)(void *arg, const char *path, const struct dfs_attr *a);
/* Calls fn for each remote path of argv[0..argc) (made absolute; with none, for dflt
 * unless it is NULL) and its attributes; a path that cannot be looked up is reported
 * (cli_fail). A return of 2 (a usage error) ends the walk. Returns the statuses ORed. */
int cli_each_path(struct dfs_client *c, int argc, char **argv, const char *dflt,
		  cli_path_fn fn, void *arg);
/* Calls fn for each entry of remote directory dir, in name order, with its path
 * (dir/name); statuses ORed, or cli_fail's when dir cannot be listed. */
int cli_list(struct dfs_client *c, const char *dir, cli_path_fn fn, void *arg);

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

/* Subcommands (argv[0] = the command's name): each returns the process exit status. */
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
