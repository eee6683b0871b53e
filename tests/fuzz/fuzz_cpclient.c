/*
 * fuzz_cpclient: edge-cp's answers as the node side reads them before
 * anything else (common/cpclient.c: cpclient_error_code, which the keeper
 * runs on every refused request to tell "session_expired" and
 * "clock_skew" from the rest), with the body as httpc hands it over:
 * NUL-terminated, with its length.
 *
 * Invariants: the code is always terminated within the caller's buffer,
 * cut to fit; it is empty unless the body is a JSON object whose "error"
 * is an object with a string "code" of at most 64 bytes, and then it is
 * that string.
 */
#include <jansson.h>

#include "common/cpclient.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpc_resp r;
	char code[64], small[8];
	json_t *o, *c;
	const char *want = NULL;

	memset(&r, 0, sizeof(r));
	r.status = 401;
	r.body = fuzz_cstr(data, size);
	r.len = size;
	r.retry_after = -1;
	r.server_time = -1;

	memset(code, 'x', sizeof(code));
	cpclient_error_code(&r, code, sizeof(code));
	FUZZ_REQUIRE(memchr(code, '\0', sizeof(code)) != NULL);
	memset(small, 'x', sizeof(small));
	cpclient_error_code(&r, small, sizeof(small));
	FUZZ_REQUIRE(memchr(small, '\0', sizeof(small)) != NULL);
	FUZZ_REQUIRE(strncmp(code, small, sizeof(small) - 1) == 0);

	/* The same question asked of jansson directly. */
	o = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES, NULL);
	c = json_object_get(json_object_get(o, "error"), "code");
	if (json_is_object(o) && json_is_string(c) &&
	    json_string_length(c) <= 64 &&
	    strlen(json_string_value(c)) == json_string_length(c))
		want = json_string_value(c);
	if (code[0] != '\0')
		FUZZ_REQUIRE(
		    want != NULL && strncmp(code, want, sizeof(code) - 1) == 0);
	json_decref(o);
	free(r.body);
	return 0;
}
