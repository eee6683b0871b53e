#include "common/statesig.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

#define STATESIG_KEYID_HEX (STATESIG_KEYID_BYTES * 2)
#define STATESIG_SIG_B64 88 /* base64 of 64 bytes, padded */

void
statesig_keyid(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
    unsigned char id[STATESIG_KEYID_BYTES])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, pk, crypto_sign_PUBLICKEYBYTES);
	memcpy(id, h, STATESIG_KEYID_BYTES);
}

static bool
statesig_node_ok(const char *node_id)
{
	size_t n = node_id != NULL ? strlen(node_id) : 0;

	return n > 0 && n <= STATESIG_NODE_ID_MAX &&
	    strchr(node_id, '\n') == NULL;
}

/* The prehash state over domain, node id and body. */
static void
statesig_state(
    crypto_sign_state *st, const char *node_id, const void *body, size_t len)
{
	static const char dom[] = STATESIG_DOMAIN "\n";

	crypto_sign_init(st);
	crypto_sign_update(st, (const unsigned char *)dom, sizeof(dom) - 1);
	crypto_sign_update(st, (const unsigned char *)node_id, strlen(node_id));
	crypto_sign_update(st, (const unsigned char *)"\n", 1);
	if (len > 0)
		crypto_sign_update(st, body, len);
}

int
statesig_sign(const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    const char *node_id, const void *body, size_t len, char *hdr, size_t hdrlen)
{
	crypto_sign_state st;
	unsigned char sig[crypto_sign_BYTES], id[STATESIG_KEYID_BYTES];
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	char idhex[STATESIG_KEYID_HEX + 1], b64[STATESIG_SIG_B64 + 1];

	if (!statesig_node_ok(node_id))
		return -1;
	statesig_state(&st, node_id, body, len);
	crypto_sign_final_create(&st, sig, NULL, sk);
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	statesig_keyid(pk, id);
	if (util_hex(idhex, sizeof(idhex), id, sizeof(id)) != 0 ||
	    util_b64(b64, sizeof(b64), sig, sizeof(sig)) != 0)
		return -1;
	if ((size_t)snprintf(
		hdr, hdrlen, "%s %s %s", STATESIG_SCHEME, idhex, b64) >= hdrlen)
		return -1;
	return 0;
}

int
statesig_parse(const char *hdr, struct statesig *s, char *err, size_t errlen)
{
	static const char scheme[] = STATESIG_SCHEME " ";
	const char *p;
	char idhex[STATESIG_KEYID_HEX + 1];
	size_t i;

	memset(s, 0, sizeof(*s));
	if (hdr == NULL || hdr[0] == '\0') {
		snprintf(err, errlen, "no signature");
		return -1;
	}
	if (strlen(hdr) >= STATESIG_HDR_MAX ||
	    strncmp(hdr, scheme, sizeof(scheme) - 1) != 0)
		goto bad;
	p = hdr + sizeof(scheme) - 1;
	for (i = 0; i < STATESIG_KEYID_HEX; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
			(p[i] >= 'a' && p[i] <= 'f')))
			goto bad;
	if (p[STATESIG_KEYID_HEX] != ' ')
		goto bad;
	memcpy(idhex, p, STATESIG_KEYID_HEX);
	idhex[STATESIG_KEYID_HEX] = '\0';
	p += STATESIG_KEYID_HEX + 1;
	if (strlen(p) != STATESIG_SIG_B64 ||
	    util_unhex(s->keyid, sizeof(s->keyid), idhex) !=
		STATESIG_KEYID_BYTES ||
	    util_unb64(s->sig, sizeof(s->sig), p) != crypto_sign_BYTES)
		goto bad;
	return 0;
bad:
	memset(s, 0, sizeof(*s));
	snprintf(err, errlen, "malformed signature header");
	return -1;
}

int
statesig_verify(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
    const char *node_id, const void *body, size_t len, const char *hdr,
    char *err, size_t errlen)
{
	crypto_sign_state st;
	struct statesig s;
	unsigned char id[STATESIG_KEYID_BYTES];
	char hex[STATESIG_KEYID_HEX + 1];

	if (statesig_parse(hdr, &s, err, errlen) != 0)
		return -1;
	if (!statesig_node_ok(node_id)) {
		snprintf(err, errlen, "no usable node id");
		return -1;
	}
	statesig_keyid(pk, id);
	if (sodium_memcmp(id, s.keyid, sizeof(id)) != 0) {
		util_hex(hex, sizeof(hex), s.keyid, sizeof(s.keyid));
		snprintf(err, errlen,
		    "signed by another key (key id %s), not the pinned one",
		    hex);
		return -1;
	}
	statesig_state(&st, node_id, body, len);
	if (crypto_sign_final_verify(&st, s.sig, pk) != 0) {
		snprintf(err, errlen, "the signature does not verify");
		return -1;
	}
	return 0;
}

int
statesig_pub_encode(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
    char *out, size_t outlen)
{
	return util_b64(out, outlen, pk, crypto_sign_PUBLICKEYBYTES);
}

int
statesig_pub_decode(const char *text, size_t len,
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], char *err, size_t errlen)
{
	char buf[STATESIG_PUB_TEXT_MAX];

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len == 0 || len >= sizeof(buf) || memchr(text, '\0', len) != NULL)
		goto bad;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (util_unb64(pk, crypto_sign_PUBLICKEYBYTES, buf) !=
	    crypto_sign_PUBLICKEYBYTES)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "not a base64 Ed25519 public key");
	return -1;
}
