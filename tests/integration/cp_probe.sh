#!/bin/sh
# edge-cp's own probe of a node's dataplane (threat T15), all real
# processes: two nodes played by nodeclient (real enrollment, sessions and
# signed reports), each in its own network namespace linked to edge-cp on
# the host, node a in POP pa and node b in POP pb, both always reporting a
# healthy dataplane.  Rollouts of the profile go POP by POP (a first).
#   - without "probe" (the default) a fleet where nothing answers on any
#     node passes, as before;
#   - with it, node a, where nothing answers, halts its wave with a reason
#     naming the node, its address and "connection refused", and node b
#     is never moved;
#   - with a real edge-dp answering on both, the same rollout passes;
#   - a path edge-dp answers 404, and an edge-dp that accepts but never
#     answers (stopped), halt with the status and with a timeout;
#   - GET /v1/nodes/{id} shows the address the node is probed at and the
#     newest probe; /metrics counts the probes by result.
. "$(dirname "$0")/lib.sh"
DP="$EF_BIN/edge-dp"
HOST_A=203.0.113.153
NODE_A=203.0.113.154
HOST_B=203.0.113.157
NODE_B=203.0.113.158
PORT=8080
setup_ns cp_probe efpr
NSA=$NS
NSB="${NS}b"
cleanup_extra() {
	if [ "$T_FAILED" -gt 0 ] && [ -f "$T_DIR/cp/cp.log" ]; then
		echo "# --- cp.log"
		grep -v 'event=request' "$T_DIR/cp/cp.log" | tail -n 30 |
		    sed 's/^/#   /'
	fi
	# A stopped edge-dp is killed by cleanup (its pid is ours).
	ip netns delete "$NSB" 2>/dev/null
	ip link delete "${NSB}h" 2>/dev/null
}
ip netns add "$NSB" || { fail "namespace b"; finish; exit 1; }
node_link "$NSA" "$HOST_A" "$NODE_A" || { fail "link a"; finish; exit 1; }
node_link "$NSB" "$HOST_B" "$NODE_B" || { fail "link b"; finish; exit 1; }
# Node b reaches edge-cp (on link a's host end) through its own link.
ip -n "$NSA" route add default via "$HOST_A" &&
    ip -n "$NSB" route add default via "$HOST_B" ||
    { fail "routes"; finish; exit 1; }
CP_LISTEN="$HOST_A:0" start_cp "$T_DIR/cp" --node-interval 1 ||
    { fail "edge-cp starts"; finish; exit 1; }

ns_of() { echo "${NS}$(echo "$1" | sed 's/^a$//')"; } # node a's or b's
# on NODE CMD...: run CMD in the node's namespace.
on() {
	_n=$1
	shift
	ip netns exec "$(ns_of "$_n")" "$@"
}
# nc NODE CMD ARGS: nodeclient as node a or b.
nc() {
	_n=$1
	shift
	on "$_n" "$NC" "$@" --server "$CP_URL" --pin "$CP_PIN"
}
# dp_start NODE ADDR: edge-dp on ADDR:PORT in the node's namespace; DP_PID
# is edge-dp's own pid (ip netns exec execs it), for kill -STOP.
dp_start() {
	ip netns exec "$(ns_of "$1")" "$DP" --listen "$2:$PORT" --control "$T_DIR/dp$1" --workers 1 \
	    >>"$T_DIR/dp$1.log" 2>&1 &
	DP_PID=$!
	T_PIDS="$T_PIDS $DP_PID"
	await 10 "$DP" --control "$T_DIR/dp$1" --status >/dev/null ||
	    fail "edge-dp starts on node $1"
}
expect_api "POP pa" 201 POST /v1/pops '{"name":"pa","region":"eu"}'
expect_api "POP pb" 201 POST /v1/pops '{"name":"pb","region":"eu"}'
for n in a b; do
	T=$(api POST /v1/enrollment-tokens "{\"pop\":\"p$n\"}" |
	    cut -d' ' -f2- | jq -r .token)
	nc "$n" enroll --token "$T" --state "$T_DIR/$n" --hostname "$n" \
	    >/dev/null
done
check "two nodes enrolled, each from its namespace" test -s "$T_DIR/b"
ID_A=$(sed -n 's/^node_id=//p' "$T_DIR/a")
ID_B=$(sed -n 's/^node_id=//p' "$T_DIR/b")

# Node $1 fetches its desired state and reports the profile it names
# applied, every step in sync and its dataplane healthy -- whatever is
# true -- then checks in once more.
say() {
	g=$(nc "$1" desired --state "$T_DIR/$1" --out "$T_DIR/$1.d" |
	    cut -d' ' -f2)
	v=$(jq -r .profile.version "$T_DIR/$1.d")
	nc "$1" status --state "$T_DIR/$1" --body "$(jq -nc --arg g "$g" \
	    --arg v "$v" '{generation: $g, versions: {profile: $v},
	    steps: [{name: "s", state: "in_sync"}],
	    dataplane: {healthy: true}}')" >/dev/null
	nc "$1" desired --state "$T_DIR/$1" >/dev/null
}
ro_state() { api GET "/v1/rollouts/$1" | cut -d' ' -f2- | jq -r .state; }
# converge ROLLOUT STATE: both nodes report until the rollout is in STATE.
converge() { say a; say b; [ "$(ro_state "$1")" = "$2" ]; }
version_of() { # the profile version node $1's desired state names
	nc "$1" desired --state "$T_DIR/$1" --out "$T_DIR/$1.d" >/dev/null
	jq -r .profile.version "$T_DIR/$1.d"
}
# rollout VERSION [PROBE_JSON [MORE_JSON]]: a new profile, rolled out POP
# by POP (MORE_JSON: other parameters).
rollout() {
	api PUT /v1/profile '{"steps":[]}' >/dev/null
	expect_api "roll out profile $1${2:+ with probe $2}" 201 POST \
	    /v1/rollouts "$(jq -nc --arg v "$1" --argjson p "${2:-null}" \
	    --argjson m "${3:-{\}}" \
	    '{component: "profile", version: $v, bake_s: 1, min_reports: 1,
	    unhealthy_s: 1, waves: [{pop: "pa"}, {pop: "pb"}]}
	    + (if $p == null then {} else {probe: $p} end) + $m')"
	RO=$(echo "$LAST" | jq .id)
}
reason() { api GET "/v1/rollouts/$1" | cut -d' ' -f2- | jq -r .reason; }
node() { api GET "/v1/nodes/$1" | cut -d' ' -f2-; }
has() { echo "$1" | grep -q -- "$2"; } # has TEXT PATTERN
metric() { # metric NAME_AND_LABELS: its value
	api GET /metrics >/dev/null
	grep -v '^#' "$T_DIR/resp" | grep -F "$1 " | cut -d' ' -f2
}

# Nothing answers on either node.  Without a probe, as before: passes.
rollout 1
check "without a probe, a rollout passes on the nodes' word" \
    await 30 converge "$RO" completed
expect_eq "a node's address is where its signed requests come from" \
    "$(node "$ID_A" | jq -r .address)" "$NODE_A"
expect_eq "...no probe was made" "$(node "$ID_A" | jq -r .probe)" null
expect_eq "...by the rollout without one" \
    "$(metric 'edgecp_probes_total{result="refused"}')" 0

expect_api "a probe port out of range is refused" 400 POST /v1/rollouts \
    '{"component":"profile","version":"1","probe":{"port":0}}'
expect_api "...so is a path that is not a path" 400 POST /v1/rollouts \
    '{"component":"profile","version":"1","probe":{"port":80,"path":"x y"}}'
expect_api "...and an address the probe could be sent to" 400 POST \
    /v1/rollouts '{"component":"profile","version":"1","probe":{"port":80,"host":"192.0.2.1"}}'

# edge-dp answers on node b only; node a says it is healthy.
dp_start b "$NODE_B"
rollout 2 "{\"port\":$PORT}"
check "a node whose dataplane does not answer halts the rollout" \
    await 30 converge "$RO" halted
R=$(reason "$RO")
echo "# reason: $R"
check "...the reason names the node, its address and the failure" has "$R" \
    "node $ID_A .*probe of http://$NODE_A:$PORT/healthz failed for [0-9]* s: connection refused"
expect_eq "...the next POP was not moved" "$(version_of b)" 1
expect_eq "GET /v1/nodes shows the failed probe" \
    "$(node "$ID_A" | jq -r '[.probe.ok, .probe.error] | join(" ")')" \
    "false connection refused"
check "/metrics counts refused probes" \
    test "$(metric 'edgecp_probes_total{result="refused"}')" -ge 1
api POST "/v1/rollouts/$RO/abort" >/dev/null
expect_eq "abort puts node a back" "$(version_of a)" 1

# Now edge-dp answers on node a too: the same rollout passes.
dp_start a "$NODE_A"
DPA=$DP_PID
rollout 3 "{\"port\":$PORT}"
check "with every dataplane answering, the probed rollout completes" \
    await 40 converge "$RO" completed
expect_eq "...both nodes moved" "$(version_of a) $(version_of b)" "3 3"
api GET "/v1/events?limit=1000" | cut -d' ' -f2- >"$T_DIR/ev"
check "...each wave's evidence counts the probed nodes" sh -c \
    "[ \"\$(jq '[.events[] | select(.action == \"rollout.wave_passed\" and .object == \"rollout/$RO\" and .detail.probed == 1)] | length' '$T_DIR/ev')\" = 2 ]"
expect_eq "GET /v1/nodes shows node b's probe answered 200" \
    "$(node "$ID_B" | jq -r '[.probe.ok, .probe.status, .probe.url] | join(" ")')" \
    "true 200 http://$NODE_B:$PORT/healthz"
check "/metrics counts good probes" \
    test "$(metric 'edgecp_probes_total{result="ok"}')" -ge 2

rollout 4 "{\"port\":$PORT,\"path\":\"/nope\"}"
check "a probe answered 404 halts" await 30 converge "$RO" halted
R=$(reason "$RO")
echo "# reason: $R"
check "...saying so" has "$R" "failed for [0-9]* s: status 404"
api POST "/v1/rollouts/$RO/abort" >/dev/null

# A dataplane that accepts connections and never answers (stopped).
kill -STOP "$DPA"
rollout 5 "{\"port\":$PORT,\"timeout_s\":1}"
check "a dataplane that never answers halts, by timeout" \
    await 40 converge "$RO" halted
R=$(reason "$RO")
echo "# reason: $R"
check "...the reason says timeout" has "$R" "s: timeout after 1 s"
check "...and edge-cp answered throughout" curl -sfk -o /dev/null "$CP_URL/healthz"
api POST "/v1/rollouts/$RO/abort" >/dev/null

# A failure within a long grace: the wave waits, says why, and the
# deadline halts it with the probe's words.
kill -9 "$DPA"
rollout 6 "{\"port\":$PORT}" '{"unhealthy_s":3600,"deadline_s":10}'
waits_refused() {
	say a
	api GET "/v1/rollouts/$RO" | cut -d' ' -f2- | jq -r \
	    '.wave_list[0].node_list[0].waiting_for' | grep -q 'connection refused'
}
check "a failing probe within unhealthy_s: the view says what it waits for" \
    await 30 waits_refused
check "...and it does not halt before the deadline, which does" \
    await 40 converge "$RO" halted
R=$(reason "$RO")
echo "# reason: $R"
check "...naming the probe's failure" has "$R" \
    "did not pass within 10 s: 0 of 1 nodes ready; $ID_A: edge-cp's probe of .* connection refused"
api POST "/v1/rollouts/$RO/abort" >/dev/null

# The CLI says the same.
cli() { "$CP" --server "$CP_URL" --token "$CP_TOKEN" "$@"; }
export EDGE_CP_PIN="$CP_PIN"
api PUT /v1/profile '{"steps":[]}' >/dev/null
cli rollout create profile 7 --probe-port "$PORT" --probe-path /up \
    --probe-timeout-s 2 -o json >"$T_DIR/r7" 2>&1
expect_eq "rollout create --probe-port --probe-path --probe-timeout-s" \
    "$(jq -c .params.probe "$T_DIR/r7")" "{\"path\":\"/up\",\"port\":$PORT,\"timeout_s\":2}"
api POST "/v1/rollouts/$(jq .id "$T_DIR/r7")/abort" >/dev/null
check "...a probe port out of range is refused" sh -c \
    "! '$CP' --server '$CP_URL' --token '$CP_TOKEN' rollout create profile 7 --probe-port 70000 >/dev/null 2>&1"
check "...and a probe path without a port is a usage error" sh -c \
    "! '$CP' --server '$CP_URL' --token '$CP_TOKEN' rollout create profile 7 --probe-path /x >/dev/null 2>&1"

# (Under ASan, a leak in the probe thread would show in the status.)
stop_cp TERM
expect_eq "edge-cp stops cleanly after its probes" "$?" 0
finish
