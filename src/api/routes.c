#include "a51/api.h"
#include "a51/banned.h"

/* Every route of a51d. openapi/openapi.yaml documents the same set; a unit test
 * fails when the two disagree. */
const struct route_def api_routes[] = {
	{ HTTP_GET, "/healthz", PERM_PUBLIC, BODY_NONE, api_healthz, NULL, NULL },
	{ HTTP_GET, "/readyz", PERM_PUBLIC, BODY_NONE, api_readyz, NULL, NULL },
	{ HTTP_GET, "/metrics", PERM_PUBLIC, BODY_NONE, api_metrics, NULL, NULL },
	{ HTTP_GET, "/openapi.json", PERM_PUBLIC, BODY_NONE, api_openapi, NULL, NULL },
	{ HTTP_GET, "/problems/{slug}", PERM_PUBLIC, BODY_NONE, api_problem_type, NULL, NULL },

	{ HTTP_GET, "/v1/regions", PERM_PUBLIC, BODY_NONE, api_regions_list, NULL, NULL },
	{ HTTP_GET, "/v1/regions/{code}", PERM_PUBLIC, BODY_NONE, api_region_get, NULL, NULL },
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
