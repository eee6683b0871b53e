/*
 * metrics: Prometheus counters for edge-cp, lock-free on the request path
 * (relaxed atomics in fixed arrays sized by the route table).
 *
 *	edgecp_requests_total{route,code}
 *	edgecp_request_duration_seconds{route} (histogram)
 *	edgecp_checkins_total, edgecp_status_writes_total
 *	edgecp_request_timeouts_total, edgecp_ratelimited_total
 *	edgecp_nodes{health}, edgecp_sessions
 *	edgecp_events_deleted_total (event retention, cp/retention.h)
 *	edgecp_probes_total{result}, edgecp_probes_inflight (cp/probe.h)
 *
 * metrics_render() returns a malloc'd text the caller frees.
 */
#ifndef EF_METRICS_H
#define EF_METRICS_H

#include <stddef.h>
#include <stdint.h>

void metrics_request(const void *route, unsigned status, uint64_t ns);
void metrics_checkin(void);
void metrics_status_write(void);
/* Requests cut at their time bound (cp/deadline.h). */
void metrics_request_timeouts(unsigned n);
/* Requests refused by the per-address limit (cp/ratelimit.h). */
void metrics_ratelimited(void);
void metrics_events_deleted(uint64_t n);

/* edge-cp's probes of node dataplanes (cp/probe.h), by outcome. */
enum metrics_probe {
	METRICS_PROBE_OK,
	METRICS_PROBE_REFUSED,
	METRICS_PROBE_TIMEOUT,
	METRICS_PROBE_STATUS, /* an answer other than 200 */
	METRICS_PROBE_ERROR,  /* anything else */
	METRICS_PROBE__COUNT
};
void metrics_probe(enum metrics_probe result);
/* A probe started (+1) or ended (-1). */
void metrics_probe_inflight(int delta);
char *metrics_render(int64_t now, int64_t interval_s, size_t *len);

#endif
