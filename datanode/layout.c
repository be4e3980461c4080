/* layout: VERSION files and layout upgrades (see layout.h). Any thread. */
#include "layout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fsutil.h"
#include "log.h"

int dn_version_read(const char *dir, struct dn_version *v)
{
	char path[4200];
	snprintf(path, sizeof path, "%.4000s/VERSION", dir);
	struct buf b = BUF_INIT;
	int rc = fs_read_file(path, &b);
	if (rc)
		goto out;
	memset(v, 0, sizeof *v);
	if (sscanf(b.data, "id = %63s", v->id) != 1) {
		log_error("malformed '%s': no 'id = ' line", path);
		rc = -EINVAL;
		goto out;
	}
	const char *l = strstr(b.data, "\nlayout = ");
	if (l && sscanf(l, "\nlayout = %d", &v->layout) != 1) {
		log_error("malformed '%s': bad layout line", path);
		rc = -EINVAL;
	} else if (l && v->layout < 1) {
		log_error("malformed '%s': layout %d", path, v->layout);
		rc = -EINVAL;
	}
out:
	buf_free(&b);
	return rc;
}

int dn_version_write(const char *dir, const struct dn_version *v)
{
	char path[4200];
	snprintf(path, sizeof path, "%.4000s/VERSION", dir);
	struct buf b = BUF_INIT;
	buf_printf(&b, "id = %s\nlayout = %d\n", v->id, v->layout);
	int rc = fs_write_atomic(path, b.data, b.len);
	buf_free(&b);
	return rc;
}

/* Calls fn for each directory of "DIR1,DIR2,..."; stops at the first error. */
static int each_dir(const char *dirs, int (*fn)(const char *dir, struct buf *why),
		    struct buf *why)
{
	int rc = 0;
	for (const char *p = dirs; *p && !rc;) {
		size_t n = strcspn(p, ",");
		char dir[4096];
		if (!n || n >= sizeof dir) {
			buf_printf(why, "bad data directory list '%s'", dirs);
			return -EINVAL;
		}
		memcpy(dir, p, n);
		dir[n] = 0;
		rc = fn(dir, why);
		p += n + (p[n] == ',');
	}
	return rc;
}

static int check_one(const char *dir, struct buf *why)
{
	struct dn_version v;
	int rc = dn_version_read(dir, &v);
	if (rc == -ENOENT)
		return 0; /* a new directory: made at the current layout */
	if (rc) {
		buf_printf(why, "cannot read '%s/VERSION': %s", dir, strerror(-rc));
		return rc;
	}
	if (v.layout < DN_LAYOUT_VERSION) {
		buf_printf(why, "data directory '%s' has block store layout %d, this datanode "
			   "uses %d: run 'dfs-datanode upgrade --data %s' first", dir, v.layout,
			   DN_LAYOUT_VERSION, dir);
		return -EUCLEAN;
	}
	if (v.layout > DN_LAYOUT_VERSION) {
		buf_printf(why, "data directory '%s' has block store layout %d, newer than this "
			   "datanode's %d: run the dfs-datanode that wrote it", dir, v.layout,
			   DN_LAYOUT_VERSION);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

int dn_layout_check(const char *dirs, struct buf *why)
{
	return each_dir(dirs, check_one, why);
}

static int upgrade_one(const char *dir, struct buf *why)
{
	struct dn_version v;
	int rc = dn_version_read(dir, &v);
	if (rc == -ENOENT) {
		buf_printf(why, "'%s': no VERSION, nothing to upgrade\n", dir);
		return 0;
	}
	if (rc) {
		buf_printf(why, "cannot read '%s/VERSION': %s", dir, strerror(-rc));
		return rc;
	}
	if (v.layout > DN_LAYOUT_VERSION) {
		buf_printf(why, "'%s' has layout %d, newer than this datanode's %d; left alone",
			   dir, v.layout, DN_LAYOUT_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (v.layout == DN_LAYOUT_VERSION) {
		buf_printf(why, "'%s': already at layout %d\n", dir, v.layout);
		return 0;
	}
	/* 0 -> 1: the replica tree is unchanged; the version gets recorded */
	int from = v.layout;
	v.layout = DN_LAYOUT_VERSION;
	rc = dn_version_write(dir, &v);
	if (rc) {
		buf_printf(why, "cannot write '%s/VERSION': %s", dir, strerror(-rc));
		return rc;
	}
	buf_printf(why, "'%s': upgraded from layout %d to %d\n", dir, from, v.layout);
	return 0;
}

int dn_layout_upgrade(const char *dirs, struct buf *why)
{
	return each_dir(dirs, upgrade_one, why);
}
