/*
 * Unit tests of the rollout planner (cp/rollout_plan.c): the default
 * waves, spreading across POPs, unhealthy nodes left out, custom waves,
 * all_at_once, determinism; and the parameters' defaults and refusals;
 * the probe parameters and the gate's verdict on edge-cp's own probe of
 * a node (rollout_probe_judge).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/json.h"
#include "cp/rollout.h"

#define MAXN 200

static struct rollout_cand cand[MAXN];
static char ids[MAXN][24], pops[MAXN][24]; /* room for any size_t */

/* n nodes over npops POPs "p0".."pN", regions "eu" (even) / "us" (odd). */
static void
fleet(size_t n, size_t npops)
{
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "n-%03zu", i);
		snprintf(pops[i], sizeof(pops[i]), "p%zu", i % npops);
		cand[i].id = ids[i];
		cand[i].pop = pops[i];
		cand[i].region = (i % npops) % 2 ? "us" : "eu";
		cand[i].healthy = true;
		cand[i].wave = 99;
	}
}

static size_t
in_wave(size_t n, int w)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += cand[i].wave == w;
	return k;
}

static size_t
pops_in_wave(size_t n, int w)
{
	char seen[MAXN][24];
	size_t i, j, k = 0;

	for (i = 0; i < n; i++) {
		if (cand[i].wave != w)
			continue;
		for (j = 0; j < k && strcmp(seen[j], cand[i].pop) != 0; j++)
			;
		if (j == k)
			strcpy(seen[k++], cand[i].pop);
	}
	return k;
}

TEST(plan_default_waves)
{
	char names[ROLLOUT_MAX_WAVES][32], err[200];
	int nw;

	fleet(10, 3);            /* p0: 4 nodes, p1: 3, p2: 3 */
	cand[4].healthy = false; /* n-004, in p1 */
	nw = rollout_plan(cand, 10, NULL, false, names, err, sizeof(err));
	CHECK(nw == 4);
	CHECK_STR(names[0], "canary");
	CHECK_STR(names[1], "pop p0");
	CHECK_STR(names[2], "50%");
	CHECK_STR(names[3], "100%");
	CHECK(cand[0].wave == 0); /* the first node of the first POP */
	CHECK(in_wave(10, 0) == 1);
	CHECK(in_wave(10, 1) == 3); /* the rest of p0 */
	CHECK(in_wave(10, 2) == 1); /* 50 % of 9 rounds up to 5 */
	CHECK(in_wave(10, 3) == 4);
	CHECK(cand[4].wave == -1); /* not healthy: not in the rollout */
}

TEST(plan_spreads_across_pops)
{
	char err[200];
	int nw;

	fleet(100, 10);
	nw = rollout_plan(cand, 100, NULL, false, NULL, err, sizeof(err));
	CHECK(nw == 4);
	CHECK(in_wave(100, 0) == 1 && in_wave(100, 1) == 9);
	/* 10 %: already covered by the canary's POP, so dropped. */
	CHECK(in_wave(100, 2) == 40);     /* up to 50 % */
	CHECK(pops_in_wave(100, 2) == 9); /* every POP but p0, spent */
	CHECK(in_wave(100, 3) == 50);
}

TEST(plan_is_deterministic)
{
	int a[60], i;
	char err[200];

	fleet(60, 7);
	CHECK(rollout_plan(cand, 60, NULL, false, NULL, err, sizeof(err)) > 0);
	for (i = 0; i < 60; i++)
		a[i] = cand[i].wave;
	/* The same fleet listed backwards plans the same. */
	for (i = 0; i < 30; i++) {
		struct rollout_cand t = cand[i];

		cand[i] = cand[59 - i];
		cand[59 - i] = t;
	}
	CHECK(rollout_plan(cand, 60, NULL, false, NULL, err, sizeof(err)) > 0);
	for (i = 0; i < 60; i++)
		CHECK(cand[59 - i].wave == a[i]);
}

static json_t *
js(const char *s)
{
	json_t *v = NULL;
	char err[200];

	json_parse_strict(s, strlen(s), 1 << 16, 32, &v, err, sizeof(err));
	return v;
}

TEST(plan_custom_waves)
{
	char names[ROLLOUT_MAX_WAVES][32], err[200];
	json_t *b = js("{\"waves\":[{\"count\":2},{\"region\":\"us\"},"
		       "{\"pop\":\"p2\"}]}");
	json_t *w = json_incref(json_object_get(b, "waves"));
	size_t i;
	int nw;

	fleet(30, 3);
	nw = rollout_plan(cand, 30, w, false, names, err, sizeof(err));
	json_decref(w);
	json_decref(b);
	CHECK(nw == 4);
	CHECK(in_wave(30, 0) == 2);
	CHECK_STR(names[1], "region us");
	for (i = 0; i < 30; i++)
		if (cand[i].wave == 1)
			CHECK(strcmp(cand[i].pop, "p1") == 0);
	CHECK_STR(names[3], "rest"); /* p0 is named by no wave */
	b = js("{\"waves\":[{\"pop\":\"nowhere\"}]}");
	CHECK(rollout_plan(cand, 30, json_object_get(b, "waves"), false, names,
		  err, sizeof(err)) == -1);
	json_decref(b);
	CHECK(strstr(err, "nowhere") != NULL);
}

TEST(plan_all_at_once)
{
	char names[ROLLOUT_MAX_WAVES][32], err[200];

	fleet(25, 4);
	cand[3].healthy = false;
	CHECK(rollout_plan(cand, 25, NULL, true, names, err, sizeof(err)) == 1);
	CHECK(in_wave(25, 0) == 24);
	CHECK_STR(names[0], "all");
	CHECK(rollout_plan(cand, 0, NULL, true, names, err, sizeof(err)) == 0);
}

TEST(params_defaults_and_refusals)
{
	struct rollout_params p;
	char err[200];
	json_t *b = js("{}");

	CHECK(rollout_params_parse(b, "waves", &p, err, sizeof(err)) == 0);
	CHECK(p.bake_s == 60 && p.min_reports == 3);
	CHECK(p.max_unavailable_per_pop == 1 && !p.auto_rollback);
	rollout_params_clear(&p);
	CHECK(
	    rollout_params_parse(b, "all_at_once", &p, err, sizeof(err)) == 0);
	CHECK(p.bake_s == 0 && p.min_reports == 0);
	json_decref(b);
	b = js("{\"waves\":[{\"count\":1,\"pop\":\"a\"}]}");
	CHECK(rollout_params_parse(b, "waves", &p, err, sizeof(err)) == -1);
	json_decref(b);
	b = js("{\"bake_s\":-1}");
	CHECK(rollout_params_parse(b, "waves", &p, err, sizeof(err)) == -1);
	json_decref(b);
}

/*
 * The two-person rule's choice (rollout.h): all_at_once, any profile,
 * a first wave of more than one node; a canary-first release is free.
 */
TEST(two_person_which_rollouts_wait)
{
	struct rollout_params p;
	json_t *body, *j;
	char err[256];
	int nw;

	CHECK(rollout_needs_second("dataplane", true, 1));
	CHECK(rollout_needs_second("keeper", true, 0));
	CHECK(rollout_needs_second("profile", false, 1));
	CHECK(rollout_needs_second("profile", false, 0));
	CHECK(rollout_needs_second("dataplane", false, 2));
	CHECK(!rollout_needs_second("dataplane", false, 1));
	CHECK(!rollout_needs_second("keeper", false, 1));
	/* The default plan starts with a one-node canary... */
	fleet(20, 4);
	nw = rollout_plan(cand, 20, NULL, false, NULL, err, sizeof(err));
	CHECK(nw > 1 && in_wave(20, 0) == 1);
	CHECK(!rollout_needs_second("dataplane", false, in_wave(20, 0)));
	/* ...a first wave of the whole fleet is all_at_once by another name. */
	j = json_pack("[{s:i}]", "percent", 100);
	fleet(20, 4);
	nw = rollout_plan(cand, 20, j, false, NULL, err, sizeof(err));
	json_decref(j);
	CHECK(nw == 1 && in_wave(20, 0) == 20);
	CHECK(rollout_needs_second("dataplane", false, in_wave(20, 0)));
	/* Stored with the rollout only when it was made under the rule. */
	body = json_object();
	CHECK(rollout_params_parse(body, "waves", &p, err, sizeof(err)) == 0);
	j = rollout_params_json(&p);
	CHECK(json_object_get(j, "second_person") == NULL);
	json_decref(j);
	p.second_person = true;
	j = rollout_params_json(&p);
	CHECK(json_is_true(json_object_get(j, "second_person")));
	json_decref(j);
	rollout_params_clear(&p);
	/* The body cannot say it. */
	json_object_set_new(body, "second_person", json_false());
	CHECK(rollout_params_parse(body, "waves", &p, err, sizeof(err)) != 0 ||
	    !p.second_person);
	rollout_params_clear(&p);
	json_decref(body);
}

TEST(params_probe)
{
	static const char *const bad[] = {
		"{\"probe\":{}}",
		"{\"probe\":{\"port\":0}}",
		"{\"probe\":{\"port\":65536}}",
		"{\"probe\":{\"port\":80,\"path\":\"healthz\"}}",
		"{\"probe\":{\"port\":80,\"path\":\"/a b\"}}",
		"{\"probe\":{\"port\":80,\"path\":\"/a#b\"}}",
		"{\"probe\":{\"port\":80,\"timeout_s\":0}}",
		"{\"probe\":{\"port\":80,\"timeout_s\":61}}",
		"{\"probe\":{\"port\":80,\"host\":\"192.0.2.1\"}}",
		"{\"probe\":true}",
		NULL,
	};
	struct rollout_params p;
	char err[200];
	json_t *b = js("{}"), *o;
	size_t i;

	/* Off unless asked for: a rollout without it is judged as before. */
	CHECK(rollout_params_parse(b, "waves", &p, err, sizeof(err)) == 0);
	CHECK(p.probe_port == 0);
	o = rollout_params_json(&p);
	CHECK(json_object_get(o, "probe") == NULL);
	json_decref(o);
	json_decref(b);
	b = js("{\"probe\":{\"port\":8080}}");
	CHECK(rollout_params_parse(b, "waves", &p, err, sizeof(err)) == 0);
	json_decref(b);
	CHECK(p.probe_port == 8080 && p.probe_timeout_s == 5);
	CHECK_STR(p.probe_path, "/healthz");
	o = rollout_params_json(&p);
	CHECK(json_integer_value(json_object_get(
		  json_object_get(o, "probe"), "port")) == 8080);
	json_decref(o);
	b = js("{\"probe\":{\"port\":80,\"path\":\"/up?x=1\","
	       "\"timeout_s\":2}}");
	CHECK(
	    rollout_params_parse(b, "all_at_once", &p, err, sizeof(err)) == 0);
	json_decref(b);
	CHECK_STR(p.probe_path, "/up?x=1");
	CHECK(p.probe_timeout_s == 2);
	for (i = 0; bad[i] != NULL; i++) {
		b = js(bad[i]);
		err[0] = '\0';
		CHECK(rollout_params_parse(b, "waves", &p, err, sizeof(err)) ==
		    -1);
		json_decref(b);
		CHECK(strncmp(err, "probe", 5) == 0);
	}
}

/* A result of `run` probes with one outcome, the newest [started, at]. */
static struct live_probe_result
presult(bool ok, int64_t started, int64_t at, int64_t run_since, unsigned run)
{
	struct live_probe_result r;

	memset(&r, 0, sizeof(r));
	r.ok = ok;
	r.started = started;
	r.at = at;
	r.run_since = run_since;
	r.run = run;
	r.status = ok ? 200 : 0;
	snprintf(
	    r.error, sizeof(r.error), "%s", ok ? "" : "connection refused");
	snprintf(r.url, sizeof(r.url), "http://192.0.2.7:80/healthz");
	return r;
}

/* What the gate says of r at now: results fresh for 8 s; why in why. */
static char why[300];

static enum rollout_probe_verdict
judge(const struct live_probe_result *r, int64_t now, int64_t report_at,
    int64_t need, int64_t unhealthy_s)
{
	return rollout_probe_judge(
	    r, now, 8, report_at, need, unhealthy_s, why, sizeof(why));
}

TEST(probe_judge_pass_needs_fresh_success_after_report)
{
	struct live_probe_result r = presult(true, 1002, 1002, 990, 3);

	/* Fresh, after the report at 1000, three in a row: passes. */
	CHECK(judge(&r, 1003, 1000, 3, 10) == ROLLOUT_PROBE_PASS);
	/* A success begun before the report may precede the change. */
	CHECK(judge(&r, 1003, 1002, 3, 10) == ROLLOUT_PROBE_WAIT);
	CHECK_STR(why, "no probe since its report");
	/* Too few in a row. */
	CHECK(judge(&r, 1003, 1000, 4, 10) == ROLLOUT_PROBE_WAIT);
	CHECK(strstr(why, "too few probes") != NULL);
	/* min_reports 0 still takes one probe. */
	r.run = 1;
	CHECK(judge(&r, 1003, 1000, 0, 10) == ROLLOUT_PROBE_PASS);
}

TEST(probe_judge_failure_halts_after_grace)
{
	struct live_probe_result r = presult(false, 1004, 1004, 1000, 3);

	/* Failing for 4 s of a 10 s grace: not a verdict yet. */
	CHECK(judge(&r, 1004, 990, 1, 10) == ROLLOUT_PROBE_WAIT);
	CHECK(strstr(why, "connection refused") != NULL);
	/* Past the grace: halts, naming the address and the failure. */
	r.started = r.at = 1010;
	CHECK(judge(&r, 1010, 990, 1, 10) == ROLLOUT_PROBE_HALT);
	CHECK_STR(why,
	    "edge-cp's probe of http://192.0.2.7:80/healthz failed for 10 "
	    "s: connection refused");
	/* Failing since before the report: counted from the report... */
	r = presult(false, 1005, 1005, 900, 20);
	CHECK(judge(&r, 1005, 1000, 1, 10) == ROLLOUT_PROBE_WAIT);
	CHECK(judge(&r, 1005, 1000, 1, 5) == ROLLOUT_PROBE_HALT);
	CHECK(strstr(why, "failed for 5 s") != NULL);
	/* ...and a failure begun before it is not the rollout's. */
	CHECK(judge(&r, 1005, 1005, 1, 0) == ROLLOUT_PROBE_WAIT);
	CHECK_STR(why, "no probe since its report");
	/* A grace of 0: the first failure halts. */
	r = presult(false, 1000, 1000, 1000, 1);
	CHECK(judge(&r, 1000, 990, 1, 0) == ROLLOUT_PROBE_HALT);
}

TEST(probe_judge_stale_or_missing_waits)
{
	struct live_probe_result r;

	memset(&r, 0, sizeof(r));
	CHECK(judge(&r, 1000, 0, 1, 0) == ROLLOUT_PROBE_WAIT);
	CHECK_STR(why, "no probe yet");
	/* A stale success never passes... */
	r = presult(true, 1000, 1000, 900, 50);
	CHECK(judge(&r, 1009, 990, 1, 0) == ROLLOUT_PROBE_WAIT);
	CHECK(strstr(why, "no fresh probe") != NULL);
	/* ...and a stale failure never halts: the deadline does. */
	r = presult(false, 1000, 1000, 900, 50);
	CHECK(judge(&r, 1009, 990, 1, 0) == ROLLOUT_PROBE_WAIT);
	/* Fresh by a second less. */
	CHECK(judge(&r, 1008, 990, 1, 0) == ROLLOUT_PROBE_HALT);
}

int
main(void)
{
	RUN(plan_default_waves);
	RUN(plan_spreads_across_pops);
	RUN(plan_is_deterministic);
	RUN(plan_custom_waves);
	RUN(plan_all_at_once);
	RUN(params_defaults_and_refusals);
	RUN(two_person_which_rollouts_wait);
	RUN(params_probe);
	RUN(probe_judge_pass_needs_fresh_success_after_report);
	RUN(probe_judge_failure_halts_after_grace);
	RUN(probe_judge_stale_or_missing_waits);
	return check_done();
}
