#include "common/dpopts.h"

#include <sodium.h>
#include <string.h>

#include "common/util.h"

void
dpopts_fingerprint(const char *const *argv, char out[DPOPTS_HEX])
{
	crypto_generichash_state st;
	unsigned char h[8];
	size_t i;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	for (i = 1; argv[0] != NULL && argv[i] != NULL; i++) {
		if (strcmp(argv[i], "--takeover") == 0 ||
		    strncmp(argv[i], "--ready-fd=", 11) == 0)
			continue;
		if (strcmp(argv[i], "--ready-fd") == 0) {
			if (argv[i + 1] != NULL)
				i++;
			continue;
		}
		crypto_generichash_update(
		    &st, (const unsigned char *)argv[i], strlen(argv[i]) + 1);
	}
	crypto_generichash_final(&st, h, sizeof(h));
	util_hex(out, DPOPTS_HEX, h, sizeof(h));
}
