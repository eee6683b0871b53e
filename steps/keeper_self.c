/*
 * keeper_self {}: the keeper runs the release the desired state targets
 * for component "keeper" (SPEC §5; the trial and its watchdog are in
 * keeper/selfup.h).
 *
 * Check: in sync when no keeper release is targeted or the running
 * binary is that version; an error, until the target changes, when that
 * version failed its trial on this node (so a bad release is tried once,
 * not in a loop); else needs_change.  Apply: download and verify the
 * release into /var/lib/edge-keeper/keeper/<version>/edge-keeper (or
 * verify it again when it is already there), then start its trial; the
 * keeper re-execs into it after the pass.  The dataplane is not touched.
 * A failed apply is retried at most once a minute.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "common/priv.h"
#include "common/version.h"
#include "steps/kinds.h"

static int
keeper_self_parse(const json_t *params, void **out, char *err, size_t errlen)
{
	static const char *const keys[] = { NULL };

	*out = NULL;
	if (jfield_only(params, keys, err, errlen) != 0)
		return -1;
	/* No params: a non-NULL pointer all the same, freed by free(). */
	if ((*out = calloc(1, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static void
keeper_self_check(
    const void *params, const struct step_env *env, struct step_result *res)
{
	const struct step_host *h = env->host;

	(void)params;
	if (h == NULL || h->keeper_version == NULL ||
	    h->keeper_version[0] == '\0')
		step_set(res, STEP_IN_SYNC,
		    "running %s (no keeper release "
		    "targeted)",
		    ef_version);
	else if (strcmp(h->keeper_version, ef_version) == 0)
		step_set(res, STEP_IN_SYNC, "running %s", ef_version);
	else if (h->self_failed != NULL &&
	    h->self_failed(h->self, h->keeper_version))
		step_set(res, STEP_ERROR,
		    "keeper %s failed its trial on this node; staying on %s",
		    h->keeper_version, ef_version);
	else
		step_set(res, STEP_NEEDS_CHANGE, "running %s, want %s",
		    ef_version, h->keeper_version);
}

static int
keeper_self_apply(
    const void *params, const struct step_env *env, struct step_result *res)
{
	const struct step_host *h = env->host;
	char rel[256], dest[1024], err[STEP_REASON_MAX];
	struct priv_stat st;

	(void)params;
	if (h == NULL || h->self_update == NULL) {
		step_set(res, STEP_ERROR,
		    "self-update runs in `edge-keeper "
		    "run` only");
		return -1;
	}
	if (snprintf(rel, sizeof(rel),
		"/var/lib/edge-keeper/keeper/%s/"
		"edge-keeper",
		h->keeper_version) >= (int)sizeof(rel) ||
	    step_path(env, rel, dest, sizeof(dest)) != 0) {
		step_set(res, STEP_ERROR, "cannot make %s", rel);
		return -1;
	}
	if ((priv_lstat(dest, &st) == 0
		    ? h->verify_release(h->ctx, "keeper", h->keeper_version,
			  dest, h->keeper_rollback, err, sizeof(err))
		    : h->fetch_release(h->ctx, "keeper", h->keeper_version,
			  dest, h->keeper_rollback, err, sizeof(err))) != 0) {
		step_set(
		    res, STEP_ERROR, "keeper %s: %s", h->keeper_version, err);
		return -1;
	}
	if (h->self_update(h->self, h->keeper_version, err, sizeof(err)) != 0) {
		step_set(
		    res, STEP_ERROR, "keeper %s: %s", h->keeper_version, err);
		return -1;
	}
	step_set(res, STEP_NEEDS_CHANGE, "restarting into keeper %s",
	    h->keeper_version);
	return 0;
}

const struct step_kind step_keeper_self = {
	.name = "keeper_self",
	.parse = keeper_self_parse,
	.free_params = free,
	.check = keeper_self_check,
	.apply = keeper_self_apply,
	.retry_s = 60,
};
