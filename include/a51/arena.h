/* Region allocator: many small allocations, one release. Used per request. */
#ifndef A51_ARENA_H
#define A51_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	char *cur;
	char *end;
	size_t total; /* bytes obtained from malloc, for accounting */
};

void arena_init(struct arena *a);
/* Returns 16-byte aligned memory owned by the arena, or NULL when malloc fails. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_zalloc(struct arena *a, size_t n);
/* Copies s[0..n) and appends NUL. NULL on allocation failure. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees every chunk; the arena is empty and reusable afterwards. */
void arena_release(struct arena *a);

/* Test hook: make the next n-th malloc fail (0 disables). Core parsers are
 * unit-tested under allocation failure with it. */
void arena_fail_after(int n);

#endif
