#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/arena.h"
#include "a51/banned.h"

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
	_Alignas(16) char data[];
};

enum { ARENA_FIRST = 4096, ARENA_MAX_CHUNK = 1 << 20 };

static _Thread_local int fail_countdown;

void arena_fail_after(int n)
{
	fail_countdown = n;
}

static void *checked_malloc(size_t n)
{
	if (fail_countdown > 0 && --fail_countdown == 0)
		return NULL;
	return malloc(n);
}

void arena_init(struct arena *a)
{
	a->head = NULL;
	a->cur = a->end = NULL;
	a->total = 0;
}

static int arena_grow(struct arena *a, size_t need)
{
	size_t size = a->head ? a->head->size * 2 : ARENA_FIRST;
	struct arena_chunk *c;

	if (size > ARENA_MAX_CHUNK)
		size = ARENA_MAX_CHUNK;
	if (size < need)
		size = need;
	c = checked_malloc(sizeof(*c) + size);
	if (!c)
		return -1;
	c->next = a->head;
	c->size = size;
	a->head = c;
	a->cur = c->data;
	a->end = c->data + size;
	a->total += size;
	return 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
	size_t aligned = (n + 15) & ~(size_t)15;
	void *p;

	if (aligned < n)
		return NULL;
	if (!a->cur || (size_t)(a->end - a->cur) < aligned) {
		if (arena_grow(a, aligned) < 0)
			return NULL;
	}
	p = a->cur;
	a->cur += aligned;
	return p;
}

void *arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);

	if (p)
		memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void arena_release(struct arena *a)
{
	struct arena_chunk *c = a->head;

	while (c) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	arena_init(a);
}
