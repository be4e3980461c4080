/*
 * health: a client process's view of which datanodes not to use now, and the deadlines
 * its datanode I/O follows. One table per process (a mount, `dfs`, a task), shared by
 * every dfs_client in it; thread-safe (one mutex, held for table walks only).
 *
 * Deadlines follow the cluster's liveness settings, which dfs_connect learns from the
 * namenode (CN_LIVENESS), so a cluster given `stale_node_timeout=1.5` has clients that
 * give up on a silent datanode after about 1.5 s, not after a fixed minute:
 *   read    no bytes from a replica for stale_node_timeout: read from the next replica
 *   write   no ack from a pipeline for stale_node_timeout, plus a margin per node below
 *           the first (each datanode gives up on a silent downstream node a margin
 *           sooner than the node above it, and names it in its ack, so the client hears
 *           who hung); twice stale_node_timeout for the block's last packet
 *   connect min(stale_node_timeout, 5 s)
 * Before the settings are known (or from a namenode without CN_LIVENESS) the defaults
 * of cfg.c apply.
 *
 * A node is avoided (health_avoid) while either
 *   - this process saw it hang or refuse (health_suspect): for dead_node_timeout, after
 *     which it is tried again (a node that came back is used again without asking), or
 *   - the namenode last said it is not live (health_from_namenode): until it says so no
 *     more.
 * Avoided nodes are read from last and left out of new pipelines; an open pipeline
 * with an avoided member is rebuilt without it (health_generation tells a writer to
 * look). Each node's turn to avoided is logged once, naming it; repeats are rate-limited.
 */
#ifndef DFS_HEALTH_H
#define DFS_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* The cluster's liveness settings (milliseconds; 0 keeps the current value). */
void health_set_settings(uint32_t heartbeat_ms, uint32_t stale_ms, uint32_t dead_ms);
int health_read_timeout_ms(void);
/* How long a pipeline's writer waits for an ack, with `down` nodes below it (a client:
 * the whole pipeline): stale_node_timeout (twice that for the block's last packet,
 * which the nodes finalize first) plus a margin for each node below the next one, so
 * that the node just above a silent one gives up first and names it. */
int health_ack_timeout_ms(uint32_t down, bool last);
int health_write_timeout_ms(void);
int health_connect_timeout_ms(void);
uint32_t health_heartbeat_ms(void);

/* This process found the datanode (id may be "", addr not) silent or refusing; why is
 * a short reason for the log ("sent nothing for 1.5 s"). */
void health_suspect(const char *id, const char *addr, const char *why);
/* The namenode's list of nodes that are not live (CN_LIVENESS): these are avoided,
 * and nodes it listed before but not now are no longer avoided on its word. */
void health_from_namenode(uint32_t n, const char (*ids)[PROTO_ID_MAX + 1],
			  const char (*addrs)[PROTO_ADDR_MAX + 1], const uint8_t *states);
/* True while the datanode at addr is to be avoided. */
bool health_avoid(const char *addr);
/* Changes whenever some node becomes avoided. */
uint64_t health_generation(void);
/* Copies the ids of avoided nodes (at most max) for a pipeline's exclude list. */
size_t health_avoided_ids(char (*ids)[PROTO_ID_MAX + 1], size_t max);
/* Forgets everything (tests). */
void health_reset(void);

#endif
