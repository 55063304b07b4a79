#include <stdio.h>
#include <string.h>

#include "a51/auth.h"
#include "a51/config.h"
#include "a51/sha256.h"
#include "a51/util.h"
#include "a51/banned.h"

bool auth_permits(const struct caller *c, int perm)
{
	bool national = c->kind == CALLER_NATIONAL, ars = c->kind == CALLER_ARS;

	if (perm == PERM_PUBLIC)
		return true;
	if (c->kind == CALLER_NONE)
		return false;
	switch (perm) {
	case PERM_READ: return true;
	case PERM_WRITE: return c->write;
	case PERM_ARS_READ: return national || ars;
	case PERM_ARS_WRITE: return (national || ars) && c->write;
	case PERM_NATIONAL_READ: return national;
	case PERM_NATIONAL_WRITE: return national && c->write;
	default: return false;
	}
}

static bool region_code(const char *s)
{
	return strlen(s) == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9';
}

int auth_scope_parse(const char *s, struct caller *out, struct a51_error *err)
{
	bool write = out->write;

	memset(out, 0, sizeof(*out));
	out->write = write;
	if (strcmp(s, "national") == 0) {
		out->kind = CALLER_NATIONAL;
	} else if (strncmp(s, "ars:", 4) == 0 && region_code(s + 4)) {
		out->kind = CALLER_ARS;
		memcpy(out->region, s + 4, 3);
	} else if (strncmp(s, "structure:", 10) == 0 && util_parse_i64(s + 10, 1, INT64_MAX, &out->structure_id) == 0 &&
		   s[10] != '-') {
		out->kind = CALLER_STRUCTURE;
	} else {
		return a51_error_set(err, A51_EINVAL, "scope",
				     "scope must be national, ars:<INSEE region code> or structure:<id>");
	}
	auth_scope_format(out);
	return 0;
}

void auth_scope_format(struct caller *c)
{
	switch (c->kind) {
	case CALLER_NATIONAL: snprintf(c->scope, sizeof(c->scope), "national"); break;
	case CALLER_ARS: snprintf(c->scope, sizeof(c->scope), "ars:%s", c->region); break;
	case CALLER_STRUCTURE: snprintf(c->scope, sizeof(c->scope), "structure:%lld", (long long)c->structure_id); break;
	default: c->scope[0] = '\0';
	}
}

bool auth_can_grant(const struct caller *granter, const struct caller *target, const char *target_region)
{
	if (!granter->write)
		return false;
	if (granter->kind == CALLER_NATIONAL)
		return true;
	if (granter->kind != CALLER_ARS)
		return false;
	if (target->kind == CALLER_ARS)
		return strcmp(target->region, granter->region) == 0;
	if (target->kind == CALLER_STRUCTURE)
		return target_region && strcmp(target_region, granter->region) == 0;
	return false;
}

int auth_token_generate(char out[AUTH_TOKEN_LEN + 1], uint8_t hash[32])
{
	uint8_t rnd[32];

	if (util_random_bytes(rnd, sizeof(rnd)) < 0)
		return -1;
	memcpy(out, "a51_", 4);
	util_base64url(rnd, sizeof(rnd), out + 4);
	memset(rnd, 0, sizeof(rnd));
	sha256(out, AUTH_TOKEN_LEN, hash);
	return 0;
}

bool auth_token_wellformed(const char *token)
{
	if (strlen(token) != AUTH_TOKEN_LEN || strncmp(token, "a51_", 4) != 0)
		return false;
	for (const char *p = token + 4; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_'))
			return false;
	return true;
}

void auth_token_hash(const char *token, uint8_t hash[32])
{
	sha256(token, strlen(token), hash);
}

void auth_nir_pseudonym(const uint8_t *key, size_t keylen, const char nir15[16], uint8_t out[32])
{
	hmac_sha256(key, keylen, nir15, 15, out);
}

size_t auth_pseudo_key(const char *configured, int mode, uint8_t *out, size_t cap)
{
	/* Demo and test data are synthetic: a fixed, published key keeps their
	 * pseudonyms stable across runs. Production refuses to start without one. */
	static const char demo_key[] = "a51 demo and test key - not a secret - never for real data";
	size_t n = strlen(configured);

	if (n == 0 && mode != A51_MODE_PRODUCTION)
		configured = demo_key, n = sizeof(demo_key) - 1;
	if (n >= 64 && n % 2 == 0 && n / 2 <= cap && util_unhex(configured, n / 2, out) == 0)
		return n / 2;
	if (n > cap)
		n = cap;
	memcpy(out, configured, n);
	return n;
}
