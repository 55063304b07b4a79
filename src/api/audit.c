#include <stdio.h>
#include <string.h>

#include "a51/api.h"
#include "a51/banned.h"

void api_audit_list(struct http_request *r)
{
	static const char *const query[] = { "resource_type", "resource_id", "action", "structure_id", "token_id",
					     "since", "until", "limit", NULL };
	struct a51_error err = { 0 };
	struct audit_filter flt = { 0 };
	struct db_conn *c;
	struct fields q;
	json_t *items, *page;

	query_begin(&q, r);
	flt.resource_type = http_query(r, "resource_type");
	flt.resource_id = http_query(r, "resource_id");
	flt.action = http_query(r, "action");
	flt.structure_id = query_int(&q, "structure_id", 1, INT64_MAX, 0);
	flt.token_id = query_int(&q, "token_id", 1, INT64_MAX, 0);
	flt.since = query_date(&q, "since");
	flt.until = query_date(&q, "until");
	flt.limit = (int)query_int(&q, "limit", 1, 1000, 100);
	flt.before_id = query_int(&q, "cursor", 1, INT64_MAX, 0);
	if (!query_end(&q))
		return;
	if (!(c = api_db(r)))
		return;
	if (store_audit_list(c, &r->caller, &flt, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	/* newest first: the cursor is the smallest id of the page */
	page = api_page(items, flt.limit, api_base_url(r, query));
	http_respond_json(r, 200, page);
}
