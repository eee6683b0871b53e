#!/bin/sh
# rollout_convergence (SPEC §8: 10,000 simulated nodes, ungated: 100 %
# applied within 2 reconcile intervals).  fleetsim with NODES (default
# 10,000) nodes checking in every 5 s; once they have all enrolled and
# reported, a profile rollout: all_at_once first, then default waves with
# bake_s 0 and no per-POP limit (one POP holds every simulated node, so
# the default limit of one node in transition per POP would make it a
# node-by-node rollout, which is what that limit is for).  The time from
# creating each rollout to its completion, in seconds and in intervals.
#
# Prints the figures and writes BUILD/bench/rollout_convergence.json.
# usage: sh tests/bench/rollout_convergence.sh [BUILD]
build=${1:-build}
EF_TOP=$(cd "$(dirname "$0")/../.." && pwd)
EF_BIN="$EF_TOP/$build/bin"
. "$EF_TOP/tests/integration/lib.sh"
. "$EF_TOP/tests/bench/lib_fleet.sh"
nodes=${NODES:-10000}
bench_start rollout_convergence
fleet_up "$nodes" 600 ||
    { echo "rollout_convergence: nodes not healthy"; exit 1; }

# converge BODY: create the rollout, wait for completed; prints seconds.
converge() {
	pv=$(apij PUT /v1/profile '{"steps":[]}' | jq .version)
	t0=$(now_ms)
	id=$(apij POST /v1/rollouts "$(echo "$1" | sed "s/PV/$pv/")" | jq .id)
	done_ro() { [ "$(apij GET "/v1/rollouts/$id" | jq -r .state)" = completed ]; }
	await 300 done_ro || { echo -1; return; }
	echo $(( $(now_ms) - t0 ))
}
a=$(converge '{"component":"profile","version":"PV","strategy":"all_at_once"}')
w=$(converge '{"component":"profile","version":"PV","bake_s":0,"min_reports":1,"max_unavailable_per_pop":0,"pop_min_healthy":0}')
kill "$FSP"
ai=$(echo "$a" | awk '{printf "%.2f", $1 / 5000}')
wi=$(echo "$w" | awk '{printf "%.2f", $1 / 5000}')
echo "rollout_convergence: $nodes simulated nodes at 5 s: all_at_once 100 % applied in $a ms ($ai intervals; target <= 2); default waves, bake_s 0: $w ms ($wi intervals)"
cat >"$out/rollout_convergence.json" <<JSON
{"bench":"rollout_convergence","nodes":$nodes,"interval_s":5,"all_at_once_ms":$a,"all_at_once_intervals":$ai,"waves_bake0_ms":$w,"waves_bake0_intervals":$wi}
JSON
