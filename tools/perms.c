/*
 * perms: `dfs chmod`, `dfs chown`, `dfs chgrp` (with -R), like their POSIX namesakes and
 * `hdfs dfs -chmod/-chown/-chgrp`. Modes are octal or symbolic (u+x,go-w,a=rX); owners
 * and groups are names (looked up on this host) or numbers. Main thread only.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "proto.h"

struct change {
	const char *cmd;
	uint32_t valid;   /* PROTO_SET_MODE / _UID / _GID */
	const char *mode; /* the mode argument (chmod) */
	uint32_t uid, gid;
	int status;
};

/* Applies a symbolic or octal mode to old; -EINVAL when malformed. */
static int apply_mode(const char *spec, uint32_t old, bool dir, uint32_t *out)
{
	if (isdigit((unsigned char)spec[0])) {
		char *end;
		unsigned long v = strtoul(spec, &end, 8);
		if (*end || v > 07777)
			return -EINVAL;
		*out = (uint32_t)v;
		return 0;
	}
	uint32_t m = old & 07777;
	const char *p = spec;
	while (*p) {
		uint32_t who = 0;
		for (; strchr("ugoa", *p) && *p; p++)
			who |= *p == 'u' ? 04700 : *p == 'g' ? 02070 : *p == 'o' ? 01007 : 07777;
		if (!who)
			who = 07777;
		if (!*p || !strchr("+-=", *p))
			return -EINVAL;
		while (*p && strchr("+-=", *p)) {
			char op = *p++;
			uint32_t bits = 0;
			for (; *p && strchr("rwxXst", *p); p++) {
				switch (*p) {
				case 'r': bits |= 0444; break;
				case 'w': bits |= 0222; break;
				case 'x': bits |= 0111; break;
				case 'X': bits |= (dir || (old & 0111)) ? 0111 : 0; break;
				case 's': bits |= 06000; break;
				case 't': bits |= 01000; break;
				}
			}
			bits &= who;
			if (op == '+')
				m |= bits;
			else if (op == '-')
				m &= ~bits;
			else
				m = (m & ~who) | bits;
		}
		if (*p == ',')
			p++;
		else if (*p)
			return -EINVAL;
	}
	*out = m;
	return 0;
}

static void change_one(struct dfs_client *c, struct change *ch, const char *path,
		       const struct dfs_attr *a)
{
	uint32_t mode = 0;
	if ((ch->valid & PROTO_SET_MODE) &&
	    apply_mode(ch->mode, a->mode, a->type == PROTO_T_DIR, &mode)) {
		cli_error(ch->mode, "not a mode (octal, or like u+x,go-w)");
		ch->status = 2;
		return;
	}
	int rc = dfs_setattr(c, path, ch->valid, mode, ch->uid, ch->gid, 0, 0, NULL);
	if (rc)
		ch->status |= cli_fail(path, rc);
}

struct walk {
	struct dfs_client *c;
	struct change *ch;
	const char *dir;
};

static void change_tree(struct dfs_client *c, struct change *ch, const char *path,
			const struct dfs_attr *a);

static int walk_entry(void *arg, const char *name, const struct dfs_attr *a)
{
	struct walk *w = arg;
	struct buf p = BUF_INIT;
	cli_join(w->dir, name, &p);
	change_tree(w->c, w->ch, p.data, a);
	buf_free(&p);
	return 0;
}

static void change_tree(struct dfs_client *c, struct change *ch, const char *path,
			const struct dfs_attr *a)
{
	change_one(c, ch, path, a);
	if (a->type != PROTO_T_DIR || ch->status == 2)
		return;
	struct walk w = {c, ch, path};
	int rc = dfs_list(c, path, walk_entry, &w);
	if (rc)
		ch->status |= cli_fail(path, rc);
}

static int parse_user(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s && !*end && v <= UINT32_MAX) {
		*out = (uint32_t)v;
		return 0;
	}
	struct passwd *pw = getpwnam(s);
	if (!pw)
		return -ENOENT;
	*out = pw->pw_uid;
	return 0;
}

static int parse_group(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s && !*end && v <= UINT32_MAX) {
		*out = (uint32_t)v;
		return 0;
	}
	struct group *gr = getgrnam(s);
	if (!gr)
		return -ENOENT;
	*out = gr->gr_gid;
	return 0;
}

/* The shared body: options, the first argument (mode/owner/group), the paths. */
static int run(const char *cmd, int argc, char **argv)
{
	static const struct option lo[] = {{"recursive", no_argument, 0, 'R'},
					   {"help", no_argument, 0, 'H'}, {0, 0, 0, 0}};
	bool recursive = false;
	int ch;
	while ((ch = cli_getopt(argc, argv, "R", lo)) != -1) {
		if (ch == 'R')
			recursive = true;
		else
			return cli_usage(cmd, ch == 'H');
	}
	if (argc - optind < 2)
		return cli_usage(cmd, false);
	const char *what = argv[optind];
	struct change c = {cmd, 0, NULL, 0, 0, 0};
	if (!strcmp(cmd, "chmod")) {
		uint32_t m;
		if (apply_mode(what, 0, false, &m)) {
			cli_error(what, "not a mode (octal, or like u+x,go-w)");
			return 2;
		}
		c.valid = PROTO_SET_MODE;
		c.mode = what;
	} else if (!strcmp(cmd, "chgrp")) {
		if (parse_group(what, &c.gid)) {
			cli_error(what, "no such group");
			return 2;
		}
		c.valid = PROTO_SET_GID;
	} else {
		char *owner = strdup(what), *colon = strchr(owner, ':');
		if (colon)
			*colon++ = 0;
		int bad = 0;
		if (*owner) {
			c.valid |= PROTO_SET_UID;
			if (parse_user(owner, &c.uid)) {
				cli_error(owner, "no such user");
				bad = 1;
			}
		}
		if (colon && *colon) {
			c.valid |= PROTO_SET_GID;
			if (parse_group(colon, &c.gid)) {
				cli_error(colon, "no such group");
				bad = 1;
			}
		}
		free(owner);
		if (bad)
			return 2;
		if (!c.valid)
			return cli_usage(cmd, false);
	}
	struct dfs_client *cl = cli_connect();
	int n;
	char **paths = cli_expand(cl, argc - optind - 1, argv + optind + 1, &n);
	struct buf p = BUF_INIT;
	for (int i = 0; i < n && c.status != 2; i++) {
		cli_remote_path(paths[i], &p);
		struct dfs_attr a;
		int rc = dfs_stat(cl, p.data, &a);
		if (rc)
			c.status |= cli_fail(p.data, rc);
		else if (recursive)
			change_tree(cl, &c, p.data, &a);
		else
			change_one(cl, &c, p.data, &a);
	}
	buf_free(&p);
	cli_expand_free(paths, n);
	dfs_close(cl);
	return c.status;
}

int cmd_chmod(int argc, char **argv) { return run("chmod", argc, argv); }
int cmd_chown(int argc, char **argv) { return run("chown", argc, argv); }
int cmd_chgrp(int argc, char **argv) { return run("chgrp", argc, argv); }
