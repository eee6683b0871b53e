/*
 * gate: the anycast health gate (SPEC §6).  It keeps the node's anycast
 * addresses on an interface (normally `lo`) while, and only while, the
 * dataplane answers its health probe; BIRD's direct protocol announces
 * what is on the interface, so adding and removing an address is what
 * announces and withdraws the route.  A health flip never touches BIRD's
 * configuration.
 *
 * It runs on a thread of its own with its own timer (interval_ms,
 * default 250 ms), independent of the 5-second reconcile loop and of
 * edge-cp: an edge-cp outage changes nothing here.  The keeper's
 * `anycast` step only hands it a configuration (gate_configure) and reads
 * its view (gate_view).
 *
 * The probe: an HTTP GET of the probe URL (the node's own address or
 * 127.0.0.1, never an anycast address) through libcurl, timeout
 * timeout_ms; healthy is a 200.  ok and fail count consecutive probes.
 *
 *	              ok >= rise and down for >= min_down_ms
 *	WITHDRAWN ─────────────────────────────────────────▶ ANNOUNCED
 *	    ▲ ◀──────── fail >= fall and up for >= min_up_ms ───┘ │
 *	    │                                                     │ drain
 *	    │ undrain            drain_s passed, or fail >= fall   ▼
 *	 DRAINED ◀──────────────────────────────────────────── DRAINING
 *	    ▲                                                 (addresses
 *	    └──── drain while WITHDRAWN                        stay; BIRD
 *	                                                       adds the drain
 *	                                                       communities)
 *
 * Undrain goes to WITHDRAWN without the min_down_ms hold (an operator
 * asked), so a healthy node comes back after `rise` probes.  min_up_ms
 * defaults to 0: a dead dataplane must leave within the withdrawal
 * target; the hold that stops a flapping dataplane from flapping routes
 * is min_down_ms (default 5000) before coming back.
 *
 * The addresses: every tick the gate compares the interface with what
 * its state wants and adds or removes the difference (nladdr), so an
 * address someone deleted comes back and one someone added while
 * withdrawn goes.  Only addresses in the configuration, or that the gate
 * put there before (recorded in state_file before they are put there, so
 * a keeper restarted -- or killed at any point -- with a shorter list
 * still removes what it added), are ever touched.  A record that cannot
 * be written is tried again every tick; it does not hold back the
 * announcement.
 *
 * Restarts: gate_start() adopts what is on the interface.  Configured
 * addresses already present mean ANNOUNCED, and the probe decides from
 * there, so restarting or upgrading the keeper never withdraws a healthy
 * node's routes.  gate_stop() leaves the addresses as they are for the
 * same reason: the dataplane keeps serving without the keeper.
 *
 * Threads: gate_configure, gate_view and gate_stop may be called from any
 * one other thread; the gate's state is behind a mutex.  notify(arg) is
 * called on the gate's thread after every state change (it must be
 * async-signal-simple: the keeper raises a signal its loop waits for).
 */
#ifndef EF_KEEPER_GATE_H
#define EF_KEEPER_GATE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "common/nladdr.h"

#define GATE_MAX_PREFIXES 64
#define GATE_FLIPS 8
#define GATE_PROBE_MAX 256

enum gate_state {
	GATE_WITHDRAWN,
	GATE_ANNOUNCED,
	GATE_DRAINING,
	GATE_DRAINED,
};

struct gate_config {
	struct nladdr prefixes[GATE_MAX_PREFIXES];
	size_t nprefixes;
	char ifname[IF_NAMESIZE];
	char probe[GATE_PROBE_MAX];
	int interval_ms, timeout_ms;
	int rise, fall;
	int min_up_ms, min_down_ms;
	bool drain;
	int drain_s;
};

struct gate_flip {
	int64_t at; /* unix seconds */
	enum gate_state to;
	char reason[96];
};

/*
 * Equal configurations.  Both must have been zeroed before they were
 * filled (memset), so padding and unused prefixes compare equal.
 */
static inline bool
gate_config_equal(const struct gate_config *a, const struct gate_config *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

struct gate_view {
	bool configured;
	struct gate_config config; /* in force, when configured */
	/* The interface does not hold what the state wants (yet). */
	bool pending;
	char pending_why[128];
	enum gate_state state;
	bool healthy; /* the last probe's verdict */
	char probe_err[128];
	char addr_err[256]; /* the last netlink failure, "" when none */
	struct nladdr announced[GATE_MAX_PREFIXES];
	size_t nannounced;
	struct gate_flip flips[GATE_FLIPS]; /* oldest first */
	size_t nflips;
};

struct gate;

/*
 * Start the thread.  state_file (may be NULL) records the addresses the
 * gate put on an interface.  Nothing is probed or changed until the
 * first gate_configure().  NULL with err on failure.
 */
struct gate *gate_start(const char *state_file, void (*notify)(void *),
    void *arg, char *err, size_t errlen);
/*
 * Replace the configuration; the same one again is a no-op.  Counters
 * survive a change of probe timing; a change of prefixes applies on the
 * next tick.  0, or -1 with err when the interface does not exist.
 */
int gate_configure(
    struct gate *g, const struct gate_config *c, char *err, size_t errlen);
void gate_view(struct gate *g, struct gate_view *v);
/* Stop the thread; the addresses stay as they are. */
void gate_stop(struct gate *g);

/*
 * For `edge-keeper check`, without a gate: one probe and one look at the
 * interface, as the view a gate with configuration c would have; pending
 * when the interface does not hold what that probe implies.
 */
void gate_view_once(const struct gate_config *c, struct gate_view *v);

const char *gate_state_name(enum gate_state s);

#endif
