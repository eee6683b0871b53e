#!/bin/sh
# The wave engine through the API and the CLI, with nodes played by
# nodeclient (real enrollment, sessions and signed reports): the plan
# (dry run), a canary that must report and check in before the next wave
# moves, pause and resume, a halt on a step error that names the node,
# abort, approval and promote, the freeze, and an edge-cp restart in the
# middle of a rollout.  Real keepers and dataplanes are in keeper_dp.
. "$(dirname "$0")/lib.sh"
setup cp_rollout
start_cp "$T_DIR/cp" --node-interval 1 || { fail "edge-cp starts"; finish; exit 1; }
nc() { _c=$1; shift; "$NC" "$_c" --server "$CP_URL" --pin "$CP_PIN" "$@"; }
cli() { "$CP" --server "$CP_URL" --token "$CP_TOKEN" "$@"; }
export EDGE_CP_PIN="$CP_PIN"

expect_api "POP p1" 201 POST /v1/pops '{"name":"p1","region":"eu"}'
expect_api "POP p2" 201 POST /v1/pops '{"name":"p2","region":"us"}'
NODES=""
for p in p1 p1 p2 p2; do
	T=$(api POST /v1/enrollment-tokens "{\"pop\":\"$p\"}" | cut -d' ' -f2- | jq -r .token)
	i=$(( $(echo "$NODES" | wc -w) + 1 ))
	nc enroll --token "$T" --state "$T_DIR/n$i" --hostname "n$i" >/dev/null
	NODES="$NODES n$i"
done
check "four nodes enrolled" test -s "$T_DIR/n4"

# Node $1 reports profile $2 with its step in state $3, of the desired
# state it fetched last (its ETag is the report's generation), and checks
# in once more.
say() {
	g=$(nc desired --state "$T_DIR/$1" --out "$T_DIR/$1.d" | cut -d' ' -f2)
	nc status --state "$T_DIR/$1" --body "$(jq -nc --arg g "$g" \
	    --arg v "$2" --arg s "$3" '{generation: $g, versions: {profile: $v},
	    steps: [{name: "s", state: $s}], dataplane: {healthy: true}}')" \
	    >/dev/null
	nc desired --state "$T_DIR/$1" >/dev/null
}
# Every node reports profile $1 healthy.
report_all() {
	for n in $NODES; do say "$n" "$1" in_sync; done
}
# Nodes that the desired state moved to $1 report it (with their step in
# state $3, default in_sync); the others report $2.
converge() {
	for n in $NODES; do
		nc desired --state "$T_DIR/$n" --out "$T_DIR/$n.d" >/dev/null
		if [ "$(jq -r .profile.version "$T_DIR/$n.d")" = "$1" ]; then
			say "$n" "$1" "${3:-in_sync}"
		else
			say "$n" "$2" in_sync
		fi
	done
}
moved() { # how many nodes' desired state has profile $1
	c=0
	for n in $NODES; do
		nc desired --state "$T_DIR/$n" --out "$T_DIR/$n.d" >/dev/null
		[ "$(jq -r .profile.version "$T_DIR/$n.d")" = "$1" ] && c=$((c + 1))
	done
	echo $c
}
ro_state() { api GET "/v1/rollouts/$1" | cut -d' ' -f2- | jq -r .state; }
state_is() { [ "$(ro_state "$1")" = "$2" ]; }

expect_api "profile 1" 201 PUT /v1/profile '{"steps":[]}'
expect_api "profile 1 everywhere, all at once" 201 POST /v1/rollouts \
    '{"component":"profile","version":"1","strategy":"all_at_once"}'
R1=$(echo "$LAST" | jq .id)
report_all 1
check "...completes" await 10 state_is "$R1" completed
expect_api "profile 2" 201 PUT /v1/profile '{"steps":[]}'

# The plan, before anything moves.
cli rollout plan profile 2 >"$T_DIR/plan" 2>&1
expect_eq "rollout plan prints the waves" "$?" 0
check "...a canary of one node" grep -q '^1 *canary *1 ' "$T_DIR/plan"
check "...then the rest of its POP" grep -q '^2 *pop p1 *1 ' "$T_DIR/plan"
expect_api "a dry run stores nothing" 200 POST /v1/rollouts \
    '{"component":"profile","version":"2","dry_run":true}'
expect_eq "...its waves" "$(echo "$LAST" | jq '[.waves[].count]|add')" 4
expect_api "no rollout was created" 200 GET /v1/rollouts
expect_eq "...by the dry run" "$(echo "$LAST" | jq '.rollouts|length')" 1
expect_api "a wave naming a POP with no node" 400 POST /v1/rollouts \
    '{"component":"profile","version":"2","waves":[{"pop":"nowhere"}]}'

# Waves with a short bake and two fresh reports.
cli rollout create profile 2 --bake-s 1 --min-reports 2 -o json >"$T_DIR/r2"
R2=$(jq .id "$T_DIR/r2")
expect_eq "rollout create makes a wave rollout" "$(jq -r .strategy "$T_DIR/r2")" waves
expect_eq "...and moves the canary at once" "$(moved 2)" 1
T=$(api POST /v1/enrollment-tokens '{"pop":"p2"}' | cut -d' ' -f2- | jq -r .token)
nc enroll --token "$T" --state "$T_DIR/late" --hostname late >/dev/null
nc desired --state "$T_DIR/late" --out "$T_DIR/late.d" >/dev/null
expect_eq "a node enrolling during the rollout gets the baseline" \
    "$(jq -r .profile.version "$T_DIR/late.d")" 1
converge 2 1
expect_eq "one report is not enough: the canary's wave holds" "$(moved 2)" 1
cli rollout pause "$R2" >/dev/null
check "pause" state_is "$R2" paused
converge 2 1
converge 2 1
sleep 2
expect_eq "a paused rollout moves nothing" "$(moved 2)" 1
cli rollout resume "$R2" >/dev/null
check "resume" state_is "$R2" running
two_moved() { [ "$(moved 2)" -ge 2 ]; converge 2 1; [ "$(moved 2)" -ge 2 ]; }
check "with fresh reports and the bake done, the next wave moves" await 20 two_moved
api GET "/v1/events?limit=1000" | cut -d' ' -f2- >"$T_DIR/ev"
check "the wave's verdict is an event with its evidence" sh -c \
    "jq -e '.events[] | select(.action == \"rollout.wave_passed\" and .detail.wave == 1 and .detail.min_fresh_reports >= 2)' '$T_DIR/ev' >/dev/null"

# edge-cp restarts mid-rollout and goes on where it was.
W=$(api GET "/v1/rollouts/$R2" | cut -d' ' -f2- | jq .wave)
stop_cp TERM
start_cp "$T_DIR/cp" --node-interval 1 || fail "edge-cp restarts"
expect_eq "after a restart the rollout is at the same wave" \
    "$(api GET "/v1/rollouts/$R2" | cut -d' ' -f2- | jq .wave)" "$W"
done2() { converge 2 1; state_is "$R2" completed; }
check "...and completes" await 40 done2

# A step in error at the canary halts, naming the node.
expect_api "profile 3" 201 PUT /v1/profile '{"steps":[]}'
expect_api "roll out 3" 201 POST /v1/rollouts \
    '{"component":"profile","version":"3","bake_s":0}'
R3=$(echo "$LAST" | jq .id)
halted3() { converge 3 2 error; state_is "$R3" halted; }
check "a step error at the canary halts the rollout" await 10 halted3
REASON=$(api GET "/v1/rollouts/$R3" | cut -d' ' -f2- | jq -r .reason)
check "...and says which node and why" sh -c \
    "echo '$REASON' | grep -q 'node n-.*a step is in error'"
expect_eq "...nothing else moved" "$(moved 3)" 1
cli rollout abort "$R3" >/dev/null
check "abort" state_is "$R3" aborted
expect_eq "...puts the canary back" "$(moved 3)" 0

# Approval between waves, and the freeze.
expect_api "roll out 3 with approval" 201 POST /v1/rollouts \
    '{"component":"profile","version":"3","bake_s":0,"min_reports":1,"approval":true}'
R4=$(echo "$LAST" | jq .id)
waiting() { converge 3 2; state_is "$R4" approval; }
check "after the canary it waits for approval" await 10 waiting
expect_eq "...with the next wave not moved" "$(moved 3)" 1
cli freeze on >/dev/null
expect_eq "the fleet view says frozen" \
    "$(api GET /v1/fleet | cut -d' ' -f2- | jq .frozen)" true
expect_eq "...and the freeze is an event of its own" \
    "$(api GET "/v1/events?kind=freeze" | cut -d' ' -f2- |
        jq -r '.events[-1] | .action + " " + .actor')" "freeze.on admin"
cli rollout promote "$R4" >/dev/null
check "promote" state_is "$R4" running
sleep 2
expect_eq "a frozen fleet moves nothing" "$(moved 3)" 1
cli freeze off >/dev/null
expect_eq "unfrozen" "$(api GET /v1/fleet | cut -d' ' -f2- | jq .frozen)" false
more3() { [ "$(moved 3)" -ge 2 ]; }
check "...the next wave moves" await 10 more3
finish
