/*
 * dpload: a load client for edge-dp takeover tests.
 *
 *	dpload HOST PORT PATH KEEPALIVE NEWCONN SECONDS [STOPFILE]
 *
 * KEEPALIVE threads each hold one kept-alive connection and send requests
 * on it back to back; NEWCONN threads open a connection per request.  It
 * runs for SECONDS (at most 600) or until STOPFILE exists, then prints
 *
 *	requests N failed N keepalive_connects N newconn_requests N
 *	newconn_max_ms X
 *
 * where keepalive_connects counts every connect of the kept-alive threads:
 * it equals KEEPALIVE when no kept-alive connection was ever lost.  A
 * failure is any error, timeout, early close, or status other than 200.
 * Exit 0 when nothing failed and no kept-alive connection was lost.
 * DPLOAD_PACE_US=N sleeps N microseconds between a thread's requests, so
 * a correctness test leaves the machine some room.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define MAX_THREADS 256

static struct sockaddr_in dst;
static char request[512];
static atomic_bool stop;
static atomic_ullong n_req, n_fail, n_ka_connects, n_new_req;
static useconds_t pace_us;
static atomic_ullong newconn_max_ns; /* slowest connect + request */

static int
dial(void)
{
	struct timeval tv = { 5, 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * One request and its whole response (Content-Length framed).  Returns
 * the status, or -1 when the connection failed or closed early.
 */
static int
one_request(int fd)
{
	char buf[65536];
	size_t got = 0, need = 0;
	const char *hdr_end, *cl;
	int status = -1;

	if (send(fd, request, strlen(request), MSG_NOSIGNAL) !=
	    (ssize_t)strlen(request))
		return -1;
	for (;;) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);

		if (n <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		if ((hdr_end = strstr(buf, "\r\n\r\n")) == NULL) {
			if (got == sizeof(buf) - 1)
				return -1;
			continue;
		}
		if (status < 0) {
			int64_t len = 0;
			char num[24];
			size_t k = 0;

			if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
				return -1;
			if ((cl = strstr(buf, "Content-Length: ")) != NULL &&
			    cl < hdr_end) {
				cl += 16;
				while (k + 1 < sizeof(num) && cl[k] >= '0' &&
				    cl[k] <= '9') {
					num[k] = cl[k];
					k++;
				}
				num[k] = '\0';
				if (util_parse_i64(num, 0, 1 << 30, &len) != 0)
					return -1;
			}
			need = (size_t)(hdr_end - buf) + 4 + (size_t)len;
			if (need >= sizeof(buf))
				return -1;
		}
		if (got >= need)
			return got == need ? status : -1;
	}
}

static void *
keepalive_thread(void *arg)
{
	int fd = -1;

	(void)arg;
	while (!atomic_load(&stop)) {
		if (fd < 0) {
			if ((fd = dial()) < 0) {
				atomic_fetch_add(&n_fail, 1);
				usleep(10000);
				continue;
			}
			atomic_fetch_add(&n_ka_connects, 1);
		}
		atomic_fetch_add(&n_req, 1);
		if (one_request(fd) != 200) {
			atomic_fetch_add(&n_fail, 1);
			fprintf(stderr, "dpload: kept-alive request: %s\n",
			    strerror(errno));
			close(fd);
			fd = -1;
		}
		if (pace_us > 0)
			usleep(pace_us);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void *
newconn_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		uint64_t t0 = util_mono_ns(), dt, cur;
		int fd = dial(), st;

		atomic_fetch_add(&n_req, 1);
		atomic_fetch_add(&n_new_req, 1);
		if (fd < 0) {
			atomic_fetch_add(&n_fail, 1);
			fprintf(
			    stderr, "dpload: connect: %s\n", strerror(errno));
		} else if ((st = one_request(fd)) != 200) {
			atomic_fetch_add(&n_fail, 1);
			fprintf(stderr, "dpload: new connection: %s (%s)\n",
			    st < 0 ? "failed" : "bad status",
			    st < 0 ? strerror(errno) : "");
		}
		if (fd >= 0)
			close(fd);
		/* The longest a new client waited: an accept gap shows here. */
		dt = util_mono_ns() - t0;
		cur = atomic_load(&newconn_max_ns);
		while (dt > cur &&
		    !atomic_compare_exchange_weak(&newconn_max_ns, &cur, dt))
			;
		if (pace_us > 0)
			usleep(pace_us);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t th[MAX_THREADS];
	int64_t port, ka, nc, secs, end, i, nth = 0;
	struct stat st;
	const char *stopfile = argc > 7 ? argv[7] : NULL;

	if (argc < 7 || util_parse_i64(argv[2], 1, 65535, &port) != 0 ||
	    util_parse_i64(argv[4], 0, 128, &ka) != 0 ||
	    util_parse_i64(argv[5], 0, 128, &nc) != 0 ||
	    util_parse_i64(argv[6], 1, 600, &secs) != 0 ||
	    strlen(argv[3]) > 256 || argv[3][0] != '/') {
		fprintf(stderr,
		    "usage: dpload HOST PORT PATH KEEPALIVE "
		    "NEWCONN SECONDS [STOPFILE]\n");
		return 2;
	}
	if (getenv("DPLOAD_PACE_US") != NULL) {
		int64_t p;

		if (util_parse_i64(getenv("DPLOAD_PACE_US"), 0, 1000000, &p) ==
		    0)
			pace_us = (useconds_t)p;
	}
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1)
		return 2;
	snprintf(request, sizeof(request),
	    "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", argv[3], argv[1]);
	for (i = 0; i < ka + nc; i++)
		if (pthread_create(&th[nth], NULL,
			i < ka ? keepalive_thread : newconn_thread, NULL) == 0)
			nth++;
	end = util_now() + secs;
	while (
	    util_now() < end && (stopfile == NULL || stat(stopfile, &st) != 0))
		usleep(50000);
	atomic_store(&stop, true);
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	printf("requests %llu failed %llu keepalive_connects %llu "
	       "newconn_requests %llu newconn_max_ms %.3f\n",
	    (unsigned long long)n_req, (unsigned long long)n_fail,
	    (unsigned long long)n_ka_connects, (unsigned long long)n_new_req,
	    (double)atomic_load(&newconn_max_ns) / 1e6);
	return n_fail == 0 && (int64_t)n_ka_connects == ka ? 0 : 1;
}
