# Shared helpers for integration tests (POSIX sh, sourced).
#
# Every test: sources this file, calls `setup NAME` (a private temp dir and
# a trap that kills what it started and removes what it made, also on
# failure), uses `ok`/`fail`/`check` to print TAP lines, and ends with
# `finish`.  Processes are killed by the PIDs we started, never by name.

set -u
: "${EF_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${EF_BIN:=$EF_TOP/build/bin}"
CP="$EF_BIN/edge-cp"
NC="$EF_BIN/nodeclient"

T_N=0
T_FAILED=0
T_PIDS=""
T_DIR=""

setup() {
	T_DIR=$(mktemp -d "/tmp/ef-$1-XXXXXX")
	trap cleanup EXIT
	trap 'exit 1' INT TERM
}

cleanup() {
	for p in $T_PIDS; do
		kill -9 "$p" 2>/dev/null
	done
	for p in $T_PIDS; do
		wait "$p" 2>/dev/null
	done
	[ -n "$T_DIR" ] && rm -rf "$T_DIR"
}

# setup_ns NAME PREFIX: setup NAME plus a network namespace "$NS"
# (PREFIX and our pid) with its loopback up, removed with its host-side
# veth "${NS}h" when the test ends; a test defines cleanup_extra to stop
# what cleanup's pid list cannot know of.  Where namespaces cannot be
# made, the test is skipped.
setup_ns() {
	setup "$1"
	NS="$2$$"
	if ! ip netns add "$NS" 2>/dev/null; then
		echo "ok 1 - $1 # SKIP cannot create network namespaces here"
		exit 0
	fi
	trap cleanup_ns EXIT
	ip netns exec "$NS" ip link set lo up
}

cleanup_ns() {
	command -v cleanup_extra >/dev/null 2>&1 && cleanup_extra
	cleanup
	ip netns delete "$NS" 2>/dev/null
	ip link delete "${NS}h" 2>/dev/null
}

in_ns() { ip netns exec "$NS" "$@"; }

# dp_pid CTL: the pid of the edge-dp answering on control socket CTL, or
# nothing when none answers (a detached dataplane is found this way).
dp_pid() {
	"$EF_BIN/edge-dp" --control "$1" --status 2>/dev/null |
	    sed -n 's/^{"version":"[^"]*","pid":\([0-9]*\).*/\1/p'
}

ok() {
	T_N=$((T_N + 1))
	echo "ok $T_N - $1"
}

fail() {
	T_N=$((T_N + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_N - $1"
	[ $# -gt 1 ] && echo "#   $2"
	return 0
}

# check NAME COMMAND...: ok when COMMAND succeeds.
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name" "failed: $*"; fi
}

# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', want '$3'"; fi
}

finish() {
	vg_check
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}

# keeper_cmd BIN (after setup): the command that starts BIN.  That is BIN
# itself, or, under make check-valgrind (EF_VALGRIND holds valgrind's
# command line), a script in T_DIR that runs BIN under valgrind, each
# process writing its report to $T_DIR/valgrind/PID.log for vg_check.
# Valgrind does not follow exec: what a keeper execs (its self-update,
# the keeper a watchdog brings back) runs natively.
keeper_cmd() {
	if [ -z "${EF_VALGRIND:-}" ]; then
		echo "$1"
		return 0
	fi
	mkdir -p "$T_DIR/valgrind"
	_w="$T_DIR/valgrind/$(basename "$1").$(echo "$1" | cksum | cut -d' ' -f1)"
	printf '#!/bin/sh\nexec %s --log-file=%s/%%p.log %s "$@"\n' \
	    "$EF_VALGRIND" "'$T_DIR/valgrind'" "'$1'" >"$_w"
	chmod 755 "$_w"
	echo "$_w"
}

# vg_check (by finish): a failure for each valgrind report with an error
# in it, the report shown.  A process still under valgrind is stopped
# first (TERM) so that its leaks are counted; errors other than leaks
# are in a report as soon as they happen, also of a process that exec'd
# or was killed.
vg_check() {
	[ -n "$T_DIR" ] && [ -d "$T_DIR/valgrind" ] || return 0
	_n=0
	_bad=0
	for _l in "$T_DIR"/valgrind/*.log; do
		[ -f "$_l" ] || continue
		_p=$(basename "$_l" .log)
		_n=$((_n + 1))
		if tr '\0' ' ' 2>/dev/null <"/proc/$_p/cmdline" |
		    grep -qF -- "--log-file=$T_DIR/valgrind/"; then
			kill -TERM "$_p" 2>/dev/null
			await 60 grep -q 'ERROR SUMMARY' "$_l" ||
			    echo "# valgrind: pid $_p did not stop"
		fi
		if grep -Eq 'ERROR SUMMARY: [1-9]|== (Invalid |Mismatched |Conditional jump|Use of uninitialised|Syscall param|Source and destination overlap|Jump to the invalid|Argument .* fishy)' "$_l"; then
			_bad=$((_bad + 1))
			fail "valgrind: no error in process $_p" "its report:"
			sed 's/^/#   /' "$_l"
		fi
	done
	[ "$_bad" -eq 0 ] && ok "valgrind: no error in $_n processes"
}

# await SECONDS COMMAND...: poll until COMMAND succeeds or time runs out.
await() {
	limit=$1
	shift
	end=$(( $(date +%s) + limit ))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.1
	done
	return 0
}

# start_cp DIR [extra serve args]: start edge-cp on a free port of
# CP_LISTEN's address (default 127.0.0.1:0; a host end of a namespace
# link for tests whose nodes live in one, or a fixed ADDR:PORT to restart
# on the same URL); sets CP_PID, CP_URL, CP_PIN, CP_TOKEN, CP_DIR.
start_cp() {
	CP_DIR=$1
	shift
	mkdir -p "$CP_DIR"
	rm -f "$CP_DIR/server.url"
	"$CP" serve --listen "${CP_LISTEN:-127.0.0.1:0}" --data-dir "$CP_DIR" "$@" \
	    >>"$CP_DIR/cp.log" 2>&1 &
	CP_PID=$!
	T_PIDS="$T_PIDS $CP_PID"
	if ! await 20 test -s "$CP_DIR/server.url"; then
		echo "# edge-cp did not start:"; sed 's/^/#   /' "$CP_DIR/cp.log"
		return 1
	fi
	CP_URL=$(cat "$CP_DIR/server.url")
	CP_TOKEN=$(cat "$CP_DIR/admin.token")
	CP_PIN=$(sed -n 's/.*event=listening.* pin=\([^ ]*\).*/\1/p' \
	    "$CP_DIR/cp.log" | tail -n 1)
	await 10 curl -sfk "$CP_URL/healthz"
}

# stop_cp [SIGNAL]: stop the running edge-cp and wait; returns its status.
stop_cp() {
	kill "-${1:-TERM}" "$CP_PID" 2>/dev/null
	wait "$CP_PID"
	rc=$?
	T_PIDS=$(echo "$T_PIDS" | sed "s/ $CP_PID\b//")
	return $rc
}

# api METHOD PATH [BODY] [TOKEN]: prints "STATUS BODY"; always pinned.
# An empty TOKEN sends no Authorization header at all.
api() {
	_tok=${4-$CP_TOKEN}
	_auth="Authorization: Bearer $_tok"
	[ -z "$_tok" ] && _auth="X-No-Auth: 1"
	if [ $# -ge 3 ] && [ -n "$3" ]; then
		curl -sk --pinnedpubkey "$CP_PIN" -o "$T_DIR/resp" \
		    -w '%{http_code}' -X "$1" -H "$_auth" \
		    -H 'Content-Type: application/json' --data-binary "$3" \
		    "$CP_URL$2" >"$T_DIR/code"
	else
		curl -sk --pinnedpubkey "$CP_PIN" -o "$T_DIR/resp" \
		    -w '%{http_code}' -X "$1" -H "$_auth" \
		    "$CP_URL$2" >"$T_DIR/code"
	fi
	printf '%s %s\n' "$(cat "$T_DIR/code")" "$(cat "$T_DIR/resp")"
}

# status_of "STATUS BODY" -> STATUS ; body_of -> BODY
status_of() { echo "$1" | cut -d' ' -f1; }
body_of() { echo "$1" | cut -d' ' -f2-; }

# expect_api NAME WANT_STATUS METHOD PATH [BODY] [TOKEN]
expect_api() {
	_name=$1
	_want=$2
	shift 2
	_r=$(api "$@")
	_got=$(status_of "$_r")
	if [ "$_got" = "$_want" ]; then
		ok "$_name"
	else
		fail "$_name" "$* -> $_r"
	fi
	LAST=$(body_of "$_r")
}

# node_link NS HOST_IP NODE_IP: a veth pair, "${NS}h" on the host side
# with HOST_IP/30, "${NS}n" in namespace NS with NODE_IP/30, and lo up.
# The namespace must exist; the caller's trap deletes it and "${NS}h".
node_link() {
	ip link add "${1}h" type veth peer name "${1}n" &&
	ip link set "${1}n" netns "$1" &&
	ip addr add "$2/30" dev "${1}h" &&
	ip link set "${1}h" up &&
	ip netns exec "$1" ip addr add "$3/30" dev "${1}n" &&
	ip netns exec "$1" ip link set "${1}n" up &&
	ip netns exec "$1" ip link set lo up
}
