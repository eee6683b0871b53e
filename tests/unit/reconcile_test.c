/*
 * Unit tests of keeper/reconcile: the Step life cycle with a fake kind
 * entered through the step_kind table (no host is touched).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "keeper/desired.h"
#include "keeper/reconcile.h"

/* A fake: in sync once applied, unless told to fail. */
struct fake {
	bool in_sync;
	bool fail_apply;
	bool check_error;
	int applies;
	int checks;
};

static void
fake_check(const void *p, const struct step_env *env, struct step_result *r)
{
	struct fake *f = (struct fake *)(uintptr_t)p;

	(void)env;
	f->checks++;
	if (f->check_error)
		step_set(r, STEP_ERROR, "cannot look");
	else if (f->in_sync)
		step_set(r, STEP_IN_SYNC, "%s", "");
	else
		step_set(r, STEP_NEEDS_CHANGE, "differs");
}

static int
fake_apply(const void *p, const struct step_env *env, struct step_result *r)
{
	struct fake *f = (struct fake *)(uintptr_t)p;

	(void)env;
	f->applies++;
	if (f->fail_apply) {
		step_set(r, STEP_ERROR, "apply failed");
		return -1;
	}
	f->in_sync = true;
	return 0;
}

static void
fake_free(void *p)
{
	(void)p;
}

static const struct step_kind fake_kind = { "fake", NULL, fake_free, fake_check,
	fake_apply, 60 };

static struct fake fakes[3];
static struct step_inst ksteps[3];
static struct kdesired d;

/* a, b (after a), c: independent. */
static void
setup(void)
{
	size_t i;

	memset(fakes, 0, sizeof(fakes));
	memset(ksteps, 0, sizeof(ksteps));
	memset(&d, 0, sizeof(d));
	for (i = 0; i < 3; i++) {
		ksteps[i].kind = &fake_kind;
		ksteps[i].params = &fakes[i];
		ksteps[i].name[0] = (char)('a' + i);
	}
	ksteps[1].after[0] = 0;
	ksteps[1].nafter = 1;
	d.steps = ksteps;
	d.nsteps = 3;
}

static struct step_env env = { "", NULL, false, 1000, NULL };

TEST(converges_in_one_pass)
{
	struct step_result res[3];
	struct backoff bo = { .n = 0 };
	struct pass_stats st;

	setup();
	reconcile_pass(&d, &env, false, &bo, res, &st);
	CHECK(res[0].state == STEP_IN_SYNC && res[1].state == STEP_IN_SYNC);
	CHECK(st.applied == 3 && st.in_sync == 3);
	/* check, apply, check again */
	CHECK(fakes[0].checks == 2 && fakes[0].applies == 1);
	reconcile_pass(&d, &env, false, &bo, res, &st);
	CHECK(st.applied == 0 && fakes[0].applies == 1);
}

TEST(dry_run_changes_nothing)
{
	struct step_result res[3];
	struct backoff bo = { .n = 0 };
	struct pass_stats st;

	setup();
	reconcile_pass(&d, &env, true, &bo, res, &st);
	CHECK(st.applied == 0 && fakes[0].applies == 0);
	CHECK(res[0].state == STEP_NEEDS_CHANGE);
	/* b waits for a, which is not in sync. */
	CHECK(res[1].state == STEP_SKIPPED);
	CHECK(strstr(res[1].reason, "a") != NULL);
	CHECK(st.needs_change == 2 && st.skipped == 1);
}

TEST(failure_skips_dependents_and_goes_on)
{
	struct step_result res[3];
	struct backoff bo = { .n = 0 };
	struct pass_stats st;

	setup();
	fakes[0].fail_apply = true;
	reconcile_pass(&d, &env, false, &bo, res, &st);
	CHECK(res[0].state == STEP_ERROR);
	CHECK(strstr(res[0].reason, "apply failed") != NULL);
	CHECK(res[1].state == STEP_SKIPPED && fakes[1].applies == 0);
	CHECK(res[2].state == STEP_IN_SYNC);
}

TEST(failed_apply_backs_off)
{
	struct step_result res[3];
	struct backoff bo = { .n = 0 };
	struct pass_stats st;
	struct step_env e = env;

	setup();
	fakes[0].fail_apply = true;
	reconcile_pass(&d, &e, false, &bo, res, &st);
	CHECK(fakes[0].applies == 1);
	/* 5 s later: within retry_s (60), so checked but not applied. */
	e.now += 5;
	reconcile_pass(&d, &e, false, &bo, res, &st);
	CHECK(fakes[0].applies == 1);
	CHECK(res[0].state == STEP_ERROR);
	CHECK(strstr(res[0].reason, "next try") != NULL);
	e.now += 60;
	reconcile_pass(&d, &e, false, &bo, res, &st);
	CHECK(fakes[0].applies == 2);
	/* The second failure doubles the wait. */
	e.now += 61;
	reconcile_pass(&d, &e, false, &bo, res, &st);
	CHECK(fakes[0].applies == 2);
	e.now += 60;
	fakes[0].fail_apply = false;
	reconcile_pass(&d, &e, false, &bo, res, &st);
	CHECK(fakes[0].applies == 3 && res[0].state == STEP_IN_SYNC);
	CHECK(bo.n == 0);
}

TEST(repaired_by_hand_clears_backoff)
{
	struct step_result res[3];
	struct backoff bo = { .n = 0 };
	struct pass_stats st;

	setup();
	fakes[0].fail_apply = true;
	reconcile_pass(&d, &env, false, &bo, res, &st);
	CHECK(bo.n == 1);
	fakes[0].in_sync = true; /* someone fixed it */
	reconcile_pass(&d, &env, false, &bo, res, &st);
	CHECK(res[0].state == STEP_IN_SYNC && bo.n == 0);
}

TEST(changed_request_retries_at_once)
{
	struct step_result res[3];
	struct backoff bo = { .n = 0 };
	struct pass_stats st;
	struct step_host host = { 0 };
	struct step_env e = env;

	setup();
	host.dataplane_version = "1.0";
	e.host = &host;
	fakes[0].fail_apply = true;
	reconcile_pass(&d, &e, false, &bo, res, &st);
	e.now += 5;
	reconcile_pass(&d, &e, false, &bo, res, &st);
	CHECK(fakes[0].applies == 1);
	/* Another release targeted: a new request, applied now. */
	host.dataplane_version = "2.0";
	reconcile_pass(&d, &e, false, &bo, res, &st);
	CHECK(fakes[0].applies == 2);
	/* ...and that one backs off in turn, from the first wait. */
	e.now += 5;
	reconcile_pass(&d, &e, false, &bo, res, &st);
	CHECK(fakes[0].applies == 2);
	CHECK(strstr(res[0].reason, "next try in 55s") != NULL);
	/* The step rewritten (another profile): applied now too. */
	ksteps[0].fp = 42;
	reconcile_pass(&d, &e, false, &bo, res, &st);
	CHECK(fakes[0].applies == 3);
}

TEST(check_error_is_reported_not_applied)
{
	struct step_result res[3];
	struct backoff bo = { .n = 0 };
	struct pass_stats st;

	setup();
	fakes[2].check_error = true;
	reconcile_pass(&d, &env, false, &bo, res, &st);
	CHECK(res[2].state == STEP_ERROR && fakes[2].applies == 0);
	CHECK(st.error == 1);
}

int
main(void)
{
	RUN(converges_in_one_pass);
	RUN(dry_run_changes_nothing);
	RUN(failure_skips_dependents_and_goes_on);
	RUN(failed_apply_backs_off);
	RUN(repaired_by_hand_clears_backoff);
	RUN(changed_request_retries_at_once);
	RUN(check_error_is_reported_not_applied);
	return check_done();
}
