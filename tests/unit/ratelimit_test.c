/*
 * Unit tests of cp/ratelimit: buckets per address (IPv4, IPv6 by /64),
 * refill, the fixed table's eviction (only full buckets) and overflow
 * bucket, and exact accounting under threads.  The clock is the test's.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/un.h>

#include "check.h"
#include "cp/ratelimit.h"

static struct sockaddr_storage addr_buf;

/* An address to pass (valid until the next call). */
static const struct sockaddr *
addr(const char *s)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&addr_buf;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&addr_buf;

	memset(&addr_buf, 0, sizeof(addr_buf));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
	return (const struct sockaddr *)&addr_buf;
}

/* The answer for a at now; -1 when a refusal does not say when to retry. */
static int
take(struct ratelimit *rl, const char *a, uint64_t now)
{
	unsigned retry;
	enum ratelimit_rc rc = ratelimit_take(rl, addr(a), now, &retry);

	if (rc != RATELIMIT_OK && retry < 1)
		return -1;
	return (int)rc;
}

/* How many tokens a takes at now before the first refusal (at most 100). */
static int
drain(struct ratelimit *rl, const char *a, uint64_t now)
{
	int n = 0;

	while (n < 100 && take(rl, a, now) == RATELIMIT_OK)
		n++;
	return n;
}

TEST(bounds)
{
	struct ratelimit *rl;

	CHECK(ratelimit_new(16, 0, 1) == NULL);
	CHECK(ratelimit_new(16, 1, 0) == NULL);
	CHECK(ratelimit_new(16, RATELIMIT_MAX + 1, 1) == NULL);
	CHECK((rl = ratelimit_new(0, RATELIMIT_MAX, RATELIMIT_MAX)) != NULL);
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

TEST(burst_then_refused)
{
	struct ratelimit *rl = ratelimit_new(64, 1, 3);
	unsigned retry = 0;

	CHECK(rl != NULL);
	CHECK(take(rl, "192.0.2.1", 1000) == RATELIMIT_OK);
	CHECK(take(rl, "192.0.2.1", 1000) == RATELIMIT_OK);
	CHECK(take(rl, "192.0.2.1", 1000) == RATELIMIT_OK);
	/* The first refusal is worth a line in the log, the next not. */
	CHECK(ratelimit_take(rl, addr("192.0.2.1"), 1000, &retry) ==
	    RATELIMIT_REFUSED_NOTE);
	CHECK(retry == 1);
	CHECK(take(rl, "192.0.2.1", 1001) == RATELIMIT_REFUSED);
	/* ...until RATELIMIT_NOTE_MS later. */
	CHECK(take(rl, "192.0.2.1", 999 + RATELIMIT_NOTE_MS) == RATELIMIT_OK);
	CHECK(take(rl, "192.0.2.1", 999 + RATELIMIT_NOTE_MS) == RATELIMIT_OK);
	CHECK(take(rl, "192.0.2.1", 999 + RATELIMIT_NOTE_MS) == RATELIMIT_OK);
	CHECK(take(rl, "192.0.2.1", 999 + RATELIMIT_NOTE_MS) ==
	    RATELIMIT_REFUSED);
	CHECK(take(rl, "192.0.2.1", 1000 + RATELIMIT_NOTE_MS) ==
	    RATELIMIT_REFUSED_NOTE);
	ratelimit_free(rl);
}

TEST(refill)
{
	struct ratelimit *rl = ratelimit_new(64, 2, 4);

	CHECK(rl != NULL);
	CHECK(drain(rl, "192.0.2.1", 0) == 4);
	/* Two a second: one after 500 ms, not before. */
	CHECK(drain(rl, "192.0.2.1", 499) == 0);
	CHECK(drain(rl, "192.0.2.1", 500) == 1);
	/* Bits of a token add up across calls. */
	CHECK(drain(rl, "192.0.2.1", 750) == 0);
	CHECK(drain(rl, "192.0.2.1", 1000) == 1);
	/* A long rest refills the burst, no more. */
	CHECK(drain(rl, "192.0.2.1", 1000000) == 4);
	/* A clock that steps back takes nothing and gives nothing. */
	CHECK(drain(rl, "192.0.2.1", 10) == 0);
	ratelimit_free(rl);
}

TEST(per_address)
{
	struct ratelimit *rl = ratelimit_new(64, 1, 2);

	CHECK(rl != NULL);
	CHECK(drain(rl, "192.0.2.1", 0) == 2);
	CHECK(drain(rl, "192.0.2.2", 0) == 2);
	/* IPv4-mapped IPv6 is the same address. */
	CHECK(drain(rl, "::ffff:192.0.2.1", 0) == 0);
	CHECK(drain(rl, "::ffff:192.0.2.3", 0) == 2);
	CHECK(drain(rl, "192.0.2.3", 0) == 0);
	/* IPv6 counts by /64. */
	CHECK(drain(rl, "2001:db8:1:2::1", 0) == 2);
	CHECK(drain(rl, "2001:db8:1:2:ffff:ffff:ffff:ffff", 0) == 0);
	CHECK(drain(rl, "2001:db8:1:3::1", 0) == 2);
	/* ::/64 does not meet IPv4 (mapped addresses have ffff). */
	CHECK(drain(rl, "::1", 0) == 2);
	CHECK(drain(rl, "0.0.0.1", 0) == 2);
	ratelimit_free(rl);
}

TEST(other_family_not_limited)
{
	struct ratelimit *rl = ratelimit_new(8, 1, 1);
	struct sockaddr_un un;
	unsigned retry;
	int i;

	CHECK(rl != NULL);
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	for (i = 0; i < 10; i++)
		CHECK(ratelimit_take(rl, (const struct sockaddr *)&un, 0,
			  &retry) == RATELIMIT_OK);
	ratelimit_free(rl);
}

/*
 * One set of RATELIMIT_WAYS entries: addresses that are being limited
 * keep their entries, newcomers share the overflow bucket, and full
 * buckets make room.
 */
TEST(eviction)
{
	struct ratelimit *rl = ratelimit_new(RATELIMIT_WAYS, 1, 2);
	char a[32];
	int i;

	CHECK(rl != NULL);
	for (i = 0; i < RATELIMIT_WAYS; i++) {
		snprintf(a, sizeof(a), "192.0.2.%d", i + 1);
		CHECK(drain(rl, a, 0) == 2);
	}
	/* The table is full of spent buckets: the overflow, shared. */
	CHECK(drain(rl, "198.51.100.1", 0) == 2);
	CHECK(drain(rl, "198.51.100.2", 0) == 0);
	CHECK(drain(rl, "198.51.100.3", 0) == 0);
	/* Nobody was evicted for them: no fresh burst for the flooders. */
	for (i = 0; i < RATELIMIT_WAYS; i++) {
		snprintf(a, sizeof(a), "192.0.2.%d", i + 1);
		CHECK(drain(rl, a, 0) == 0);
	}
	/* Half refilled: still nobody evicted, the overflow has one. */
	CHECK(drain(rl, "198.51.100.4", 1000) == 1);
	CHECK(drain(rl, "198.51.100.5", 1000) == 0);
	CHECK(drain(rl, "192.0.2.1", 1000) == 1);
	/*
	 * Once full, an entry is given up to a newcomer, which gets a
	 * bucket of its own: two newcomers, two bursts.
	 */
	CHECK(drain(rl, "198.51.100.6", 3000) == 2);
	CHECK(drain(rl, "198.51.100.7", 3000) == 2);
	ratelimit_free(rl);
}

struct thr {
	struct ratelimit *rl;
	int ok;
};

static void *
thr_take(void *arg)
{
	struct thr *t = arg;
	struct sockaddr_in s4;
	unsigned retry;
	int i;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "203.0.113.9", &s4.sin_addr);
	for (i = 0; i < 1000; i++)
		if (ratelimit_take(t->rl, (const struct sockaddr *)&s4, 5,
			&retry) == RATELIMIT_OK)
			t->ok++;
	return NULL;
}

/* Four threads at once on one address: exactly the burst is handed out. */
TEST(threads)
{
	struct ratelimit *rl = ratelimit_new(64, 1, 100);
	struct thr t[4];
	pthread_t th[4];
	int i, ok = 0;

	CHECK(rl != NULL);
	for (i = 0; i < 4; i++) {
		t[i].rl = rl;
		t[i].ok = 0;
		CHECK(pthread_create(&th[i], NULL, thr_take, &t[i]) == 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ok += t[i].ok;
	}
	ratelimit_free(rl);
	CHECK(ok == 100);
}

int
main(void)
{
	RUN(bounds);
	RUN(burst_then_refused);
	RUN(refill);
	RUN(per_address);
	RUN(other_family_not_limited);
	RUN(eviction);
	RUN(threads);
	return check_done();
}
