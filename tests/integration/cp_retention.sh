#!/bin/sh
# Event retention (edge-cp serve --event-retention): old events leave the
# log by themselves, oldest first, each sweep logged with its count and
# counted in edgecp_events_deleted_total; ids keep growing after the
# deletes, also across a restart that finds the log empty; a reader
# whose after / Last-Event-ID is older than the oldest kept event gets
# what is kept and is told (GET /v1/events "oldest_id", the stream's
# ": gap:" comment, the CLI's warning); a bad value is a usage error.
#
# The option takes days; "4s" (a unit) makes it seconds, so this test
# awaits the deletes instead of waiting days.  Nothing here sleeps and
# then asserts: every check on a delete awaits its condition.
. "$(dirname "$0")/lib.sh"
setup cp_retention
D="$T_DIR/cp"
cli() { "$CP" --server "$CP_URL" --token "$CP_TOKEN" --pin "$CP_PIN" "$@"; }
events() { api GET "/v1/events?limit=1000${1:+&$1}" | cut -d' ' -f2-; }
oldest() { events | jq .oldest_id; }
has() { grep -q "$2" "$1"; }

# ---- bad values ------------------------------------------------------------------
for bad in 3651 5x -1 '' 1y 90dd; do
	timeout 10 "$CP" serve --data-dir "$T_DIR/nope" --listen 127.0.0.1:0 \
	    --event-retention "$bad" >"$T_DIR/bad.out" 2>&1
	rc=$?
	if [ "$rc" = 2 ] && grep -q 'event-retention must be days' "$T_DIR/bad.out"; then
		ok "--event-retention '$bad' is a usage error, saying why"
	else
		fail "--event-retention '$bad' is a usage error" "rc $rc: $(cat "$T_DIR/bad.out")"
	fi
done
check "...and nothing was made" test ! -e "$T_DIR/nope"

# ---- the default ---------------------------------------------------------------------
start_cp "$D" || { fail "edge-cp starts"; finish; exit 1; }
check "by default events are kept 90 days, swept every minute" \
    grep -q 'event=event_retention keep_s=7776000 sweep_s=60 batch=2000' "$D/cp.log"
expect_api "a first event: POP p0" 201 POST /v1/pops '{"name":"p0","region":"eu"}'
expect_eq "GET /v1/events says the oldest kept event: 1" "$(oldest)" 1
stop_cp TERM

# ---- four seconds --------------------------------------------------------------------
start_cp "$D" --event-retention 4s || { fail "edge-cp starts"; finish; exit 1; }
check "--event-retention 4s: swept every 2 s" \
    grep -q 'event=event_retention keep_s=4 sweep_s=2 batch=2000' "$D/cp.log"
for p in p1 p2 p3; do
	expect_api "an event: POP $p" 201 POST /v1/pops "{\"name\":\"$p\",\"region\":\"eu\"}"
done
OLD=$(events | jq '.events[-1].id')
check "the events are there (up to $OLD)" test "$OLD" -ge 4
# A feed that started before the deletes goes on through them.
curl -skN --pinnedpubkey "$CP_PIN" -H "Authorization: Bearer $CP_TOKEN" \
    "$CP_URL/v1/events/stream" >"$T_DIR/live" 2>/dev/null &
T_PIDS="$T_PIDS $!"
check "a live feed opens" await 5 has "$T_DIR/live" '^retry: '
gone() { [ "$(oldest)" -gt "$OLD" ]; }
check "every one of them leaves the log" await 20 gone
expect_eq "...GET /v1/events has none" "$(events | jq '.events | length')" 0
check "...each sweep logged with its count" \
    grep -q 'event=events_expired count=[1-9][0-9]* oldest_kept=' "$D/cp.log"
n=$(sed -n 's/.*event=events_expired count=\([0-9]*\).*/\1/p' "$D/cp.log" |
    awk '{s += $1} END {print s}')
expect_eq "...together all $OLD" "$n" "$OLD"
expect_eq "...and counted in edgecp_events_deleted_total" \
    "$(curl -sk --pinnedpubkey "$CP_PIN" "$CP_URL/metrics" |
        sed -n 's/^edgecp_events_deleted_total //p')" "$OLD"

expect_api "a new event: POP p4" 201 POST /v1/pops '{"name":"p4","region":"eu"}'
check "...reaches the live feed" await 5 has "$T_DIR/live" '"object":"p4"'
NEW=$(sed -n 's/^data: //p' "$T_DIR/live" | jq 'select(.object == "p4") | .id')
expect_eq "...with the next id, past every deleted one" "$NEW" $((OLD + 1))
expect_eq "...and the feed had every event, in order" \
    "$(sed -n 's/^id: //p' "$T_DIR/live" | tr '\n' ' ')" "$NEW "

# A reader from before what is kept: told, and given what is kept.
R=$(events "after=1")
expect_eq "GET /v1/events?after=1: none of the removed ones" \
    "$(echo "$R" | jq -c '[.events[].id] | map(select(. <= '"$OLD"'))')" "[]"
check "...and oldest_id says events 2-$OLD are gone" \
    test "$(echo "$R" | jq .oldest_id)" -gt "$OLD"
cli events --after 1 >"$T_DIR/cli.out" 2>"$T_DIR/cli.err"
check "edge-cp events --after 1 says so" \
    grep -q "events 2 to [0-9]* were removed by the event retention" "$T_DIR/cli.err"
curl -skN --max-time 60 --pinnedpubkey "$CP_PIN" \
    -H "Authorization: Bearer $CP_TOKEN" -H "Last-Event-ID: 1" \
    "$CP_URL/v1/events/stream" >"$T_DIR/re" 2>/dev/null &
T_PIDS="$T_PIDS $!"
check "a feed resumed from id 1 opens with a gap comment" \
    await 5 has "$T_DIR/re" '^: gap: events 2 to [0-9]* were removed by the event retention'
expect_api "then new events: POP p5" 201 POST /v1/pops '{"name":"p5","region":"eu"}'
check "...arrive on it" await 5 has "$T_DIR/re" '"object":"p5"'
P5=$(sed -n 's/^data: //p' "$T_DIR/re" | jq 'select(.object == "p5") | .id')
# From the newest id nothing is missing, whatever retention removed.
curl -skN --max-time 60 --pinnedpubkey "$CP_PIN" \
    -H "Authorization: Bearer $CP_TOKEN" -H "Last-Event-ID: $P5" \
    "$CP_URL/v1/events/stream" >"$T_DIR/cur" 2>/dev/null &
T_PIDS="$T_PIDS $!"
check "a feed resumed from the newest id opens" await 5 has "$T_DIR/cur" '^retry: '
check "...with no gap comment" sh -c "! grep -q '^: gap' '$T_DIR/cur'"

# The log empties again; a restart finds it empty and ids go on.
LAST_ID=$P5
empty() { [ "$(events | jq '.events | length')" = 0 ]; }
check "the log empties again" await 20 empty
stop_cp TERM
start_cp "$D" --event-retention 0 || { fail "edge-cp restarts"; finish; exit 1; }
check "--event-retention 0: every event is kept" \
    grep -q 'event=event_retention keep_s=0' "$D/cp.log"
expect_eq "after the restart, GET /v1/events: oldest_id is the next id" \
    "$(oldest)" $((LAST_ID + 1))
expect_api "a new event after the restart" 201 POST /v1/pops '{"name":"p6","region":"eu"}'
expect_eq "...gets the next id, not 1" "$(events | jq '.events[0].id')" $((LAST_ID + 1))
check "edge-cp's database is intact" sh -c \
    "sqlite3 '$D/edge-cp.db' 'PRAGMA integrity_check' | grep -qx ok"
finish
