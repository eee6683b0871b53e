#!/bin/sh
# The fleet simulator (tests/fleetsim) against a real edge-cp: 2,000
# simulated keepers enroll with tokens it makes itself and check in every
# second; an all_at_once profile rollout completes on them while they run;
# with --fail-rate 1 the same rollout does not, and the nodes show the
# failed step.  Each scenario gets a fresh edge-cp, so that the nodes of an
# earlier run (gone, hence unreachable) cannot hold a rollout back.
#
# fleetsim pools 32 connections by default; edge-cp's per-ip limit is
# raised above that so the test's own curl calls always get through.  Its
# nodes all enroll from one address, a fleet behind one NAT: edge-cp's
# limit on enrollments per address is off (--unauth-rate 0).
. "$(dirname "$0")/lib.sh"
setup fleetsim
FS="$EF_BIN/fleetsim"
N=2000
# Under the sanitizers (make check-asan) every check-in costs several
# times more on both sides: a smaller fleet checks the same paths.
case $BUILD in *asan*) N=500 ;; esac
POP=sim1
PROFILE='{"steps":[{"name":"s","kind":"sysctl","params":{"key":"net.ipv4.ip_forward","value":"1"}}]}'
FS_PID=

fresh_cp() { # fresh_cp NAME: a new edge-cp with POP $POP
	if [ -n "${CP_PID:-}" ]; then
		stop_cp TERM
	fi
	start_cp "$T_DIR/$1" --node-interval 1 --per-ip-limit 256 \
	    --unauth-rate 0 ||
	    return 1
	expect_api "$1: create POP $POP" 201 POST /v1/pops \
	    "{\"name\":\"$POP\",\"region\":\"eu\"}"
}

# The summary line: the last line fleetsim writes on stdout.
field() { tail -n 1 "$T_DIR/$1.json" | jq -r ".$2"; }

nodes_of_pop() {
	api GET "/v1/nodes?pop=$POP" | cut -d' ' -f2- | jq '.nodes|length'
}
all_enrolled() { [ "$(nodes_of_pop)" = "$N" ]; }

# fs_start NAME ARGS...: fleetsim in the background; FS_PID.
fs_start() {
	_name=$1
	shift
	# The binary itself in the background, so FS_PID is its pid.
	"$FS" --server "$CP_URL" --pin "$CP_PIN" --token "$CP_TOKEN" \
	    --pop "$POP" --nodes "$N" --interval 1 "$@" -o json \
	    >"$T_DIR/$_name.json" 2>"$T_DIR/$_name.log" &
	FS_PID=$!
	T_PIDS="$T_PIDS $FS_PID"
}

# fs_wait NAME: its exit status, checked, and its summary.
fs_wait() {
	wait "$FS_PID"
	_rc=$?
	T_PIDS=$(echo "$T_PIDS" | sed "s/ $FS_PID\b//")
	FS_PID=
	expect_eq "$1: fleetsim exits 0" "$_rc" 0
	[ "$_rc" -eq 0 ] || sed 's/^/#   /' "$T_DIR/$1.log" | tail -n 5
	expect_eq "$1: every node enrolled" "$(field "$1" enrolled)" "$N"
	expect_eq "$1: no errors" "$(field "$1" errors)" 0
	echo "# $1: $(tail -n 1 "$T_DIR/$1.json")"
}

rollout() { # rollout: a one-step profile, rolled out all at once; RID
	expect_api "$1: a profile with one sysctl step" 201 PUT /v1/profile \
	    "$PROFILE"
	PV=$(echo "$LAST" | jq .version)
	expect_api "$1: an all_at_once rollout of it" 201 POST /v1/rollouts \
	    "{\"component\":\"profile\",\"version\":\"$PV\",\"strategy\":\"all_at_once\"}"
	RID=$(echo "$LAST" | jq .id)
}
ro_state() { api GET "/v1/rollouts/$RID" | cut -d' ' -f2- | jq -r .state; }
ro_completed() { [ "$(ro_state)" = completed ]; }

# 1. Enrollment and check-ins, in the foreground.
fresh_cp plain || { fail "edge-cp starts"; finish; exit 1; }
fs_start plain --duration 5
fs_wait plain
check "plain: more check-ins than nodes" \
    [ "$(field plain checkins)" -gt "$N" ]
expect_eq "plain: edge-cp lists $N nodes in POP $POP" "$(nodes_of_pop)" "$N"

# 2. A rollout completes on the simulated fleet while it runs.
fresh_cp rollout || { fail "edge-cp starts"; finish; exit 1; }
# A long run, ended once the rollout is done: slow builds (sanitizers)
# get time, fast ones do not wait for it.
fs_start rollout --duration 90
check "rollout: $N nodes enroll" await 30 all_enrolled
rollout rollout
if await 120 ro_completed; then
	ok "rollout: it completes on every simulated node"
else
	fail "rollout: it completes on every simulated node"
	api GET "/v1/rollouts/$RID" | cut -d' ' -f2- | jq -c '[.state, .reason,
	    .progress.nodes, .progress.moved, .progress.applied,
	    (.wave_list[0].node_list[:3] | map([.id, .waiting_for]))]' |
	    sed 's/^/# /'
fi
check "rollout: ...while fleetsim still runs" kill -0 "$FS_PID"
kill -TERM "$FS_PID" # it stops early, with its summary
fs_wait rollout

# 3. With every apply failing, it does not; the nodes show the step.
fresh_cp failing || { fail "edge-cp starts"; finish; exit 1; }
fs_start failing --duration 10 --fail-rate 1 --seed 7
check "failing: $N nodes enroll" await 30 all_enrolled
rollout failing
ONE=$(api GET "/v1/nodes?pop=$POP" | cut -d' ' -f2- | jq -r '.nodes[0].id')
step_error() {
	api GET "/v1/nodes/$ONE" | cut -d' ' -f2- |
	    jq -e '.status.steps[0] | .name == "s" and .state == "error" and
		.reason == "simulated failure"'
}
check "failing: a node reports its step in error" await 10 step_error
degraded() {
	[ "$(api GET "/v1/nodes?pop=$POP" | cut -d' ' -f2- |
	    jq '[.nodes[] | select(.health == "degraded")] | length')" = "$N" ]
}
check "failing: every node is degraded" await 10 degraded
expect_eq "failing: ...and still reports the old profile" \
    "$(api GET "/v1/nodes/$ONE" | cut -d' ' -f2- | jq -r .versions.profile)" ""
check "failing: the rollout has not completed" \
    [ "$(ro_state)" != completed ]
fs_wait failing
check "failing: the rollout still has not completed" \
    [ "$(ro_state)" != completed ]

finish
