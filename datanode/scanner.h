/*
 * scanner: the datanode's background verifier. One thread walks every finalized
 * replica and checks it against its checksums, paced so that a whole pass takes about
 * scan_period (never faster than needed, never slower than 1 MiB/s), and queues the
 * bad or vanished ones for the namenode, which has them replaced from good copies.
 */
#ifndef DFS_DN_SCANNER_H
#define DFS_DN_SCANNER_H

#include "blockstore.h"

struct dn_scanner;

int dn_scanner_start(struct dn_store *s, double scan_period, struct dn_scanner **out);
void dn_scanner_stop(struct dn_scanner *sc);

#endif
