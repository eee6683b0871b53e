/*
 * ratelimit: per-address token buckets for the work edge-cp does before it
 * knows who is asking: enrollment and handshake signatures, the bootstrap
 * downloads, failed authentications (T34 in docs/threat-model.md).
 *
 * Every address has a bucket of `burst` tokens that refills at `rate`
 * tokens a second; a request takes one or is refused.  IPv4 addresses
 * count one by one (an IPv4-mapped IPv6 address as the IPv4 one); IPv6
 * addresses count by /64, because one host commonly holds a whole /64 and
 * would otherwise have 2^64 fresh buckets to draw from.
 *
 * The table has a fixed size, chosen at ratelimit_new(), and never grows.
 * It is set-associative: a keyed hash of the address (SipHash with a
 * random key per process, so that nobody can aim addresses at one set)
 * picks a set of RATELIMIT_WAYS entries.  An address that has no entry
 * in its set takes, in this order:
 *
 *	an unused entry;
 *	the entry whose bucket has refilled to full: a full bucket is what
 *	    a new address starts with, so dropping it forgets nothing;
 *	otherwise, every entry of the set still being spent, it shares the
 *	    set's overflow bucket with every other address in that situation.
 *
 * So an address that is being limited is never evicted (evicting it would
 * hand it a fresh burst), and a flood from more addresses than the table
 * holds is limited as a group, one overflow bucket per set, instead of
 * each newcomer getting a burst of its own.  The price is paid during
 * such a flood only: a new address whose set is full of spending flooders
 * waits with them.  Nodes and operators are not affected, because
 * authenticated requests never take a token.
 *
 * Thread-safe: a mutex per set; a call costs one SipHash and a look at
 * RATELIMIT_WAYS entries.  Time is the caller's (a monotonic clock in
 * milliseconds), so that tests can move it.
 */
#ifndef EF_RATELIMIT_H
#define EF_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RATELIMIT_WAYS 8
#define RATELIMIT_MAX 1000000u /* the largest rate and burst */
/* A refused bucket is worth a log line at most this often. */
#define RATELIMIT_NOTE_MS 60000

struct ratelimit;

enum ratelimit_rc {
	RATELIMIT_OK = 0,
	RATELIMIT_REFUSED,
	/* Refused, and the first refusal of that bucket in RATELIMIT_NOTE_MS. */
	RATELIMIT_REFUSED_NOTE,
};

/*
 * A table of at least `entries` entries (rounded up to a power of two
 * number of sets), for buckets of `burst` tokens refilled at `rate`
 * tokens a second (both 1 to RATELIMIT_MAX).  Returns NULL when an
 * argument is out of range or memory runs out.
 */
struct ratelimit *ratelimit_new(size_t entries, unsigned rate, unsigned burst);
void ratelimit_free(struct ratelimit *rl);

/*
 * Take a token from sa's bucket at now_ms.  RATELIMIT_OK, or a refusal
 * with *retry_s set to the whole seconds until a token is there (at least
 * 1).  An address of another family than AF_INET or AF_INET6 is never
 * limited.
 */
enum ratelimit_rc ratelimit_take(struct ratelimit *rl,
    const struct sockaddr *sa, uint64_t now_ms, unsigned *retry_s);

#endif
