#!/bin/sh
# The TLS key stolen (T47): signed desired state and TLS pin rotation,
# all real processes.  A node enrolls and pins edge-cp's state key; one
# that lost it (enrolled before edge-cp signed) learns it once.  edge-cp
# rotates its TLS key (`edge-cp tls rotate`, restart): the node learns
# the next pin from the signed desired state and keeper.conf holds both;
# after `edge-cp tls switch` and a restart on the new key the node still
# converges and reports, keeper.conf holding the new pin alone.  Then
# tests/tools/fakecp takes edge-cp's address with its TLS key: unsigned,
# signed by another key, or signed for another node, its desired state
# (which also names a pin of its own) is refused with the reason said,
# the last good state stays in force and keeper.conf is untouched; with
# the state key as well it is taken, which shows the signature is what
# refused the others.
. "$(dirname "$0")/lib.sh"
KEEPER="$EF_BIN/edge-keeper"
HOST_IP=198.51.100.57
NODE_IP=198.51.100.58
setup_ns keeper_trust efkt
KEEPER=$(keeper_cmd "$KEEPER")
R="$T_DIR/node"
KS="$R/var/lib/edge-keeper"
CONF="$R/etc/edge-keeper/keeper.conf"
F="$T_DIR/fake"
FD="$F/v1/node"
cleanup_extra() {
	if [ "$T_FAILED" -gt 0 ]; then
		for f in "$T_DIR/keeper.log" "$T_DIR/cp/cp.log" "$T_DIR/fakecp.log"; do
			[ -f "$f" ] || continue
			echo "# --- $f"
			grep -v event=report "$f" | tail -n 25 | sed 's/^/#   /'
		done
	fi
}
node_link "$NS" "$HOST_IP" "$NODE_IP" || { fail "namespace link"; finish; exit 1; }

CP_LISTEN="$HOST_IP:0"
start_cp "$T_DIR/cp" --node-interval 1 || { fail "edge-cp starts"; finish; exit 1; }
PORT=${CP_URL##*:}
OLD_PIN=$CP_PIN
expect_eq "edge-cp's state key is 0600" "$(stat -c %a "$CP_DIR/state.key")" 600
restart_cp() {
	stop_cp
	CP_LISTEN="$HOST_IP:$PORT"
	start_cp "$CP_DIR" --node-interval 1
}
expect_api "a POP" 201 POST /v1/pops '{"name":"p1","region":"r"}'
TOKEN=$(api POST /v1/enrollment-tokens '{"pop":"p1"}' | cut -d' ' -f2- | jq -r .token)
in_ns "$KEEPER" --root "$R" enroll --server "$CP_URL" --pin "$CP_PIN" \
    --token "$TOKEN" >/dev/null
expect_eq "the node enrolls" "$?" 0
check "...and pins edge-cp's state key" test -s "$KS/state.pub"
cp "$KS/state.pub" "$T_DIR/state.pub"
NODE=$(sed -n 's/^node_id=//p' "$CONF")
sed -i 's/^metrics=.*/metrics=off/' "$CONF"
echo "# comment an operator wrote" >>"$CONF"

# content C: roll out a profile whose one step writes C to /srv/t47.
# The one before must have completed (one profile rollout at a time).
RID=""
done_ro() { api GET "/v1/rollouts/$RID" | grep -q '"state":"completed"'; }
content() {
	[ -z "$RID" ] || check "...that rollout completed" await 20 done_ro
	expect_api "a profile writing '$1'" 201 PUT /v1/profile \
	    "{\"steps\":[{\"name\":\"f\",\"kind\":\"file\",\"params\":{\"path\":\"/srv/t47\",\"content\":\"$1\"}}]}"
	PV=$(echo "$LAST" | jq .version)
	expect_api "...rolled out" 201 POST /v1/rollouts \
	    "{\"component\":\"profile\",\"version\":\"$PV\",\"strategy\":\"all_at_once\"}"
	RID=$(echo "$LAST" | jq .id)
}
has() { [ "$(cat "$R/srv/t47" 2>/dev/null)" = "$1" ]; }
pin_is() { [ "$(sed -n 's/^pin=//p' "$CONF")" = "$1" ]; }
seen() { [ "$(grep -cF -- "$2" "$T_DIR/keeper.log")" -ge "$1" ]; }
reason() { jq -r ".report | fromjson | .steps[] | select(.name == \"$1\") |
    \"\(.state): \(.reason)\"" "$KS/last-pass.json" 2>/dev/null; }
says() { reason "$1" | grep -q -- "$2"; }
start_keeper() {
	ip netns exec "$NS" "$KEEPER" --root "$R" run >>"$T_DIR/keeper.log" 2>&1 &
	KP=$!
	T_PIDS="$T_PIDS $KP"
}

# A node enrolled before edge-cp signed has no state.pub.
rm "$KS/state.pub"
content one
start_keeper
check "a node without a state key converges a signed desired state" \
    await 20 has one
check "...having learned the key once, over the pinned TLS" \
    cmp -s "$KS/state.pub" "$T_DIR/state.pub"
check "...said so" seen 1 "event=state_key_learned"
check "...and saved the signature beside the document" test -s "$KS/desired.sig"
check "no tls_pins before any rotation" \
    sh -c "! jq -e 'has(\"tls_pins\")' '$KS/desired.json'"

# Rotation, step 1: the next key staged and announced.
"$CP" tls rotate --data-dir "$CP_DIR" >"$T_DIR/rotate.out" 2>&1
expect_eq "edge-cp tls rotate" "$?" 0
NEXT=$("$CP" tls status --data-dir "$CP_DIR" | awk '$1 == "next" { print $2 }')
echo "# next pin: $NEXT"
check "...stages a next key" sh -c "echo '$NEXT' | grep -q '^sha256//'"
check "...whose pin it prints" grep -qF "$NEXT" "$T_DIR/rotate.out"
"$CP" tls rotate --data-dir "$CP_DIR" >/dev/null 2>&1
expect_eq "a second rotate while one is staged is refused" "$?" 1
restart_cp || { fail "edge-cp restarts"; finish; exit 1; }
expect_eq "...edge-cp restarted still serves the current key" "$CP_PIN" "$OLD_PIN"
check "the node learns the next pin: keeper.conf has pin=current;next" \
    await 20 pin_is "$OLD_PIN;$NEXT"
check "...saying so (event=tls_pins_updated)" \
    seen 1 "event=tls_pins_updated"
check "...and the rest of keeper.conf is kept" \
    grep -qx "# comment an operator wrote" "$CONF"
check "...metrics=off too" grep -qx "metrics=off" "$CONF"

# The commands on a scratch copy of the data directory: a switch cut
# between its renames is finished by running it again; a staged
# certificate without its key that is not such a leftover is refused.
S="$T_DIR/scratch"
mkdir -p "$S"
cp "$CP_DIR/tls.key" "$CP_DIR/tls.crt" "$S/"
"$CP" tls switch --data-dir "$S" >/dev/null 2>&1
expect_eq "tls switch with nothing staged is refused" "$?" 1
"$CP" tls rotate --data-dir "$S" >/dev/null 2>&1
SNEXT=$("$CP" tls status --data-dir "$S" | awk '$1 == "next" { print $2 }')
cp "$S/tls.key" "$S/tls.old.key"
cp "$S/tls.crt" "$S/tls.old.crt"
mv "$S/tls.next.key" "$S/tls.key"
"$CP" tls switch --data-dir "$S" >/dev/null 2>&1
expect_eq "a switch cut after renaming the key: run again, it finishes" "$?" 0
expect_eq "...the certificate is the staged one" \
    "$("$CP" tls status --data-dir "$S" | awk '$1 == "current" { print $2 }')" \
    "$SNEXT"
"$CP" tls rotate --data-dir "$S" >/dev/null 2>&1
rm "$S/tls.next.key"
cp "$S/tls.crt" "$T_DIR/scratch.crt"
"$CP" tls switch --data-dir "$S" >/dev/null 2>&1
expect_eq "a staged certificate whose key is gone: switch refused" "$?" 1
check "...tls.crt untouched" cmp -s "$S/tls.crt" "$T_DIR/scratch.crt"

# Step 2: switch, restart on the new key.
"$CP" tls switch --data-dir "$CP_DIR" >"$T_DIR/switch.out" 2>&1
expect_eq "edge-cp tls switch" "$?" 0
restart_cp || { fail "edge-cp restarts on the new key"; finish; exit 1; }
expect_eq "edge-cp serves the new key" "$CP_PIN" "$NEXT"
check "the node drops the old pin: keeper.conf has pin=new" \
    await 20 pin_is "$NEXT"
content two
check "...and converges under the new key without keeper.conf edited by hand" \
    await 20 has two
reported() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
    jq -e "(.versions.profile == \"$PV\") and (.health == \"healthy\")"; }
check "...and reports it" await 20 reported
kill "$KP"
wait "$KP"
expect_eq "the keeper stops" "$?" 0
start_keeper
content three
check "a keeper started again, on keeper.conf's new pin, converges" \
    await 20 has three
cp "$KS/desired.json" "$T_DIR/desired.good"
cp "$CONF" "$T_DIR/conf.good"

# A stand-in with the TLS key: its desired state writes 'evil' and names
# a pin of its own.
stop_cp
mkdir -p "$FD"
jq -c '.profile.steps[0].params.content = "evil" |
    .tls_pins = ["sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]' \
    "$T_DIR/desired.good" >"$FD/desired"
start_fake() {
	"$EF_BIN/fakecp" "$HOST_IP" "$PORT" "$CP_DIR/tls.key" "$CP_DIR/tls.crt" \
	    "$F" "$@" >>"$T_DIR/fakecp.log" 2>&1 &
	FP=$!
	T_PIDS="$T_PIDS $FP"
	await 10 sh -c "[ \$(grep -c listening '$T_DIR/fakecp.log') -ge $N_FAKE ]"
}
in_force() {
	has three && cmp -s "$KS/desired.json" "$T_DIR/desired.good" &&
	    cmp -s "$CONF" "$T_DIR/conf.good"
}
N_FAKE=1
start_fake
check "fakecp listens on edge-cp's address with its TLS key" \
    grep -q listening "$T_DIR/fakecp.log"
check "an unsigned desired state: refused, the reason said" \
    await 20 says desired-state "^error: signature: no signature"
check "...the last good state stays in force, keeper.conf untouched" in_force
grep -F 'desired_refused' "$T_DIR/keeper.log" | tail -n 1 | sed 's/^/# /'

kill "$FP"; wait "$FP" 2>/dev/null
N_FAKE=2
touch "$FD/desired.badkey"
start_fake "$CP_DIR/state.key" "$NODE"
check "signed by another key, which it offers: refused" await 20 says \
    desired-state "^error: signature: signed by another key (key id [0-9a-f]*), not the pinned one"
check "...the last good state stays in force, keeper.conf untouched" in_force
check "...the pinned state key is not replaced" cmp -s "$KS/state.pub" "$T_DIR/state.pub"

rm "$FD/desired.badkey"
touch "$FD/desired.othernode"
check "signed with the state key for another node: refused" await 20 says \
    desired-state "^error: signature: the signature does not verify"
check "...the last good state stays in force, keeper.conf untouched" in_force

# The state key too: what a stolen TLS key alone could not do.
rm "$FD/desired.othernode"
check "signed with the state key for this node: taken" await 20 has evil
check "...its pins too" await 10 pin_is \
    "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
check "...and the keeper runs on" kill -0 "$KP"
finish
