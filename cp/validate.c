#include "cp/validate.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/util.h"
#include "steps/steplist.h"

#define MAX_NEIGHBORS 16
#define MAX_ANYCAST 64
#define MAX_COMMUNITIES 32

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

/* "ASN:VALUE" with 16-bit parts, or "A:B:C" with 32-bit parts. */
static bool
community_ok(const char *s, int parts, uint64_t max)
{
	char buf[48];
	char *p = buf, *colon;
	int i;
	uint64_t v;

	if (strlen(s) >= sizeof(buf))
		return false;
	memcpy(buf, s, strlen(s) + 1);
	for (i = 0; i < parts; i++) {
		colon = strchr(p, ':');
		if (i < parts - 1) {
			if (colon == NULL)
				return false;
			*colon = '\0';
		} else if (colon != NULL)
			return false;
		if (util_parse_u64(p, max, &v) != 0)
			return false;
		p = colon ? colon + 1 : p;
	}
	return true;
}

static int
communities(const json_t *o, const char *key, int parts, uint64_t max,
    json_t **out, char *err, size_t errlen)
{
	json_t *arr, *v;
	size_t i;

	*out = NULL;
	if (jfield_arr(o, key, false, MAX_COMMUNITIES, &arr, err, errlen) != 0)
		return -1;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v) ||
		    !community_ok(json_string_value(v), parts, max)) {
			snprintf(err, errlen, "%s[%zu]: must be \"%s\"", key, i,
			    parts == 2 ? "ASN:VALUE (each 0-65535)"
				       : "ASN:DATA1:DATA2 (each 0-4294967295)");
			return -1;
		}
	}
	*out = arr ? json_deep_copy(arr) : json_array();
	return *out ? 0 : -1;
}

/* An anycast prefix: a single address, /32 or /128; normalised text. */
static int
anycast_prefix(const char *s, char *out, size_t outlen)
{
	char addr[64], norm[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	unsigned char bin[16];
	size_t n;

	if (slash == NULL || (n = (size_t)(slash - s)) >= sizeof(addr))
		return -1;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (strcmp(slash, "/32") == 0 && inet_pton(AF_INET, addr, bin) == 1)
		inet_ntop(AF_INET, bin, norm, sizeof(norm));
	else if (strcmp(slash, "/128") == 0 &&
	    inet_pton(AF_INET6, addr, bin) == 1)
		inet_ntop(AF_INET6, bin, norm, sizeof(norm));
	else
		return -1;
	snprintf(out, outlen, "%s%s", norm, slash);
	return 0;
}

static int
validate_neighbors(const json_t *in, json_t *out, char *err, size_t errlen)
{
	static const char *const keys[] = { "address", "asn", "password", "bfd",
		"name", NULL };
	json_t *arr, *n, *list;
	size_t i;

	if (jfield_arr(
		in, "neighbors", false, MAX_NEIGHBORS, &arr, err, errlen) != 0)
		return -1;
	if ((list = json_array()) == NULL)
		return -1;
	json_object_set_new(out, "neighbors", list);
	json_array_foreach(arr, i, n)
	{
		const char *addr = NULL, *pw = NULL, *name = NULL;
		unsigned char bin[16];
		int64_t asn = 0;
		bool bfd = false;
		char sub[200];

		if (!json_is_object(n)) {
			snprintf(err, errlen,
			    "neighbors[%zu]: must be an "
			    "object",
			    i);
			return -1;
		}
		if (jfield_only(n, keys, sub, sizeof(sub)) != 0 ||
		    jfield_str(
			n, "address", true, 64, &addr, sub, sizeof(sub)) != 0 ||
		    jfield_int(n, "asn", true, 1, 4294967295LL, &asn, sub,
			sizeof(sub)) != 0 ||
		    jfield_str(
			n, "password", false, 80, &pw, sub, sizeof(sub)) != 0 ||
		    jfield_str(n, "name", false, 32, &name, sub, sizeof(sub)) !=
			0 ||
		    jfield_bool(n, "bfd", false, &bfd, sub, sizeof(sub)) != 0) {
			snprintf(err, errlen, "neighbors[%zu].%s", i, sub);
			return -1;
		}
		if (inet_pton(AF_INET, addr, bin) != 1 &&
		    inet_pton(AF_INET6, addr, bin) != 1) {
			snprintf(err, errlen,
			    "neighbors[%zu].address: not an "
			    "IP address",
			    i);
			return -1;
		}
		if (name != NULL && !util_name_ok(name)) {
			snprintf(err, errlen,
			    "neighbors[%zu].name: must match "
			    "[a-z0-9][a-z0-9-]{0,31}",
			    i);
			return -1;
		}
		if (pw != NULL && (strpbrk(pw, "\"\\\n\r") != NULL)) {
			snprintf(err, errlen,
			    "neighbors[%zu].password: "
			    "quotes, backslashes and newlines are not allowed",
			    i);
			return -1;
		}
		json_array_append_new(list,
		    json_pack("{s:s,s:I,s:b,s:s*,s:s*}", "address", addr, "asn",
			(json_int_t)asn, "bfd", bfd, "password", pw, "name",
			name));
	}
	return 0;
}

static int
validate_anycast(const json_t *in, json_t *out, char *err, size_t errlen)
{
	static const char *const keys[] = { "prefix", "communities",
		"large_communities", NULL };
	json_t *arr, *a, *list;
	size_t i, j;

	if (jfield_arr(in, "anycast", false, MAX_ANYCAST, &arr, err, errlen) !=
	    0)
		return -1;
	if ((list = json_array()) == NULL)
		return -1;
	json_object_set_new(out, "anycast", list);
	json_array_foreach(arr, i, a)
	{
		const char *prefix = NULL;
		char norm[80], sub[200];
		json_t *c = NULL, *lc = NULL, *prev;

		if (!json_is_object(a)) {
			snprintf(
			    err, errlen, "anycast[%zu]: must be an object", i);
			return -1;
		}
		if (jfield_only(a, keys, sub, sizeof(sub)) != 0 ||
		    jfield_str(a, "prefix", true, 64, &prefix, sub,
			sizeof(sub)) != 0 ||
		    communities(a, "communities", 2, 65535, &c, sub,
			sizeof(sub)) != 0 ||
		    communities(a, "large_communities", 3, 4294967295ULL, &lc,
			sub, sizeof(sub)) != 0) {
			json_decref(c);
			snprintf(err, errlen, "anycast[%zu].%s", i, sub);
			return -1;
		}
		if (anycast_prefix(prefix, norm, sizeof(norm)) != 0) {
			json_decref(c);
			json_decref(lc);
			snprintf(err, errlen,
			    "anycast[%zu].prefix: must be an "
			    "IPv4 /32 or IPv6 /128",
			    i);
			return -1;
		}
		json_array_foreach(list, j,
		    prev) if (strcmp(json_string_value(json_object_get(prev,
					 "prefix")),
				  norm) == 0)
		{
			json_decref(c);
			json_decref(lc);
			snprintf(err, errlen,
			    "anycast[%zu].prefix: "
			    "duplicate %s",
			    i, norm);
			return -1;
		}
		json_array_append_new(list,
		    json_pack("{s:s,s:o,s:o}", "prefix", norm, "communities", c,
			"large_communities", lc));
	}
	return 0;
}

static int
validate_drain(const json_t *in, json_t *out, char *err, size_t errlen)
{
	static const char *const keys[] = { "communities", "prepend", "drain_s",
		NULL };
	json_t *d, *c = NULL;
	int64_t prepend = 0, drain_s = 30;
	char sub[200];

	if (jfield_obj(in, "drain", false, &d, err, errlen) != 0)
		return -1;
	if (d == NULL) {
		json_object_set_new(out, "drain",
		    json_pack("{s:[s],s:i,s:i}", "communities", "65535:0",
			"prepend", 0, "drain_s", 30));
		return 0;
	}
	if (jfield_only(d, keys, sub, sizeof(sub)) != 0 ||
	    jfield_int(
		d, "prepend", false, 0, 16, &prepend, sub, sizeof(sub)) != 0 ||
	    jfield_int(d, "drain_s", false, 0, 3600, &drain_s, sub,
		sizeof(sub)) != 0 ||
	    communities(d, "communities", 2, 65535, &c, sub, sizeof(sub)) !=
		0) {
		snprintf(err, errlen, "drain.%s", sub);
		return -1;
	}
	/* Absent communities: RFC 8326 GRACEFUL_SHUTDOWN. */
	if (json_object_get(d, "communities") == NULL) {
		json_decref(c);
		c = json_pack("[s]", "65535:0");
	}
	json_object_set_new(out, "drain",
	    json_pack("{s:o,s:I,s:I}", "communities", c, "prepend",
		(json_int_t)prepend, "drain_s", (json_int_t)drain_s));
	return 0;
}

int
validate_bgp(const json_t *in, json_t **out, char *err, size_t errlen)
{
	static const char *const keys[] = { "asn", "neighbors", "hold_time",
		"anycast", "drain", NULL };
	int64_t asn = 0, hold = 90;
	json_t *o;

	*out = NULL;
	if (!json_is_object(in)) {
		snprintf(err, errlen, "bgp: must be an object");
		return -1;
	}
	if (jfield_only(in, keys, err, errlen) != 0 ||
	    jfield_int(in, "asn", false, 1, 4294967295LL, &asn, err, errlen) !=
		0 ||
	    jfield_int(in, "hold_time", false, 3, 65535, &hold, err, errlen) !=
		0)
		return -1;
	if ((o = json_object()) == NULL)
		return -1;
	if (asn != 0)
		json_object_set_new(o, "asn", json_integer(asn));
	json_object_set_new(o, "hold_time", json_integer(hold));
	if (validate_neighbors(in, o, err, errlen) != 0 ||
	    validate_anycast(in, o, err, errlen) != 0 ||
	    validate_drain(in, o, err, errlen) != 0)
		goto fail;
	if (asn == 0 && json_array_size(json_object_get(o, "neighbors")) > 0) {
		snprintf(err, errlen, "asn: required when neighbors are set");
		goto fail;
	}
	*out = o;
	return 0;
fail:
	json_decref(o);
	return -1;
}

bool
validate_bgp_withdraws_all(const json_t *old_bgp, const json_t *new_bgp)
{
	return json_array_size(json_object_get(old_bgp, "anycast")) > 0 &&
	    json_array_size(json_object_get(new_bgp, "anycast")) == 0;
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

int
validate_status(const json_t *in, json_t **out, char *err, size_t errlen)
{
	static const char *const top[] = { "generation", "versions", "steps",
		"dataplane", "announced", "drained", "bgp_sessions", NULL };
	static const char *const vkeys[] = { "profile", "dataplane", "keeper",
		NULL };
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
		errlen) != 0)
		return -1;
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
	*out = json_deep_copy(in);
	return *out ? 0 : -1;
sub_versions:
	snprintf(err, errlen, "versions.%s", sub);
	return -1;
}

int
validate_facts(const json_t *in, char *err, size_t errlen)
{
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
