#!/bin/sh
# Runs every test and prints one closing line: "N passed, N failed[, N skipped]".
#
# Each test (a unit-test binary or an integration script) prints TAP-like
# lines: "ok N - name", "not ok N - name", "ok N - name # SKIP reason".
# A test program that exits non-zero without printing a failure counts as
# one failure, so a crash is never read as a pass.
#
#   tests/run.sh [BUILD]          everything
#   TESTS='store_test cp_api' tests/run.sh    only those (names without path)
#   EF_ASAN_BUILD=build-asan tests/run.sh     also the unit tests of that
#                                 sanitizer build, named NAME@asan
#   EF_VALGRIND='valgrind ...' tests/run.sh   the unit tests under that
#                                 command line, its report in the test's
#                                 log when it fails; the keeper tests run
#                                 every edge-keeper under it (lib.sh)
set -u
BUILD=${1:-build}
export BUILD
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export EF_TOP="$top" EF_BIN="$top/$BUILD/bin"
logdir="$top/$BUILD/test-logs"
mkdir -p "$logdir"

passed=0 failed=0 skipped=0
failures=""

selected() {
	[ -z "${TESTS:-}" ] && return 0
	for t in $TESTS; do [ "$t" = "$1" ] && return 0; done
	return 1
}

run_one() {
	name=$1; shift
	selected "$name" || return 0
	log="$logdir/$name.log"
	vglog="$logdir/$name.valgrind"
	rm -f "$vglog"
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	[ "$rc" -ne 0 ] && [ -s "$vglog" ] && cat "$vglog" >>"$log"
	p=$(grep -c '^ok ' "$log" | tr -d ' ')
	s=$(grep -c '^ok .*# SKIP' "$log" | tr -d ' ')
	f=$(grep -c '^not ok ' "$log" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	end=$(date +%s)
	if [ "$f" -gt 0 ]; then
		failures="$failures $name"
		printf '%-28s FAIL  %d passed, %d failed (%ds)\n' "$name" "$p" "$f" $((end - start))
		grep '^not ok' "$log" | head -20 | sed 's/^/    /'
		tail -n 15 "$log" | sed 's/^/    | /'
	else
		printf '%-28s ok    %d passed%s (%ds)\n' "$name" "$p" \
		    "$( [ "$s" -gt 0 ] && echo ", $s skipped")" $((end - start))
	fi
}

for t in "$BUILD"/tests/*_test; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if [ -n "${EF_VALGRIND:-}" ]; then
		# shellcheck disable=SC2086 # a command line: split on purpose
		run_one "$name" $EF_VALGRIND --log-file="$logdir/$name.valgrind" "$t"
	else
		run_one "$name" "$t"
	fi
done
if [ -n "${EF_ASAN_BUILD:-}" ]; then
	for t in "$EF_ASAN_BUILD"/tests/*_test; do
		[ -x "$t" ] || continue
		run_one "$(basename "$t")@asan" "$t"
	done
fi
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	case "$(basename "$t")" in lib*) continue ;; esac
	run_one "$(basename "$t" .sh)" sh "$t"
done

[ -n "$failures" ] && echo "failed:$failures (logs in $logdir)"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
