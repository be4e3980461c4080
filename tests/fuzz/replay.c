/*
 * Replays fuzz inputs through a target without libFuzzer: `replay_T FILE|DIR...` runs
 * LLVMFuzzerTestOneInput on each file (every file of a directory). `make unit` runs it
 * over tests/fuzz/corpus/T/, so every seed and every crash once found stays a test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "fsutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	struct buf b = BUF_INIT;
	if (fs_read_file(path, &b)) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		return 1;
	}
	/* a private copy of exactly the input's size, as libFuzzer gives it */
	uint8_t *copy = malloc(b.len ? b.len : 1);
	memcpy(copy, b.data, b.len);
	LLVMFuzzerTestOneInput(copy, b.len);
	free(copy);
	buf_free(&b);
	return 0;
}

int main(int argc, char **argv)
{
	int n = 0, bad = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st)) {
			fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= run_file(argv[i]);
			n++;
			continue;
		}
		/* in name order: a target that keeps state (the namenode) replays the same way */
		struct dirent **list;
		int k = scandir(argv[i], &list, NULL, alphasort);
		if (k < 0) {
			perror(argv[i]);
			return 1;
		}
		for (int j = 0; j < k; j++) {
			if (list[j]->d_name[0] != '.') {
				char p[4096];
				snprintf(p, sizeof p, "%s/%s", argv[i], list[j]->d_name);
				bad |= run_file(p);
				n++;
			}
			free(list[j]);
		}
		free(list);
	}
	/* an empty corpus would pass while testing nothing */
	if (n == 0) {
		fprintf(stderr, "replay: no inputs to replay\n");
		return 1;
	}
	printf("replayed %d inputs\n", n);
	return bad;
}
