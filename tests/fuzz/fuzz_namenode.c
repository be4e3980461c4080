/*
 * Fuzz target: the namenode's request handling. Each input is one connection's bytes:
 * a role byte (client or datanode, root or not) then frames, run through the real server (decoders,
 * namespace in a temporary LevelDB, block map, scheduler) on a connection that is then
 * closed. A crash, a sanitizer report or a leak is a bug.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "fsutil.h"
#include "log.h"
#include "../../namenode/ns.h"
#include "proto.h"
#include "../../namenode/server.h"

static struct nn_server *server;
static char dir[64];

static void cleanup(void)
{
	nn_server_free(server);
	fs_remove_tree(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	snprintf(dir, sizeof dir, "/tmp/dfs-fuzz-nn.XXXXXX");
	if (!mkdtemp(dir) || nn_ns_format(dir))
		abort();
	struct cfg cfg;
	cfg_defaults(&cfg);
	snprintf(cfg.name_dir, sizeof cfg.name_dir, "%s", dir);
	snprintf(cfg.listen, sizeof cfg.listen, "127.0.0.1:0");
	cfg.metadata_sync = 3600; /* no fsync per input */
	struct auth_keys keys = {.has_datanode = true};
	if (nn_server_start(&cfg, &keys, NULL, NULL, &server))
		abort();
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!server)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 1)
		return 0;
	/* bit 0: a datanode or a client; bit 1: the client is uid 1000 (permission checks
	 * apply) or root */
	uint8_t role = data[0] & 1 ? PROTO_ROLE_DATANODE : PROTO_ROLE_CLIENT;
	nn_server_inject(server, role, data[0] & 2 ? 1000 : 0, data + 1, size - 1);
	return 0;
}
