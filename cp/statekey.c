#include "cp/statekey.h"

#include <string.h>

#include "common/log.h"
#include "common/statesig.h"

static struct {
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	char pub[STATESIG_PUB_TEXT_MAX];
} sk_state;

void
statekey_init(const unsigned char seed[crypto_sign_SEEDBYTES])
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];

	crypto_sign_seed_keypair(pk, sk_state.sk, seed);
	if (statesig_pub_encode(pk, sk_state.pub, sizeof(sk_state.pub)) != 0)
		fatalx("event=start_failed msg=\"state key\"");
}

const char *
statekey_pub_text(void)
{
	return sk_state.pub;
}

int
statekey_sign(
    const char *node_id, const void *body, size_t len, char *hdr, size_t n)
{
	return statesig_sign(sk_state.sk, node_id, body, len, hdr, n);
}
