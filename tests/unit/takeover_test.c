/*
 * Unit tests of dataplane/takeover's connection records: the bound a
 * handed-over connection is under, in protocol 2, and what protocol 1
 * records mean to this release.
 *
 * takeover.c belongs to edge-dp, whose objects the unit-test rule does
 * not link (see http_test.c): the module's source is included.
 */
#include "dataplane/takeover.c"

#include "check.h"
#include "common/util.h"

static struct takeover_conn tc;

static int
parse(const char *line, int proto)
{
	memset(&tc, 0xa5, sizeof(tc));
	return takeover_conn_parse(line, proto, &tc);
}

TEST(parse_v2)
{
	CHECK(parse("C 0 i 1500", 2) == 0);
	CHECK(tc.len == 0 && tc.idle && tc.age_ms == 1500);
	CHECK(parse("C 17 h 0", 2) == 0);
	CHECK(tc.len == 17 && !tc.idle && tc.age_ms == 0);
	/* A new connection that has sent nothing: head bound, no bytes. */
	CHECK(parse("C 0 h 250", 2) == 0);
	CHECK(tc.len == 0 && !tc.idle && tc.age_ms == 250);
	CHECK(parse("C 1048576 h 86400000", 2) == 0);
	CHECK(tc.len == TAKEOVER_CONN_MAX && tc.age_ms == TAKEOVER_AGE_MAX_MS);
}

TEST(parse_v1)
{
	/* What version 1 successors did: bytes, a head; none, idle; now. */
	CHECK(parse("C 0", 1) == 0);
	CHECK(tc.len == 0 && tc.idle && tc.age_ms == 0);
	CHECK(parse("C 12", 1) == 0);
	CHECK(tc.len == 12 && !tc.idle && tc.age_ms == 0);
	/* Each protocol's shape only. */
	CHECK(parse("C 12 h 5", 1) == -1);
	CHECK(parse("C 12", 2) == -1);
}

TEST(parse_refuses)
{
	static const char *bad[] = {
		"",
		"C",
		"C ",
		"C  0 i 1",
		"c 0 i 1",
		"D 0 i 1",
		"C -1 i 1",
		"C +1 i 1",
		"C 01 i 1",
		"C 1048577 i 1",
		"C 0 x 1",
		"C 0 i",
		"C 0 i ",
		"C 0 i -1",
		"C 0 i 86400001",
		"C 0 i 1 ",
		"C 0 i 1x",
		"C 0 ii 1",
		"C 0  i 1",
		"C 0 i 00",
		"C 99999999999999999999 i 1",
		"C 0 i 999999999999999999999",
		"C 0\ti 1",
		"DONE",
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		snprintf(check_msg, sizeof(check_msg), "%s", bad[i]);
		if (parse(bad[i], 2) != -1) {
			check_cur_failed = 1;
			return;
		}
	}
	check_msg[0] = '\0';
}

TEST(format_round_trip)
{
	struct takeover_conn in = { 20480, false, 9999 };
	char line[64];

	CHECK(takeover_conn_format(line, sizeof(line), 2, &in) == 0);
	CHECK_STR(line, "C 20480 h 9999");
	CHECK(parse(line, 2) == 0);
	CHECK(tc.len == in.len && tc.idle == in.idle && tc.age_ms == 9999);
	in.idle = true;
	in.len = 0;
	CHECK(takeover_conn_format(line, sizeof(line), 2, &in) == 0);
	CHECK_STR(line, "C 0 i 9999");
	CHECK(takeover_conn_format(line, sizeof(line), 1, &in) == 0);
	CHECK_STR(line, "C 0");
	/* An age past the bound is sent as the bound: still expired. */
	in.age_ms = TAKEOVER_AGE_MAX_MS * 3;
	CHECK(takeover_conn_format(line, sizeof(line), 2, &in) == 0);
	CHECK(parse(line, 2) == 0 && tc.age_ms == TAKEOVER_AGE_MAX_MS);
	/* Out of range, or no room: refused, never a cut record. */
	in.age_ms = -1;
	CHECK(takeover_conn_format(line, sizeof(line), 2, &in) == -1);
	in.age_ms = 1;
	in.len = TAKEOVER_CONN_MAX + 1;
	CHECK(takeover_conn_format(line, sizeof(line), 2, &in) == -1);
	in.len = 1;
	CHECK(takeover_conn_format(line, 6, 2, &in) == -1);
}

int
main(void)
{
	RUN(parse_v2);
	RUN(parse_v1);
	RUN(parse_refuses);
	RUN(format_round_trip);
	return check_done();
}
