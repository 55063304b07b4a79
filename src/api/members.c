#include <math.h>
#include <stdio.h>
#include <string.h>

#include "a51/api.h"
#include "a51/ids.h"
#include "a51/banned.h"

static const char *const professions[] = { "MG", "IDE", "MK", "PHARM", "SF", "DENT", "SPEC", "OTHER", NULL };

/* Full-time equivalent in (0, 1], as the text PostgreSQL's numeric(4,2) takes. */
static const char *field_fte(struct fields *f, char out[8])
{
	json_t *v = json_is_object(f->obj) ? json_object_get(f->obj, "fte") : NULL;
	double x;

	if (!v || json_is_null(v))
		return NULL;
	x = json_number_value(v);
	if (!json_is_number(v) || !(x > 0 && x <= 1) || fabs(x * 100 - round(x * 100)) > 1e-9) {
		field_error(f, "fte", "must be a number above 0 and at most 1, with two decimals at most");
		return NULL;
	}
	snprintf(out, 8, "%.2f", x);
	return out;
}

void api_members_add(struct http_request *r)
{
	static const char *const known[] = { "rpps", "profession", "last_name", "first_name", "start_on", "end_on",
					     "fte", NULL };
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct member_in in = { 0 };
	struct db_conn *c;
	struct fields f;
	json_t *out = NULL;
	char fte[8];
	int64_t sid;

	if (!api_path_id(r, "id", &sid) || !fields_begin(&f, r))
		return;
	fields_only(&f, known);
	in.rpps = field_text(&f, "rpps", true, 11);
	if (in.rpps && ids_rpps_check(in.rpps, &err) < 0)
		field_error(&f, "rpps", "%s", err.message);
	in.profession = field_enum(&f, "profession", true, professions);
	in.last_name = field_text(&f, "last_name", true, 100);
	in.first_name = field_text(&f, "first_name", true, 100);
	in.start_on = field_date(&f, "start_on", true);
	in.end_on = field_date(&f, "end_on", false);
	in.fte = field_fte(&f, fte);
	if (in.start_on && in.end_on && strcmp(in.end_on, in.start_on) < 0)
		field_error(&f, "end_on", "is before start_on");
	if (!fields_end(&f))
		return;
	if (!(c = api_tx_begin(r)))
		goto done;
	if (store_member_add(c, &a, sid, &in, &out, &err) < 0) {
		api_fail(r, c, &err);
		goto done;
	}
	if (api_tx_commit(r, c) < 0)
		goto done;
	api_respond_object(r, 201, out);
	out = NULL;
done:
	json_decref(out);
	fields_release(&f);
}

void api_members_list(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c;
	struct fields q;
	const char *on;
	json_t *items;
	int64_t sid;

	if (!api_path_id(r, "id", &sid))
		return;
	query_begin(&q, r);
	on = query_date(&q, "on");
	if (!query_end(&q))
		return;
	if (!(c = api_db(r)))
		return;
	if (store_members_list(c, &r->caller, sid, on, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, json_pack("{s:o}", "items", items));
}

void api_members_update(struct http_request *r)
{
	static const char *const known[] = { "end_on", "fte", NULL };
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct db_conn *c;
	struct fields f;
	json_t *out = NULL;
	const char *end_on, *fte_s;
	char fte[8];
	int64_t sid, mid;
	int version;
	bool set_end;

	if (!api_path_id(r, "id", &sid) || !api_path_id(r, "membership_id", &mid) || !api_if_match(r, &version) ||
	    !fields_begin(&f, r))
		return;
	fields_only(&f, known);
	set_end = field_present(&f, "end_on");
	end_on = field_date(&f, "end_on", false);
	fte_s = field_fte(&f, fte);
	if (!set_end && !field_present(&f, "fte") && fields_ok(&f))
		field_error(&f, "", "the body changes nothing");
	if (!fields_end(&f))
		return;
	if (!(c = api_tx_begin(r)))
		goto done;
	if (store_member_update(c, &a, sid, mid, version, end_on, set_end, fte_s, &out, &err) < 0) {
		api_fail(r, c, &err);
		goto done;
	}
	if (api_tx_commit(r, c) < 0)
		goto done;
	api_respond_object(r, 200, out);
	out = NULL;
done:
	json_decref(out);
	fields_release(&f);
}

void api_professionals_get(struct http_request *r)
{
	struct a51_error err = { 0 };
	const char *rpps = http_param(r, "rpps");
	struct db_conn *c;
	json_t *out;

	if (!rpps || ids_rpps_check(rpps, &err) < 0) {
		http_problem_ex(r, 422, "validation",
				json_pack("[{s:s,s:s}]", "field", "rpps", "reason",
					  rpps ? err.message : "is required"),
				NULL, "invalid RPPS");
		return;
	}
	if (!(c = api_db(r)))
		return;
	if (store_professional_get(c, &r->caller, rpps, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, out);
}
