/*
 * clock: the one place that reads the clocks. Any thread.
 * Monotonic seconds for deadlines and rates (never jumps); wall-clock time for what is
 * stored or shown (file times, token expiry, log stamps).
 */
#ifndef DFS_CLOCK_H
#define DFS_CLOCK_H

#include <stdint.h>

/* Seconds on the monotonic clock (CLOCK_MONOTONIC), as a double. */
double clock_now(void);
/* Wall-clock time (CLOCK_REALTIME) in nanoseconds since the epoch. */
int64_t clock_wall_ns(void);
/* Wall-clock time in milliseconds since the epoch. */
int64_t clock_wall_ms(void);

#endif
