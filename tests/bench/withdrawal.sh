#!/bin/sh
# Withdrawal (SPEC §8: <= 1.5 s): the time from edge-dp being killed to
# the anycast route being gone at the BGP peer, over RUNS runs (default
# 20), with the keeper's defaults (probe every 250 ms, fall 3).  The
# test bed is tests/integration/lib_bgp.sh: real BIRD in a node and a
# router namespace.  Each run: route present at the router, SIGKILL to
# edge-dp, poll the router's BIRD until the route is gone (10 ms steps,
# at most 10 s), start edge-dp again, wait for the route.
#
# Prints the figures and writes BUILD/bench/withdrawal.json.
# usage: sh tests/bench/withdrawal.sh [BUILD]
build=${1:-build}
EF_TOP=$(cd "$(dirname "$0")/../.." && pwd)
EF_BIN="$EF_TOP/$build/bin"
. "$EF_TOP/tests/integration/lib.sh"
. "$EF_TOP/tests/integration/lib_bgp.sh"
runs=${RUNS:-20}
out="$EF_TOP/$build/bench"
mkdir -p "$out"

command -v bird >/dev/null || { echo "withdrawal: needs bird (make deps)"; exit 1; }
setup_ns withdrawal efw
bgp_bed_up >/dev/null || { echo "withdrawal: test bed failed"; exit 1; }
start_dp || { echo "withdrawal: edge-dp did not start"; exit 1; }
bgp_cp_up >/dev/null || { echo "withdrawal: edge-cp did not start"; exit 1; }
# min_down_ms 500 only so the runs come back quickly; the withdrawal
# path (interval, timeout, fall) is the default one.
bgp_node_up '{"probe":"http://127.0.0.1:8080/healthz","min_down_ms":500}' \
    >/dev/null
bgp_keeper_up
await 30 has_route || { echo "withdrawal: the route never came"; T_FAILED=1; exit 1; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
: >"$T_DIR/times"
i=0
while [ "$i" -lt "$runs" ]; do
	i=$((i + 1))
	await 20 has_route || { echo "withdrawal: run $i: no route"; T_FAILED=1; exit 1; }
	sleep 0.3
	t0=$(now_ms)
	kill -9 "$DPP"
	wait "$DPP" 2>/dev/null
	n=0
	while ! no_route && [ "$n" -lt 1000 ]; do
		sleep 0.01
		n=$((n + 1))
	done
	t1=$(now_ms)
	[ "$n" -ge 1000 ] && { echo "withdrawal: run $i: route never left"; T_FAILED=1; exit 1; }
	echo $((t1 - t0)) >>"$T_DIR/times"
	start_dp || { echo "withdrawal: edge-dp did not restart"; exit 1; }
done
sort -n "$T_DIR/times" >"$T_DIR/sorted"
median=$(awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}' "$T_DIR/sorted")
max=$(tail -n 1 "$T_DIR/sorted")
min=$(head -n 1 "$T_DIR/sorted")
all=$(paste -sd, "$T_DIR/times")
echo "withdrawal: $runs runs, edge-dp killed -> route gone at the peer: median $median ms, min $min ms, max $max ms (target <= 1500 ms)"
cat >"$out/withdrawal.json" <<JSON
{"bench":"withdrawal","runs":$runs,"median_ms":$median,"min_ms":$min,"max_ms":$max,"target_ms":1500,"times_ms":[$all],"probe_interval_ms":250,"fall":3}
JSON
