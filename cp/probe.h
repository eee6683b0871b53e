/*
 * probe: edge-cp's own look at a node's dataplane, evidence that does not
 * come from the node (threat T15).  A node's reports are its word about
 * itself; a compromised or confused node can say its dataplane is healthy
 * while nothing answers.  The rollout engine asks for probes of the nodes
 * it is judging (probe_want, from its tick); one thread of edge-cp makes
 * them and writes each result into the node's live entry
 * (live_node.probe.res), where the engine's gate (cp/rollout.h), GET
 * /v1/nodes/{id} and /metrics read it.
 *
 * Where: http://ADDR:PORT/PATH, ADDR the source address of the node's
 * newest signed handshake or status report (live_node.addr; a NAT in
 * between means the NAT's address, see docs/operator-guide.md), PORT and
 * PATH from the rollout.  Nothing in a report can change it.  A node
 * without an address yet (none of those requests since edge-cp started)
 * is not probed: no result, so its wave waits.
 *
 * Life of a node's probe (fields under the node's mu):
 *
 *	idle ──want_until >= now, due, a scan──▶ busy (queued)
 *	busy ──a slot frees──▶ in flight ──done or timed out──▶ idle
 *	                       (result written, next_at = start + interval)
 *
 * While no node is wanted (no rollout probes) the thread does not even
 * scan the live table: it wakes every PROBE_SCAN_MS and sleeps again.
 *
 * Due: once an interval (next_at), and at once when the node's report
 * changed since the newest probe began (at most once a second), since
 * the gate needs a probe begun after the report.
 *
 * Bounds: at most PROBE_INFLIGHT_MAX probes in flight, whatever the
 * fleet's size; a scan of the live table queues at most PROBE_QUEUE_MAX
 * due nodes and the next scan runs once those have started, at most every
 * PROBE_SCAN_MS; each probe is over after the rollout's timeout_s (1 to
 * 60 s), connection included, and reads at most PROBE_BODY_MAX bytes of
 * answer.  So a probe never holds a request thread (there are none here)
 * nor the ticker, and thousands of nodes in a wave make at most
 * PROBE_INFLIGHT_MAX connections at once: a wave of N nodes is probed
 * once in about N / PROBE_INFLIGHT_MAX times a probe's duration.  Each
 * probe is a new connection (no reuse): the dataplane must be accepting.
 *
 * A success is a 200 answer.  Failures are named: "connection refused",
 * "connect timeout", "timeout", "status 503", "unreachable", or libcurl's
 * words for the rest; edgecp_probes_total{result} counts each kind.
 */
#ifndef EF_PROBE_H
#define EF_PROBE_H

#include <stdint.h>

#include "cp/live.h"

#define PROBE_INFLIGHT_MAX 64
#define PROBE_QUEUE_MAX 4096
#define PROBE_SCAN_MS 250
#define PROBE_BODY_MAX 4096

/*
 * Start the probe thread (after live_init; it reads cp.interval_s).  0,
 * or -1 when it cannot start.
 */
int probe_start(void);
/* Stop it: probes in flight are abandoned, their nodes left idle. */
void probe_stop(void);

/*
 * Probe node n at port and path, each timeout_s at most, until `until`
 * (the rollout engine calls this every tick for the nodes it judges, with
 * until a few intervals ahead, so a rollout that stops asking stops the
 * probes).  Any thread; takes n's mu.
 */
void probe_want(struct live_node *n, unsigned port, const char *path,
    unsigned timeout_s, int64_t until);

/* The probe as GET /v1/nodes/{id} shows it; NULL when none was made. */
json_t *probe_view(struct live_node *n);

#endif
