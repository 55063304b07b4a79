/* a51d token ...: the way in for the first national token, and for operators. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/cli.h"
#include "a51/dates.h"
#include "a51/db.h"
#include "a51/store.h"
#include "a51/synth.h"
#include "a51/util.h"
#include "a51/banned.h"

/* The command line acts as a national, read-write caller named "cli" in the audit trail. */
static const struct caller cli_caller = { .kind = CALLER_NATIONAL, .write = true, .scope = "cli" };

static struct db_pool *open_pool(const struct a51_config *cfg)
{
	struct db_pool_config pc = { .url = cfg->database_url, .size = 1, .acquire_timeout_ms = 5000,
				     .statement_timeout_ms = 60000, .connect_timeout_s = cfg->db_connect_timeout_s,
				     .application_name = "a51d-cli" };
	struct a51_error err = { 0 };
	struct db_pool *p = db_pool_new(&pc, &err);

	if (!p)
		fprintf(stderr, "a51d: %s\n", err.message);
	return p;
}

static int token_create(struct db_conn *c, int argc, char **argv, int idx)
{
	struct a51_error err = { 0 };
	struct actor a = { .caller = &cli_caller, .request_id = "cli" };
	struct token_new t = { .scope.write = true };
	char token[AUTH_TOKEN_LEN + 1], expires[40], region[4];
	const char *scope = NULL;
	json_t *out = NULL;

	for (; idx < argc; idx++) {
		if (strcmp(argv[idx], "--name") == 0 && idx + 1 < argc) {
			t.name = argv[++idx];
		} else if (strcmp(argv[idx], "--scope") == 0 && idx + 1 < argc) {
			scope = argv[++idx];
		} else if (strcmp(argv[idx], "--read-only") == 0) {
			t.scope.write = false;
		} else if (strcmp(argv[idx], "--expires-on") == 0 && idx + 1 < argc) {
			int32_t d;
			if (date_parse(argv[++idx], &d) < 0 || d <= date_today()) {
				fprintf(stderr, "a51d: --expires-on must be a future date YYYY-MM-DD\n");
				return 2;
			}
			snprintf(expires, sizeof(expires), "%s 00:00:00+00", argv[idx]);
			t.expires_at = expires;
		} else {
			fprintf(stderr, "a51d: unknown argument to token create: %s\n", argv[idx]);
			return 2;
		}
	}
	if (!t.name || !scope) {
		fprintf(stderr, "usage: a51d token create --name NAME --scope national|ars:CODE|structure:ID "
				"[--read-only] [--expires-on YYYY-MM-DD]\n");
		return 2;
	}
	if (auth_scope_parse(scope, &t.scope, &err) < 0) {
		fprintf(stderr, "a51d: %s\n", err.message);
		return 2;
	}
	if (t.scope.kind == CALLER_STRUCTURE && store_structure_region(c, t.scope.structure_id, region, &err) < 0) {
		fprintf(stderr, "a51d: %s\n", err.message);
		return 1;
	}
	if (auth_token_generate(token, t.hash) < 0) {
		fprintf(stderr, "a51d: no randomness available\n");
		return 1;
	}
	memcpy(t.prefix, token, AUTH_TOKEN_PREFIX_LEN);
	if (db_begin(c, &err) < 0 || store_token_create(c, &a, &t, &out, &err) < 0 || db_commit(c, &err) < 0) {
		db_rollback(c);
		json_decref(out);
		fprintf(stderr, "a51d: cannot create the token: %s\n", err.message);
		return 1;
	}
	fprintf(stderr, "token %lld (%s, %s%s) created; it is shown once:\n",
		(long long)json_integer_value(json_object_get(out, "id")), t.name, scope,
		t.scope.write ? ", read-write" : ", read-only");
	printf("%s\n", token);
	memset(token, 0, sizeof(token));
	json_decref(out);
	return 0;
}

static int token_list(struct db_conn *c, int argc, char **argv, int idx)
{
	struct a51_error err = { 0 };
	bool all = idx < argc && strcmp(argv[idx], "--all") == 0;
	json_t *items, *t;
	size_t i;

	if (store_tokens_list(c, &cli_caller, all, &items, &err) < 0) {
		fprintf(stderr, "a51d: %s\n", err.message);
		return 1;
	}
	printf("%-6s %-24s %-18s %-6s %-14s %-21s %-21s %s\n", "id", "name", "scope", "access", "prefix", "created",
	       "expires", "revoked");
	json_array_foreach(items, i, t) {
		const char *exp = json_string_value(json_object_get(t, "expires_at"));
		const char *rev = json_string_value(json_object_get(t, "revoked_at"));
		printf("%-6lld %-24.24s %-18s %-6s %-14s %-21s %-21s %s\n",
		       (long long)json_integer_value(json_object_get(t, "id")),
		       json_string_value(json_object_get(t, "name")), json_string_value(json_object_get(t, "scope")),
		       json_is_true(json_object_get(t, "write")) ? "rw" : "ro",
		       json_string_value(json_object_get(t, "prefix")),
		       json_string_value(json_object_get(t, "created_at")), exp ? exp : "-", rev ? rev : "-");
	}
	json_decref(items);
	return 0;
}

static int token_revoke(struct db_conn *c, int argc, char **argv, int idx)
{
	struct a51_error err = { 0 };
	struct actor a = { .caller = &cli_caller, .request_id = "cli" };
	json_t *out = NULL;
	int64_t id;

	if (idx >= argc || util_parse_i64(argv[idx], 1, INT64_MAX, &id) < 0) {
		fprintf(stderr, "usage: a51d token revoke ID\n");
		return 2;
	}
	if (db_begin(c, &err) < 0 || store_token_revoke(c, &a, id, &out, &err) < 0 || db_commit(c, &err) < 0) {
		db_rollback(c);
		json_decref(out);
		fprintf(stderr, "a51d: cannot revoke token %lld: %s\n", (long long)id, err.message);
		return 1;
	}
	fprintf(stderr, "token %lld revoked\n", (long long)id);
	json_decref(out);
	return 0;
}

int cli_token(const struct a51_config *cfg, int argc, char **argv, int idx)
{
	struct a51_error err = { 0 };
	struct db_pool *pool;
	struct db_conn *c;
	const char *verb = idx < argc ? argv[idx++] : "";
	int rc;

	if (strcmp(verb, "create") != 0 && strcmp(verb, "list") != 0 && strcmp(verb, "revoke") != 0) {
		fprintf(stderr, "usage: a51d token create|list|revoke ...\n");
		return 2;
	}
	if (!(pool = open_pool(cfg)))
		return 1;
	if (!(c = db_acquire(pool, &err))) {
		fprintf(stderr, "a51d: cannot connect to PostgreSQL: %s\n", err.message);
		db_pool_free(pool);
		return 1;
	}
	if (strcmp(verb, "create") == 0)
		rc = token_create(c, argc, argv, idx);
	else if (strcmp(verb, "list") == 0)
		rc = token_list(c, argc, argv, idx);
	else
		rc = token_revoke(c, argc, argv, idx);
	db_release(pool, c);
	db_pool_free(pool);
	return rc;
}

int cli_synth(int argc, char **argv, int idx)
{
	struct synth_options o = { .patients = 10000, .structures = 12, .reference = 0, .year = 2024, .years = 1,
				   .seed = 1, .region = "84", .out = NULL };
	struct synth_counts counts;
	struct a51_error err = { 0 };
	int64_t v;

	for (; idx < argc; idx++) {
		const char *a = argv[idx], *val = idx + 1 < argc ? argv[idx + 1] : NULL;
		int64_t lo = 0, hi = 0;
		long *lp = NULL;
		int *ip = NULL;

		if (strcmp(a, "--out") == 0 && val) {
			o.out = val;
			idx++;
			continue;
		}
		if (strcmp(a, "--region") == 0 && val) {
			snprintf(o.region, sizeof(o.region), "%s", val);
			idx++;
			continue;
		}
		if (strcmp(a, "--patients") == 0)
			lp = &o.patients, lo = 0, hi = 1000000; /* NIRs unique per department: see model_person */
		else if (strcmp(a, "--reference") == 0)
			lp = &o.reference, lo = 0, hi = 4890000;
		else if (strcmp(a, "--structures") == 0)
			ip = &o.structures, lo = 0, hi = 500;
		else if (strcmp(a, "--year") == 0)
			ip = &o.year, lo = 2018, hi = 2100;
		else if (strcmp(a, "--years") == 0)
			ip = &o.years, lo = 1, hi = 5;
		else if (strcmp(a, "--surgery-rate") == 0)
			ip = &o.surgery_rate, lo = 1, hi = 50;
		else if (strcmp(a, "--seed") == 0) {
			if (!val || util_parse_i64(val, 0, INT64_MAX, &v) < 0) {
				fprintf(stderr, "a51d: --seed needs a non-negative integer\n");
				return 2;
			}
			o.seed = (uint64_t)v;
			idx++;
			continue;
		} else {
			fprintf(stderr, "a51d: unknown argument to synth: %s\n", a);
			return 2;
		}
		if (!val || util_parse_i64(val, lo, hi, &v) < 0) {
			fprintf(stderr, "a51d: %s needs an integer from %lld to %lld\n", a, (long long)lo, (long long)hi);
			return 2;
		}
		if (lp)
			*lp = (long)v;
		else
			*ip = (int)v;
		idx++;
	}
	if (!o.out) {
		fprintf(stderr, "usage: a51d synth --patients N --structures M --year Y --seed S --out DIR "
				"[--reference N] [--years K] [--region CODE] [--surgery-rate K]\n");
		return 2;
	}
	if (synth_run(&o, &counts, &err) < 0) {
		fprintf(stderr, "a51d: %s\n", err.message);
		return 1;
	}
	fprintf(stderr,
		"synth: %ld structures, %ld professionals, %ld patients (+%ld reference), %ld MT declarations, "
		"%ld claim lines, %ld stays, %ld answers in %s\n",
		counts.structures, counts.professionals, counts.patients, counts.reference_patients,
		counts.declarations, counts.claims, counts.stays, counts.answers, o.out);
	return 0;
}
