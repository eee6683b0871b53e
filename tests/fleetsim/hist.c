#include "tests/fleetsim/hist.h"

static unsigned
hist_bucket(uint64_t us)
{
	unsigned e;

	if (us < HIST_SUB)
		return (unsigned)us;
	e = 63u - (unsigned)__builtin_clzll(us); /* e >= 6 */
	if (e >= 34)
		return HIST_BUCKETS - 1;
	return HIST_SUB + (e - 6) * HIST_SUB +
	    (unsigned)((us >> (e - 6)) - HIST_SUB);
}

/* The middle of a bucket, in microseconds. */
static double
hist_value(unsigned idx)
{
	unsigned e, m;

	if (idx < HIST_SUB)
		return idx;
	e = (idx - HIST_SUB) / HIST_SUB + 6;
	m = (idx - HIST_SUB) % HIST_SUB + HIST_SUB;
	return (double)((uint64_t)m << (e - 6)) +
	    (double)(1ull << (e - 6)) / 2.0;
}

void
hist_add(struct hist *h, uint64_t us)
{
	h->b[hist_bucket(us)]++;
	h->n++;
	if (us > h->max_us)
		h->max_us = us;
}

double
hist_quantile_ms(const struct hist *h, double p)
{
	uint64_t want, seen = 0;
	unsigned i;

	if (h->n == 0)
		return 0.0;
	want = (uint64_t)(p * (double)h->n + 0.999999);
	if (want == 0)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want)
			return hist_value(i) / 1000.0;
	}
	return (double)h->max_us / 1000.0;
}
