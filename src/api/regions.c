#include <stdlib.h>
#include <string.h>

#include "a51/api.h"
#include "a51/store.h"
#include "a51/banned.h"

static json_t *region_json(const struct region *g)
{
	return json_pack("{s:s,s:s,s:s}", "code", g->code, "name", g->name, "ars_name", g->ars_name);
}

static bool region_code_ok(const char *s)
{
	return s && strlen(s) == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9';
}

void api_regions_list(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct region *all = NULL;
	struct db_conn *c;
	size_t n = 0;
	json_t *items;

	if (!(c = api_db(r)))
		return;
	if (store_regions_list(c, &all, &n, &err) < 0) {
		api_db_release(r, c);
		http_problem_from_error(r, &err);
		return;
	}
	api_db_release(r, c);
	items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, region_json(&all[i]));
	free(all);
	http_respond_json(r, 200, json_pack("{s:o}", "items", items));
}

bool api_region_param(struct http_request *r, const char **code)
{
	*code = http_param(r, "code");
	if (!region_code_ok(*code)) {
		json_t *errors = json_pack("[{s:s,s:s}]", "field", "code", "reason",
					   "a region code is two digits (INSEE), e.g. 84");
		http_problem_ex(r, 422, "validation", errors, NULL, "invalid region code");
		return false;
	}
	return true;
}

void api_region_get(struct http_request *r)
{
	struct a51_error err = { 0 };
	const char *code;
	struct region g;
	struct db_conn *c;
	int rc;

	if (!api_region_param(r, &code))
		return;
	if (!(c = api_db(r)))
		return;
	rc = store_region_get(c, code, &g, &err);
	api_db_release(r, c);
	if (rc < 0) {
		http_problem_from_error(r, &err);
		return;
	}
	http_respond_json(r, 200, region_json(&g));
}
