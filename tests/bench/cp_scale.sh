#!/bin/sh
# cp_scale: edge-cp's cost curve as the fleet grows (SPEC §8: >= 20,000
# check-ins per edge-cp CPU-second; 50,000 nodes at 5 s held with p99 <
# 50 ms).  For each size in SIZES (default "1000 10000 50000"): a fresh
# edge-cp, fleetsim with that many nodes checking in every 5 s for
# DURATION seconds (default 60) after they all enrolled; edge-cp's CPU
# (utime + stime) over that window, its RSS at the end, and fleetsim's
# check-ins/s, p99 and errors.  The whole window includes the first
# interval, in which every node fetches its document (200) and reports
# once (a written transaction each): the expensive check-ins.  So the CPU
# per check-in is given twice: over the whole window, and over its
# steady part (from the fourth interval on: 304s and unchanged reports),
# counted with edge-cp's own edgecp_checkins_total.
#
# Prints a line per size and writes BUILD/bench/cp_scale.json.
# usage: sh tests/bench/cp_scale.sh [BUILD]
build=${1:-build}
EF_TOP=$(cd "$(dirname "$0")/../.." && pwd)
EF_BIN="$EF_TOP/$build/bin"
. "$EF_TOP/tests/integration/lib.sh"
out="$EF_TOP/$build/bench"
sizes=${SIZES:-1000 10000 50000}
duration=${DURATION:-60}
setup cp_scale
tmp=$T_DIR
mkdir -p "$out"
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
checkins() { curl -sk "$1/metrics" | awk '$1 == "edgecp_checkins_total" {print $2}'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

echo "[" >"$tmp/json"
first=1
for n in $sizes; do
	start_cp "$tmp/cp$n" --node-interval 5 --unauth-rate 0 ||
	    { echo "cp_scale: edge-cp did not start"; exit 1; }
	CPP=$CP_PID d=$CP_DIR url=$CP_URL tok=$CP_TOKEN
	api POST /v1/pops '{"name":"p1","region":"r"}' >/dev/null
	"$EF_BIN/fleetsim" --server "$url" --cert "$d/tls.crt" --token "$tok" \
	    --pop p1 --nodes "$n" --interval 5 --duration "$duration" -o json \
	    >"$tmp/fs$n" 2>"$tmp/fs$n.err" &
	FSP=$!
	T_PIDS="$T_PIDS $FSP"
	# The window starts when every node has enrolled.
	all_in() { [ "$(api GET /v1/fleet | cut -d' ' -f2- | jq .nodes)" = "$n" ]; }
	await 300 all_in || { echo "cp_scale: $n nodes did not enroll"; exit 1; }
	c0=$(cpu_ticks "$CPP")
	sleep 15
	cs=$(cpu_ticks "$CPP") ks=$(checkins "$url")
	wait "$FSP"
	c1=$(cpu_ticks "$CPP") k1=$(checkins "$url")
	rss=$(rss_kib "$CPP")
	stop_cp
	res=$(tail -n 1 "$tmp/fs$n")
	checkins=$(echo "$res" | jq .checkins)
	cpu_s=$(echo "$c0 $c1 $hz" | awk '{printf "%.2f", ($2 - $1) / $3}')
	per_cpu_s=$(echo "$checkins $cpu_s" | awk '{printf "%d", ($2 > 0 ? $1 / $2 : 0)}')
	us=$(echo "$checkins $cpu_s" | awk '{printf "%.1f", ($1 > 0 ? $2 * 1e6 / $1 : 0)}')
	# The steady part: edge-cp's own count, so fleetsim's last
	# in-flight check-ins cannot skew it.
	steady=$(echo "$cs $c1 $hz $ks $k1" | awk '{c = ($2 - $1) / $3;
	    printf "%d", (c > 0 ? ($5 - $4) / c : 0)}')
	echo "cp_scale: $n nodes at 5 s: $(echo "$res" | jq -r '"\(.checkins_per_s) check-ins/s, p99 \(.p99_ms) ms, errors \(.errors)"'); edge-cp $cpu_s CPU-s over ~${duration}s ($us us per check-in, $per_cpu_s per CPU-second; steady: $steady per CPU-second), RSS $rss KiB"
	[ $first = 1 ] || echo "," >>"$tmp/json"
	first=0
	echo "$res" | jq -c --argjson cpu "$cpu_s" --argjson rss "$rss" \
	    --argjson per "$per_cpu_s" --argjson steady "$steady" \
	    '. + {cp_cpu_s: $cpu, cp_rss_kib: $rss, checkins_per_cpu_s: $per,
	        steady_checkins_per_cpu_s: $steady}' \
	    >>"$tmp/json"
done
echo "]" >>"$tmp/json"
jq -c '{bench: "cp_scale", interval_s: 5, sizes: .}' "$tmp/json" \
    >"$out/cp_scale.json"
