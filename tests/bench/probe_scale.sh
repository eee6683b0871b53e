#!/bin/sh
# probe_scale: what edge-cp's own probes of node dataplanes (cp/probe.h)
# cost a rollout.  fleetsim with NODES (default 2,000) nodes checking in
# every 5 s, all from 127.0.0.1 (so every probe goes to one edge-dp on a
# loopback high port, PROBES nodes' worth of probes); once every node has
# reported, all_at_once profile rollouts: without a probe, with one
# (edge-dp answering), and with one while nothing listens (every probe
# refused: the time to the halt).  The figures: each rollout's time from
# creation to completion (or halt), the most probes seen in flight on
# /metrics (bounded by PROBE_INFLIGHT_MAX, 64) and the probes made.
#
# Prints the figures and writes BUILD/bench/probe_scale.json.
# usage: sh tests/bench/probe_scale.sh [BUILD]
build=${1:-build}
EF_TOP=$(cd "$(dirname "$0")/../.." && pwd)
EF_BIN="$EF_TOP/$build/bin"
. "$EF_TOP/tests/integration/lib.sh"
. "$EF_TOP/tests/bench/lib_fleet.sh"
nodes=${NODES:-2000}
bench_start probe_scale
metric() { api GET /metrics >/dev/null; grep -v '^#' "$T_DIR/resp" | grep -F "$1 " | cut -d' ' -f2; }

# edge-dp on a random free loopback port.
for try in 1 2 3 4 5; do
	port=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 + 40000 ))
	"$EF_BIN/edge-dp" --listen "127.0.0.1:$port" --control "$tmp/dp.ctl" \
	    --workers 1 >>"$tmp/dp.log" 2>&1 &
	DPP=$!
	T_PIDS="$T_PIDS $DPP"
	await 5 "$EF_BIN/edge-dp" --control "$tmp/dp.ctl" --status && break
	DPP=
done
[ -n "$DPP" ] || { echo "probe_scale: edge-dp did not start"; exit 1; }

fleet_up "$nodes" 900 || { echo "probe_scale: nodes not healthy"; exit 1; }

# run PROBE STATE: an all_at_once rollout of a new profile (with probe
# PROBE, or none), until STATE; prints "MS MAX_INFLIGHT".
run() {
	pv=$(apij PUT /v1/profile '{"steps":[]}' | jq .version)
	t0=$(now_ms)
	id=$(apij POST /v1/rollouts "$(jq -nc --arg v "$pv" --argjson p "$1" \
	    '{component: "profile", version: $v, strategy: "all_at_once",
	    unhealthy_s: 0} + (if $p == null then {} else {probe: $p} end)')" |
	    jq .id)
	max=0
	while :; do
		st=$(apij GET "/v1/rollouts/$id" | jq -r .state)
		inf=$(metric edgecp_probes_inflight)
		[ "${inf:-0}" -gt "$max" ] && max=$inf
		[ "$st" = "$2" ] && break
		if [ $(( $(now_ms) - t0 )) -gt 300000 ] || [ "$st" != running ]; then
			echo "-1 $max"
			apij POST "/v1/rollouts/$id/abort" >/dev/null
			return
		fi
		sleep 0.2
	done
	[ "$st" = halted ] && apij POST "/v1/rollouts/$id/abort" >/dev/null
	echo "$(( $(now_ms) - t0 )) $max"
}
set -- $(run null completed)
plain=$1
set -- $(run "{\"port\":$port}" completed)
probed=$1 probed_max=$2
okn=$(metric 'edgecp_probes_total{result="ok"}')
kill -9 "$DPP"
wait "$DPP" 2>/dev/null
set -- $(run "{\"port\":$port}" halted)
halt=$1 halt_max=$2
refused=$(metric 'edgecp_probes_total{result="refused"}')
kill "$FSP"
echo "probe_scale: $nodes simulated nodes at 5 s, all_at_once: no probe $plain ms;" \
    "probed, every dataplane answering: $probed ms, at most $probed_max probes" \
    "in flight, $okn good probes; nothing answering: halted in $halt ms" \
    "(at most $halt_max in flight, $refused refused)"
cat >"$out/probe_scale.json" <<JSON
{"bench":"probe_scale","nodes":$nodes,"interval_s":5,"plain_ms":$plain,"probed_ms":$probed,"probed_max_inflight":$probed_max,"probes_ok":$okn,"halt_ms":$halt,"halt_max_inflight":$halt_max,"probes_refused":$refused}
JSON
