/*
 * The event log's age limit (state machine and cadence in
 * cp/retention.h).
 */
#include "cp/retention.h"

#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "cp/metrics.h"

static int64_t keep_s;
static int64_t every_s = RETENTION_EVERY_S;
static int64_t next_at; /* the next sweep, Unix seconds; 0: at once */

int
retention_parse(const char *s, int64_t *secs)
{
	return util_parse_duration(
	    s, 86400, 0, RETENTION_MAX_DAYS * 86400LL, secs);
}

void
retention_init(int64_t keep)
{
	keep_s = keep;
	every_s = RETENTION_EVERY_S;
	if (keep > 0 && keep / 2 < every_s)
		every_s = keep / 2 > 0 ? keep / 2 : 1;
	next_at = 0;
	if (keep > 0)
		log_info("event=event_retention keep_s=%lld sweep_s=%lld "
			 "batch=%d",
		    (long long)keep, (long long)every_s, RETENTION_BATCH);
	else
		log_info("event=event_retention keep_s=0 msg=\"every event "
			 "is kept\"");
}

int64_t
retention_tick(struct store *s, int64_t now)
{
	int64_t deleted = 0, oldest = 0;

	if (keep_s == 0 || now < next_at)
		return 0;
	/* The store logged the cause; the next sweep is the retry. */
	if (store_event_expire(
		s, now - keep_s, now, RETENTION_BATCH, &deleted) != STORE_OK) {
		log_warnx("event=events_expire_failed");
		next_at = now + every_s;
		return 0;
	}
	if (deleted > 0) {
		metrics_events_deleted((uint64_t)deleted);
		if (store_event_oldest(s, &oldest) != STORE_OK)
			oldest = -1;
		log_info("event=events_expired count=%lld oldest_kept=%lld "
			 "before=%lld",
		    (long long)deleted, (long long)oldest,
		    (long long)(now - keep_s));
	}
	next_at = deleted >= RETENTION_BATCH ? now + 1 : now + every_s;
	return deleted;
}
