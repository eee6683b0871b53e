/*
 * live: edge-cp's in-memory view of every node, so that the check-in path
 * (GET /v1/node/desired answered 304, POST /v1/node/status unchanged)
 * touches no disk and no SQL.
 *
 * What lives here and nowhere else: last_seen (flushed to the store in
 * batches, see live_collect_seen), the desired-state ETag cache, and the
 * health inputs parsed from the newest status report.  What is also in the
 * store: identity, POP, public key, drain flag, status hash.
 *
 * Node health, derived on demand (SPEC §4.5):
 *
 *	drain set  ── report says withdrawn ──▶ drained
 *	    │                                 └▶ draining
 *	no check-in for 3 intervals ─────────▶ unreachable
 *	  (counted from edge-cp's start at the earliest)
 *	never checked in, LIVE_ENROLL_GRACE intervals
 *	  from enrollment (or edge-cp's start) ▶ unreachable
 *	never reported ──────────────────────▶ enrolled
 *	a step in error or dataplane down ───▶ degraded
 *	otherwise ───────────────────────────▶ healthy
 *
 * node.health events are recorded where a transition happens, not
 * sampled: every function that changes a health input (a status report
 * applied, drain set or cleared, a check-in that ends a silence) derives
 * the node's health again under its mutex and, when it differs from the
 * one the event log last heard of (ev_health), queues a transition.  Only
 * the silence that makes a node unreachable needs the clock:
 * live_sweep() looks for it (and for anything the queue had to coalesce,
 * below).  Rules kept from the sweep that came before: a node's first
 * health (at enrollment, or at edge-cp's start) is recorded without an
 * event, and so are moves into and out of "enrolled" (a node's first
 * report is its node.activate), but for enrolled ─▶ unreachable: a node
 * that never came up is news.
 *
 * The queue is in memory, in transition order, bounded by
 * LIVE_TRANSITIONS_MAX; the ticker writes it to the store in one
 * transaction a second (live_transitions_peek, then _drop once the
 * commit held).  When it is full a transition is not queued and the
 * node's ev_health stays at the last queued value, so the node's next
 * queued transition (or the sweep's, once there is room) goes from there:
 * intermediate transitions coalesce into one, and every node's chain of
 * events stays consistent (each "from" is the previous "to").  Each
 * coalesced transition is counted (live_transitions_coalesced).
 *
 * Desired-state cache: a global epoch (bumped by anything that may change
 * every node's document: profile, POP, rollout) and a per-node epoch
 * (drain).  A cached ETag is valid while both match.
 *
 * Lifetime: live_get() returns a referenced node; live_put() drops it.
 * live_remove() unlinks a node and marks it revoked at once, so sessions
 * that still hold it fail their next request.  Thread-safe throughout.
 */
#ifndef EF_LIVE_H
#define EF_LIVE_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define LIVE_VERSION_MAX 64
#define LIVE_SESSIONS 4
#define LIVE_KX_SEEN 16
#define LIVE_ADDR_MAX 46 /* INET6_ADDRSTRLEN */
#define LIVE_PROBE_PATH_MAX 128
#define LIVE_PROBE_URL_MAX 200
/*
 * A node that has never checked in is "enrolled" for this many check-in
 * intervals from its enrollment (or from edge-cp's start, for one loaded
 * from the store), then "unreachable": an enrollment killed after edge-cp
 * registered the node but before its keeper.conf was written leaves a
 * node that never will, and rollouts must plan around it rather than
 * wait on it as one about to report.  Long enough (5 minutes at the
 * default 5 s) for an operator who enrolls first and starts the keeper
 * by hand.
 */
#define LIVE_ENROLL_GRACE 60

enum live_health {
	HEALTH_ENROLLED,
	HEALTH_HEALTHY,
	HEALTH_DEGRADED,
	HEALTH_UNREACHABLE,
	HEALTH_DRAINING,
	HEALTH_DRAINED,
	HEALTH__COUNT
};

/*
 * What edge-cp's own probe of a node's dataplane found (cp/probe.h): the
 * newest probe, and the run of probes with the same outcome it ends.
 */
struct live_probe_result {
	int64_t started, at; /* the newest probe's start and end; at 0: none */
	bool ok;
	long status;       /* its HTTP status, 0 when none came */
	char error[64];    /* "" or "connection refused", "timeout", ... */
	int64_t run_since; /* start of the run's first probe */
	unsigned run;      /* probes in the run: all ok, or all failed */
	char url[LIVE_PROBE_URL_MAX];
};

/*
 * A node's probe: what the rollout engine asks for (probe_want in
 * cp/probe.h) and what the probe thread found.  Guarded by the node's mu.
 */
struct live_probe {
	int64_t want_until; /* probe while now <= this */
	unsigned port, timeout_s;
	char path[LIVE_PROBE_PATH_MAX];
	unsigned gen;    /* counts changes of target: older results are void */
	bool busy;       /* queued or in flight in the probe thread */
	int64_t next_at; /* the next probe not before */
	struct live_probe_result res;
};

struct live_node {
	char id[40];
	char pop[40];
	unsigned char public_key[32];
	atomic_int refs;
	atomic_bool revoked;
	atomic_llong last_seen;
	atomic_llong seen_flushed;
	int64_t added; /* when live_add() made it: LIVE_ENROLL_GRACE */
	atomic_uint local_epoch;
	atomic_ullong checkins; /* desired-state fetches: the heartbeats */

	pthread_mutex_t mu; /* guards everything below */
	bool drain;
	bool has_report;
	bool step_error;
	bool steps_pending; /* a step not in_sync (needs_change, skipped) */
	bool dp_healthy;
	int64_t dp_down_since; /* when reports began to say unhealthy; 0 */
	/* checkins when the report last changed: fresh = checkins - this */
	unsigned long long report_checkins;
	/* The report's "generation": the ETag of the desired state it is of */
	char report_gen[48];
	int64_t report_at; /* when the report last changed */
	bool withdrawn;    /* report: anycast addresses are off */
	/*
	 * The source address of the node's newest signed handshake or status
	 * report ("" none since edge-cp started): where edge-cp probes it, an
	 * address the node's reports cannot name.
	 */
	char addr[LIVE_ADDR_MAX];
	struct live_probe probe;
	unsigned char status_hash[32];
	char v_profile[LIVE_VERSION_MAX];
	char v_dataplane[LIVE_VERSION_MAX];
	char v_keeper[LIVE_VERSION_MAX];
	unsigned etag_global, etag_local;
	char etag[48]; /* empty: no cached ETag */
	/* Ids of this node's open sessions (owned by the session module). */
	char sessions[LIVE_SESSIONS][33];
	uint64_t session_order[LIVE_SESSIONS]; /* bigger: opened later */
	uint64_t session_seq;
	/*
	 * The handshake key-exchange keys seen lately (first 8 bytes), so a
	 * captured handshake replayed within the clock-skew window is refused
	 * instead of evicting a real session.
	 */
	unsigned char kx_seen[LIVE_KX_SEEN][8];
	unsigned kx_next;
	/*
	 * The health the event log last heard of (-1: none yet).  Written
	 * under mu; read without it on the check-in path (live_seen).
	 */
	atomic_int ev_health;
	struct live_node *next; /* hash chain */
};

/*
 * A health transition waiting for the event log: node id and POP, when,
 * from what to what.
 */
struct live_transition {
	char id[40];
	char pop[40];
	int64_t at;
	enum live_health from, to;
};

#define LIVE_TRANSITIONS_MAX 8192

/* interval_s: the node check-in interval health is judged by. */
int live_init(int64_t interval_s);
void live_shutdown(void);

/* Adds a node (at load and at enrollment).  -1 on allocation failure. */
int live_add(const char *id, const char *pop,
    const unsigned char public_key[32], bool drain, int64_t last_seen);
struct live_node *live_get(const char *id);
void live_put(struct live_node *n);
void live_remove(const char *id);

/*
 * Update the health inputs from a validated status report made at now,
 * and queue the health transition it makes, if any.
 */
void live_apply_status(struct live_node *n, const json_t *status,
    const unsigned char hash[32], int64_t now);
/*
 * Note the source address of an authenticated request of the node (an
 * IPv4-mapped IPv6 address as IPv4); other families are ignored.  When
 * it replaces another, that one is copied to was (LIVE_ADDR_MAX) and 1
 * is returned; 0 otherwise.
 */
int live_set_addr(struct live_node *n, const struct sockaddr *sa, char *was);
/* Set or clear the drain flag; queues the transition, if any. */
void live_set_drain(struct live_node *n, bool drain);
/*
 * The node was heard from at now (a check-in): sets last_seen and, when
 * the event log last heard of the node as unreachable, queues the
 * transition back.  One atomic load otherwise: the check-in path.
 */
void live_seen(struct live_node *n, int64_t now);
/*
 * Queue the transitions no request makes: nodes gone silent (unreachable),
 * and nodes whose last transition could not be queued.  The ticker's,
 * once a second.
 */
void live_sweep(int64_t now);
/*
 * Copy up to max queued transitions, oldest first, into out without
 * taking them off the queue; returns how many.  live_transitions_drop(n)
 * then takes the n oldest off, once they are written.  One consumer (the
 * ticker) at a time; producers may run meanwhile.
 */
size_t live_transitions_peek(struct live_transition *out, size_t max);
void live_transitions_drop(size_t n);
/* Transitions not queued because the queue was full, since start. */
uint64_t live_transitions_coalesced(void);
/*
 * Record a handshake's key-exchange public key; -1 when it was seen among
 * the node's last LIVE_KX_SEEN handshakes (a replay).
 */
int live_kx_fresh(struct live_node *n, const unsigned char kx_pk[32]);

enum live_health live_health(
    struct live_node *n, int64_t now, int64_t interval_s);
const char *live_health_name(enum live_health h);

/* The desired-state epochs. */
void live_bump_global(void);
unsigned live_global_epoch(void);

/*
 * Calls fn for every node under the table's read lock; fn must not call
 * back into live_* functions that take the table lock (live_add/remove).
 */
void live_each(void (*fn)(struct live_node *, void *), void *arg);
size_t live_count(void);

#endif
