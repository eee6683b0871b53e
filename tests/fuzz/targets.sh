# shellcheck shell=sh
# Shared by tests/fuzz/run.sh (clang, libFuzzer) and
# tests/integration/fuzz_replay.sh (the normal compiler, replay.c): which
# targets there are and what they link.  Sourced with the working
# directory at the top of the tree.
#
# A target is tests/fuzz/fuzz_NAME.c with its corpus in
# tests/fuzz/corpus/NAME/.  The project sources below are compiled once
# into an archive, so each target links only the modules it calls and
# what they depend on, as the unit tests do (Makefile: libcp.a and
# friends).  cp/auth.c needs edge-cp's `cp` and the store's token lookup:
# fuzz_auth.c supplies both, and no other target pulls auth.o in.

# Every target, in the order run.sh runs them.
fuzz_all_targets() {
	for f in tests/fuzz/fuzz_*.c; do
		f=${f#tests/fuzz/fuzz_}
		echo "${f%.c}"
	done
}

FUZZ_SRC="$(echo common/*.c steps/*.c) keeper/desired.c cp/validate.c
cp/rollout_plan.c cp/auth.c dataplane/http.c dataplane/takeover.c"
# shellcheck disable=SC2034 # used by the scripts that source this
FUZZ_LIBS="-ljansson -lsodium -lcurl -pthread"
# The targets themselves are held to the project's warnings (Makefile).
# shellcheck disable=SC2034
FUZZ_WARN="-Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
-Wmissing-prototypes -Wmissing-declarations -Wpointer-arith -Wcast-qual
-Wwrite-strings -Wformat=2 -Wundef -Wvla -Wimplicit-fallthrough -Werror"

# fuzz_build_lib CC OUTDIR CFLAGS...: compile FUZZ_SRC into OUTDIR/obj/,
# two at a time, and archive them as OUTDIR/libfuzzsrc.a.  common/version.c
# gets a version header of its own ("fuzz").  Returns non-zero, with the
# compiler's words in OUTDIR/lib.log, when a file does not compile.
fuzz_build_lib() {
	FZ_CC=$1 FZ_OUT=$2
	shift 2
	FZ_CFLAGS="$* -I. -I$FZ_OUT/gen"
	export FZ_CC FZ_OUT FZ_CFLAGS
	rm -rf "$FZ_OUT/obj" "$FZ_OUT/libfuzzsrc.a"
	mkdir -p "$FZ_OUT/obj" "$FZ_OUT/gen" || return 1
	echo '#define EF_VERSION "fuzz"' >"$FZ_OUT/gen/ef_build_version.h"
	# shellcheck disable=SC2016,SC2086 # expanded by the inner shell
	printf '%s\n' $FUZZ_SRC | xargs -P 2 -n 1 sh -c '
		o="$FZ_OUT/obj/$(echo "$1" | tr / _).o"
		$FZ_CC $FZ_CFLAGS -c "$1" -o "$o"' sh >"$FZ_OUT/lib.log" 2>&1 ||
	    return 1
	ar rcs "$FZ_OUT/libfuzzsrc.a" "$FZ_OUT"/obj/*.o
}
