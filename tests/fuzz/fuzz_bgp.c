/*
 * fuzz_bgp: a POP's "bgp" object (POST and PATCH /v1/pops, and again in
 * the keeper before it renders BIRD's configuration): bgpconf_validate
 * (common/bgpconf.c) on the document read strictly, and on its "bgp"
 * member when it has one, as edge-cp's POP handlers pass it.
 *
 * Invariants (bgpconf.h): the canonical form comes back unchanged when it
 * is checked again, which is what lets the keeper check edge-cp's output
 * exactly; it has defaults filled in (hold_time, drain) and an "asn"
 * whenever there are neighbours; anycast prefixes are single addresses
 * (/32 or /128) and unique; passwords carry nothing that would break out
 * of BIRD's quoted string.  A refused object leaves *out NULL and says
 * why.
 */
#include <jansson.h>

#include "common/bgpconf.h"
#include "common/json.h"
#include "cp/server.h"
#include "tests/fuzz/fuzz.h"

static void
check(const json_t *in)
{
	json_t *out = (json_t *)1, *again = NULL, *empty, *v, *w;
	const char *s;
	char err[256];
	size_t i, j, n;

	err[0] = '\0';
	if (bgpconf_validate(in, &out, err, sizeof(err)) != 0) {
		FUZZ_REQUIRE(out == NULL && err[0] != '\0');
		return;
	}
	FUZZ_REQUIRE(bgpconf_validate(out, &again, err, sizeof(err)) == 0);
	FUZZ_REQUIRE(json_equal(out, again));
	FUZZ_REQUIRE(json_is_integer(json_object_get(out, "hold_time")));
	FUZZ_REQUIRE(json_is_object(json_object_get(out, "drain")));
	FUZZ_REQUIRE(json_array_size(json_object_get(out, "neighbors")) == 0 ||
	    json_is_integer(json_object_get(out, "asn")));
	json_array_foreach(json_object_get(out, "neighbors"), i, v)
	{
		s = json_string_value(json_object_get(v, "password"));
		FUZZ_REQUIRE(s == NULL || strpbrk(s, "\"\\\r\n") == NULL);
	}
	json_array_foreach(json_object_get(out, "anycast"), i, v)
	{
		s = json_string_value(json_object_get(v, "prefix"));
		FUZZ_REQUIRE(s != NULL && strchr(s, '/') != NULL);
		FUZZ_REQUIRE(strcmp(strchr(s, '/'), "/32") == 0 ||
		    strcmp(strchr(s, '/'), "/128") == 0);
		n = 0;
		json_array_foreach(json_object_get(out, "anycast"), j, w) n +=
		    strcmp(s,
			json_string_value(json_object_get(w, "prefix"))) == 0;
		FUZZ_REQUIRE(n == 1);
	}
	empty = json_object();
	FUZZ_REQUIRE(empty != NULL && !bgpconf_withdraws_all(out, out));
	FUZZ_REQUIRE(bgpconf_withdraws_all(out, empty) ==
	    (json_array_size(json_object_get(out, "anycast")) > 0));
	json_decref(empty);
	json_decref(again);
	json_decref(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_copy(data, size), err[256];
	json_t *doc = NULL;

	if (json_parse_strict(buf, size, SERVER_MAX_BODY, JSON_DEFAULT_DEPTH,
		&doc, err, sizeof(err)) == 0) {
		check(doc);
		if (json_object_get(doc, "bgp") != NULL)
			check(json_object_get(doc, "bgp"));
	}
	json_decref(doc);
	free(buf);
	return 0;
}
