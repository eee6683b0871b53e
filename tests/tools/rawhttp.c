/*
 * rawhttp: send bytes exactly as given to an HTTP server and report what
 * came back, for tests of malformed and pipelined requests that curl
 * would refuse to send.
 *
 *	rawhttp HOST PORT [WAIT_MS] < request-bytes
 *
 * Connects over TCP (IPv4), writes stdin (at most 1 MiB) whole, then
 * reads until the server closes or WAIT_MS (default 2000, at most 10000)
 * passes without a byte.  Prints one line per status line found in the
 * response bytes ("HTTP/1.1 400 Bad Request"), then "closed" or "open".
 * With RAWHTTP_DUMP set, the whole response goes to stderr too.
 * Exit 0 when it connected and sent everything, 1 otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"

#define RAW_IN_MAX (1u << 20)
#define RAW_OUT_MAX (4u << 20)

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	int64_t port, wait_ms = 2000;
	size_t inlen = 0, outlen = 0, off;
	char *in, *out, *p;
	bool closed = false;
	ssize_t n;
	int fd;

	if (argc < 3 || util_parse_i64(argv[2], 1, 65535, &port) != 0 ||
	    (argc > 3 && util_parse_i64(argv[3], 1, 10000, &wait_ms) != 0)) {
		fprintf(stderr, "usage: rawhttp HOST PORT [WAIT_MS] < bytes\n");
		return 2;
	}
	if ((in = malloc(RAW_IN_MAX)) == NULL ||
	    (out = malloc(RAW_OUT_MAX + 1)) == NULL)
		return 1;
	while (inlen < RAW_IN_MAX &&
	    (n = read(0, in + inlen, RAW_IN_MAX - inlen)) > 0)
		inlen += (size_t)n;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1 ||
	    (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "rawhttp: connect: %s\n", strerror(errno));
		return 1;
	}
	/* The server may answer and close before it has read everything. */
	for (off = 0; off < inlen; off += (size_t)n)
		if ((n = send(fd, in + off, inlen - off, MSG_NOSIGNAL)) <= 0)
			break;
	for (;;) {
		struct pollfd pf = { fd, POLLIN, 0 };

		if (poll(&pf, 1, (int)wait_ms) != 1)
			break;
		n = recv(fd, out + outlen, RAW_OUT_MAX - outlen, 0);
		if (n <= 0) {
			/* EOF, or a reset after the answer: closed either way. */
			closed = true;
			break;
		}
		outlen += (size_t)n;
		if (outlen == RAW_OUT_MAX)
			break;
	}
	out[outlen] = '\0';
	if (getenv("RAWHTTP_DUMP") != NULL)
		fwrite(out, 1, outlen, stderr);
	for (p = out; (p = strstr(p, "HTTP/1.")) != NULL; p++) {
		size_t len = strcspn(p, "\r\n");

		/* A status line starts a line (or the response). */
		if (p == out || p[-1] == '\n')
			printf("%.*s\n", (int)len, p);
	}
	printf("%s\n", closed ? "closed" : "open");
	close(fd);
	free(in);
	free(out);
	return 0;
}
