# Shared by the benchmarks that run a simulated fleet (sourced after
# tests/integration/lib.sh; $build and $EF_TOP set).
#
# bench_start NAME: setup NAME, out (BUILD/bench, made), tmp (T_DIR), and
# edge-cp started with a 5 s interval and no per-address limit.
# apij ARGS: api's answer body alone.  now_ms: the clock in ms.
# fleet_up NODES DURATION: POP p1, then fleetsim with NODES nodes in it
# checking in every 5 s for DURATION s (FSP its pid, killed by the
# trap); returns once every node is healthy, 1 after 600 s without.
bench_start() {
	setup "$1"
	tmp=$T_DIR
	out="$EF_TOP/$build/bench"
	mkdir -p "$out"
	start_cp "$tmp/cp" --node-interval 5 --unauth-rate 0 ||
	    { echo "$1: edge-cp did not start"; exit 1; }
}
apij() { api "$@" | cut -d' ' -f2-; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
fleet_up() {
	apij POST /v1/pops '{"name":"p1","region":"r"}' >/dev/null
	"$EF_BIN/fleetsim" --server "$CP_URL" --cert "$CP_DIR/tls.crt" \
	    --token "$CP_TOKEN" --pop p1 --nodes "$1" --interval 5 \
	    --duration "$2" -o json >"$T_DIR/fs" 2>"$T_DIR/fs.err" &
	FSP=$!
	T_PIDS="$T_PIDS $FSP"
	_fleet_n=$1
	await 600 _fleet_healthy
}
_fleet_healthy() {
	[ "$(apij GET /v1/fleet | jq '.by_health.healthy // 0')" = "$_fleet_n" ]
}
