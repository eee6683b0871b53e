#include "common/bgpconf.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/util.h"

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
	if (jfield_arr(
		o, key, false, BGPCONF_MAX_COMMUNITIES, &arr, err, errlen) != 0)
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

	if (jfield_arr(in, "neighbors", false, BGPCONF_MAX_NEIGHBORS, &arr, err,
		errlen) != 0)
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

	if (jfield_arr(in, "anycast", false, BGPCONF_MAX_ANYCAST, &arr, err,
		errlen) != 0)
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
bgpconf_validate(const json_t *in, json_t **out, char *err, size_t errlen)
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
bgpconf_withdraws_all(const json_t *old_bgp, const json_t *new_bgp)
{
	return json_array_size(json_object_get(old_bgp, "anycast")) > 0 &&
	    json_array_size(json_object_get(new_bgp, "anycast")) == 0;
}
