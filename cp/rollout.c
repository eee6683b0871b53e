#include "cp/rollout.h"

#include <string.h>

#include "common/log.h"
#include "cp/live.h"
#include "cp/server.h"
#include "cp/store.h"

/* The version a node last reported for a component. */
static bool
rollout_node_has(const char *id, const char *component, const char *version)
{
	struct live_node *n = live_get(id);
	bool ok = false;

	if (n == NULL)
		return false;
	pthread_mutex_lock(&n->mu);
	if (strcmp(component, "profile") == 0)
		ok = strcmp(n->v_profile, version) == 0;
	else if (strcmp(component, "dataplane") == 0)
		ok = strcmp(n->v_dataplane, version) == 0;
	else if (strcmp(component, "keeper") == 0)
		ok = strcmp(n->v_keeper, version) == 0;
	pthread_mutex_unlock(&n->mu);
	live_put(n);
	return ok;
}

json_t *
rollout_progress(const json_t *ro)
{
	const char *comp = json_string_value(json_object_get(ro, "component"));
	const char *ver = json_string_value(json_object_get(ro, "version"));
	json_int_t id = json_integer_value(json_object_get(ro, "id"));
	json_t *ids, *v, *pending;
	size_t i, applied = 0;

	if (comp == NULL || ver == NULL ||
	    store_rollout_nodes(cp.store, id, &ids) != STORE_OK)
		return NULL;
	if ((pending = json_array()) == NULL) {
		json_decref(ids);
		return NULL;
	}
	json_array_foreach(ids, i, v)
	{
		if (rollout_node_has(json_string_value(v), comp, ver))
			applied++;
		else if (json_array_size(pending) < 100)
			json_array_append(pending, v);
	}
	v = json_pack("{s:I,s:I,s:o}", "nodes",
	    (json_int_t)json_array_size(ids), "applied", (json_int_t)applied,
	    "pending", pending);
	json_decref(ids);
	return v;
}

void
rollout_tick(int64_t now)
{
	json_t *list, *ro, *p;
	size_t i;

	(void)now;
	if (store_rollout_list(cp.store, true, &list) != STORE_OK)
		return;
	json_array_foreach(list, i, ro)
	{
		const char *state =
		    json_string_value(json_object_get(ro, "state"));
		json_int_t id = json_integer_value(json_object_get(ro, "id"));

		if (state == NULL || strcmp(state, "running") != 0)
			continue;
		if ((p = rollout_progress(ro)) == NULL)
			continue;
		if (json_integer_value(json_object_get(p, "applied")) ==
		    json_integer_value(json_object_get(p, "nodes"))) {
			if (store_rollout_finish(cp.store, id, "completed",
				"every node reports the target version",
				"edge-cp") == STORE_OK) {
				live_bump_global();
				log_info("event=rollout_completed rollout=%lld",
				    (long long)id);
			}
		}
		json_decref(p);
	}
	json_decref(list);
}
