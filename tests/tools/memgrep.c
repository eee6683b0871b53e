/*
 * memgrep PID KEYFILE: is the node key in the memory of process PID?
 *
 * KEYFILE holds the key as the keeper stores it (base64 of the 64-byte
 * Ed25519 secret key); the search is for its 32-byte seed, which every
 * copy of the key holds.  Every readable mapping up to 1 GiB is read
 * through /proc/PID/mem.  Exit 0 and "found" when it is there, 1 and
 * "not found (N bytes in M mappings)" when not, 2 on an error.  For the keeper's
 * privilege separation test: the parent must hold the key, the child not.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/util.h"

#define CHUNK (1u << 20)
/*
 * Larger mappings are reserved address space, not data: AddressSanitizer's
 * shadow is terabytes of it, which would take hours to read.
 */
#define MAP_MAX ((uint64_t)1 << 30)

int
main(int argc, char **argv)
{
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	char path[64], line[512], *txt = NULL;
	uint64_t total = 0, maps = 0;
	unsigned char *buf;
	size_t len;
	FILE *f;
	int mem, found = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: memgrep PID KEYFILE\n");
		return 2;
	}
	if (afile_read(argv[2], 4096, &txt, &len) != 0) {
		perror(argv[2]);
		return 2;
	}
	txt[strcspn(txt, "\r\n")] = '\0';
	if (util_unb64(sk, sizeof(sk), txt) != (int)sizeof(sk)) {
		fprintf(stderr, "memgrep: %s: not a key\n", argv[2]);
		free(txt);
		return 2;
	}
	free(txt);
	if ((buf = malloc(CHUNK)) == NULL)
		return 2;
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		free(buf);
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	if ((mem = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		perror(path);
		fclose(f);
		free(buf);
		return 2;
	}
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		uint64_t lo, hi, at;
		char perms[8];

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &lo, &hi,
			perms) != 3 ||
		    perms[0] != 'r' || strstr(line, "[vvar]") != NULL ||
		    hi - lo > MAP_MAX)
			continue;
		maps++;
		/* In chunks that overlap by less than the seed's length. */
		for (at = lo; at < hi && !found; at += CHUNK - 31) {
			size_t want =
			    hi - at < CHUNK ? (size_t)(hi - at) : CHUNK;
			ssize_t n = pread(mem, buf, want, (off_t)at);

			if (n < 32)
				break;
			total += (uint64_t)n;
			found = memmem(buf, (size_t)n, sk, 32) != NULL;
		}
	}
	sodium_memzero(sk, sizeof(sk));
	free(buf);
	close(mem);
	fclose(f);
	if (found) {
		printf("found\n");
		return 0;
	}
	printf("not found (%" PRIu64 " bytes in %" PRIu64 " mappings)\n", total,
	    maps);
	return 1;
}
