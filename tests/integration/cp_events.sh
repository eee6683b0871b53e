#!/bin/sh
# The live event feed, GET /v1/events/stream, against a real edge-cp with
# nodes played by nodeclient: new events arrive as they are committed; a
# reconnect with Last-Event-ID gets exactly the events it missed; the
# backlog, the node/POP/kind filters (on the feed and on GET /v1/events);
# node.health events for every transition, a quick degraded, healthy,
# degraded included, and when a node goes silent;
# keepalive comments on an idle feed; bad input refused; the stream limit
# per token; an open feed does not hold up edge-cp's stop.
. "$(dirname "$0")/lib.sh"
setup cp_events
start_cp "$T_DIR/cp" --node-interval 3 --timeout 4 --event-streams 24 ||
    { fail "edge-cp starts"; finish; exit 1; }
nc() { _c=$1; shift; "$NC" "$_c" --server "$CP_URL" --pin "$CP_PIN" "$@"; }

# stream FILE [QUERY] [LAST_EVENT_ID] [TOKEN]: a feed in the background
# (SPID).
stream() {
	curl -skN --pinnedpubkey "$CP_PIN" -H "Authorization: Bearer ${4:-$CP_TOKEN}" \
	    ${3:+-H "Last-Event-ID: $3"} "$CP_URL/v1/events/stream${2:+?$2}" \
	    >"$1" 2>/dev/null &
	SPID=$!
	T_PIDS="$T_PIDS $SPID"
}
ids() { sed -n 's/^id: //p' "$1" | tr '\n' ' ' | sed 's/ $//'; }
api_ids() { # QUERY: the ids GET /v1/events answers
	api GET "/v1/events?limit=1000&$1" | cut -d' ' -f2- |
	    jq -r '[.events[].id] | map(tostring) | join(" ")'
}
has() { grep -q "$2" "$1"; }

expect_api "POP p1" 201 POST /v1/pops '{"name":"p1","region":"eu"}'
expect_api "POP p2" 201 POST /v1/pops '{"name":"p2","region":"us"}'
for p in p1 p2; do
	T=$(api POST /v1/enrollment-tokens "{\"pop\":\"$p\"}" | cut -d' ' -f2- | jq -r .token)
	nc enroll --token "$T" --state "$T_DIR/$p.node" --hostname "h$p" >/dev/null
done
N1=$(sed -n "s/^node_id=//p" "$T_DIR/p1.node")
N2=$(sed -n "s/^node_id=//p" "$T_DIR/p2.node")
check "two nodes enrolled" test -n "$N1" -a -n "$N2"
report() { # NODE_STATE STEP_STATE
	nc status --state "$T_DIR/$1.node" --body "{\"steps\":[{\"name\":\"s\",
	    \"state\":\"$2\"}],\"dataplane\":{\"healthy\":true}}" >/dev/null
}
report p1 in_sync
report p2 in_sync

# A feed from now on, and one of p1's events only.
stream "$T_DIR/all"
ALL=$SPID
stream "$T_DIR/p1" "pop=p1"
check "the feed opens with its retry delay" await 5 has "$T_DIR/all" '^retry: 2000'
expect_api "an event: POP p3" 201 POST /v1/pops '{"name":"p3","region":"eu"}'
check "...arrives on the feed" await 5 has "$T_DIR/all" '"object":"p3"'
check "...as a frame named by its action" has "$T_DIR/all" '^event: pop.create'
expect_api "drain p1's node" 200 POST "/v1/nodes/$N1/drain"
expect_api "drain p2's node" 200 POST "/v1/nodes/$N2/drain"
check "the drains arrive" await 5 has "$T_DIR/all" "\"object\":\"$N2\""
kill "$ALL"
wait "$ALL" 2>/dev/null
LASTID=$(ids "$T_DIR/all" | awk '{print $NF}')
expect_eq "the feed sent what GET /v1/events has after it opened" \
    "$(ids "$T_DIR/all")" "$(api_ids "after=$(($(ids "$T_DIR/all" | awk '{print $1}') - 1))")"

# Missed while disconnected: exactly these come on the reconnect.
expect_api "undrain p1's node (missed)" 200 POST "/v1/nodes/$N1/undrain"
expect_api "POP p4 (missed)" 201 POST /v1/pops '{"name":"p4","region":"eu"}'
MISSED=$(api_ids "after=$LASTID")
stream "$T_DIR/re" "" "$LASTID"
RE=$SPID
same_ids() { [ "$(ids "$T_DIR/re")" = "$MISSED" ]; }
check "a reconnect with Last-Event-ID gets exactly the missed events, in order" \
    await 5 same_ids
echo "# missed: $MISSED; got: $(ids "$T_DIR/re")"
expect_api "and then new ones: POP p5" 201 POST /v1/pops '{"name":"p5","region":"eu"}'
check "...on the same feed" await 5 has "$T_DIR/re" '"object":"p5"'
kill "$RE"

# The filtered feed had only p1 and its node.
check "the pop=p1 feed has p1's node drained" has "$T_DIR/p1" "\"object\":\"$N1\""
check "...and nothing of other POPs' nodes" sh -c "! grep -q '$N2' '$T_DIR/p1'"
check "...nor other POPs" sh -c "! grep -q '\"object\":\"p3\"' '$T_DIR/p1'"
expect_eq "GET /v1/events?node= : that node's events" \
    "$(api GET "/v1/events?node=$N2" | cut -d' ' -f2- |
        jq -r '[.events[].object] | unique | join(" ")')" "$N2"
expect_eq "GET /v1/events?kind=pop : pop.* only" \
    "$(api GET "/v1/events?kind=pop&limit=1000" | cut -d' ' -f2- |
        jq -r '[.events[].action] | unique | join(" ")')" "pop.create"
cli() { "$CP" --server "$CP_URL" --token "$CP_TOKEN" --pin "$CP_PIN" "$@"; }
# (node.health events of p1's node may come too, on a slow machine: the
# node is silent meanwhile; the filters are what is checked here.)
expect_eq "the CLI filters too: edge-cp events --pop p1 --kind node" \
    "$(cli events --pop p1 --kind node -o json |
        jq -r '[.events[] | select(.action != "node.health") |
            .action + " " + .object] | unique | join(",")')" \
    "node.activate $N1,node.drain $N1,node.enroll $N1,node.undrain $N1"
expect_eq "...and nothing of another POP or kind" \
    "$(cli events --pop p1 --kind node -o json |
        jq -r "[.events[] | select((.action | startswith(\"node.\") | not) or
            .object != \"$N1\")] | length")" 0
expect_eq "kind matches whole parts only (kind=po: none)" \
    "$(api GET "/v1/events?kind=po" | cut -d' ' -f2- | jq '.events | length')" 0

# The backlog: the newest N, then live.
stream "$T_DIR/bl" "backlog=3&kind=pop"
check "backlog=3 sends the newest three first" await 5 sh -c \
    "[ \$(grep -c '^id: ' '$T_DIR/bl') = 3 ]"
expect_eq "...the newest three pop events" "$(ids "$T_DIR/bl")" \
    "$(api_ids "kind=pop" | tr ' ' '\n' | tail -n 3 | tr '\n' ' ' | sed 's/ $//')"

# node.health: p2's node, undrained, then degraded, healthy and degraded
# again in quick succession (each transition is recorded where it
# happens, none sampled away), then silent.  The drain's own transition
# is written first (within a tick), so that the feed starts after it.
drained_ev() {
	api GET "/v1/events?kind=node.health&node=$N2" | cut -d' ' -f2- |
	    jq -e '.events | any(.detail.to == "draining")'
}
check "the drain made its node.health event (healthy>draining)" \
    await 5 drained_ev
stream "$T_DIR/h" "kind=node.health&node=$N2"
check "the health feed opens" await 5 has "$T_DIR/h" '^retry: '
# transitions: the node's node.health events as "from>to", in order.
transitions() {
	sed -n 's/^data: //p' "$T_DIR/h" |
	    jq -r '.detail.from + ">" + .detail.to' | tr '\n' ' ' | sed 's/ $//'
}
expect_api "undrain p2's node" 200 POST "/v1/nodes/$N2/undrain"
check "a node.health event when the node is undrained (draining>healthy)" \
    await 5 has "$T_DIR/h" '"from":"draining","to":"healthy","pop":"p2"'
report p2 error
report p2 in_sync
report p2 error
want="draining>healthy healthy>degraded degraded>healthy healthy>degraded"
seen_all() { [ "$(transitions)" = "$want" ]; }
check "degraded, healthy, degraded at once: every transition, in order" \
    await 5 seen_all
echo "# transitions: $(transitions)"
check "...each with its POP, actor edge-cp" sh -c "sed -n 's/^data: //p' \
    '$T_DIR/h' | jq -e -s 'all(.actor == \"edge-cp\" and
    .object == \"$N2\" and .detail.pop == \"p2\")' >/dev/null"
check "...and one when it goes silent (unreachable)" await 30 has "$T_DIR/h" \
    '"from":"degraded","to":"unreachable"'
echo "# $(grep '^data' "$T_DIR/h" | tr '\n' ' ')"

# Idle: keepalives within half of the idle timeout (--timeout 4).
stream "$T_DIR/idle" "kind=nothing.here"
check "an idle feed gets keepalive comments" await 6 has "$T_DIR/idle" '^: keepalive'
sleep 5
check "...and stays open past the idle timeout" kill -0 "$SPID"

# Bad input.
code=$(curl -sk --pinnedpubkey "$CP_PIN" -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $CP_TOKEN" -H "Last-Event-ID: x1" \
    "$CP_URL/v1/events/stream")
expect_eq "Last-Event-ID: x1 -> 400" "$code" 400
expect_api "backlog out of range: 400" 400 GET "/v1/events/stream?backlog=5000"
expect_api "a filter with a quote: 400" 400 GET "/v1/events/stream?node=a%27b"
expect_api "no token: 401" 401 GET /v1/events/stream "" ""

# A token's share of the streams: a quarter of --event-streams (24).
expect_api "a viewer token" 201 POST /v1/api-tokens '{"name":"wall","role":"viewer"}'
WALL=$(echo "$LAST" | jq -r .token)
i=1
while [ $i -le 6 ]; do
	stream "$T_DIR/w$i" "" "" "$WALL"
	i=$((i + 1))
done
six() { [ "$(cat "$T_DIR"/w[1-6] | grep -c '^retry: ')" = 6 ]; }
check "a viewer opens six streams, its share" await 10 six
code=$(curl -sk --pinnedpubkey "$CP_PIN" -o "$T_DIR/w7" -D "$T_DIR/w7.h" \
    -w '%{http_code}' -H "Authorization: Bearer $WALL" \
    "$CP_URL/v1/events/stream")
expect_eq "...a seventh is 503" "$code" 503
check "...saying why, with Retry-After" sh -c \
    "grep -q 'share of event streams' '$T_DIR/w7' && grep -qi '^Retry-After' '$T_DIR/w7.h'"
stream "$T_DIR/other" "kind=pop"
check "...while another token still gets one" await 5 has "$T_DIR/other" '^retry: '

# Feeds are open (idle, filtered, the backlog one); edge-cp stops anyway.
stop_cp TERM
rc=$?
expect_eq "edge-cp stops cleanly with feeds open" "$rc" 0
check "...without waiting them out (no request cut at the grace's end)" \
    sh -c "! grep -q event=stop_cut_requests '$CP_DIR/cp.log'"
finish
