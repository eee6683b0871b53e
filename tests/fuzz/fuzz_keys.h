/*
 * fuzz_keys.h: the fixed release key the signature targets verify with
 * (fuzz_minisign, fuzz_relkey), so that their corpora can hold texts that
 * verify: a key from a fixed seed with key id 1122334455667788, and
 * "other", the same key id over another key.
 */
#ifndef EF_FUZZ_KEYS_H
#define EF_FUZZ_KEYS_H

#include <sodium.h>

#include "common/minisign.h"
#include "tests/fuzz/fuzz.h"

static inline void
fuzz_fixed_keys(
    struct msig_pub *pub, struct msig_sec *sec, struct msig_pub *other)
{
	unsigned char seed[crypto_sign_SEEDBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	size_t i;

	FUZZ_REQUIRE(sodium_init() >= 0);
	for (i = 0; i < sizeof(seed); i++)
		seed[i] = (unsigned char)(i + 1);
	FUZZ_REQUIRE(crypto_sign_seed_keypair(pub->pk, sec->sk, seed) == 0);
	memcpy(pub->keyid, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	memcpy(sec->keyid, pub->keyid, 8);
	/* Same key id, another key. */
	seed[0] ^= 0xff;
	FUZZ_REQUIRE(crypto_sign_seed_keypair(other->pk, sk, seed) == 0);
	memcpy(other->keyid, pub->keyid, 8);
	sodium_memzero(sk, sizeof(sk));
}

#endif
