#!/bin/sh
# Benchmark: edge-keeper's footprint.  A real edge-cp, an enrolled keeper
# (--root in a temp dir) with a small profile of file steps, nodes checking
# in every second; after convergence, N no-change passes (default 200,
# BENCH_PASSES) are measured: RSS (VmRSS and its peak VmHWM) and CPU per
# pass (utime+stime from /proc).  Each pass is a conditional GET (304) over
# the kept-alive HTTPS connection plus every step's check.
# Target (SPEC §8): RSS < 5 MB, < 1 ms CPU per no-change pass.
# Prints the figures and writes BUILD/bench/keeper_footprint.json.
set -u
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
bin="$top/$BUILD/bin"
out="$top/$BUILD/bench"
passes=${BENCH_PASSES:-200}
mkdir -p "$out"
tmp=$(mktemp -d /tmp/ef-kfoot-XXXXXX)
CPP="" KP=""
cleanup() {
	[ -n "$KP" ] && kill "$KP" 2>/dev/null && wait "$KP" 2>/dev/null
	[ -n "$CPP" ] && kill "$CPP" 2>/dev/null && wait "$CPP" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$bin/edge-cp" serve --listen 127.0.0.1:0 --data-dir "$tmp/cp" \
    --node-interval 1 >"$tmp/cp.log" 2>&1 &
CPP=$!
i=0
while [ ! -s "$tmp/cp/server.url" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
url=$(cat "$tmp/cp/server.url")
pin=$(sed -n 's/.*event=listening.* pin=\([^ ]*\).*/\1/p' "$tmp/cp.log")
cli() { "$bin/edge-cp" --data-dir "$tmp/cp" -o json "$@"; }
cli pop add b1 --region r >/dev/null
token=$(cli token create --pop b1 | sed -n 's/.*"token": "\([^"]*\)".*/\1/p')
"$bin/edge-keeper" --root "$tmp/node" enroll --server "$url" --pin "$pin" \
    --token "$token" >/dev/null || { echo "enroll failed"; exit 1; }
steps=""
for n in 1 2 3 4 5 6 7 8; do
	steps="$steps{\"name\":\"f$n\",\"kind\":\"file\",\"params\":{\"path\":\"/etc/edge/f$n\",\"content\":\"line $n\\n\"}},"
done
printf '{"steps":[%s]}' "${steps%,}" >"$tmp/profile.json"
v=$(cli profile set "$tmp/profile.json" | sed -n 's/.*"version": \([0-9]*\).*/\1/p')
cli rollout create profile "$v" --strategy all_at_once >/dev/null
# Below the ephemeral range (32768-60999), so no client socket holds it.
port=$((20000 + $$ % 12000))
sed -i "s/^metrics=.*/metrics=127.0.0.1:$port/" "$tmp/node/etc/edge-keeper/keeper.conf"
"$bin/edge-keeper" --root "$tmp/node" run >"$tmp/keeper.log" 2>&1 &
KP=$!

metric() {
	curl -s "http://127.0.0.1:$port/metrics" | sed -n "s/^$1 //p"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$KP/stat"; }
# Converged: every step in sync and a few passes behind us.
i=0
until [ "$(metric edgekeeper_passes_total)" -ge 5 ] 2>/dev/null &&
    [ -f "$tmp/node/etc/edge/f8" ]; do
	i=$((i + 1)); [ $i -gt 300 ] && { echo "keeper did not converge"; exit 1; }
	sleep 0.1
done
p0=$(metric edgekeeper_passes_total)
c0=$(cpu_ticks)
limit=$(( $(date +%s) + passes * 2 + 30 ))
while [ "$(metric edgekeeper_passes_total)" -lt $((p0 + passes)) ]; do
	[ "$(date +%s)" -ge "$limit" ] && break
	sleep 0.5
done
p1=$(metric edgekeeper_passes_total)
c1=$(cpu_ticks)
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$KP/status")
anon=$(awk '/^RssAnon/ {print $2}' "/proc/$KP/status")
file=$(awk '/^RssFile/ {print $2}' "/proc/$KP/status")
cp "/proc/$KP/smaps_rollup" "$out/keeper_smaps_rollup.txt" 2>/dev/null
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$KP/status")
hz=$(getconf CLK_TCK)
n=$((p1 - p0))
ms=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v n="$n" \
    'BEGIN { printf "%.3f", n ? c * 1000 / hz / n : 0 }')
printf 'keeper_footprint: %d passes, %s ms CPU per no-change pass, RSS %d KiB (peak %d KiB: %d KiB anonymous, %d KiB shared-library pages); targets < 1 ms, < 5120 KiB\n' \
    "$n" "$ms" "$rss" "$hwm" "$anon" "$file"
cat >"$out/keeper_footprint.json" <<JSON
{
  "benchmark": "keeper_footprint",
  "passes": $n,
  "cpu_ms_per_pass": $ms,
  "cpu_clock_ticks": $((c1 - c0)),
  "clock_ticks_per_s": $hz,
  "rss_kib": $rss,
  "rss_peak_kib": $hwm,
  "rss_anon_kib": $anon,
  "rss_file_kib": $file,
  "steps": 8,
  "target_cpu_ms_per_pass": 1,
  "target_rss_kib": 5120
}
JSON
