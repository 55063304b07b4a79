/* Small helpers with no policy: clocks, checked number parsing, randomness, hex. */
#ifndef A51_UTIL_H
#define A51_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define A51_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

uint64_t util_now_ns(void);      /* CLOCK_MONOTONIC */
uint64_t util_wall_ms(void);     /* CLOCK_REALTIME, ms since the epoch */

/* Whole-string decimal parse with bounds; 0 on success, -1 otherwise. */
int util_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Like util_parse_i64 but accepts a k/K, m/M, g/G suffix (powers of 1024). */
int util_parse_size(const char *s, uint64_t max, uint64_t *out);

/* Fills buf from the kernel CSPRNG; 0 or -1. */
int util_random_bytes(void *buf, size_t n);
/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void util_hex(const void *in, size_t n, char *out);
/* Parses exactly 2n hex chars into out; 0 or -1. */
int util_unhex(const char *in, size_t n, void *out);

/* Unpadded base64url (RFC 4648 §5) of n bytes into out (4n/3+2 bytes with the NUL). */
void util_base64url(const void *in, size_t n, char *out);

/* Constant-time comparison of two equal-length buffers. */
bool util_ct_equal(const void *a, const void *b, size_t n);

/* Resident set size of this process in bytes, 0 if unknown. */
uint64_t util_rss_bytes(void);

#endif
