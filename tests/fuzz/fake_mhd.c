#include <jansson.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "a51/http.h"
#include "fake_mhd.h"
#include "a51/banned.h"

#define MAX_HEADERS 32

struct MHD_Response {
	char *data;
	size_t size;
	bool owned;
	MHD_ContentReaderFreeCallback free_cb;
	struct { char *name, *value; } h[MAX_HEADERS];
	size_t nh;
};

void fake_conn_init(struct fake_conn *c)
{
	memset(c, 0, sizeof(*c));
}

void fake_conn_release(struct fake_conn *c)
{
	free(c->body);
	c->body = NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) into out; false when the result would hold a NUL. */
static bool unescape(const char *s, size_t n, char *out)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '+') {
			ch = ' ';
		} else if (ch == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			ch = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		}
		if (ch == '\0')
			return false;
		out[j++] = ch;
	}
	out[j] = '\0';
	return true;
}

void fake_conn_parse_query(struct fake_conn *c, const char *q, char *buf, size_t cap)
{
	size_t used = 0;

	while (*q && c->nargs < FAKE_MAX_KV) {
		const char *amp = strchr(q, '&'), *eq;
		size_t n = amp ? (size_t)(amp - q) : strlen(q), kn, vn;
		char *k, *v;

		eq = memchr(q, '=', n);
		kn = eq ? (size_t)(eq - q) : n;
		vn = eq ? n - kn - 1 : 0;
		if (used + kn + vn + 2 > cap)
			break;
		k = buf + used;
		v = k + kn + 1;
		if (kn && unescape(q, kn, k) && unescape(eq ? eq + 1 : "", vn, v)) {
			c->args[c->nargs].key = k;
			c->args[c->nargs].value = v;
			c->nargs++;
			used += kn + vn + 2;
		}
		q += n + (amp ? 1 : 0);
	}
}

void fake_request_init(struct http_request *r, struct fake_conn *c, const char *url)
{
	fake_conn_init(c);
	memset(r, 0, sizeof(*r));
	arena_init(&r->arena);
	r->conn = (struct MHD_Connection *)(void *)c;
	r->url = url;
	r->phase = PHASE_DONE;
	memcpy(r->request_id, "fuzz", 5);
}

void fake_request_release(struct http_request *r, struct fake_conn *c)
{
	free(r->body);
	r->body = NULL;
	arena_release(&r->arena);
	fake_conn_release(c);
}

void fake_check_answer(const struct fake_conn *c)
{
	if (c->queued != 1 || c->status < 200 || c->status > 599 || (c->status == 304 && c->body_len))
		abort();
	if (strstr(c->ctype, "json")) {
		json_error_t e;
		json_t *j = json_loadb(c->body, c->body_len, 0, &e);

		if (!j)
			abort();
		if (strncmp(c->ctype, "application/problem+json", 24) == 0 &&
		    json_integer_value(json_object_get(j, "status")) != (json_int_t)c->status)
			abort();
		json_decref(j);
	}
}

/* ---- the libmicrohttpd calls ---- */

const char *MHD_lookup_connection_value(struct MHD_Connection *connection, enum MHD_ValueKind kind, const char *key)
{
	const struct fake_conn *c = (const struct fake_conn *)(void *)connection;

	if (kind == MHD_GET_ARGUMENT_KIND) {
		for (size_t i = 0; i < c->nargs; i++)
			if (strcmp(c->args[i].key, key) == 0)
				return c->args[i].value;
	} else if (kind == MHD_HEADER_KIND) {
		for (size_t i = 0; i < c->nheaders; i++)
			if (strcasecmp(c->headers[i].key, key) == 0)
				return c->headers[i].value;
	}
	return NULL;
}

static struct MHD_Response *response(size_t size, void *buffer, bool owned, bool copy,
				     MHD_ContentReaderFreeCallback crfc)
{
	struct MHD_Response *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->size = size;
	if (copy) {
		r->data = malloc(size ? size : 1);
		if (!r->data) {
			free(r);
			return NULL;
		}
		if (size)
			memcpy(r->data, buffer, size);
		r->owned = true;
		r->free_cb = free;
	} else {
		r->data = buffer;
		r->owned = owned;
		r->free_cb = crfc;
	}
	return r;
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer, enum MHD_ResponseMemoryMode mode)
{
	if (mode == MHD_RESPMEM_MUST_FREE)
		return response(size, buffer, true, false, free);
	return response(size, buffer, false, mode == MHD_RESPMEM_MUST_COPY, NULL);
}

struct MHD_Response *MHD_create_response_from_buffer_with_free_callback(size_t size, void *buffer,
									 MHD_ContentReaderFreeCallback crfc)
{
	return response(size, buffer, crfc != NULL, false, crfc);
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *response, const char *header, const char *content)
{
	/* libmicrohttpd refuses a header holding CR or LF; a51 never means to send
	 * one, so one reaching here is input that went into a header unchecked. */
	if (strpbrk(header, "\r\n") || strpbrk(content, "\r\n"))
		abort();
	if (response->nh == MAX_HEADERS)
		return MHD_NO;
	response->h[response->nh].name = strdup(header);
	response->h[response->nh].value = strdup(content);
	response->nh++;
	return MHD_YES;
}

void MHD_destroy_response(struct MHD_Response *response)
{
	if (!response)
		return;
	if (response->owned && response->free_cb)
		response->free_cb(response->data);
	for (size_t i = 0; i < response->nh; i++) {
		free(response->h[i].name);
		free(response->h[i].value);
	}
	free(response);
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *connection, unsigned int status_code,
				   struct MHD_Response *response)
{
	struct fake_conn *c = (struct fake_conn *)(void *)connection;

	c->queued++;
	if (c->queued > 1)
		return MHD_NO;
	c->status = status_code;
	c->body = malloc(response->size + 1);
	if (!c->body)
		abort();
	if (response->size)
		memcpy(c->body, response->data, response->size);
	c->body[response->size] = '\0';
	c->body_len = response->size;
	for (size_t i = 0; i < response->nh; i++)
		if (strcasecmp(response->h[i].name, MHD_HTTP_HEADER_CONTENT_TYPE) == 0) {
			size_t n = strlen(response->h[i].value);
			if (n >= sizeof(c->ctype))
				n = sizeof(c->ctype) - 1;
			memcpy(c->ctype, response->h[i].value, n);
			c->ctype[n] = '\0';
		}
	return MHD_YES;
}
