/*
 * fuzz_json: the strict JSON reader every document from the network goes
 * through (common/json.c: json_parse_strict and the jfield_* readers), with
 * the limits edge-cp applies to request bodies.
 *
 * Invariants:
 *   - what the strict reader accepts is an object no deeper than the
 *     limit, and jansson's own reader (which allows duplicate keys)
 *     accepts the same text and reads the same value: strict is a subset;
 *   - its canonical text reads back strictly to an equal value and is
 *     itself canonical (a fixed point), as the desired-state ETag and the
 *     status hash rely on;
 *   - a refusal leaves *out NULL and says why;
 *   - every jfield_* reader, on every member, either succeeds with a
 *     value of the type it promises or fails with a message.
 */
#include <jansson.h>
#include <stdbool.h>

#include "common/json.h"
#include "cp/server.h"
#include "tests/fuzz/fuzz.h"

static size_t
depth_of(const json_t *v)
{
	const char *key;
	json_t *m;
	size_t i, d, max = 0;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)(uintptr_t)v, key, m)
		{
			d = depth_of(m);
			max = d > max ? d : max;
		}
		return max + 1;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, m)
		{
			d = depth_of(m);
			max = d > max ? d : max;
		}
		return max + 1;
	}
	return 0;
}

static void
readers(const json_t *o)
{
	static const char *const none[] = { NULL };
	const char *key, *s;
	json_t *m, *got;
	int64_t n;
	bool b;
	char err[128];

	FUZZ_REQUIRE(jfield_only(o, none, err, sizeof(err)) ==
	    (json_object_size(o) == 0 ? 0 : -1));
	json_object_foreach((json_t *)(uintptr_t)o, key, m)
	{
		err[0] = '\0';
		s = NULL;
		if (jfield_str(o, key, true, 64, &s, err, sizeof(err)) == 0)
			FUZZ_REQUIRE(s != NULL && strlen(s) <= 64);
		else
			FUZZ_REQUIRE(err[0] != '\0');
		err[0] = '\0';
		if (jfield_int(o, key, true, -5, 1000, &n, err, sizeof(err)) ==
		    0)
			FUZZ_REQUIRE(n >= -5 && n <= 1000);
		else
			FUZZ_REQUIRE(err[0] != '\0');
		if (jfield_bool(o, key, true, &b, err, sizeof(err)) == 0)
			FUZZ_REQUIRE(json_is_boolean(m));
		if (jfield_obj(o, key, true, &got, err, sizeof(err)) == 0)
			FUZZ_REQUIRE(got == m && json_is_object(got));
		if (jfield_arr(o, key, true, 4, &got, err, sizeof(err)) == 0)
			FUZZ_REQUIRE(got == m && json_array_size(got) <= 4);
	}
	/* An absent optional field is no error and leaves the default. */
	n = 7;
	FUZZ_REQUIRE(json_object_get(o, "\x01") != NULL ||
	    jfield_int(o, "\x01", false, 0, 1, &n, err, sizeof(err)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_copy(data, size), *canon, *again, err[256];
	json_t *v = NULL, *loose, *w = NULL;
	size_t len;

	err[0] = '\0';
	if (json_parse_strict(buf, size, SERVER_MAX_BODY, JSON_DEFAULT_DEPTH,
		&v, err, sizeof(err)) != 0) {
		FUZZ_REQUIRE(v == NULL && err[0] != '\0');
		free(buf);
		return 0;
	}
	FUZZ_REQUIRE(json_is_object(v));
	FUZZ_REQUIRE(depth_of(v) <= JSON_DEFAULT_DEPTH);

	loose = json_loadb(buf, size, 0, NULL);
	FUZZ_REQUIRE(loose != NULL && json_equal(loose, v));
	json_decref(loose);

	canon = json_dump_canonical(v, &len);
	FUZZ_REQUIRE(canon != NULL && len == strlen(canon));
	FUZZ_REQUIRE(json_parse_strict(canon, len, SERVER_MAX_BODY * 2,
			 JSON_DEFAULT_DEPTH, &w, err, sizeof(err)) == 0);
	FUZZ_REQUIRE(json_equal(v, w));
	again = json_dump_canonical(w, NULL);
	FUZZ_REQUIRE(again != NULL && strcmp(again, canon) == 0);

	readers(v);

	free(again);
	free(canon);
	json_decref(w);
	json_decref(v);
	free(buf);
	return 0;
}
