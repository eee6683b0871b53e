#!/bin/sh
# The check-in benchmark (SPEC §8): a throwaway edge-cp on a loopback high
# port, a POP and a multi-use enrollment token, then cp_checkin.
#
#   sh tests/bench/run.sh [BUILD]        (make bench)
#   BENCH_NODES=200 BENCH_SECONDS=10     the defaults
#
# Writes BUILD/bench/cp_checkin.json.  The edge-cp started here is stopped
# by its PID and its data directory removed on every exit, failure included.
set -eu

BUILD=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
bin="$top/$BUILD/bin"
nodes=${BENCH_NODES:-200}
secs=${BENCH_SECONDS:-10}
outdir="$top/$BUILD/bench"

for v in "$nodes" "$secs"; do
	case $v in
	'' | *[!0-9]*)
		echo "run.sh: BENCH_NODES and BENCH_SECONDS must be numbers" >&2
		exit 2
		;;
	esac
done
for b in edge-cp cp_checkin; do
	if [ ! -x "$bin/$b" ]; then
		echo "run.sh: $bin/$b missing; run make first" >&2
		exit 1
	fi
done

tmp=$(mktemp -d /tmp/edgefleet-bench.XXXXXX)
cp_pid=
bench_pid=

cleanup() {
	if [ -n "$bench_pid" ]; then
		kill -TERM "$bench_pid" 2>/dev/null || :
		wait "$bench_pid" 2>/dev/null || :
	fi
	if [ -n "$cp_pid" ] && kill -0 "$cp_pid" 2>/dev/null; then
		kill -TERM "$cp_pid" 2>/dev/null || :
		i=0
		while kill -0 "$cp_pid" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$cp_pid" 2>/dev/null || :
		wait "$cp_pid" 2>/dev/null || :
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

die() {
	echo "run.sh: $*" >&2
	if [ -f "$tmp/cp.log" ]; then
		echo "--- edge-cp log (last lines)" >&2
		tail -n 20 "$tmp/cp.log" >&2
	fi
	exit 1
}

# A random high port; another one if it turns out to be taken.
start_cp() {
	port=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 + 40000 ))
	"$bin/edge-cp" serve --listen "127.0.0.1:$port" --data-dir "$tmp/cp" \
		--per-ip-limit $((nodes + 64)) --unauth-rate 0 \
		2>"$tmp/cp.log" &
	cp_pid=$!
	# Await the listening line (or the process's end), at most 10 s.
	i=0
	while [ $i -lt 100 ]; do
		if grep -q 'event=listening' "$tmp/cp.log" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$cp_pid" 2>/dev/null; then
			wait "$cp_pid" 2>/dev/null || :
			cp_pid=
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	die "edge-cp did not start listening within 10 s"
}

tries=0
until start_cp; do
	tries=$((tries + 1))
	[ $tries -lt 5 ] || die "edge-cp would not start"
done

pin=$(sed -n 's/.*event=listening.* pin=\([^ ]*\).*/\1/p' "$tmp/cp.log" |
	head -n 1)
[ -n "$pin" ] || die "no pin= in edge-cp's listening line"
cli() { "$bin/edge-cp" --data-dir "$tmp/cp" "$@"; }
cli pop add bench --region bench -o json >/dev/null || die "pop add failed"
tokjson=$(cli token create --pop bench --uses "$nodes" -o json) ||
	die "token create failed"
if command -v jq >/dev/null 2>&1; then
	token=$(printf '%s\n' "$tokjson" | jq -r .token)
else
	token=$(printf '%s\n' "$tokjson" |
		sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')
fi
[ -n "$token" ] || die "no token in: $tokjson"

mkdir -p "$outdir"
echo "edge-cp pid $cp_pid on 127.0.0.1:$port; $nodes nodes for $secs s"
# In the background so that a signal to this script runs the trap at once.
"$bin/cp_checkin" --server "https://127.0.0.1:$port" --pin "$pin" \
	--token "$token" --nodes "$nodes" --seconds "$secs" \
	--cp-pid "$cp_pid" --json "$outdir/cp_checkin.json" &
bench_pid=$!
rc=0
wait "$bench_pid" || rc=$?
bench_pid=
if [ $rc -ne 0 ]; then
	die "cp_checkin failed (status $rc)"
fi
echo "wrote $outdir/cp_checkin.json"
