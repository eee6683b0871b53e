#!/bin/sh
# Replays every fuzz corpus (tests/fuzz/corpus/NAME/) through its target
# (tests/fuzz/fuzz_NAME.c) under ASan and UBSan without libFuzzer:
# tests/fuzz/replay.c drives the same LLVMFuzzerTestOneInput that
# tests/fuzz/run.sh fuzzes, so every seed and every input a finding left
# behind keeps passing the target's invariants, with no leak.  One line
# per target with the number of inputs; a failing input is named below
# the target's line, with what the sanitizer or the invariant said.
. "$(dirname "$0")/lib.sh"
setup fuzzreplay
: "${CC:=cc}"
cd "$EF_TOP" || exit 1
. tests/fuzz/targets.sh

CFLAGS="-std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined
-fno-sanitize-recover=all"

# shellcheck disable=SC2086 # flag lists
if ! fuzz_build_lib "$CC" "$T_DIR" $CFLAGS; then
	fail "the fuzzed sources build with ASan and UBSan"
	sed 's/^/#   /' "$T_DIR/lib.log"
	finish
	exit 1
fi
ok "the fuzzed sources build with ASan and UBSan"

for t in $(fuzz_all_targets); do
	bin=$T_DIR/replay_$t
	log=$T_DIR/replay_$t.log
	# shellcheck disable=SC2086 # flag lists
	if ! "$CC" $CFLAGS $FUZZ_WARN -I. -o "$bin" tests/fuzz/replay.c \
	    "tests/fuzz/fuzz_$t.c" "$T_DIR/libfuzzsrc.a" $FUZZ_LIBS \
	    >"$T_DIR/cc_$t.log" 2>&1; then
		fail "fuzz_$t builds with ASan and UBSan"
		sed 's/^/#   /' "$T_DIR/cc_$t.log"
		continue
	fi
	# The replay's own TAP, one line per input, stays in its log; only
	# the failures come out here.  A replay that dies without a verdict
	# fails by its exit status.
	(cd tests/fuzz && ASAN_OPTIONS=detect_leaks=1 "$bin" "corpus/$t") \
	    >"$log" 2>&1
	rc=$?
	n=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ] && [ "$n" -gt 0 ]; then
		ok "fuzz_$t: $n inputs replayed"
		continue
	fi
	fail "fuzz_$t: $f of $((n + f)) inputs failed (exit status $rc)"
	# Each failure with what its child printed: the lines from its
	# "# NAME" to its verdict.
	awk '/^not ok / { printf "%s#   %s\n", buf, $0; buf = ""; after = 1; next }
	    /^#   / && after { print "#   " $0; next }
	    /^# / { buf = ""; after = 0 }
	    { buf = buf "#   " $0 "\n" }' "$log" | head -n 200
	[ "$f" -eq 0 ] && tail -n 20 "$log" | sed 's/^/#   /'
done
finish
