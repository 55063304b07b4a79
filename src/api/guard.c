#include "a51/api.h"
#include "a51/banned.h"

int api_guard(struct http_request *r)
{
	http_problem(r, 401, "unauthorized", "a bearer token is required");
	return -1;
}
