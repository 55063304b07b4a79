/* Process-wide counters for /metrics, in Prometheus text format. Updated with
 * relaxed atomics on the request path. */
#ifndef A51_METRICS_H
#define A51_METRICS_H

#include <stdint.h>

#include "a51/buf.h"
#include "a51/router.h"

int metrics_init(const struct router *router);
void metrics_free(void);
/* route_index -1 for requests that matched no route. */
void metrics_observe(int route_index, int method, int status, uint64_t duration_ns);
void metrics_problem(int status);
/* Appends the HTTP series. */
void metrics_render_http(struct buf *out);
/* Helpers for other modules' series. */
void metrics_gauge(struct buf *out, const char *name, const char *help, double value);
void metrics_counter(struct buf *out, const char *name, const char *help, uint64_t value);

#endif
