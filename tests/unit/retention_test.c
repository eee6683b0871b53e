/*
 * Unit tests of cp/retention: the --event-retention value, and the sweep
 * cadence (a batch at most per sweep, again at the next tick while a
 * backlog lasts, else once per interval) against a real store, with the
 * clock passed in: nothing here waits.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "common/log.h"
#include "common/util.h"
#include "cp/retention.h"
#include "cp/store.h"
#include "tmpdir.h"

static struct store *st;

TEST(retention_parse_days_and_units)
{
	int64_t v = -1;

	CHECK(retention_parse("90", &v) == 0 && v == 90 * 86400);
	CHECK(retention_parse("0", &v) == 0 && v == 0);
	CHECK(retention_parse("90d", &v) == 0 && v == 90 * 86400);
	CHECK(retention_parse("36h", &v) == 0 && v == 36 * 3600);
	CHECK(retention_parse("30m", &v) == 0 && v == 1800);
	CHECK(retention_parse("2s", &v) == 0 && v == 2);
	CHECK(retention_parse("3650", &v) == 0 && v == 3650LL * 86400);
	CHECK(retention_parse("87600h", &v) == 0 && v == 3650LL * 86400);
	v = 7;
	CHECK(retention_parse("3651", &v) == -1);
	CHECK(retention_parse("87601h", &v) == -1);
	CHECK(retention_parse("", &v) == -1);
	CHECK(retention_parse("d", &v) == -1);
	CHECK(retention_parse("-1", &v) == -1);
	CHECK(retention_parse("2w", &v) == 0 && v == 14 * 86400);
	v = 7;
	CHECK(retention_parse("1y", &v) == -1);
	CHECK(retention_parse("90dd", &v) == -1);
	CHECK(retention_parse("9 0", &v) == -1);
	CHECK(retention_parse("99999999999999999999", &v) == -1);
	CHECK(v == 7);
}

static int
add_old(int64_t ts, size_t n)
{
	static const char *objs[RETENTION_BATCH], *dets[RETENTION_BATCH];
	static int64_t tss[RETENTION_BATCH];
	size_t i, k;
	int rc = STORE_OK;

	while (n > 0 && rc == STORE_OK) {
		k = n < RETENTION_BATCH ? n : RETENTION_BATCH;
		for (i = 0; i < k; i++) {
			objs[i] = "o";
			dets[i] = "{}";
			tss[i] = ts;
		}
		rc = store_event_batch(st, "edge-cp", "t", objs, dets, tss, k);
		n -= k;
	}
	return rc;
}

static int64_t
oldest(void)
{
	int64_t id = -1;

	store_event_oldest(st, &id);
	return id;
}

/*
 * 2.5 batches of old events: a sweep takes one batch, the same second
 * nothing more, the next ticks the rest; then the next sweep is an
 * interval away (keep / 2 = 50 s here, shorter than a minute).
 */
TEST(retention_tick_batches_then_waits)
{
	int64_t now = 1000000;

	CHECK(add_old(now - 1000, 2 * RETENTION_BATCH + 500) == STORE_OK);
	CHECK(add_old(now - 10, 3) == STORE_OK);
	retention_init(100);
	CHECK(retention_tick(st, now) == RETENTION_BATCH);
	CHECK(oldest() == RETENTION_BATCH + 1);
	CHECK(retention_tick(st, now) == 0);
	CHECK(retention_tick(st, now + 1) == RETENTION_BATCH);
	CHECK(retention_tick(st, now + 2) == 500);
	CHECK(oldest() == 2 * RETENTION_BATCH + 501);
	/*
	 * Caught up: no sweep until now + 52, whatever is due meanwhile
	 * (at now + 91 the three stamped now - 10 are past the 100 s).
	 */
	CHECK(retention_tick(st, now + 3) == 0);
	CHECK(retention_tick(st, now + 51) == 0);
	CHECK(oldest() == 2 * RETENTION_BATCH + 501);
	CHECK(retention_tick(st, now + 91) == 3);
	CHECK(retention_tick(st, now + 92) == 0);
}

/* 0 keeps everything; a long retention sweeps once a minute. */
TEST(retention_zero_keeps_all_and_minute_cadence)
{
	int64_t now = 2000000, id = oldest();

	CHECK(add_old(now - 10 * 86400, 5) == STORE_OK);
	retention_init(0);
	CHECK(retention_tick(st, now) == 0);
	CHECK(retention_tick(st, now + 86400) == 0);
	CHECK(oldest() == id);
	retention_init(86400);
	CHECK(retention_tick(st, now) == 5);
	CHECK(add_old(now - 10 * 86400, 2) == STORE_OK);
	CHECK(retention_tick(st, now + 59) == 0);
	CHECK(retention_tick(st, now + 60) == 2);
}

int
main(void)
{
	char path[128], err[256];

	log_init("retention_test", LOG_WARN);
	tmp_setup("retention_test");
	snprintf(path, sizeof(path), "%s/t.db", tmpdir);
	if ((st = store_open(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "store: %s\n", err);
		return 1;
	}
	RUN(retention_parse_days_and_units);
	RUN(retention_tick_batches_then_waits);
	RUN(retention_zero_keeps_all_and_minute_cadence);
	store_close(st);
	tmp_cleanup();
	return check_done();
}
