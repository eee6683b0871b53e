/*
 * fuzz_profile: a profile (PUT /v1/profile) as edge-cp reads it: the
 * strict reader with the server's limits, then validate_profile
 * (cp/validate.c), which runs the keeper's own step-list parser
 * (steps/steplist.c) and every kind's parse() on the params.
 *
 * Invariants: the normalised profile edge-cp stores is itself accepted
 * and normalises to itself (so what edge-cp hands out passes again on
 * every keeper), and its canonical text reads back strictly.  The step
 * list parsed straight from it has one entry per step, each with a kind,
 * "after" only naming earlier steps, and the same fingerprint when parsed
 * twice.  A refused profile leaves *out NULL and says why.
 */
#include <jansson.h>

#include "common/json.h"
#include "cp/server.h"
#include "cp/validate.h"
#include "steps/steplist.h"
#include "tests/fuzz/fuzz.h"

static void
check_steps(const json_t *steps)
{
	struct step_inst *a, *b;
	size_t na, nb, i, j;
	char err[256];

	FUZZ_REQUIRE(steplist_parse(steps, &a, &na, err, sizeof(err)) == 0);
	FUZZ_REQUIRE(steplist_parse(steps, &b, &nb, err, sizeof(err)) == 0);
	FUZZ_REQUIRE(na == json_array_size(steps) && nb == na);
	FUZZ_REQUIRE(na <= STEPLIST_MAX);
	for (i = 0; i < na; i++) {
		FUZZ_REQUIRE(a[i].kind != NULL && a[i].name[0] != '\0');
		FUZZ_REQUIRE(strcmp(a[i].name, b[i].name) == 0);
		FUZZ_REQUIRE(a[i].fp == b[i].fp && a[i].kind == b[i].kind);
		FUZZ_REQUIRE(a[i].nafter <= STEP_AFTER_MAX);
		for (j = 0; j < a[i].nafter; j++)
			FUZZ_REQUIRE(a[i].after[j] < i);
	}
	steplist_free(a, na);
	steplist_free(b, nb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_copy(data, size), *canon = NULL, *again = NULL;
	json_t *in = NULL, *out = NULL, *back = NULL, *out2 = NULL;
	char err[256];
	size_t len;

	if (json_parse_strict(buf, size, SERVER_MAX_BODY, JSON_DEFAULT_DEPTH,
		&in, err, sizeof(err)) != 0)
		goto done;
	err[0] = '\0';
	if (validate_profile(in, &out, err, sizeof(err)) != 0) {
		FUZZ_REQUIRE(out == NULL && err[0] != '\0');
		goto done;
	}
	FUZZ_REQUIRE(out != NULL);
	canon = json_dump_canonical(out, &len);
	FUZZ_REQUIRE(canon != NULL);
	FUZZ_REQUIRE(json_parse_strict(canon, len, SERVER_MAX_BODY * 2,
			 JSON_DEFAULT_DEPTH, &back, err, sizeof(err)) == 0);
	FUZZ_REQUIRE(validate_profile(back, &out2, err, sizeof(err)) == 0);
	FUZZ_REQUIRE(json_equal(out, out2));
	again = json_dump_canonical(out2, NULL);
	FUZZ_REQUIRE(again != NULL && strcmp(canon, again) == 0);
	check_steps(json_object_get(out, "steps"));
done:
	free(again);
	free(canon);
	json_decref(out2);
	json_decref(back);
	json_decref(out);
	json_decref(in);
	free(buf);
	return 0;
}
