#include <stdio.h>
#include <string.h>

#include "a51/api.h"
#include "a51/ids.h"
#include "a51/banned.h"

static const char *const kinds[] = { "MSP", "SISA", "CDS", "CPTS", "ESP", "ES", "GHT", "GCS", "GROUPEMENT", NULL };
static const char *const legal_forms[] = { "SISA", "SCM", "SEL", "ASSOCIATION", "MUTUELLE", "COLLECTIVITE", "GIP",
					   "GCS", "EPS", "ESPIC", "SA", "SAS", "SARL", "FONDATION", "OTHER", NULL };

static bool commune_ok(const char *s)
{
	if (strlen(s) != 5)
		return false;
	for (int i = 0; i < 5; i++) {
		bool digit = s[i] >= '0' && s[i] <= '9';
		if (!digit && !(i == 1 && s[0] == '2' && (s[1] == 'A' || s[1] == 'B')))
			return false;
	}
	return true;
}

/* Identifier fields: format errors are faults; an unconfirmed FINESS key is a warning. */
static void check_ids(struct fields *f, struct structure_in *in, char siren_buf[10], json_t *warnings)
{
	struct a51_error err = { 0 };
	enum finess_key key;

	if (in->finess) {
		if (ids_finess_check(in->finess, &key, &err) < 0)
			field_error(f, "finess", "%s", err.message);
		else if (key == FINESS_KEY_BAD)
			json_array_append_new(warnings,
					      json_pack("{s:s,s:s}", "field", "finess", "reason",
							"the check digit does not verify under the Luhn rule; the rule is "
							"not confirmed for FINESS, so the number is kept"));
	}
	if (in->siret && ids_siret_check(in->siret, &err) < 0)
		field_error(f, "siret", "%s", err.message);
	if (in->siren && ids_siren_check(in->siren, &err) < 0)
		field_error(f, "siren", "%s", err.message);
	if (in->siret && in->siren && strncmp(in->siret, in->siren, 9) != 0)
		field_error(f, "siren", "does not match the first 9 digits of the SIRET");
	if (in->siret && !in->siren && strlen(in->siret) == 14) {
		memcpy(siren_buf, in->siret, 9);
		siren_buf[9] = '\0';
		in->siren = siren_buf;
		in->set |= SF_SIREN;
	}
	if (in->commune && !commune_ok(in->commune))
		field_error(f, "commune", "must be an INSEE commune code (5 characters, 2A/2B for Corsica)");
	if (in->opened_on && in->closed_on && strcmp(in->closed_on, in->opened_on) < 0)
		field_error(f, "closed_on", "is before opened_on");
}

static void respond_with_warnings(struct http_request *r, int status, json_t *out, json_t *warnings)
{
	if (json_array_size(warnings))
		json_object_set(out, "warnings", warnings);
	json_decref(warnings);
	api_respond_object(r, status, out);
}

void api_structures_create(struct http_request *r)
{
	static const char *const known[] = { "kind", "name", "finess", "siret", "siren", "region", "commune",
					     "legal_form", "opened_on", "closed_on", NULL };
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct structure_in in = { 0 };
	json_t *warnings = json_array(), *out = NULL;
	char siren[10], loc[64];
	struct db_conn *c;
	struct fields f;

	if (!fields_begin(&f, r)) {
		json_decref(warnings);
		return;
	}
	fields_only(&f, known);
	in.kind = field_enum(&f, "kind", true, kinds);
	in.name = field_text(&f, "name", true, 200);
	in.finess = field_text(&f, "finess", false, 9);
	in.siret = field_text(&f, "siret", false, 14);
	in.siren = field_text(&f, "siren", false, 9);
	in.region = field_text(&f, "region", true, 2);
	in.commune = field_text(&f, "commune", true, 5);
	in.legal_form = field_enum(&f, "legal_form", true, legal_forms);
	in.opened_on = field_date(&f, "opened_on", false);
	in.closed_on = field_date(&f, "closed_on", false);
	check_ids(&f, &in, siren, warnings);
	if (!fields_end(&f)) {
		json_decref(warnings);
		return;
	}
	if (r->caller.kind == CALLER_ARS && strcmp(in.region, r->caller.region) != 0) {
		http_problem(r, 403, "forbidden", "an ARS token of region %s may not create a structure in region %s",
			     r->caller.region, in.region);
		goto done;
	}
	if (!(c = api_tx_begin(r)))
		goto done;
	if (store_structure_create(c, &a, &in, &out, &err) < 0) {
		if (strcmp(err.sqlstate, "23503") == 0)
			a51_error_set(&err, A51_EINVAL, "region", "no region with code %s", in.region);
		api_fail(r, c, &err);
		goto done;
	}
	if (api_tx_commit(r, c) < 0)
		goto done;
	snprintf(loc, sizeof(loc), "/v1/structures/%lld", (long long)json_integer_value(json_object_get(out, "id")));
	http_set_header(r, "Location", loc);
	respond_with_warnings(r, 201, out, warnings);
	out = NULL;
	warnings = NULL;
done:
	json_decref(out);
	json_decref(warnings);
	fields_release(&f);
}

void api_structures_get(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c;
	int64_t id;
	json_t *out;

	if (!api_path_id(r, "id", &id) || !(c = api_db(r)))
		return;
	if (store_structure_get(c, &r->caller, id, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	api_respond_object(r, 200, out);
}

void api_structures_list(struct http_request *r)
{
	static const char *const experiments[] = { "PEPS", "IPEP", "EDS", NULL };
	static const char *const query[] = { "region", "kind", "experiment", "limit", NULL };
	struct a51_error err = { 0 };
	struct structure_filter flt = { 0 };
	struct db_conn *c;
	struct fields q;
	json_t *items;

	query_begin(&q, r);
	flt.region = http_query(r, "region");
	if (flt.region && (strlen(flt.region) != 2 || flt.region[0] < '0' || flt.region[0] > '9' ||
			   flt.region[1] < '0' || flt.region[1] > '9'))
		field_error(&q, "region", "must be a two-digit INSEE region code");
	flt.kind = query_enum(&q, "kind", kinds);
	flt.experiment = query_enum(&q, "experiment", experiments);
	flt.limit = (int)query_int(&q, "limit", 1, 500, 100);
	flt.after_id = query_int(&q, "cursor", 0, INT64_MAX, 0);
	if (!query_end(&q))
		return;
	if (!(c = api_db(r)))
		return;
	if (store_structures_list(c, &r->caller, &flt, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, api_page(items, flt.limit, api_base_url(r, query)));
}

/* PATCH: JSON merge-patch semantics — absent keys keep their value, null clears. */
void api_structures_update(struct http_request *r)
{
	static const char *const known[] = { "kind", "name", "finess", "siret", "siren", "commune", "legal_form",
					     "opened_on", NULL };
	static const struct { const char *name; unsigned flag; } opt[] = {
		{ "finess", SF_FINESS }, { "siret", SF_SIRET }, { "siren", SF_SIREN }, { "opened_on", SF_OPENED_ON },
	};
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct structure_in in = { 0 };
	json_t *warnings = json_array(), *out = NULL;
	char siren[10];
	struct db_conn *c;
	struct fields f;
	int64_t id;
	int version;

	if (!api_path_id(r, "id", &id) || !api_if_match(r, &version) || !fields_begin(&f, r)) {
		json_decref(warnings);
		return;
	}
	fields_only(&f, known);
	if (json_is_object(f.obj) && json_object_get(f.obj, "region"))
		field_error(&f, "region", "cannot change: a structure stays in its region");
	if (field_present(&f, "kind")) {
		in.kind = field_enum(&f, "kind", true, kinds);
		in.set |= SF_KIND;
	}
	if (field_present(&f, "name")) {
		in.name = field_text(&f, "name", true, 200);
		in.set |= SF_NAME;
	}
	if (field_present(&f, "commune")) {
		in.commune = field_text(&f, "commune", true, 5);
		in.set |= SF_COMMUNE;
	}
	if (field_present(&f, "legal_form")) {
		in.legal_form = field_enum(&f, "legal_form", true, legal_forms);
		in.set |= SF_LEGAL_FORM;
	}
	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		const char **slot = opt[i].flag == SF_FINESS ? &in.finess
				    : opt[i].flag == SF_SIRET ? &in.siret
				    : opt[i].flag == SF_SIREN ? &in.siren
							      : &in.opened_on;
		if (!field_present(&f, opt[i].name))
			continue;
		*slot = opt[i].flag == SF_OPENED_ON ? field_date(&f, opt[i].name, false)
						    : field_text(&f, opt[i].name, false, 14);
		in.set |= opt[i].flag;
	}
	check_ids(&f, &in, siren, warnings);
	if (!in.set && fields_ok(&f))
		field_error(&f, "", "the body changes nothing");
	if (!fields_end(&f)) {
		json_decref(warnings);
		return;
	}
	if (!(c = api_tx_begin(r)))
		goto done;
	if (store_structure_update(c, &a, id, version, &in, &out, &err) < 0) {
		api_fail(r, c, &err);
		goto done;
	}
	if (api_tx_commit(r, c) < 0)
		goto done;
	respond_with_warnings(r, 200, out, warnings);
	out = NULL;
	warnings = NULL;
done:
	json_decref(out);
	json_decref(warnings);
	fields_release(&f);
}

void api_structures_close(struct http_request *r)
{
	static const char *const known[] = { "closed_on", NULL };
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct structure_in in = { .set = SF_CLOSED_ON };
	struct db_conn *c;
	struct fields f;
	json_t *cur = NULL, *out = NULL;
	int64_t id;

	if (!api_path_id(r, "id", &id) || !fields_begin(&f, r))
		return;
	fields_only(&f, known);
	in.closed_on = field_date(&f, "closed_on", true);
	if (!fields_end(&f))
		return;
	if (!(c = api_tx_begin(r)))
		goto done;
	if (store_structure_get(c, &r->caller, id, &cur, &err) < 0) {
		api_fail(r, c, &err);
		goto done;
	}
	if (!json_is_null(json_object_get(cur, "closed_on"))) {
		a51_error_set(&err, A51_ECONFLICT, "closed_on", "the structure was closed on %s",
			      json_string_value(json_object_get(cur, "closed_on")));
		api_fail(r, c, &err);
		goto done;
	}
	if (json_string_value(json_object_get(cur, "opened_on")) &&
	    strcmp(in.closed_on, json_string_value(json_object_get(cur, "opened_on"))) < 0) {
		a51_error_set(&err, A51_EINVAL, "closed_on", "is before the opening date %s",
			      json_string_value(json_object_get(cur, "opened_on")));
		api_fail(r, c, &err);
		goto done;
	}
	if (store_structure_update(c, &a, id, (int)json_integer_value(json_object_get(cur, "version")), &in, &out,
				   &err) < 0) {
		api_fail(r, c, &err);
		goto done;
	}
	if (api_tx_commit(r, c) < 0)
		goto done;
	api_respond_object(r, 200, out);
	out = NULL;
done:
	json_decref(cur);
	json_decref(out);
	fields_release(&f);
}
