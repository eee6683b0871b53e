/*
 * Operator endpoints other than POPs, nodes and releases: tokens, the
 * profile, rollouts, events, plus liveness, metrics and the dashboard.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "cp/api.h"
#include "cp/generation.h"
#include "cp/auth.h"
#include "cp/embedded.h"
#include "cp/live.h"
#include "cp/metrics.h"
#include "cp/rollout.h"
#include "cp/sse.h"
#include "cp/store.h"
#include "cp/validate.h"

int
api_healthz(struct req *r)
{
	return reply_json(r, 200,
	    json_pack("{s:s,s:I}", "status", "ok", "uptime_s",
		(json_int_t)(util_now() - cp.started_at)));
}

int
api_metrics(struct req *r)
{
	size_t len;
	char *txt = metrics_render(util_now(), cp.interval_s, &len);

	if (txt == NULL)
		return reply_error(r, 500, "internal", "out of memory");
	reply_data(r, 200, "text/plain; version=0.0.4", txt, len);
	free(txt);
	return 0;
}

/* An API token may live up to ten years; 0 (no ttl_s): until revoked. */
#define APITOKEN_TTL_MAX (3650LL * 86400)

int
api_apitokens_create(struct req *r)
{
	static const char *const keys[] = { "name", "role", "ttl_s", NULL };
	const char *name = NULL, *role = NULL;
	char err[256], token[AUTH_TOKEN_LEN];
	unsigned char hash[32];
	int64_t ttl = 0, expires = 0;
	int rc;

	if (jfield_only(r->json, keys, err, sizeof(err)) != 0 ||
	    jfield_str(r->json, "name", true, 32, &name, err, sizeof(err)) !=
		0 ||
	    jfield_str(r->json, "role", true, 16, &role, err, sizeof(err)) !=
		0 ||
	    jfield_int(r->json, "ttl_s", false, 1, APITOKEN_TTL_MAX, &ttl, err,
		sizeof(err)) != 0)
		return reply_error(r, 400, "invalid_field", "%s", err);
	if (!util_name_ok(name))
		return reply_error(r, 400, "invalid_field",
		    "name: must match "
		    "[a-z0-9][a-z0-9-]{0,31}");
	/*
	 * edge-cp is the actor of what edge-cp does itself (the engine, the
	 * first admin token's maker): no token may pass for it in the event
	 * log or in the two-person rule's family tree.
	 */
	if (strcmp(name, "edge-cp") == 0)
		return reply_error(r, 400, "invalid_field",
		    "name: edge-cp is reserved for edge-cp itself");
	if (auth_role_parse(role) == ROLE_NONE)
		return reply_error(r, 400, "invalid_field",
		    "role: must be "
		    "viewer, operator or admin");
	if (ttl > 0)
		expires = util_now() + ttl;
	if (auth_token_new("efa", token, sizeof(token)) != 0 ||
	    auth_token_hash(token, hash) != 0)
		return reply_error(r, 500, "internal", "cannot make a token");
	rc = store_apitoken_add(cp.store, name, role, hash, expires, r->actor);
	if (rc != STORE_OK) {
		sodium_memzero(token, sizeof(token));
		if (rc == STORE_CONFLICT)
			return reply_error(r, 409, "conflict",
			    "an API token named %s exists; revoke it first or "
			    "pick another name",
			    name);
		return reply_store_error(r, rc, "API token");
	}
	reply_json(r, 201,
	    json_pack("{s:s,s:s,s:s,s:o}", "name", name, "role", role, "token",
		token, "expires_at",
		expires ? json_integer(expires) : json_null()));
	sodium_memzero(token, sizeof(token));
	return 0;
}

int
api_apitokens_list(struct req *r)
{
	json_t *list;
	int rc;

	if ((rc = store_apitoken_list(cp.store, util_now(), &list)) != STORE_OK)
		return reply_store_error(r, rc, "API tokens");
	return reply_json(r, 200, json_pack("{s:o}", "api_tokens", list));
}

int
api_apitokens_revoke(struct req *r)
{
	const char *name = r->params[0];
	unsigned char hash[32];
	bool have_hash;
	int rc;

	if (!util_name_ok(name))
		return reply_error(
		    r, 404, "not_found", "no API token by that name");
	have_hash = store_apitoken_hash(cp.store, name, hash) == STORE_OK;
	rc = store_apitoken_revoke(cp.store, name, util_now(), r->actor);
	if (rc == STORE_NOTFOUND)
		return reply_error(
		    r, 404, "not_found", "no API token named %s", name);
	if (rc == STORE_CONFLICT)
		return reply_error(r, 409, "conflict",
		    "%s is the last admin token that works; make another "
		    "admin token first",
		    name);
	if (rc != STORE_OK)
		return reply_store_error(r, rc, "API token");
	/* Outside the database too: a restored copy revokes it again. */
	if (have_hash)
		gen_revoked_add("api_token", hash);
	/*
	 * Requests with the token fail from now on (auth reads the store
	 * every time); its open event streams end at their next wake-up,
	 * which the revoke's own event is.
	 */
	return reply_json(
	    r, 200, json_pack("{s:s,s:b}", "name", name, "revoked", 1));
}

int
api_base_url(struct req *r, char *buf, size_t len)
{
	const char *host = req_header(r, "Host");
	size_t i;

	if (cp.public_url[0] != '\0') {
		util_strlcpy(buf, cp.public_url, len);
		return 0;
	}
	if (host == NULL || host[0] == '\0' || strlen(host) > 200)
		return -1;
	for (i = 0; host[i] != '\0'; i++)
		if (strchr(
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789.-:[]",
			host[i]) == NULL)
			return -1;
	snprintf(buf, len, "https://%s", host);
	return 0;
}

int
api_enrolltokens_create(struct req *r)
{
	static const char *const keys[] = { "pop", "ttl_s", "uses", NULL };
	const char *pop = NULL;
	int64_t ttl = 3600, uses = 1, expires;
	char err[256], token[AUTH_TOKEN_LEN], base[256], cmd[768];
	unsigned char hash[32];
	int64_t id = 0;
	int rc;

	if (jfield_only(r->json, keys, err, sizeof(err)) != 0 ||
	    jfield_str(r->json, "pop", true, 32, &pop, err, sizeof(err)) != 0 ||
	    jfield_int(r->json, "ttl_s", false, 60, 7 * 86400, &ttl, err,
		sizeof(err)) != 0 ||
	    jfield_int(r->json, "uses", false, 1, 100000, &uses, err,
		sizeof(err)) != 0)
		return reply_error(r, 400, "invalid_field", "%s", err);
	if (!util_name_ok(pop))
		return reply_error(r, 400, "invalid_field",
		    "pop: must match "
		    "[a-z0-9][a-z0-9-]{0,31}");
	if (api_base_url(r, base, sizeof(base)) != 0)
		return reply_error(r, 400, "invalid_field",
		    "Host header "
		    "missing or odd; start edge-cp with --public-url");
	if (auth_token_new("efe", token, sizeof(token)) != 0 ||
	    auth_token_hash(token, hash) != 0)
		return reply_error(r, 500, "internal", "cannot make a token");
	expires = util_now() + ttl;
	rc = store_enrolltoken_add(
	    cp.store, hash, pop, uses, expires, r->actor, &id);
	if (rc != STORE_OK) {
		sodium_memzero(token, sizeof(token));
		if (rc == STORE_INVALID)
			return reply_error(r, 404, "not_found",
			    "no such POP "
			    "%s",
			    pop);
		return reply_store_error(r, rc, "enrollment token");
	}
	/*
	 * The pin is the trust anchor, so curl is told not to look for a CA
	 * (-k): it still refuses any certificate whose key is not pinned.
	 */
	snprintf(cmd, sizeof(cmd),
	    "curl -fsSL --retry 5 -k --pinnedpubkey '%s' "
	    "%s/v1/bootstrap.sh | sudo EDGE_TOKEN=%s sh",
	    cp.pin, base, token);
	reply_json(r, 201,
	    json_pack("{s:I,s:s,s:s,s:I,s:I,s:s}", "id", (json_int_t)id,
		"token", token, "pop", pop, "uses", (json_int_t)uses,
		"expires_at", (json_int_t)expires, "bootstrap_command", cmd));
	sodium_memzero(token, sizeof(token));
	sodium_memzero(cmd, sizeof(cmd));
	return 0;
}

/* ?all=true: every token, spent, expired and revoked ones too. */
int
api_enrolltokens_list(struct req *r)
{
	const char *a = req_query(r, "all");
	json_t *list;
	bool all = false;
	int rc;

	if (a != NULL) {
		if (strcmp(a, "true") != 0 && strcmp(a, "false") != 0)
			return reply_error(r, 400, "invalid_field",
			    "all: must be true or false");
		all = strcmp(a, "true") == 0;
	}
	rc = store_enrolltoken_list(cp.store, util_now(), all, &list);
	if (rc != STORE_OK)
		return reply_store_error(r, rc, "enrollment tokens");
	return reply_json(
	    r, 200, json_pack("{s:o}", "enrollment_tokens", list));
}

int
api_enrolltokens_revoke(struct req *r)
{
	int64_t id;
	int rc;

	if (util_parse_i64(r->params[0], 1, INT64_MAX, &id) != 0)
		return reply_error(r, 400, "invalid_field",
		    "id: must be an enrollment token's id, a positive "
		    "integer (GET /v1/enrollment-tokens lists them)");
	rc = store_enrolltoken_revoke(cp.store, id, util_now(), r->actor);
	if (rc == STORE_NOTFOUND)
		return reply_error(r, 404, "not_found",
		    "no enrollment token %lld, or it is revoked already",
		    (long long)id);
	if (rc != STORE_OK)
		return reply_store_error(r, rc, "enrollment token");
	/* The next enrollment with it is refused (store_enroll). */
	return reply_json(
	    r, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id, "revoked", 1));
}

int
api_profile_get(struct req *r)
{
	const char *v = req_query(r, "version");
	int64_t version = 0;
	json_t *p;
	int rc;

	if (v != NULL && util_parse_i64(v, 1, INT64_MAX, &version) != 0)
		return reply_error(r, 400, "invalid_field",
		    "version: must be "
		    "a positive integer");
	if ((rc = store_profile_get(cp.store, version, &p)) != STORE_OK)
		return reply_store_error(r, rc, "profile");
	return reply_json(r, 200, p);
}

int
api_profile_put(struct req *r)
{
	json_t *p;
	char err[256], *txt;
	int64_t version;
	int rc;

	if (validate_profile(r->json, &p, err, sizeof(err)) != 0)
		return reply_error(r, 400, "invalid_field", "%s", err);
	txt = json_dump_canonical(p, NULL);
	json_decref(p);
	if (txt == NULL)
		return reply_error(r, 500, "internal", "out of memory");
	rc = store_profile_put(cp.store, txt, r->actor, &version);
	free(txt);
	if (rc != STORE_OK)
		return reply_store_error(r, rc, "profile");
	/* A new version reaches nodes only through a rollout. */
	return reply_json(
	    r, 201, json_pack("{s:I}", "version", (json_int_t)version));
}

int
api_second_person(struct req *r, const char *by, const char *action,
    const char *object, const char *what)
{
	char detail[256];
	bool related = true;
	int rc;

	rc = store_apitoken_related(cp.store, by, r->actor, &related);
	if (rc != STORE_OK) {
		reply_store_error(r, rc, "API tokens");
		return -1;
	}
	if (!related)
		return 0;
	/* Names are [a-z0-9-] (util_name_ok) or "edge-cp": no quoting. */
	snprintf(detail, sizeof(detail),
	    "{\"by\":\"%.63s\",\"refused\":\"%.63s\",\"rule\":"
	    "\"two_person\"}",
	    by, r->actor);
	if (store_event_add(cp.store, r->actor, action, object, detail) !=
	    STORE_OK)
		log_warnx("event=two_person_event_lost action=%s object=%s "
			  "actor=%s",
		    action, object, r->actor);
	log_warnx("event=two_person_refused action=%s object=%s by=%s "
		  "actor=%s",
	    action, object, by, r->actor);
	reply_error(r, 403, "same_person",
	    "the two-person rule: %s may not %s; it needs another "
	    "person's token: not %s, not made by it, not its maker, and "
	    "not made by the same token (the first admin token aside)",
	    r->actor, what, by);
	return -1;
}

static int
rollout_reply(struct req *r, unsigned status, int64_t id)
{
	json_t *ro = rollout_view(id);

	if (ro == NULL)
		return reply_error(r, 404, "not_found", "no such rollout");
	return reply_json(r, status, ro);
}

/*
 * The plan for a rollout: every node of the fleet, healthy ones in a
 * wave.  *cand and *rows point into *nodes (free it after them).
 */
static int
rollout_make_plan(struct req *r, const struct rollout_params *p,
    bool all_at_once, json_t **nodes, struct rollout_cand **cand,
    char names[][32], int *nwaves)
{
	int64_t now = util_now();
	json_t *n;
	size_t i, count;
	char err[256];
	int rc;

	*cand = NULL;
	if ((rc = store_rollout_candidates(cp.store, nodes)) != STORE_OK) {
		reply_store_error(r, rc, "nodes");
		return -1;
	}
	count = json_array_size(*nodes);
	if ((*cand = calloc(count + 1, sizeof(**cand))) == NULL) {
		reply_error(r, 500, "internal", "out of memory");
		return -1;
	}
	json_array_foreach(*nodes, i, n)
	{
		struct live_node *ln;

		(*cand)[i].id = json_string_value(json_object_get(n, "id"));
		(*cand)[i].pop = json_string_value(json_object_get(n, "pop"));
		(*cand)[i].region =
		    json_string_value(json_object_get(n, "region"));
		/*
		 * Healthy, or new (enrolled, no report yet: nothing of it can
		 * be broken); degraded, unreachable and drained nodes are left
		 * out of the plan, except that a rollback is what degraded
		 * nodes need: it takes them too.
		 */
		if ((ln = live_get((*cand)[i].id)) != NULL) {
			enum live_health h =
			    live_health(ln, now, cp.interval_s);

			(*cand)[i].healthy = h == HEALTH_HEALTHY ||
			    h == HEALTH_ENROLLED ||
			    (p->rollback && h == HEALTH_DEGRADED);
			live_put(ln);
		}
	}
	*nwaves = rollout_plan(
	    *cand, count, p->waves, all_at_once, names, err, sizeof(err));
	if (*nwaves < 0) {
		reply_error(r, 400, "invalid_field", "%s", err);
		return -1;
	}
	return 0;
}

/* dry_run: the waves with their nodes and POPs, nothing stored. */
static json_t *
rollout_plan_json(
    const struct rollout_cand *cand, size_t n, char names[][32], int nwaves)
{
	json_t *waves = json_array(), *skipped = json_array();
	int w;
	size_t i;

	for (w = 0; w < nwaves; w++) {
		json_t *ids = json_array(), *pops = json_object();

		for (i = 0; i < n; i++)
			if (cand[i].wave == w) {
				json_t *c = json_object_get(pops, cand[i].pop);

				json_array_append_new(
				    ids, json_string(cand[i].id));
				json_object_set_new(pops, cand[i].pop,
				    json_integer(
					c ? json_integer_value(c) + 1 : 1));
			}
		json_array_append_new(waves,
		    json_pack("{s:i,s:s,s:I,s:o,s:o}", "wave", w + 1, "name",
			names[w], "count", (json_int_t)json_array_size(ids),
			"pops", pops, "nodes", ids));
	}
	for (i = 0; i < n; i++)
		if (cand[i].wave < 0)
			json_array_append_new(skipped, json_string(cand[i].id));
	return json_pack("{s:o,s:o}", "waves", waves, "skipped", skipped);
}

int
api_rollouts_create(struct req *r)
{
	static const char *const keys[] = { "component", "version", "strategy",
		"rollback", "waves", "bake_s", "min_reports",
		"max_unavailable_per_pop", "pop_min_healthy", "deadline_s",
		"unhealthy_s", "auto_rollback", "approval", "dry_run", "probe",
		NULL };
	const char *comp = NULL, *ver = NULL, *strategy = "waves";
	char err[256], names[ROLLOUT_MAX_WAVES][32], *ptxt = NULL, *ntxt = NULL;
	struct rollout_params p;
	struct rollout_cand *cand = NULL;
	struct store_plan_row *rows = NULL;
	struct store_rollout_new ro;
	json_t *nodes = NULL, *nj;
	bool dry = false, once, second;
	int64_t id;
	int rc, nwaves, ret;
	size_t i, n, first;

	if (jfield_only(r->json, keys, err, sizeof(err)) != 0 ||
	    jfield_str(
		r->json, "component", true, 16, &comp, err, sizeof(err)) != 0 ||
	    jfield_str(r->json, "version", true, 64, &ver, err, sizeof(err)) !=
		0 ||
	    jfield_str(r->json, "strategy", false, 16, &strategy, err,
		sizeof(err)) != 0 ||
	    jfield_bool(r->json, "dry_run", false, &dry, err, sizeof(err)) != 0)
		return reply_error(r, 400, "invalid_field", "%s", err);
	if (strcmp(comp, "dataplane") != 0 && strcmp(comp, "keeper") != 0 &&
	    strcmp(comp, "profile") != 0)
		return reply_error(r, 400, "invalid_field",
		    "component: must be "
		    "dataplane, keeper or profile");
	if (!util_version_ok(ver))
		return reply_error(r, 400, "invalid_field",
		    "version: must "
		    "match [A-Za-z0-9][A-Za-z0-9._+-]{0,63}");
	if (strcmp(strategy, "all_at_once") != 0 &&
	    strcmp(strategy, "waves") != 0)
		return reply_error(r, 400, "invalid_field",
		    "strategy: must be "
		    "waves or all_at_once");
	once = strcmp(strategy, "all_at_once") == 0;
	if (rollout_params_parse(r->json, strategy, &p, err, sizeof(err)) != 0)
		return reply_error(r, 400, "invalid_field", "%s", err);
	if (rollout_make_plan(r, &p, once, &nodes, &cand, names, &nwaves) !=
	    0) {
		ret = 0;
		goto out;
	}
	n = json_array_size(nodes);
	for (i = 0, first = 0; i < n; i++)
		first += cand[i].wave == 0;
	second = cp.two_person && rollout_needs_second(comp, once, first);
	if (dry) {
		json_t *plan = rollout_plan_json(cand, n, names, nwaves);

		json_object_set_new(
		    plan, "second_person_needed", json_boolean(second));
		ret = reply_json(r, 200, plan);
		goto out;
	}
	p.second_person = cp.two_person;
	nj = json_array();
	for (i = 0; i < (size_t)nwaves; i++)
		json_array_append_new(nj, json_string(names[i]));
	ntxt = json_dump_canonical(nj, NULL);
	json_decref(nj);
	nj = rollout_params_json(&p);
	ptxt = nj ? json_dump_canonical(nj, NULL) : NULL;
	json_decref(nj);
	if ((rows = calloc(n + 1, sizeof(*rows))) == NULL || ntxt == NULL ||
	    ptxt == NULL) {
		ret = reply_error(r, 500, "internal", "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		rows[i].node_id = cand[i].id;
		rows[i].pop = cand[i].pop;
		rows[i].wave = cand[i].wave;
	}
	memset(&ro, 0, sizeof(ro));
	ro.component = comp;
	ro.version = ver;
	ro.strategy = strategy;
	/* Nothing moves until a second person promotes it. */
	ro.state = second ? "approval" : "running";
	ro.rollback = p.rollback;
	ro.params = ptxt;
	ro.wave_names = ntxt;
	ro.nwaves = nwaves;
	ro.plan = rows;
	ro.nplan = n;
	rc = store_rollout_create(cp.store, &ro, r->actor, &id);
	if (rc == STORE_INVALID)
		ret = reply_error(r, 422, "unknown_version",
		    "%s version %s does not exist", comp, ver);
	else if (rc == STORE_ROLLBACK)
		ret = reply_error(r, 409, "rollback_required",
		    "%s %s is older than the baseline's; say "
		    "\"rollback\": true to go back to it",
		    comp, ver);
	else if (rc == STORE_CONFLICT)
		ret = reply_error(r, 409, "rollout_active",
		    "another %s rollout is active; finish or abort it first",
		    comp);
	else if (rc != STORE_OK)
		ret = reply_store_error(r, rc, "rollout");
	else {
		/* The engine moves the first nodes at once, not a tick later. */
		rollout_tick(util_now());
		ret = rollout_reply(r, 201, id);
	}
out:
	rollout_params_clear(&p);
	free(rows);
	free(cand);
	free(ptxt);
	free(ntxt);
	json_decref(nodes);
	return ret;
}

int
api_rollouts_list(struct req *r)
{
	json_t *list;
	int rc;

	if ((rc = store_rollout_list(cp.store, false, &list)) != STORE_OK)
		return reply_store_error(r, rc, "rollouts");
	return reply_json(r, 200, json_pack("{s:o}", "rollouts", list));
}

static int
rollout_id(struct req *r, int64_t *id)
{
	if (util_parse_i64(r->params[0], 1, INT64_MAX, id) != 0) {
		reply_error(r, 404, "not_found", "no such rollout");
		return -1;
	}
	return 0;
}

int
api_rollouts_show(struct req *r)
{
	int64_t id;

	if (rollout_id(r, &id) != 0)
		return 0;
	return rollout_reply(r, 200, id);
}

int
api_rollouts_abort(struct req *r)
{
	char reason[128];
	int64_t id;
	int rc;

	if (rollout_id(r, &id) != 0)
		return 0;
	snprintf(reason, sizeof(reason), "aborted by %s", r->actor);
	rc = store_rollout_finish(cp.store, id, "aborted", reason, r->actor);
	if (rc == STORE_CONFLICT)
		return reply_error(r, 422, "invalid_transition",
		    "rollout %lld "
		    "is not active",
		    (long long)id);
	if (rc != STORE_OK)
		return reply_store_error(r, rc, "rollout");
	live_bump_global();
	return rollout_reply(r, 200, id);
}

/* pause, resume, promote: operator transitions between active states. */
static int
rollout_transition(
    struct req *r, const char *const *from, const char *to, const char *verb)
{
	char reason[128];
	int64_t id;
	size_t i;
	int rc = STORE_CONFLICT;

	if (rollout_id(r, &id) != 0)
		return 0;
	snprintf(reason, sizeof(reason), "%s by %s", verb, r->actor);
	for (i = 0; from[i] != NULL && rc == STORE_CONFLICT; i++)
		rc = store_rollout_set_state(
		    cp.store, id, from[i], to, reason, r->actor);
	if (rc == STORE_CONFLICT || rc == STORE_NOTFOUND)
		return reply_error(r, 422, "invalid_transition",
		    "rollout %lld cannot be %s from its state", (long long)id,
		    verb);
	if (rc != STORE_OK)
		return reply_store_error(r, rc, "rollout");
	live_bump_global();
	return rollout_reply(r, 200, id);
}

/*
 * Is the rollout held to the two-person rule (rollout.h)?  It is when it
 * was created under the rule or the rule is on now.  Fills *ro (the
 * caller frees it); -1 with the reply made when there is no rollout.
 */
static int
rollout_two_person(struct req *r, int64_t id, json_t **ro, bool *rule)
{
	int rc = store_rollout_get(cp.store, id, ro);

	if (rc == STORE_NOTFOUND) {
		reply_error(r, 404, "not_found", "no such rollout");
		return -1;
	}
	if (rc != STORE_OK) {
		reply_store_error(r, rc, "rollout");
		return -1;
	}
	*rule = cp.two_person ||
	    json_is_true(json_object_get(
		json_object_get(*ro, "params"), "second_person"));
	return 0;
}

static bool
rollout_in(const json_t *ro, const char *state)
{
	const char *st = json_string_value(json_object_get(ro, "state"));

	return st != NULL && strcmp(st, state) == 0;
}

int
api_rollouts_pause(struct req *r)
{
	static const char *const from[] = { "running", "approval", NULL };
	static const char *const running[] = { "running", NULL };
	json_t *ro = NULL;
	bool rule = false, held;
	int64_t id;

	if (rollout_id(r, &id) != 0 ||
	    rollout_two_person(r, id, &ro, &rule) != 0)
		return 0;
	held = rule && rollout_in(ro, "approval");
	json_decref(ro);
	/*
	 * A rollout waiting for a second person stays as it is: paused,
	 * anyone could resume it past the promote.  Waiting, it moves
	 * nothing anyway.
	 */
	if (held)
		return reply_error(r, 422, "invalid_transition",
		    "rollout %lld waits for a second person's promote "
		    "(two-person rule); promote or abort it",
		    (long long)id);
	return rollout_transition(r, rule ? running : from, "paused", "paused");
}

int
api_rollouts_resume(struct req *r)
{
	static const char *const from[] = { "paused", "halted", NULL };

	return rollout_transition(r, from, "running", "resumed");
}

int
api_rollouts_promote(struct req *r)
{
	static const char *const from[] = { "approval", NULL };
	const char *by;
	char obj[32];
	json_t *ro = NULL;
	bool rule = false, first = false;
	int64_t id;
	int rc = 0;

	if (rollout_id(r, &id) != 0 ||
	    rollout_two_person(r, id, &ro, &rule) != 0)
		return 0;
	/* Only a rollout that waits is promoted; the rest is 422 below. */
	if (rule && rollout_in(ro, "approval")) {
		by = json_string_value(json_object_get(ro, "created_by"));
		snprintf(obj, sizeof(obj), "rollout/%lld", (long long)id);
		rc = api_second_person(r, by ? by : "",
		    "rollout.promote_refused", obj,
		    "promote a rollout it created");
		first = json_integer_value(json_object_get(ro, "wave")) == 0;
	}
	json_decref(ro);
	if (rc != 0)
		return 0;
	return rollout_transition(r, from, "running",
	    rule && first ? "approved (second person)" : "promoted");
}

/* POST /v1/freeze sets the global freeze, DELETE clears it. */
int
api_freeze(struct req *r)
{
	bool on = strcmp(r->method, "POST") == 0;
	char by[64];
	int rc;

	/*
	 * The two-person rule: whoever froze the fleet (meta "freeze" holds
	 * the token's name) does not lift the freeze alone.
	 */
	if (!on && cp.two_person) {
		rc = store_meta_get(cp.store, "freeze", by, sizeof(by));
		if (rc != STORE_OK && rc != STORE_NOTFOUND)
			return reply_store_error(r, rc, "freeze");
		if (rc == STORE_OK && by[0] != '\0' &&
		    api_second_person(r, by, "freeze.off_refused", "freeze",
			"lift a freeze it set") != 0)
			return 0;
	}

	rc = store_meta_set(cp.store, "freeze", on ? r->actor : "",
	    on ? "freeze.on" : "freeze.off", r->actor);
	if (rc != STORE_OK)
		return reply_store_error(r, rc, "freeze");
	return reply_json(r, 200, json_pack("{s:b}", "frozen", on));
}

int
api_events(struct req *r)
{
	const char *a = req_query(r, "after"), *l = req_query(r, "limit");
	struct event_filter f;
	int64_t after = 0, limit = 100, oldest;
	json_t *ev;
	int rc;

	if ((a != NULL && util_parse_i64(a, 0, INT64_MAX, &after) != 0) ||
	    (l != NULL && util_parse_i64(l, 1, 1000, &limit) != 0))
		return reply_error(r, 400, "invalid_field",
		    "after and limit "
		    "must be integers (limit 1-1000)");
	if (sse_filter_parse(r, &f) != 0)
		return 0;
	/*
	 * The oldest kept after the list: new events do not move it, and
	 * should retention remove events between the two reads, the caller
	 * is told of a gap it may not have had rather than not told of one
	 * it had.
	 */
	if ((rc = store_event_list(cp.store, &f, after, limit, &ev)) !=
	    STORE_OK)
		return reply_store_error(r, rc, "events");
	if ((rc = store_event_oldest(cp.store, &oldest)) != STORE_OK) {
		json_decref(ev);
		return reply_store_error(r, rc, "events");
	}
	return reply_json(r, 200,
	    json_pack(
		"{s:o,s:I}", "events", ev, "oldest_id", (json_int_t)oldest));
}

/*
 * The page is cp/web/dashboard.html, compiled in (cp/embed.sh), sent with
 * a Content-Security-Policy that lets only its own script run (by the
 * script's hash, so no injected handler or script element does), talk
 * only to this edge-cp, and load nothing from anywhere else.
 */
static pthread_once_t csp_once = PTHREAD_ONCE_INIT;
static char csp[512];

static void
csp_make(void)
{
	const struct embedded_file *f = embedded_find("cp/web/dashboard.html");
	const char *page = f ? (const char *)f->data : "", *a, *b;
	unsigned char h[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(
	    crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];

	a = strstr(page, "<script>");
	b = a ? strstr(a, "</script>") : NULL;
	if (a == NULL || b == NULL) {
		util_strlcpy(csp, "default-src 'none'", sizeof(csp));
		return;
	}
	a += strlen("<script>");
	crypto_hash_sha256(h, (const unsigned char *)a, (size_t)(b - a));
	sodium_bin2base64(
	    b64, sizeof(b64), h, sizeof(h), sodium_base64_VARIANT_ORIGINAL);
	snprintf(csp, sizeof(csp),
	    "default-src 'none'; script-src 'sha256-%s'; "
	    "style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' "
	    "data:; base-uri 'none'; form-action 'none'; "
	    "frame-ancestors 'none'",
	    b64);
}

int
api_dashboard(struct req *r)
{
	const struct embedded_file *f = embedded_find("cp/web/dashboard.html");

	if (f == NULL)
		return reply_error(
		    r, 404, "not_found", "no dashboard built in");
	pthread_once(&csp_once, csp_make);
	reply_data(
	    r, 200, "text/html; charset=utf-8", (const char *)f->data, f->len);
	reply_header(r, "Content-Security-Policy", csp);
	reply_header(r, "X-Content-Type-Options", "nosniff");
	reply_header(r, "Referrer-Policy", "no-referrer");
	return 0;
}

int
api_whoami(struct req *r)
{
	return reply_json(r, 200,
	    json_pack("{s:s, s:s}", "name", r->actor, "role",
		auth_role_name(r->role)));
}
