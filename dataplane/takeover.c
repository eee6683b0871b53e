#include "dataplane/takeover.h"

#include <errno.h>
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
