/*
 * reconcile: one pass over the desired state's Steps (steps/step.h has a
 * Step's life).  Steps run in order; a step whose "after" names a step
 * that is not in_sync is skipped with that reason; the pass always goes
 * on to the end.
 *
 * Backoff: after a failed apply a step is not applied again before
 * max(kind->retry_s, 5 s) doubled per consecutive failure, capped at
 * 15 min, so a 5-second loop never hammers the host.  Until then it is
 * checked only, and reported as the check says (error with the last
 * failure's reason while it still needs the change).  The backoff table
 * lives across passes, keyed by step name; an entry holds for the request
 * that failed only: when the step as written (step_inst.fp) or a release
 * the desired state targets changes, the next pass applies at once.
 *
 * Called from one thread.  The caller owns results (nsteps entries).
 */
#ifndef EF_KEEPER_RECONCILE_H
#define EF_KEEPER_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/desired.h"
#include "steps/step.h"

#define RECONCILE_BACKOFF_MAX 256

struct backoff_entry {
	char name[40];
	uint64_t fp; /* what was asked when it failed */
	int fails;
	int64_t next_try;
	char reason[STEP_REASON_MAX];
};

struct backoff {
	struct backoff_entry e[RECONCILE_BACKOFF_MAX];
	size_t n;
};

struct pass_stats {
	size_t applied; /* applies attempted */
	size_t in_sync, needs_change, error, skipped;
};

/*
 * Run one pass.  dry_run: check only (edge-keeper check).  Fills
 * results[i] for every step; returns the counts in *st.
 */
void reconcile_pass(const struct kdesired *d, const struct step_env *env,
    bool dry_run, struct backoff *bo, struct step_result *results,
    struct pass_stats *st);

#endif
