/* Structured logging: one JSON object per line on stderr, written with a single write(2). */
#ifndef A51_LOG_H
#define A51_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Parses "debug", "info", "warn", "error". Returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level lvl);

/* {"ts":..,"level":..,"event":event,"msg":<formatted>} */
void log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Writes a pre-built line (newline appended if missing), whole. While the
 * async writer runs, lines are buffered and written in batches by its thread
 * at least every 50 ms: one write(2) per request would cost a third of the
 * throughput of a small request (measured in bench/http.sh). */
void log_write_line(const char *line, size_t len);

/* Starts and stops the batching writer; stop flushes everything. */
int log_async_start(void);
void log_async_stop(void);
/* Appends the current UTC time as RFC 3339 with milliseconds into out (>= 32 bytes). */
void log_timestamp(char *out, size_t cap);

#define log_debug(ev, ...) do { if (log_get_level() <= LOG_DEBUG) log_msg(LOG_DEBUG, ev, __VA_ARGS__); } while (0)
#define log_info(ev, ...) log_msg(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_msg(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_msg(LOG_ERROR, ev, __VA_ARGS__)

#endif
