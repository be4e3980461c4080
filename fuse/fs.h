/*
 * fs: the POSIX operations of the mount (libfuse3's high-level, path-based API, since
 * the namenode resolves paths), mapping each to namenode calls and open files
 * (ofile.h). Runs on libfuse's worker threads; the namenode connections are a small
 * pool, each serialising its own calls.
 */
#ifndef DFS_FUSE_FS_H
#define DFS_FUSE_FS_H

#define FUSE_USE_VERSION 31
#include <fuse.h>
#include <stdbool.h>

#include "client.h"

#define FS_POOL_MAX 8

struct fs {
	struct dfs_client *pool[FS_POOL_MAX]; /* namenode connections */
	unsigned npool;
	bool read_only;
	unsigned readahead; /* bytes of kernel read-ahead asked for at init */
};

/* The operation table; private_data of the fuse instance is a struct fs. */
extern const struct fuse_operations fs_ops;

#endif
