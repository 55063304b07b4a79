#include <string.h>
#include <strings.h>

#include "a51/http.h"
#include "a51/banned.h"

static bool media_type_is(const char *ctype, const char *want, size_t n)
{
	while (*ctype == ' ' || *ctype == '\t')
		ctype++;
	if (strncasecmp(ctype, want, n) != 0)
		return false;
	ctype += n;
	while (*ctype == ' ' || *ctype == '\t')
		ctype++;
	return *ctype == '\0' || *ctype == ';';
}

bool http_media_accepted(const struct route_def *def, const char *ctype)
{
	const char *list = def->media ? def->media : "application/json";

	if (!ctype)
		return false;
	while (*list) {
		const char *semi = strchr(list, ',');
		size_t n = semi ? (size_t)(semi - list) : strlen(list);
		if (n && media_type_is(ctype, list, n))
			return true;
		list += n + (semi ? 1 : 0);
	}
	return false;
}

int http_body_precheck(const struct route_def *def, bool has_body, uint64_t content_length,
		       const char *content_type, uint64_t max_body)
{
	if (!has_body)
		return 0;
	/* Streaming routes bound their bodies themselves (uploads are large). A
	 * chunked body (UINT64_MAX) is counted chunk by chunk instead. */
	if (def->body != BODY_STREAM && content_length != UINT64_MAX && content_length > max_body)
		return 413;
	if (def->body != BODY_NONE && !http_media_accepted(def, content_type))
		return 415;
	return 0;
}
