/*
 * fuzz_statesig: the X-Edge-State-Signature header a keeper reads on
 * every desired-state answer, and the verification over the document
 * (common/statesig.c: statesig_parse, statesig_verify).
 *
 * The input is the header value, a newline, then the document's bytes.
 * The key is fixed (a seed of 32 bytes 0x47, made in
 * LLVMFuzzerInitialize) so a corpus file can carry a signature that
 * verifies; the node id is "n-0123456789ab".
 *
 * Invariants:
 *   - a header that parses is exactly "ed25519ph ", 16 lower-case hex
 *     digits, a space and 88 base64 characters;
 *   - a signature verifies only when the header is, byte for byte, the
 *     one edge-cp makes for that document and node (Ed25519 is
 *     deterministic and libsodium refuses non-canonical signatures), so
 *     no other spelling and no other document passes;
 *   - it never verifies for another node.
 */
#include <sodium.h>

#include "common/statesig.h"
#include "tests/fuzz/fuzz.h"

#define NODE "n-0123456789ab"

static unsigned char pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char sk[crypto_sign_SECRETKEYBYTES];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned char seed[crypto_sign_SEEDBYTES];

	(void)argc;
	(void)argv;
	FUZZ_REQUIRE(sodium_init() >= 0);
	memset(seed, 0x47, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	return 0;
}

/* The line of an invariant that does not hold, 0 when all do. */
#define BROKEN_UNLESS(cond)                                                   \
	do {                                                                  \
		if (broken == 0 && !(cond))                                   \
			broken = __LINE__;                                    \
	} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hl = nl != NULL ? (size_t)(nl - data) : size;
	size_t bl = nl != NULL ? size - hl - 1 : 0;
	char *hdr = fuzz_cstr(data, hl);
	char *body = nl != NULL ? fuzz_copy(nl + 1, bl) : fuzz_copy(data, 0);
	char want[STATESIG_HDR_MAX], err[256];
	struct statesig s;
	int broken = 0;
	size_t i;

	if (statesig_parse(hdr, &s, err, sizeof(err)) == 0) {
		BROKEN_UNLESS(strlen(hdr) == 10 + 16 + 1 + 88);
		BROKEN_UNLESS(strncmp(hdr, "ed25519ph ", 10) == 0);
		for (i = 10; i < 26 && hdr[i] != '\0'; i++)
			BROKEN_UNLESS(
			    strchr("0123456789abcdef", hdr[i]) != NULL);
		BROKEN_UNLESS(strlen(hdr) > 26 && hdr[26] == ' ');
	}
	if (statesig_verify(pk, NODE, body, bl, hdr, err, sizeof(err)) == 0) {
		BROKEN_UNLESS(statesig_sign(sk, NODE, body, bl, want,
				  sizeof(want)) == 0);
		BROKEN_UNLESS(strcmp(want, hdr) == 0);
		BROKEN_UNLESS(statesig_verify(pk, "n-ba9876543210", body, bl,
				  hdr, err, sizeof(err)) != 0);
	}
	free(hdr);
	free(body);
	if (broken != 0)
		fprintf(stderr, "fuzz_statesig.c:%d: invariant broken\n",
		    broken);
	FUZZ_REQUIRE(broken == 0);
	return 0;
}
