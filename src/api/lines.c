/* A run's per-patient lines, as PEPS and IPEP answer them: the patient's
 * covariates by name, then JSON pages or all of them as one CSV file
 * (api_respond_csv). */
#include <stdio.h>
#include <string.h>

#include "a51/api.h"
#include "a51/riskmodel.h"
#include "a51/util.h"
#include "a51/banned.h"

/* The stored codes as a reader wants them: the age-sex cell's name, the ALD
 * groups' names (a bit mask in the row), C2S and AME as booleans (flags 1
 * and 2); the row's id is the patient's. */
static void line_view(json_t *l)
{
	int cell = (int)json_integer_value(json_object_get(l, "cell"));
	unsigned ald = (unsigned)json_integer_value(json_object_get(l, "ald_groups"));
	int flags = (int)json_integer_value(json_object_get(l, "flags"));
	json_t *groups = json_array();

	for (int g = 0; g < RM_ALD_GROUPS; g++)
		if (ald & (1u << g))
			json_array_append_new(groups, json_string(rm_ald_group_names[g]));
	json_object_set(l, "patient_id", json_object_get(l, "id"));
	json_object_set_new(l, "age_sex", json_string(cell >= 0 && cell < 20 ? rm_cell_names[cell] : "?"));
	json_object_set_new(l, "ald_groups", groups);
	json_object_set_new(l, "c2s", json_boolean(flags & 1));
	json_object_set_new(l, "ame", json_boolean(flags & 2));
	json_object_del(l, "cell");
	json_object_del(l, "flags");
}

void api_run_lines(struct http_request *r, const struct api_lines_kind *k)
{
	static const char *const query[] = { "limit", "format", NULL };
	static const char *const formats[] = { "json", "csv", NULL };
	struct a51_error err = { 0 };
	struct fields q;
	struct db_conn *c;
	json_t *run = NULL, *items, *it, *page;
	const char *fmt;
	int64_t id, after;
	int limit;
	size_t i;
	bool csv;

	if (!api_path_id(r, "id", &id))
		return;
	query_begin(&q, r);
	fmt = query_enum(&q, "format", formats);
	csv = fmt && strcmp(fmt, "csv") == 0;
	limit = (int)query_int(&q, "limit", 1, csv ? 2000000 : 1000, csv ? 2000000 : 100);
	after = query_int(&q, "cursor", 0, INT64_MAX, 0);
	if (!query_end(&q) || !(c = api_db(r)))
		return;
	/* the run first: a run of another tenant is a 404, not an empty list */
	if (k->run_get(c, &r->caller, id, &run, &err) < 0 || k->lines(c, &r->caller, id, after, limit, &items, &err) < 0) {
		json_decref(run);
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	json_decref(run);
	json_array_foreach(items, i, it)
		line_view(it);
	if (csv) {
		char name[64];
		snprintf(name, sizeof(name), "%s-run-%lld-lines.csv", k->name, (long long)id);
		api_respond_csv(r, k->cols, k->ncols, items, name);
		json_decref(items);
		return;
	}
	/* api_page takes the cursor from each item's id: drop it after */
	page = api_page(items, limit, api_base_url(r, query));
	json_array_foreach(json_object_get(page, "items"), i, it)
		json_object_del(it, "id");
	http_respond_json(r, 200, page);
}
