/* Callers and permissions. A route declares the permission it needs; the guard
 * checks it in one place. Tenant scoping is then applied again in SQL. */
#ifndef A51_AUTH_H
#define A51_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "a51/error.h"

enum perm {
	PERM_PUBLIC = 0,
	PERM_READ,           /* any valid token */
	PERM_WRITE,          /* any read-write token */
	PERM_ARS_READ,       /* national or ARS token */
	PERM_ARS_WRITE,
	PERM_NATIONAL_READ,
	PERM_NATIONAL_WRITE,
};

enum caller_kind { CALLER_NONE = 0, CALLER_NATIONAL, CALLER_ARS, CALLER_STRUCTURE };

struct caller {
	int kind;                /* enum caller_kind */
	bool write;
	char region[4];          /* CALLER_ARS: INSEE region code */
	int64_t structure_id;    /* CALLER_STRUCTURE */
	int64_t token_id;
	char scope[48];          /* "national", "ars:84", "structure:12" */
};

/* ---- pure rules (core/auth.c) ---- */

/* Whether the caller holds the route permission (ignoring tenancy, checked in SQL). */
bool auth_permits(const struct caller *c, int perm);

/* "national", "ars:84", "structure:12" -> kind, region, structure_id (write left
 * as is). 0, or A51_EINVAL with field "scope". The region is not checked to exist. */
int auth_scope_parse(const char *s, struct caller *out, struct a51_error *err);
/* Writes the scope string of c into c->scope. */
void auth_scope_format(struct caller *c);

/* May granter create (or revoke) a token of scope target? National: any; ARS:
 * its own region, or a structure of it (target_region is the structure's
 * region); structure callers: never. Write access is needed in every case. */
bool auth_can_grant(const struct caller *granter, const struct caller *target, const char *target_region);

/* Tokens: "a51_" + 43 base64url characters carrying 256 random bits. */
#define AUTH_TOKEN_LEN 47
#define AUTH_TOKEN_PREFIX_LEN 12
/* Fills out (AUTH_TOKEN_LEN + 1) with a fresh token and hash with its SHA-256. */
int auth_token_generate(char out[AUTH_TOKEN_LEN + 1], uint8_t hash[32]);
bool auth_token_wellformed(const char *token);
void auth_token_hash(const char *token, uint8_t hash[32]);

/* The NIR pseudonym: HMAC-SHA-256 under the configured key of the canonical
 * 15-character NIR (ids_nir_normalise). */
void auth_nir_pseudonym(const uint8_t *key, size_t keylen, const char nir15[16], uint8_t out[32]);
/* The key bytes of A51_PSEUDO_KEY: hex when it is 64+ hex digits, else the text. */
size_t auth_pseudo_key(const char *configured, int mode, uint8_t *out, size_t cap);

#endif
