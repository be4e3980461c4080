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
	struct dfs_client *c;
	bool recursive; /* -R */
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

/* Changes one path; a bad mode makes the status 2 (which ends the walk). Returns the
 * status so far. */
static int change_one(struct change *ch, const char *path, const struct dfs_attr *a)
{
	uint32_t mode = 0;
	if ((ch->valid & PROTO_SET_MODE) &&
	    apply_mode(ch->mode, a->mode, a->type == PROTO_T_DIR, &mode)) {
		cli_error(ch->mode, "not a mode (octal, or like u+x,go-w)");
		return ch->status = 2;
	}
	int rc = dfs_setattr(ch->c, path, ch->valid, mode, ch->uid, ch->gid, 0, 0, NULL);
	if (rc)
		ch->status |= cli_fail(path, rc);
	return ch->status;
}

static int change_path(void *arg, const char *path, const struct dfs_attr *a)
{
	struct change *ch = arg;
	if (change_one(ch, path, a) == 2 || !ch->recursive || a->type != PROTO_T_DIR)
		return ch->status;
	int rc = cli_list(ch->c, path, change_path, ch);
	if (rc && ch->status != 2)
		ch->status |= rc;
	return ch->status;
}

/* A number as an id: true with *out set. */
static bool parse_id(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int parse_user(const char *s, uint32_t *out)
{
	if (parse_id(s, out))
		return 0;
	struct passwd *pw = getpwnam(s);
	if (!pw)
		return -ENOENT;
	*out = pw->pw_uid;
	return 0;
}

static int parse_group(const char *s, uint32_t *out)
{
	if (parse_id(s, out))
		return 0;
	struct group *gr = getgrnam(s);
	if (!gr)
		return -ENOENT;
	*out = gr->gr_gid;
	return 0;
}

/* The shared body: options, the first argument (mode/owner/group), the paths. */
static int run(const char *cmd, int argc, char **argv)
{
	struct change c = {NULL, false, cmd, 0, NULL, 0, 0, 0};
	const struct cli_opt opts[] = {CLI_BOOL('R', "recursive", &c.recursive), CLI_END};
	int st = cli_parse_options(cmd, argc, argv, opts, 2, CLI_ANY);
	if (st >= 0)
		return st;
	const char *what = argv[optind];
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
	c.c = cli_connect();
	int n;
	char **paths = cli_expand(c.c, argc - optind - 1, argv + optind + 1, &n);
	int rc = cli_each_path(c.c, n, paths, NULL, change_path, &c);
	if (rc && c.status != 2)
		c.status |= rc; /* paths that do not exist */
	cli_expand_free(paths, n);
	dfs_close(c.c);
	return c.status;
}

int cmd_chmod(int argc, char **argv) { return run("chmod", argc, argv); }
int cmd_chown(int argc, char **argv) { return run("chown", argc, argv); }
int cmd_chgrp(int argc, char **argv) { return run("chgrp", argc, argv); }
