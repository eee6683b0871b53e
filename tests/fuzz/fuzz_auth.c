/*
 * fuzz_auth: the Authorization header edge-cp reads on every protected
 * route (cp/server.c picks by scheme): nodeauth_parse
 * (common/nodeauth.c) for a node's "EdgeNode sid=..,ctr=..,ts=..,tag=.."
 * and auth_bearer (cp/auth.c) for an operator's "Bearer efa_...".
 *
 * auth_bearer looks the token's keyed hash up in the store (and records
 * its use); here the store is a stand-in that knows one token (made in
 * LLVMFuzzerInitialize), and edge-cp's `cp` holds only the hash key.
 *
 * Invariants:
 *   - a parsed EdgeNode header formats back to exactly the input: one
 *     spelling per header, so what is tagged is what was sent;
 *   - its sid is 32 lower-case hex digits;
 *   - auth_bearer grants a role for exactly one header value, the known
 *     token after "Bearer ", and names it only then; any other value,
 *     however close, is ROLE_NONE with an empty name.
 */
#include <sodium.h>

#include "common/nodeauth.h"
#include "cp/auth.h"
#include "cp/store.h"
#include "tests/fuzz/fuzz.h"

struct cp_ctx cp;

static unsigned char known_hash[32];
static char known_header[16 + AUTH_TOKEN_LEN];

/* The store as auth_bearer sees it: one admin token, never expiring. */
int
store_apitoken_find(
    struct store *s, const unsigned char hash[32], struct store_apitoken *t)
{
	(void)s;
	memset(t, 0, sizeof(*t));
	if (memcmp(hash, known_hash, sizeof(known_hash)) != 0)
		return STORE_NOTFOUND;
	snprintf(t->name, sizeof(t->name), "fuzz");
	snprintf(t->role, sizeof(t->role), "admin");
	return STORE_OK;
}

/* Its use is not recorded here. */
int
store_apitoken_touch(struct store *s, const unsigned char hash[32], int64_t now)
{
	(void)s;
	(void)hash;
	(void)now;
	return STORE_OK;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Fixed, so a corpus file can hold the token that works. */
	static const char token[] =
	    "efa_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

	(void)argc;
	(void)argv;
	FUZZ_REQUIRE(sodium_init() >= 0);
	memset(cp.hash_key, 0x5a, sizeof(cp.hash_key));
	FUZZ_REQUIRE(auth_token_hash(token, known_hash) == 0);
	snprintf(known_header, sizeof(known_header), "Bearer %s", token);
	return 0;
}

static void
check_node(const char *value)
{
	struct nodeauth_hdr h;
	char back[NODEAUTH_HDR_MAX + 64];
	size_t i;

	if (nodeauth_parse(value, &h) != 0)
		return;
	FUZZ_REQUIRE(strlen(h.sid) == NODEAUTH_SIDHEX);
	for (i = 0; i < NODEAUTH_SIDHEX; i++)
		FUZZ_REQUIRE(strchr("0123456789abcdef", h.sid[i]) != NULL);
	FUZZ_REQUIRE(h.ts >= 0);
	FUZZ_REQUIRE(nodeauth_format(back, sizeof(back), &h) > 0);
	FUZZ_REQUIRE(strcmp(back, value) == 0);
}

static void
check_bearer(const char *value)
{
	char name[64];
	enum role r;

	name[0] = 'x';
	r = auth_bearer(value, name, sizeof(name));
	if (strcmp(value, known_header) == 0)
		FUZZ_REQUIRE(r == ROLE_ADMIN && strcmp(name, "fuzz") == 0);
	else
		FUZZ_REQUIRE(r == ROLE_NONE && name[0] == '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = fuzz_cstr(data, size);

	check_node(value);
	check_bearer(value);
	free(value);
	return 0;
}
