#include "cp/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp/live.h"
#include "cp/server.h"
#include "cp/session.h"

#define MAX_ROUTES 64

static const unsigned codes[] = { 200, 201, 204, 304, 400, 401, 403, 404, 405,
	409, 413, 422, 429, 500, 503, 0 };
#define NCODES (sizeof(codes) / sizeof(codes[0]))
static const double bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1.0 };
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

/* Index MAX_ROUTES - 1 collects requests that matched no route. */
static atomic_ullong m_req[MAX_ROUTES][NCODES];
static atomic_ullong m_hist[MAX_ROUTES][NBOUNDS + 1];
static atomic_ullong m_sum_ns[MAX_ROUTES];
static atomic_ullong m_checkins, m_status_writes, m_events_deleted;
static atomic_ullong m_request_timeouts, m_ratelimited;
static atomic_ullong m_probes[METRICS_PROBE__COUNT];
static atomic_llong m_probes_inflight;
static const char *const probe_names[METRICS_PROBE__COUNT] = { "ok", "refused",
	"timeout", "status", "error" };

static size_t
route_index(const void *route)
{
	const struct route *rt = route;

	if (rt == NULL || rt < server_routes ||
	    rt >= server_routes + server_nroutes ||
	    (size_t)(rt - server_routes) >= MAX_ROUTES - 1)
		return MAX_ROUTES - 1;
	return (size_t)(rt - server_routes);
}

void
metrics_request(const void *route, unsigned status, uint64_t ns)
{
	size_t ri = route_index(route), ci, b;
	double s = (double)ns / 1e9;

	for (ci = 0; ci < NCODES - 1 && codes[ci] != status; ci++)
		;
	atomic_fetch_add_explicit(&m_req[ri][ci], 1, memory_order_relaxed);
	for (b = 0; b < NBOUNDS && s > bounds[b]; b++)
		;
	atomic_fetch_add_explicit(&m_hist[ri][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m_sum_ns[ri], ns, memory_order_relaxed);
}

void
metrics_checkin(void)
{
	atomic_fetch_add_explicit(&m_checkins, 1, memory_order_relaxed);
}

void
metrics_status_write(void)
{
	atomic_fetch_add_explicit(&m_status_writes, 1, memory_order_relaxed);
}

void
metrics_request_timeouts(unsigned n)
{
	atomic_fetch_add_explicit(&m_request_timeouts, n, memory_order_relaxed);
}

void
metrics_ratelimited(void)
{
	atomic_fetch_add_explicit(&m_ratelimited, 1, memory_order_relaxed);
}

void
metrics_events_deleted(uint64_t n)
{
	atomic_fetch_add_explicit(&m_events_deleted, n, memory_order_relaxed);
}

void
metrics_probe(enum metrics_probe result)
{
	if (result < METRICS_PROBE__COUNT)
		atomic_fetch_add_explicit(
		    &m_probes[result], 1, memory_order_relaxed);
}

void
metrics_probe_inflight(int delta)
{
	atomic_fetch_add_explicit(
	    &m_probes_inflight, delta, memory_order_relaxed);
}

struct health_count {
	int64_t now, interval;
	unsigned long n[HEALTH__COUNT];
};

static void
count_health(struct live_node *n, void *arg)
{
	struct health_count *hc = arg;

	hc->n[live_health(n, hc->now, hc->interval)]++;
}

char *
metrics_render(int64_t now, int64_t interval_s, size_t *len)
{
	struct health_count hc = { now, interval_s, { 0 } };
	char *buf = NULL;
	size_t ri, ci, b, size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (f == NULL)
		return NULL;
	fprintf(f,
	    "# HELP edgecp_requests_total HTTP requests by route and "
	    "status.\n# TYPE edgecp_requests_total counter\n");
	for (ri = 0; ri < MAX_ROUTES; ri++) {
		const char *name =
		    ri < server_nroutes ? server_routes[ri].name : "unmatched";

		if (ri >= server_nroutes && ri != MAX_ROUTES - 1)
			continue;
		for (ci = 0; ci < NCODES; ci++) {
			unsigned long long v = atomic_load(&m_req[ri][ci]);

			if (v == 0)
				continue;
			if (codes[ci] != 0)
				fprintf(f,
				    "edgecp_requests_total{route=\"%s\","
				    "code=\"%u\"} %llu\n",
				    name, codes[ci], v);
			else
				fprintf(f,
				    "edgecp_requests_total{route=\"%s\","
				    "code=\"other\"} %llu\n",
				    name, v);
		}
	}
	fprintf(f,
	    "# HELP edgecp_request_duration_seconds Time from request "
	    "headers to response sent.\n"
	    "# TYPE edgecp_request_duration_seconds histogram\n");
	for (ri = 0; ri < server_nroutes && ri < MAX_ROUTES - 1; ri++) {
		unsigned long long cum = 0;
		const char *name = server_routes[ri].name;

		for (b = 0; b <= NBOUNDS; b++)
			cum += atomic_load(&m_hist[ri][b]);
		if (cum == 0)
			continue;
		cum = 0;
		for (b = 0; b < NBOUNDS; b++) {
			cum += atomic_load(&m_hist[ri][b]);
			fprintf(f,
			    "edgecp_request_duration_seconds_bucket{"
			    "route=\"%s\",le=\"%g\"} %llu\n",
			    name, bounds[b], cum);
		}
		cum += atomic_load(&m_hist[ri][NBOUNDS]);
		fprintf(f,
		    "edgecp_request_duration_seconds_bucket{route=\"%s\","
		    "le=\"+Inf\"} %llu\n",
		    name, cum);
		fprintf(f,
		    "edgecp_request_duration_seconds_sum{route=\"%s\"} "
		    "%.6f\n",
		    name, (double)atomic_load(&m_sum_ns[ri]) / 1e9);
		fprintf(f,
		    "edgecp_request_duration_seconds_count{route=\"%s\"} "
		    "%llu\n",
		    name, cum);
	}
	fprintf(f,
	    "# HELP edgecp_checkins_total Node check-ins (desired-state "
	    "polls).\n# TYPE edgecp_checkins_total counter\n"
	    "edgecp_checkins_total %llu\n",
	    atomic_load(&m_checkins));
	fprintf(f,
	    "# HELP edgecp_status_writes_total Status reports that "
	    "changed and were written.\n"
	    "# TYPE edgecp_status_writes_total counter\n"
	    "edgecp_status_writes_total %llu\n",
	    atomic_load(&m_status_writes));
	fprintf(f,
	    "# HELP edgecp_request_timeouts_total Requests cut because "
	    "they had not arrived in full within their time bound.\n"
	    "# TYPE edgecp_request_timeouts_total counter\n"
	    "edgecp_request_timeouts_total %llu\n",
	    atomic_load(&m_request_timeouts));
	fprintf(f,
	    "# HELP edgecp_ratelimited_total Requests refused (429) by the "
	    "per-address limit on unauthenticated work.\n"
	    "# TYPE edgecp_ratelimited_total counter\n"
	    "edgecp_ratelimited_total %llu\n",
	    atomic_load(&m_ratelimited));
	fprintf(f,
	    "# HELP edgecp_events_deleted_total Events removed by the event "
	    "retention.\n# TYPE edgecp_events_deleted_total counter\n"
	    "edgecp_events_deleted_total %llu\n",
	    atomic_load(&m_events_deleted));
	fprintf(f,
	    "# HELP edgecp_probes_total edge-cp's own probes of node "
	    "dataplanes, by result.\n# TYPE edgecp_probes_total counter\n");
	for (b = 0; b < METRICS_PROBE__COUNT; b++)
		fprintf(f, "edgecp_probes_total{result=\"%s\"} %llu\n",
		    probe_names[b], atomic_load(&m_probes[b]));
	fprintf(f,
	    "# HELP edgecp_probes_inflight Probes of node dataplanes in "
	    "flight.\n# TYPE edgecp_probes_inflight gauge\n"
	    "edgecp_probes_inflight %lld\n",
	    atomic_load(&m_probes_inflight));
	live_each(count_health, &hc);
	fprintf(f,
	    "# HELP edgecp_nodes Nodes by derived health.\n"
	    "# TYPE edgecp_nodes gauge\n");
	for (b = 0; b < HEALTH__COUNT; b++)
		fprintf(f, "edgecp_nodes{health=\"%s\"} %lu\n",
		    live_health_name((enum live_health)b), hc.n[b]);
	fprintf(f,
	    "# HELP edgecp_two_person 1 when edge-cp runs with --two-person "
	    "(uploads and wide rollouts wait for a second person).\n"
	    "# TYPE edgecp_two_person gauge\nedgecp_two_person %d\n",
	    cp.two_person ? 1 : 0);
	fprintf(f,
	    "# HELP edgecp_sessions Open node sessions.\n"
	    "# TYPE edgecp_sessions gauge\nedgecp_sessions %zu\n",
	    session_count());
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*len = size;
	return buf;
}
