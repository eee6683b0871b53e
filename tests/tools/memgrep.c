/*
 * memgrep PID KEYFILE: is the node key in the memory of process PID?
 *
 * KEYFILE holds the key as the keeper stores it (base64 of the 64-byte
 * Ed25519 secret key); the search is for its 32-byte seed, which every
 * copy of the key holds.  Every readable mapping is read through
 * /proc/PID/mem.  Exit 0 and "found" when it is there, 1 and "not found
 * (N bytes in M mappings)" when not, 2 on an error.  For the keeper's
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

int
main(int argc, char **argv)
{
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	char path[64], line[512], *txt = NULL;
	uint64_t total = 0, maps = 0;
	unsigned char *buf = NULL;
	size_t len, cap = 0;
	FILE *f;
	int mem;

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
		return 2;
	}
	free(txt);
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	if ((mem = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		perror(path);
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		uint64_t lo, hi;
		char perms[8];
		ssize_t n;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &lo, &hi,
			perms) != 3 ||
		    perms[0] != 'r' || strstr(line, "[vvar]") != NULL ||
		    hi - lo > (1u << 30))
			continue;
		if (hi - lo > cap) {
			free(buf);
			cap = (size_t)(hi - lo);
			if ((buf = malloc(cap)) == NULL)
				return 2;
		}
		n = pread(mem, buf, (size_t)(hi - lo), (off_t)lo);
		if (n < 32)
			continue;
		maps++;
		total += (uint64_t)n;
		if (memmem(buf, (size_t)n, sk, 32) != NULL) {
			printf("found\n");
			return 0;
		}
	}
	printf("not found (%" PRIu64 " bytes in %" PRIu64 " mappings)\n",
	    total, maps);
	return 1;
}
