/*
 * slowclient: slow clients against a server, to show that they do not
 * starve the others and that edge-cp bounds them.
 *
 *	slowclient HOST PORT CONNS SECONDS [SRC_PREFIX]
 *
 * Opens CONNS TCP connections (from 127.0.0.2, .3, ... when SRC_PREFIX is
 * "127.0.0." so per-IP limits are spread), sends one byte of a TLS record
 * header on each and then nothing, holds them for SECONDS, and prints how
 * many were accepted and how many the server has closed by then.
 * Bounded: at most 5000 connections and 120 seconds.
 *
 *	slowclient trickle HOST PORT SRC_ADDR KIND INTERVAL_MS SECONDS
 *		   [STOP_FILE]
 *
 * One HTTPS connection from SRC_ADDR ("-": any) that sends a request one
 * byte (one TLS record) every INTERVAL_MS, always active, never done:
 *
 *	headers	GET /v1/pops, request line and headers trickled
 *	body	POST /v1/pops, headers at once, the JSON body trickled
 *	upload	PUT /v1/releases/keeper/0.0.0-trickle with the bearer token
 *		in $SLOWCLIENT_TOKEN, headers at once, the body trickled
 *
 * The request is long enough to last SECONDS.  When STOP_FILE appears,
 * the rest of the request goes at once and the answer is read.  Prints
 * "connected" after the TLS handshake, then one of
 *
 *	cut after N bytes	  the server closed the connection
 *	answered STATUS after N bytes
 *	open after N bytes	  SECONDS passed, the connection still open
 *
 * Bounded: INTERVAL_MS 10 to 10000, SECONDS at most 120, 10 s more to
 * read an answer.  The server's certificate is not checked: it is a load
 * tool for loopback tests.  Exit 0 after one of those lines, 1 when it
 * could not connect, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define TRICKLE_MAX (16u << 10) /* bytes trickled at most */
#define TRICKLE_ANSWER_MS 10000

static int
stall_main(int argc, char **argv)
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
		fprintf(stderr,
		    "usage: slowclient HOST PORT CONNS SECONDS "
		    "[SRC_PREFIX]\n"
		    "       slowclient trickle HOST PORT SRC_ADDR KIND "
		    "INTERVAL_MS SECONDS [STOP_FILE]\n");
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

static uint64_t
now_ms(void)
{
	return util_mono_ns() / 1000000u;
}

/* The request: *head goes at once, the rest one byte at a time. */
static char *
trickle_request(const char *kind, size_t n, size_t *len, size_t *head)
{
	const char *tok = getenv("SLOWCLIENT_TOKEN");
	char *buf;
	int h;

	if ((buf = malloc(n + 1024)) == NULL)
		return NULL;
	if (strcmp(kind, "headers") == 0) {
		h = snprintf(buf, 1024, "GET /v1/pops HTTP/1.1\r\nHost: t\r\n");
		memset(buf + h, 'a', n);
		memcpy(buf + h, "X-Pad: ", 7);
		memcpy(buf + h + n, "\r\n\r\n", 5);
		*len = (size_t)h + n + 4;
		*head = 0;
		return buf;
	}
	if (strcmp(kind, "body") == 0)
		h = snprintf(buf, 1024,
		    "POST /v1/pops HTTP/1.1\r\nHost: t\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n",
		    n);
	else if (strcmp(kind, "upload") == 0 && tok != NULL &&
	    strlen(tok) < 100)
		h = snprintf(buf, 1024,
		    "PUT /v1/releases/keeper/0.0.0-trickle HTTP/1.1\r\n"
		    "Host: t\r\nAuthorization: Bearer %s\r\n"
		    "Content-Type: application/octet-stream\r\n"
		    "Content-Length: %zu\r\n\r\n",
		    tok, n);
	else {
		free(buf);
		return NULL;
	}
	memset(buf + h, ' ', n);
	buf[h] = '{';
	buf[h + n - 1] = '}';
	*len = (size_t)h + n;
	*head = (size_t)h;
	return buf;
}

/* Send all of p, waiting for the socket as needed; -1 when cut. */
static int
tls_send_all(gnutls_session_t s, int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = gnutls_record_send(s, p, n);

		if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) {
			struct pollfd pfd = { fd, POLLOUT, 0 };

			if (poll(&pfd, 1, TRICKLE_ANSWER_MS) <= 0)
				return -1;
			continue;
		}
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Wait up to ms for the server: 0 when it said nothing, 1 when it closed
 * (or broke) the connection, 2 with *status when an answer came.
 */
static int
tls_wait(gnutls_session_t s, int fd, int ms, int *status)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	char buf[4096];

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t t = now_ms();
		ssize_t n;

		if (gnutls_record_check_pending(s) == 0 &&
		    (t >= end || poll(&pfd, 1, (int)(end - t)) == 0))
			return 0;
		n = gnutls_record_recv(s, buf, sizeof(buf) - 1);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue; /* a session ticket, say */
		if (n <= 0)
			return 1;
		buf[n] = '\0';
		if (strncmp(buf, "HTTP/1.", 7) != 0 ||
		    sscanf(buf + 8, " %3d", status) != 1)
			*status = 0;
		return 2;
	}
}

static int
trickle_main(int argc, char **argv)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	struct sockaddr_in dst, src;
	int64_t port, interval, secs;
	const char *stop = argc > 8 ? argv[8] : NULL;
	size_t len = 0, head = 0, sent = 0, n;
	char *req = NULL;
	uint64_t end;
	int fd = -1, rc = 1, status = 0, w = 0;
	struct stat st;

	if (argc < 8 || util_parse_i64(argv[3], 1, 65535, &port) != 0 ||
	    util_parse_i64(argv[6], 10, 10000, &interval) != 0 ||
	    util_parse_i64(argv[7], 1, 120, &secs) != 0) {
		fprintf(stderr,
		    "usage: slowclient trickle HOST PORT SRC_ADDR KIND "
		    "INTERVAL_MS SECONDS [STOP_FILE]\n");
		return 2;
	}
	n = (size_t)(secs * 1000 / interval) + 16;
	if (n > TRICKLE_MAX)
		n = TRICKLE_MAX;
	if ((req = trickle_request(argv[5], n, &len, &head)) == NULL) {
		fprintf(stderr,
		    "slowclient: KIND is headers, body or upload "
		    "(with SLOWCLIENT_TOKEN)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1 ||
	    (strcmp(argv[4], "-") != 0 &&
		inet_pton(AF_INET, argv[4], &src.sin_addr) != 1)) {
		fprintf(stderr, "slowclient: bad address\n");
		goto out;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    (strcmp(argv[4], "-") != 0 &&
		bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
		fprintf(stderr, "slowclient: connect: %s\n", strerror(errno));
		goto out;
	}
	if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_init(&s, GNUTLS_CLIENT) < 0 ||
	    gnutls_set_default_priority(s) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0)
		goto out;
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, TRICKLE_ANSWER_MS);
	do
		w = gnutls_handshake(s);
	while (w < 0 && gnutls_error_is_fatal(w) == 0);
	if (w < 0) {
		fprintf(
		    stderr, "slowclient: handshake: %s\n", gnutls_strerror(w));
		goto out;
	}
	/* From here on, waiting is poll's job. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	printf("connected\n");
	fflush(stdout);
	rc = 0;
	if (tls_send_all(s, fd, req, head) != 0) {
		printf("cut after %zu bytes\n", sent);
		goto out;
	}
	sent = head;
	end = now_ms() + (uint64_t)secs * 1000u;
	while (sent < len) {
		if (stop != NULL && stat(stop, &st) == 0) {
			if (tls_send_all(s, fd, req + sent, len - sent) != 0) {
				printf("cut after %zu bytes\n", sent);
				goto out;
			}
			sent = len;
			break;
		}
		if (now_ms() >= end) {
			printf("open after %zu bytes\n", sent);
			goto out;
		}
		if (tls_send_all(s, fd, req + sent, 1) != 0) {
			printf("cut after %zu bytes\n", sent);
			goto out;
		}
		sent++;
		w = tls_wait(s, fd, (int)interval, &status);
		if (w == 1) {
			printf("cut after %zu bytes\n", sent);
			goto out;
		}
		if (w == 2) {
			printf("answered %d after %zu bytes\n", status, sent);
			goto out;
		}
	}
	w = tls_wait(s, fd, TRICKLE_ANSWER_MS, &status);
	if (w == 2)
		printf("answered %d after %zu bytes\n", status, sent);
	else if (w == 1)
		printf("cut after %zu bytes\n", sent);
	else
		printf("open after %zu bytes\n", sent);
out:
	if (s != NULL)
		gnutls_deinit(s);
	if (cred != NULL)
		gnutls_certificate_free_credentials(cred);
	if (fd >= 0)
		close(fd);
	free(req);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "trickle") == 0)
		return trickle_main(argc, argv);
	return stall_main(argc, argv);
}
