#!/bin/sh
# Replays the HTTP parser's fuzz corpus (tests/fuzz/corpus/http) under
# ASan and UBSan without libFuzzer: tests/fuzz/replay.c drives the same
# LLVMFuzzerTestOneInput that tests/fuzz/run.sh fuzzes, so every seed and
# every crasher found so far keeps passing the target's invariants.
. "$(dirname "$0")/lib.sh"
setup fuzzreplay
: "${CC:=cc}"

if ! "$CC" -std=c17 -D_GNU_SOURCE -I"$EF_TOP" -g -O1 \
    -fsanitize=address,undefined -fno-sanitize-recover=all \
    -o "$T_DIR/replay" "$EF_TOP/tests/fuzz/replay.c" \
    "$EF_TOP/tests/fuzz/fuzz_http.c" "$EF_TOP/dataplane/http.c" \
    >"$T_DIR/cc.log" 2>&1; then
	fail "replay builds with ASan and UBSan"
	sed 's/^/#   /' "$T_DIR/cc.log"
	finish
	exit 1
fi
ok "replay builds with ASan and UBSan"

# The replay numbers its own TAP lines; renumber them into ours.  Its
# "1..N" plan is dropped; its "# NAME" lines stay, so a sanitizer report
# (printed by the child before the verdict) follows the name of the input
# that caused it.  A replay that dies without a verdict still fails here.
cd "$EF_TOP/tests/fuzz" || exit 1
ASAN_OPTIONS=detect_leaks=1 "$T_DIR/replay" corpus/http \
    >"$T_DIR/replay.log" 2>&1
rc=$?
while IFS= read -r line; do
	case $line in
	"ok "*) ok "${line#ok * - }" ;;
	"not ok "*) fail "${line#not ok * - }" ;;
	"#"*) echo "$line" ;; # "# NAME" before each input runs, reasons
	*) echo "#   $line" ;; # sanitizer reports, invariant messages
	esac
done <"$T_DIR/replay.log"
if [ "$rc" -ne 0 ]; then
	fail "replay exits cleanly" "exit status $rc; its log ends:"
	tail -n 20 "$T_DIR/replay.log" | sed 's/^/#   /'
fi
finish
