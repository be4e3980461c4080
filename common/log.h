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
 * A budget for a noisy warning (rejected peers: a flood must not fill the disk): at
 * most LOG_LIMIT_BURST lines a second go out; the rest are counted and summed up in
 * the next line that does. Zero-initialise one per kind of warning; thread-safe.
 */
#define LOG_LIMIT_BURST 5
struct log_limit {
	long window; /* the second being counted */
	unsigned n, suppressed;
};
void log_warn_limited(struct log_limit *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
