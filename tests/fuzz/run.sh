#!/bin/sh
# Builds the libFuzzer target for edge-dp's HTTP parser and runs it.
#
#   sh tests/fuzz/run.sh                  60 s on tests/fuzz/corpus/http
#   FUZZ_SECONDS=600 sh tests/fuzz/run.sh
#   FUZZ_WORK=/tmp/new sh tests/fuzz/run.sh
#
# New interesting inputs are written to FUZZ_WORK, by default the corpus
# directory itself (minimise them with -merge=1 before committing many);
# the corpus is always read.  A crash leaves its input in build/fuzz/
# (crash-*, leak-*, timeout-*): minimise it with
#   build/fuzz/fuzz_http -minimize_crash=1 -runs=10000 FILE
# fix the parser, and add it to the corpus so `make test` replays it.
# Exit status: 0 when the run ended without a finding.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
: "${FUZZ_SECONDS:=60}"
: "${CLANG:=clang}"
corpus=tests/fuzz/corpus/http
: "${FUZZ_WORK:=$corpus}"
out=build/fuzz
log=$out/fuzz_http.log
mkdir -p "$out" "$FUZZ_WORK"

echo "building $out/fuzz_http"
"$CLANG" -std=c17 -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I. -D_GNU_SOURCE tests/fuzz/fuzz_http.c dataplane/http.c \
    -o "$out/fuzz_http" || { echo "fuzz_http: build failed"; exit 1; }

dirs=$FUZZ_WORK
[ "$FUZZ_WORK" != "$corpus" ] && dirs="$FUZZ_WORK $corpus"
echo "fuzzing for ${FUZZ_SECONDS}s (log: $log)"
# -timeout is wall-clock: generous, so a busy shared machine does not
# report a stall as a finding (the slowest input takes well under 1 ms).
# shellcheck disable=SC2086 # dirs is a list of paths without blanks
"$out/fuzz_http" -max_total_time="$FUZZ_SECONDS" -max_len=20000 \
    -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/" $dirs >"$log" 2>&1
rc=$?

grep -E '^(INFO: seed corpus|#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb|SUMMARY|==[0-9]+==ERROR|fuzz_http: .*invariant|artifact_prefix=.*Test unit written)' "$log"
if [ "$rc" -eq 0 ]; then
	echo "fuzz_http: no finding in ${FUZZ_SECONDS}s"
else
	echo "fuzz_http: FINDING (exit $rc); see $log and $out/crash-*"
fi
exit "$rc"
