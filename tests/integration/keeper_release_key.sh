#!/bin/sh
# Release key rotation end to end, all real processes, the node in a
# network namespace: edge-dp 1.0.0 is signed by the first key and runs;
# the key is rotated twice offline (k1 -> k2 -> k3, each statement checked
# with the real minisign), edge-cp takes the chain, the node follows it
# link by link; a release signed by the new key is admitted and runs, the
# old release (inside its key's cut-off) still verifies to start, and a
# release the stolen old key signs above the cut-off is refused with the
# reason reported, as is one the current key signs too far ahead; a
# rotation that the current key did not sign is refused by edge-cp; the
# chain survives a restart and a crash between its two writes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_dp.sh"
KEEPER="$EF_BIN/edge-keeper"
HOST_IP=198.51.100.117
NODE_IP=198.51.100.118
setup_ns keeper_release_key efrk
KEEPER=$(keeper_cmd "$KEEPER")
R="$T_DIR/node"
K="$T_DIR/keys"
mkdir -p "$K"
node_link "$NS" "$HOST_IP" "$NODE_IP" || { fail "namespace link"; finish; exit 1; }

dp_build 1.0.0 2.0.0
B1="$T_DIR/b1.0.0/bin/edge-dp"
B2="$T_DIR/b2.0.0/bin/edge-dp"

CP_LISTEN="$HOST_IP:0"
start_cp "$T_DIR/cp" --node-interval 1 || { fail "edge-cp starts"; finish; exit 1; }
A="$CP_DIR/artifacts"
# The first key, as an operator keeps it offline.
cp "$CP_DIR/release.key" "$K/k1.key"
cp "$CP_DIR/release.pub" "$K/k1.pub"
dp_add dataplane 1.0.0 "$B1"
expect_eq "upload dataplane 1.0.0 (seq 1, the first key)" "$?" 0

dp_enroll
check "the node pinned the first key" cmp -s "$R/var/lib/edge-keeper/release.pub" "$K/k1.pub"
expect_api "roll out dataplane 1.0.0" 201 POST /v1/rollouts \
    '{"component":"dataplane","version":"1.0.0","strategy":"all_at_once"}'
ip netns exec "$NS" "$KEEPER" --root "$R" run >"$T_DIR/keeper.log" 2>&1 &
T_PIDS="$T_PIDS $!"
check "the keeper installs and starts edge-dp 1.0.0" await 30 dp_serves 1.0.0
check "...and the rollout completes" await 30 dp_idle

# Two rotations, made offline: k1 -> k2 -> k3.  Releases the first key
# signed stay valid up to dataplane seq 1.
rotate() { # FROM TO
	"$CP" release-key rotate --key "$K/$1.key" --out "$K/$2" \
	    --dataplane-seq 1 --keeper-seq 0 >"$T_DIR/rotate.out"
}
DESIRED="$R/var/lib/edge-keeper/desired.json"
check "before any rotation or revocation, the desired state names neither (a keeper older than them would refuse it)" \
    jq -e 'has("release_key") or has("revocations") | not' "$DESIRED"
rotate k1 k2
expect_eq "edge-cp release-key rotate makes k2 under k1" "$?" 0
expect_eq "...its secret key is 0600" "$(stat -c %a "$K/k2.key")" 600
K2=$(sed -n 's/^untrusted comment: edgefleet release key //p' "$K/k2.pub")
TC=$(minisign -V -p "$K/k1.pub" -m "$K/k2.pub" -x "$K/k2.rotation" 2>&1 |
    sed -n 's/^Trusted comment: //p')
expect_eq "minisign verifies the statement under k1; it names k2 and the cut-offs" \
    "$TC" "edgefleet-release-key next=$K2 dataplane_seq=1 keeper_seq=0"
check "rotate never overwrites a key" sh -c "! '$CP' release-key rotate \
    --key '$K/k1.key' --out '$K/k2' --dataplane-seq 1 --keeper-seq 0 2>/dev/null"
"$CP" --data-dir "$CP_DIR" release-key add "$K/k2.pub" "$K/k2.rotation" >/dev/null
expect_eq "edge-cp release-key add k2" "$?" 0
"$CP" --data-dir "$CP_DIR" release-key add "$K/k2.pub" "$K/k2.rotation" \
    >/dev/null 2>"$T_DIR/add.err"
expect_eq "the same rotation again is refused" "$?" 1
check "...saying the current key did not sign it" \
    grep -q "not signed by the current release key $K2" "$T_DIR/add.err"
rotate k1 k9
"$CP" --data-dir "$CP_DIR" release-key add "$K/k9.pub" "$K/k9.rotation" \
    >/dev/null 2>&1
expect_eq "a rotation signed by the retired k1 is refused" "$?" 1
rotate k2 k3
"$CP" --data-dir "$CP_DIR" release-key add "$K/k3.pub" "$K/k3.rotation" >/dev/null
expect_eq "k2 -> k3 added" "$?" 0
K3=$(sed -n 's/^untrusted comment: edgefleet release key //p' "$K/k3.pub")
# (Its body holds "\n" escapes, which the shell's echo in api() expands.)
keys_view() {
	curl -sfk --pinnedpubkey "$CP_PIN" -H "Authorization: Bearer ${1:-$CP_TOKEN}" \
	    "$CP_URL/v1/release-keys" |
	    jq -r '[.key_id, (.rotations | length)] | join(" ")'
}
VIEWER=$(api POST /v1/api-tokens '{"name":"watcher","role":"viewer"}' |
    cut -d' ' -f2- | jq -r .token)
expect_eq "a viewer's GET /v1/release-keys: k3 is current, after two rotations" \
    "$(keys_view "$VIEWER")" "$K3 2"
check "edge-cp's release.pub is k3" cmp -s "$CP_DIR/release.pub" "$K/k3.pub"
# Online signing goes on with the new key.
cp "$K/k3.key" "$CP_DIR/release.key"

# The node follows the chain, link by link, in its privileged part.
check "the node now pins k3" await 30 cmp -s "$R/var/lib/edge-keeper/release.pub" "$K/k3.pub"
expect_eq "...k1 and k2 are retired with their cut-offs" \
    "$(grep -c ' dataplane_seq=1 keeper_seq=0$' "$R/var/lib/edge-keeper/release.retired")" 2
expect_eq "...the keeper logged two rotations" \
    "$(grep -c 'event=release_key_rotated' "$T_DIR/keeper.log")" 2
expect_eq "...and nothing it asked for was refused" \
    "$(grep -c event=priv_refused "$T_DIR/keeper.log")" 0

# A release signed by the new key is admitted and runs.
dp_add dataplane 2.0.0 "$B2"
expect_eq "upload dataplane 2.0.0 (seq 2)" "$?" 0
check "...signed by k3 (minisign -V)" \
    minisign -Vq -p "$K/k3.pub" -m "$A/dataplane/2.0.0"
expect_eq "roll out 2.0.0" "$(dp_rollout 2.0.0)" 201
check "the node admits the release signed by the new key: 2.0.0 serves" \
    await 40 dp_serves 2.0.0
check "...and the rollout completes" await 30 dp_idle
# What k1 signed inside its cut-off still verifies before it starts.
expect_eq "roll back to 1.0.0 (signed by k1 at seq 1)" \
    "$(dp_rollout 1.0.0 '"rollback":true')" 201
check "1.0.0, signed by the retired k1 within its cut-off, starts" \
    await 40 dp_serves 1.0.0
check "...and the rollback completes" await 30 dp_idle
expect_eq "roll forward to 2.0.0" "$(dp_rollout 2.0.0)" 201
check "2.0.0 serves again" await 40 dp_serves 2.0.0
check "...and the rollout completes" await 30 dp_idle

refuses() { # VERSION REASON_REGEX WHAT
	expect_eq "roll out $1 ($3)" "$(dp_rollout "$1")" 201
	check "$3: refused, the reason reported" await 30 dp_step_says "$2"
	echo "# dp step: $(api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
	    jq -c '.status.steps[] | select(.name == "dp") | [.state, .reason]')"
	if dp_serves 2.0.0; then ok "...and 2.0.0 keeps serving"; else
		fail "...and 2.0.0 keeps serving" "$(in_ns curl -sv "http://$NODE_IP:8080/version" 2>&1 | tail -n 5)"
		tail -n 40 "$T_DIR/keeper.log" | sed 's/^/# /'
	fi
	check "...and $1 was never installed" \
	    test ! -e "$R/var/lib/edge-keeper/dataplane/$1/edge-dp"
}
# The stolen k1 signs a new release (seq 3, above its cut-off 1); the
# thief also holds edge-cp's disk, where the signature is swapped.
dp_add dataplane 3.0.0 "$B1"
"$CP" release sign --key "$K/k1.key" --component dataplane --version 3.0.0 \
    --seq 3 --out "$A/dataplane/3.0.0.minisig" "$A/dataplane/3.0.0" >/dev/null
expect_eq "the stolen k1 signs 3.0.0 at seq 3 (edge-cp release sign)" "$?" 0
refuses 3.0.0 "retired release key .* only up to sequence 1; this one is 3" \
    "signed by the retired k1 above its cut-off"
# The current key signs a sequence far ahead.
dp_add dataplane 4.0.0 "$B1"
"$CP" release sign --key "$K/k3.key" --component dataplane --version 4.0.0 \
    --seq 10003 --out "$A/dataplane/4.0.0.minisig" "$A/dataplane/4.0.0" >/dev/null
refuses 4.0.0 "sequence 10003 is more than 10000 above the newest admitted 2" \
    "a sequence 10,001 ahead of the newest admitted"

# A revocation list, signed offline by the current key: the node installs
# it and neither installs nor starts what it names.
"$CP" revocation sign --key "$K/k3.key" --serial 1 --out "$T_DIR/revoked" \
    "dataplane seq=1" >/dev/null
expect_eq "edge-cp revocation sign revokes dataplane seq 1 (1.0.0), offline" "$?" 0
check "...minisign verifies the list under k3" \
    minisign -Vq -p "$K/k3.pub" -m "$T_DIR/revoked"
"$CP" revocation sign --key "$K/k1.key" --serial 2 --out "$T_DIR/byk1" \
    "dataplane seq=2" >/dev/null
"$CP" --data-dir "$CP_DIR" revocation add "$T_DIR/byk1" "$T_DIR/byk1.minisig" \
    >/dev/null 2>&1
expect_eq "a list signed by the retired k1 is refused" "$?" 1
"$CP" --data-dir "$CP_DIR" revocation add "$T_DIR/revoked" \
    "$T_DIR/revoked.minisig" >/dev/null
expect_eq "edge-cp revocation add" "$?" 0
"$CP" --data-dir "$CP_DIR" revocation add "$T_DIR/revoked" \
    "$T_DIR/revoked.minisig" >/dev/null 2>&1
expect_eq "...the same serial again is refused" "$?" 1
check "the node installs the list" \
    await 30 grep -qx "dataplane seq=1" "$R/var/lib/edge-keeper/release.revoked"
expect_eq "roll back to the revoked 1.0.0" \
    "$(dp_rollout 1.0.0 '"rollback":true')" 201
check "the revoked 1.0.0 does not start, the reason reported" \
    await 30 dp_step_says "1.0.0 \\(sequence 1\\) is revoked"
check "...and 2.0.0 keeps serving" dp_serves 2.0.0
expect_eq "edge-cp release-key show: k3, after two rotations" \
    "$("$CP" --data-dir "$CP_DIR" release-key show | tr '\n' ' ')" \
    "untrusted comment: edgefleet release key $K3 $(sed -n 2p "$K/k3.pub") rotations: 2 "
expect_eq "edge-cp revocation show: the list" \
    "$("$CP" --data-dir "$CP_DIR" revocation show)" \
    "$(cat "$T_DIR/revoked")"

# The chain outlives edge-cp: a restart, and a crash between the chain's
# write and release.pub's (release.pub still k2) which the start finishes.
stop_cp TERM
cp "$K/k2.pub" "$CP_DIR/release.pub"
CP_LISTEN="127.0.0.1:0"
start_cp "$CP_DIR"
expect_eq "edge-cp restarts after a rotation cut short" "$?" 0
check "...and finishes it: release.pub is k3" cmp -s "$CP_DIR/release.pub" "$K/k3.pub"
expect_eq "...the chain is kept: k3 after two rotations" "$(keys_view)" "$K3 2"
expect_eq "...and the revocation list" "$(curl -sfk --pinnedpubkey "$CP_PIN" \
    -H "Authorization: Bearer $CP_TOKEN" "$CP_URL/v1/release-revocations" |
    jq -r .serial)" 1
stop_cp TERM
cp "$K/k1.pub" "$CP_DIR/release.pub"
"$CP" serve --listen 127.0.0.1:0 --data-dir "$CP_DIR" >"$T_DIR/bad.log" 2>&1 &
BAD=$!
T_PIDS="$T_PIDS $BAD"
check "a release.pub the chain does not lead to stops edge-cp" \
    await 20 grep -q "release.pub is not the key the last rotation" "$T_DIR/bad.log"
check "...it exits" await 20 sh -c "! kill -0 $BAD"
finish
