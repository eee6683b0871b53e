/*
 * slowclient: hold many slow connections open against a server, to show
 * that slow or idle clients do not starve the others.
 *
 *	slowclient HOST PORT CONNS SECONDS [SRC_PREFIX]
 *
 * Opens CONNS TCP connections (from 127.0.0.2, .3, ... when SRC_PREFIX is
 * "127.0.0." so per-IP limits are spread), sends one byte of a TLS record
 * header on each and then nothing, holds them for SECONDS, and prints how
 * many were accepted and how many the server has closed by then.
 * Bounded: at most 5000 connections and 120 seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

int
main(int argc, char **argv)
{
	struct sockaddr_in dst, src;
	struct rlimit rl;
	int64_t conns, secs, port;
	int *fds, i, opened = 0, closed = 0;
	const char *prefix = argc > 5 ? argv[5] : NULL;
	time_t end;

	if (argc < 5 || util_parse_i64(argv[2], 1, 65535, &port) != 0 ||
	    util_parse_i64(argv[3], 1, 5000, &conns) != 0 ||
	    util_parse_i64(argv[4], 1, 120, &secs) != 0) {
		fprintf(stderr, "usage: slowclient HOST PORT CONNS SECONDS "
		    "[SRC_PREFIX]\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1)
		return 2;
	if ((fds = calloc((size_t)conns, sizeof(int))) == NULL)
		return 1;
	for (i = 0; i < conns; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		fds[i] = -1;
		if (fd < 0)
			break;
		if (prefix != NULL) {
			char ip[32];

			/* 60 connections per source address. */
			snprintf(ip, sizeof(ip), "%s%d", prefix, 2 + i / 60);
			memset(&src, 0, sizeof(src));
			src.sin_family = AF_INET;
			if (inet_pton(AF_INET, ip, &src.sin_addr) != 1 ||
			    bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
				close(fd);
				continue;
			}
		}
		if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
			close(fd);
			continue;
		}
		/* The first byte of a TLS handshake record, then silence. */
		if (write(fd, "\x16", 1) != 1) {
			close(fd);
			continue;
		}
		fds[i] = fd;
		opened++;
	}
	printf("opened %d\n", opened);
	fflush(stdout);
	end = time(NULL) + secs;
	while (time(NULL) < end)
		sleep(1);
	for (i = 0; i < conns; i++) {
		char b[256];
		ssize_t n;

		if (fds[i] < 0)
			continue;
		/* Whatever the server said last (an alert), then EOF. */
		while ((n = recv(fds[i], b, sizeof(b), MSG_DONTWAIT)) > 0)
			;
		if (n == 0 || (n < 0 && errno != EAGAIN &&
		    errno != EWOULDBLOCK))
			closed++;
		close(fds[i]);
	}
	printf("closed_by_server %d\n", closed);
	free(fds);
	return 0;
}
