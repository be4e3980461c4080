/*
 * daemon: the start-up steps dfs-namenode and dfs-datanode share. Main thread only,
 * before any other thread starts.
 */
#ifndef DFS_DAEMON_H
#define DFS_DAEMON_H

#include <stdint.h>

#include "auth.h"
#include "cfg.h"

/* Loads every `--config FILE` on the command line first, so flags override the file
 * wherever they stand. 0, or prints why (as prog) and returns exit status 2. */
int daemon_load_config(int argc, char **argv, struct cfg *cfg, const char *prog);
/*
 * Sets up logging (cfg log_level, log_file; lines tagged `name`), loads the cluster key
 * and the datanode key (cfg_datanode_key_path) into keys, ignores SIGPIPE and sends
 * SIGTERM/SIGINT to on_signal. 0, or prints why (as prog) and returns the exit status
 * to use.
 */
int daemon_init(const struct cfg *cfg, const char *prog, const char *name,
		struct auth_keys *keys, void (*on_signal)(int));

#endif
