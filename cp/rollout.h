/*
 * rollout: the rollout engine (SPEC §4.6), a reconcile loop over the
 * rollouts and rollout_nodes tables.
 *
 * A rollout moves one component (dataplane, keeper, profile) to one
 * version.  At creation its plan is computed once and stored: every
 * node of the fleet gets a row in rollout_nodes with its wave, or
 * "skipped" when it was degraded, unreachable, draining or drained then
 * (a node already broken neither counts against the rollout nor is
 * upgraded by it; a new node that has not reported yet is in the plan,
 * and so is a degraded one when the rollout is a rollback).  Nodes enrolling
 * later are not in the plan: they get the baseline.
 *
 * Rollout states ("active" = running, paused, halted, approval):
 *
 *	running ──wave passes──▶ running (next wave)
 *	   │  │  └─last wave passes──▶ completed (baseline := version)
 *	   │  └─wave passes, approval set──▶ approval ──promote──▶ running
 *	   ├─pause──▶ paused ──resume──▶ running
 *	   └─a halt condition──▶ halted ──resume──▶ running
 *	                          │   (auto_rollback: ──▶ rolled_back)
 *	any active ──abort──▶ aborted (every moved node back to previous)
 *
 * The two-person rule (edge-cp serve --two-person, threat T17) adds one
 * way in and narrows two ways out:
 *
 *	create ──needs a second person──▶ approval (wave 1, nothing moved)
 *	approval ──promote by a second person──▶ running
 *	approval ──promote by its creator──▶ approval (403, event
 *					      rollout.promote_refused)
 *	approval ──pause──▶ approval (422: pause then resume would step
 *				       around the promote)
 *
 * A rollout needs a second person (rollout_needs_second) when it is
 * all_at_once, when it moves a profile (a profile is files, units and
 * packages that run as root on every node, and nobody but its author
 * has looked at it: PUT /v1/profile has no approval of its own), or when
 * its first wave is more than one node (custom waves such as
 * [{"percent":100}] are all_at_once by another name).  A dataplane or
 * keeper release rolled out in waves behind a one-node canary does not:
 * its binary had its second person when it was approved, and the canary
 * and the gates still stand between it and the fleet.  Under the rule
 * every promote, the waits between waves (approval: true) included, must
 * come from a second person to the rollout's creator: not the same
 * token, not one made by it, not its maker, not one made by the same
 * token but the first admin token (store_apitoken_related).
 * "second_person": true in the rollout's params says it was created
 * under the rule.  Aborting never needs anyone: it is the way back.
 *
 * Node rows: planned ──moved (its target is written)──▶ moved; skipped.
 *
 * One tick (rollout_tick, about once a second, on edge-cp's background
 * thread) for each running rollout, unless the fleet is frozen:
 *  1. evidence: for every moved node, from the live table — the version
 *     it reports for the component, any step in error or not in sync,
 *     dataplane health, reachability, and check-ins since the report
 *     that said so (fresh reports).
 *  2. halt on: a moved node with a step in error, a dataplane that has
 *     reported unhealthy for unhealthy_s (a dataplane just started, or
 *     handing over, is not yet healthy for a moment: a sample is not a
 *     verdict), unreachable (no report for 3 intervals), or the current
 *     wave past its deadline (deadline_s since it started).
 *     Missing or stale evidence never passes a wave: a node without a
 *     report or without min_reports fresh check-ins simply has not passed
 *     yet, and the deadline turns that into a halt.
 *  3. gate: the current wave passes when every node in it is moved, has
 *     applied the version, all its steps are in sync, its dataplane is
 *     healthy and it has min_reports fresh reports, and all of that has
 *     held for bake_s (the clock starts when it first holds and restarts
 *     when it stops holding).  Time and evidence both.
 *  4. move: planned nodes of the current wave get their target, at most
 *     max_unavailable_per_pop of one POP in transition at once (moved and
 *     not yet settled), and never a node whose move would leave its POP
 *     with fewer than pop_min_healthy settled healthy nodes (POPs smaller
 *     than that are moved one node at a time).
 * Everything is read back from the store and the live table each tick:
 * the engine keeps no state between ticks, so an edge-cp restarted
 * mid-rollout continues exactly where the database says it is (the
 * fresh-report counts start again from zero: conservative).
 *
 * Waves (params.waves, else the default): a list of {"count": N},
 * {"percent": P} (cumulative, of the nodes in the plan), {"pop": NAME} or
 * {"region": NAME}; each takes the next nodes it names, spread round-
 * robin across POPs.  Default: canary (1 node), one POP (the canary's),
 * 10 %, 50 %, 100 %; empty waves are dropped.  all_at_once is one wave
 * of every node, no per-POP limit, bake_s 0 and min_reports 0 (the
 * report that says applied is the evidence) unless given.
 *
 * Every transition, wave verdict (with its evidence), batch of moves and
 * operator action is an event with its actor.
 *
 * Evidence that does not come from the node (params.probe, threat T15):
 * every report above is the node's word about itself.  A rollout with
 * "probe": {"port", "path", "timeout_s"} also wants edge-cp's own look:
 * each tick asks the probe thread (cp/probe.h) to GET
 * http://ADDR:port/path of every moved node of the current wave, ADDR
 * being the source address of the node's signed requests, and judges the
 * newest result (rollout_probe_judge, pure):
 *  - halt when the probes have failed for unhealthy_s since the node's
 *    report last changed (connection refused, timeout, a status other
 *    than 200...), like a dataplane reported unhealthy, and only on a
 *    report of the moved state;
 *  - the node has passed only with a fresh success (completed within
 *    ROLLOUT_PROBE_FRESH intervals plus the timeout) that started after
 *    its report last changed, ending a run of at least max(1,
 *    min_reports) successes; the bake then needs that to hold throughout.
 * A missing or stale probe, or one begun before the report, never passes
 * and never halts: the wave deadline turns it into a halt.  Until its
 * probe passes, a moved node is still in transition (step 4).  Without "probe" (the default) nothing
 * is probed and the gate is the reports' alone.
 */
#ifndef EF_ROLLOUT_H
#define EF_ROLLOUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cp/live.h"

#define ROLLOUT_MAX_WAVES 16
/* A probe result is fresh for this many node intervals plus its timeout. */
#define ROLLOUT_PROBE_FRESH 3

/* What POST /v1/rollouts may say, validated and with defaults. */
struct rollout_params {
	int64_t bake_s;                  /* default 60; all_at_once 0 */
	int64_t min_reports;             /* default 3; all_at_once 0 */
	int64_t max_unavailable_per_pop; /* default 1; all_at_once 0 = any */
	int64_t pop_min_healthy;         /* default 1 */
	int64_t deadline_s;              /* per wave, default 900 */
	int64_t unhealthy_s;             /* dataplane grace, default 10 */
	bool auto_rollback;
	bool approval;
	bool rollback;      /* an explicit downgrade */
	bool second_person; /* created under the two-person rule; not read */
	json_t *waves;      /* validated copy, or NULL: default */
	/* edge-cp's own probe of each node's dataplane; port 0: none */
	int64_t probe_port;
	int64_t probe_timeout_s;              /* default 5 */
	char probe_path[LIVE_PROBE_PATH_MAX]; /* default "/healthz" */
};

/*
 * Read params from a POST /v1/rollouts body for a strategy ("waves" or
 * "all_at_once").  0, or -1 with "field: problem".  Free with
 * rollout_params_clear().
 */
int rollout_params_parse(const json_t *body, const char *strategy,
    struct rollout_params *p, char *err, size_t errlen);
void rollout_params_clear(struct rollout_params *p);
/* The canonical JSON stored with the rollout (params column). */
json_t *rollout_params_json(const struct rollout_params *p);

/*
 * A probe path as a rollout may give it: "/" then at most 126 printable
 * ASCII characters, none of them '#', '"' or '\\'.
 */
bool rollout_probe_path_ok(const char *path);

enum rollout_probe_verdict {
	ROLLOUT_PROBE_PASS,
	ROLLOUT_PROBE_WAIT, /* no verdict yet: neither passes nor halts */
	ROLLOUT_PROBE_HALT,
};

/*
 * Judge a node's newest probe result at now (rules above): fresh_s, how
 * old a result may be; report_at, when the node's report last changed;
 * need, the successes in a row a pass takes; unhealthy_s, how long
 * failures last before they halt.  why (always filled) says what is
 * missing, or the failure.  Pure.
 */
enum rollout_probe_verdict rollout_probe_judge(
    const struct live_probe_result *p, int64_t now, int64_t fresh_s,
    int64_t report_at, int64_t need, int64_t unhealthy_s, char *why,
    size_t len);

/* A node as the planner sees it. */
struct rollout_cand {
	const char *id;
	const char *pop;
	const char *region;
	bool healthy;
	int wave; /* out: 0-based wave, or -1 skipped */
};

/*
 * Assign every candidate a wave (or -1 when it is not healthy).  Pure:
 * same input, same plan (candidates in any order; ties by id).  Returns
 * the number of waves, or -1 with err when a custom wave names a POP or
 * region that has no node.  names (optional, ROLLOUT_MAX_WAVES) gets a
 * short name per wave ("canary", "pop ams1", "10%", ...).
 */
int rollout_plan(struct rollout_cand *c, size_t n, const json_t *waves,
    bool all_at_once, char names[][32], char *err, size_t errlen);

/*
 * The two-person rule: does a rollout of component, all_at_once or not,
 * whose first wave (of the plan rollout_plan made) holds first_wave
 * nodes, need a second person's promote before anything moves?  Pure.
 */
bool rollout_needs_second(
    const char *component, bool all_at_once, size_t first_wave);

void rollout_tick(int64_t now);
/* A global freeze is set (meta "freeze"): no rollout advances. */
bool rollout_frozen(void);

/*
 * The rollout as GET /v1/rollouts/{id} shows it: the row plus "waves"
 * (each with its nodes and their evidence) and the current gate verdict.
 * Caller owns the result; NULL on failure.
 */
json_t *rollout_view(int64_t id);

#endif
