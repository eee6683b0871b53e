#!/bin/sh
# The node side of edge-cp over real HTTPS: enrollment (also 20 at once on
# a single-use token), sessions, the 304 check-in path, status reports
# written only on change, health, drain, an all_at_once rollout and its
# abort, attacks on request authentication, revocation, restarts.
. "$(dirname "$0")/lib.sh"
setup cpnode
start_cp "$T_DIR/cp" --node-interval 1 ||
    { fail "edge-cp starts"; finish; exit 1; }
expect_api "create a POP" 201 POST /v1/pops \
    '{"name":"fra1","region":"eu","bgp":{"asn":64512,"anycast":[{"prefix":"198.51.100.10/32"}]}}'

token() { # token USES -> prints an enrollment token
	api POST /v1/enrollment-tokens "{\"pop\":\"fra1\",\"uses\":$1}" |
	    cut -d' ' -f2- | jq -r .token
}
nc() { _c=$1; shift; "$NC" "$_c" --server "$CP_URL" --pin "$CP_PIN" "$@"; }
fails() { ! "$@" >/dev/null 2>&1; }
node_id() { sed -n 's/^node_id=//p' "$1"; }

# Twenty nodes race for one single-use token: exactly one wins.
T1=$(token 1)
i=0
while [ $i -lt 20 ]; do
	nc enroll --token "$T1" --state "$T_DIR/race$i" --hostname "race$i" \
	    >/dev/null 2>&1 &
	eval "R$i=\$!"
	i=$((i + 1))
done
wins=0
i=0
while [ $i -lt 20 ]; do
	eval "wait \$R$i" && wins=$((wins + 1))
	i=$((i + 1))
done
expect_eq "20 concurrent enrollments on a single-use token: one node" \
    "$wins" 1
expect_api "list nodes" 200 GET /v1/nodes
expect_eq "exactly one node exists" "$(echo "$LAST" | jq '.nodes|length')" 1

# A bad proof of possession is refused and does not spend the token.
T2=$(token 1)
check "enrollment with a bad signature is refused" \
    fails nc enroll --token "$T2" --state "$T_DIR/bad" --bad-signature
check "...and the token still works" \
    nc enroll --token "$T2" --state "$T_DIR/a" --hostname edge-a \
    --facts '{"router_id":"192.0.2.11"}'
check "a spent token is refused" \
    fails nc enroll --token "$T2" --state "$T_DIR/x"
check "a made-up token is refused" fails nc enroll --token \
    efe_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA --state "$T_DIR/x"
T4=$(token 1)
check "a wrong pin fails before anything is sent" fails "$NC" enroll \
    --server "$CP_URL" --pin 'sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' \
    --token "$T4" --state "$T_DIR/x"
check "...and the token it carried is not spent" \
    nc enroll --token "$T4" --state "$T_DIR/d"
T3=$(token 2)
check "a two-use token enrolls b" nc enroll --token "$T3" --state "$T_DIR/b"
check "...and c" nc enroll --token "$T3" --state "$T_DIR/c"
check "...and not a third" fails nc enroll --token "$T3" --state "$T_DIR/x"
check "the state file is mode 0600" test "$(stat -c %a "$T_DIR/a")" = 600
A=$(node_id "$T_DIR/a")
B=$(node_id "$T_DIR/b")
C=$(node_id "$T_DIR/c")
expect_api "node detail" 200 GET "/v1/nodes/$A"
expect_eq "facts are kept" "$(echo "$LAST" | jq -r .facts.router_id)" \
    192.0.2.11
expect_eq "a new node is 'enrolled'" "$(echo "$LAST" | jq -r .health)" \
    enrolled

# Desired state and the 304 path.
nc desired --state "$T_DIR/a" --out "$T_DIR/desired.json" >"$T_DIR/d1"
expect_eq "first poll gets 200" "$(cut -d' ' -f1 "$T_DIR/d1")" 200
ETAG=$(cut -d' ' -f2 "$T_DIR/d1")
expect_eq "desired names the node" \
    "$(jq -r .node_id "$T_DIR/desired.json")" "$A"
expect_eq "desired carries the POP's BGP" \
    "$(jq -r '.pop.bgp.anycast[0].prefix' "$T_DIR/desired.json")" \
    198.51.100.10/32
nc desired --state "$T_DIR/a" --if-none-match "$ETAG" --count 5 \
    >"$T_DIR/d2"
expect_eq "five polls with If-None-Match: all 304" \
    "$(cut -d' ' -f1 "$T_DIR/d2" | sort -u)" 304

# Status reports: written only when they change.
writes() {
	curl -sk --pinnedpubkey "$CP_PIN" "$CP_URL/metrics" |
	    sed -n 's/^edgecp_status_writes_total //p'
}
S_OK='{"versions":{"profile":"","keeper":"0.1.0"},"steps":[{"name":"fwd","state":"in_sync"}],"dataplane":{"healthy":true},"announced":["198.51.100.10/32"],"drained":false}'
w0=$(writes)
expect_eq "a first report is stored" \
    "$(nc status --state "$T_DIR/a" --body "$S_OK")" '200 {"stored":true}'
expect_eq "the same report is not written again" \
    "$(nc status --state "$T_DIR/a" --body "$S_OK")" '200 {"stored":false}'
expect_eq "one disk write for two reports" "$(( $(writes) - w0 ))" 1
expect_api "node after its report" 200 GET "/v1/nodes/$A"
expect_eq "it is active" "$(echo "$LAST" | jq -r .state)" active
expect_eq "it is healthy" "$(echo "$LAST" | jq -r .health)" healthy
expect_eq "its step states are shown" \
    "$(echo "$LAST" | jq -r '.status.steps[0].state')" in_sync
S_ERR='{"versions":{"profile":""},"steps":[{"name":"fwd","state":"error","reason":"sysctl: permission denied"}],"dataplane":{"healthy":true}}'
nc status --state "$T_DIR/a" --body "$S_ERR" >/dev/null
expect_api "a step error" 200 GET "/v1/nodes/$A"
expect_eq "makes it degraded" "$(echo "$LAST" | jq -r .health)" degraded
expect_eq "with the reason" "$(echo "$LAST" | jq -r '.status.steps[0].reason')" \
    "sysctl: permission denied"
expect_eq "a bad report is refused" \
    "$(nc status --state "$T_DIR/a" --body '{"steps":[{"name":"x","state":"bogus"}]}' | cut -d' ' -f1)" 400

# Attacks on request authentication.
check "a replayed request is refused" nc replay --state "$T_DIR/a"
check "a tampered body is refused" nc tamper --state "$T_DIR/a"
check "a stale timestamp is refused" nc stale --state "$T_DIR/a"
check "a tag made for another node is refused" \
    nc wrong-node --state "$T_DIR/a" --other-node "$B"
code=$(curl -sk --pinnedpubkey "$CP_PIN" -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $CP_TOKEN" "$CP_URL/v1/node/desired")
expect_eq "an operator token on a node route: 401" "$code" 401
code=$(curl -sk --pinnedpubkey "$CP_PIN" -o /dev/null -w '%{http_code}' \
    -H "Authorization: EdgeNode sid=00000000000000000000000000000000,ctr=1,ts=1,tag=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
    "$CP_URL/v1/nodes")
expect_eq "a node header on an operator route: 401" "$code" 401
code=$(curl -sk --pinnedpubkey "$CP_PIN" -o /dev/null -w '%{http_code}' \
    -H "Authorization: EdgeNode sid=00000000000000000000000000000000,ctr=1,ts=1,tag=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
    "$CP_URL/v1/node/desired?x=1")
expect_eq "a query string on a node route (not covered by the tag): 400" \
    "$code" 400

# Drain changes the desired state (new ETag) and the health.
expect_api "drain" 200 POST "/v1/nodes/$A/drain"
nc desired --state "$T_DIR/a" --if-none-match "$ETAG" --out \
    "$T_DIR/desired2.json" >"$T_DIR/d3"
expect_eq "after drain the old ETag gets 200" "$(cut -d' ' -f1 "$T_DIR/d3")" 200
expect_eq "and drain is set" "$(jq .drain "$T_DIR/desired2.json")" true
expect_api "draining" 200 GET "/v1/nodes/$A"
expect_eq "health is draining" "$(echo "$LAST" | jq -r .health)" draining
nc status --state "$T_DIR/a" --body '{"dataplane":{"healthy":true},"drained":true}' >/dev/null
expect_api "drained" 200 GET "/v1/nodes/$A"
expect_eq "health is drained once withdrawn" "$(echo "$LAST" | jq -r .health)" drained
expect_api "undrain" 200 POST "/v1/nodes/$A/undrain"
nc desired --state "$T_DIR/a" --out "$T_DIR/desired3.json" >/dev/null
expect_eq "undrain clears it" "$(jq .drain "$T_DIR/desired3.json")" false

# An all_at_once profile rollout: every node's target moves; it completes
# when every node reports the version.
expect_api "a profile" 201 PUT /v1/profile \
    '{"steps":[{"name":"fwd","kind":"sysctl","params":{"key":"net.ipv4.ip_forward","value":"1"}}]}'
PV=$(echo "$LAST" | jq .version)
expect_api "roll it out all at once" 201 POST /v1/rollouts \
    "{\"component\":\"profile\",\"version\":\"$PV\",\"strategy\":\"all_at_once\"}"
RID=$(echo "$LAST" | jq .id)
NNODES=$(api GET /v1/nodes | cut -d' ' -f2- | jq '.nodes|length')
expect_eq "it targets every node" "$(echo "$LAST" | jq .progress.nodes)" "$NNODES"
expect_api "a second profile rollout while one runs: 409" 409 POST \
    /v1/rollouts "{\"component\":\"profile\",\"version\":\"$PV\",\"strategy\":\"all_at_once\"}"
nc desired --state "$T_DIR/b" --out "$T_DIR/db.json" >/dev/null
expect_eq "nodes see the new profile" "$(jq .profile.version "$T_DIR/db.json")" "$PV"
expect_eq "with its steps" "$(jq -r '.profile.steps[0].kind' "$T_DIR/db.json")" sysctl
for s in "$T_DIR"/a "$T_DIR"/b "$T_DIR"/c "$T_DIR"/d "$T_DIR"/race*; do
	[ -f "$s" ] && grep -q '^node_id=' "$s" || continue
	# A report of the desired state it has now (its ETag), as a keeper's.
	g=$(nc desired --state "$s" | cut -d' ' -f2)
	nc status --state "$s" --body "$(jq -nc --arg g "$g" --arg v "$PV" \
	    '{generation: $g, versions: {profile: $v}, dataplane: {healthy: true}}')" \
	    >/dev/null
done
done_ro() { api GET "/v1/rollouts/$RID" | grep -q '"state":"completed"'; }
check "the rollout completes when every node reports it" await 10 done_ro
expect_api "fleet versions" 200 GET /v1/fleet
expect_eq "the fleet runs profile $PV" \
    "$(echo "$LAST" | jq ".versions.profile[\"$PV\"]")" "$NNODES"
expect_api "another profile" 201 PUT /v1/profile '{"steps":[]}'
PV2=$(echo "$LAST" | jq .version)
expect_api "roll it out" 201 POST /v1/rollouts \
    "{\"component\":\"profile\",\"version\":\"$PV2\",\"strategy\":\"all_at_once\"}"
RID2=$(echo "$LAST" | jq .id)
expect_api "abort it" 200 POST "/v1/rollouts/$RID2/abort"
expect_eq "it is aborted" "$(echo "$LAST" | jq -r .state)" aborted
nc desired --state "$T_DIR/c" --out "$T_DIR/dc.json" >/dev/null
expect_eq "nodes are back on the previous profile" \
    "$(jq .profile.version "$T_DIR/dc.json")" "$PV"

# Unreachable after three silent intervals (here 1 s each).
unreachable() {
	api GET "/v1/nodes/$C" | cut -d' ' -f2- | jq -e '.health == "unreachable"'
}
nc status --state "$T_DIR/c" --body '{"dataplane":{"healthy":true}}' >/dev/null
check "a silent node becomes unreachable" await 10 unreachable

# Events carry actors.
expect_api "events" 200 GET '/v1/events?limit=1000'
echo "$LAST" | jq -e "[.events[] | select(.action==\"node.enroll\" and
    .actor==\"$A\")] | length == 1" >/dev/null &&
    ok "enrollment is in the audit log with the node as actor" ||
    fail "enrollment is in the audit log with the node as actor"

# A restart drops the sessions; nodes handshake again and go on.
stop_cp TERM
expect_eq "SIGTERM exits 0" "$?" 0
start_cp "$CP_DIR" --node-interval 1 || { fail "restart"; finish; exit 1; }
nc desired --state "$T_DIR/a" >"$T_DIR/d4"
expect_eq "after a restart a node checks in again" \
    "$(cut -d' ' -f1 "$T_DIR/d4")" 200
expect_api "reports survive the restart" 200 GET "/v1/nodes/$B"
expect_eq "b still reports profile $PV" \
    "$(echo "$LAST" | jq -r .versions.profile)" "$PV"

# A node whose clock is far off (no NTP): its first handshake is refused
# as outside the allowed skew, it learns edge-cp's clock from the answer,
# and it goes on.
skew401() { curl -sk --pinnedpubkey "$CP_PIN" "$CP_URL/metrics" | awk \
    '$1 == "edgecp_requests_total{route=\"node_session\",code=\"401\"}" {print $2}'; }
for off in 1000 -1000; do
	k0=$(skew401)
	nc desired --state "$T_DIR/a" --clock-off "$off" >"$T_DIR/skew"
	expect_eq "a node with its clock ${off} s off checks in" \
	    "$(cut -d' ' -f1 "$T_DIR/skew")" 200
	expect_eq "...after one handshake refused for the skew" \
	    "$(( $(skew401) - ${k0:-0} ))" 1
done

# Removing a node revokes it at once.
expect_api "remove node a" 200 DELETE "/v1/nodes/$A"
check "the removed node is refused" fails nc desired --state "$T_DIR/a"
expect_api "it is gone" 404 GET "/v1/nodes/$A"
finish
