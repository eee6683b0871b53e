/*
 * fuzz_relkey: release key rotation (common/relkey.c) on one input each:
 * relkey_retired_parse() and relkey_revoked_parse() over the whole input
 * (a node's retired keys, a revocation list),
 * and relkey_verify() of the text after the first NUL byte (a rotation
 * statement) over the text before it (the announced public key), against
 * a fixed signer so that the corpus can hold statements that verify.
 *
 * Invariants:
 *   - a retired list that parses is the canonical text of what it parsed
 *     to (written back entry by entry, it is the input byte for byte),
 *     holds no key twice and no more than the bound;
 *   - a revocation list that parses has a serial of 1 or more, at most
 *     the bound of entries, each by sequence (1 or more) or by version
 *     (a valid one), and matches each of its entries;
 *   - a statement that verifies announces a key other than its signer,
 *     with cut-offs of 0 or more; made again with the same key and
 *     cut-offs it verifies to the same; and it fails against a key with
 *     the signer's id but another public key, so acceptance always rests
 *     on the signature;
 *   - a refusal says why and hands out nothing.
 */
#include <sodium.h>

#include "common/relkey.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_keys.h"

static struct msig_pub pub, other;
static struct msig_sec sec;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_fixed_keys(&pub, &sec, &other);
	return 0;
}

static void
check_retired(const uint8_t *data, size_t size)
{
	struct relkey_retired r[RELKEY_CHAIN_MAX];
	char text[RELKEY_RETIRED_MAX + 1] = "", err[256] = "";
	size_t n = 99, i;

	if (relkey_retired_parse((const char *)data, size, r, RELKEY_CHAIN_MAX,
		&n, err, sizeof(err)) != 0) {
		FUZZ_REQUIRE(err[0] != '\0');
		return;
	}
	FUZZ_REQUIRE(n <= RELKEY_CHAIN_MAX);
	for (i = 0; i < n; i++) {
		FUZZ_REQUIRE(r[i].cutoff[0] >= 0 && r[i].cutoff[1] >= 0);
		FUZZ_REQUIRE(relkey_retired_find(r, i, r[i].key.keyid) == NULL);
		FUZZ_REQUIRE(
		    relkey_retired_append(text, sizeof(text), &r[i]) == 0);
	}
	FUZZ_REQUIRE(strlen(text) == size && memcmp(text, data, size) == 0);
}

static void
check_revoked(const uint8_t *data, size_t size)
{
	static struct relkey_revoked r;
	char err[256] = "";
	size_t i;

	if (relkey_revoked_parse(
		(const char *)data, size, &r, err, sizeof(err)) != 0) {
		FUZZ_REQUIRE(err[0] != '\0' && r.n == 0 && r.serial == 0);
		return;
	}
	FUZZ_REQUIRE(r.serial >= 1 && r.n <= RELKEY_REVOKED_MAX);
	for (i = 0; i < r.n; i++) {
		FUZZ_REQUIRE(r.e[i].comp == 0 || r.e[i].comp == 1);
		FUZZ_REQUIRE((r.e[i].seq > 0) != (r.e[i].version[0] != '\0'));
		FUZZ_REQUIRE(relkey_revoked_has(&r,
		    r.e[i].comp == 0 ? "dataplane" : "keeper", r.e[i].version,
		    r.e[i].seq));
	}
}

static void
check_statement(const char *pub_text, const char *stmt)
{
	struct relkey_rotation rot, again;
	char p2[MSIG_PUB_TEXT_MAX], s2[MSIG_SIG_TEXT_MAX], err[256] = "";
	int rc;

	rc = relkey_verify(&pub, pub_text, stmt, &rot, err, sizeof(err));
	if (rc != 0) {
		FUZZ_REQUIRE(rc == RELKEY_OTHER_SIGNER || err[0] != '\0');
		FUZZ_REQUIRE(sodium_is_zero((void *)&rot, sizeof(rot)));
		return;
	}
	FUZZ_REQUIRE(memcmp(rot.next.keyid, pub.keyid, MSIG_KEYIDBYTES) != 0);
	FUZZ_REQUIRE(rot.cutoff[0] >= 0 && rot.cutoff[1] >= 0);
	FUZZ_REQUIRE(relkey_verify(&other, pub_text, stmt, &again, err,
			 sizeof(err)) == -1);
	FUZZ_REQUIRE(relkey_make(&sec, &rot.next, rot.cutoff, p2, sizeof(p2),
			 s2, sizeof(s2), err, sizeof(err)) == 0);
	FUZZ_REQUIRE(
	    relkey_verify(&pub, p2, s2, &again, err, sizeof(err)) == 0);
	FUZZ_REQUIRE(memcmp(&rot, &again, sizeof(rot)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	char *pub_text, *stmt;
	size_t k;

	check_retired(data, size);
	check_revoked(data, size);
	if (nul == NULL)
		return 0;
	k = (size_t)(nul - data);
	pub_text = fuzz_cstr(data, k);
	stmt = fuzz_cstr(nul + 1, size - k - 1);
	check_statement(pub_text, stmt);
	free(pub_text);
	free(stmt);
	return 0;
}
