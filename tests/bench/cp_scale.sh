#!/bin/sh
# cp_scale: edge-cp's cost curve as the fleet grows (SPEC §8: >= 20,000
# check-ins per edge-cp CPU-second; 50,000 nodes at 5 s held with p99 <
# 50 ms).  For each size in SIZES (default "1000 10000 50000"): a fresh
# edge-cp, fleetsim with that many nodes checking in every 5 s for
# DURATION seconds (default 60) after they all enrolled; edge-cp's CPU
# (utime + stime) over that window, its RSS at the end, and fleetsim's
# check-ins/s, p99 and errors.  The window includes the first interval,
# in which every node fetches its document (200) and reports once (a
# written transaction each): the expensive check-ins, so the figure per
# check-in is above the steady state's, more so for short windows.
#
# Prints a line per size and writes BUILD/bench/cp_scale.json.
# usage: sh tests/bench/cp_scale.sh [BUILD]
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
bin="$top/$build/bin"
out="$top/$build/bench"
sizes=${SIZES:-1000 10000 50000}
duration=${DURATION:-60}
tmp=$(mktemp -d /tmp/ef-cp_scale-XXXXXX)
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
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

echo "[" >"$tmp/json"
first=1
for n in $sizes; do
	d="$tmp/cp$n"
	mkdir -p "$d"
	"$bin/edge-cp" serve --listen 127.0.0.1:0 --data-dir "$d" \
	    --node-interval 5 >"$d/log" 2>&1 &
	CPP=$!
	i=0
	until [ -s "$d/server.url" ]; do
		i=$((i + 1)); [ $i -gt 200 ] && { echo "cp_scale: edge-cp did not start"; exit 1; }
		sleep 0.1
	done
	url=$(cat "$d/server.url")
	tok=$(cat "$d/admin.token")
	curl -sk -H "Authorization: Bearer $tok" -d '{"name":"p1","region":"r"}' \
	    "$url/v1/pops" >/dev/null
	"$bin/fleetsim" --server "$url" --cert "$d/tls.crt" --token "$tok" \
	    --pop p1 --nodes "$n" --interval 5 --duration "$duration" -o json \
	    >"$tmp/fs$n" 2>"$tmp/fs$n.err" &
	FSP=$!
	# The window starts when every node has enrolled.
	i=0
	until [ "$(curl -sk -H "Authorization: Bearer $tok" "$url/v1/fleet" |
	    jq .nodes 2>/dev/null)" = "$n" ]; do
		i=$((i + 1)); [ $i -gt 3000 ] && { echo "cp_scale: $n nodes did not enroll"; exit 1; }
		sleep 0.1
	done
	c0=$(cpu_ticks "$CPP")
	wait "$FSP"
	FSP=""
	c1=$(cpu_ticks "$CPP")
	rss=$(rss_kib "$CPP")
	kill "$CPP"; wait "$CPP" 2>/dev/null; CPP=""
	res=$(tail -n 1 "$tmp/fs$n")
	checkins=$(echo "$res" | jq .checkins)
	cpu_s=$(echo "$c0 $c1 $hz" | awk '{printf "%.2f", ($2 - $1) / $3}')
	per_cpu_s=$(echo "$checkins $cpu_s" | awk '{printf "%d", ($2 > 0 ? $1 / $2 : 0)}')
	us=$(echo "$checkins $cpu_s" | awk '{printf "%.1f", ($1 > 0 ? $2 * 1e6 / $1 : 0)}')
	echo "cp_scale: $n nodes at 5 s: $(echo "$res" | jq -r '"\(.checkins_per_s) check-ins/s, p99 \(.p99_ms) ms, errors \(.errors)"'); edge-cp $cpu_s CPU-s over ~${duration}s ($us us per check-in, $per_cpu_s per CPU-second), RSS $rss KiB"
	[ $first = 1 ] || echo "," >>"$tmp/json"
	first=0
	echo "$res" | jq -c --argjson cpu "$cpu_s" --argjson rss "$rss" \
	    --argjson per "$per_cpu_s" \
	    '. + {cp_cpu_s: $cpu, cp_rss_kib: $rss, checkins_per_cpu_s: $per}' \
	    >>"$tmp/json"
done
echo "]" >>"$tmp/json"
jq -c '{bench: "cp_scale", interval_s: 5, sizes: .}' "$tmp/json" \
    >"$out/cp_scale.json"
