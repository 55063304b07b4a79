#include "a51/api.h"
#include "a51/banned.h"

struct db_conn *api_db(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c = db_acquire(r->app->pool, &err);

	if (!c)
		http_problem(r, 503, "database-unavailable", "%s", err.message);
	return c;
}

void api_db_release(struct http_request *r, struct db_conn *c)
{
	db_release(r->app->pool, c);
}
