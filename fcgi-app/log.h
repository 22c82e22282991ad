/* Logging to stderr (the pool's log file). A message below the level costs one comparison. */
#ifndef SK_LOG_H
#define SK_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERR };

extern enum log_level log_min;

void log_set_level(enum log_level level);
/* The level named by log.level: "debug", "warn", "error"; anything else is info. */
enum log_level log_level_named(const char *name);
void log_set_name(const char *name);
void log_write(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_at(lvl, ...) do { if ((lvl) >= log_min) log_write((lvl), __VA_ARGS__); } while (0)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_at(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_WARN, __VA_ARGS__)
#define log_err(...)   log_at(LOG_ERR, __VA_ARGS__)

#endif
