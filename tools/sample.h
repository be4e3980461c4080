/*
 * sample: `dfs run --partition range`'s boundaries, picked at submit time (TeraSort's
 * trick): the tool reads a sample of the input -- pieces spread over every input file,
 * whole lines only -- runs the map command over it locally when the job has one, and
 * takes the reducers' boundaries at the quantiles of the sampled keys (reduce.h).
 * Boundaries only balance the reducers: a poor sample makes a slower job, never a wrong
 * one. Main thread only.
 */
#ifndef DFS_TOOLS_SAMPLE_H
#define DFS_TOOLS_SAMPLE_H

#include "buf.h"
#include "client.h"
#include "job.h"

#define SAMPLE_PIECE (16u << 10)  /* bytes read at each sampled offset */
#define SAMPLE_PIECES 16          /* offsets per file */
#define SAMPLE_MAX (8u << 20)     /* sampled bytes in all */

/* Fills bounds (reset first) for spec s (its inputs are cluster paths); 0, or -errno
 * with the reason in err. */
int sample_bounds(struct dfs_client *c, const struct job_spec *s, struct buf *bounds,
		  struct buf *err);

#endif
