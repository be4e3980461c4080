/*
 * keymap: how S3 names map to dfs paths. No state; any thread.
 *
 * A bucket is a directory directly below the gateway's root; an object key names a
 * file below it, '/' separating directories. The rules (README "S3 gateway"):
 *   - keys are 1..1024 bytes; each '/'-separated component at most 255 bytes
 *     (KeyTooLongError otherwise);
 *   - a key with an empty component (a leading '/', "a//b"), a "." or ".." component,
 *     or a component starting with ".dfs-s3" (the gateway's own hidden names) is
 *     refused with InvalidArgument: no path could hold it without aliasing another;
 *   - a key ending in '/' is a directory marker: it names the directory itself.
 * Listing order is S3's: keys compare as bytes, and a directory `d` sorts as "d/".
 */
#ifndef DFS_S3_KEYMAP_H
#define DFS_S3_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define KEYMAP_KEY_MAX 1024
#define KEYMAP_HIDDEN ".dfs-s3"

/* May a bucket of this name be created (S3's rules: 3..63 of [a-z0-9.-], starting and
 * ending with a letter or digit)? */
bool keymap_bucket_creatable(const char *name);
/* May this existing top-level directory be served as a bucket (1..255 bytes of
 * [A-Za-z0-9._-], not starting with '.')? */
bool keymap_bucket_ok(const char *name);
/* Is this directory entry one of the gateway's hidden names? */
bool keymap_is_hidden(const char *name);
/*
 * The path of key in bucket below root ("" or "/x") into path (reset first): 0, or
 * -EINVAL with the S3 error code (static) in *code. *marker tells a directory marker
 * (the path is then the directory's, without the trailing '/').
 */
int keymap_path(const char *root, const char *bucket, const char *key, struct buf *path,
		bool *marker, const char **code);
/* The path of a bucket into path (reset first). */
void keymap_bucket_path(const char *root, const char *bucket, struct buf *path);

#endif
