#include "cp/rollout.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "cp/desired.h"
#include "cp/live.h"
#include "cp/probe.h"
#include "cp/server.h"
#include "cp/store.h"

#define ROLLOUT_ACTOR "edge-cp"
#define ROLLOUT_POP_BUCKETS 1024

/* What the live table says of one node of a rollout (step 1 in .h). */
struct evidence {
	bool present;  /* still enrolled */
	bool reported; /* has sent a report */
	bool applied;  /* reports the rollout's version */
	bool step_error;
	bool steps_ok; /* every step in_sync */
	bool dp_ok;
	int64_t dp_down_s; /* how long its reports said unhealthy */
	bool reachable;
	bool healthy; /* live health "healthy" */
	unsigned long long fresh;
	bool current; /* the report is of the node's current desired state */
	char version[LIVE_VERSION_MAX];
	int64_t report_at; /* when its report last changed */
	/*
	 * edge-cp's probe's verdict (probe_judge_node), for a moved node of
	 * the current wave of a rollout that probes; PASS for every other.
	 * The words and the result itself are not kept here: a tick holds
	 * one of these per node of the plan.
	 */
	enum rollout_probe_verdict probe_verdict;
};

/* What evidence_why says of a probe not passed; the caller has words. */
static const char probe_not_passed[] = "edge-cp's probe has not passed";

static void
evidence_of(const char *id, const char *component, const char *version,
    int64_t now, struct evidence *e)
{
	struct live_node *n = live_get(id);
	char etag[DESIRED_ETAG_MAX] = "";
	enum live_health h;

	memset(e, 0, sizeof(*e));
	if (n == NULL)
		return;
	e->present = true;
	if (desired_etag(n, etag) != 0)
		etag[0] = '\0';
	h = live_health(n, now, cp.interval_s);
	e->reachable = h != HEALTH_UNREACHABLE;
	e->healthy = h == HEALTH_HEALTHY;
	pthread_mutex_lock(&n->mu);
	e->reported = n->has_report;
	e->step_error = n->step_error;
	e->steps_ok = n->has_report && !n->step_error && !n->steps_pending;
	e->dp_ok = n->dp_healthy;
	e->dp_down_s = n->dp_healthy ? 0 : now - n->dp_down_since;
	util_strlcpy(e->version,
	    strcmp(component, "profile") == 0         ? n->v_profile
		: strcmp(component, "dataplane") == 0 ? n->v_dataplane
						      : n->v_keeper,
	    sizeof(e->version));
	e->fresh = atomic_load(&n->checkins) - n->report_checkins;
	e->current = etag[0] != '\0' && strcmp(n->report_gen, etag) == 0;
	e->report_at = n->report_at;
	pthread_mutex_unlock(&n->mu);
	e->applied = strcmp(e->version, version) == 0;
	live_put(n);
}

/*
 * Applied, in sync and healthy (by edge-cp's probe too, when it probes):
 * no longer "in transition".
 */
static bool
evidence_settled(const struct evidence *e)
{
	return e->present && e->current && e->applied && e->steps_ok &&
	    e->dp_ok && e->reachable && e->probe_verdict == ROLLOUT_PROBE_PASS;
}

/* Why a node has not passed the gate, "" when it has. */
static const char *
evidence_why(const struct evidence *e, int64_t min_reports)
{
	if (!e->present)
		return "";
	if (!e->reported)
		return "no report yet";
	if (!e->current)
		return "no report of its new desired state yet";
	if (!e->applied)
		return "not applied yet";
	if (!e->steps_ok)
		return "steps not in sync";
	if (!e->dp_ok)
		return "dataplane unhealthy";
	if ((int64_t)e->fresh < min_reports)
		return "too few fresh reports";
	if (e->probe_verdict != ROLLOUT_PROBE_PASS)
		return probe_not_passed;
	return "";
}

/*
 * Why a moved node halts the rollout, NULL when it does not.  Only a
 * report of the desired state that moved it counts (its "generation" is
 * that state's ETag): what a node said before it saw the move, like the
 * error a rollback is about to fix, is not this rollout's failure.
 */
static const char *
evidence_halts(const struct evidence *e, int64_t unhealthy_s)
{
	if (!e->present)
		return NULL;
	if (!e->reachable)
		return "unreachable";
	if (!e->current)
		return NULL;
	if (e->step_error)
		return "a step is in error";
	if (e->reported && !e->dp_ok && e->dp_down_s >= unhealthy_s)
		return "its dataplane is unhealthy";
	return NULL;
}

/* How old a probe result may be and still count. */
static int64_t
probe_fresh_s(int64_t timeout_s)
{
	return ROLLOUT_PROBE_FRESH * cp.interval_s + timeout_s;
}

/*
 * Judge node id's newest probe result (the rules in .h) into
 * e->probe_verdict, with why in words; r gets the result.
 */
static void
probe_judge_node(const char *id, struct evidence *e, int64_t now,
    int64_t timeout_s, int64_t min_reports, int64_t unhealthy_s,
    struct live_probe_result *r, char *why, size_t len)
{
	struct live_node *n = live_get(id);

	memset(r, 0, sizeof(*r));
	if (n != NULL) {
		pthread_mutex_lock(&n->mu);
		*r = n->probe.res;
		pthread_mutex_unlock(&n->mu);
		live_put(n);
	}
	e->probe_verdict = rollout_probe_judge(r, now, probe_fresh_s(timeout_s),
	    e->report_at, min_reports, unhealthy_s, why, len);
}

/* Per-POP counts for the move limits (step 4 in .h). */
struct pop_count {
	const char *name;
	int64_t size, transit, healthy;
	int next; /* chain */
};

struct pops {
	struct pop_count *v;
	size_t n;
	int bucket[ROLLOUT_POP_BUCKETS];
};

static struct pop_count *
pops_get(struct pops *p, const char *name)
{
	unsigned h = 5381;
	const char *c;
	int i;

	for (c = name; *c != '\0'; c++)
		h = h * 33 + (unsigned char)*c;
	h %= ROLLOUT_POP_BUCKETS;
	for (i = p->bucket[h]; i >= 0; i = p->v[i].next)
		if (strcmp(p->v[i].name, name) == 0)
			return &p->v[i];
	i = (int)p->n++;
	memset(&p->v[i], 0, sizeof(p->v[i]));
	p->v[i].name = name;
	p->v[i].next = p->bucket[h];
	p->bucket[h] = i;
	return &p->v[i];
}

struct tick {
	json_t *ro, *plan, *params;
	int64_t id, wave, waves, now;
	const char *component, *version;
	int64_t bake_s, min_reports, max_unavail, pop_min, deadline_s;
	int64_t unhealthy_s;
	bool auto_rollback, approval;
	struct evidence *ev; /* one per plan row */
	/* params.probe; probe_port 0: edge-cp does not probe */
	unsigned probe_port, probe_timeout_s;
	const char *probe_path;
};

static int64_t
param_i(const json_t *params, const char *key, int64_t dflt)
{
	const json_t *v = json_object_get(params, key);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static const char *
wave_name(const json_t *ro, int64_t w)
{
	const char *s = json_string_value(
	    json_array_get(json_object_get(ro, "wave_names"), (size_t)w));

	return s ? s : "?";
}

/* Halt (or roll back): one place, one event with the evidence. */
static void tick_halt(struct tick *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
tick_halt(struct tick *t, const char *fmt, ...)
{
	char reason[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (t->auto_rollback)
		rc = store_rollout_finish(
		    cp.store, t->id, "rolled_back", reason, ROLLOUT_ACTOR);
	else
		rc = store_rollout_set_state(cp.store, t->id, "running",
		    "halted", reason, ROLLOUT_ACTOR);
	if (rc == STORE_OK) {
		live_bump_global();
		log_warnx("event=rollout_halted rollout=%lld rolled_back=%d "
			  "reason=\"%s\"",
		    (long long)t->id, t->auto_rollback, reason);
	}
}

/* ": NAME: REASON" of the node's first step in error, for a halt reason. */
static const char *
step_in_error(const char *id, char *buf, size_t len)
{
	json_t *node = NULL, *st;
	size_t i;

	buf[0] = '\0';
	if (store_node_get(cp.store, id, &node) != STORE_OK)
		return buf;
	json_array_foreach(
	    json_object_get(json_object_get(node, "status"), "steps"), i, st)
	{
		const char *state =
		    json_string_value(json_object_get(st, "state"));

		if (state != NULL && strcmp(state, "error") == 0) {
			snprintf(buf, len, " (%s: %s)",
			    json_string_value(json_object_get(st, "name")),
			    json_string_value(json_object_get(st, "reason")));
			break;
		}
	}
	json_decref(node);
	return buf;
}

/*
 * A moved node of the current wave, when the rollout probes: ask for
 * probes a few intervals ahead (a rollout that stops asking, halted or
 * done, stops them), then read its evidence into e and judge its newest
 * probe, with why in words.
 */
static void
tick_probe(
    struct tick *t, const char *id, struct evidence *e, char *why, size_t len)
{
	struct live_probe_result r;
	struct live_node *n;

	/*
	 * Asked for before the result is read: a changed target voids the
	 * old one's results now, not after this tick judged them.
	 */
	if ((n = live_get(id)) != NULL) {
		probe_want(n, t->probe_port, t->probe_path, t->probe_timeout_s,
		    t->now + probe_fresh_s(t->probe_timeout_s));
		live_put(n);
	}
	evidence_of(id, t->component, t->version, t->now, e);
	if (e->present)
		probe_judge_node(id, e, t->now, t->probe_timeout_s,
		    t->min_reports, t->unhealthy_s, &r, why, len);
}

/* Steps 1-2: evidence for every moved node; 1 when the rollout halted. */
static int
tick_evidence(struct tick *t)
{
	char pwhy[300];
	json_t *row;
	size_t i;

	json_array_foreach(t->plan, i, row)
	{
		const char *id =
		    json_string_value(json_object_get(row, "node_id"));
		const char *st =
		    json_string_value(json_object_get(row, "state"));
		const char *why;

		if (strcmp(st, "moved") != 0) {
			/* Its health decides whether it may be moved. */
			evidence_of(
			    id, t->component, t->version, t->now, &t->ev[i]);
			continue;
		}
		if (t->probe_port > 0 &&
		    json_integer_value(json_object_get(row, "wave")) == t->wave)
			tick_probe(t, id, &t->ev[i], pwhy, sizeof(pwhy));
		else
			evidence_of(
			    id, t->component, t->version, t->now, &t->ev[i]);
		why = evidence_halts(&t->ev[i], t->unhealthy_s);
		/* A failing probe halts as a report of a dead dataplane does. */
		if (why == NULL && t->ev[i].current &&
		    t->ev[i].probe_verdict == ROLLOUT_PROBE_HALT)
			why = pwhy;
		if (why != NULL) {
			char step[300];

			int64_t w =
			    json_integer_value(json_object_get(row, "wave"));

			/* Waves are counted from 1, as in the view. */
			tick_halt(t, "node %s (wave %lld %s, POP %s): %s%s", id,
			    (long long)w + 1, wave_name(t->ro, w),
			    json_string_value(json_object_get(row, "pop")), why,
			    step_in_error(id, step, sizeof(step)));
			return 1;
		}
	}
	return 0;
}

/* Step 3: the current wave's gate; 1 when the rollout moved on. */
static int
tick_gate(struct tick *t)
{
	json_t *row, *since = json_object_get(t->ro, "gate_since");
	size_t i, nodes = 0, ready = 0, first_i = 0;
	const char *first = NULL, *first_why = "";
	unsigned long long min_fresh = ~0ULL;
	char evidence[640], obj[32], pwhy[300];
	int rc;

	json_array_foreach(t->plan, i, row)
	{
		const char *why;

		if (json_integer_value(json_object_get(row, "wave")) != t->wave)
			continue;
		if (!t->ev[i].present)
			continue; /* removed since: nothing to wait for */
		nodes++;
		why = strcmp(json_string_value(json_object_get(row, "state")),
			  "moved") != 0
		    ? "not moved yet"
		    : evidence_why(&t->ev[i], t->min_reports);
		if (why[0] == '\0') {
			ready++;
			if (t->ev[i].fresh < min_fresh)
				min_fresh = t->ev[i].fresh;
		} else if (first == NULL) {
			first =
			    json_string_value(json_object_get(row, "node_id"));
			first_why = why;
			first_i = i;
		}
	}
	if (ready < nodes) {
		if (json_is_integer(since))
			store_rollout_gate(cp.store, t->id, 0);
		if (t->now - param_i(t->ro, "wave_started_at", t->now) >
		    t->deadline_s) {
			/* The probe's own words for what it lacks. */
			if (first_why == probe_not_passed) {
				struct live_probe_result r;
				struct evidence e = t->ev[first_i];

				probe_judge_node(first, &e, t->now,
				    t->probe_timeout_s, t->min_reports,
				    t->unhealthy_s, &r, pwhy, sizeof(pwhy));
				first_why = pwhy;
			}
			tick_halt(t,
			    "wave %lld (%s) did not pass within %lld s: %zu "
			    "of %zu nodes ready; %s: %s",
			    (long long)t->wave + 1, wave_name(t->ro, t->wave),
			    (long long)t->deadline_s, ready, nodes,
			    first ? first : "-", first_why);
			return 1;
		}
		return 0;
	}
	if (!json_is_integer(since)) {
		store_rollout_gate(cp.store, t->id, t->now);
		if (t->bake_s > 0)
			return 0;
	} else if (t->now - json_integer_value(since) < t->bake_s)
		return 0;
	snprintf(evidence, sizeof(evidence),
	    "{\"wave\":%lld,\"name\":\"%s\",\"nodes\":%zu,\"applied\":%zu,"
	    "\"min_fresh_reports\":%llu,\"baked_s\":%lld}",
	    (long long)t->wave + 1, wave_name(t->ro, t->wave), nodes, ready,
	    nodes ? min_fresh : 0ULL,
	    json_is_integer(since)
		? (long long)(t->now - json_integer_value(since))
		: 0LL);
	/* Every ready node passed edge-cp's probe too. */
	if (t->probe_port > 0 && strlen(evidence) > 0)
		snprintf(evidence + strlen(evidence) - 1,
		    sizeof(evidence) - strlen(evidence) + 1,
		    ",\"probed\":%zu,\"probe\":\"%u%s\"}", ready, t->probe_port,
		    t->probe_path);
	if (t->wave + 1 >= t->waves) {
		rc = store_rollout_finish(cp.store, t->id, "completed",
		    "every wave passed", ROLLOUT_ACTOR);
		if (rc == STORE_OK) {
			snprintf(
			    obj, sizeof(obj), "rollout/%lld", (long long)t->id);
			store_event_add(cp.store, ROLLOUT_ACTOR,
			    "rollout.wave_passed", obj, evidence);
			log_info("event=rollout_completed rollout=%lld",
			    (long long)t->id);
		}
	} else {
		rc = store_rollout_advance(cp.store, t->id, t->wave,
		    t->approval ? "approval" : "running", evidence,
		    ROLLOUT_ACTOR);
		if (rc == STORE_OK)
			log_info("event=rollout_wave_passed rollout=%lld "
				 "wave=%lld",
			    (long long)t->id, (long long)t->wave + 1);
	}
	live_bump_global();
	return 1;
}

/* Step 4: move what the current wave may move now. */
static void
tick_move(struct tick *t)
{
	struct pops pops;
	json_t *row, *ids;
	size_t i, n = json_array_size(t->plan);

	pops.v = calloc(n ? n : 1, sizeof(*pops.v));
	pops.n = 0;
	memset(pops.bucket, 0xff, sizeof(pops.bucket));
	if (pops.v == NULL || (ids = json_array()) == NULL) {
		free(pops.v);
		return;
	}
	json_array_foreach(t->plan, i, row)
	{
		struct pop_count *pc = pops_get(
		    &pops, json_string_value(json_object_get(row, "pop")));
		bool moved =
		    strcmp(json_string_value(json_object_get(row, "state")),
			"moved") == 0;

		if (!t->ev[i].present)
			continue;
		pc->size++;
		if (moved && !evidence_settled(&t->ev[i]))
			pc->transit++;
		else if (moved || t->ev[i].healthy)
			pc->healthy++;
	}
	json_array_foreach(t->plan, i, row)
	{
		struct pop_count *pc;

		if (json_integer_value(json_object_get(row, "wave")) !=
			t->wave ||
		    strcmp(json_string_value(json_object_get(row, "state")),
			"planned") != 0 ||
		    !t->ev[i].present)
			continue;
		pc = pops_get(
		    &pops, json_string_value(json_object_get(row, "pop")));
		if (t->max_unavail > 0 && pc->transit >= t->max_unavail)
			continue;
		/* A POP too small for its minimum moves one node at a time. */
		if (t->pop_min > 0 &&
		    (pc->size > t->pop_min ? pc->healthy - 1 < t->pop_min
					   : pc->transit > 0))
			continue;
		pc->transit++;
		pc->healthy--;
		json_array_append(ids, json_object_get(row, "node_id"));
	}
	if (json_array_size(ids) > 0 &&
	    store_rollout_move(
		cp.store, t->id, ids, t->wave + 1, ROLLOUT_ACTOR) == STORE_OK)
		live_bump_global();
	json_decref(ids);
	free(pops.v);
}

static void
tick_one(json_t *ro, int64_t now)
{
	const json_t *probe;
	struct tick t;

	memset(&t, 0, sizeof(t));
	t.ro = ro;
	t.now = now;
	t.id = json_integer_value(json_object_get(ro, "id"));
	t.wave = json_integer_value(json_object_get(ro, "wave"));
	t.waves = json_integer_value(json_object_get(ro, "waves"));
	t.component = json_string_value(json_object_get(ro, "component"));
	t.version = json_string_value(json_object_get(ro, "version"));
	t.params = json_object_get(ro, "params");
	t.bake_s = param_i(t.params, "bake_s", 60);
	t.min_reports = param_i(t.params, "min_reports", 3);
	t.max_unavail = param_i(t.params, "max_unavailable_per_pop", 1);
	t.pop_min = param_i(t.params, "pop_min_healthy", 1);
	t.deadline_s = param_i(t.params, "deadline_s", 900);
	t.unhealthy_s = param_i(t.params, "unhealthy_s", 10);
	t.auto_rollback =
	    json_is_true(json_object_get(t.params, "auto_rollback"));
	t.approval = json_is_true(json_object_get(t.params, "approval"));
	probe = json_object_get(t.params, "probe");
	t.probe_port = (unsigned)param_i(probe, "port", 0);
	t.probe_timeout_s = (unsigned)param_i(probe, "timeout_s", 5);
	t.probe_path = json_string_value(json_object_get(probe, "path"));
	if (t.probe_path == NULL || !rollout_probe_path_ok(t.probe_path))
		t.probe_path = "/healthz";
	if (t.component == NULL || t.version == NULL ||
	    store_rollout_plan(cp.store, t.id, &t.plan) != STORE_OK)
		return;
	if ((t.ev = calloc(json_array_size(t.plan) + 1, sizeof(*t.ev))) ==
	    NULL) {
		json_decref(t.plan);
		return;
	}
	if (t.waves == 0) {
		/*
		 * Nothing to move (an empty fleet, every node skipped): done
		 * at once, and the new baseline is every document's.
		 */
		if (store_rollout_finish(cp.store, t.id, "completed",
			"no node to move", ROLLOUT_ACTOR) == STORE_OK)
			live_bump_global();
	} else if (tick_evidence(&t) == 0 && tick_gate(&t) == 0)
		tick_move(&t);
	free(t.ev);
	json_decref(t.plan);
}

bool
rollout_frozen(void)
{
	char v[64];

	return store_meta_get(cp.store, "freeze", v, sizeof(v)) == STORE_OK &&
	    v[0] != '\0';
}

void
rollout_tick(int64_t now)
{
	static pthread_mutex_t one = PTHREAD_MUTEX_INITIALIZER;
	json_t *list, *ro;
	size_t i;

	/* A freeze stops every rollout from advancing, halts included. */
	if (rollout_frozen())
		return;
	/* The background thread and a creating request: one tick at once. */
	pthread_mutex_lock(&one);
	if (store_rollout_list(cp.store, true, &list) != STORE_OK) {
		pthread_mutex_unlock(&one);
		return;
	}
	json_array_foreach(list, i, ro)
	{
		const char *state =
		    json_string_value(json_object_get(ro, "state"));

		if (state != NULL && strcmp(state, "running") == 0)
			tick_one(ro, now);
	}
	pthread_mutex_unlock(&one);
	json_decref(list);
}

/* One wave of the view: its nodes (the first 200) and their evidence. */
static json_t *
view_wave(const json_t *ro, const json_t *plan, int64_t w, int64_t now)
{
	const char *comp = json_string_value(json_object_get(ro, "component"));
	const char *ver = json_string_value(json_object_get(ro, "version"));
	int64_t cur = json_integer_value(json_object_get(ro, "wave"));
	const char *state = json_string_value(json_object_get(ro, "state"));
	const json_t *params = json_object_get(ro, "params");
	const json_t *probe = json_object_get(params, "probe");
	int64_t minr = param_i(params, "min_reports", 3);
	json_t *nodes = json_array(), *row, *one;
	size_t i, total = 0, moved = 0, ready = 0;
	struct live_probe_result r;
	char pwhy[300];

	json_array_foreach(plan, i, row)
	{
		struct evidence e;
		const char *st, *why;

		if (json_integer_value(json_object_get(row, "wave")) != w)
			continue;
		st = json_string_value(json_object_get(row, "state"));
		evidence_of(json_string_value(json_object_get(row, "node_id")),
		    comp, ver, now, &e);
		/* What the tick judges, the view shows: the current wave's. */
		r.at = 0;
		if (probe != NULL && w == cur && strcmp(st, "moved") == 0 &&
		    e.present)
			probe_judge_node(
			    json_string_value(json_object_get(row, "node_id")),
			    &e, now, param_i(probe, "timeout_s", 5), minr,
			    param_i(params, "unhealthy_s", 10), &r, pwhy,
			    sizeof(pwhy));
		why = strcmp(st, "moved") == 0 ? evidence_why(&e, minr)
					       : "not moved yet";
		if (why == probe_not_passed)
			why = pwhy;
		total++;
		moved += strcmp(st, "moved") == 0;
		ready += why[0] == '\0' && e.present;
		if (json_array_size(nodes) >= 200)
			continue;
		one = json_pack("{s:O,s:O,s:s,s:s,s:b,s:I,s:s}", "id",
		    json_object_get(row, "node_id"), "pop",
		    json_object_get(row, "pop"), "state", st, "version",
		    e.version, "applied", e.applied, "fresh_reports",
		    (json_int_t)e.fresh, "waiting_for",
		    !e.present ? "removed" : why);
		/* edge-cp's newest probe of it, for a rollout that probes. */
		if (one != NULL && r.at != 0)
			json_object_set_new(one, "probe",
			    json_pack("{s:b,s:s,s:I}", "ok", r.ok, "error",
				r.error, "at", (json_int_t)r.at));
		json_array_append_new(nodes, one);
	}
	return json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:o}", "wave",
	    (json_int_t)w + 1, "name", wave_name(ro, w), "state",
	    strcmp(state, "completed") == 0 || w < cur ? "passed"
		: w > cur                              ? "pending"
						       : "current",
	    "nodes", (json_int_t)total, "moved", (json_int_t)moved, "ready",
	    (json_int_t)ready, "node_list", nodes);
}

/* {nodes, moved, applied, pending: [first 100 ids not applied]} */
static json_t *
view_progress(const json_t *ro, const json_t *plan, int64_t now)
{
	const char *comp = json_string_value(json_object_get(ro, "component"));
	const char *ver = json_string_value(json_object_get(ro, "version"));
	json_t *pending = json_array(), *row;
	size_t i, nodes = 0, moved = 0, applied = 0;

	json_array_foreach(plan, i, row)
	{
		struct evidence e;

		if (json_integer_value(json_object_get(row, "wave")) < 0)
			continue;
		nodes++;
		moved +=
		    strcmp(json_string_value(json_object_get(row, "state")),
			"moved") == 0;
		evidence_of(json_string_value(json_object_get(row, "node_id")),
		    comp, ver, now, &e);
		if (e.applied)
			applied++;
		else if (json_array_size(pending) < 100)
			json_array_append(
			    pending, json_object_get(row, "node_id"));
	}
	return json_pack("{s:I,s:I,s:I,s:o}", "nodes", (json_int_t)nodes,
	    "moved", (json_int_t)moved, "applied", (json_int_t)applied,
	    "pending", pending);
}

json_t *
rollout_view(int64_t id)
{
	json_t *ro, *plan, *waves, *since;
	const char *st;
	int64_t w, n, now = util_now(), skipped = 0;
	size_t i;

	if (store_rollout_get(cp.store, id, &ro) != STORE_OK)
		return NULL;
	if (store_rollout_plan(cp.store, id, &plan) != STORE_OK ||
	    (waves = json_array()) == NULL) {
		json_decref(ro);
		return NULL;
	}
	n = json_integer_value(json_object_get(ro, "waves"));
	for (w = 0; w < n; w++)
		json_array_append_new(waves, view_wave(ro, plan, w, now));
	for (i = 0; i < json_array_size(plan); i++)
		skipped += json_integer_value(json_object_get(
			       json_array_get(plan, i), "wave")) < 0;
	json_object_set_new(ro, "wave_list", waves);
	json_object_set_new(ro, "skipped", json_integer(skipped));
	json_object_set_new(ro, "progress", view_progress(ro, plan, now));
	since = json_object_get(ro, "gate_since");
	json_object_set_new(ro, "gate",
	    json_pack("{s:b,s:I}", "holding", json_is_integer(since),
		"bake_left_s",
		(json_int_t)(json_is_integer(since)
			? param_i(json_object_get(ro, "params"), "bake_s", 60) -
			    (now - json_integer_value(since))
			: -1)));
	json_object_set_new(ro, "frozen", json_boolean(rollout_frozen()));
	/* Waiting, and only a second person's promote moves it on. */
	st = json_string_value(json_object_get(ro, "state"));
	json_object_set_new(ro, "second_person_needed",
	    json_boolean(st != NULL && strcmp(st, "approval") == 0 &&
		(cp.two_person ||
		    json_is_true(json_object_get(
			json_object_get(ro, "params"), "second_person")))));
	json_decref(plan);
	return ro;
}
