#!/bin/sh
# Builds the libFuzzer targets (clang -fsanitize=fuzzer,address,undefined)
# and runs each on its corpus: `make fuzz`.
#
#   sh tests/fuzz/run.sh                      every target, 60 s each
#   FUZZ_SECONDS=600 sh tests/fuzz/run.sh
#   FUZZ_TARGETS="json bgp" sh tests/fuzz/run.sh
#   FUZZ_MERGE=1 sh tests/fuzz/run.sh         then merge what was new
#                                             into the corpora
#
# One target per untrusted input, tests/fuzz/fuzz_NAME.c, corpus in
# tests/fuzz/corpus/NAME/ (each file's header says what it checks beyond
# "no crash, no leak"):
#
#   http      edge-dp's HTTP/1.1 request parser and chunked decoder
#             (dataplane/http.c)
#   json      the strict JSON reader and field readers every document
#             goes through (common/json.c)
#   enroll    a POST /v1/enroll body: host name and facts
#             (cp/validate.c: validate_hostname, validate_facts)
#   status    a node's status report (cp/validate.c: validate_status)
#   profile   a profile with its steps and every kind's params
#             (cp/validate.c: validate_profile, steps/steplist.c)
#   desired   the desired state as the keeper parses it
#             (keeper/desired.c: kdesired_parse, steps/steplist.c)
#   bgp       a POP's "bgp" object (common/bgpconf.c: bgpconf_validate)
#   rollout   a POST /v1/rollouts body and the plan it makes
#             (cp/rollout_plan.c: rollout_params_parse, rollout_plan)
#   minisign  release key and signature texts (common/minisign.c:
#             msig_pub_decode, msig_sec_decode, msig_verify)
#   auth      the Authorization header (common/nodeauth.c:
#             nodeauth_parse; cp/auth.c: auth_bearer)
#   birdctl   BIRD's control-socket replies (common/birdctl.c)
#   takeover  edge-dp's control-socket line reader
#             (dataplane/takeover.c: takeover_recv)
#   cpclient  edge-cp's error answers as nodes read them
#             (common/cpclient.c: cpclient_error_code)
#   relkey    release key rotation statements and a node's retired keys
#             (common/relkey.c: relkey_verify, relkey_retired_parse)
#   statesig  the desired-state signature header and its check
#             (common/statesig.c: statesig_parse, statesig_verify)
#
# Each run prints one line per target: the executions libFuzzer counted
# (stat::number_of_executed_units) and whether it found anything.  The
# corpus is read, never written: new interesting inputs go to
# build/fuzz/NAME/new/ (FUZZ_WORK=DIR: DIR/NAME/ instead), and with
# FUZZ_MERGE=1 those that add coverage are merged into the corpus
# (libFuzzer's -merge=1; the files already there stay).  Keep each corpus
# small, at most 300 files and well under 1 MB, since `make test` replays
# them all: one that outgrows that is merged again from its named seeds
# (libFuzzer names what it adds by 40 hex digits), keeping only inputs
# that reach new edges, which is how http and profile were cut down:
#   mkdir /tmp/c; for f in tests/fuzz/corpus/http/*; do
#       basename "$f" | grep -qxE '[0-9a-f]{40}' || cp "$f" /tmp/c/; done
#   build/fuzz/fuzz_http -merge=1 -use_counters=0 /tmp/c tests/fuzz/corpus/http
# and /tmp/c replaces the corpus.  A finding leaves its input in build/fuzz/NAME/ (crash-*,
# leak-*, timeout-*, oom-*) and the log in build/fuzz/NAME.log: minimise
# it with
#   build/fuzz/fuzz_NAME -minimize_crash=1 -runs=10000 FILE
# fix the parser, and add it to the corpus so `make test` replays it
# (tests/integration/fuzz_replay.sh, with the normal compiler).
# Exit status: 0 when no target found anything.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. tests/fuzz/targets.sh
: "${FUZZ_SECONDS:=60}"
: "${CLANG:=clang}"
: "${FUZZ_TARGETS:=$(fuzz_all_targets | tr '\n' ' ')}"
out=build/fuzz
mkdir -p "$out"

SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-std=c17 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $SAN"

echo "building $out/libfuzzsrc.a"
# shellcheck disable=SC2086 # flag lists
if ! fuzz_build_lib "$CLANG" "$out" $CFLAGS -fsanitize=fuzzer-no-link; then
	cat "$out/lib.log"
	echo "fuzz: build failed"
	exit 1
fi

# The longest input worth trying, per target: room for what the parser
# bounds itself (a head, a line, a document) and a little more.
max_len() {
	case $1 in
	http | birdctl) echo 20000 ;;
	takeover) echo 2048 ;;
	auth) echo 512 ;;
	minisign) echo 5000 ;;
	*) echo 16384 ;;
	esac
}

found=0
for t in $FUZZ_TARGETS; do
	src=tests/fuzz/fuzz_$t.c
	corpus=tests/fuzz/corpus/$t
	log=$out/$t.log
	if [ ! -f "$src" ]; then
		echo "$t: no such target ($src)"
		found=1
		continue
	fi
	# shellcheck disable=SC2086 # flag lists
	if ! "$CLANG" $CFLAGS $FUZZ_WARN -fsanitize=fuzzer -I. "$src" \
	    "$out/libfuzzsrc.a" $FUZZ_LIBS -o "$out/fuzz_$t" \
	    >"$out/fuzz_$t.build.log" 2>&1; then
		cat "$out/fuzz_$t.build.log"
		echo "$t: build failed"
		found=1
		continue
	fi
	if [ -n "${FUZZ_WORK:-}" ]; then
		work=$FUZZ_WORK/$t
	else
		work=$out/$t/new
	fi
	mkdir -p "$work" "$corpus" "$out/$t"
	# -timeout is wall-clock: generous, so a busy shared machine does not
	# report a stall as a finding (the slowest input takes a few ms).
	"$out/fuzz_$t" -max_total_time="$FUZZ_SECONDS" \
	    -max_len="$(max_len "$t")" -timeout=25 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$out/$t/" \
	    "$work" "$corpus" >"$log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && [ "${FUZZ_MERGE:-0}" = 1 ]; then
		"$out/fuzz_$t" -merge=1 -max_len="$(max_len "$t")" \
		    -timeout=25 -rss_limit_mb=2048 "$corpus" "$work" \
		    >"$out/$t.merge.log" 2>&1 || {
			echo "$t: merge failed (see $out/$t.merge.log)"
			found=1
		}
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	size=$(find "$corpus" -type f | wc -l | tr -d ' ')
	if [ "$rc" -eq 0 ]; then
		printf '%-9s %10s executions in %ss, corpus %s: no finding\n' \
		    "$t" "${execs:-?}" "$FUZZ_SECONDS" "$size"
	else
		found=1
		printf '%-9s %10s executions in %ss, corpus %s: FINDING ' \
		    "$t" "${execs:-?}" "$FUZZ_SECONDS" "$size"
		echo "(exit $rc; $log, $out/$t/)"
		grep -E '^(SUMMARY|==[0-9]+==ERROR|.*invariant:|artifact_prefix=.*Test unit written)' \
		    "$log" | sed 's/^/    /'
	fi
done
exit "$found"
