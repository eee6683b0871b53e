/*
 * Unit tests of cp/live's node.health transitions: recorded where they
 * happen (a report, a drain, a check-in after a silence), silence found
 * by the sweep, the first state and "enrolled" kept silent, and a full
 * queue coalescing transitions without breaking a node's chain; the
 * source address a node is probed at, and when its report last changed.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/log.h"
#include "common/util.h"
#include "cp/live.h"

#define INTERVAL 5

static struct live_transition got[LIVE_TRANSITIONS_MAX];

/* Take everything queued; returns how many. */
static size_t
take(void)
{
	size_t n = live_transitions_peek(got, LIVE_TRANSITIONS_MAX);

	live_transitions_drop(n);
	return n;
}

static struct live_node *
fresh_node(const char *id, int64_t now)
{
	live_shutdown();
	live_init(INTERVAL);
	take();
	if (live_add(id, "p1",
		(const unsigned char *)"0123456789abcdef"
				       "0123456789abcdef",
		false, now) != 0)
		return NULL;
	return live_get(id);
}

/* Apply a report whose one step is in state `step`. */
static void
report(struct live_node *n, const char *step, bool withdrawn, int64_t now)
{
	unsigned char h[32] = { 0 };
	json_t *st =
	    json_pack("{s:[{s:s,s:s}],s:{s:b},s:b}", "steps", "name", "s",
		"state", step, "dataplane", "healthy", 1, "drained", withdrawn);

	live_apply_status(n, st, h, now);
	json_decref(st);
}

static bool
is(size_t i, const char *id, enum live_health from, enum live_health to)
{
	return strcmp(got[i].id, id) == 0 && strcmp(got[i].pop, "p1") == 0 &&
	    got[i].from == from && got[i].to == to;
}

TEST(live_first_state_and_enrolled_are_silent)
{
	int64_t now = util_now();
	struct live_node *n = fresh_node("n-a", now);

	CHECK(n != NULL);
	/* Never reported: enrolled, recorded without an event. */
	live_sweep(now);
	CHECK(take() == 0);
	CHECK(atomic_load(&n->ev_health) == HEALTH_ENROLLED);
	/* The first report leaves enrolled: node.activate says that. */
	report(n, "in_sync", false, now);
	CHECK(take() == 0);
	CHECK(atomic_load(&n->ev_health) == HEALTH_HEALTHY);
	live_put(n);
}

TEST(live_quick_transitions_all_recorded_in_order)
{
	int64_t now = util_now();
	struct live_node *n = fresh_node("n-b", now);

	CHECK(n != NULL);
	report(n, "in_sync", false, now);
	take();
	/* Within one second, with no sweep in between. */
	report(n, "error", false, now);
	report(n, "in_sync", false, now);
	report(n, "error", false, now);
	CHECK(take() == 3);
	CHECK(is(0, "n-b", HEALTH_HEALTHY, HEALTH_DEGRADED));
	CHECK(is(1, "n-b", HEALTH_DEGRADED, HEALTH_HEALTHY));
	CHECK(is(2, "n-b", HEALTH_HEALTHY, HEALTH_DEGRADED));
	CHECK(got[0].at == now && got[2].at == now);
	/* An unchanged health queues nothing, and neither does a sweep. */
	report(n, "error", false, now);
	live_sweep(now);
	CHECK(take() == 0);
	live_put(n);
}

TEST(live_drain_undrain_transitions)
{
	int64_t now = util_now();
	struct live_node *n = fresh_node("n-c", now);

	CHECK(n != NULL);
	report(n, "in_sync", false, now);
	take();
	live_set_drain(n, true);
	report(n, "in_sync", true, now);
	live_set_drain(n, false);
	CHECK(take() == 3);
	CHECK(is(0, "n-c", HEALTH_HEALTHY, HEALTH_DRAINING));
	CHECK(is(1, "n-c", HEALTH_DRAINING, HEALTH_DRAINED));
	CHECK(is(2, "n-c", HEALTH_DRAINED, HEALTH_HEALTHY));
	live_put(n);
}

TEST(live_silence_found_by_sweep_ended_by_checkin)
{
	int64_t now = util_now(), later = now + 4 * INTERVAL;
	struct live_node *n = fresh_node("n-d", now);

	CHECK(n != NULL);
	report(n, "in_sync", false, now);
	take();
	/* A check-in of a node that is not silent queues nothing. */
	live_seen(n, now);
	CHECK(take() == 0);
	/* Nothing happens when a node goes silent: the sweep sees it. */
	live_sweep(later);
	CHECK(take() == 1);
	CHECK(is(0, "n-d", HEALTH_HEALTHY, HEALTH_UNREACHABLE));
	CHECK(got[0].at == later);
	/* Its next check-in ends the silence at once. */
	live_seen(n, later + 1);
	CHECK(take() == 1);
	CHECK(is(0, "n-d", HEALTH_UNREACHABLE, HEALTH_HEALTHY));
	CHECK(atomic_load(&n->last_seen) == later + 1);
	live_put(n);
}

/*
 * A node that never checks in (an enrollment killed before its keeper
 * ran) is enrolled for LIVE_ENROLL_GRACE intervals, then unreachable;
 * one that checked in once but never reported goes by the usual 3.
 */
TEST(live_never_seen_turns_unreachable)
{
	int64_t now = util_now();
	struct live_node *n = fresh_node("n-g", 0);

	CHECK(n != NULL);
	live_sweep(now);
	CHECK(take() == 0);
	CHECK(live_health(n, now + 3 * INTERVAL + 1, INTERVAL) ==
	    HEALTH_ENROLLED);
	CHECK(live_health(n, now + (LIVE_ENROLL_GRACE - 1) * INTERVAL,
		  INTERVAL) == HEALTH_ENROLLED);
	live_sweep(now + (LIVE_ENROLL_GRACE + 1) * INTERVAL);
	CHECK(take() == 1);
	CHECK(is(0, "n-g", HEALTH_ENROLLED, HEALTH_UNREACHABLE));
	/* Its first check-in: enrolled again, until its first report. */
	live_seen(n, now + (LIVE_ENROLL_GRACE + 2) * INTERVAL);
	CHECK(live_health(n, now + (LIVE_ENROLL_GRACE + 2) * INTERVAL,
		  INTERVAL) == HEALTH_ENROLLED);
	CHECK(live_health(n, now + (LIVE_ENROLL_GRACE + 6) * INTERVAL,
		  INTERVAL) == HEALTH_UNREACHABLE);
	live_put(n);
}

/*
 * A full queue: what does not fit coalesces, each node's chain stays
 * consistent (every "from" is the previous "to"), and the sweep brings
 * the node's event log up to date once there is room.
 */
TEST(live_full_queue_coalesces)
{
	int64_t now = util_now();
	struct live_node *n = fresh_node("n-e", now), *m;
	uint64_t before = live_transitions_coalesced();
	size_t i, k;

	CHECK(n != NULL);
	CHECK(live_add("n-f", "p1",
		  (const unsigned char *)"fedcba9876543210fedcba9876543210",
		  false, now) == 0);
	CHECK((m = live_get("n-f")) != NULL);
	report(n, "in_sync", false, now);
	report(m, "in_sync", false, now);
	take();
	/* n fills the queue, flapping. */
	for (i = 0; i < LIVE_TRANSITIONS_MAX; i++)
		report(n, i % 2 ? "in_sync" : "error", false, now);
	/*
	 * Full: m's degrade and n's next flap are not queued; m's recovery
	 * then is no change from what the log last heard.
	 */
	report(m, "error", false, now);
	report(m, "in_sync", false, now);
	report(n, "error", false, now);
	CHECK(live_transitions_coalesced() - before == 2);
	/* m went and came back: nothing to say.  n's last is healthy. */
	CHECK(atomic_load(&m->ev_health) == HEALTH_HEALTHY);
	CHECK(atomic_load(&n->ev_health) == HEALTH_HEALTHY);
	CHECK(take() == LIVE_TRANSITIONS_MAX);
	for (i = 0; i < LIVE_TRANSITIONS_MAX; i++)
		CHECK(strcmp(got[i].id, "n-e") == 0 &&
		    (i == 0 || got[i].from == got[i - 1].to));
	/* With room again, the sweep queues n's net change. */
	live_sweep(now);
	k = take();
	CHECK(k == 1);
	CHECK(is(0, "n-e", HEALTH_HEALTHY, HEALTH_DEGRADED));
	live_put(m);
	live_put(n);
}

TEST(live_addr_and_report_time)
{
	struct live_node *n = fresh_node("n-a", 1000);
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	struct sockaddr un = { .sa_family = AF_UNIX };
	char was[LIVE_ADDR_MAX] = "";

	CHECK(n != NULL);
	CHECK(n->addr[0] == '\0' && n->report_at == 0);
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.7", &s4.sin_addr);
	/* The first address replaces nothing. */
	CHECK(live_set_addr(n, (struct sockaddr *)&s4, was) == 0);
	CHECK_STR(n->addr, "192.0.2.7");
	CHECK(live_set_addr(n, (struct sockaddr *)&s4, was) == 0);
	/* A dual-stack listener's view of an IPv4 node: probed at IPv4. */
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:198.51.100.9", &s6.sin6_addr);
	CHECK(live_set_addr(n, (struct sockaddr *)&s6, was) == 1);
	CHECK_STR(n->addr, "198.51.100.9");
	CHECK_STR(was, "192.0.2.7");
	inet_pton(AF_INET6, "2001:db8::5", &s6.sin6_addr);
	CHECK(live_set_addr(n, (struct sockaddr *)&s6, was) == 1);
	CHECK_STR(n->addr, "2001:db8::5");
	/* Nothing else moves it. */
	CHECK(live_set_addr(n, &un, was) == 0);
	CHECK(live_set_addr(n, NULL, was) == 0);
	CHECK_STR(n->addr, "2001:db8::5");
	report(n, "in_sync", false, 1010);
	CHECK(n->report_at == 1010);
	live_put(n);
}

int
main(void)
{
	log_init("live_test", LOG_WARN);
	RUN(live_first_state_and_enrolled_are_silent);
	RUN(live_quick_transitions_all_recorded_in_order);
	RUN(live_drain_undrain_transitions);
	RUN(live_silence_found_by_sweep_ended_by_checkin);
	RUN(live_never_seen_turns_unreachable);
	RUN(live_full_queue_coalesces);
	RUN(live_addr_and_report_time);
	live_shutdown();
	return check_done();
}
