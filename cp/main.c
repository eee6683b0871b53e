/*
 * edge-cp: one binary for the control plane (`edge-cp serve`) and the
 * operator CLI (every other subcommand).
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/version.h"
#include "cp/cli.h"
#include "cp/serve.h"
#include "cp/tlsrot.h"

int
main(int argc, char **argv)
{
	log_init("edge-cp", LOG_INFO);
	if (argc >= 2 &&
	    (strcmp(argv[1], "--version") == 0 ||
		strcmp(argv[1], "version") == 0)) {
		printf("edge-cp %s\n", ef_version);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "tls") == 0)
		return tlsrot_main(argc - 1, argv + 1);
	return cli_main(argc, argv);
}
