/*
 * sse: the live event feed, GET /v1/events/stream (Server-Sent Events),
 * and the event filters GET /v1/events shares with it.
 *
 * A stream is a response whose body a content reader writes.  Its life:
 *
 *	open ── retry line, a ": gap: ..." comment when Last-Event-ID /
 *	    │   ?after=ID is older than the oldest event retention kept,
 *	    │   then the backlog (?backlog=N newest events, or every event
 *	    │   after that id) ──▶ sending
 *	sending ── a frame per matching event after its cursor, in id order,
 *	    │      SSE_BATCH at a time ──▶ nothing left
 *	nothing left ── keepalive due? a ": keepalive" comment ──▶ sending
 *	    └─ else park: the connection is suspended (MHD_suspend_connection)
 *	       on the hub's list
 *	parked ── an event committed (store_on_event), or its keepalive is
 *	    │     due (the hub's 1 s timer) ──▶ resumed ──▶ sending
 *	any ── edge-cp stopping ──▶ end of stream
 *	resumed ── its token revoked or expired (checked in the store at
 *	    every wake-up) ── ": end: ..." comment ──▶ end of stream
 *
 * The check "is there anything after my cursor" and the park happen
 * under the hub's mutex, and the wake-up takes the same mutex after the
 * store published the new event id, so no event is missed between them.
 *
 * The cursor moves past events the filter skips too, so a reconnect with
 * the last id seen gets exactly the events it missed.  Frames:
 *
 *	id: 42
 *	event: rollout.move
 *	data: {"id":42,"ts":...,"actor":...,"action":...,"object":...,"detail":{...}}
 *
 * Limits: --event-streams streams at once (default SSE_MAX_STREAMS), and
 * a quarter of them (at least one) per token, so one viewer cannot take
 * them all (503 with Retry-After beyond either); a keepalive at least
 * every SSE_KEEPALIVE_S (and within half the server's idle timeout); a
 * backlog of at most 1000 events.
 */
#ifndef EF_SSE_H
#define EF_SSE_H

#include <stdbool.h>
#include <stdint.h>

#include "cp/server.h"
#include "cp/store.h"

#define SSE_MAX_STREAMS 256
#define SSE_KEEPALIVE_S 15
#define SSE_BATCH 200
#define SSE_RETRY_MS 2000

/*
 * Start the hub (idle_timeout_s: the server's connection timeout;
 * max_streams: streams at once, 1-4096).
 */
int sse_start(unsigned idle_timeout_s, unsigned max_streams);
/* End every stream and stop the hub; before server_stop(). */
void sse_stop(void);
/* Streams open now. */
unsigned sse_streams(void);

/*
 * The node, pop and kind query parameters into f (pointing into the
 * request).  0, or -1 after a 400 reply.
 */
int sse_filter_parse(struct req *r, struct event_filter *f);

int api_events_stream(struct req *r);

#endif
