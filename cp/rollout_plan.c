/*
 * The rollout engine's pure half: the parameters of a rollout and its
 * plan (which node goes in which wave).  No store, no clock: what
 * cp/rollout.c and the unit tests call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/util.h"
#include "cp/rollout.h"

bool
rollout_probe_path_ok(const char *path)
{
	size_t i;

	if (path[0] != '/' || strlen(path) >= LIVE_PROBE_PATH_MAX)
		return false;
	for (i = 0; path[i] != '\0'; i++)
		if (path[i] <= ' ' || path[i] > '~' || path[i] == '#' ||
		    path[i] == '"' || path[i] == '\\')
			return false;
	return true;
}

/* "probe": {"port": 1-65535, "path": "/healthz", "timeout_s": 1-60} */
static int
probe_parse(
    const json_t *body, struct rollout_params *p, char *err, size_t errlen)
{
	static const char *const keys[] = { "port", "path", "timeout_s", NULL };
	const char *path = "/healthz";
	json_t *o = NULL;
	char sub[200];

	p->probe_timeout_s = 5;
	util_strlcpy(p->probe_path, path, sizeof(p->probe_path));
	if (jfield_obj(body, "probe", false, &o, err, errlen) != 0)
		return -1;
	if (o == NULL)
		return 0;
	if (jfield_only(o, keys, sub, sizeof(sub)) != 0 ||
	    jfield_int(o, "port", true, 1, 65535, &p->probe_port, sub,
		sizeof(sub)) != 0 ||
	    jfield_int(o, "timeout_s", false, 1, 60, &p->probe_timeout_s, sub,
		sizeof(sub)) != 0 ||
	    jfield_str(o, "path", false, LIVE_PROBE_PATH_MAX - 1, &path, sub,
		sizeof(sub)) != 0) {
		snprintf(err, errlen, "probe.%s", sub);
		return -1;
	}
	if (!rollout_probe_path_ok(path)) {
		snprintf(err, errlen,
		    "probe.path: \"/\" then printable ASCII without spaces, "
		    "'#', '\"' or '\\', at most %d characters",
		    LIVE_PROBE_PATH_MAX - 1);
		return -1;
	}
	util_strlcpy(p->probe_path, path, sizeof(p->probe_path));
	return 0;
}

enum rollout_probe_verdict
rollout_probe_judge(const struct live_probe_result *p, int64_t now,
    int64_t fresh_s, int64_t report_at, int64_t need, int64_t unhealthy_s,
    char *why, size_t len)
{
	int64_t since;

	if (need < 1)
		need = 1;
	if (p->at == 0) {
		snprintf(why, len, "no probe yet");
		return ROLLOUT_PROBE_WAIT;
	}
	if (now - p->at > fresh_s) {
		snprintf(why, len, "no fresh probe (the newest is %lld s old)",
		    (long long)(now - p->at));
		return ROLLOUT_PROBE_WAIT;
	}
	/*
	 * A probe that began before the report could precede the change: it
	 * neither passes nor halts (failures from before the move are not
	 * the rollout's, like the reports the node made then).
	 */
	if (p->started <= report_at) {
		snprintf(why, len, "no probe since its report");
		return ROLLOUT_PROBE_WAIT;
	}
	if (!p->ok) {
		since = p->run_since > report_at ? p->run_since : report_at;
		snprintf(why, len,
		    "edge-cp's probe of %s failed for %lld s: %s", p->url,
		    (long long)(now - since), p->error);
		return now - since >= unhealthy_s ? ROLLOUT_PROBE_HALT
						  : ROLLOUT_PROBE_WAIT;
	}
	if ((int64_t)p->run < need) {
		snprintf(why, len, "too few probes (%u of %lld)", p->run,
		    (long long)need);
		return ROLLOUT_PROBE_WAIT;
	}
	snprintf(why, len, "probe ok");
	return ROLLOUT_PROBE_PASS;
}

int
rollout_params_parse(const json_t *body, const char *strategy,
    struct rollout_params *p, char *err, size_t errlen)
{
	bool once = strcmp(strategy, "all_at_once") == 0;
	json_t *waves = NULL, *w;
	size_t i;

	memset(p, 0, sizeof(*p));
	p->bake_s = once ? 0 : 60;
	p->min_reports = once ? 0 : 3;
	p->max_unavailable_per_pop = once ? 0 : 1;
	p->pop_min_healthy = once ? 0 : 1;
	p->deadline_s = 900;
	p->unhealthy_s = 10;
	if (jfield_int(body, "bake_s", false, 0, 86400, &p->bake_s, err,
		errlen) != 0 ||
	    jfield_int(body, "min_reports", false, 0, 100, &p->min_reports, err,
		errlen) != 0 ||
	    jfield_int(body, "max_unavailable_per_pop", false, 0, 100000,
		&p->max_unavailable_per_pop, err, errlen) != 0 ||
	    jfield_int(body, "pop_min_healthy", false, 0, 100000,
		&p->pop_min_healthy, err, errlen) != 0 ||
	    jfield_int(body, "deadline_s", false, 10, 7 * 86400, &p->deadline_s,
		err, errlen) != 0 ||
	    jfield_int(body, "unhealthy_s", false, 0, 3600, &p->unhealthy_s,
		err, errlen) != 0 ||
	    jfield_bool(body, "auto_rollback", false, &p->auto_rollback, err,
		errlen) != 0 ||
	    jfield_bool(body, "approval", false, &p->approval, err, errlen) !=
		0 ||
	    jfield_bool(body, "rollback", false, &p->rollback, err, errlen) !=
		0 ||
	    jfield_arr(body, "waves", false, ROLLOUT_MAX_WAVES, &waves, err,
		errlen) != 0)
		return -1;
	if (probe_parse(body, p, err, errlen) != 0)
		return -1;
	if (waves != NULL && once) {
		snprintf(err, errlen, "waves: not with all_at_once");
		return -1;
	}
	json_array_foreach(waves, i, w)
	{
		static const char *const keys[] = { "count", "percent", "pop",
			"region", NULL };
		const char *s = NULL;
		int64_t v = 0;
		char sub[200];

		if (!json_is_object(w) || json_object_size(w) != 1 ||
		    jfield_only(w, keys, sub, sizeof(sub)) != 0 ||
		    jfield_int(w, "count", false, 1, 10000000, &v, sub,
			sizeof(sub)) != 0 ||
		    jfield_int(w, "percent", false, 1, 100, &v, sub,
			sizeof(sub)) != 0 ||
		    jfield_str(w, "pop", false, 32, &s, sub, sizeof(sub)) !=
			0 ||
		    jfield_str(w, "region", false, 32, &s, sub, sizeof(sub)) !=
			0 ||
		    (s != NULL && !util_name_ok(s))) {
			snprintf(err, errlen,
			    "waves[%zu]: one of {\"count\": N}, "
			    "{\"percent\": P}, {\"pop\": NAME}, "
			    "{\"region\": NAME}",
			    i);
			return -1;
		}
	}
	p->waves = waves ? json_deep_copy(waves) : NULL;
	return 0;
}

void
rollout_params_clear(struct rollout_params *p)
{
	json_decref(p->waves);
	p->waves = NULL;
}

json_t *
rollout_params_json(const struct rollout_params *p)
{
	json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:b,s:b}", "bake_s",
	    (json_int_t)p->bake_s, "min_reports", (json_int_t)p->min_reports,
	    "max_unavailable_per_pop", (json_int_t)p->max_unavailable_per_pop,
	    "pop_min_healthy", (json_int_t)p->pop_min_healthy, "deadline_s",
	    (json_int_t)p->deadline_s, "unhealthy_s",
	    (json_int_t)p->unhealthy_s, "auto_rollback", p->auto_rollback,
	    "approval", p->approval, "rollback", p->rollback);

	if (o != NULL && p->waves != NULL)
		json_object_set(o, "waves", p->waves);
	if (o != NULL && p->second_person)
		json_object_set_new(o, "second_person", json_true());
	if (o != NULL && p->probe_port > 0)
		json_object_set_new(o, "probe",
		    json_pack("{s:I,s:s,s:I}", "port",
			(json_int_t)p->probe_port, "path", p->probe_path,
			"timeout_s", (json_int_t)p->probe_timeout_s));
	return o;
}

bool
rollout_needs_second(const char *component, bool all_at_once, size_t first_wave)
{
	return all_at_once || strcmp(component, "profile") == 0 ||
	    first_wave > 1;
}

static int
cand_cmp(const void *a, const void *b)
{
	const struct rollout_cand *x = *(struct rollout_cand *const *)a;
	const struct rollout_cand *y = *(struct rollout_cand *const *)b;
	int c = strcmp(x->pop, y->pop);

	return c != 0 ? c : strcmp(x->id, y->id);
}

/*
 * The eligible nodes in round-robin order across POPs: the first node of
 * every POP, then the second of every POP, and so on (POPs by name, nodes
 * by id), so any prefix of the order spreads over as many POPs as it can.
 */
static struct rollout_cand **
plan_order(struct rollout_cand *c, size_t n, size_t *m)
{
	struct rollout_cand **sorted, **out;
	size_t *start, npops = 0, i, k, round, o = 0;

	*m = 0;
	sorted = calloc(n ? n : 1, sizeof(*sorted));
	out = calloc(n ? n : 1, sizeof(*out));
	start = calloc(n + 1, sizeof(*start));
	if (sorted == NULL || out == NULL || start == NULL) {
		free(sorted);
		free(out);
		free(start);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		c[i].wave = -1;
		if (c[i].healthy)
			sorted[(*m)++] = &c[i];
	}
	qsort(sorted, *m, sizeof(*sorted), cand_cmp);
	for (i = 0; i < *m; i++)
		if (i == 0 || strcmp(sorted[i]->pop, sorted[i - 1]->pop) != 0)
			start[npops++] = i;
	start[npops] = *m;
	for (round = 0; o < *m; round++)
		for (k = 0; k < npops; k++)
			if (start[k] + round < start[k + 1])
				out[o++] = sorted[start[k] + round];
	free(sorted);
	free(start);
	return out;
}

/*
 * Give wave w the next limit unassigned nodes of the order, only those of
 * pop or region when one is named.
 */
static size_t
plan_take(struct rollout_cand **order, size_t m, size_t limit, int w,
    const char *pop, const char *region)
{
	size_t i, taken = 0;

	for (i = 0; i < m && taken < limit; i++) {
		if (order[i]->wave >= 0 ||
		    (pop != NULL && strcmp(order[i]->pop, pop) != 0) ||
		    (region != NULL &&
			(order[i]->region == NULL ||
			    strcmp(order[i]->region, region) != 0)))
			continue;
		order[i]->wave = w;
		taken++;
	}
	return taken;
}

/* Every POP and region a custom wave names has a node (any health). */
static int
plan_names_exist(const struct rollout_cand *c, size_t n, const json_t *waves,
    char *err, size_t errlen)
{
	const json_t *w;
	size_t i, k;

	json_array_foreach(waves, i, w)
	{
		const char *pop = json_string_value(json_object_get(w, "pop"));
		const char *reg =
		    json_string_value(json_object_get(w, "region"));

		if (pop == NULL && reg == NULL)
			continue;
		for (k = 0; k < n; k++)
			if ((pop != NULL && strcmp(c[k].pop, pop) == 0) ||
			    (reg != NULL && c[k].region != NULL &&
				strcmp(c[k].region, reg) == 0))
				break;
		if (k == n) {
			snprintf(err, errlen, "waves[%zu]: no node in %s %s", i,
			    pop ? "POP" : "region", pop ? pop : reg);
			return -1;
		}
	}
	return 0;
}

int
rollout_plan(struct rollout_cand *c, size_t n, const json_t *waves,
    bool all_at_once, char names[][32], char *err, size_t errlen)
{
	struct rollout_cand **order;
	json_t *def = NULL, *w;
	size_t m, i, done = 0, taken;
	int nw = 0;
	char name[32];

	if (!all_at_once && waves != NULL &&
	    plan_names_exist(c, n, waves, err, errlen) != 0)
		return -1;
	if ((order = plan_order(c, n, &m)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (all_at_once)
		def = json_pack("[{s:i}]", "percent", 100);
	else if (waves == NULL) {
		/* canary, the rest of its POP, 10 %, 50 %, 100 % */
		def = json_pack("[{s:i},{s:s},{s:i},{s:i},{s:i}]", "count", 1,
		    "pop", m > 0 ? order[0]->pop : "", "percent", 10, "percent",
		    50, "percent", 100);
	}
	json_array_foreach(def ? def : waves, i, w)
	{
		const char *pop = json_string_value(json_object_get(w, "pop"));
		const char *reg =
		    json_string_value(json_object_get(w, "region"));
		json_int_t cnt =
		    json_integer_value(json_object_get(w, "count"));
		json_int_t pct =
		    json_integer_value(json_object_get(w, "percent"));
		size_t limit = m, want;

		if (cnt > 0) {
			limit = (size_t)cnt;
			snprintf(name, sizeof(name),
			    def != NULL && i == 0 ? "canary" : "%lld nodes",
			    (long long)cnt);
		} else if (pct > 0) {
			want = (m * (size_t)pct + 99) / 100; /* rounded up */
			limit = want > done ? want - done : 0;
			snprintf(name, sizeof(name),
			    all_at_once ? "all" : "%lld%%", (long long)pct);
		} else if (pop != NULL)
			snprintf(name, sizeof(name), "pop %s", pop);
		else
			snprintf(name, sizeof(name), "region %s", reg);
		if (nw >= ROLLOUT_MAX_WAVES)
			break;
		taken = plan_take(order, m, limit, nw, pop, reg);
		if (taken == 0)
			continue; /* an empty wave is dropped */
		if (names != NULL)
			util_strlcpy(names[nw], name, 32);
		done += taken;
		nw++;
	}
	/* Whatever the custom waves left out goes last. */
	if (done < m) {
		if (nw == ROLLOUT_MAX_WAVES)
			nw--;
		else if (names != NULL)
			util_strlcpy(names[nw], "rest", 32);
		plan_take(order, m, m, nw, NULL, NULL);
		nw++;
	}
	json_decref(def);
	free(order);
	return nw;
}
