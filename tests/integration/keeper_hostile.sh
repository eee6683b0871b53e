#!/bin/sh
# Answers too long, never ending or trickled, from a server the keeper
# takes for its edge-cp (T5).  A real edge-cp can send none of them (its
# profiles and releases are capped), so once the node runs edge-dp 1.0.0
# under a real edge-cp, edge-cp is stopped and tests/tools/fakecp takes
# its address with its TLS key and certificate: the keeper's pin holds,
# as it would for a compromised edge-cp.  fakecp opens a session for any
# handshake and answers the rest from files the test changes as it goes.
# Each answer must fail, bounded, with its reason said; the last good
# desired state stays in force, 1.0.0 keeps serving, and nothing is
# half installed.  Last, a keeper asked to stop during a trickled
# download stops without waiting it out.
. "$(dirname "$0")/lib.sh"
KEEPER="$EF_BIN/edge-keeper"
HOST_IP=198.51.100.49
NODE_IP=198.51.100.50
setup_ns keeper_hostile efkh
KEEPER=$(keeper_cmd "$KEEPER")
R="$T_DIR/node"
KS="$R/var/lib/edge-keeper"
CTL="$R/run/edge-dp/ctl.sock"
F="$T_DIR/fake"
FD="$F/v1/node"
FA="$F/v1/artifacts/dataplane"
dppid() { dp_pid "$CTL"; }
cleanup_extra() {
	p=$(dppid)
	[ -n "$p" ] && kill "$p" 2>/dev/null
	if [ "$T_FAILED" -gt 0 ]; then
		for f in "$T_DIR/keeper.log" "$T_DIR/fakecp.log"; do
			[ -f "$f" ] || continue
			echo "# --- $f"
			grep -v event=report "$f" | tail -n 25 | sed 's/^/#   /'
		done
	fi
}
node_link "$NS" "$HOST_IP" "$NODE_IP" || { fail "namespace link"; finish; exit 1; }

make -s -C "$EF_TOP" BUILD="$T_DIR/b" VERSION=1.0.0 "$T_DIR/b/bin/edge-dp" \
    >"$T_DIR/build.log" 2>&1 || { fail "build edge-dp 1.0.0"; finish; exit 1; }
ok "built edge-dp 1.0.0"
CP_LISTEN="$HOST_IP:0"
start_cp "$T_DIR/cp" --node-interval 1 || { fail "edge-cp starts"; finish; exit 1; }
"$CP" --data-dir "$CP_DIR" release add --component dataplane --version 1.0.0 \
    "$T_DIR/b/bin/edge-dp" >/dev/null
expect_eq "upload dataplane 1.0.0" "$?" 0
expect_api "a POP" 201 POST /v1/pops '{"name":"p1","region":"r"}'
TOKEN=$(api POST /v1/enrollment-tokens '{"pop":"p1"}' | cut -d' ' -f2- | jq -r .token)
in_ns "$KEEPER" --root "$R" enroll --server "$CP_URL" --pin "$CP_PIN" \
    --token "$TOKEN" >/dev/null
expect_eq "the node enrolls" "$?" 0
sed -i 's/^metrics=.*/metrics=off/' "$R/etc/edge-keeper/keeper.conf"
mkdir -p "$R/srv/www"
PROFILE="{\"steps\":[{\"name\":\"dp\",\"kind\":\"dataplane\",\"params\":{
 \"listen\":[\"$NODE_IP:8080\"],\"control\":\"/run/edge-dp/ctl.sock\",
 \"root\":\"/srv/www\",\"workers\":1,\"ready_timeout\":3}}]}"
expect_api "a profile with a dataplane step" 201 PUT /v1/profile "$PROFILE"
PV=$(echo "$LAST" | jq .version)
expect_api "roll out the profile" 201 POST /v1/rollouts \
    "{\"component\":\"profile\",\"version\":\"$PV\",\"strategy\":\"all_at_once\"}"
expect_api "roll out dataplane 1.0.0" 201 POST /v1/rollouts \
    '{"component":"dataplane","version":"1.0.0","strategy":"all_at_once"}'
start_keeper() {
	ip netns exec "$NS" "$KEEPER" --root "$R" run >>"$T_DIR/keeper.log" 2>&1 &
	KP=$!
	T_PIDS="$T_PIDS $KP"
}
start_keeper
serves() { in_ns curl -sf "http://$NODE_IP:8080/version" | grep -qx "edge-dp 1.0.0"; }
check "under edge-cp, the keeper installs and starts 1.0.0" await 30 serves
saved() { jq -e '.dataplane.version == "1.0.0"' "$KS/desired.json"; }
check "...and saves the desired state naming it" await 10 saved
kill "$KP"
wait "$KP"
expect_eq "the keeper stops" "$?" 0
stop_cp
cp "$KS/desired.json" "$T_DIR/desired.good"

# fakecp on edge-cp's address, with its key and certificate, and its
# state-signing key: it signs what it sends as edge-cp would (T47 has
# the answers of a holder of the TLS key alone).  The desired state it
# sends first is 5 MiB, over CPCLIENT_RESP_MAX.
mkdir -p "$FD" "$FA"
cp "$T_DIR/desired.good" "$FD/desired"
echo 5242880 >"$FD/desired.huge"
PORT=${CP_URL##*:}
NODE=$(sed -n 's/^node_id=//p' "$R/etc/edge-keeper/keeper.conf")
"$EF_BIN/fakecp" "$HOST_IP" "$PORT" "$CP_DIR/tls.key" "$CP_DIR/tls.crt" "$F" \
    "$CP_DIR/state.key" "$NODE" >"$T_DIR/fakecp.log" 2>&1 &
FP=$!
T_PIDS="$T_PIDS $FP"
check "fakecp listens on edge-cp's address with its key" \
    await 10 grep -q listening "$T_DIR/fakecp.log"
# From here on the keeper's log counts what it says to fakecp only.
mv "$T_DIR/keeper.log" "$T_DIR/keeper-cp.log"
start_keeper

# seen N PATTERN: PATTERN (fixed) is in the keeper's log at least N
# times; fk ERE: fakecp has logged a line that matches.
seen() { [ "$(grep -cF -- "$2" "$T_DIR/keeper.log")" -ge "$1" ]; }
fk() { grep -Eq -- "$1" "$T_DIR/fakecp.log"; }
TOOBIG='event=cp_unreachable err="response larger than 4194304 bytes"'
REACHED=event=cp_reachable
reason() { jq -r ".report | fromjson | .steps[] | select(.name == \"$1\") |
    \"\(.state): \(.reason)\"" "$KS/last-pass.json" 2>/dev/null; }
says() { reason "$1" | grep -q -- "$2"; }
in_force() { [ "$(jq -r .cp_reachable "$KS/last-pass.json")" = "$1" ] &&
    says dp "^in_sync" && cmp -s "$KS/desired.json" "$T_DIR/desired.good"; }

check "a 5 MiB desired state: the keeper stops reading it at 4 MiB" \
    await 20 seen 1 "$TOOBIG"
# What fakecp could hand the kernel is no measure: socket buffers
# take in megabytes the keeper never reads.
grep -F "desired huge" "$T_DIR/fakecp.log" | sed 's/^/# fakecp: /'
check "...takes it for an outage: the saved desired state stays in force" \
    await 10 in_force false
check "...and 1.0.0 keeps serving" serves

rm "$FD/desired.huge"
check "the desired state of normal size again: edge-cp is reachable" \
    await 20 seen 1 "$REACHED"
touch "$FD/desired.endless"
check "a desired state that never ends: stopped at 4 MiB" \
    await 20 seen 2 "$TOOBIG"
check "...fakecp saw it go away" await 10 fk \
    "^GET /v1/node/desired endless: [0-9]+ bytes, the client went away$"
grep -F "desired endless" "$T_DIR/fakecp.log" | sed 's/^/# fakecp: /'
check "...the saved desired state stays in force" await 10 in_force false

rm "$FD/desired.endless"
check "a normal desired state again" await 20 seen 2 "$REACHED"
echo 100000 >"$FD/desired.trickle"
# The keeper gives any request 10 s (keeper/run.c): awaited, not timed.
check "a desired state trickled: the keeper gives it up" \
    await 30 seen 1 'event=cp_unreachable err="Operation timed out after'
grep -F 'err="Operation timed out' "$T_DIR/keeper.log" | sed 's/^/# /'
check "...fakecp saw it go away" await 10 fk \
    "^GET /v1/node/desired trickle: [0-9]+ of 100000 bytes, the client went away$"
check "...the saved desired state stays in force" await 10 in_force false

rm "$FD/desired.trickle"
check "a normal desired state again" await 20 seen 3 "$REACHED"
echo 2097152 >"$FD/desired.huge"
check "a 2 MiB desired state: read, refused whole as larger than 1 MiB" \
    await 20 says desired-state "^error: document is larger than 1048576 bytes"
check "...the last good one stays in force" await 10 in_force true
rm "$FD/desired.huge"

# The desired state names a release; its signature or artifact is bad.
target() {
	jq ".dataplane.version = \"$1\"" "$T_DIR/desired.good" >"$FD/desired.tmp"
	mv "$FD/desired.tmp" "$FD/desired"
}
# Nothing half installed: no .part, every binary with its signature, and
# no binary but 1.0.0's.
whole() {
	[ -z "$(find "$KS/dataplane" -name '*.part')" ] || return 1
	[ "$(find "$KS/dataplane" -name edge-dp)" = "$KS/dataplane/1.0.0/edge-dp" ] ||
	    return 1
	[ -s "$KS/dataplane/1.0.0/edge-dp.minisig" ]
}
echo 5242880 >"$FA/3.0.0.minisig.huge"
target 3.0.0
check "a 5 MiB signature: refused, the reason said" await 20 says dp \
    "^error: release 3.0.0 refused: signature download: response larger than 4194304 bytes"
echo "# dp step: $(reason dp)"
check "...1.0.0 keeps serving" serves
check "...nothing half installed" whole

echo 8192 >"$FA/4.0.0.minisig.huge"
target 4.0.0
check "an 8 KiB signature: refused, the reason said" await 20 says dp \
    "^error: release 4.0.0 refused: signature download: larger than 4096 bytes"
echo "# dp step: $(reason dp)"

# A real signature (1.0.0's) caps the download at the size it names.
cp "$CP_DIR/artifacts/dataplane/1.0.0.minisig" "$FA/5.0.0.minisig"
touch "$FA/5.0.0.endless"
SIZE=$(wc -c <"$CP_DIR/artifacts/dataplane/1.0.0")
target 5.0.0
check "an artifact that never ends: stopped at the size its signature names" \
    await 20 says dp \
    "^error: release 5.0.0 refused: download: response larger than $SIZE bytes"
echo "# dp step: $(reason dp)"
check "...fakecp saw it go away" await 10 fk \
    "^GET /v1/artifacts/dataplane/5.0.0 endless: [0-9]+ bytes, the client went away$"
grep -F "5.0.0 endless" "$T_DIR/fakecp.log" | sed 's/^/# fakecp: /'
check "...1.0.0 keeps serving" serves
check "...nothing half installed" whole
check "...and the keeper runs on" kill -0 "$KP"

# A trickled artifact (10 bytes/s, above nothing but patience: the speed
# floor takes 30 s to see it) while the keeper is asked to stop: it must
# not wait the download out.
downloading() {
	for c in $(cat /proc/"$KP"/task/*/children 2>/dev/null); do
		for f in /proc/"$c"/fd/*; do
			case $(readlink "$f" 2>/dev/null) in
			*memfd:edge-keeper-release*) return 0 ;;
			esac
		done
	done
	return 1
}
exited() {
	st=$(sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' \
	    "/proc/$KP/status" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ]
}
cp "$CP_DIR/artifacts/dataplane/1.0.0.minisig" "$FA/6.0.0.minisig"
echo "$SIZE" >"$FA/6.0.0.trickle"
target 6.0.0
check "a trickled artifact: the keeper downloads it" await 20 downloading
kill -TERM "$KP"
await 60 exited
wait "$KP"
expect_eq "asked to stop meanwhile, the keeper stops cleanly" "$?" 0
check "...giving the download up for it, not waiting it out" grep -q \
    'reason="release 6.0.0 refused: download: the keeper is stopping"' \
    "$T_DIR/keeper.log"
check "...fakecp saw it go away" await 10 fk \
    "^GET /v1/artifacts/dataplane/6.0.0 trickle: [0-9]+ of $SIZE bytes, the client went away$"
check "...1.0.0 keeps serving" serves
check "...nothing half installed" whole
finish
