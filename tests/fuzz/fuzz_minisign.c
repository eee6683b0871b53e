/*
 * fuzz_minisign: the minisign text parsers (common/minisign.c) on one
 * input each: msig_pub_decode (the release key a node receives at
 * enrollment), msig_sec_decode (the signing key edge-cp loads), and
 * msig_verify (a release signature a node downloads), the latter against
 * a fixed key and fixed data so that the corpus can hold signatures that
 * verify.
 *
 * Invariants:
 *   - a decoded public key encodes to a text that decodes to the same
 *     key, and the input held that text's base64 line: one spelling per
 *     key;
 *   - a decoded secret key encodes to a text that decodes to the same key
 *     (not to the same text: an unencrypted key's salt and KDF limits
 *     mean nothing and are ignored, as minisign ignores them, and a zero
 *     checksum is accepted, minisign.h) and its public half is a valid
 *     point;
 *   - a signature that verifies has only base64 on its two blob lines and
 *     hands back a trusted comment without line breaks or control
 *     characters but tab, no longer than MSIG_TRUSTED_MAX; signing the same data with the same comment gives
 *     a text that verifies with the same comment; and the same signature
 *     fails against a key with the same id but another public key, so
 *     acceptance always rests on the signature;
 *   - failures say why and leave outputs empty.
 */
#include <sodium.h>
#include <stdbool.h>

#include "common/minisign.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_keys.h"

/* The corpus's signatures are made with this key over this data. */
static const char fuzz_data[] = "edgefleet fuzz data\n";
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

/* The base64 line of an encoded key text (its second line). */
static void
b64_line(const char *text, char *line, size_t len)
{
	const char *p = strchr(text, '\n');
	size_t n;

	FUZZ_REQUIRE(p != NULL);
	p++;
	n = strcspn(p, "\n");
	FUZZ_REQUIRE(n > 0 && n < len);
	memcpy(line, p, n);
	line[n] = '\0';
}

static void
check_pub(const char *text)
{
	struct msig_pub k, k2;
	char enc[MSIG_PUB_TEXT_MAX], line[MSIG_PUB_TEXT_MAX], err[256];

	err[0] = '\0';
	if (msig_pub_decode(text, &k, err, sizeof(err)) != 0) {
		FUZZ_REQUIRE(
		    err[0] != '\0' && sodium_is_zero((void *)&k, sizeof(k)));
		return;
	}
	FUZZ_REQUIRE(crypto_core_ed25519_is_valid_point(k.pk) == 1);
	FUZZ_REQUIRE(msig_pub_encode(&k, enc, sizeof(enc)) == 0);
	FUZZ_REQUIRE(msig_pub_decode(enc, &k2, err, sizeof(err)) == 0);
	FUZZ_REQUIRE(memcmp(&k, &k2, sizeof(k)) == 0);
	b64_line(enc, line, sizeof(line));
	FUZZ_REQUIRE(strstr(text, line) != NULL);
}

static const char b64_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "abcdefghijklmnopqrstuvwxyz0123456789+/=";

/* The key line of a key text (its last line) is base64 and nothing else. */
static bool
key_line_b64(const char *text)
{
	size_t len = strlen(text);
	const char *p;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len > 0 && text[len - 1] == '\r')
		len--;
	p = memrchr(text, '\n', len);
	p = p != NULL ? p + 1 : text;
	len -= (size_t)(p - text);
	return len > 0 && strspn(p, b64_digits) == len;
}

static void
check_sec(const char *text)
{
	struct msig_sec k, k2;
	struct msig_pub p;
	char enc[MSIG_SEC_TEXT_MAX], err[256];

	err[0] = '\0';
	if (msig_sec_decode(text, &k, err, sizeof(err)) != 0) {
		FUZZ_REQUIRE(
		    err[0] != '\0' && sodium_is_zero((void *)&k, sizeof(k)));
		return;
	}
	msig_sec_pub(&k, &p);
	FUZZ_REQUIRE(crypto_core_ed25519_is_valid_point(p.pk) == 1);
	FUZZ_REQUIRE(msig_sec_encode(&k, enc, sizeof(enc)) == 0);
	FUZZ_REQUIRE(msig_sec_decode(enc, &k2, err, sizeof(err)) == 0);
	FUZZ_REQUIRE(sodium_memcmp(&k, &k2, sizeof(k)) == 0);
	FUZZ_REQUIRE(key_line_b64(text));
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(&k2, sizeof(k2));
	sodium_memzero(enc, sizeof(enc));
}

/* Lines 2 and 4 of a signature text are base64 and nothing else. */
static void
check_sig_b64(const char *text)
{
	const char *p = text;
	size_t len;
	int i;

	for (i = 1; i <= 4 && p != NULL; i++) {
		len = strcspn(p, "\n");
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (i == 2 || i == 4)
			FUZZ_REQUIRE(len > 0 && strspn(p, b64_digits) == len);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	FUZZ_REQUIRE(i == 5);
}

static void
check_sig(const char *text)
{
	char tc[MSIG_TRUSTED_MAX + 1], tc2[MSIG_TRUSTED_MAX + 1];
	char sig[MSIG_SIG_TEXT_MAX], err[256];
	size_t i, n;

	err[0] = '\0';
	tc[0] = 'x';
	if (msig_verify(&pub, fuzz_data, strlen(fuzz_data), text, tc,
		sizeof(tc), err, sizeof(err)) != 0) {
		FUZZ_REQUIRE(err[0] != '\0' && tc[0] == '\0');
		return;
	}
	n = strlen(tc);
	FUZZ_REQUIRE(n <= MSIG_TRUSTED_MAX);
	for (i = 0; i < n; i++)
		FUZZ_REQUIRE((unsigned char)tc[i] >= 0x20 || tc[i] == '\t');
	FUZZ_REQUIRE(strchr(tc, 0x7f) == NULL);
	check_sig_b64(text);
	FUZZ_REQUIRE(msig_verify(&other, fuzz_data, strlen(fuzz_data), text,
			 NULL, 0, err, sizeof(err)) != 0);
	FUZZ_REQUIRE(msig_verify(&pub, fuzz_data, strlen(fuzz_data) - 1, text,
			 NULL, 0, err, sizeof(err)) != 0);
	FUZZ_REQUIRE(msig_sign(&sec, fuzz_data, strlen(fuzz_data), tc, sig,
			 sizeof(sig), err, sizeof(err)) == 0);
	FUZZ_REQUIRE(msig_verify(&pub, fuzz_data, strlen(fuzz_data), sig, tc2,
			 sizeof(tc2), err, sizeof(err)) == 0);
	FUZZ_REQUIRE(strcmp(tc, tc2) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);

	check_pub(text);
	check_sec(text);
	check_sig(text);
	sodium_memzero(text, size);
	free(text);
	return 0;
}
