/*
 * Unit tests of keeper/nladdr: parsing and formatting, then the rtnetlink
 * calls against `lo` of a network namespace of the test's own, so the
 * host's interfaces are never touched.  The namespace comes from
 * unshare(CLONE_NEWNET) as root, or with a user namespace around it for
 * anyone else; where neither can be made the netlink tests are reported
 * as skipped.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "common/nladdr.h"

#define BAD_IFINDEX 999999u
#define LIST_MAX 1024
#define MANY 400 /* of each family: a dump of several datagrams */

/* check.h has no skip; tests/run.sh counts "ok N - name # SKIP why". */
#define SKIP(name, why)                                                        \
	do {                                                                   \
		check_n++;                                                     \
		printf("ok %d - %s # SKIP %s\n", check_n, #name, why);         \
		fflush(stdout);                                                \
	} while (0)

static unsigned lo_index;
static struct nladdr list[LIST_MAX];

/* Parse then format: the canonical text, or "" when text does not parse. */
static const char *
canon(const char *text)
{
	static char out[NLADDR_TEXT_MAX];
	struct nladdr a;

	if (nladdr_parse(text, &a) != 0)
		return "";
	nladdr_format(&a, out, sizeof(out));
	return out;
}

static struct nladdr
addr(const char *text)
{
	struct nladdr a;

	memset(&a, 0, sizeof(a));
	(void)nladdr_parse(text, &a);
	return a;
}

/* How often text is in the n addresses of list. */
static int
count(size_t n, const char *text)
{
	struct nladdr a = addr(text);
	size_t i;
	int c = 0;

	for (i = 0; i < n; i++)
		c += nladdr_equal(&list[i], &a);
	return c;
}

TEST(parse_ipv4)
{
	struct nladdr a;

	CHECK(nladdr_parse("203.0.113.10/32", &a) == 0);
	CHECK(a.family == AF_INET && a.prefixlen == 32);
	CHECK(memcmp(a.addr, "\xcb\x00\x71\x0a", 4) == 0);
	CHECK(nladdr_parse("10.1.2.3", &a) == 0);
	CHECK(a.family == AF_INET && a.prefixlen == 32);
	CHECK(nladdr_parse("0.0.0.0/0", &a) == 0);
	CHECK(a.prefixlen == 0);
	CHECK(nladdr_parse("127.0.0.1/8", &a) == 0);
	CHECK(a.prefixlen == 8 && a.addr[0] == 127 && a.addr[3] == 1);
}

TEST(parse_ipv6)
{
	struct nladdr a;

	CHECK(nladdr_parse("2001:db8::1/128", &a) == 0);
	CHECK(a.family == AF_INET6 && a.prefixlen == 128);
	CHECK(a.addr[0] == 0x20 && a.addr[1] == 0x01 && a.addr[15] == 1);
	CHECK(nladdr_parse("2001:db8::1", &a) == 0);
	CHECK(a.prefixlen == 128);
	CHECK(nladdr_parse("::/0", &a) == 0);
	CHECK(a.family == AF_INET6 && a.prefixlen == 0);
	CHECK(nladdr_parse("2001:db8::/64", &a) == 0);
	CHECK(a.prefixlen == 64);
}

TEST(parse_rejects)
{
	static const char *const bad[] = {
		"",
		"/32",
		"203.0.113.10/",
		"203.0.113.10/33",
		"203.0.113.10/4294967328",
		"203.0.113.10/+1",
		"203.0.113.10/-1",
		"203.0.113.10/ 8",
		"203.0.113.10/8 ",
		"203.0.113.10/3a",
		"203.0.113.10/032",
		"203.0.113.10/00",
		"203.0.113.10/1/2",
		"203.0.113.10 ",
		" 203.0.113.10",
		"203.0.113.10x",
		"203.0.113",
		"203.0.113.10.1",
		"256.0.0.1",
		"010.0.0.1",
		"2001:db8::1/129",
		"2001:db8::1/1280",
		"2001:db8:::1",
		"2001:db8::1%lo",
		"fe80::1%eth0/64",
		"2001:db8::g",
		"2001:db8:0:0:0:0:0:0:1",
		"::ffff:1.2.3.4.5",
		"localhost",
		"0000:0000:0000:0000:0000:0000:0000:0000:0000/128",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb/128",
	};
	struct nladdr a;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_STR(canon(bad[i]), "");
	CHECK(nladdr_parse(NULL, &a) == -1);
}

TEST(format_is_canonical)
{
	CHECK_STR(canon("203.0.113.10/32"), "203.0.113.10/32");
	CHECK_STR(canon("203.0.113.10"), "203.0.113.10/32");
	CHECK_STR(canon("10.0.0.0/8"), "10.0.0.0/8");
	CHECK_STR(canon("0.0.0.0/0"), "0.0.0.0/0");
	CHECK_STR(canon("2001:DB8:0:0:0:0:0:1"), "2001:db8::1/128");
	CHECK_STR(canon("2001:0db8::0001/64"), "2001:db8::1/64");
	CHECK_STR(canon("::1"), "::1/128");
	CHECK_STR(canon("::"), "::/128");
	CHECK_STR(canon("::ffff:192.0.2.1/128"), "::ffff:192.0.2.1/128");
	CHECK_STR(canon("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"),
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}

TEST(format_bounds)
{
	struct nladdr a = addr("203.0.113.10/32"), bad;
	char out[8];

	memset(out, 'x', sizeof(out));
	nladdr_format(&a, out, sizeof(out));
	CHECK_STR(out, "203.0.1");
	nladdr_format(&a, out, 0); /* nothing written, no crash */
	CHECK_STR(out, "203.0.1");
	memset(&bad, 0, sizeof(bad));
	bad.family = 7;
	nladdr_format(&bad, out, sizeof(out));
	CHECK(strlen(out) < sizeof(out));
}

TEST(equal_compares_family_address_and_length)
{
	struct nladdr a = addr("203.0.113.10/32"), b = a;

	CHECK(nladdr_equal(&a, &b));
	/* Bytes past the family's length do not count. */
	b.addr[10] = 0x55;
	CHECK(nladdr_equal(&a, &b));
	b = addr("203.0.113.10/24");
	CHECK(!nladdr_equal(&a, &b));
	b = addr("203.0.113.11/32");
	CHECK(!nladdr_equal(&a, &b));
	a = addr("::/128");
	b = addr("0.0.0.0/128"); /* does not parse: family 0 */
	CHECK(!nladdr_equal(&a, &b));
	b = addr("::/128");
	CHECK(nladdr_equal(&a, &b));
}

TEST(ifindex_by_name)
{
	char err[256] = "";

	CHECK(nladdr_ifindex("lo", err, sizeof(err)) > 0);
	CHECK(nladdr_ifindex("ef-no-such0", err, sizeof(err)) == 0);
	CHECK_STR(err, "interface ef-no-such0: No such device");
	CHECK(nladdr_ifindex("a-name-longer-than-ifnamsiz", err, sizeof(err)) ==
	    0);
	CHECK(strstr(err, "a-name-longer-than-ifnamsiz") != NULL);
	CHECK(nladdr_ifindex("", err, sizeof(err)) == 0);
	CHECK(err[0] != '\0');
}

/*
 * A network namespace of our own.  Returns 0, or -1 with why filled when
 * none can be made here.
 */
static int
enter_netns(char *why, size_t len)
{
	if (unshare(CLONE_NEWNET) == 0)
		return 0;
	/* Not root: a user namespace makes us root of a new one. */
	if (errno == EPERM && unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0)
		return 0;
	snprintf(
	    why, len, "no network namespace: unshare: %s", strerror(errno));
	return -1;
}

/*
 * A new namespace's lo is down and has no addresses; bringing it up
 * gives it 127.0.0.1/8 and ::1/128.
 */
TEST(nl_lo_up)
{
	struct ifreq ifr;
	int fd;

	CHECK((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0);
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)
			ifr.ifr_flags = 0;
	} else
		ifr.ifr_flags = 0;
	close(fd);
	CHECK(ifr.ifr_flags & IFF_UP);
	CHECK((lo_index = if_nametoindex("lo")) > 0);
}

TEST(nl_fresh_lo_has_only_loopback)
{
	char err[256];
	size_t n = 99;

	CHECK(nladdr_list(lo_index, list, LIST_MAX, &n, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK(n == 2);
	CHECK(count(n, "127.0.0.1/8") == 1);
	CHECK(count(n, "::1/128") == 1);
}

TEST(nl_add_list_del)
{
	struct nladdr v4 = addr("203.0.113.10/32");
	struct nladdr v6 = addr("2001:db8::10/128");
	char err[256];
	size_t n;

	CHECK(nladdr_add(lo_index, &v4, err, sizeof(err)) == 0);
	CHECK(nladdr_add(lo_index, &v6, err, sizeof(err)) == 0);
	CHECK(nladdr_list(lo_index, list, LIST_MAX, &n, err, sizeof(err)) == 0);
	CHECK(n == 4);
	CHECK(count(n, "203.0.113.10/32") == 1);
	CHECK(count(n, "2001:db8::10/128") == 1);
	CHECK(count(n, "127.0.0.1/8") == 1);
	CHECK(count(n, "::1/128") == 1);

	/* Again: success, and still one of each. */
	CHECK(nladdr_add(lo_index, &v4, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK(nladdr_add(lo_index, &v6, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK(nladdr_list(lo_index, list, LIST_MAX, &n, err, sizeof(err)) == 0);
	CHECK(n == 4);

	CHECK(nladdr_del(lo_index, &v4, err, sizeof(err)) == 0);
	CHECK(nladdr_del(lo_index, &v6, err, sizeof(err)) == 0);
	CHECK(nladdr_list(lo_index, list, LIST_MAX, &n, err, sizeof(err)) == 0);
	CHECK(n == 2);
	CHECK(count(n, "203.0.113.10/32") == 0);
	CHECK(count(n, "2001:db8::10/128") == 0);

	/* Again: success, nothing changes. */
	CHECK(nladdr_del(lo_index, &v4, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK(nladdr_del(lo_index, &v6, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK(nladdr_list(lo_index, list, LIST_MAX, &n, err, sizeof(err)) == 0);
	CHECK(n == 2);
}

TEST(nl_del_is_exact)
{
	struct nladdr a24 = addr("198.51.100.7/24");
	struct nladdr a32 = addr("198.51.100.7/32");
	char err[256];
	size_t n;

	/* Deleting the /32 leaves the /24: it was not "there". */
	CHECK(nladdr_add(lo_index, &a24, err, sizeof(err)) == 0);
	CHECK(nladdr_del(lo_index, &a32, err, sizeof(err)) == 0);
	CHECK(nladdr_list(lo_index, list, LIST_MAX, &n, err, sizeof(err)) == 0);
	CHECK(count(n, "198.51.100.7/24") == 1);
	CHECK(nladdr_del(lo_index, &a24, err, sizeof(err)) == 0);
	CHECK(nladdr_list(lo_index, list, LIST_MAX, &n, err, sizeof(err)) == 0);
	CHECK(n == 2);
}

TEST(nl_ipv6_other_prefix_is_not_success)
{
	struct nladdr a64 = addr("2001:db8::7/64");
	struct nladdr a128 = addr("2001:db8::7/128");
	char err[256];
	size_t n;

	/*
	 * IPv6 answers EEXIST for the address with any prefix length; the
	 * /128 asked for is not there, so this must not be success.
	 */
	CHECK(nladdr_add(lo_index, &a64, err, sizeof(err)) == 0);
	CHECK(nladdr_add(lo_index, &a128, err, sizeof(err)) == -1);
	CHECK_STR(err,
	    "add 2001:db8::7/128 on ifindex 1: present with prefix length 64");
	CHECK(nladdr_del(lo_index, &a64, err, sizeof(err)) == 0);
	CHECK(nladdr_add(lo_index, &a128, err, sizeof(err)) == 0);
	CHECK(nladdr_del(lo_index, &a128, err, sizeof(err)) == 0);
	CHECK(nladdr_list(lo_index, list, LIST_MAX, &n, err, sizeof(err)) == 0);
	CHECK(n == 2);
}

TEST(nl_bad_ifindex)
{
	struct nladdr v4 = addr("203.0.113.10/32");
	struct nladdr v6 = addr("2001:db8::10/128");
	char err[256];
	size_t n = 99;

	CHECK(nladdr_add(BAD_IFINDEX, &v4, err, sizeof(err)) == -1);
	CHECK_STR(err, "add 203.0.113.10/32 on ifindex 999999: No such device");
	CHECK(nladdr_add(BAD_IFINDEX, &v6, err, sizeof(err)) == -1);
	CHECK_STR(
	    err, "add 2001:db8::10/128 on ifindex 999999: No such device");
	CHECK(nladdr_del(BAD_IFINDEX, &v4, err, sizeof(err)) == -1);
	CHECK_STR(err, "del 203.0.113.10/32 on ifindex 999999: No such device");
	CHECK(nladdr_del(BAD_IFINDEX, &v6, err, sizeof(err)) == -1);
	CHECK(strstr(err, "del 2001:db8::10/128 on ifindex 999999: ") == err);
	CHECK(nladdr_list(BAD_IFINDEX, list, LIST_MAX, &n, err, sizeof(err)) ==
	    -1);
	CHECK(n == 0);
	CHECK_STR(err, "list addresses on ifindex 999999: No such device");
	CHECK(nladdr_add(0, &v4, err, sizeof(err)) == -1);
	CHECK_STR(err, "add 203.0.113.10/32 on ifindex 0: No such device");
	CHECK(nladdr_list(0, list, LIST_MAX, &n, err, sizeof(err)) == -1);
}

TEST(nl_bad_address)
{
	struct nladdr a = addr("203.0.113.10/32");
	char err[256];

	a.prefixlen = 33;
	CHECK(nladdr_add(lo_index, &a, err, sizeof(err)) == -1);
	CHECK(strstr(err, "add 203.0.113.10/33 on ifindex 1: ") == err);
	a.family = 7;
	CHECK(nladdr_del(lo_index, &a, err, sizeof(err)) == -1);
	CHECK(strstr(err, "del (family 7) on ifindex 1: ") == err);
}

TEST(nl_list_is_bounded)
{
	char err[256];
	size_t n = 99;

	/* A cut list would hide an address: more than max is an error. */
	CHECK(nladdr_list(lo_index, list, 1, &n, err, sizeof(err)) == -1);
	CHECK(n == 0);
	CHECK_STR(err, "list addresses on ifindex 1: more than 1 addresses");
	CHECK(nladdr_list(lo_index, list, 2, &n, err, sizeof(err)) == 0);
	CHECK(n == 2);
}

/*
 * Enough addresses that the dump comes in several datagrams (the first
 * is at most 8 KiB, the next 32 KiB; these are over 70 KiB).
 */
TEST(nl_list_multipart)
{
	char v4[NLADDR_TEXT_MAX], v6[NLADDR_TEXT_MAX], err[256];
	struct nladdr a;
	size_t n;
	int i;

	for (i = 0; i < MANY; i++) {
		snprintf(
		    v4, sizeof(v4), "198.18.%d.%d/32", i / 250, i % 250 + 1);
		snprintf(v6, sizeof(v6), "2001:db8:1::%x/128", i + 1);
		a = addr(v4);
		CHECK(nladdr_add(lo_index, &a, err, sizeof(err)) == 0);
		a = addr(v6);
		CHECK(nladdr_add(lo_index, &a, err, sizeof(err)) == 0);
	}
	CHECK(nladdr_list(lo_index, list, LIST_MAX, &n, err, sizeof(err)) == 0);
	CHECK(n == 2 * MANY + 2);
	for (i = 0; i < MANY; i++) {
		snprintf(
		    v4, sizeof(v4), "198.18.%d.%d/32", i / 250, i % 250 + 1);
		snprintf(v6, sizeof(v6), "2001:db8:1::%x/128", i + 1);
		CHECK(count(n, v4) == 1);
		CHECK(count(n, v6) == 1);
	}
	CHECK(count(n, "127.0.0.1/8") == 1 && count(n, "::1/128") == 1);
	CHECK(nladdr_list(lo_index, list, 2 * MANY + 1, &n, err, sizeof(err)) ==
	    -1);
	for (i = 0; i < MANY; i++) {
		snprintf(
		    v4, sizeof(v4), "198.18.%d.%d/32", i / 250, i % 250 + 1);
		snprintf(v6, sizeof(v6), "2001:db8:1::%x/128", i + 1);
		a = addr(v4);
		CHECK(nladdr_del(lo_index, &a, err, sizeof(err)) == 0);
		a = addr(v6);
		CHECK(nladdr_del(lo_index, &a, err, sizeof(err)) == 0);
	}
	CHECK(nladdr_list(lo_index, list, LIST_MAX, &n, err, sizeof(err)) == 0);
	CHECK(n == 2);
}

int
main(void)
{
	char why[128];

	RUN(parse_ipv4);
	RUN(parse_ipv6);
	RUN(parse_rejects);
	RUN(format_is_canonical);
	RUN(format_bounds);
	RUN(equal_compares_family_address_and_length);
	RUN(ifindex_by_name);
	if (enter_netns(why, sizeof(why)) == 0) {
		RUN(nl_lo_up);
		RUN(nl_fresh_lo_has_only_loopback);
		RUN(nl_add_list_del);
		RUN(nl_del_is_exact);
		RUN(nl_ipv6_other_prefix_is_not_success);
		RUN(nl_bad_ifindex);
		RUN(nl_bad_address);
		RUN(nl_list_is_bounded);
		RUN(nl_list_multipart);
	} else {
		SKIP(nl_lo_up, why);
		SKIP(nl_fresh_lo_has_only_loopback, why);
		SKIP(nl_add_list_del, why);
		SKIP(nl_del_is_exact, why);
		SKIP(nl_ipv6_other_prefix_is_not_success, why);
		SKIP(nl_bad_ifindex, why);
		SKIP(nl_bad_address, why);
		SKIP(nl_list_is_bounded, why);
		SKIP(nl_list_multipart, why);
	}
	return check_done();
}
