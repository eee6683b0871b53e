#!/bin/sh
# Benchmark: edge-dp against nginx on the same machine, same response (a
# 1 KiB static file), keep-alive, in one run: wrk against each in turn,
# ROUNDS times interleaved, BENCH_SECONDS each (defaults 3 and 10).  nginx
# is Debian's, with worker_processes = edge-dp's workers, reuseport and
# access_log off.  Prints requests/s and writes
# BUILD/bench/dp_throughput.json.  Target (SPEC §8): >= 1.0x nginx.
set -u
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
bin="$top/$BUILD/bin"
out="$top/$BUILD/bench"
secs=${BENCH_SECONDS:-10}
rounds=${ROUNDS:-3}
workers=${WORKERS:-$(nproc)}
conns=${CONNS:-64}
mkdir -p "$out"
tmp=$(mktemp -d /tmp/ef-dpbench-XXXXXX)
DPP="" NGP=""
cleanup() {
	[ -n "$DPP" ] && kill "$DPP" 2>/dev/null && wait "$DPP" 2>/dev/null
	[ -n "$NGP" ] && kill "$NGP" 2>/dev/null && wait "$NGP" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
command -v wrk >/dev/null && command -v nginx >/dev/null ||
    { echo "dp_throughput: needs wrk and nginx (make bench installs them)"; exit 1; }
mkdir -p "$tmp/www" "$tmp/ng/logs"
# nginx workers run as www-data: the files must be readable to them.
chmod 755 "$tmp" "$tmp/www"
head -c 1024 /dev/urandom >"$tmp/www/1k.bin"
# Below the ephemeral range (32768-60999), so no client socket holds it.
p_dp=$((20000 + $$ % 6000 * 2))
p_ng=$((p_dp + 1))
"$bin/edge-dp" --listen 127.0.0.1:$p_dp --control "$tmp/ctl" \
    --root "$tmp/www" --workers "$workers" >"$tmp/dp.log" 2>&1 &
DPP=$!
cat >"$tmp/ng/nginx.conf" <<CONF
worker_processes $workers;
error_log $tmp/ng/logs/error.log;
pid $tmp/ng/nginx.pid;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$p_ng reuseport;
		root $tmp/www;
	}
}
CONF
nginx -c "$tmp/ng/nginx.conf" -p "$tmp/ng" -g 'daemon off;' 2>"$tmp/ng.err" &
NGP=$!
i=0
until curl -sf "http://127.0.0.1:$p_dp/1k.bin" -o /dev/null &&
    curl -sf "http://127.0.0.1:$p_ng/1k.bin" -o /dev/null; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "servers did not start"; cat "$tmp/ng.err" "$tmp/dp.log"; exit 1; }
	sleep 0.1
done
run() { # port -> requests/s
	wrk -t2 -c"$conns" -d"${secs}s" "http://127.0.0.1:$1/1k.bin" 2>&1 |
	    awk '/^Requests\/sec/ { print $2 }'
}
dp_all="" ng_all=""
r=1
while [ $r -le "$rounds" ]; do
	d=$(run $p_dp)
	n=$(run $p_ng)
	echo "round $r: edge-dp $d req/s, nginx $n req/s"
	dp_all="$dp_all $d"
	ng_all="$ng_all $n"
	r=$((r + 1))
done
med() { echo "$@" | tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
dpm=$(med $dp_all)
ngm=$(med $ng_all)
ratio=$(awk -v a="$dpm" -v b="$ngm" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')
echo "dp_throughput: edge-dp $dpm req/s, nginx $ngm req/s (median of $rounds), ratio $ratio (target >= 1.0); $workers workers, $conns connections, wrk -t2"
cat >"$out/dp_throughput.json" <<JSON
{
  "benchmark": "dp_throughput",
  "edge_dp_rps": $dpm,
  "nginx_rps": $ngm,
  "ratio": $ratio,
  "edge_dp_rounds": [$(echo $dp_all | tr ' ' ',')],
  "nginx_rounds": [$(echo $ng_all | tr ' ' ',')],
  "workers": $workers,
  "connections": $conns,
  "seconds": $secs,
  "target_ratio": 1.0
}
JSON
