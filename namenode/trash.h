/*
 * trash: with `trash_interval` set, `dfs rm` moves what it removes to the user's trash,
 * /user/NAME/.Trash/Current/<original path>, instead of deleting it (HDFS's layout), so
 * a mistaken rm can be undone with `dfs mv`. The namenode empties it on its own: every
 * tenth of the interval a non-empty Current becomes a checkpoint named by the time
 * (seconds since the epoch), and checkpoints older than the interval are deleted --
 * removed files stay between one and 1.1 intervals. Loop thread only.
 */
#ifndef DFS_NN_TRASH_H
#define DFS_NN_TRASH_H

#include <stddef.h>
#include <stdint.h>

#include "ns.h"

/* Moves path into user's trash (creating /user/NAME/.Trash/Current/... owned by uid,
 * gid); where it went into out. -EINVAL for a bad user name or a path already in the
 * trash, else the namespace's errors. */
int nn_trash_move(struct nn_ns *ns, const char *path, const char *user, uint32_t uid,
		  uint32_t gid, int64_t now_s, char *out, size_t outsz);
/* Checkpoints and empties every user's trash (see above); freed blocks go to freed. */
void nn_trash_tick(struct nn_ns *ns, double interval, int64_t now_s, struct nn_blocks *freed);

#endif
