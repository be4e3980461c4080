/* fsutil: small local-file helpers shared by the daemons and the tool. Any thread. */
#ifndef DFS_FSUTIL_H
#define DFS_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/* mkdir -p with the given mode for created directories. 0 or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);
/* rm -rf: removes path and everything below it (symlinks are not followed). 0 or
 * -errno (0 when path does not exist). */
int fs_remove_tree(const char *path);
/* Writes data to path atomically (temp file, fsync, rename). 0 or -errno. */
int fs_write_atomic(const char *path, const void *data, size_t len);
/* Writes all of data to the file fd (retrying short writes and EINTR). 0 or -errno. */
int fs_write_full(int fd, const void *data, size_t len);
/* Reads a whole (small) file into out (reset first). 0 or -errno. */
int fs_read_file(const char *path, struct buf *out);

/*
 * Finds the mount of file system type fstype at path (made absolute first) in
 * /proc/self/mountinfo: 0 with its device "MAJ:MIN" in dev (the newest such mount),
 * or -ENOENT when there is none.
 */
int fs_find_mount(const char *path, const char *fstype, char *dev, size_t devsz);

#endif
