/* Growable byte buffer on the heap, for building response bodies and log lines. */
#ifndef A51_BUF_H
#define A51_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	bool oom; /* sticky: once an append failed, the buffer content is incomplete */
};

void buf_init(struct buf *b);
void buf_release(struct buf *b);
/* Appends keep data NUL-terminated; on failure they set b->oom and return -1. */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
int buf_json_str(struct buf *b, const char *s, size_t n);
/* Hands the data to the caller (free() it); the buffer becomes empty. */
char *buf_steal(struct buf *b, size_t *len);
void buf_reset(struct buf *b);

#endif
