/* keymap: S3 names to dfs paths. See keymap.h. */
#include "keymap.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

bool keymap_bucket_creatable(const char *name)
{
	size_t n = strlen(name);
	if (n < 3 || n > 63 || !isalnum((unsigned char)name[0]) ||
	    !isalnum((unsigned char)name[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!(islower(c) || isdigit(c) || c == '.' || c == '-'))
			return false;
		if (c == '.' && i && name[i - 1] == '.')
			return false;
	}
	return true;
}

bool keymap_bucket_ok(const char *name)
{
	size_t n = strlen(name);
	if (!n || n > 255 || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!(isalnum(c) || c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

bool keymap_is_hidden(const char *name)
{
	return !strncmp(name, KEYMAP_HIDDEN, strlen(KEYMAP_HIDDEN));
}

void keymap_bucket_path(const char *root, const char *bucket, struct buf *path)
{
	buf_reset(path);
	buf_printf(path, "%s/%s", root, bucket);
}

int keymap_path(const char *root, const char *bucket, const char *key, struct buf *path,
		bool *marker, const char **code)
{
	size_t n = strlen(key);
	*marker = false;
	*code = "InvalidArgument";
	if (!n)
		return -EINVAL;
	if (n > KEYMAP_KEY_MAX) {
		*code = "KeyTooLongError";
		return -EINVAL;
	}
	if (key[n - 1] == '/') {
		*marker = true;
		n--;
		if (!n)
			return -EINVAL;
	}
	keymap_bucket_path(root, bucket, path);
	for (size_t i = 0; i < n;) {
		const char *c = key + i, *slash = memchr(c, '/', n - i);
		size_t len = slash ? (size_t)(slash - c) : n - i;
		if (!len || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.') ||
		    (len >= strlen(KEYMAP_HIDDEN) && !strncmp(c, KEYMAP_HIDDEN, strlen(KEYMAP_HIDDEN))))
			return -EINVAL;
		if (len > 255) {
			*code = "KeyTooLongError";
			return -EINVAL;
		}
		buf_addc(path, '/');
		buf_add(path, c, len);
		i += len + 1;
	}
	return 0;
}
