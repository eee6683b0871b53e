#!/bin/sh
# Restarting the keeper never withdraws the anycast route: the test bed of
# bgp.sh (lib_bgp.sh: a router namespace running BIRD, a node with BIRD,
# edge-dp and the keeper).  While the node announces its prefix the
# keeper is stopped (SIGTERM) and started again, then killed (SIGKILL to
# its privileged part) and started again.  A watcher polls the route at
# the router all along (bounded in count and time), and the router's BGP
# counters must show no withdrawal and the session no reset.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_bgp.sh"

command -v bird >/dev/null || { echo "ok 1 - bgp_restart # SKIP no bird"; exit 0; }
setup_ns bgp_restart efbr
KEEPER=$(keeper_cmd "$KEEPER")
bgp_bed_up || { finish; exit 1; }
start_dp || fail "edge-dp starts"
bgp_cp_up || { finish; exit 1; }
bgp_node_up '{"probe":"http://127.0.0.1:8080/healthz","min_down_ms":2000}'
bgp_keeper_up
if ! await 30 has_route; then
	fail "the router learns the anycast route"
	finish
	exit 1
fi
ok "the router learns the anycast route"
node_json() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2-; }
reported() { node_json | jq -e "$1" >/dev/null; }
check "the node reports the prefix it announces" await 15 reported \
    ".announced == [\"$ANY/32\"]"
# "Import withdraws:" in BIRD's route change statistics: received.
withdraws() { rbirdc show protocols all node1 |
    awk '/Import withdraws:/ { print $3; exit }'; }
W0=$(withdraws)
S0=$(since)
check "the router's withdrawal counter reads ($W0)" test -n "$W0"

# The watcher: the route at the router every 100 ms, at most 600 times
# (a minute), until the stop file; one line per look.
(
	i=0
	while [ ! -e "$T_DIR/watch.stop" ] && [ $i -lt 600 ]; do
		if has_route; then echo up; else echo DOWN; fi
		sleep 0.1
		i=$((i + 1))
	done
) >"$T_DIR/watch" 2>&1 &
WATCH=$!
T_PIDS="$T_PIDS $WATCH"

# The restarted keeper (its n-th start in the log) is up: its metrics say
# it reaches edge-cp and its gate announces the prefix.
up_again() {
	[ "$(grep -c event=started "$T_DIR/keeper.log")" -ge "$1" ] &&
	    in_ns curl -sf http://127.0.0.1:9464/metrics >"$T_DIR/metrics" &&
	    grep -q '^edgekeeper_cp_reachable 1' "$T_DIR/metrics" &&
	    grep -q "^edgekeeper_anycast_announced{prefix=\"$ANY/32\"} 1" \
		"$T_DIR/metrics"
}
STARTS=1
looks() { wc -l <"$T_DIR/watch"; }
looked() { [ "$(looks)" -ge "$1" ]; }
restart() { # SIGNAL
	kc=$(cat /proc/"$KP"/task/*/children 2>/dev/null)
	kill "-$1" "$KP"
	wait "$KP" 2>/dev/null
	all_gone() {
		for c in $kc; do
			st=$(sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' \
			    "/proc/$c/status" 2>/dev/null)
			[ -n "$st" ] && [ "$st" != Z ] && return 1
		done
		return 0
	}
	check "SIG$1: its unprivileged part ($kc) goes with it" await 10 all_gone
	# The keeper stays away while the watcher looks 20 more times.
	check "SIG$1: the watcher looks on while no keeper runs" \
	    await 30 looked $(($(looks) + 20))
	check "SIG$1: the address stays on lo with the keeper gone" \
	    sh -c "ip netns exec '$NS' ip -4 addr show dev lo | grep -q '$ANY'"
	ip netns exec "$NS" "$KEEPER" --root "$R" run >>"$T_DIR/keeper.log" 2>&1 &
	KP=$!
	T_PIDS="$T_PIDS $KP"
	STARTS=$((STARTS + 1))
	check "SIG$1: the restarted keeper reaches edge-cp, announcing" \
	    await 30 up_again "$STARTS"
}
restart TERM
restart KILL
: >"$T_DIR/watch.stop"
wait "$WATCH"
n=$(looks)
check "the watcher looked at the route throughout ($n times)" test "$n" -gt 40
expect_eq "...and never found it gone" "$(grep -c DOWN "$T_DIR/watch")" 0
expect_eq "the router counted no withdrawal" "$(withdraws)" "$W0"
expect_eq "...and the session never reset" "$(since)" "$S0"
grep -q 'event=gate_adopted state=announced' "$T_DIR/keeper.log"
expect_eq "the restarted keepers adopted the announced state" "$?" 0
# The control: a withdrawal is counted (edge-dp killed, the gate withdraws).
kill -9 "$DPP"
wait "$DPP" 2>/dev/null
check "killing edge-dp withdraws the route" await 15 no_route
counted() { [ "$(withdraws)" -gt "$W0" ]; }
check "...and the router counts that withdrawal" await 5 counted
kill "$KP"
wait "$KP"
expect_eq "the keeper stops cleanly" "$?" 0
finish
