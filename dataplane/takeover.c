#include "dataplane/takeover.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
takeover_send(int sock, const char *line, const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * TAKEOVER_FDS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)(uintptr_t)line, strlen(line) };
	struct msghdr m;
	struct cmsghdr *cm;
	ssize_t n;

	if (nfds > TAKEOVER_FDS_MAX) {
		errno = EINVAL;
		return -1;
	}
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	/* The fds ride on the first byte; the rest of the line follows. */
	while ((n = sendmsg(sock, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -1;
	if ((size_t)n < iov.iov_len) {
		const char *p = line + n;
		size_t left = iov.iov_len - (size_t)n;

		while (left > 0) {
			n = send(sock, p, left, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return -1;
			p += n;
			left -= (size_t)n;
		}
	}
	return 0;
}

int
takeover_recv(
    int sock, char *line, size_t linelen, int *fds, size_t maxfds, size_t *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * TAKEOVER_FDS_MAX)];
		struct cmsghdr align;
	} u;
	size_t o = 0, i;
	char ch;

	*nfds = 0;
	for (;;) {
		struct iovec iov = { &ch, 1 };
		struct msghdr m;
		struct cmsghdr *cm;
		ssize_t n;

		memset(&m, 0, sizeof(m));
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		for (cm = CMSG_FIRSTHDR(&m); cm != NULL;
		     cm = CMSG_NXTHDR(&m, cm)) {
			size_t k;

			if (cm->cmsg_level != SOL_SOCKET ||
			    cm->cmsg_type != SCM_RIGHTS)
				continue;
			k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
				    sizeof(int));
				if (*nfds < maxfds)
					fds[(*nfds)++] = fd;
				else
					close(fd);
			}
		}
		/* Descriptors lost to a short buffer: the message is broken. */
		if (m.msg_flags & MSG_CTRUNC) {
			errno = EMSGSIZE;
			goto fail;
		}
		if (ch == '\n')
			break;
		if (o + 1 >= linelen) {
			errno = EMSGSIZE;
			goto fail;
		}
		line[o++] = ch;
	}
	line[o] = '\0';
	return 0;
fail:
	for (i = 0; i < *nfds; i++)
		close(fds[i]);
	*nfds = 0;
	return -1;
}

/*
 * A decimal number of at most 18 digits, no sign, no leading zero (but
 * "0"), from *p to the next space or the end; *p moves past it.
 */
static int
conn_number(const char **p, int64_t max, int64_t *out)
{
	const char *s = *p;
	int64_t v = 0;
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		if (n == 18 || (n > 0 && s[0] == '0'))
			return -1;
		v = v * 10 + (s[n] - '0');
		n++;
	}
	if (n == 0 || v > max || (s[n] != ' ' && s[n] != '\0'))
		return -1;
	*out = v;
	*p = s + n;
	return 0;
}

int
takeover_conn_parse(const char *line, int proto, struct takeover_conn *tc)
{
	const char *p = line;
	int64_t len, age = 0;
	char clock = 'i';

	if (strncmp(p, "C ", 2) != 0)
		return -1;
	p += 2;
	if (conn_number(&p, TAKEOVER_CONN_MAX, &len) != 0)
		return -1;
	if (proto >= 2) {
		if (p[0] != ' ' || (p[1] != 'i' && p[1] != 'h') || p[2] != ' ')
			return -1;
		clock = p[1];
		p += 3;
		if (conn_number(&p, TAKEOVER_AGE_MAX_MS, &age) != 0)
			return -1;
	} else if (len > 0)
		clock = 'h';
	if (*p != '\0')
		return -1;
	tc->len = (size_t)len;
	tc->idle = clock == 'i';
	tc->age_ms = age;
	return 0;
}

int
takeover_conn_format(
    char *buf, size_t buflen, int proto, const struct takeover_conn *tc)
{
	int n;

	if (tc->len > TAKEOVER_CONN_MAX || tc->age_ms < 0)
		return -1;
	if (proto >= 2)
		n = snprintf(buf, buflen, "C %zu %c %lld", tc->len,
		    tc->idle ? 'i' : 'h',
		    (long long)(tc->age_ms > TAKEOVER_AGE_MAX_MS
			    ? TAKEOVER_AGE_MAX_MS
			    : tc->age_ms));
	else
		n = snprintf(buf, buflen, "C %zu", tc->len);
	return n > 0 && (size_t)n < buflen ? 0 : -1;
}
