/*
 * prom: a minimal writer of the Prometheus text format (version 0.0.4) into a struct
 * buf, for the daemons' /metrics pages: each metric's "# HELP" and "# TYPE" lines, then
 * its samples. Names and help texts are the caller's constants (no escaping). No state;
 * any thread.
 */
#ifndef DFS_PROM_H
#define DFS_PROM_H

#include <stdint.h>

#include "buf.h"

/* The metric types the daemons export. */
#define PROM_GAUGE "gauge"
#define PROM_COUNTER "counter"

/* Appends the "# HELP name help" line (help NULL: none) and "# TYPE name type" of
 * metric name; labelled samples ("name{k=\"v\"} value") follow, the caller's. */
void prom_head(struct buf *b, const char *name, const char *type, const char *help);
/* Appends metric name with its head and its one unlabelled sample, value v. */
void prom_u64(struct buf *b, const char *name, const char *type, const char *help,
	      uint64_t v);

#endif
