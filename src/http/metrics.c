#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "a51/metrics.h"
#include "a51/util.h"
#include "a51/banned.h"

/* Latency buckets in microseconds (Prometheus `le` in seconds). */
static const uint64_t bucket_us[] = { 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
				      1000000, 2500000, 5000000, 10000000 };
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))
#define NCLASSES 5 /* 1xx..5xx */

/* Padded to whole cache lines: threads updating neighbouring routes must not
 * share a line. */
struct series {
	_Alignas(64) atomic_ulong count;
	atomic_ulong sum_us;
	atomic_ulong buckets[NBUCKETS];
};

/* Each thread updates its own shard, so two cores serving the same route do
 * not fight over one cache line; /metrics sums the shards. */
#define NSHARDS 8

static struct {
	const struct router *router;
	size_t nroutes;
	struct series *series;   /* [(nroutes + 1) * NCLASSES][NSHARDS]; the last route slot is "unmatched" */
	atomic_ulong problems[600];
	atomic_uint next_shard;
} M;

static size_t my_shard(void)
{
	static _Thread_local int shard = -1;

	if (shard < 0)
		shard = (int)(atomic_fetch_add(&M.next_shard, 1) % NSHARDS);
	return (size_t)shard;
}

/* Sum over shards of one (slot, class) series. */
struct totals {
	uint64_t count, sum_us, buckets[NBUCKETS];
};

static void total(size_t slot, int cls, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t k = 0; k < NSHARDS; k++) {
		struct series *s = &M.series[(slot * NCLASSES + (size_t)cls) * NSHARDS + k];
		t->count += atomic_load_explicit(&s->count, memory_order_relaxed);
		t->sum_us += atomic_load_explicit(&s->sum_us, memory_order_relaxed);
		for (size_t b = 0; b < NBUCKETS; b++)
			t->buckets[b] += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
	}
}

int metrics_init(const struct router *router)
{
	size_t n = router_count(router) + 1;

	M.series = aligned_alloc(64, n * NCLASSES * NSHARDS * sizeof(struct series));
	if (!M.series)
		return -1;
	memset(M.series, 0, n * NCLASSES * NSHARDS * sizeof(struct series));
	M.router = router;
	M.nroutes = n - 1;
	for (size_t i = 0; i < 600; i++)
		atomic_init(&M.problems[i], 0);
	return 0;
}

void metrics_free(void)
{
	free(M.series);
	M.series = NULL;
}

static int class_of(int status)
{
	/* 0 means the client went away before an answer: counted with 4xx (client side). */
	if (status < 100 || status > 599)
		return 3;
	return status / 100 - 1;
}

void metrics_observe(int route_index, int method, int status, uint64_t duration_ns)
{
	size_t slot = route_index < 0 ? M.nroutes : (size_t)route_index;
	struct series *s;
	uint64_t us = duration_ns / 1000;

	(void)method; /* the route already fixes the method */
	if (!M.series)
		return;
	s = &M.series[(slot * NCLASSES + (size_t)class_of(status)) * NSHARDS + my_shard()];
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_us, us, memory_order_relaxed);
	for (size_t b = 0; b < NBUCKETS; b++) {
		if (us <= bucket_us[b]) {
			atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
			break;
		}
	}
}

void metrics_problem(int status)
{
	if (status >= 0 && status < 600)
		atomic_fetch_add_explicit(&M.problems[status], 1, memory_order_relaxed);
}

static void labels(struct buf *out, size_t slot, int cls)
{
	if (slot == M.nroutes) {
		buf_printf(out, "{method=\"\",route=\"unmatched\",status=\"%dxx\"", cls + 1);
		return;
	}
	const struct route *rt = router_at(M.router, slot);
	buf_printf(out, "{method=\"%s\",route=\"%s\",status=\"%dxx\"", http_method_name(rt->def->method),
		   rt->def->path, cls + 1);
}

void metrics_render_http(struct buf *out)
{
	if (!M.series)
		return;
	buf_puts(out, "# HELP a51_http_requests_total HTTP requests answered, by route and status class.\n"
		      "# TYPE a51_http_requests_total counter\n");
	for (size_t slot = 0; slot <= M.nroutes; slot++) {
		for (int cls = 0; cls < NCLASSES; cls++) {
			struct totals t;
			total(slot, cls, &t);
			if (!t.count)
				continue;
			buf_puts(out, "a51_http_requests_total");
			labels(out, slot, cls);
			buf_printf(out, "} %llu\n", (unsigned long long)t.count);
		}
	}
	buf_puts(out, "# HELP a51_http_request_duration_seconds Time from request start to completion.\n"
		      "# TYPE a51_http_request_duration_seconds histogram\n");
	for (size_t slot = 0; slot <= M.nroutes; slot++) {
		for (int cls = 0; cls < NCLASSES; cls++) {
			struct totals t;
			uint64_t c, cum = 0;
			total(slot, cls, &t);
			c = t.count;
			if (!c)
				continue;
			for (size_t b = 0; b < NBUCKETS; b++) {
				cum += t.buckets[b];
				buf_puts(out, "a51_http_request_duration_seconds_bucket");
				labels(out, slot, cls);
				buf_printf(out, ",le=\"%g\"} %llu\n", (double)bucket_us[b] / 1e6, (unsigned long long)cum);
			}
			buf_puts(out, "a51_http_request_duration_seconds_bucket");
			labels(out, slot, cls);
			buf_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)c);
			buf_puts(out, "a51_http_request_duration_seconds_sum");
			labels(out, slot, cls);
			buf_printf(out, "} %.6f\n", (double)t.sum_us / 1e6);
			buf_puts(out, "a51_http_request_duration_seconds_count");
			labels(out, slot, cls);
			buf_printf(out, "} %llu\n", (unsigned long long)c);
		}
	}
	buf_puts(out, "# HELP a51_http_problems_total Error answers (problem+json) by status.\n"
		      "# TYPE a51_http_problems_total counter\n");
	for (int st = 0; st < 600; st++) {
		uint64_t c = atomic_load_explicit(&M.problems[st], memory_order_relaxed);
		if (c)
			buf_printf(out, "a51_http_problems_total{status=\"%d\"} %llu\n", st, (unsigned long long)c);
	}
}

void metrics_gauge(struct buf *out, const char *name, const char *help, double value)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, value);
}

void metrics_counter(struct buf *out, const char *name, const char *help, uint64_t value)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
		   (unsigned long long)value);
}
