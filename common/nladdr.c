/*
 * nladdr: interface addresses through rtnetlink; the contract is in
 * nladdr.h.
 *
 * One call, one socket: each call opens a NETLINK_ROUTE socket, sends one
 * hand-built request, reads the answer and closes the socket.  A socket
 * that has sent nothing else can only be answered about this request, so
 * the sequence-number and sender checks guard against what else may reach
 * the port: any local process may unicast to a netlink port, but only the
 * kernel sends from port 0, and only this request carries our sequence
 * number.  Messages that fail either check are dropped, not errors: a
 * stranger's datagram must not turn a good answer into a failure.
 *
 * Requests are built in a fixed struct (header, ifaddrmsg, room for three
 * attributes), as iproute2 does, so building one cannot fail at run time
 * and nothing is allocated but the receive buffer.
 */
#include "common/nladdr.h"
#include "common/priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/*
 * The kernel never builds a dump datagram larger than the largest buffer
 * recvmsg() has been given on the socket, capped at 32 KiB (netlink_recvmsg
 * and netlink_dump in net/netlink/af_netlink.c), so a 32 KiB buffer takes
 * every datagram whole.  MSG_TRUNC is still checked: a truncated datagram
 * would be a silently short list, so it is an error.  The buffer is
 * allocated, not on the stack, because the gate calls this on a thread of
 * its own whose stack size is not ours to assume.
 */
#define NLADDR_RCVBUF (32 * 1024)
#define NLADDR_TIMEOUT_S 1
#define NLADDR_WHAT_MAX (NLADDR_TEXT_MAX + 64)

/* A request: room for IFA_LOCAL, IFA_ADDRESS (16 bytes each), IFA_FLAGS. */
struct nladdr_req {
	struct nlmsghdr nh;
	struct ifaddrmsg ifa;
	char attrs[2 * RTA_SPACE(16) + RTA_SPACE(sizeof(uint32_t))];
};

/*
 * One exchange with the kernel.  what names the operation for messages
 * ("add 192.0.2.1/32 on ifindex 1"); ok_errno is the kernel's answer that
 * counts as success (0 for none); each address of ifindex in a dump is
 * handed to cb, which returns 0 or a negative errno that ends the dump.
 */
struct nladdr_io {
	const char *what;
	char *err;
	size_t errlen;
	uint32_t seq;
	unsigned ifindex;
	int ok_errno;
	int (*cb)(const struct nladdr *, void *);
	void *arg;
};

static size_t
nladdr_len(int family)
{
	if (family == AF_INET)
		return 4;
	if (family == AF_INET6)
		return 16;
	return 0;
}

static int
nladdr_valid(const struct nladdr *a)
{
	size_t len = nladdr_len(a->family);

	return len != 0 && a->prefixlen <= len * 8;
}

/*
 * The prefix length: decimal digits only, no sign, no blanks and no
 * leading zero (which some tools read as octal), at most max.
 */
static int
nladdr_parse_len(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 3)
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int
nladdr_parse(const char *text, struct nladdr *a)
{
	char buf[INET6_ADDRSTRLEN];
	struct nladdr r;
	const char *slash;
	size_t n;

	memset(&r, 0, sizeof(r));
	if (text == NULL)
		return -1;
	slash = strchr(text, '/');
	n = slash != NULL ? (size_t)(slash - text) : strlen(text);
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, text, n);
	buf[n] = '\0';
	/* inet_pton() takes the whole string or nothing: no trailing junk. */
	r.family = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(r.family, buf, r.addr) != 1)
		return -1;
	r.prefixlen = (unsigned)nladdr_len(r.family) * 8;
	if (slash != NULL &&
	    nladdr_parse_len(slash + 1, r.prefixlen, &r.prefixlen) != 0)
		return -1;
	*a = r;
	return 0;
}

void
nladdr_format(const struct nladdr *a, char *out, size_t len)
{
	char buf[INET6_ADDRSTRLEN];

	if (len == 0)
		return;
	if (nladdr_len(a->family) == 0 ||
	    inet_ntop(a->family, a->addr, buf, sizeof(buf)) == NULL) {
		snprintf(out, len, "(family %d)", a->family);
		return;
	}
	snprintf(out, len, "%s/%u", buf, a->prefixlen);
}

int
nladdr_equal(const struct nladdr *a, const struct nladdr *b)
{
	/* Only the bytes of the family count; the rest may be anything. */
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	    memcmp(a->addr, b->addr, nladdr_len(a->family)) == 0;
}

unsigned
nladdr_ifindex(const char *ifname, char *err, size_t errlen)
{
	unsigned idx;

	if (ifname == NULL || ifname[0] == '\0') {
		snprintf(err, errlen, "interface name is empty");
		return 0;
	}
	idx = if_nametoindex(ifname);
	if (idx == 0)
		snprintf(
		    err, errlen, "interface %s: %s", ifname, strerror(errno));
	return idx;
}

static void
nladdr_what(char *out, size_t len, const char *op, unsigned ifindex,
    const struct nladdr *a)
{
	char text[NLADDR_TEXT_MAX];

	nladdr_format(a, text, sizeof(text));
	snprintf(out, len, "%s %s on ifindex %u", op, text, ifindex);
}

static int
nladdr_fail(const struct nladdr_io *io, const char *why, int e)
{
	snprintf(io->err, io->errlen, "%s: %s", io->what, why);
	return -e;
}

static void
nladdr_attr(
    struct nladdr_req *req, unsigned short type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(req->nh.nlmsg_len);
	struct rtattr *rta = (struct rtattr *)((char *)req + off);

	/* The struct has room for every attribute built here. */
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	req->nh.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
}

/* An RTM_NEWADDR or RTM_DELADDR request for a on ifindex. */
static void
nladdr_build(struct nladdr_req *req, unsigned short type, unsigned short flags,
    unsigned ifindex, const struct nladdr *a)
{
	size_t len = nladdr_len(a->family);

	memset(req, 0, sizeof(*req));
	req->nh.nlmsg_len = NLMSG_LENGTH(sizeof(req->ifa));
	req->nh.nlmsg_type = type;
	req->nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	req->ifa.ifa_family = (unsigned char)a->family;
	req->ifa.ifa_prefixlen = (unsigned char)a->prefixlen;
	req->ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	req->ifa.ifa_index = ifindex;
	/* Local and "address" alike: a plain address, not a peer link. */
	nladdr_attr(req, IFA_LOCAL, a->addr, len);
	nladdr_attr(req, IFA_ADDRESS, a->addr, len);
	if (type == RTM_NEWADDR && a->family == AF_INET6) {
		uint32_t f = IFA_F_NODAD;

		req->ifa.ifa_flags = (unsigned char)f;
		nladdr_attr(req, IFA_FLAGS, &f, sizeof(f));
	}
}

static int
nladdr_open(int dump)
{
	struct timeval tv = { NLADDR_TIMEOUT_S, 0 };
	int fd, one = 1;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	/*
	 * Strict checking makes the kernel (4.20 and later) honour the
	 * dump's ifindex and answer ENODEV for one that does not exist.
	 * Older kernels refuse the option and dump every interface, which
	 * the reader filters anyway.
	 */
	if (dump)
		(void)setsockopt(
		    fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	return fd;
}

/* An RTM_NEWADDR of a dump: hand it to io->cb if it is one of ours. */
static int
nladdr_data(struct nladdr_io *io, struct nlmsghdr *nh)
{
	struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	const void *local = NULL, *address = NULL;
	struct rtattr *rta;
	struct nladdr a;
	size_t alen, left;
	int rc;

	if (nh->nlmsg_len < NLMSG_SPACE(sizeof(*ifa)))
		return nladdr_fail(io, "malformed address message", EBADMSG);
	if (ifa->ifa_index != io->ifindex)
		return 0;
	if ((alen = nladdr_len(ifa->ifa_family)) == 0)
		return 0;
	if (ifa->ifa_prefixlen > alen * 8)
		return nladdr_fail(io, "malformed address message", EBADMSG);
	left = nh->nlmsg_len - NLMSG_SPACE(sizeof(*ifa));
	rta = IFA_RTA(ifa);
	while (left >= sizeof(*rta)) {
		size_t step = RTA_ALIGN(rta->rta_len);

		if (rta->rta_len < sizeof(*rta) || rta->rta_len > left)
			return nladdr_fail(
			    io, "malformed address attribute", EBADMSG);
		if (RTA_PAYLOAD(rta) == alen && rta->rta_type == IFA_LOCAL)
			local = RTA_DATA(rta);
		if (RTA_PAYLOAD(rta) == alen && rta->rta_type == IFA_ADDRESS)
			address = RTA_DATA(rta);
		if (step >= left)
			break;
		left -= step;
		rta = (struct rtattr *)((char *)rta + step);
	}
	/*
	 * IFA_LOCAL is the interface's own address; IFA_ADDRESS is the
	 * peer's on a point-to-point link and the only one IPv6 usually
	 * sends.
	 */
	if (local == NULL)
		local = address;
	if (local == NULL)
		return 0;
	memset(&a, 0, sizeof(a));
	a.family = ifa->ifa_family;
	a.prefixlen = ifa->ifa_prefixlen;
	memcpy(a.addr, local, alen);
	if ((rc = io->cb(&a, io->arg)) < 0)
		return nladdr_fail(io, strerror(-rc), -rc);
	return 0;
}

/* NLMSG_ERROR: an ACK (error 0) or the kernel's refusal. */
static int
nladdr_ack(struct nladdr_io *io, struct nlmsghdr *nh)
{
	struct nlmsgerr *e = NLMSG_DATA(nh);
	int code;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
		return nladdr_fail(io, "malformed netlink error", EBADMSG);
	if (e->error == 0)
		return 1;
	code = e->error < 0 && e->error > -4096 ? -e->error : EPROTO;
	if (code == io->ok_errno)
		return 1;
	return nladdr_fail(io, strerror(code), code);
}

/* NLMSG_DONE ends a dump; a dump that failed carries its error in it. */
static int
nladdr_done(struct nladdr_io *io, struct nlmsghdr *nh)
{
	int v;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(v)))
		return 1;
	memcpy(&v, NLMSG_DATA(nh), sizeof(v));
	if (v < 0 && v > -4096)
		return nladdr_fail(io, strerror(-v), -v);
	return 1;
}

/*
 * The messages of one datagram.  Returns 1 when the answer is complete,
 * 0 when more is to come, or a negative errno with io->err set.
 */
static int
nladdr_walk(struct nladdr_io *io, char *buf, size_t len)
{
	struct nlmsghdr *nh;
	size_t off;
	int rc;

	for (off = 0; off < len; off += NLMSG_ALIGN(nh->nlmsg_len)) {
		nh = (struct nlmsghdr *)(buf + off);
		if (len - off < sizeof(*nh) || nh->nlmsg_len < sizeof(*nh) ||
		    nh->nlmsg_len > len - off)
			return nladdr_fail(
			    io, "malformed netlink message", EBADMSG);
		if (nh->nlmsg_seq != io->seq)
			continue;
		if (nh->nlmsg_type == NLMSG_ERROR)
			return nladdr_ack(io, nh);
		/* The kernel's view changed under the dump: not a list. */
		if (nh->nlmsg_flags & NLM_F_DUMP_INTR)
			return nladdr_fail(io,
			    "dump interrupted by a concurrent change", EAGAIN);
		if (nh->nlmsg_type == NLMSG_DONE)
			return nladdr_done(io, nh);
		if (nh->nlmsg_type == NLMSG_OVERRUN)
			return nladdr_fail(io, "netlink overrun", EOVERFLOW);
		if (nh->nlmsg_type == RTM_NEWADDR && io->cb != NULL &&
		    (rc = nladdr_data(io, nh)) != 0)
			return rc;
	}
	return 0;
}

/*
 * Send req and read until its ACK or NLMSG_DONE.  Returns 0, or a
 * negative errno (the kernel's, or what failed here) with io->err set.
 */
static int
nladdr_talk(struct nladdr_io *io, struct nlmsghdr *req)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char *buf = NULL;
	ssize_t n;
	int fd, rc = 0;

	/* Any number will do on a fresh socket; the time helps in traces. */
	io->seq = (uint32_t)time(NULL);
	req->nlmsg_seq = io->seq;
	if ((fd = nladdr_open(req->nlmsg_flags & NLM_F_DUMP)) < 0)
		return nladdr_fail(io, strerror(errno), errno);
	if ((buf = malloc(NLADDR_RCVBUF)) == NULL) {
		rc = nladdr_fail(io, strerror(ENOMEM), ENOMEM);
		goto out;
	}
	do
		n = sendto(fd, req, req->nlmsg_len, 0,
		    (struct sockaddr *)&kernel, sizeof(kernel));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)req->nlmsg_len) {
		rc = nladdr_fail(io, n < 0 ? strerror(errno) : "short send",
		    n < 0 ? errno : EIO);
		goto out;
	}
	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = { buf, NLADDR_RCVBUF };
		struct msghdr msg = { .msg_name = &from,
			.msg_namelen = sizeof(from),
			.msg_iov = &iov,
			.msg_iovlen = 1 };

		n = recvmsg(fd, &msg, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = nladdr_fail(
			    io, "no answer from the kernel in 1 s", ETIMEDOUT);
			goto out;
		}
		if (n < 0) {
			rc = nladdr_fail(io, strerror(errno), errno);
			goto out;
		}
		/* A stranger's datagram, even an oversized one, is dropped. */
		if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0)
			continue;
		if (msg.msg_flags & MSG_TRUNC) {
			rc = nladdr_fail(
			    io, "netlink reply truncated", EMSGSIZE);
			goto out;
		}
		if ((rc = nladdr_walk(io, buf, (size_t)n)) != 0)
			break;
	}
	if (rc > 0)
		rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

static void
nladdr_clear(char *err, size_t errlen)
{
	if (errlen > 0)
		err[0] = '\0';
}

/* Looks for the address of want with any prefix length. */
struct nladdr_find {
	const struct nladdr *want;
	int exact, other;
	unsigned other_len;
};

static int
nladdr_find_cb(const struct nladdr *a, void *arg)
{
	struct nladdr_find *f = arg;
	struct nladdr same = *a;

	same.prefixlen = f->want->prefixlen;
	if (!nladdr_equal(&same, f->want))
		return 0;
	if (a->prefixlen == f->want->prefixlen)
		f->exact = 1;
	else if (!f->other) {
		f->other = 1;
		f->other_len = a->prefixlen;
	}
	return 0;
}

static int
nladdr_dump(struct nladdr_io *io)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} req;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.nh.nlmsg_type = RTM_GETADDR;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.ifa.ifa_family = AF_UNSPEC;
	req.ifa.ifa_index = io->ifindex;
	return nladdr_talk(io, &req.nh);
}

/*
 * The kernel said EEXIST.  For IPv4 with NLM_F_EXCL that means this very
 * address and prefix length; IPv6 says it for the address with any prefix
 * length, and 2001:db8::1/64 is not the /128 the caller asked for.  So
 * look: success only when the address is there as asked, otherwise an
 * error the caller can act on, rather than a success that leaves the gate
 * adding the same address on every tick.
 */
static int
nladdr_exists(const struct nladdr_io *add, const struct nladdr *a)
{
	struct nladdr_find f = { .want = a };
	struct nladdr_io io = *add;
	char why[64];

	io.ok_errno = 0;
	io.cb = nladdr_find_cb;
	io.arg = &f;
	if (nladdr_dump(&io) != 0)
		return -1;
	if (f.exact) {
		nladdr_clear(io.err, io.errlen);
		return 0;
	}
	if (f.other)
		snprintf(why, sizeof(why), "present with prefix length %u",
		    f.other_len);
	else
		snprintf(why, sizeof(why), "%s", strerror(EEXIST));
	return nladdr_fail(&io, why, EEXIST);
}

/* Checks shared by add and del; 0 or -1 with err set. */
static int
nladdr_check(
    const struct nladdr_io *io, unsigned ifindex, const struct nladdr *a)
{
	if (!nladdr_valid(a))
		return nladdr_fail(io, "not an IPv4 or IPv6 address", EINVAL);
	if (ifindex == 0)
		return nladdr_fail(io, strerror(ENODEV), ENODEV);
	return 0;
}

int
nladdr_add(unsigned ifindex, const struct nladdr *a, char *err, size_t errlen)
{
	char what[NLADDR_WHAT_MAX];
	struct nladdr_io io = {
		.what = what, .err = err, .errlen = errlen, .ifindex = ifindex
	};
	struct nladdr_req req;
	int rc;

	if (priv_client_fd() >= 0)
		return priv_remote_addr(true, ifindex, a, err, errlen);

	nladdr_clear(err, errlen);
	nladdr_what(what, sizeof(what), "add", ifindex, a);
	if (nladdr_check(&io, ifindex, a) != 0)
		return -1;
	nladdr_build(&req, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, a);
	rc = nladdr_talk(&io, &req.nh);
	if (rc == -EEXIST)
		rc = nladdr_exists(&io, a);
	return rc == 0 ? 0 : -1;
}

int
nladdr_del(unsigned ifindex, const struct nladdr *a, char *err, size_t errlen)
{
	char what[NLADDR_WHAT_MAX];
	struct nladdr_io io = { .what = what,
		.err = err,
		.errlen = errlen,
		.ifindex = ifindex,
		.ok_errno = EADDRNOTAVAIL };
	struct nladdr_req req;

	if (priv_client_fd() >= 0)
		return priv_remote_addr(false, ifindex, a, err, errlen);

	nladdr_clear(err, errlen);
	nladdr_what(what, sizeof(what), "del", ifindex, a);
	if (nladdr_check(&io, ifindex, a) != 0)
		return -1;
	nladdr_build(&req, RTM_DELADDR, 0, ifindex, a);
	return nladdr_talk(&io, &req.nh) == 0 ? 0 : -1;
}

struct nladdr_into {
	struct nladdr *out;
	size_t max, n;
	int full;
};

static int
nladdr_into_cb(const struct nladdr *a, void *arg)
{
	struct nladdr_into *in = arg;

	if (in->n == in->max) {
		in->full = 1;
		return -ENOBUFS;
	}
	in->out[in->n++] = *a;
	return 0;
}

int
nladdr_list(unsigned ifindex, struct nladdr *out, size_t max, size_t *n,
    char *err, size_t errlen)
{
	char what[NLADDR_WHAT_MAX];
	struct nladdr_into in = { out, max, 0, 0 };
	struct nladdr_io io = { .what = what,
		.err = err,
		.errlen = errlen,
		.ifindex = ifindex,
		.cb = nladdr_into_cb,
		.arg = &in };

	*n = 0;
	nladdr_clear(err, errlen);
	snprintf(what, sizeof(what), "list addresses on ifindex %u", ifindex);
	if (ifindex == 0) {
		nladdr_fail(&io, strerror(ENODEV), ENODEV);
		return -1;
	}
	if (nladdr_dump(&io) != 0) {
		/*
		 * A cut list would hide an address the gate must remove, so
		 * more than max is an error, not a short answer.
		 */
		if (in.full)
			snprintf(err, errlen, "%s: more than %zu addresses",
			    what, max);
		return -1;
	}
	*n = in.n;
	return 0;
}
