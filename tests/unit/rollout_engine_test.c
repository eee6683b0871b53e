/*
 * Unit tests of the rollout engine (cp/rollout.c) over a real SQLite file
 * and the live table, with the clock passed to rollout_tick(): waves that
 * pass on evidence and bake time, halts (step error, unhealthy dataplane,
 * unreachable, deadline with stale evidence), auto rollback, approval,
 * the per-POP limit, nodes skipped when unhealthy, the freeze, and a
 * restart (store closed and opened again) that resumes where it was.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "common/json.h"
#include "common/util.h"
#include "cp/desired.h"
#include "cp/live.h"
#include "cp/rollout.h"
#include "cp/server.h"
#include "cp/store.h"

/* cp is defined in cp/serve.c, linked in through libcp. */
static char dir[64], path[128];
static int64_t t0;

static const char *const ids[] = { "n-1", "n-2", "n-3", "n-4" };
static const char *const popof[] = { "p1", "p1", "p2", "p2" };
#define NN 4

static void
open_store(void)
{
	char err[256];

	cp.store = store_open(path, err, sizeof(err));
}

/* Four nodes in POPs p1 and p2, profiles 1 (baseline) and 2. */
static void
fleet(void)
{
	unsigned char h[32];
	char pop[40];
	int64_t v;
	int i;

	store_close(cp.store);
	live_shutdown();
	unlink(path);
	live_init(5);
	open_store();
	cp.interval_s = 5;
	t0 = util_now();
	store_pop_add(cp.store, "p1", "eu", "{}", "t");
	store_pop_add(cp.store, "p2", "us", "{}", "t");
	for (i = 0; i < NN; i++) {
		struct store_new_node n;

		memset(&n, 0, sizeof(n));
		n.id = ids[i];
		n.hostname = "h";
		n.facts = "{}";
		memcpy(n.public_key, ids[i], 3);
		memset(h, 0, sizeof(h));
		h[0] = (unsigned char)(i + 1);
		store_enrolltoken_add(
		    cp.store, h, popof[i], 1, t0 + 60, "t", NULL);
		store_enroll(cp.store, h, t0, &n, pop, sizeof(pop));
		live_add(ids[i], popof[i], n.public_key, false, t0);
	}
	store_profile_put(cp.store, "{\"steps\":[]}", "op", &v);
	store_profile_put(cp.store, "{\"steps\":[]}", "op", &v);
}

/* Node i reports profile ver, a step in state st, the dataplane up. */
static void
report(int i, const char *ver, const char *st, bool dp, int64_t now)
{
	struct live_node *n = live_get(ids[i]);
	char etag[DESIRED_ETAG_MAX] = "";
	unsigned char h[32];
	json_t *s;

	/* Like a keeper: a report of the desired state it has now. */
	desired_etag(n, etag);
	s = json_pack("{s:s,s:{s:s},s:[{s:s,s:s}],s:{s:b}}", "generation", etag,
	    "versions", "profile", ver, "steps", "name", "s", "state", st,
	    "dataplane", "healthy", dp);
	memset(h, 0, sizeof(h));
	h[0] = (unsigned char)(now & 0xff);
	h[1] = (unsigned char)ver[0];
	h[2] = (unsigned char)st[0];
	h[3] = dp;
	live_apply_status(n, s, h, now);
	atomic_store(&n->last_seen, now);
	live_put(n);
	json_decref(s);
}

/* k heartbeats of node i at now. */
static void
beat(int i, int k, int64_t now)
{
	struct live_node *n = live_get(ids[i]);

	atomic_fetch_add(&n->checkins, (unsigned long long)k);
	atomic_store(&n->last_seen, now);
	live_put(n);
}

/* Every node healthy on profile 1. */
static void
all_healthy(int64_t now)
{
	int i;

	for (i = 0; i < NN; i++)
		report(i, "1", "in_sync", true, now);
}

/* Create a profile rollout to ver as the API would. */
static int64_t
create_v(const char *strategy, const char *ver, const char *params_txt)
{
	struct rollout_cand c[NN];
	struct store_plan_row rows[NN];
	struct rollout_params p;
	struct store_rollout_new ro;
	char names[ROLLOUT_MAX_WAVES][32], err[256], *ptxt, *ntxt;
	json_t *body = NULL, *nj;
	int64_t id = -1;
	int i, nw;

	json_parse_strict(params_txt, strlen(params_txt), 1 << 16, 32, &body,
	    err, sizeof(err));
	if (body == NULL ||
	    rollout_params_parse(body, strategy, &p, err, sizeof(err)) != 0) {
		json_decref(body);
		return -1;
	}
	for (i = 0; i < NN; i++) {
		struct live_node *n = live_get(ids[i]);

		c[i].id = ids[i];
		c[i].pop = popof[i];
		c[i].region = "eu";
		c[i].healthy = live_health(n, t0, 5) == HEALTH_HEALTHY;
		live_put(n);
	}
	nw = rollout_plan(c, NN, p.waves, strcmp(strategy, "all_at_once") == 0,
	    names, err, sizeof(err));
	nj = json_array();
	for (i = 0; i < nw; i++)
		json_array_append_new(nj, json_string(names[i]));
	ntxt = json_dumps(nj, JSON_COMPACT);
	json_decref(nj);
	nj = rollout_params_json(&p);
	ptxt = json_dumps(nj, JSON_COMPACT);
	json_decref(nj);
	for (i = 0; i < NN; i++) {
		rows[i].node_id = c[i].id;
		rows[i].pop = c[i].pop;
		rows[i].wave = c[i].wave;
	}
	memset(&ro, 0, sizeof(ro));
	ro.component = "profile";
	ro.version = ver;
	ro.strategy = strategy;
	ro.params = ptxt;
	ro.wave_names = ntxt;
	ro.nwaves = nw;
	ro.plan = rows;
	ro.nplan = NN;
	store_rollout_create(cp.store, &ro, "op", &id);
	free(ptxt);
	free(ntxt);
	rollout_params_clear(&p);
	json_decref(body);
	return id;
}

static int64_t
create(const char *strategy, const char *params_txt)
{
	return create_v(strategy, "2", params_txt);
}

static json_t *
ro_get(int64_t id)
{
	json_t *ro = NULL;

	store_rollout_get(cp.store, id, &ro);
	return ro;
}

static bool
state_is(int64_t id, const char *want)
{
	json_t *ro = ro_get(id);
	bool same = ro != NULL &&
	    strcmp(json_string_value(json_object_get(ro, "state")), want) == 0;

	if (!same && ro != NULL)
		printf("# state %s (%s), want %s\n",
		    json_string_value(json_object_get(ro, "state")),
		    json_string_value(json_object_get(ro, "reason")), want);
	json_decref(ro);
	return same;
}

static int64_t
wave_of(int64_t id)
{
	json_t *ro = ro_get(id);
	int64_t w = json_integer_value(json_object_get(ro, "wave"));

	json_decref(ro);
	return w;
}

/* The desired state of node i targets profile 2 (else the baseline). */
static bool
moved(int i)
{
	json_t *in = NULL;
	bool same;

	store_desired_inputs(cp.store, ids[i], &in);
	same = strcmp(json_string_value(json_object_get(
			  json_object_get(in, "targets"), "profile")),
		   "2") == 0;
	json_decref(in);
	return same;
}

static const char *
reason_of(int64_t id, char *buf, size_t len)
{
	json_t *ro = ro_get(id);

	util_strlcpy(
	    buf, json_string_value(json_object_get(ro, "reason")), len);
	json_decref(ro);
	return buf;
}

/* The canary passes on evidence and bake time, then the next wave moves. */
TEST(engine_canary_bakes_then_advances)
{
	int64_t id, now;

	fleet();
	all_healthy(t0);
	id = create("waves", "{\"bake_s\":10,\"min_reports\":2}");
	CHECK(id > 0);
	rollout_tick(t0);
	CHECK(moved(0)); /* the canary: first node of the first POP */
	CHECK(!moved(1) && !moved(2) && !moved(3));
	now = t0 + 1;
	report(0, "2", "in_sync", true, now);
	rollout_tick(now);
	CHECK(wave_of(id) == 0); /* no fresh report yet */
	beat(0, 2, now);
	rollout_tick(now);
	CHECK(wave_of(id) == 0); /* the bake starts */
	rollout_tick(now + 5);
	CHECK(wave_of(id) == 0);
	beat(0, 1, now + 10);
	rollout_tick(now + 11);
	CHECK(wave_of(id) == 1);
	CHECK(state_is(id, "running"));
	rollout_tick(now + 11);
	CHECK(moved(1)); /* the rest of p1 */
	CHECK(!moved(2));
}

TEST(engine_halts_on_step_error)
{
	char why[512];
	int64_t id;

	fleet();
	all_healthy(t0);
	id = create("waves", "{\"bake_s\":0}");
	rollout_tick(t0);
	report(0, "1", "error", true, t0 + 1);
	rollout_tick(t0 + 1);
	CHECK(state_is(id, "halted"));
	CHECK(strstr(reason_of(id, why, sizeof(why)), "n-1") != NULL);
	CHECK(strstr(why, "a step is in error") != NULL);
	/* Halted without auto_rollback: the canary stays (frozen). */
	CHECK(moved(0));
	rollout_tick(t0 + 2);
	CHECK(!moved(1));
}

TEST(engine_auto_rollback_on_unhealthy_dataplane)
{
	int64_t id;

	fleet();
	all_healthy(t0);
	id = create(
	    "waves", "{\"bake_s\":0,\"auto_rollback\":true,\"unhealthy_s\":5}");
	rollout_tick(t0);
	CHECK(moved(0));
	/* Not yet healthy right after the apply: within the grace. */
	report(0, "2", "in_sync", false, t0 + 1);
	rollout_tick(t0 + 1);
	rollout_tick(t0 + 5);
	CHECK(state_is(id, "running"));
	CHECK(moved(0));
	/* Healthy again, then down again: the grace starts over. */
	report(0, "2", "in_sync", true, t0 + 6);
	report(0, "2", "in_sync", false, t0 + 7);
	rollout_tick(t0 + 11);
	CHECK(state_is(id, "running"));
	/* Unhealthy for unhealthy_s: a verdict. */
	rollout_tick(t0 + 12);
	CHECK(state_is(id, "rolled_back"));
	CHECK(!moved(0));
}

TEST(engine_unreachable_halts)
{
	int64_t id;

	fleet();
	all_healthy(t0);
	id = create("waves", "{}");
	rollout_tick(t0);
	/* No report from the canary for more than 3 intervals. */
	rollout_tick(t0 + 16);
	CHECK(state_is(id, "halted"));
}

TEST(engine_stale_evidence_never_passes)
{
	char why[512];
	int64_t id, now;
	int k;

	fleet();
	all_healthy(t0);
	id = create(
	    "waves", "{\"bake_s\":0,\"min_reports\":3,\"deadline_s\":60}");
	rollout_tick(t0);
	/* Applied, but only one check-in since: not enough, however long. */
	report(0, "2", "in_sync", true, t0 + 1);
	for (k = 1; k <= 5; k++) {
		now = t0 + k * 10;
		beat(0, k == 1, now);
		rollout_tick(now);
		CHECK(wave_of(id) == 0);
	}
	beat(0, 0, t0 + 61);
	rollout_tick(t0 + 62);
	CHECK(state_is(id, "halted"));
	CHECK(strstr(reason_of(id, why, sizeof(why)), "too few fresh") != NULL);
}

TEST(engine_approval_waits_for_promote)
{
	int64_t id;

	fleet();
	all_healthy(t0);
	id = create("waves",
	    "{\"bake_s\":0,\"min_reports\":1,"
	    "\"approval\":true}");
	rollout_tick(t0);
	report(0, "2", "in_sync", true, t0 + 1);
	beat(0, 1, t0 + 1);
	rollout_tick(t0 + 1);
	CHECK(state_is(id, "approval"));
	rollout_tick(t0 + 2);
	CHECK(!moved(1)); /* nothing moves while it waits */
	CHECK(store_rollout_set_state(cp.store, id, "approval", "running",
		  "promoted", "op") == STORE_OK);
	rollout_tick(t0 + 3);
	CHECK(moved(1));
}

/* all_at_once ignores POPs; waves keep one node of a POP in transition. */
TEST(engine_one_per_pop_in_transition)
{
	int64_t id;

	fleet();
	all_healthy(t0);
	id = create("waves",
	    "{\"bake_s\":0,\"min_reports\":1,"
	    "\"pop_min_healthy\":0,"
	    "\"waves\":[{\"percent\":100}]}");
	rollout_tick(t0);
	CHECK(moved(0) && moved(2)); /* one per POP */
	CHECK(!moved(1) && !moved(3));
	report(0, "2", "in_sync", true, t0 + 1);
	rollout_tick(t0 + 1);
	CHECK(moved(1));  /* n-1 settled: n-2 may go */
	CHECK(!moved(3)); /* n-3 still in transition */
	(void)id;
}

TEST(engine_skips_unhealthy_and_pins_them)
{
	int64_t id;
	int i;

	fleet();
	all_healthy(t0);
	/* Profile 1 becomes the baseline first. */
	id = create_v("all_at_once", "1", "{}");
	rollout_tick(t0);
	all_healthy(t0); /* of the desired state that moved them */
	rollout_tick(t0);
	CHECK(state_is(id, "completed"));
	report(3, "1", "error", true, t0); /* degraded before the rollout */
	id = create("all_at_once", "{}");
	rollout_tick(t0);
	CHECK(!moved(3));
	for (i = 0; i < 3; i++) {
		report(i, "2", "in_sync", true, t0 + 1);
		beat(i, 1, t0 + 1);
	}
	rollout_tick(t0 + 2);
	CHECK(state_is(id, "completed"));
	CHECK(moved(0));
	CHECK(!moved(3)); /* not upgraded by this rollout */
}

TEST(engine_freeze_stops_everything)
{
	int64_t id;

	fleet();
	all_healthy(t0);
	store_meta_set(cp.store, "freeze", "op", "freeze.on", "op");
	id = create("waves", "{}");
	rollout_tick(t0);
	CHECK(!moved(0));
	store_meta_set(cp.store, "freeze", "", "freeze.off", "op");
	rollout_tick(t0 + 1);
	CHECK(moved(0));
	(void)id;
}

TEST(engine_resumes_after_restart)
{
	int64_t id;

	fleet();
	all_healthy(t0);
	id = create("waves", "{\"bake_s\":0,\"min_reports\":1}");
	rollout_tick(t0);
	report(0, "2", "in_sync", true, t0 + 1);
	beat(0, 1, t0 + 1);
	rollout_tick(t0 + 1);
	CHECK(wave_of(id) == 1);
	/* edge-cp restarts: the store is all that is left of the rollout. */
	store_close(cp.store);
	open_store();
	CHECK(cp.store != NULL);
	rollout_tick(t0 + 2);
	CHECK(wave_of(id) == 1);
	CHECK(moved(1)); /* wave 2 moves from where it was */
	CHECK(!moved(2));
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ef-rollout-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/cp.db", dir);
	RUN(engine_canary_bakes_then_advances);
	RUN(engine_halts_on_step_error);
	RUN(engine_auto_rollback_on_unhealthy_dataplane);
	RUN(engine_unreachable_halts);
	RUN(engine_stale_evidence_never_passes);
	RUN(engine_approval_waits_for_promote);
	RUN(engine_one_per_pop_in_transition);
	RUN(engine_skips_unhealthy_and_pins_them);
	RUN(engine_freeze_stops_everything);
	RUN(engine_resumes_after_restart);
	store_close(cp.store);
	live_shutdown();
	unlink(path);
	snprintf(path, sizeof(path), "%s/cp.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/cp.db-shm", dir);
	unlink(path);
	rmdir(dir);
	return check_done();
}
