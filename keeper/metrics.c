#include "keeper/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"

static int km_fd = -1;
static pthread_t km_thread;
static pthread_mutex_t km_mu = PTHREAD_MUTEX_INITIALIZER;
static char *km_text;
static size_t km_len;
static volatile int km_stop;

void
kmetrics_publish(const char *text, size_t len)
{
	char *copy = malloc(len + 1);

	if (copy == NULL)
		return;
	memcpy(copy, text, len);
	copy[len] = '\0';
	pthread_mutex_lock(&km_mu);
	free(km_text);
	km_text = copy;
	km_len = len;
	pthread_mutex_unlock(&km_mu);
}

static void
km_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void
km_serve(int fd)
{
	char req[1024], hdr[160];
	struct pollfd p = { fd, POLLIN, 0 };
	size_t got = 0;
	ssize_t n;
	int hl;

	/*
	 * Enough of the request to see its first line, within 2 s.  memchr()
	 * reads only the got bytes recv() filled: none on the first test,
	 * which cppcheck takes for a read of the uninitialised req.
	 */
	/* cppcheck-suppress uninitvar */
	while (got < sizeof(req) - 1 && memchr(req, '\n', got) == NULL) {
		if (poll(&p, 1, 2000) != 1)
			return;
		if ((n = recv(fd, req + got, sizeof(req) - 1 - got, 0)) <= 0)
			return;
		got += (size_t)n;
	}
	req[got] = '\0';
	if (strncmp(req, "GET /metrics ", 13) != 0 &&
	    strncmp(req, "GET /metrics\r", 13) != 0) {
		static const char nf[] = "HTTP/1.1 404 Not Found\r\n"
					 "Content-Length: 0\r\n"
					 "Connection: close\r\n\r\n";

		km_write_all(fd, nf, sizeof(nf) - 1);
		return;
	}
	pthread_mutex_lock(&km_mu);
	hl = snprintf(hdr, sizeof(hdr),
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	    km_len);
	km_write_all(fd, hdr, (size_t)hl);
	if (km_text != NULL)
		km_write_all(fd, km_text, km_len);
	pthread_mutex_unlock(&km_mu);
}

static void *
km_loop(void *arg)
{
	(void)arg;
	while (!km_stop) {
		struct pollfd p = { km_fd, POLLIN, 0 };
		int c;

		if (poll(&p, 1, 500) != 1)
			continue;
		if ((c = accept4(km_fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		km_serve(c);
		close(c);
	}
	return NULL;
}

int
kmetrics_start(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	const char *colon = strrchr(addr, ':');
	char host[64];
	int64_t port;
	int one = 1;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host) ||
	    util_parse_i64(colon + 1, 1, 65535, &port) != 0) {
		snprintf(err, errlen, "metrics: want 127.0.0.1:PORT");
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "metrics: bad address %s", host);
		return -1;
	}
	if ((km_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(km_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(km_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(km_fd, 16) != 0) {
		snprintf(err, errlen, "metrics: %s: %s", addr, strerror(errno));
		if (km_fd >= 0)
			close(km_fd);
		km_fd = -1;
		return -1;
	}
	if (pthread_create(&km_thread, NULL, km_loop, NULL) != 0) {
		snprintf(err, errlen, "metrics: no thread");
		close(km_fd);
		km_fd = -1;
		return -1;
	}
	return 0;
}

void
kmetrics_stop(void)
{
	if (km_fd < 0)
		return;
	km_stop = 1;
	pthread_join(km_thread, NULL);
	close(km_fd);
	km_fd = -1;
	pthread_mutex_lock(&km_mu);
	free(km_text);
	km_text = NULL;
	pthread_mutex_unlock(&km_mu);
}
