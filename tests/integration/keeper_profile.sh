#!/bin/sh
# The profile high-water mark (threat T38), real edge-cp and a real
# keeper (privilege-separated): the keeper keeps the highest profile
# version it applied; after edge-cp's database is restored from a copy
# whose baseline profile is older, the node refuses it, says why in its
# status and keeps applying its last good profile; an explicit rollback
# (a rollout with rollback:true) is followed, and the mark does not go
# down; edge-cp refuses a profile rollout below the baseline without
# rollback:true.
. "$(dirname "$0")/lib.sh"
KEEPER="$EF_BIN/edge-keeper"
setup kprofile
start_cp "$T_DIR/cp" --node-interval 1 ||
    { fail "edge-cp starts"; finish; exit 1; }
D="$CP_DIR"
R="$T_DIR/node"
MARK="$R/var/lib/edge-keeper/profile.seq"

expect_api "a POP" 201 POST /v1/pops '{"name":"fra1","region":"eu"}'
expect_api "a token" 201 POST /v1/enrollment-tokens '{"pop":"fra1"}'
"$KEEPER" --root "$R" enroll --server "$CP_URL" --pin "$CP_PIN" \
    --token "$(echo "$LAST" | jq -r .token)" >"$T_DIR/enroll" 2>&1
expect_eq "the keeper enrolls" "$?" 0
NODE=$(sed -n 's/^node_id=//p' "$R/etc/edge-keeper/keeper.conf")
sed -i 's/^metrics=.*/metrics=off/' "$R/etc/edge-keeper/keeper.conf"
KEEPER=$(keeper_cmd "$KEEPER")
"$KEEPER" --root "$R" run >"$T_DIR/keeper.log" 2>&1 &
T_PIDS="$T_PIDS $!"

node() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2-; }
# profile TEXT: a profile whose one step writes TEXT to /etc/motd; its
# version in PV.
profile() {
	expect_api "profile \"$1\"" 201 PUT /v1/profile \
	    "{\"steps\":[{\"name\":\"motd\",\"kind\":\"file\",\"params\":{\"path\":\"/etc/motd\",\"content\":\"$1\\n\",\"mode\":\"0644\"}}]}"
	PV=$(echo "$LAST" | jq .version)
}
rollout() { # VERSION [EXTRA_JSON]: prints the HTTP status
	api POST /v1/rollouts "{\"component\":\"profile\",\"version\":\"$1\",\"strategy\":\"all_at_once\",\"bake_s\":0${2:+,$2}}" |
	    cut -d' ' -f1
}
applied() { # VERSION: the node reports it, in sync
	node | jq -e --arg v "$1" '.versions.profile == $v and
	    all(.status.steps[]; .state == "in_sync")' >/dev/null
}
idle() { api GET /v1/rollouts | cut -d' ' -f2- | jq -e \
    '[.rollouts[] | select(.state | IN("running","paused","halted","approval"))] | length == 0' \
    >/dev/null; }
motd() { [ "$(cat "$R/etc/motd" 2>/dev/null)" = "$1" ]; }
refused() { node | jq -e '.status.steps[] | select(.name == "desired-state") |
    .state == "error" and (.reason | test("profile version [0-9]+ is older than the newest applied [0-9]+"))' \
    >/dev/null; }

profile one
PV1=$PV
expect_eq "roll out profile $PV1" "$(rollout "$PV1")" 201
check "the node applies it" await 30 applied "$PV1"
check "...the file says so" motd one
check "...and the rollout completes" await 15 idle
check "the keeper runs split in two (privileged and not)" \
    grep -q "event=privsep child=" "$T_DIR/keeper.log"
check "the node keeps the highest profile it applied" \
    await 10 grep -qx "$PV1" "$MARK"

sqlite3 -cmd '.timeout 10000' "$D/edge-cp.db" ".backup $T_DIR/copy.db"
expect_eq "a copy of edge-cp's database (baseline profile $PV1)" "$?" 0

profile two
PV2=$PV
expect_eq "roll out profile $PV2" "$(rollout "$PV2")" 201
check "the node applies it" await 30 applied "$PV2"
check "...and the rollout completes" await 15 idle
check "profile.seq says $PV2" await 10 grep -qx "$PV2" "$MARK"
expect_eq "...written by the privileged part, 0600, root's" \
    "$(stat -c '%a %u' "$MARK")" "600 0"
reports_mark() { node | jq -e --argjson v "$PV2" \
    '.status.admitted.profile == $v' >/dev/null; }
check "the node reports it in its status (admitted.profile)" \
    await 10 reports_mark

# edge-cp's database restored from the copy: its baseline is profile 1.
check "edge-cp stops" stop_cp TERM
rm -f "$D/edge-cp.db-wal" "$D/edge-cp.db-shm"
cp "$T_DIR/copy.db" "$D/edge-cp.db"
CP_LISTEN=${CP_URL#https://}
start_cp "$D" --node-interval 1 --accept-restore
expect_eq "edge-cp starts on the restored copy (--accept-restore)" "$?" 0
check "the node refuses the older profile, with the reason reported" \
    await 30 refused
check "...and keeps its last good profile ($PV2)" motd two
expect_eq "...which it still reports" "$(node | jq -r .versions.profile)" "$PV2"
check "...the keeper says so in its log" \
    grep -q "event=desired_refused.*older than the newest applied" \
    "$T_DIR/keeper.log"
expect_eq "...and its mark is unchanged" "$(cat "$MARK")" "$PV2"

# Going back is said: a rollout with rollback:true (after the freeze the
# restore set is lifted).
expect_api "lift the freeze" 200 DELETE /v1/freeze
expect_eq "an explicit rollback to $PV1 (rollback:true)" \
    "$(rollout "$PV1" '"rollback":true')" 201
check "the node follows it" await 30 applied "$PV1"
check "...the file says so" motd one
check "...and the rollout completes" await 15 idle
expect_eq "the mark does not go down" "$(cat "$MARK")" "$PV2"

profile three
PV3=$PV
expect_eq "a new profile after the restore gets a version above $PV2" \
    "$PV3" "$((PV2 + 1))"
expect_eq "roll out profile $PV3" "$(rollout "$PV3")" 201
check "the node applies it" await 30 applied "$PV3"
check "...and the rollout completes" await 15 idle
expect_api "edge-cp: a rollout to the older profile $PV1 needs rollback:true" \
    409 POST /v1/rollouts "{\"component\":\"profile\",\"version\":\"$PV1\"}"
expect_eq "...saying so" "$(echo "$LAST" | jq -r .error.code)" \
    rollback_required
finish
