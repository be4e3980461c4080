/*
 * Fuzz target: a datanode's on-disk replica files. Each input becomes a finalized
 * replica's data file and checksum (.meta) file -- header and CRCs as found on a disk
 * that rotted or was tampered with; the store then scans, verifies and reads it. Bad
 * files must be refused, never crash the datanode.
 *   input: u16 data length (big-endian), the data, then the .meta file's bytes
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../datanode/blockstore.h"
#include "fsutil.h"
#include "log.h"

static char dir[64];

static void cleanup(void) { fs_remove_tree(dir); }

static void put(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	if (n && fwrite(p, 1, n, f) != n)
		abort();
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		log_set_level(LOG_ERROR);
		snprintf(dir, sizeof dir, "/tmp/dfs-fuzz-bs.XXXXXX");
		if (!mkdtemp(dir))
			abort();
		atexit(cleanup);
		struct dn_store *s;
		if (dn_store_open(dir, "fuzz", &s)) /* makes the layout */
			abort();
		dn_store_close(s);
	}
	if (size < 2)
		return 0;
	size_t dlen = (size_t)(data[0] << 8 | data[1]);
	if (dlen > size - 2)
		dlen = size - 2;
	char sub[128], dpath[160], mpath[170];
	snprintf(sub, sizeof sub, "%s/current/07", dir);
	fs_mkdir_p(sub, 0755);
	snprintf(dpath, sizeof dpath, "%s/blk_7_3", sub);
	snprintf(mpath, sizeof mpath, "%s/blk_7_3.meta", sub);
	put(dpath, data + 2, dlen);
	put(mpath, data + 2 + dlen, size - 2 - dlen);
	struct dn_store *s;
	if (!dn_store_open(dir, "fuzz", &s)) {
		dn_store_verify(s, 7, 3);
		static uint8_t buf[1 << 17];
		dn_store_pread(s, 7, 3, 0, sizeof buf, buf);
		dn_store_pread(s, 7, 3, 65536, sizeof buf, buf);
		dn_store_close(s);
	}
	unlink(dpath);
	unlink(mpath);
	return 0;
}
