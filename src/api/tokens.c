#include <stdio.h>
#include <string.h>

#include "a51/api.h"
#include "a51/dates.h"
#include "a51/banned.h"

/* Resolves the target scope of a grant and checks the granter may give it.
 * A structure outside the granter's reach is reported as unknown. */
static bool check_grant(struct http_request *r, struct db_conn *c, struct fields *f, struct caller *target)
{
	struct a51_error err = { 0 };
	struct region g;
	char region[4] = "";

	if (target->kind == CALLER_ARS) {
		if (store_region_get(c, target->region, &g, &err) < 0) {
			field_error(f, "scope", "no region with code %s", target->region);
			return false;
		}
		snprintf(region, sizeof(region), "%s", target->region);
	} else if (target->kind == CALLER_STRUCTURE) {
		if (store_reach_structure(c, &r->caller, target->structure_id, region, &err) < 0) {
			field_error(f, "scope", "no structure %lld within your reach", (long long)target->structure_id);
			return false;
		}
	}
	if (!auth_can_grant(&r->caller, target, region)) {
		http_problem(r, 403, "forbidden", "a %s token may not grant scope %s", r->caller.scope, target->scope);
		return false;
	}
	return true;
}

void api_tokens_create(struct http_request *r)
{
	static const char *const known[] = { "name", "scope", "write", "expires_on", NULL };
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct token_new t = { 0 };
	char token[AUTH_TOKEN_LEN + 1], expires[40];
	const char *scope, *expires_on;
	struct db_conn *c;
	struct fields f;
	json_t *out;
	int32_t day;

	if (!fields_begin(&f, r))
		return;
	fields_only(&f, known);
	t.name = field_text(&f, "name", true, 100);
	scope = field_text(&f, "scope", true, 40);
	t.scope.write = field_bool(&f, "write", false);
	expires_on = field_date(&f, "expires_on", false);
	if (scope && auth_scope_parse(scope, &t.scope, &err) < 0)
		field_error(&f, "scope", "%s", err.message);
	if (expires_on && date_parse(expires_on, &day) == 0 && day <= date_today())
		field_error(&f, "expires_on", "must be a future date");
	if (!fields_end(&f))
		return;
	if (!(c = api_tx_begin(r))) {
		fields_release(&f);
		return;
	}
	if (!check_grant(r, c, &f, &t.scope)) {
		db_rollback(c);
		api_db_release(r, c);
		if (!r->responded)
			fields_end(&f);
		else
			fields_release(&f);
		return;
	}
	if (auth_token_generate(token, t.hash) < 0) {
		a51_error_set(&err, A51_EINTERNAL, NULL, "no randomness available");
		api_fail(r, c, &err);
		fields_release(&f);
		return;
	}
	memcpy(t.prefix, token, AUTH_TOKEN_PREFIX_LEN);
	if (expires_on) {
		snprintf(expires, sizeof(expires), "%s 00:00:00+00", expires_on);
		t.expires_at = expires;
	}
	if (store_token_create(c, &a, &t, &out, &err) < 0) {
		json_decref(out);
		api_fail(r, c, &err);
		fields_release(&f);
		return;
	}
	fields_release(&f);
	if (api_tx_commit(r, c) < 0) {
		json_decref(out);
		return;
	}
	/* The only time the token is ever shown: only its hash is kept. */
	json_object_set_new(out, "token", json_string(token));
	memset(token, 0, sizeof(token));
	http_respond_json(r, 201, out);
}

void api_tokens_list(struct http_request *r)
{
	static const char *const yesno[] = { "true", "false", NULL };
	struct a51_error err = { 0 };
	struct fields q;
	struct db_conn *c;
	const char *inc;
	json_t *items;

	query_begin(&q, r);
	inc = query_enum(&q, "include_revoked", yesno);
	if (!query_end(&q))
		return;
	if (!(c = api_db(r)))
		return;
	if (store_tokens_list(c, &r->caller, inc && strcmp(inc, "true") == 0, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, json_pack("{s:o}", "items", items));
}

void api_tokens_revoke(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct db_conn *c;
	int64_t id;
	json_t *out;

	if (!api_path_id(r, "id", &id) || !(c = api_tx_begin(r)))
		return;
	if (store_token_revoke(c, &a, id, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	if (api_tx_commit(r, c) < 0) {
		json_decref(out);
		return;
	}
	http_respond_json(r, 200, out);
}
