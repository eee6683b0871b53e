/*
 * fuzz_enroll: a POST /v1/enroll body up to where edge-cp would touch its
 * store, as cp/api_node.c reads it: the strict reader with the server's
 * limits, the host name (validate_hostname), the facts (validate_facts),
 * the base64 key and signature, and the message the signature covers
 * (nodeauth_enroll_msg).  Any member that is not the expected type is
 * still given to the validators when it can be, so they see odd values.
 *
 * Invariants:
 *   - accepted facts are an object of at most 64 members and 8 KiB, and
 *     their canonical text (what the store keeps) reads back strictly and
 *     is accepted again;
 *   - an accepted host name is 1-253 bytes of [A-Za-z0-9.-];
 *   - the enrollment message is built only from fields without a newline,
 *     and then holds each of them on a line of its own.
 */
#include <jansson.h>
#include <stdbool.h>

#include "common/json.h"
#include "common/nodeauth.h"
#include "common/util.h"
#include "cp/server.h"
#include "cp/validate.h"
#include "tests/fuzz/fuzz.h"

static void
check_facts(const json_t *facts)
{
	char err[256], *txt, *canon;
	json_t *back = NULL;
	size_t len;

	err[0] = '\0';
	if (validate_facts(facts, err, sizeof(err)) != 0) {
		FUZZ_REQUIRE(err[0] != '\0');
		return;
	}
	FUZZ_REQUIRE(json_is_object(facts) && json_object_size(facts) <= 64);
	txt = json_dumps(facts, JSON_COMPACT);
	FUZZ_REQUIRE(txt != NULL && strlen(txt) <= 8192);
	canon = json_dump_canonical(facts, &len);
	FUZZ_REQUIRE(canon != NULL && len == strlen(txt));
	FUZZ_REQUIRE(json_parse_strict(canon, len, SERVER_MAX_BODY,
			 JSON_DEFAULT_DEPTH, &back, err, sizeof(err)) == 0);
	FUZZ_REQUIRE(json_equal(back, facts));
	FUZZ_REQUIRE(validate_facts(back, err, sizeof(err)) == 0);
	json_decref(back);
	free(canon);
	free(txt);
}

static void
check_hostname(const char *host)
{
	size_t i, n;

	if (!validate_hostname(host))
		return;
	n = strlen(host);
	FUZZ_REQUIRE(n >= 1 && n <= 253);
	for (i = 0; i < n; i++)
		FUZZ_REQUIRE(strchr("abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-",
				 host[i]) != NULL);
}

static void
check_message(const char *token, const char *pk, const char *host)
{
	char msg[512], want[512];
	unsigned char bin[64];
	int n, w;

	/* What edge-cp decodes before it checks anything else. */
	(void)util_unb64(bin, 32, pk);
	(void)util_unb64(bin, sizeof(bin), token);
	n = nodeauth_enroll_msg(msg, sizeof(msg), token, pk, host);
	if (n < 0)
		return;
	FUZZ_REQUIRE(strpbrk(token, "\n") == NULL &&
	    strpbrk(pk, "\n") == NULL && strpbrk(host, "\n") == NULL);
	w = snprintf(want, sizeof(want), "edgefleet-enroll-v1\n%s\n%s\n%s",
	    token, pk, host);
	FUZZ_REQUIRE(w == n && strcmp(want, msg) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "token", "public_key", "hostname",
		"facts", "signature", NULL };
	const char *token = "", *pk = "", *host = "", *sig = "";
	char *buf = fuzz_copy(data, size), err[256];
	json_t *body = NULL, *facts;
	bool shaped;

	if (json_parse_strict(buf, size, SERVER_MAX_BODY, JSON_DEFAULT_DEPTH,
		&body, err, sizeof(err)) != 0)
		goto out;
	/* The handler's own field checks, in its order. */
	shaped = jfield_only(body, keys, err, sizeof(err)) == 0 &&
	    jfield_str(body, "token", true, 64, &token, err, sizeof(err)) ==
		0 &&
	    jfield_str(body, "public_key", true, 64, &pk, err, sizeof(err)) ==
		0 &&
	    jfield_str(body, "hostname", true, 253, &host, err, sizeof(err)) ==
		0 &&
	    jfield_str(body, "signature", true, 128, &sig, err, sizeof(err)) ==
		0 &&
	    jfield_obj(body, "facts", false, &facts, err, sizeof(err)) == 0;
	(void)sig;
	/* The validators see every value, shaped or not. */
	facts = json_object_get(body, "facts");
	check_facts(facts != NULL ? facts : body);
	if (json_is_string(json_object_get(body, "hostname")))
		check_hostname(
		    json_string_value(json_object_get(body, "hostname")));
	if (shaped)
		check_message(token, pk, host);
out:
	json_decref(body);
	free(buf);
	return 0;
}
