/*
 * rollout: the rollout engine, a reconcile loop over the rollouts table.
 *
 * States (one active rollout per component; "active" = running, paused
 * or halted):
 *
 *	running ──every targeted node reports the version──▶ completed
 *	   │
 *	   └──operator abort──▶ aborted (targets dropped: back to previous)
 *
 * This is the all_at_once strategy: creating the rollout moves every
 * node's target in one transaction; the engine only watches evidence.
 * The wave strategy (canary, POP, percentages, bake time, halting) builds
 * on the same loop.
 *
 * rollout_tick() runs on edge-cp's background thread about once a second.
 * It holds no state of its own between ticks: everything is read back
 * from the store and the live table, so a restart resumes exactly where
 * the database says the rollout is.
 */
#ifndef EF_ROLLOUT_H
#define EF_ROLLOUT_H

#include <jansson.h>
#include <stdint.h>

void rollout_tick(int64_t now);
/*
 * {"nodes": N, "applied": M, "pending": [ids...]} for a rollout row as
 * the store returns it.  Caller owns the result; NULL on failure.
 */
json_t *rollout_progress(const json_t *rollout);

#endif
