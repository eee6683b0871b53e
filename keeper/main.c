/*
 * edge-keeper: the node agent.  The reconcile loop, the Steps and the
 * enrollment arrive with the keeper issue; this is its entry point.
 */
#include <stdio.h>
#include <string.h>

#include "common/version.h"

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("edge-keeper %s\n", ef_version);
		return 0;
	}
	fprintf(stderr,
	    "usage: edge-keeper --version\n"
	    "(enroll, run, check and status are not built yet)\n");
	return 2;
}
