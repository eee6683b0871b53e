#include "keeper/reconcile.h"

#include <sodium.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

#define BACKOFF_BASE_MIN 5
#define BACKOFF_CAP 900

static struct backoff_entry *
backoff_find(struct backoff *bo, const char *name, bool create)
{
	size_t i;

	for (i = 0; i < bo->n; i++)
		if (strcmp(bo->e[i].name, name) == 0)
			return &bo->e[i];
	if (!create || bo->n == RECONCILE_BACKOFF_MAX)
		return NULL;
	memset(&bo->e[bo->n], 0, sizeof(bo->e[0]));
	util_strlcpy(bo->e[bo->n].name, name, sizeof(bo->e[0].name));
	return &bo->e[bo->n++];
}

static void
backoff_clear(struct backoff *bo, const char *name)
{
	struct backoff_entry *e = backoff_find(bo, name, false);

	if (e != NULL) {
		*e = bo->e[bo->n - 1];
		bo->n--;
	}
}

/*
 * What step k is asked to do in this pass: the step as written and the
 * releases the desired state targets (a dataplane step's work depends on
 * those too).
 */
static uint64_t
request_fp(const struct step_inst *k, const struct step_env *env)
{
	crypto_generichash_state st;
	unsigned char h[8];
	uint64_t fp;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(
	    &st, (const unsigned char *)&k->fp, sizeof(k->fp));
	if (env->host != NULL) {
		const char *v = env->host->dataplane_version;

		crypto_generichash_update(
		    &st, (const unsigned char *)v, strlen(v) + 1);
		crypto_generichash_update(&st,
		    (const unsigned char *)&env->host->dataplane_rollback, 1);
	}
	crypto_generichash_final(&st, h, sizeof(h));
	memcpy(&fp, h, sizeof(fp));
	return fp;
}

static void
backoff_fail(struct backoff *bo, const struct step_inst *k, uint64_t fp,
    int64_t now, const char *reason)
{
	struct backoff_entry *e = backoff_find(bo, k->name, true);
	int64_t base = k->kind->retry_s > BACKOFF_BASE_MIN ? k->kind->retry_s
							   : BACKOFF_BASE_MIN;
	int64_t wait;

	if (e == NULL)
		return;
	if (e->fp != fp) {
		e->fp = fp;
		e->fails = 0;
	}
	e->fails++;
	wait = base << (e->fails - 1 < 8 ? e->fails - 1 : 8);
	if (wait > BACKOFF_CAP)
		wait = BACKOFF_CAP;
	e->next_try = now + wait;
	util_strlcpy(e->reason, reason, sizeof(e->reason));
}

/* The first "after" dependency that is not in sync, or NULL. */
static const struct step_inst *
blocked_by(const struct kdesired *d, const struct step_inst *k,
    const struct step_result *results)
{
	size_t j;

	for (j = 0; j < k->nafter; j++)
		if (results[k->after[j]].state != STEP_IN_SYNC)
			return &d->steps[k->after[j]];
	return NULL;
}

void
reconcile_pass(const struct kdesired *d, const struct step_env *env,
    bool dry_run, struct backoff *bo, struct step_result *results,
    struct pass_stats *st)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < d->nsteps; i++) {
		const struct step_inst *k = &d->steps[i];
		const struct step_inst *dep = blocked_by(d, k, results);
		struct step_result *res = &results[i];
		struct backoff_entry *e;
		struct step_result ar;
		char q[STEP_REASON_MAX + 64];
		uint64_t fp;

		memset(res, 0, sizeof(*res));
		if (dep != NULL) {
			step_set(res, STEP_SKIPPED, "waits for %s (%s)",
			    dep->name,
			    step_state_name(results[dep - d->steps].state));
			goto count;
		}
		k->kind->check(k->params, env, res);
		if (res->state == STEP_IN_SYNC) {
			backoff_clear(bo, k->name);
			goto count;
		}
		if (res->state != STEP_NEEDS_CHANGE || dry_run)
			goto count;
		fp = request_fp(k, env);
		e = backoff_find(bo, k->name, false);
		if (e != NULL && e->fp == fp && env->now < e->next_try) {
			step_set(res, STEP_ERROR, "%s (next try in %llds)",
			    e->reason, (long long)(e->next_try - env->now));
			goto count;
		}
		memset(&ar, 0, sizeof(ar));
		st->applied++;
		if (k->kind->apply(k->params, env, &ar) != 0) {
			backoff_fail(bo, k, fp, env->now, ar.reason);
			step_set(res, STEP_ERROR, "%s", ar.reason);
			log_warnx("event=step_apply_failed step=%s kind=%s "
				  "reason=%s",
			    k->name, k->kind->name,
			    log_quote(q, sizeof(q), ar.reason));
			goto count;
		}
		/* The second check decides what is reported. */
		memset(res, 0, sizeof(*res));
		k->kind->check(k->params, env, res);
		if (res->state == STEP_IN_SYNC) {
			backoff_clear(bo, k->name);
			log_info("event=step_applied step=%s kind=%s", k->name,
			    k->kind->name);
		} else {
			char why[STEP_REASON_MAX];

			util_strlcpy(why, res->reason, sizeof(why));
			backoff_fail(bo, k, fp, env->now, why);
			if (res->state == STEP_NEEDS_CHANGE)
				step_set(res, STEP_ERROR,
				    "applied, but still "
				    "differs: %.400s",
				    why);
		}
	count:
		switch (res->state) {
		case STEP_IN_SYNC:
			st->in_sync++;
			break;
		case STEP_NEEDS_CHANGE:
			st->needs_change++;
			break;
		case STEP_ERROR:
			st->error++;
			break;
		case STEP_SKIPPED:
			st->skipped++;
			break;
		}
	}
}
