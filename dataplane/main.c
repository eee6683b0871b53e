/*
 * edge-dp: the reference dataplane.  The HTTP/1.1 workers and socket
 * takeover arrive with the dataplane issue; this is its entry point.
 */
#include <stdio.h>
#include <string.h>

#include "common/version.h"

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("edge-dp %s\n", ef_version);
		return 0;
	}
	fprintf(stderr,
	    "usage: edge-dp --version\n"
	    "(serving is not built yet)\n");
	return 2;
}
