/*
 * fuzz_status: a node's status report (POST /v1/node/status) as edge-cp
 * reads it: the strict reader with the server's limits, then
 * validate_status (cp/validate.c).
 *
 * Invariants: an accepted report comes back as an equal copy; its
 * canonical text (what edge-cp hashes and stores) reads back strictly,
 * is accepted again and hashes the same, so an unchanged report is
 * recognised as unchanged.  A refused one leaves *out NULL and says why.
 */
#include <jansson.h>

#include "common/json.h"
#include "cp/server.h"
#include "cp/validate.h"
#include "tests/fuzz/fuzz.h"

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
	out = (json_t *)1; /* must be reset on failure too */
	if (validate_status(in, &out, err, sizeof(err)) != 0) {
		FUZZ_REQUIRE(out == NULL && err[0] != '\0');
		goto done;
	}
	FUZZ_REQUIRE(out != NULL && out != in && json_equal(in, out));
	canon = json_dump_canonical(out, &len);
	FUZZ_REQUIRE(canon != NULL);
	FUZZ_REQUIRE(json_parse_strict(canon, len, SERVER_MAX_BODY * 2,
			 JSON_DEFAULT_DEPTH, &back, err, sizeof(err)) == 0);
	FUZZ_REQUIRE(validate_status(back, &out2, err, sizeof(err)) == 0);
	again = json_dump_canonical(out2, NULL);
	FUZZ_REQUIRE(again != NULL && strcmp(canon, again) == 0);
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
