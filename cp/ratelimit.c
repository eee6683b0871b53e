#include "cp/ratelimit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Tokens are kept in thousandths, so a refill of a few ms is not lost. */
#define RL_ONE 1000u

struct rl_bucket {
	uint64_t last_ms;      /* when milli was brought up to date */
	uint64_t next_note_ms; /* the next refusal worth a log line */
	uint32_t milli;        /* tokens, in thousandths */
};

struct rl_entry {
	unsigned char key[16];
	bool used;
	struct rl_bucket b;
};

struct rl_set {
	pthread_mutex_t mu;
	struct rl_entry e[RATELIMIT_WAYS];
	struct rl_bucket overflow; /* addresses that found no entry */
};

struct ratelimit {
	struct rl_set *sets;
	size_t nsets;  /* a power of two */
	uint32_t full; /* burst, in thousandths */
	unsigned rate; /* tokens a second: thousandths a millisecond */
	unsigned char hkey[crypto_shorthash_KEYBYTES];
};

struct ratelimit *
ratelimit_new(size_t entries, unsigned rate, unsigned burst)
{
	struct ratelimit *rl;
	size_t nsets = 1, i;

	if (rate < 1 || rate > RATELIMIT_MAX || burst < 1 ||
	    burst > RATELIMIT_MAX || entries > ((size_t)1 << 24))
		return NULL;
	while (nsets * RATELIMIT_WAYS < entries)
		nsets *= 2;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return NULL;
	if ((rl->sets = calloc(nsets, sizeof(*rl->sets))) == NULL) {
		free(rl);
		return NULL;
	}
	rl->nsets = nsets;
	rl->full = burst * RL_ONE;
	rl->rate = rate;
	randombytes_buf(rl->hkey, sizeof(rl->hkey));
	for (i = 0; i < nsets; i++) {
		pthread_mutex_init(&rl->sets[i].mu, NULL);
		rl->sets[i].overflow.milli = rl->full;
	}
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	size_t i;

	if (rl == NULL)
		return;
	for (i = 0; i < rl->nsets; i++)
		pthread_mutex_destroy(&rl->sets[i].mu);
	free(rl->sets);
	sodium_memzero(rl->hkey, sizeof(rl->hkey));
	free(rl);
}

/*
 * The bucket's key: the IPv4 address in its IPv4-mapped IPv6 form, or an
 * IPv6 address's /64 followed by zeros.  The two never meet: a mapped
 * address has 0xffff in bytes 10 and 11, a /64 key has zeros there.
 */
static bool
rl_key(const struct sockaddr *sa, unsigned char key[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };

	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		memcpy(key, mapped, sizeof(mapped));
		memcpy(key + 12, &s4->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		const unsigned char *a = s6->sin6_addr.s6_addr;

		memcpy(key, a, memcmp(a, mapped, sizeof(mapped)) == 0 ? 16 : 8);
		return true;
	}
	return false;
}

static void
rl_refill(const struct ratelimit *rl, struct rl_bucket *b, uint64_t now)
{
	uint64_t el, milli;

	if (now <= b->last_ms)
		return;
	el = now - b->last_ms;
	b->last_ms = now;
	/* rate >= 1, so this long refills any bucket (and cannot overflow). */
	if (el >= rl->full) {
		b->milli = rl->full;
		return;
	}
	milli = b->milli + el * rl->rate;
	b->milli = milli > rl->full ? rl->full : (uint32_t)milli;
}

static enum ratelimit_rc
rl_take(const struct ratelimit *rl, struct rl_bucket *b, uint64_t now,
    unsigned *retry_s)
{
	uint64_t ms;

	rl_refill(rl, b, now);
	if (b->milli >= RL_ONE) {
		b->milli -= RL_ONE;
		return RATELIMIT_OK;
	}
	ms = (RL_ONE - b->milli + rl->rate - 1) / rl->rate;
	*retry_s = (unsigned)((ms + 999) / 1000);
	if (*retry_s == 0)
		*retry_s = 1;
	if (now < b->next_note_ms)
		return RATELIMIT_REFUSED;
	b->next_note_ms = now + RATELIMIT_NOTE_MS;
	return RATELIMIT_REFUSED_NOTE;
}

enum ratelimit_rc
ratelimit_take(struct ratelimit *rl, const struct sockaddr *sa, uint64_t now_ms,
    unsigned *retry_s)
{
	unsigned char key[16], h[crypto_shorthash_BYTES];
	struct rl_entry *free_e = NULL, *full_e = NULL, *e;
	struct rl_bucket *b;
	struct rl_set *set;
	enum ratelimit_rc rc;
	uint64_t hv;
	size_t i;

	*retry_s = 0;
	if (!rl_key(sa, key))
		return RATELIMIT_OK;
	crypto_shorthash(h, key, sizeof(key), rl->hkey);
	memcpy(&hv, h, sizeof(hv));
	set = &rl->sets[hv & (rl->nsets - 1)];
	pthread_mutex_lock(&set->mu);
	for (i = 0; i < RATELIMIT_WAYS; i++) {
		e = &set->e[i];
		if (!e->used) {
			if (free_e == NULL)
				free_e = e;
			continue;
		}
		if (memcmp(e->key, key, sizeof(key)) == 0) {
			b = &e->b;
			goto take;
		}
		rl_refill(rl, &e->b, now_ms);
		if (full_e == NULL && e->b.milli == rl->full)
			full_e = e;
	}
	if ((e = free_e != NULL ? free_e : full_e) != NULL) {
		memcpy(e->key, key, sizeof(key));
		e->used = true;
		e->b.last_ms = now_ms;
		e->b.next_note_ms = 0;
		e->b.milli = rl->full;
		b = &e->b;
	} else
		b = &set->overflow;
take:
	rc = rl_take(rl, b, now_ms, retry_s);
	pthread_mutex_unlock(&set->mu);
	return rc;
}
