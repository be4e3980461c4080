/* log: see log.h. Any thread. */
#include "log.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_name = "dfs";
static enum log_level log_level = LOG_INFO;
static int log_fd = 2;

void log_set_name(const char *name) { log_name = name; }
void log_set_level(enum log_level level) { log_level = level; }

int log_parse_level(const char *s, enum log_level *out)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	return -EINVAL;
}

int log_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (log_fd > 2)
		close(log_fd);
	log_fd = fd;
	return 0;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
	if (level < log_level)
		return;
	char line[2048];
	int64_t ms = clock_wall_ms();
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s[%d]: ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (long)(ms % 1000), tags[level], log_name, (int)getpid());
	if (n < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	ssize_t w = write(log_fd, line, len);
	(void)w; /* nowhere left to report a failed log write */
}

/* Counts one message against l's budget; true if it goes out. *suppressed is how
 * many were held back in the interval that just ended (to be said first). */
static bool limit_take(struct log_limit *l, unsigned *suppressed, double *span)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	double now = clock_now();
	pthread_mutex_lock(&lock);
	double interval = l->interval > 0 ? l->interval : 1;
	unsigned burst = l->burst ? l->burst : LOG_LIMIT_BURST;
	*suppressed = 0;
	*span = now - l->window;
	if (l->window == 0 || now - l->window >= interval) {
		*suppressed = l->suppressed;
		l->window = now;
		l->n = l->suppressed = 0;
	}
	bool out = l->n++ < burst;
	if (!out)
		l->suppressed++;
	pthread_mutex_unlock(&lock);
	return out;
}

static void limited_v(struct log_limit *l, enum log_level level, const char *fmt, va_list ap)
{
	if (level < log_level)
		return;
	unsigned suppressed;
	double span;
	bool out = limit_take(l, &suppressed, &span);
	if (suppressed)
		log_msg(level, "%u similar messages suppressed in the last %.0f s", suppressed,
			span);
	if (!out)
		return;
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	log_msg(level, "%s", msg);
}

void log_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	limited_v(l, level, fmt, ap);
	va_end(ap);
}

void log_warn_limited(struct log_limit *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	limited_v(l, LOG_WARN, fmt, ap);
	va_end(ap);
}
