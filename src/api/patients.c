/* Patients enter by their NIR, which is checked, turned into a keyed pseudonym
 * at once, and then forgotten: it is never stored, logged nor echoed. */
#include <stdio.h>
#include <string.h>

#include "a51/api.h"
#include "a51/dates.h"
#include "a51/ids.h"
#include "a51/util.h"
#include "a51/banned.h"

/* Overwrites the request body once the NIR has been read from it. */
static void forget_body(struct http_request *r)
{
	if (r->body)
		explicit_bzero(r->body, r->body_len);
}

/* Reads "nir" and gives its pseudonym; the canonical NIR is wiped before return. */
static bool nir_pseudonym(struct http_request *r, struct fields *f, uint8_t out[32], struct nir_parts *parts)
{
	struct a51_error err = { 0 };
	const char *nir = field_text(f, "nir", true, 32);
	char canon[16];
	bool ok = false;

	if (!nir)
		return false;
	if (ids_nir_normalise(nir, canon, &err) < 0) {
		field_error(f, "nir", "%s", err.message);
	} else {
		ids_nir_parts(canon, parts);
		auth_nir_pseudonym(r->app->pseudo_key, r->app->pseudo_key_len, canon, out);
		ok = true;
	}
	explicit_bzero(canon, sizeof(canon));
	return ok;
}

static const char *const patient_fields[] = { "nir", "birth", "sex", "commune", "c2s", "ame", "death_date", "ald",
					      NULL };

/* "YYYY-MM" or "YYYY", consistent with the NIR's two year digits and month. */
static void read_birth(struct fields *f, const struct nir_parts *np, bool have_nir, struct patient_in *in)
{
	const char *b = field_text(f, "birth", true, 7);
	int64_t y = 0, m = 0;
	char ys[5];

	if (!b)
		return;
	snprintf(ys, sizeof(ys), "%.4s", b);
	if ((strlen(b) != 4 && strlen(b) != 7) || util_parse_i64(ys, 1880, 2200, &y) < 0 ||
	    (strlen(b) == 7 && (b[4] != '-' || util_parse_i64(b + 5, 1, 12, &m) < 0))) {
		field_error(f, "birth", "must be YYYY-MM (or YYYY when the month is unknown)");
		return;
	}
	if (have_nir && np->birth_year2 != (int)(y % 100))
		field_error(f, "birth", "the year does not match the NIR");
	if (have_nir && m && np->birth_month >= 1 && np->birth_month <= 12 && np->birth_month != m)
		field_error(f, "birth", "the month does not match the NIR");
	if (!m && have_nir && np->birth_month >= 1 && np->birth_month <= 12)
		m = np->birth_month;
	in->birth_year = (int)y;
	in->birth_month = (int)m;
}

static void read_ald(struct fields *f, struct patient_in *in)
{
	json_t *list = json_is_object(f->obj) ? json_object_get(f->obj, "ald") : NULL, *item;
	size_t i;

	if (!list || json_is_null(list))
		return;
	if (!json_is_array(list) || json_array_size(list) > PATIENT_MAX_ALD) {
		field_error(f, "ald", "must be an array of at most %d {code, start_on, end_on}", PATIENT_MAX_ALD);
		return;
	}
	json_array_foreach(list, i, item) {
		char name[32];
		json_t *code = json_object_get(item, "code"), *s = json_object_get(item, "start_on"),
		       *e = json_object_get(item, "end_on");
		int32_t ds, de;

		snprintf(name, sizeof(name), "ald[%zu]", i);
		if (!json_is_object(item) || json_object_size(item) != (size_t)(1 + (s != NULL) + (e != NULL)) || !code) {
			field_error(f, name, "must be an object {code, start_on, end_on} and nothing else");
			continue;
		}
		if (!json_is_integer(code) || json_integer_value(code) < 1 || json_integer_value(code) > 32)
			field_error(f, name, "code must be an ALD number from 1 to 32");
		if (!json_is_string(s) || date_parse(json_string_value(s), &ds) < 0)
			field_error(f, name, "start_on must be a date YYYY-MM-DD");
		else if (e && !json_is_null(e) &&
			 (!json_is_string(e) || date_parse(json_string_value(e), &de) < 0 || de < ds))
			field_error(f, name, "end_on must be a date YYYY-MM-DD on or after start_on");
		for (int k = 0; k < in->n_ald; k++)
			if (in->ald[k].code == json_integer_value(code) && json_is_string(s) && in->ald[k].start_on &&
			    strcmp(in->ald[k].start_on, json_string_value(s)) == 0)
				field_error(f, name, "repeats ALD %d from the same date", in->ald[k].code);
		in->ald[in->n_ald].code = (int)json_integer_value(code);
		in->ald[in->n_ald].start_on = json_string_value(s);
		in->ald[in->n_ald].end_on = json_is_string(e) ? json_string_value(e) : NULL;
		in->n_ald++;
	}
}

void api_patients_create(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct patient_in in = { 0 };
	struct nir_parts np = { 0 };
	struct db_conn *c;
	struct fields f;
	json_t *out = NULL;
	char loc[96];
	int64_t sid;
	bool have_nir, created;
	int64_t sex;

	if (!api_path_id(r, "id", &sid) || !fields_begin(&f, r))
		return;
	forget_body(r);
	fields_only(&f, patient_fields);
	have_nir = nir_pseudonym(r, &f, in.pseudonym, &np);
	read_birth(&f, &np, have_nir, &in);
	sex = field_int(&f, "sex", !have_nir, 1, 2, 0);
	if (have_nir) {
		int from_nir = np.sex % 2 ? 1 : 2; /* odd: male */
		if (sex && sex != from_nir)
			field_error(&f, "sex", "does not match the NIR");
		sex = from_nir;
	}
	in.sex = (int)sex;
	in.commune = field_text(&f, "commune", false, 5);
	if (in.commune && (strlen(in.commune) != 5))
		field_error(&f, "commune", "must be an INSEE commune code (5 characters)");
	in.c2s = field_bool(&f, "c2s", false);
	in.ame = field_bool(&f, "ame", false);
	in.death_date = field_date(&f, "death_date", false);
	read_ald(&f, &in);
	if (!fields_end(&f))
		return;
	if (!(c = api_tx_begin(r)))
		goto done;
	if (store_patient_create(c, &a, sid, &in, &out, &created, &err) < 0) {
		api_fail(r, c, &err);
		goto done;
	}
	if (api_tx_commit(r, c) < 0)
		goto done;
	snprintf(loc, sizeof(loc), "/v1/structures/%lld/patients/%lld", (long long)sid,
		 (long long)json_integer_value(json_object_get(out, "id")));
	http_set_header(r, "Location", loc);
	api_respond_object(r, created ? 201 : 200, out);
	out = NULL;
done:
	explicit_bzero(&in, sizeof(in));
	json_decref(out);
	fields_release(&f);
}

void api_patients_lookup(struct http_request *r)
{
	static const char *const known[] = { "nir", NULL };
	struct a51_error err = { 0 };
	struct nir_parts np;
	uint8_t pseudonym[32];
	struct db_conn *c;
	struct fields f;
	json_t *out;
	int64_t sid;

	if (!api_path_id(r, "id", &sid) || !fields_begin(&f, r))
		return;
	forget_body(r);
	fields_only(&f, known);
	nir_pseudonym(r, &f, pseudonym, &np);
	if (!fields_end(&f))
		return;
	fields_release(&f);
	if (!(c = api_db(r)))
		return;
	if (store_patient_find(c, &r->caller, sid, pseudonym, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	api_respond_object(r, 200, out);
}

void api_patients_get(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c;
	int64_t sid, pid;
	json_t *out;

	if (!api_path_id(r, "id", &sid) || !api_path_id(r, "patient_id", &pid) || !(c = api_db(r)))
		return;
	if (store_patient_get(c, &r->caller, sid, pid, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	api_respond_object(r, 200, out);
}

void api_patients_list(struct http_request *r)
{
	static const char *const query[] = { "limit", NULL };
	struct a51_error err = { 0 };
	struct db_conn *c;
	json_t *items;
	int64_t sid, after;
	int limit;

	if (!api_path_id(r, "id", &sid) || !api_page_params(r, 100, 1000, &limit, &after) || !(c = api_db(r)))
		return;
	if (store_patients_list(c, &r->caller, sid, after, limit, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, api_page(items, limit, api_base_url(r, query)));
}

void api_mt_create(struct http_request *r)
{
	static const char *const known[] = { "patient_id", "gp_rpps", "start_on", "end_on", NULL };
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	const char *rpps, *start_on, *end_on;
	struct db_conn *c;
	struct fields f;
	json_t *out = NULL;
	int64_t sid, pid;

	if (!api_path_id(r, "id", &sid) || !fields_begin(&f, r))
		return;
	fields_only(&f, known);
	pid = field_int(&f, "patient_id", true, 1, INT64_MAX, 0);
	rpps = field_text(&f, "gp_rpps", true, 11);
	if (rpps && ids_rpps_check(rpps, &err) < 0)
		field_error(&f, "gp_rpps", "%s", err.message);
	start_on = field_date(&f, "start_on", true);
	end_on = field_date(&f, "end_on", false);
	if (start_on && end_on && strcmp(end_on, start_on) < 0)
		field_error(&f, "end_on", "is before start_on");
	if (!fields_end(&f))
		return;
	if (!(c = api_tx_begin(r)))
		goto done;
	if (store_mt_create(c, &a, sid, pid, rpps, start_on, end_on, &out, &err) < 0) {
		api_fail(r, c, &err);
		goto done;
	}
	if (api_tx_commit(r, c) < 0)
		goto done;
	http_respond_json(r, 201, out);
	out = NULL;
done:
	json_decref(out);
	fields_release(&f);
}

void api_mt_get(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c;
	int64_t sid, did;
	json_t *out;

	if (!api_path_id(r, "id", &sid) || !api_path_id(r, "declaration_id", &did) || !(c = api_db(r)))
		return;
	if (store_mt_get(c, &r->caller, sid, did, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, out);
}

void api_mt_list(struct http_request *r)
{
	static const char *const query[] = { "patient_id", "limit", NULL };
	struct a51_error err = { 0 };
	struct db_conn *c;
	struct fields q;
	json_t *items;
	int64_t sid, pid, after;
	int limit;

	if (!api_path_id(r, "id", &sid))
		return;
	query_begin(&q, r);
	pid = query_int(&q, "patient_id", 1, INT64_MAX, 0);
	limit = (int)query_int(&q, "limit", 1, 1000, 100);
	after = query_int(&q, "cursor", 0, INT64_MAX, 0);
	if (!query_end(&q))
		return;
	if (!(c = api_db(r)))
		return;
	if (store_mt_list(c, &r->caller, sid, pid, after, limit, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, api_page(items, limit, api_base_url(r, query)));
}
