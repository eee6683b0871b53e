/*
 * nladdr: the addresses of one interface, read and changed through
 * rtnetlink (NETLINK_ROUTE), never through an `ip` subprocess.  The
 * anycast gate (keeper/gate.c) uses it to put the node's anycast
 * addresses on `lo` and take them off again; the anycast step (linked
 * into edge-cp too) only parses.
 *
 * Contract:
 * - Every call opens its own NETLINK_ROUTE socket in the calling
 *   thread's network namespace, sends one request with NLM_F_ACK (or a
 *   dump), reads until the ACK / NLMSG_DONE, and closes it: no state, no
 *   global, safe from any thread.  Each receive is bounded (SO_RCVTIMEO
 *   of 1 s; datagrams from other senders are dropped and restart the
 *   wait), so a call never hangs.
 * - Addresses are struct nladdr: family (AF_INET / AF_INET6), the address
 *   bytes (4 or 16) and the prefix length.  Anycast addresses are single
 *   addresses (/32, /128).
 * - nladdr_add() is idempotent: an address that is already there is
 *   success.  The kernel answers EEXIST for an IPv6 address present with
 *   any prefix length, so on EEXIST the interface is listed and only the
 *   exact address and length count as success (a second request).  IPv6 addresses are added with
 *   IFA_F_NODAD so they are usable at once.  Scope: host for loopback
 *   would keep them out of BIRD's direct protocol, so scope global (0).
 * - nladdr_del() is idempotent: an address that is not there is success
 *   (EADDRNOTAVAIL is not an error).
 * - nladdr_list() returns the addresses of the interface (both
 *   families) in out and *n; more than max is an error, never a cut
 *   list (a missing entry could be one the gate must remove), and so is
 *   a dump the kernel marks interrupted (try again later).
 * - All return 0 or -1 with a one-line message in err naming the
 *   operation, the address and strerror of the kernel's answer; err is
 *   "" on success.
 * - nladdr_parse() reads "A.B.C.D/32" or "2001:db8::1/128" (any prefix
 *   length valid for the family; no prefix length = the full length);
 *   nladdr_format() writes the same canonical text (inet_ntop + "/len").
 */
#ifndef EF_COMMON_NLADDR_H
#define EF_COMMON_NLADDR_H

#include <stddef.h>
#include <stdint.h>

#define NLADDR_TEXT_MAX 64

struct nladdr {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* 4 or 16 bytes used */
	unsigned prefixlen;
};

int nladdr_parse(const char *text, struct nladdr *a);
void nladdr_format(const struct nladdr *a, char *out, size_t len);
/* Same family, address and prefix length. */
int nladdr_equal(const struct nladdr *a, const struct nladdr *b);

/* The interface's index, or 0 (with err) when it does not exist. */
unsigned nladdr_ifindex(const char *ifname, char *err, size_t errlen);

int nladdr_add(
    unsigned ifindex, const struct nladdr *a, char *err, size_t errlen);
int nladdr_del(
    unsigned ifindex, const struct nladdr *a, char *err, size_t errlen);
int nladdr_list(unsigned ifindex, struct nladdr *out, size_t max, size_t *n,
    char *err, size_t errlen);

#endif
