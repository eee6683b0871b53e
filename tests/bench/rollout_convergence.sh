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
top=$(cd "$(dirname "$0")/../.." && pwd)
bin="$top/$build/bin"
out="$top/$build/bench"
nodes=${NODES:-10000}
tmp=$(mktemp -d /tmp/ef-rollconv-XXXXXX)
CPP=""
FSP=""
cleanup() {
	[ -n "$FSP" ] && kill "$FSP" 2>/dev/null && wait "$FSP" 2>/dev/null
	[ -n "$CPP" ] && kill "$CPP" 2>/dev/null && wait "$CPP" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$out"
d="$tmp/cp"
mkdir -p "$d"
"$bin/edge-cp" serve --listen 127.0.0.1:0 --data-dir "$d" --node-interval 5 \
    >"$d/log" 2>&1 &
CPP=$!
i=0
until [ -s "$d/server.url" ]; do
	i=$((i + 1)); [ $i -gt 200 ] && { echo "rollout_convergence: edge-cp did not start"; exit 1; }
	sleep 0.1
done
url=$(cat "$d/server.url")
tok=$(cat "$d/admin.token")
api() { curl -sk -H "Authorization: Bearer $tok" -X "$1" ${3:+-d "$3"} "$url$2"; }
api POST /v1/pops '{"name":"p1","region":"r"}' >/dev/null
"$bin/fleetsim" --server "$url" --cert "$d/tls.crt" --token "$tok" \
    --pop p1 --nodes "$nodes" --interval 5 --duration 600 -o json \
    >"$tmp/fs" 2>"$tmp/fs.err" &
FSP=$!
i=0
until [ "$(api GET /v1/fleet | jq '.by_health.healthy // 0')" = "$nodes" ]; do
	i=$((i + 1)); [ $i -gt 1200 ] && { echo "rollout_convergence: nodes not healthy"; exit 1; }
	sleep 0.5
done

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# converge BODY: create the rollout, wait for completed; prints seconds.
converge() {
	pv=$(api PUT /v1/profile '{"steps":[]}' | jq .version)
	t0=$(now_ms)
	id=$(api POST /v1/rollouts "$(echo "$1" | sed "s/PV/$pv/")" | jq .id)
	while [ "$(api GET "/v1/rollouts/$id" | jq -r .state)" != completed ]; do
		[ $(( $(now_ms) - t0 )) -gt 300000 ] && { echo -1; return; }
		sleep 0.2
	done
	echo $(( $(now_ms) - t0 ))
}
a=$(converge '{"component":"profile","version":"PV","strategy":"all_at_once"}')
w=$(converge '{"component":"profile","version":"PV","bake_s":0,"min_reports":1,"max_unavailable_per_pop":0,"pop_min_healthy":0}')
kill "$FSP"; wait "$FSP" 2>/dev/null; FSP=""
ai=$(echo "$a" | awk '{printf "%.2f", $1 / 5000}')
wi=$(echo "$w" | awk '{printf "%.2f", $1 / 5000}')
echo "rollout_convergence: $nodes simulated nodes at 5 s: all_at_once 100 % applied in $a ms ($ai intervals; target <= 2); default waves, bake_s 0: $w ms ($wi intervals)"
cat >"$out/rollout_convergence.json" <<JSON
{"bench":"rollout_convergence","nodes":$nodes,"interval_s":5,"all_at_once_ms":$a,"all_at_once_intervals":$ai,"waves_bake0_ms":$w,"waves_bake0_intervals":$wi}
JSON
