/*
 * layout: the VERSION file at the top of each data directory, which names the datanode
 * that owns it and the block store's on-disk layout version. Any thread (plain file I/O,
 * no state).
 *
 *   VERSION   "id = <datanode id>\nlayout = <N>\n"
 *
 * Layout versions (DN_LAYOUT_VERSION is what this build writes and reads):
 *   0  before the layout was recorded: VERSION holds only the id
 *   1  the same files, with the version recorded (blockstore.h has the tree)
 * A datanode never upgrades a directory silently: it refuses an older layout until
 * `dfs-datanode upgrade --data DIR` has run (dn_layout_upgrade), and a newer one always.
 */
#ifndef DFS_DN_LAYOUT_H
#define DFS_DN_LAYOUT_H

#include "buf.h"
#include "proto.h"

#define DN_LAYOUT_VERSION 1

struct dn_version {
	char id[PROTO_ID_MAX + 1];
	int layout;
};

/* Reads DIR/VERSION into v: 0, -ENOENT when there is none, -EINVAL when malformed (with
 * the reason logged). */
int dn_version_read(const char *dir, struct dn_version *v);
/* Writes DIR/VERSION atomically (fsynced). */
int dn_version_write(const char *dir, const struct dn_version *v);
/*
 * Checks every directory of "DIR" or "DIR1,DIR2,...": 0 when each is of this layout or
 * new (no VERSION yet); -EUCLEAN when one is older (why: which one, and the upgrade
 * command); -EPROTONOSUPPORT when one is newer (why names both versions); other -errno
 * when a VERSION cannot be read. why (borrowed) gets the message.
 */
int dn_layout_check(const char *dirs, struct buf *why);
/* Brings every older directory of dirs to DN_LAYOUT_VERSION; why gets a line per
 * directory saying what was done. 0, or the first error (why says which). */
int dn_layout_upgrade(const char *dirs, struct buf *why);

#endif
