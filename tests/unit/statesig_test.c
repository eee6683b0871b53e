/*
 * Unit tests of the desired-state signature (common/statesig.h): a good
 * signature verifies; one made for another node, over an altered body or
 * by another key does not; a header that is missing, truncated, padded
 * or garbage is malformed, never a crash and never a pass.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "common/statesig.h"

static unsigned char pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char sk[crypto_sign_SECRETKEYBYTES];
static unsigned char pk2[crypto_sign_PUBLICKEYBYTES];
static unsigned char sk2[crypto_sign_SECRETKEYBYTES];
static const char body[] = "{\"schema\":1,\"node_id\":\"n-0123456789ab\"}";
static char hdr[STATESIG_HDR_MAX];

static int
verify(const unsigned char *key, const char *node, const char *b, const char *h,
    char *err, size_t errlen)
{
	return statesig_verify(key, node, b, strlen(b), h, err, errlen);
}

TEST(statesig_good_signature_verifies)
{
	char err[200] = "";

	CHECK(statesig_sign(sk, "n-0123456789ab", body, strlen(body), hdr,
		  sizeof(hdr)) == 0);
	CHECK(strncmp(hdr, "ed25519ph ", 10) == 0);
	CHECK(strlen(hdr) == 10 + 16 + 1 + 88);
	CHECK(verify(pk, "n-0123456789ab", body, hdr, err, sizeof(err)) == 0);
}

TEST(statesig_wrong_node_refused)
{
	char err[200] = "";

	CHECK(verify(pk, "n-ba9876543210", body, hdr, err, sizeof(err)) != 0);
	CHECK_STR(err, "the signature does not verify");
	CHECK(verify(pk, "", body, hdr, err, sizeof(err)) != 0);
	CHECK(statesig_sign(sk, "n-a\nb", body, strlen(body), hdr + 0, 0) != 0);
}

TEST(statesig_altered_body_refused)
{
	char err[200] = "", alt[sizeof(body)];
	size_t i;

	/* Each byte changed in turn, and the body cut short by one. */
	for (i = 0; i < strlen(body); i++) {
		memcpy(alt, body, sizeof(body));
		alt[i] ^= 0x01;
		CHECK(verify(pk, "n-0123456789ab", alt, hdr, err,
			  sizeof(err)) != 0);
	}
	CHECK(statesig_verify(pk, "n-0123456789ab", body, strlen(body) - 1, hdr,
		  err, sizeof(err)) != 0);
	CHECK_STR(err, "the signature does not verify");
	/* Moving the newline between node id and body is another message. */
	CHECK(statesig_verify(
		  pk, "n-0123456789a", "b\n{}", 4, hdr, err, sizeof(err)) != 0);
}

TEST(statesig_wrong_key_refused)
{
	char err[200] = "", h2[STATESIG_HDR_MAX];

	CHECK(verify(pk2, "n-0123456789ab", body, hdr, err, sizeof(err)) != 0);
	CHECK(strstr(err, "signed by another key (key id ") == err);
	/* The key id of the pinned key, the signature of another. */
	CHECK(statesig_sign(sk2, "n-0123456789ab", body, strlen(body), h2,
		  sizeof(h2)) == 0);
	memcpy(h2, hdr, 10 + 16);
	CHECK(verify(pk, "n-0123456789ab", body, h2, err, sizeof(err)) != 0);
	CHECK_STR(err, "the signature does not verify");
}

TEST(statesig_bad_headers_refused)
{
	char err[200] = "", h[STATESIG_HDR_MAX * 2];
	size_t n = strlen(hdr), i;
	static const char *const garbage[] = {
		"ed25519ph",
		"ed25519ph ",
		"ed25519 0011223344556677 AAAA",
		"ED25519PH 0011223344556677 "
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"AA"
		"AAAAAAAAAAAAAAAAAAAAAA==",
		"\x01\x02\x03",
		"ed25519ph 0011223344556677  ",
		NULL,
	};

	CHECK(verify(pk, "n-0123456789ab", body, NULL, err, sizeof(err)) != 0);
	CHECK_STR(err, "no signature");
	CHECK(verify(pk, "n-0123456789ab", body, "", err, sizeof(err)) != 0);
	CHECK_STR(err, "no signature");
	/* Truncated at every length. */
	for (i = 1; i < n; i++) {
		memcpy(h, hdr, i);
		h[i] = '\0';
		CHECK(verify(pk, "n-0123456789ab", body, h, err, sizeof(err)) !=
		    0);
		CHECK_STR(err, "malformed signature header");
	}
	/* Anything after it, upper-case hex, a doubled space. */
	snprintf(h, sizeof(h), "%s ", hdr);
	CHECK(verify(pk, "n-0123456789ab", body, h, err, sizeof(err)) != 0);
	snprintf(h, sizeof(h), "%sA", hdr);
	CHECK(verify(pk, "n-0123456789ab", body, h, err, sizeof(err)) != 0);
	snprintf(h, sizeof(h), "%s", hdr);
	for (i = 10; i < 26; i++)
		if (h[i] >= 'a' && h[i] <= 'f') {
			h[i] = (char)(h[i] - 'a' + 'A');
			break;
		}
	CHECK(i < 26);
	CHECK(verify(pk, "n-0123456789ab", body, h, err, sizeof(err)) != 0);
	CHECK_STR(err, "malformed signature header");
	snprintf(h, sizeof(h), "ed25519ph  %s", hdr + 10);
	CHECK(verify(pk, "n-0123456789ab", body, h, err, sizeof(err)) != 0);
	for (i = 0; garbage[i] != NULL; i++) {
		CHECK(verify(pk, "n-0123456789ab", body, garbage[i], err,
			  sizeof(err)) != 0);
		CHECK_STR(err, "malformed signature header");
	}
	/* And the good one still passes. */
	CHECK(verify(pk, "n-0123456789ab", body, hdr, err, sizeof(err)) == 0);
}

TEST(statesig_public_key_text)
{
	unsigned char back[crypto_sign_PUBLICKEYBYTES];
	char txt[STATESIG_PUB_TEXT_MAX + 1], err[200];
	size_t n;

	CHECK(statesig_pub_encode(pk, txt, sizeof(txt)) == 0);
	CHECK(strlen(txt) == 44);
	CHECK(
	    statesig_pub_decode(txt, strlen(txt), back, err, sizeof(err)) == 0);
	CHECK(memcmp(back, pk, sizeof(pk)) == 0);
	n = strlen(txt);
	txt[n] = '\n';
	CHECK(statesig_pub_decode(txt, n + 1, back, err, sizeof(err)) == 0);
	CHECK(statesig_pub_decode(txt, n - 1, back, err, sizeof(err)) != 0);
	CHECK(statesig_pub_decode("", 0, back, err, sizeof(err)) != 0);
	CHECK(statesig_pub_decode("\n\n", 2, back, err, sizeof(err)) != 0);
	CHECK_STR(err, "not a base64 Ed25519 public key");
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	RUN(statesig_good_signature_verifies);
	RUN(statesig_wrong_node_refused);
	RUN(statesig_altered_body_refused);
	RUN(statesig_wrong_key_refused);
	RUN(statesig_bad_headers_refused);
	RUN(statesig_public_key_text);
	return check_done();
}
