#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "a51/api.h"
#include "a51/dates.h"
#include "a51/util.h"
#include "a51/banned.h"

bool fields_begin(struct fields *f, struct http_request *r)
{
	json_t *body;

	f->r = r;
	f->obj = NULL;
	f->errors = json_array();
	if (http_body_json(r, &body) < 0) {
		fields_release(f);
		return false;
	}
	f->obj = body;
	if (!json_is_object(body))
		field_error(f, "", "the body must be a JSON object");
	return true;
}

void query_begin(struct fields *f, struct http_request *r)
{
	f->r = r;
	f->obj = NULL;
	f->errors = json_array();
}

void fields_release(struct fields *f)
{
	json_decref(f->obj);
	json_decref(f->errors);
	f->obj = f->errors = NULL;
}

/* Cuts s before a multi-byte character that a bounded write truncated:
 * jansson refuses invalid UTF-8, and the fault would be lost with it. */
static void utf8_trim(char *s)
{
	size_t n = strlen(s), k = n, need;
	unsigned char lead;

	while (k > 0 && n - k < 4 && ((unsigned char)s[k - 1] & 0xC0) == 0x80)
		k--;
	if (k == 0)
		return;
	lead = (unsigned char)s[k - 1];
	need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (need > 1 && n - (k - 1) < need)
		s[k - 1] = '\0';
}

void field_error(struct fields *f, const char *name, const char *fmt, ...)
{
	char reason[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(reason))
		utf8_trim(reason);
	json_array_append_new(f->errors, json_pack("{s:s,s:s}", "field", name, "reason", reason));
}

bool fields_ok(const struct fields *f)
{
	return json_array_size(f->errors) == 0;
}

bool fields_end(struct fields *f)
{
	size_t n = json_array_size(f->errors);

	if (n == 0)
		return true;
	http_problem_ex(f->r, 422, "validation", json_incref(f->errors), NULL, "%zu field%s invalid: see errors", n,
			n > 1 ? "s are" : " is");
	fields_release(f);
	return false;
}

void fields_only(struct fields *f, const char *const *known)
{
	const char *key;
	json_t *v;

	if (!json_is_object(f->obj))
		return;
	json_object_foreach(f->obj, key, v) {
		bool ok = false;
		for (const char *const *k = known; *k && !ok; k++)
			ok = strcmp(*k, key) == 0;
		if (!ok)
			field_error(f, key, "unknown field");
	}
}

bool field_present(struct fields *f, const char *name)
{
	return json_is_object(f->obj) && json_object_get(f->obj, name) != NULL;
}

static json_t *get(struct fields *f, const char *name, bool required)
{
	json_t *v = json_is_object(f->obj) ? json_object_get(f->obj, name) : NULL;

	if (!v || json_is_null(v)) {
		if (required && json_is_object(f->obj))
			field_error(f, name, "is required");
		return NULL;
	}
	return v;
}

const char *field_text(struct fields *f, const char *name, bool required, size_t maxlen)
{
	json_t *v = get(f, name, required);
	const char *s;

	if (!v)
		return NULL;
	if (!json_is_string(v)) {
		field_error(f, name, "must be a string");
		return NULL;
	}
	s = json_string_value(v);
	if (strlen(s) == 0 || strlen(s) > maxlen) {
		field_error(f, name, "must be 1 to %zu bytes long", maxlen);
		return NULL;
	}
	if (strlen(s) != json_string_length(v)) {
		field_error(f, name, "must not contain NUL characters");
		return NULL;
	}
	return s;
}

const char *field_date(struct fields *f, const char *name, bool required)
{
	const char *s = field_text(f, name, required, 10);
	int32_t d;

	if (s && date_parse(s, &d) < 0) {
		field_error(f, name, "must be a date YYYY-MM-DD");
		return NULL;
	}
	return s;
}

const char *field_enum(struct fields *f, const char *name, bool required, const char *const *allowed)
{
	const char *s = field_text(f, name, required, 64);
	char list[256] = "";

	if (!s)
		return NULL;
	for (const char *const *a = allowed; *a; a++) {
		if (strcmp(*a, s) == 0)
			return s;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", a == allowed ? "" : ", ", *a);
	}
	field_error(f, name, "must be one of %s", list);
	return NULL;
}

bool field_bool(struct fields *f, const char *name, bool dflt)
{
	json_t *v = get(f, name, false);

	if (!v)
		return dflt;
	if (!json_is_boolean(v)) {
		field_error(f, name, "must be true or false");
		return dflt;
	}
	return json_is_true(v);
}

int64_t field_int(struct fields *f, const char *name, bool required, int64_t min, int64_t max, int64_t dflt)
{
	json_t *v = get(f, name, required);

	if (!v)
		return dflt;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		field_error(f, name, "must be an integer from %lld to %lld", (long long)min, (long long)max);
		return dflt;
	}
	return json_integer_value(v);
}

const char *query_date(struct fields *f, const char *name)
{
	const char *s = http_query(f->r, name);
	int32_t d;

	if (s && date_parse(s, &d) < 0) {
		field_error(f, name, "must be a date YYYY-MM-DD");
		return NULL;
	}
	return s;
}

const char *query_enum(struct fields *f, const char *name, const char *const *allowed)
{
	const char *s = http_query(f->r, name);
	char list[256] = "";

	if (!s)
		return NULL;
	for (const char *const *a = allowed; *a; a++) {
		if (strcmp(*a, s) == 0)
			return *a;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", a == allowed ? "" : ", ", *a);
	}
	field_error(f, name, "must be one of %s", list);
	return NULL;
}

int64_t query_int(struct fields *f, const char *name, int64_t min, int64_t max, int64_t dflt)
{
	const char *s = http_query(f->r, name);
	int64_t v;

	if (!s)
		return dflt;
	if (util_parse_i64(s, min, max, &v) < 0) {
		field_error(f, name, "must be an integer from %lld to %lld", (long long)min, (long long)max);
		return dflt;
	}
	return v;
}

bool query_end(struct fields *f)
{
	bool ok = fields_end(f);

	if (ok)
		fields_release(f);
	return ok;
}
