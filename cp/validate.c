#include "cp/validate.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bgpconf.h"
#include "common/json.h"
#include "common/util.h"
#include "steps/steplist.h"

#define MAX_NEIGHBORS BGPCONF_MAX_NEIGHBORS
#define MAX_ANYCAST BGPCONF_MAX_ANYCAST

bool
validate_hostname(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= 253)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
	}
	return true;
}

int
validate_profile(const json_t *in, json_t **out, char *err, size_t errlen)
{
	static const char *const top[] = { "steps", "description", NULL };
	struct step_inst *list;
	const char *desc = NULL;
	json_t *steps, *st, *norm, *o;
	size_t n, i;

	*out = NULL;
	if (jfield_only(in, top, err, errlen) != 0 ||
	    jfield_str(in, "description", false, 200, &desc, err, errlen) !=
		0 ||
	    jfield_arr(in, "steps", true, STEPLIST_MAX, &steps, err, errlen) !=
		0)
		return -1;
	/* The keeper's own parser: what passes here runs there. */
	if (steplist_parse(steps, &list, &n, err, errlen) != 0)
		return -1;
	steplist_free(list, n);
	/* Stored normalised: "after" and "params" always present. */
	if ((norm = json_array()) == NULL)
		return -1;
	json_array_foreach(steps, i, st)
	{
		json_t *after = json_object_get(st, "after");
		json_t *params = json_object_get(st, "params");

		json_array_append_new(norm,
		    json_pack("{s:O,s:O,s:o,s:o}", "name",
			json_object_get(st, "name"), "kind",
			json_object_get(st, "kind"), "after",
			after ? json_incref(after) : json_array(), "params",
			params ? json_incref(params) : json_object()));
	}
	o = json_pack("{s:o}", "steps", norm);
	if (o != NULL && desc != NULL)
		json_object_set_new(o, "description", json_string(desc));
	*out = o;
	return o ? 0 : -1;
}

static const char *const step_states[] = { "in_sync", "needs_change", "error",
	"skipped", NULL };

static int
validate_status_steps(const json_t *in, char *err, size_t errlen)
{
	static const char *const keys[] = { "name", "kind", "state", "reason",
		NULL };
	json_t *steps, *st;
	size_t i, k;

	if (jfield_arr(in, "steps", false, STEPLIST_MAX, &steps, err, errlen) !=
	    0)
		return -1;
	json_array_foreach(steps, i, st)
	{
		const char *name = NULL, *kind = NULL, *state = NULL;
		const char *reason = NULL;
		char sub[200];
		bool ok = false;

		if (!json_is_object(st)) {
			snprintf(
			    err, errlen, "steps[%zu]: must be an object", i);
			return -1;
		}
		if (jfield_only(st, keys, sub, sizeof(sub)) != 0 ||
		    jfield_str(st, "name", true, 64, &name, sub, sizeof(sub)) !=
			0 ||
		    jfield_str(
			st, "kind", false, 32, &kind, sub, sizeof(sub)) != 0 ||
		    jfield_str(
			st, "state", true, 16, &state, sub, sizeof(sub)) != 0 ||
		    jfield_str(st, "reason", false, 1024, &reason, sub,
			sizeof(sub)) != 0) {
			snprintf(err, errlen, "steps[%zu].%s", i, sub);
			return -1;
		}
		for (k = 0; step_states[k] != NULL; k++)
			if (strcmp(step_states[k], state) == 0)
				ok = true;
		if (!ok) {
			snprintf(err, errlen,
			    "steps[%zu].state: must be "
			    "in_sync, needs_change, error or skipped",
			    i);
			return -1;
		}
	}
	return 0;
}

static int
validate_string_list(const json_t *in, const char *key, size_t max_items,
    size_t max_len, char *err, size_t errlen)
{
	json_t *arr, *v;
	size_t i;

	if (jfield_arr(in, key, false, max_items, &arr, err, errlen) != 0)
		return -1;
	json_array_foreach(arr, i,
	    v) if (!json_is_string(v) || json_string_length(v) > max_len)
	{
		snprintf(err, errlen,
		    "%s[%zu]: must be a string of at "
		    "most %zu bytes",
		    key, i, max_len);
		return -1;
	}
	return 0;
}

/* "anycast": {state, flips: [{at, to, reason}]} -- the health gate. */
static int
validate_status_anycast(const json_t *in, char *err, size_t errlen)
{
	static const char *const keys[] = { "state", "flips", NULL };
	static const char *const fkeys[] = { "at", "to", "reason", NULL };
	json_t *a, *flips, *f;
	const char *s;
	int64_t at;
	char sub[200];
	size_t i;

	if (jfield_obj(in, "anycast", false, &a, err, errlen) != 0)
		return -1;
	if (a == NULL)
		return 0;
	if (jfield_only(a, keys, sub, sizeof(sub)) != 0 ||
	    jfield_str(a, "state", true, 16, &s, sub, sizeof(sub)) != 0 ||
	    jfield_arr(a, "flips", false, 16, &flips, sub, sizeof(sub)) != 0) {
		snprintf(err, errlen, "anycast.%s", sub);
		return -1;
	}
	json_array_foreach(flips, i, f)
	{
		if (!json_is_object(f) ||
		    jfield_only(f, fkeys, sub, sizeof(sub)) != 0 ||
		    jfield_int(f, "at", true, 0, INT64_MAX, &at, sub,
			sizeof(sub)) != 0 ||
		    jfield_str(f, "to", true, 16, &s, sub, sizeof(sub)) != 0 ||
		    jfield_str(f, "reason", false, 128, &s, sub, sizeof(sub)) !=
			0) {
			snprintf(err, errlen, "anycast.flips[%zu]: %s", i,
			    json_is_object(f) ? sub : "must be an object");
			return -1;
		}
	}
	return 0;
}

int
validate_status(const json_t *in, json_t **out, char *err, size_t errlen)
{
	static const char *const top[] = { "generation", "versions", "steps",
		"dataplane", "announced", "drained", "bgp_sessions", "anycast",
		"admitted", NULL };
	static const char *const vkeys[] = { "profile", "dataplane", "keeper",
		NULL };
	json_t *admitted;
	int64_t mark;
	static const char *const dkeys[] = { "healthy", "version", "reason",
		NULL };
	static const char *const bkeys[] = { "neighbor", "state", NULL };
	json_t *versions, *dp, *sessions, *b;
	const char *s = NULL;
	bool flag;
	char sub[200];
	size_t i, k;

	*out = NULL;
	if (jfield_only(in, top, err, errlen) != 0 ||
	    jfield_str(in, "generation", false, 64, &s, err, errlen) != 0 ||
	    jfield_bool(in, "drained", false, &flag, err, errlen) != 0 ||
	    jfield_obj(in, "versions", false, &versions, err, errlen) != 0 ||
	    jfield_obj(in, "dataplane", false, &dp, err, errlen) != 0 ||
	    validate_status_steps(in, err, errlen) != 0 ||
	    validate_string_list(
		in, "announced", MAX_ANYCAST, 64, err, errlen) != 0 ||
	    jfield_arr(in, "bgp_sessions", false, MAX_NEIGHBORS, &sessions, err,
		errlen) != 0 ||
	    jfield_obj(in, "admitted", false, &admitted, err, errlen) != 0)
		return -1;
	if (admitted != NULL) {
		/* The same three kinds as versions, each a mark >= 0. */
		if (jfield_only(admitted, vkeys, sub, sizeof(sub)) != 0)
			goto sub_admitted;
		for (k = 0; vkeys[k] != NULL; k++)
			if (jfield_int(admitted, vkeys[k], false, 0, INT64_MAX,
				&mark, sub, sizeof(sub)) != 0)
				goto sub_admitted;
	}
	if (versions != NULL) {
		if (jfield_only(versions, vkeys, sub, sizeof(sub)) != 0)
			goto sub_versions;
		for (k = 0; vkeys[k] != NULL; k++)
			if (jfield_str(versions, vkeys[k], false, 64, &s, sub,
				sizeof(sub)) != 0)
				goto sub_versions;
	}
	if (dp != NULL &&
	    (jfield_only(dp, dkeys, sub, sizeof(sub)) != 0 ||
		jfield_bool(dp, "healthy", true, &flag, sub, sizeof(sub)) !=
		    0 ||
		jfield_str(dp, "version", false, 64, &s, sub, sizeof(sub)) !=
		    0 ||
		jfield_str(dp, "reason", false, 512, &s, sub, sizeof(sub)) !=
		    0)) {
		snprintf(err, errlen, "dataplane.%s", sub);
		return -1;
	}
	json_array_foreach(sessions, i, b)
	{
		if (!json_is_object(b) ||
		    jfield_only(b, bkeys, sub, sizeof(sub)) != 0 ||
		    jfield_str(b, "neighbor", true, 64, &s, sub, sizeof(sub)) !=
			0 ||
		    jfield_str(b, "state", true, 32, &s, sub, sizeof(sub)) !=
			0) {
			snprintf(err, errlen, "bgp_sessions[%zu]: %s", i,
			    json_is_object(b) ? sub : "must be an object");
			return -1;
		}
	}
	if (validate_status_anycast(in, err, errlen) != 0)
		return -1;
	*out = json_deep_copy(in);
	return *out ? 0 : -1;
sub_versions:
	snprintf(err, errlen, "versions.%s", sub);
	return -1;
sub_admitted:
	snprintf(err, errlen, "admitted.%s", sub);
	return -1;
}

int
validate_facts(const json_t *in, char *err, size_t errlen)
{
	unsigned char bin[4];
	json_t *rid;
	char *txt;
	size_t n;

	if (!json_is_object(in)) {
		snprintf(err, errlen, "facts: must be an object");
		return -1;
	}
	if (json_object_size(in) > 64) {
		snprintf(err, errlen, "facts: more than 64 keys");
		return -1;
	}
	/* The router id BIRD will use, unless an operator sets another. */
	if ((rid = json_object_get(in, "router_id")) != NULL &&
	    (!json_is_string(rid) ||
		inet_pton(AF_INET, json_string_value(rid), bin) != 1)) {
		snprintf(err, errlen, "facts.router_id: not an IPv4 address");
		return -1;
	}
	if ((txt = json_dumps(in, JSON_COMPACT)) == NULL)
		return -1;
	n = strlen(txt);
	free(txt);
	if (n > 8192) {
		snprintf(err, errlen, "facts: larger than 8 KiB");
		return -1;
	}
	return 0;
}
