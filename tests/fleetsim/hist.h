/*
 * hist: a latency histogram in microseconds, for the node simulators.
 *
 * Log-linear: exact below 64 µs, then 64 buckets per power of two (under
 * 1.6 % error) up to 2^34 µs (about 4.8 hours); longer values land in the
 * last bucket.  Fixed size (about 15 KiB), no allocation, so adding a
 * sample costs a few instructions: the simulators add one per request.
 *
 * Not thread-safe; the simulators are single-threaded.
 */
#ifndef EF_HIST_H
#define EF_HIST_H

#include <stdint.h>

#define HIST_SUB 64
#define HIST_BUCKETS (HIST_SUB + (34 - 6) * HIST_SUB)

struct hist {
	uint64_t b[HIST_BUCKETS];
	uint64_t n;
	uint64_t max_us;
};

/* A zeroed struct hist is an empty histogram. */
void hist_add(struct hist *h, uint64_t us);

/* The p-quantile (0 < p <= 1) in milliseconds; 0 when empty. */
double hist_quantile_ms(const struct hist *h, double p);

#endif
