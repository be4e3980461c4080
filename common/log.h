/*
 * log: timestamped, levelled log lines, one per event, to stderr or a file.
 * Thread-safe (one write(2) per line).
 */
#ifndef DFS_LOG_H
#define DFS_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Sets the process name shown in each line (borrowed, must outlive logging). */
void log_set_name(const char *name);
void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; -EINVAL otherwise. */
int log_parse_level(const char *s, enum log_level *out);
/* Appends to path instead of stderr; 0 or -errno. */
int log_open(const char *path);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A budget for a noisy message (rejected peers, a mount's failed calls while the
 * namenode is down: a flood must not fill the disk). At most `burst` lines per
 * `interval` seconds go out (LOG_LIMIT_BURST a second when both are zero); the rest
 * are counted, and the first line of a later interval is preceded by
 * "N similar messages suppressed in the last S s". One struct per kind of message,
 * zero-initialised (or with interval and burst set); thread-safe.
 */
#define LOG_LIMIT_BURST 5
struct log_limit {
	double interval; /* seconds per budget; 0 = 1 */
	unsigned burst;  /* lines per interval; 0 = LOG_LIMIT_BURST */
	double window;   /* when the interval being counted began (clock_now) */
	unsigned n, suppressed;
};
void log_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* log_limited at LOG_WARN. */
void log_warn_limited(struct log_limit *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
