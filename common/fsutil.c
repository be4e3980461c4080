/* fsutil: see fsutil.h. */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_mkdir_p(const char *path, mode_t mode)
{
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	int rc = 0;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(p, mode) && errno != EEXIST) {
			rc = -errno;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return rc;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int rc = type == FTW_DP ? rmdir(path) : unlink(path);
	return rc && errno != ENOENT ? -errno : 0;
}

int fs_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	int rc = nftw(path, remove_one, 32, FTW_DEPTH | FTW_PHYS);
	return rc < 0 ? rc : (rc ? -EIO : 0);
}

int fs_write_full(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len)
{
	struct buf tmp = BUF_INIT;
	buf_printf(&tmp, "%s.tmp.%d", path, (int)getpid());
	int rc = 0;
	int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = fs_write_full(fd, data, len);
	if (!rc && fsync(fd))
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp.data, path))
		rc = -errno;
	if (rc)
		unlink(tmp.data);
out:
	buf_free(&tmp);
	return rc;
}

int fs_read_file(const char *path, struct buf *out)
{
	buf_reset(out);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = 0;
	for (;;) {
		buf_grow(out, 4096);
		ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		buf_commit(out, (size_t)n);
	}
	close(fd);
	return rc;
}

int fs_find_mount(const char *path, const char *fstype, char *dev, size_t devsz)
{
	char real[PATH_MAX];
	if (!realpath(path, real))
		snprintf(real, sizeof real, "%s", path);
	struct buf b = BUF_INIT;
	int rc = fs_read_file("/proc/self/mountinfo", &b);
	if (rc)
		return rc;
	rc = -ENOENT;
	for (char *line = b.data; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		/* "id parent maj:min root mountpoint opts ... - fstype source super" */
		char d[64], mp[PATH_MAX], type[64];
		const char *dash = strstr(line, " - ");
		if (sscanf(line, "%*s %*s %63s %*s %4095s", d, mp) == 2 && dash &&
		    sscanf(dash + 3, "%63s", type) == 1 && !strcmp(mp, real) &&
		    !strcmp(type, fstype)) {
			snprintf(dev, devsz, "%s", d); /* later lines are newer mounts */
			rc = 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	buf_free(&b);
	return rc;
}
