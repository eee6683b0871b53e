/*
 * slowhttp: HTTP/1.1 clients that are slow in one particular way, for the
 * edge-dp limit tests (tests/integration/dp_limits.sh, dp_user.sh).  Each
 * mode prints one line of "key value" pairs for the test to compare, and
 * never reports a duration.
 *
 *	slowhttp HOST PORT trickle GAP_MS BYTES
 *		send a valid request head of BYTES bytes (40-4000) one byte
 *		every GAP_MS ms (at most 120 s in all), stopping when the
 *		server closes: "sent N of BYTES closed yes|no"
 *	slowhttp HOST PORT many N SECONDS
 *		open N connections (at most 1000), send the first line of a
 *		request head on each and nothing more; wait up to SECONDS for
 *		the server to close them: "opened N closed K"
 *	slowhttp HOST PORT steady PATH KIB_PER_S
 *		a receive buffer of 256 KiB, GET PATH, and read the response
 *		at that pace (at most 8192), a tenth of it every 100 ms, for
 *		at most 60 s: "status STATUS body BYTES complete yes|no"
 *	slowhttp HOST PORT noread PATH SECONDS
 *		a receive buffer of 4 KiB, GET PATH, then read nothing; wait
 *		up to SECONDS for the server to give up on us:
 *		"dropped reset|closed|no"
 *	slowhttp HOST PORT silent SECONDS
 *		connect and send nothing; wait up to SECONDS for the server
 *		to close: "closed yes|no"
 *	slowhttp HOST PORT twice PATH WAITFILE SECONDS
 *		GET PATH, stay connected until WAITFILE exists (at most
 *		SECONDS), GET PATH again on the same connection:
 *		"first STATUS second STATUS" (STATUS "closed" when the
 *		server closed the connection, "timeout" when no answer)
 *	slowhttp HOST PORT limit PATH N WAIT_MS
 *		open N connections and GET PATH on each; open one more and
 *		GET PATH on it, waiting WAIT_MS for an answer; GET PATH again
 *		on each of the N; close the first of them and wait up to 10 s
 *		for the extra one's answer: "established K extra_while_full
 *		answered|unanswered served_again K extra_after_close
 *		answered|unanswered"
 *
 * Every wait is bounded; SECONDS at most 120, WAIT_MS at most 10000, N at
 * most 256.  Exit 0 when the mode ran (whatever it found), 2 on misuse, 1
 * when it could not connect.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define RESP_MAX 65536
#define ST_CLOSED -1  /* the server closed the connection */
#define ST_TIMEOUT -2 /* no whole answer in time */

static struct sockaddr_in dst;

static int
dial(int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	/* Before connect, so the window it offers is that small. */
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int64_t
now_ms(void)
{
	return (int64_t)(util_mono_ns() / 1000000);
}

/*
 * Read one whole response (Content-Length framed, bodies up to RESP_MAX)
 * within ms: its status, ST_CLOSED or ST_TIMEOUT.
 */
static int
read_response(int fd, int ms)
{
	static char buf[RESP_MAX + 1];
	int64_t end = now_ms() + ms;
	size_t got = 0;
	const char *eoh, *cl;
	long status, len = 0;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = end - now_ms();
		ssize_t n;

		buf[got] = '\0';
		if ((eoh = strstr(buf, "\r\n\r\n")) != NULL) {
			if (sscanf(buf, "HTTP/1.%*d %ld", &status) != 1)
				return ST_CLOSED;
			cl = strstr(buf, "Content-Length: ");
			if (cl != NULL && cl < eoh)
				len = strtol(cl + 16, NULL, 10);
			if (len < 0 || len > RESP_MAX / 2)
				return ST_CLOSED;
			if (got >= (size_t)(eoh + 4 - buf) + (size_t)len)
				return (int)status;
		}
		if (left <= 0 || poll(&p, 1, (int)left) != 1)
			return ST_TIMEOUT;
		if (got == RESP_MAX)
			return ST_CLOSED;
		n = recv(fd, buf + got, RESP_MAX - got, 0);
		if (n <= 0)
			return ST_CLOSED;
		got += (size_t)n;
	}
}

static int
get(int fd, const char *path, int ms)
{
	char req[512];
	int n = snprintf(
	    req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);

	if (n < 0 || (size_t)n >= sizeof(req) ||
	    send_all(fd, req, (size_t)n) != 0)
		return ST_CLOSED;
	return read_response(fd, ms);
}

static const char *
status_text(int st, char *buf, size_t len)
{
	if (st == ST_CLOSED)
		return "closed";
	if (st == ST_TIMEOUT)
		return "timeout";
	snprintf(buf, len, "%d", st);
	return buf;
}

/* Has the server closed (or reset) fd?  Never blocks, reads nothing. */
static bool
server_closed(int fd)
{
	struct pollfd p = { fd, POLLRDHUP, 0 };

	return poll(&p, 1, 0) == 1 &&
	    (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

static int
mode_trickle(int64_t gap_ms, int64_t bytes)
{
	char head[4096];
	int64_t i;
	int fd, n;

	if (gap_ms * bytes > 120000)
		return 2;
	n = snprintf(head, sizeof(head),
	    "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: %0*d\r\n\r\n", (int)bytes - 36,
	    0);
	if (n != bytes)
		return 2;
	if ((fd = dial(0)) < 0)
		return 1;
	for (i = 0; i < bytes; i++) {
		if (server_closed(fd) ||
		    send(fd, head + i, 1, MSG_NOSIGNAL) != 1)
			break;
		usleep((useconds_t)gap_ms * 1000);
	}
	printf("sent %lld of %lld closed %s\n", (long long)i, (long long)bytes,
	    i < bytes ? "yes" : "no");
	close(fd);
	return 0;
}

static int
mode_many(int64_t n, int64_t secs)
{
	static const char line[] = "GET / HTTP/1.1\r\n";
	int64_t end = now_ms() + secs * 1000;
	int *fds, i, opened = 0, closed = 0;

	if ((fds = calloc((size_t)n, sizeof(int))) == NULL)
		return 1;
	for (i = 0; i < n; i++)
		if ((fds[i] = dial(0)) >= 0 &&
		    send_all(fds[i], line, sizeof(line) - 1) == 0)
			opened++;
	for (;;) {
		closed = 0;
		for (i = 0; i < n; i++)
			if (fds[i] < 0 || server_closed(fds[i]))
				closed++;
		if (closed == n || now_ms() >= end)
			break;
		usleep(100000);
	}
	/* Those that never opened are not the server's doing. */
	printf("opened %d closed %d\n", opened, closed - (int)(n - opened));
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return 0;
}

static int
mode_steady(const char *path, int64_t kib_per_s)
{
	char req[512], buf[65536];
	int64_t end = now_ms() + 60000, len = -1, body = 0;
	size_t hl = 0;
	long status = 0;
	int fd, n;
	/* What is read every 100 ms: never a long pause on our side. */
	int64_t step = kib_per_s * 1024 / 10;

	n = snprintf(
	    req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
	if (n < 0 || (size_t)n >= sizeof(req))
		return 2;
	if ((fd = dial(262144)) < 0)
		return 1;
	if (send_all(fd, req, (size_t)n) != 0)
		goto out;
	/* The head, byte by byte: it is small, and nothing of the body is
	 * read before its pace applies. */
	while (hl < sizeof(buf) - 1 && now_ms() < end) {
		if (recv(fd, buf + hl, 1, 0) != 1)
			goto out;
		hl++;
		buf[hl] = '\0';
		if (hl >= 4 && memcmp(buf + hl - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	if (sscanf(buf, "HTTP/1.%*d %ld", &status) != 1)
		goto out;
	{
		const char *cl = strstr(buf, "Content-Length: ");

		if (cl != NULL)
			len = strtoll(cl + 16, NULL, 10);
	}
	while (body < len && now_ms() < end) {
		int64_t tick = 0;
		ssize_t r = 0;

		while (tick < step) {
			size_t want = (size_t)(step - tick) < sizeof(buf)
			    ? (size_t)(step - tick)
			    : sizeof(buf);

			r = recv(fd, buf, want, MSG_DONTWAIT);
			if (r <= 0)
				break;
			tick += r;
		}
		body += tick;
		if (r == 0 || (r < 0 && errno != EAGAIN))
			break;
		usleep(100000);
	}
out:
	printf("status %ld body %lld complete %s\n", status, (long long)body,
	    len >= 0 && body == len ? "yes" : "no");
	close(fd);
	return 0;
}

static int
mode_noread(const char *path, int64_t secs)
{
	char req[512];
	int fd, n, err = 0;
	socklen_t el = sizeof(err);
	struct pollfd p;
	const char *how = "no";

	n = snprintf(
	    req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
	if (n < 0 || (size_t)n >= sizeof(req))
		return 2;
	if ((fd = dial(4096)) < 0)
		return 1;
	if (send_all(fd, req, (size_t)n) != 0) {
		printf("dropped closed\n");
		close(fd);
		return 0;
	}
	/* Only a hang-up wakes us: the response is never read. */
	p.fd = fd;
	p.events = POLLRDHUP;
	p.revents = 0;
	if (poll(&p, 1, (int)secs * 1000) == 1) {
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		how = err == ECONNRESET ? "reset" : "closed";
	}
	printf("dropped %s\n", how);
	close(fd);
	return 0;
}

static int
mode_silent(int64_t secs)
{
	int64_t end = now_ms() + secs * 1000;
	int fd;

	if ((fd = dial(0)) < 0)
		return 1;
	while (!server_closed(fd) && now_ms() < end)
		usleep(50000);
	printf("closed %s\n", server_closed(fd) ? "yes" : "no");
	close(fd);
	return 0;
}

static int
mode_twice(const char *path, const char *waitfile, int64_t secs)
{
	char a[16], b[16];
	int64_t end = now_ms() + secs * 1000;
	struct stat st;
	int fd, first, second = ST_CLOSED;

	if ((fd = dial(0)) < 0)
		return 1;
	first = get(fd, path, 5000);
	while (stat(waitfile, &st) != 0 && now_ms() < end && !server_closed(fd))
		usleep(50000);
	if (first > 0)
		second = get(fd, path, 5000);
	printf("first %s second %s\n", status_text(first, a, sizeof(a)),
	    status_text(second, b, sizeof(b)));
	close(fd);
	return 0;
}

static int
mode_limit(const char *path, int64_t n, int64_t wait_ms)
{
	int fds[256], extra, i, established = 0, again = 0, while_full,
				after = ST_TIMEOUT;

	for (i = 0; i < n; i++) {
		fds[i] = dial(0);
		if (fds[i] >= 0 && get(fds[i], path, 5000) == 200)
			established++;
	}
	if ((extra = dial(0)) < 0)
		return 1;
	while_full = get(extra, path, (int)wait_ms);
	for (i = 0; i < n; i++)
		if (fds[i] >= 0 && get(fds[i], path, 5000) == 200)
			again++;
	if (fds[0] >= 0) {
		close(fds[0]);
		fds[0] = -1;
	}
	/* The request was sent already; its answer is what is awaited. */
	if (while_full == ST_TIMEOUT)
		after = read_response(extra, 10000);
	printf("established %d extra_while_full %s served_again %d "
	       "extra_after_close %s\n",
	    established, while_full > 0 ? "answered" : "unanswered", again,
	    after > 0 ? "answered" : "unanswered");
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	close(extra);
	return 0;
}

int
main(int argc, char **argv)
{
	int64_t port, a, b;
	const char *mode;

	if (argc < 4 || util_parse_i64(argv[2], 1, 65535, &port) != 0)
		goto usage;
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1)
		goto usage;
	mode = argv[3];
	if (strcmp(mode, "trickle") == 0 && argc == 6 &&
	    util_parse_i64(argv[4], 1, 5000, &a) == 0 &&
	    util_parse_i64(argv[5], 40, 4000, &b) == 0)
		return mode_trickle(a, b);
	if (strcmp(mode, "noread") == 0 && argc == 6 &&
	    util_parse_i64(argv[5], 1, 120, &a) == 0)
		return mode_noread(argv[4], a);
	if (strcmp(mode, "silent") == 0 && argc == 5 &&
	    util_parse_i64(argv[4], 1, 120, &a) == 0)
		return mode_silent(a);
	if (strcmp(mode, "twice") == 0 && argc == 7 &&
	    util_parse_i64(argv[6], 1, 120, &a) == 0)
		return mode_twice(argv[4], argv[5], a);
	if (strcmp(mode, "limit") == 0 && argc == 7 &&
	    util_parse_i64(argv[5], 1, 256, &a) == 0 &&
	    util_parse_i64(argv[6], 1, 10000, &b) == 0)
		return mode_limit(argv[4], a, b);
	if (strcmp(mode, "many") == 0 && argc == 6 &&
	    util_parse_i64(argv[4], 1, 1000, &a) == 0 &&
	    util_parse_i64(argv[5], 1, 120, &b) == 0)
		return mode_many(a, b);
	if (strcmp(mode, "steady") == 0 && argc == 6 &&
	    util_parse_i64(argv[5], 1, 8192, &a) == 0)
		return mode_steady(argv[4], a);
usage:
	fprintf(stderr,
	    "usage: slowhttp HOST PORT trickle GAP_MS BYTES\n"
	    "       slowhttp HOST PORT noread PATH SECONDS\n"
	    "       slowhttp HOST PORT silent SECONDS\n"
	    "       slowhttp HOST PORT many N SECONDS\n"
	    "       slowhttp HOST PORT steady PATH KIB_PER_S\n"
	    "       slowhttp HOST PORT twice PATH WAITFILE SECONDS\n"
	    "       slowhttp HOST PORT limit PATH N WAIT_MS\n");
	return 2;
}
