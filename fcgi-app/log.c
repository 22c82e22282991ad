#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum log_level log_min = LOG_INFO;
static const char *log_name = "seckill";

void
log_set_level(enum log_level level)
{
	log_min = level;
}

enum log_level
log_level_named(const char *name)
{
	return strcmp(name, "debug") == 0 ? LOG_DEBUG : strcmp(name, "warn") == 0 ? LOG_WARN :
	    strcmp(name, "error") == 0 ? LOG_ERR : LOG_INFO;
}

void
log_set_name(const char *name)
{
	log_name = name;
}

void
log_write(enum log_level level, const char *fmt, ...)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char line[2048], stamp[32];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof line, "%s.%03ldZ %s[%ld] %s: ", stamp,
	    (long)(tv.tv_usec / 1000), log_name, (long)getpid(), names[level]);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof line)
		n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	/* One write per line, so lines from several workers do not interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
