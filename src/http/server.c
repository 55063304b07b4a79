#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "a51/http.h"
#include "a51/log.h"
#include "a51/metrics.h"
#include "a51/server.h"
#include "a51/util.h"
#include "a51/banned.h"

/* Body bytes read and dropped after an answer was decided, before hanging up. */
#define DISCARD_MAX (16u << 20)

struct http_server {
	struct MHD_Daemon *daemon;
	const struct router *router;
	struct app *app;
	http_guard_fn guard;
	uint64_t max_body;
	bool access_log;
	uint16_t port;
	atomic_int inflight;
	atomic_ulong seq;
	char id_prefix[13];
};

/* ---- request ids ---- */

static bool valid_request_id(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];
		if (n >= 64 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				 c == '-' || c == '_' || c == '.' || c == ':'))
			return false;
	}
	return n > 0;
}

static void assign_request_id(struct http_server *s, struct http_request *r)
{
	const char *given = http_header(r, "X-Request-Id");

	if (given && valid_request_id(given)) {
		memcpy(r->request_id, given, strlen(given) + 1);
		return;
	}
	/* A per-process random prefix plus a counter: unique across replicas, no syscall. */
	snprintf(r->request_id, sizeof(r->request_id), "%s-%010lx", s->id_prefix,
		 (unsigned long)atomic_fetch_add_explicit(&s->seq, 1, memory_order_relaxed));
}

/* ---- the first call: everything decided from the request line and headers ---- */

static void read_body_headers(struct http_request *r)
{
	const char *cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = http_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	int64_t v;

	r->content_length = 0;
	if (te && strcasecmp(te, "identity") != 0) {
		r->has_body = true;
		r->content_length = UINT64_MAX;
	} else if (cl && util_parse_i64(cl, 0, INT64_MAX, &v) == 0 && v > 0) {
		r->has_body = true;
		r->content_length = (uint64_t)v;
	}
}

static void first_call(struct http_server *s, struct http_request *r, const char *method)
{
	const struct route_def *def;
	const char *ct;
	char allow[96];

	r->method = http_method_parse(method);
	read_body_headers(r);
	switch (router_match(s->router, r->method, r->url, &r->match)) {
	case ROUTE_NOT_FOUND:
		http_problem(r, 404, "not-found", "no resource at this path");
		return;
	case ROUTE_BAD_METHOD:
		http_allow_string(r->match.allow, allow, sizeof(allow));
		http_set_header(r, MHD_HTTP_HEADER_ALLOW, allow);
		http_problem(r, 405, "method-not-allowed", "%s is not allowed here; allowed: %s", method, allow);
		return;
	case ROUTE_FOUND:
		break;
	}
	def = r->match.route->def;
	if (def->perm != PERM_PUBLIC && s->guard(r) != 0)
		return;
	ct = http_header(r, "Content-Type");
	switch (http_body_precheck(def, r->has_body, r->content_length, ct, s->max_body)) {
	case 413:
		http_problem(r, 413, "payload-too-large", "the body is %llu bytes; the limit is %llu",
			     (unsigned long long)r->content_length, (unsigned long long)s->max_body);
		return;
	case 415:
		http_problem(r, 415, "unsupported-media-type", "Content-Type %.80s is not accepted here; send %s",
			     ct ? ct : "(none)", def->media ? def->media : "application/json");
		return;
	}
	if (def->body == BODY_STREAM && def->stream && def->stream->begin)
		def->stream->begin(r);
}

/* ---- body chunks ---- */

static void body_chunk(struct http_server *s, struct http_request *r, const char *data, size_t n)
{
	const struct route_def *def = r->match.route->def;

	r->body_seen += n;
	if (def->body == BODY_STREAM) {
		if (def->stream && def->stream->chunk)
			def->stream->chunk(r, data, n);
		return;
	}
	/* Chunked bodies carry no length up front: the limit is enforced per chunk. */
	if (r->body_seen > s->max_body) {
		http_problem(r, 413, "payload-too-large", "the body exceeds the limit of %llu bytes",
			     (unsigned long long)s->max_body);
		return;
	}
	if (def->body != BODY_JSON)
		return;
	if (r->body_len + n + 1 > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap * 2 : 4096;
		char *p;
		if (r->content_length != UINT64_MAX && r->content_length + 1 > cap)
			cap = (size_t)r->content_length + 1;
		while (cap < r->body_len + n + 1)
			cap *= 2;
		p = realloc(r->body, cap);
		if (!p) {
			http_problem(r, 500, "internal", "out of memory reading the body");
			return;
		}
		r->body = p;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
}

/* ---- libmicrohttpd callbacks ---- */

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				 const char *version, const char *upload_data, size_t *upload_data_size,
				 void **con_cls)
{
	struct http_server *s = cls;
	struct http_request *r = *con_cls;

	(void)version;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		arena_init(&r->arena);
		r->conn = conn;
		r->server = s;
		r->app = s->app;
		r->url = url;
		r->t_start_ns = util_now_ns();
		atomic_fetch_add(&s->inflight, 1);
		*con_cls = r;
		assign_request_id(s, r);
		first_call(s, r, method);
		r->phase = PHASE_BODY;
		return r->failed ? MHD_NO : MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (!r->responded) {
			body_chunk(s, r, upload_data, n);
		} else {
			/* The answer is decided (say 413) but can only be sent once the
			 * body is over: drop what comes, up to a bound, then hang up. */
			r->discarded += n;
			if (r->discarded > DISCARD_MAX)
				return MHD_NO;
		}
		return r->failed ? MHD_NO : MHD_YES;
	}
	r->phase = PHASE_DONE;
	if (r->deferred) {
		MHD_queue_response(conn, (unsigned)r->status, r->deferred);
		MHD_destroy_response(r->deferred);
		r->deferred = NULL;
		return MHD_YES;
	}
	if (!r->responded) {
		r->match.route->def->handler(r);
		if (!r->responded)
			http_problem(r, 500, "internal", "the handler produced no answer");
	}
	return r->failed ? MHD_NO : MHD_YES;
}

static void access_log_line(struct http_request *r, enum MHD_RequestTerminationCode toe)
{
	char ts[40], line[640], extra[64] = "";
	const struct route *rt = r->match.route;
	uint64_t dur = util_now_ns() - r->t_start_ns;
	int n;

	log_timestamp(ts, sizeof(ts));
	if (r->caller.kind != CALLER_NONE)
		snprintf(extra, sizeof(extra), ",\"token_id\":%lld", (long long)r->caller.token_id);
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",\"terminated\":%d", (int)toe);
	/* The route template is logged, never the raw path: a path may carry an
	 * identifier a client should not have put there (a NIR, say). Templates
	 * and request ids hold no character that needs JSON escaping. */
	n = snprintf(line, sizeof(line),
		     "{\"ts\":\"%s\",\"level\":\"info\",\"event\":\"access\",\"method\":\"%s\",\"route\":%s%s%s,"
		     "\"status\":%d,\"duration_ms\":%.3f,\"bytes\":%llu,\"request_id\":\"%s\"%s}\n",
		     ts, http_method_name(r->method), rt ? "\"" : "", rt ? rt->def->path : "null", rt ? "\"" : "",
		     r->status, (double)dur / 1e6, (unsigned long long)r->bytes_out, r->request_id, extra);
	if (n > 0 && (size_t)n < sizeof(line))
		log_write_line(line, (size_t)n);
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decoding of paths and query values, in place, as libmicrohttpd's
 * own except that "%00" is left as it is: a decoded NUL would end the string
 * early and "/ui/app.js%00.css" would be served as "/ui/app.js". */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *w = s;

	(void)cls;
	(void)c;
	for (const char *r = s; *r; r++) {
		int hi, lo;
		if (*r == '%' && (hi = hex_digit(r[1])) >= 0 && (lo = hex_digit(r[2])) >= 0 && (hi | lo) != 0) {
			*w++ = (char)(hi * 16 + lo);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct http_request *r = *con_cls;
	const struct route *rt;

	(void)conn;
	if (!r)
		return;
	rt = r->match.route;
	if (rt && rt->def->body == BODY_STREAM && rt->def->stream && rt->def->stream->abort && r->stream_state)
		rt->def->stream->abort(r);
	metrics_observe(rt ? rt->index : -1, r->method, r->status, util_now_ns() - r->t_start_ns);
	if (s->access_log)
		access_log_line(r, toe);
	if (r->deferred)
		MHD_destroy_response(r->deferred);
	free(r->body);
	arena_release(&r->arena);
	free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&s->inflight, 1);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	log_warn("libmicrohttpd", "%s", msg);
}

/* ---- lifecycle ---- */

struct http_server *http_server_start(const struct http_server_config *cfg, const struct router *router,
				      struct app *app, http_guard_fn guard, struct a51_error *err)
{
	struct http_server *s = calloc(1, sizeof(*s));
	struct addrinfo hints = { 0 }, *ai = NULL;
	char portstr[8];
	unsigned char rnd[6];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls_opts[4] = { { MHD_OPTION_END, 0, NULL }, { MHD_OPTION_END, 0, NULL },
					      { MHD_OPTION_END, 0, NULL }, { MHD_OPTION_END, 0, NULL } };
	int rc;

	if (!s) {
		a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	s->router = router;
	s->app = app;
	s->guard = guard;
	s->max_body = cfg->max_body;
	s->access_log = cfg->access_log;
	util_random_bytes(rnd, sizeof(rnd));
	util_hex(rnd, sizeof(rnd), s->id_prefix);

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", cfg->port);
	rc = getaddrinfo(cfg->host, portstr, &hints, &ai);
	if (rc != 0) {
		a51_error_set(err, A51_EINVAL, "A51_LISTEN", "cannot resolve listen host %s: %s", cfg->host,
			      gai_strerror(rc));
		free(s);
		return NULL;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (cfg->tls) {
		/* libmicrohttpd hands the PEM to GnuTLS when the daemon starts;
		 * SSL 3, TLS 1.0 and 1.1 are refused. */
		flags |= MHD_USE_TLS;
		tls_opts[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, cfg->tls->key_pem };
		tls_opts[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, cfg->tls->cert_pem };
		tls_opts[2] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
						       (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" };
	}
	s->daemon = MHD_start_daemon(flags, cfg->port, NULL, NULL, on_access, s,
				     MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, /* must come first */
				     MHD_OPTION_ARRAY, tls_opts,
				     MHD_OPTION_SOCK_ADDR, ai->ai_addr,
				     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->conn_timeout_s,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->conn_limit,
				     /* slow clients from one address cannot take every connection */
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->conn_per_ip,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->conn_memory,
				     MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				     MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
				     MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!s->daemon) {
		a51_error_set(err, A51_EIO, "A51_LISTEN", "cannot listen on %s:%u (address in use or not permitted?)",
			      cfg->host, cfg->port);
		free(s);
		return NULL;
	}
	{
		const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
		s->port = info ? info->port : cfg->port;
	}
	return s;
}

uint16_t http_server_port(const struct http_server *s)
{
	return s->port;
}

void http_server_quiesce(struct http_server *s)
{
	MHD_socket fd = MHD_quiesce_daemon(s->daemon);

	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

int http_server_inflight(const struct http_server *s)
{
	return atomic_load(&s->inflight);
}

int http_server_drain(struct http_server *s, int deadline_ms)
{
	uint64_t until = util_now_ns() + (uint64_t)deadline_ms * 1000000u;

	while (atomic_load(&s->inflight) > 0 && util_now_ns() < until)
		usleep(10000);
	return atomic_load(&s->inflight);
}

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->daemon);
	free(s);
}
