#include <arpa/inet.h>
#include <string.h>

#include "common/json.h"
#include "common/util.h"
#include "cp/api.h"
#include "cp/generation.h"
#include "cp/live.h"
#include "cp/probe.h"
#include "cp/rollout.h"
#include "cp/session.h"
#include "cp/store.h"

json_t *
api_node_view(json_t *row, int64_t now)
{
	const char *id = json_string_value(json_object_get(row, "id"));
	struct live_node *n = id ? live_get(id) : NULL;
	json_t *status = json_object_get(row, "status");

	if (n != NULL) {
		int64_t seen = atomic_load(&n->last_seen);
		char addr[LIVE_ADDR_MAX];
		json_t *probe = probe_view(n);

		json_object_set_new(row, "health",
		    json_string(
			live_health_name(live_health(n, now, cp.interval_s))));
		json_object_set_new(row, "last_seen", json_integer(seen));
		pthread_mutex_lock(&n->mu);
		util_strlcpy(addr, n->addr, sizeof(addr));
		pthread_mutex_unlock(&n->mu);
		/* Where its signed requests come from: where it is probed. */
		json_object_set_new(row, "address",
		    addr[0] != '\0' ? json_string(addr) : json_null());
		json_object_set_new(
		    row, "probe", probe != NULL ? probe : json_null());
		live_put(n);
	} else
		json_object_set_new(row, "health", json_string("unknown"));
	json_object_set_new(row, "drain",
	    json_boolean(
		json_integer_value(json_object_get(row, "drain")) != 0));
	/* Lift what operators look for first out of the report. */
	json_object_set_new(row, "versions",
	    json_is_object(status) && json_object_get(status, "versions")
		? json_incref(json_object_get(status, "versions"))
		: json_object());
	json_object_set_new(row, "announced",
	    json_is_object(status) && json_object_get(status, "announced")
		? json_incref(json_object_get(status, "announced"))
		: json_array());
	return row;
}

int
api_nodes_list(struct req *r)
{
	const char *pop = req_query(r, "pop");
	json_t *nodes, *n, *out;
	int64_t now = util_now();
	size_t i;
	int rc;

	if ((rc = store_node_list(cp.store, &nodes)) != STORE_OK)
		return reply_store_error(r, rc, "nodes");
	if ((out = json_array()) == NULL) {
		json_decref(nodes);
		return reply_error(r, 500, "internal", "out of memory");
	}
	json_array_foreach(nodes, i, n)
	{
		if (pop != NULL &&
		    strcmp(pop, json_string_value(json_object_get(n, "pop"))) !=
			0)
			continue;
		/* The full report stays on the detail view. */
		json_object_del(n, "facts");
		api_node_view(json_incref(n), now);
		json_object_del(n, "status");
		json_array_append(out, n);
		json_decref(n);
	}
	json_decref(nodes);
	return reply_json(r, 200, json_pack("{s:o}", "nodes", out));
}

int
api_nodes_show(struct req *r)
{
	json_t *n;
	int rc;

	if (!util_name_ok(r->params[0]))
		return reply_error(r, 404, "not_found", "no such node");
	if ((rc = store_node_get(cp.store, r->params[0], &n)) != STORE_OK)
		return reply_store_error(r, rc, "node");
	return reply_json(r, 200, api_node_view(n, util_now()));
}

static int
nodes_drain(struct req *r, bool drain)
{
	struct live_node *n;
	int rc;

	if (!util_name_ok(r->params[0]))
		return reply_error(r, 404, "not_found", "no such node");
	rc = store_node_set_drain(cp.store, r->params[0], drain, r->actor);
	if (rc != STORE_OK)
		return reply_store_error(r, rc, "node");
	if ((n = live_get(r->params[0])) != NULL) {
		live_set_drain(n, drain);
		live_put(n);
	}
	return api_nodes_show(r);
}

int
api_nodes_drain(struct req *r)
{
	return nodes_drain(r, true);
}

int
api_nodes_undrain(struct req *r)
{
	return nodes_drain(r, false);
}

/*
 * PATCH /v1/nodes/{id} {"router_id": "A.B.C.D" | null}: the router id
 * BIRD uses on this node (null: the one in its facts again).
 */
int
api_nodes_patch(struct req *r)
{
	static const char *const keys[] = { "router_id", NULL };
	const char *rid = NULL;
	struct live_node *n;
	unsigned char bin[4];
	char err[256];
	json_t *v;
	int rc;

	if (!util_name_ok(r->params[0]))
		return reply_error(r, 404, "not_found", "no such node");
	if (jfield_only(r->json, keys, err, sizeof(err)) != 0)
		return reply_error(r, 400, "invalid_field", "%s", err);
	if ((v = json_object_get(r->json, "router_id")) == NULL)
		return reply_error(r, 400, "invalid_field",
		    "router_id: required (an IPv4 address, or null)");
	if (!json_is_null(v) &&
	    ((rid = json_string_value(v)) == NULL ||
		inet_pton(AF_INET, rid, bin) != 1))
		return reply_error(r, 400, "invalid_field",
		    "router_id: must be an IPv4 address or null");
	rc = store_node_set_router_id(cp.store, r->params[0], rid, r->actor);
	if (rc != STORE_OK)
		return reply_store_error(r, rc, "node");
	if ((n = live_get(r->params[0])) != NULL) {
		/* Its desired state changed: a new ETag on the next fetch. */
		atomic_fetch_add(&n->local_epoch, 1);
		live_put(n);
	}
	return api_nodes_show(r);
}

int
api_nodes_delete(struct req *r)
{
	struct live_node *n;
	unsigned char pk[32];
	bool have_pk = false;
	int rc;

	if (!util_name_ok(r->params[0]))
		return reply_error(r, 404, "not_found", "no such node");
	if ((n = live_get(r->params[0])) != NULL) {
		memcpy(pk, n->public_key, sizeof(pk));
		have_pk = true;
		live_put(n);
	}
	if ((rc = store_node_delete(cp.store, r->params[0], r->actor)) !=
	    STORE_OK)
		return reply_store_error(r, rc, "node");
	/* Outside the database too: a restored copy removes it again. */
	if (have_pk)
		gen_revoked_add("node", pk);
	/* Revocation is immediate: the next request of any session fails. */
	if ((n = live_get(r->params[0])) != NULL) {
		session_close_node(n);
		live_put(n);
	}
	live_remove(r->params[0]);
	return reply_json(
	    r, 200, json_pack("{s:s,s:b}", "id", r->params[0], "removed", 1));
}

struct fleet_acc {
	int64_t now;
	json_t *by_health, *by_pop, *versions;
};

static void
fleet_count(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	json_object_set_new(obj, key, json_integer(json_integer_value(v) + 1));
}

static void
fleet_node(struct live_node *n, void *arg)
{
	struct fleet_acc *a = arg;
	const char *h = live_health_name(live_health(n, a->now, cp.interval_s));
	json_t *pop = json_object_get(a->by_pop, n->pop);
	char v[3][LIVE_VERSION_MAX];
	static const char *const comps[] = { "profile", "dataplane", "keeper" };
	int i;

	if (pop == NULL) {
		pop = json_object();
		json_object_set_new(a->by_pop, n->pop, pop);
	}
	fleet_count(a->by_health, h);
	fleet_count(pop, h);
	pthread_mutex_lock(&n->mu);
	memcpy(v[0], n->v_profile, sizeof(v[0]));
	memcpy(v[1], n->v_dataplane, sizeof(v[1]));
	memcpy(v[2], n->v_keeper, sizeof(v[2]));
	pthread_mutex_unlock(&n->mu);
	for (i = 0; i < 3; i++) {
		json_t *c = json_object_get(a->versions, comps[i]);

		if (v[i][0] != '\0')
			fleet_count(c, v[i]);
	}
}

int
api_fleet(struct req *r)
{
	struct fleet_acc a = { util_now(), json_object(), json_object(),
		json_pack(
		    "{s:{},s:{},s:{}}", "profile", "dataplane", "keeper") };
	json_t *rollouts;
	char by[64];
	int rc;

	if (a.by_health == NULL || a.by_pop == NULL || a.versions == NULL) {
		json_decref(a.by_health);
		json_decref(a.by_pop);
		json_decref(a.versions);
		return reply_error(r, 500, "internal", "out of memory");
	}
	live_each(fleet_node, &a);
	if ((rc = store_rollout_list(cp.store, true, &rollouts)) != STORE_OK) {
		json_decref(a.by_health);
		json_decref(a.by_pop);
		json_decref(a.versions);
		return reply_store_error(r, rc, "rollouts");
	}
	if (store_meta_get(cp.store, "freeze", by, sizeof(by)) != STORE_OK)
		by[0] = '\0';
	return reply_json(r, 200,
	    json_pack("{s:I,s:o,s:o,s:o,s:o,s:b,s:o,s:b}", "nodes",
		(json_int_t)live_count(), "by_health", a.by_health, "by_pop",
		a.by_pop, "versions", a.versions, "active_rollouts", rollouts,
		"frozen", by[0] != '\0', "frozen_by",
		by[0] != '\0' ? json_string(by) : json_null(), "two_person",
		cp.two_person));
}
