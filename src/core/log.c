#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "a51/buf.h"
#include "a51/log.h"
#include "a51/banned.h"

static atomic_int current_level = LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level lvl)
{
	atomic_store(&current_level, (int)lvl);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&current_level, memory_order_relaxed);
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *log_level_name(enum log_level lvl)
{
	return (unsigned)lvl < 4 ? level_names[lvl] : "?";
}

void log_timestamp(char *out, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void log_write_line(const char *line, size_t len)
{
	/* One write per line keeps lines whole when threads log at once. */
	char stackbuf[4096];
	const char *p = line;
	size_t n = len;

	if (len == 0 || line[len - 1] != '\n') {
		if (len + 1 <= sizeof(stackbuf)) {
			memcpy(stackbuf, line, len);
			stackbuf[len] = '\n';
			p = stackbuf;
			n = len + 1;
		}
	}
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

void log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
{
	char ts[40], msg[1024];
	struct buf b;
	va_list ap;
	int n;

	if (lvl < log_get_level())
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	log_timestamp(ts, sizeof(ts));
	buf_init(&b);
	buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":", ts, log_level_name(lvl));
	buf_json_str(&b, event, strlen(event));
	buf_puts(&b, ",\"msg\":");
	buf_json_str(&b, msg, strlen(msg));
	buf_puts(&b, "}\n");
	if (!b.oom)
		log_write_line(b.data, b.len);
	buf_release(&b);
}
