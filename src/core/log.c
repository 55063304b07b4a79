#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
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
	/* The date and time to the second change once a second: format them once
	 * per thread and second, not per line. */
	static _Thread_local time_t last_sec = -1;
	static _Thread_local char prefix[24];
	static _Thread_local size_t prefix_len;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != last_sec) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		prefix_len = strftime(prefix, sizeof(prefix), "%Y-%m-%dT%H:%M:%S", &tm);
		last_sec = ts.tv_sec;
	}
	snprintf(out, cap, "%.*s.%03ldZ", (int)prefix_len, prefix, ts.tv_nsec / 1000000);
}

static void write_all(const char *p, size_t n)
{
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

/* ---- batching writer ---- */

enum { ASYNC_CAP = 4 << 20, ASYNC_FLUSH_AT = 64 << 10, ASYNC_PERIOD_MS = 50 };

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	char *buf, *spare;
	size_t len;
	bool stop;
	atomic_bool active;
} A = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&A.mu);
	for (;;) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += ASYNC_PERIOD_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (!A.stop && A.len < ASYNC_FLUSH_AT)
			pthread_cond_timedwait(&A.cv, &A.mu, &until);
		if (A.len) {
			char *full = A.buf;
			size_t n = A.len;
			A.buf = A.spare;
			A.spare = full;
			A.len = 0;
			pthread_mutex_unlock(&A.mu);
			write_all(full, n);
			pthread_mutex_lock(&A.mu);
		} else if (A.stop) {
			break;
		}
	}
	pthread_mutex_unlock(&A.mu);
	return NULL;
}

int log_async_start(void)
{
	if (atomic_load(&A.active))
		return 0;
	A.buf = malloc(ASYNC_CAP);
	A.spare = malloc(ASYNC_CAP);
	if (!A.buf || !A.spare)
		goto fail;
	A.len = 0;
	A.stop = false;
	if (pthread_create(&A.thread, NULL, writer_main, NULL) != 0)
		goto fail;
	atomic_store(&A.active, true);
	return 0;
fail:
	free(A.buf);
	free(A.spare);
	A.buf = A.spare = NULL;
	return -1;
}

void log_async_stop(void)
{
	if (!atomic_exchange(&A.active, false))
		return;
	pthread_mutex_lock(&A.mu);
	A.stop = true;
	pthread_cond_signal(&A.cv);
	pthread_mutex_unlock(&A.mu);
	pthread_join(A.thread, NULL);
	free(A.buf);
	free(A.spare);
	A.buf = A.spare = NULL;
}

void log_write_line(const char *line, size_t len)
{
	bool nl = len == 0 || line[len - 1] != '\n';

	if (atomic_load_explicit(&A.active, memory_order_acquire)) {
		pthread_mutex_lock(&A.mu);
		if (A.buf && A.len + len + 1 <= ASYNC_CAP) {
			memcpy(A.buf + A.len, line, len);
			A.len += len;
			if (nl)
				A.buf[A.len++] = '\n';
			if (A.len >= ASYNC_FLUSH_AT)
				pthread_cond_signal(&A.cv);
			pthread_mutex_unlock(&A.mu);
			return;
		}
		pthread_mutex_unlock(&A.mu);
		/* The writer is behind by 4 MiB: write this line ourselves rather
		 * than drop it or grow without bound. */
	}
	{
		/* Line and newline in one write keeps lines whole across threads. */
		char stackbuf[4096];
		if (nl && len + 1 <= sizeof(stackbuf)) {
			memcpy(stackbuf, line, len);
			stackbuf[len] = '\n';
			write_all(stackbuf, len + 1);
		} else {
			write_all(line, len);
		}
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
