/*
 * retention: the event log's age limit, `edge-cp serve --event-retention`.
 *
 * The events table is the audit log and the feed's history; without a
 * limit it grows forever (at 10,000 nodes node.health alone is on the
 * order of 100,000 rows a day).  The ticker calls retention_tick() every
 * second.  A sweep deletes at most RETENTION_BATCH of the oldest events
 * in one short write transaction (store_event_expire: it reads at most
 * that many rows, whatever the table's size), so check-ins and status
 * writes wait behind it for milliseconds, never for a table scan.
 *
 *	idle ── RETENTION_EVERY_S since the last sweep ──▶ sweep
 *	sweep ── a full batch (more may be due) ──▶ sweep again next tick
 *	  └──── fewer than a batch, or a store error ──▶ idle
 *
 * So a backlog (retention set on an old database, or shortened) drains
 * at up to RETENTION_BATCH rows a second, and once caught up a sweep a
 * minute removes what aged out in that minute.  A retention shorter than
 * two sweep intervals (tests use seconds) is swept every retention / 2
 * instead, but at most once a second.
 *
 * Each sweep that deleted something logs one line (event=events_expired
 * count=N oldest_kept=ID) and adds to edgecp_events_deleted_total.
 * Event ids keep growing after deletes (AUTOINCREMENT): a reader whose
 * cursor is older than the oldest kept event gets what is kept and is
 * told (GET /v1/events "oldest_id", the stream's ": gap:" comment).
 *
 * Called from the ticker thread only (retention_init before it starts).
 */
#ifndef EF_RETENTION_H
#define EF_RETENTION_H

#include <stdint.h>

#include "cp/store.h"

/*
 * The default keeps 90 days.  An audit log is read back for incident
 * reviews, rollout post-mortems and "who enrolled this node, who changed
 * that POP", which a quarter covers; 90 days is also what operators know
 * from their clouds' audit trails (AWS CloudTrail's event history, for
 * one).  It bounds the database of a 10,000-node fleet to a few GB of
 * events.  Longer (a year for PCI DSS 10.5.1) is one option away, and a
 * log kept for years belongs in a log archive fed from the event stream.
 */
#define RETENTION_DEFAULT_S (90LL * 86400)
#define RETENTION_MAX_DAYS 3650
#define RETENTION_BATCH 2000
#define RETENTION_EVERY_S 60

/*
 * "90" (days), or a number with a unit: "90d", "36h", "30m", "45s";
 * "0" keeps every event.  At most RETENTION_MAX_DAYS.  0, or -1 when s
 * is none of these.
 */
int retention_parse(const char *s, int64_t *secs);
/* keep_s 0: keep everything (retention_tick does nothing). */
void retention_init(int64_t keep_s);
/* A sweep when one is due at now.  Returns the number of events deleted. */
int64_t retention_tick(struct store *s, int64_t now);

#endif
