/* Handlers, one file per resource, and the few helpers they share. */
#ifndef A51_API_H
#define A51_API_H

#include "a51/app.h"
#include "a51/db.h"
#include "a51/http.h"

/* Takes a pooled connection; when none can be had, a 503 with Retry-After has
 * been queued and NULL is returned. */
struct db_conn *api_db(struct http_request *r);
void api_db_release(struct http_request *r, struct db_conn *c);

/* system.c */
void api_healthz(struct http_request *r);
void api_readyz(struct http_request *r);
void api_metrics(struct http_request *r);
void api_openapi(struct http_request *r);
void api_problem_type(struct http_request *r);

/* regions.c */
void api_regions_list(struct http_request *r);
void api_region_get(struct http_request *r);

#endif
