/*
 * perm: POSIX permission checks the namenode makes for each caller (the uid and gid it
 * gave in the handshake; secondary groups are not known, so the group class matches
 * the caller's primary gid only). The superuser -- uid 0, or the `superuser` setting's
 * uid -- passes every check, as the FUSE mount does (it connects as root and lets the
 * kernel check for its callers with default_permissions). The `permissions = 0`
 * setting (`dfs-namenode --no-permissions`) turns every check off. Loop thread only.
 *
 * The rules are those of POSIX and HDFS: search (x) on every directory on the way;
 * read to list a directory or read a file; write and search on a directory to add,
 * remove or rename entries in it, and with its sticky bit set only the owner of the
 * entry or of the directory may remove or rename it; write to change a file's blocks
 * or replication; only the owner changes the mode and times, only the superuser the
 * owner, and the owner the group, to their own group.
 */
#ifndef DFS_NN_PERM_H
#define DFS_NN_PERM_H

#include <stdbool.h>
#include <stdint.h>

#include "ns.h"

#define NN_R 4
#define NN_W 2
#define NN_X 1

struct nn_cred {
	uint32_t uid, gid;
	bool super; /* the superuser, or checks are off */
};

/* May c access inode a as want (NN_R | NN_W | NN_X)? */
bool nn_perm_ok(const struct nn_attr *a, const struct nn_cred *c, int want);
/*
 * Checks search on every directory above path, parent_want on its parent directory
 * and, when path exists, want on it (0: no check). 0, -EACCES, or the namespace's error
 * for a missing directory on the way (-ENOENT, -ENOTDIR); a missing last component is
 * not an error here (the operation itself reports it).
 */
int nn_perm_path(struct nn_ns *ns, const char *path, const struct nn_cred *c, int parent_want,
		 int want);
/* mkdir -p: search down to the deepest directory that exists, write and search on it. */
int nn_perm_mkdirs(struct nn_ns *ns, const char *path, const struct nn_cred *c);
/* May c remove or rename path out of its parent (write + search there, and the sticky
 * bit's rule)? With subtree, also every directory below a directory path (rm -r):
 * write, search and read on each. 0, -EACCES or -EPERM (sticky). */
int nn_perm_remove(struct nn_ns *ns, const char *path, const struct nn_cred *c, bool subtree);
/* May c make these attribute changes (PROTO_SET_*; uid, gid: the new owner) to a?
 * 0 or -EPERM. */
int nn_perm_setattr(const struct nn_attr *a, const struct nn_cred *c, uint32_t valid,
		    uint32_t uid, uint32_t gid);

#endif
