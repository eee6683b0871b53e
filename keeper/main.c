/*
 * edge-keeper: the node agent.
 *
 *	edge-keeper [--root DIR] enroll --server URL --pin sha256//... --token T
 *	edge-keeper [--root DIR] run
 *	edge-keeper [--root DIR] check
 *	edge-keeper [--root DIR] status
 *	edge-keeper [--root DIR] watchdog PID	(started by a self-update)
 *	edge-keeper --version
 *
 * --root prefixes every host path the keeper reads or writes, so tests
 * and the demo never touch the host they run on.
 */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/httpc.h"
#include "common/log.h"
#include "common/util.h"
#include "common/version.h"
#include "keeper/keeper.h"
#include "keeper/selfup.h"

static int
usage(void)
{
	fprintf(stderr,
	    "usage: edge-keeper [--root DIR] enroll --server URL --pin PIN "
	    "--token T\n"
	    "       edge-keeper [--root DIR] run | check | status\n"
	    "       edge-keeper --version\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct keeper_conf conf;
	int i = 1;

	memset(&conf, 0, sizeof(conf));
	selfup_argv = argv; /* a self-update re-execs with the same words */
	log_init("edge-keeper", LOG_INFO);
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("edge-keeper %s\n", ef_version);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "--root") == 0) {
		if (argv[2][0] != '/' ||
		    util_strlcpy(conf.root, argv[2], sizeof(conf.root)) >=
			sizeof(conf.root)) {
			fprintf(stderr,
			    "edge-keeper: --root must be an "
			    "absolute path\n");
			return 2;
		}
		/* "/" is the host itself. */
		if (strcmp(conf.root, "/") == 0)
			conf.root[0] = '\0';
		else if (conf.root[strlen(conf.root) - 1] == '/')
			conf.root[strlen(conf.root) - 1] = '\0';
		i = 3;
	}
	if (i >= argc)
		return usage();
	if (sodium_init() < 0 || httpc_global_init() != 0) {
		fprintf(stderr, "edge-keeper: cannot initialise libraries\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[i], "enroll") == 0)
		return keeper_enroll_main(&conf, argc - i, argv + i);
	if (strcmp(argv[i], "run") == 0)
		return keeper_run_main(&conf, argc - i, argv + i);
	if (strcmp(argv[i], "check") == 0)
		return keeper_check_main(&conf, argc - i, argv + i);
	if (strcmp(argv[i], "status") == 0)
		return keeper_status_main(&conf, argc - i, argv + i);
	if (strcmp(argv[i], "watchdog") == 0)
		return keeper_watchdog_main(&conf, argc - i, argv + i);
	return usage();
}
