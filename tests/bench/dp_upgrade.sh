#!/bin/sh
# Benchmark: 50 back-to-back edge-dp takeovers under wrk (keep-alive) and
# a probe opening a new connection per request.  Reports failed requests
# (wrk's errors and non-2xx, the probe's failures; target 0), kept-alive
# reconnects, the longest a new connection waited (the accept gap, as a
# client sees it) and the handover time (new process started -> serving,
# old one gone).  Writes BUILD/bench/dp_upgrade.json.
set -u
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
bin="$top/$BUILD/bin"
out="$top/$BUILD/bench"
n_up=${UPGRADES:-50}
mkdir -p "$out"
tmp=$(mktemp -d /tmp/ef-dpup-XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$tmp/www"
head -c 1024 /dev/urandom >"$tmp/www/1k.bin"
# Below the ephemeral range (32768-60999), so no client socket holds it.
port=$((20000 + $$ % 12000))
ctl="$tmp/ctl"
dp_start() {
	"$bin/edge-dp" --listen 127.0.0.1:$port --control "$ctl" \
	    --root "$tmp/www" "$@" >>"$tmp/dp.log" 2>&1 &
	PIDS="$PIDS $!"
	LAST=$!
}
status_pid() { "$bin/edge-dp" --control "$ctl" --status 2>/dev/null | sed -n 's/^{"version":"[^"]*","pid":\([0-9]*\).*/\1/p'; }
dp_start
i=0
until [ -n "$(status_pid)" ]; do i=$((i + 1)); [ $i -gt 100 ] && exit 1; sleep 0.1; done
wrk -t1 -c32 -d120s "http://127.0.0.1:$port/1k.bin" >"$tmp/wrk" 2>&1 &
WRK=$!
PIDS="$PIDS $WRK"
"$bin/dpload" 127.0.0.1 $port /1k.bin 0 1 120 "$tmp/stop" >"$tmp/probe" 2>"$tmp/probe.err" &
PROBE=$!
PIDS="$PIDS $PROBE"
sleep 1
times=""
n=1
while [ $n -le "$n_up" ]; do
	old=$(status_pid)
	t0=$(date +%s%N)
	dp_start --takeover
	while [ "$(status_pid)" != "$LAST" ]; do sleep 0.005; done
	wait "$old" 2>/dev/null
	t1=$(date +%s%N)
	times="$times $(( (t1 - t0) / 1000 ))"
	n=$((n + 1))
done
: >"$tmp/stop"
wait "$PROBE"
kill -INT "$WRK"
wait "$WRK"
probe_failed=$(awk '/^requests/ { print $4 }' "$tmp/probe")
gap=$(awk '/^requests/ { print $10 }' "$tmp/probe")
wrk_req=$(awk '/requests in/ { print $1 }' "$tmp/wrk")
wrk_err=$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$tmp/wrk")
wrk_non2xx=$(awk '/Non-2xx/ { print $NF }' "$tmp/wrk")
max_us=$(echo $times | tr ' ' '\n' | sort -n | tail -1)
med_us=$(echo $times | tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
failed=$(( ${wrk_err:-0} + ${wrk_non2xx:-0} + ${probe_failed:-0} ))
echo "dp_upgrade: $n_up takeovers under load; failed requests $failed (wrk ${wrk_req:-?} requests, socket errors ${wrk_err:-0}, non-2xx ${wrk_non2xx:-0}; probe failures ${probe_failed:-0}); longest new-connection wait ${gap} ms; handover median $((med_us / 1000)) ms, max $((max_us / 1000)) ms"
cat "$tmp/probe.err" >&2
cat >"$out/dp_upgrade.json" <<JSON
{
  "benchmark": "dp_upgrade",
  "takeovers": $n_up,
  "failed_requests": $failed,
  "wrk_requests": ${wrk_req:-0},
  "wrk_socket_errors": ${wrk_err:-0},
  "wrk_non_2xx": ${wrk_non2xx:-0},
  "probe_failures": ${probe_failed:-0},
  "longest_new_connection_ms": ${gap:-0},
  "handover_median_ms": $((med_us / 1000)),
  "handover_max_ms": $((max_us / 1000)),
  "target_failed": 0
}
JSON
