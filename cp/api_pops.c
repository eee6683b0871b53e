#include <stdlib.h>
#include <string.h>

#include "common/bgpconf.h"
#include "common/json.h"
#include "common/util.h"
#include "cp/api.h"
#include "cp/live.h"
#include "cp/store.h"
#include "cp/validate.h"

/*
 * BGP session passwords go to the POP's nodes in their desired state, but
 * never back out of the operator API: "password_set" says one exists.
 */
static json_t *
pop_redact(json_t *pop)
{
	json_t *n;
	size_t i;

	json_array_foreach(
	    json_object_get(json_object_get(pop, "bgp"), "neighbors"), i, n)
	{
		if (json_object_get(n, "password") != NULL) {
			json_object_del(n, "password");
			json_object_set_new(n, "password_set", json_true());
		}
	}
	return pop;
}

int
api_pops_list(struct req *r)
{
	json_t *pops, *p;
	size_t i;
	int rc;

	if ((rc = store_pop_list(cp.store, &pops)) != STORE_OK)
		return reply_store_error(r, rc, "pops");
	json_array_foreach(pops, i, p) pop_redact(p);
	return reply_json(r, 200, json_pack("{s:o}", "pops", pops));
}

int
api_pops_show(struct req *r)
{
	json_t *pop;
	int rc;

	if (!util_name_ok(r->params[0]))
		return reply_error(r, 404, "not_found", "no such POP");
	if ((rc = store_pop_get(cp.store, r->params[0], &pop)) != STORE_OK)
		return reply_store_error(r, rc, "POP");
	return reply_json(r, 200, pop_redact(pop));
}

/* Validate "bgp" if present; *txt is the canonical text to store. */
static int
pop_bgp(struct req *r, const json_t *in, json_t **bgp, char **txt)
{
	char err[256];
	json_t *b = json_object_get(in, "bgp");

	*bgp = NULL;
	*txt = NULL;
	if (b == NULL)
		return 0;
	if (bgpconf_validate(b, bgp, err, sizeof(err)) != 0) {
		reply_error(r, 400, "invalid_field", "bgp.%s", err);
		return -1;
	}
	if ((*txt = json_dump_canonical(*bgp, NULL)) == NULL) {
		json_decref(*bgp);
		*bgp = NULL;
		reply_error(r, 500, "internal", "out of memory");
		return -1;
	}
	return 0;
}

int
api_pops_create(struct req *r)
{
	static const char *const keys[] = { "name", "region", "bgp", NULL };
	const char *name = NULL, *region = NULL;
	json_t *bgp = NULL;
	char err[256], *txt = NULL;
	int rc;

	if (jfield_only(r->json, keys, err, sizeof(err)) != 0 ||
	    jfield_str(r->json, "name", true, 32, &name, err, sizeof(err)) !=
		0 ||
	    jfield_str(
		r->json, "region", true, 32, &region, err, sizeof(err)) != 0)
		return reply_error(r, 400, "invalid_field", "%s", err);
	if (!util_name_ok(name) || !util_name_ok(region))
		return reply_error(r, 400, "invalid_field",
		    "%s: must match "
		    "[a-z0-9][a-z0-9-]{0,31}",
		    util_name_ok(name) ? "region" : "name");
	if (pop_bgp(r, r->json, &bgp, &txt) != 0)
		return 0;
	rc = store_pop_add(cp.store, name, region, txt ? txt : "{}", r->actor);
	free(txt);
	json_decref(bgp);
	if (rc != STORE_OK)
		return reply_store_error(r, rc, "POP");
	live_bump_global();
	if (store_pop_get(cp.store, name, &bgp) != STORE_OK)
		return reply_error(
		    r, 500, "internal", "created but unreadable");
	return reply_json(r, 201, pop_redact(bgp));
}

int
api_pops_patch(struct req *r)
{
	static const char *const keys[] = { "region", "bgp", "force", NULL };
	const char *region = NULL;
	json_t *bgp = NULL, *old = NULL;
	bool force = false;
	char err[256], *txt = NULL;
	int rc;

	if (!util_name_ok(r->params[0]))
		return reply_error(r, 404, "not_found", "no such POP");
	if (jfield_only(r->json, keys, err, sizeof(err)) != 0 ||
	    jfield_str(
		r->json, "region", false, 32, &region, err, sizeof(err)) != 0 ||
	    jfield_bool(r->json, "force", false, &force, err, sizeof(err)) != 0)
		return reply_error(r, 400, "invalid_field", "%s", err);
	if (region != NULL && !util_name_ok(region))
		return reply_error(r, 400, "invalid_field",
		    "region: must "
		    "match [a-z0-9][a-z0-9-]{0,31}");
	if (pop_bgp(r, r->json, &bgp, &txt) != 0)
		return 0;
	if ((rc = store_pop_get(cp.store, r->params[0], &old)) != STORE_OK) {
		reply_store_error(r, rc, "POP");
		goto out;
	}
	/* A central mistake must not take a whole POP off the internet. */
	if (bgp != NULL && !force &&
	    bgpconf_withdraws_all(json_object_get(old, "bgp"), bgp)) {
		reply_error(r, 409, "would_withdraw_all",
		    "this change "
		    "withdraws every anycast prefix of POP %s; send "
		    "\"force\": true to do it anyway",
		    r->params[0]);
		goto out;
	}
	rc = store_pop_update(cp.store, r->params[0], region, txt, r->actor);
	if (rc != STORE_OK) {
		reply_store_error(r, rc, "POP");
		goto out;
	}
	live_bump_global();
	json_decref(old);
	old = NULL;
	if (store_pop_get(cp.store, r->params[0], &old) != STORE_OK) {
		reply_error(r, 500, "internal", "updated but unreadable");
		goto out;
	}
	reply_json(r, 200, pop_redact(old));
	old = NULL;
out:
	json_decref(old);
	json_decref(bgp);
	free(txt);
	return 0;
}
