/* SHA-256 and HMAC-SHA-256 (FIPS 180-4, RFC 2104), used for migration checksums,
 * token hashes and NIR pseudonyms. */
#ifndef A51_SHA256_H
#define A51_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256 {
	uint32_t h[8];
	uint64_t nbytes;
	uint8_t block[64];
	size_t fill;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *p, size_t n);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN]);
void sha256(const void *p, size_t n, uint8_t out[SHA256_LEN]);

void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n, uint8_t out[SHA256_LEN]);

#endif
