#!/bin/sh
# The keeper updating itself, all real: keepers built as 1.0.0 and 2.0.0
# and a release that exits at once (3.0.0), uploaded and signed by
# edge-cp, and one that hangs without ever reporting (4.0.0).  A keeper
# rollout moves the running keeper to 2.0.0 in place
# (same pid, the version reported, the trial committed); the broken 3.0.0
# is started, dies, and its watchdog brings 2.0.0 back, which reports the
# failed trial while the rollout halts; the node is not sent to 3.0.0
# again; the hanging 4.0.0 halts its rollout as soon as the node stops
# reporting, and the watchdog brings 2.0.0 back at the trial's bound
# (trial_s); a restarted packaged binary (1.0.0) goes straight to the
# committed 2.0.0; a keeper killed (SIGKILL) during its trial is replaced
# by 2.0.0, brought back by the watchdog, which reports.
. "$(dirname "$0")/lib.sh"
HOST_IP=198.51.100.21
NODE_IP=198.51.100.22
R=""
setup_ns keeper_self efks
cleanup_extra() {
	if [ "$T_FAILED" -gt 0 ]; then
		for f in keeper.log keeper2.log; do
			[ -f "$T_DIR/$f" ] || continue
			echo "# --- $f"
			grep -v event=report "$T_DIR/$f" | tail -n 30 |
			    sed 's/^/#   /'
		done
	fi
	# Watchdogs and reverted keepers the updates started.
	for p in $(cat "$T_DIR/keeper.log" "$T_DIR/keeper2.log" 2>/dev/null |
	    sed -n 's/.*watchdog=\([0-9]*\).*/\1/p'); do
		kill -9 "$p" 2>/dev/null
	done
	for p in $(cat "$T_DIR/more.pids" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
}
node_link "$NS" "$HOST_IP" "$NODE_IP" || { fail "namespace link"; finish; exit 1; }

for v in 1.0.0 2.0.0; do
	make -s -C "$EF_TOP" BUILD="$T_DIR/k$v" VERSION=$v \
	    "$T_DIR/k$v/bin/edge-keeper" >"$T_DIR/build$v.log" 2>&1 ||
	    { fail "build edge-keeper $v"; finish; exit 1; }
done
ok "built edge-keeper 1.0.0 and 2.0.0"
printf '#!/bin/sh\necho "keeper 3.0.0 starts and dies" >&2\nexit 3\n' \
    >"$T_DIR/broken"
chmod 755 "$T_DIR/broken"
printf '#!/bin/sh\necho $$ >>"%s"\nexec sleep 300\n' "$T_DIR/more.pids" \
    >"$T_DIR/hangs"
chmod 755 "$T_DIR/hangs"

CP_LISTEN="$HOST_IP:0"
start_cp "$T_DIR/cp" --node-interval 1 || { fail "edge-cp starts"; finish; exit 1; }
release() {
	"$CP" --data-dir "$CP_DIR" release add --component keeper \
	    --version "$1" "$2" >/dev/null
}
release 2.0.0 "$T_DIR/k2.0.0/bin/edge-keeper"
expect_eq "upload keeper 2.0.0" "$?" 0
release 3.0.0 "$T_DIR/broken"
expect_eq "upload keeper 3.0.0 (exits at once)" "$?" 0
release 4.0.0 "$T_DIR/hangs"
expect_eq "upload keeper 4.0.0 (hangs)" "$?" 0

expect_api "a POP" 201 POST /v1/pops '{"name":"p1","region":"r"}'
TOKEN=$(api POST /v1/enrollment-tokens '{"pop":"p1"}' | cut -d' ' -f2- | jq -r .token)
R="$T_DIR/node"
K1=$(keeper_cmd "$T_DIR/k1.0.0/bin/edge-keeper")
in_ns "$K1" --root "$R" enroll --server "$CP_URL" --pin "$CP_PIN" \
    --token "$TOKEN" >/dev/null
expect_eq "the node enrolls with keeper 1.0.0" "$?" 0
NODE=$(sed -n 's/^node_id=//p' "$R/etc/edge-keeper/keeper.conf")
sed -i 's/^metrics=.*/metrics=off/' "$R/etc/edge-keeper/keeper.conf"
echo trial_s=1 >>"$R/etc/edge-keeper/keeper.conf"
in_ns "$K1" --root "$R" check >/dev/null 2>"$T_DIR/conf.err"
check "keeper.conf: a trial bound out of range is refused, saying so" \
    grep -q "trial_s must be 5-3600" "$T_DIR/conf.err"
sed -i 's/^trial_s=.*/trial_s=8/' "$R/etc/edge-keeper/keeper.conf"
expect_api "a profile with keeper_self" 201 PUT /v1/profile \
    '{"steps":[{"name":"self","kind":"keeper_self"}]}'
PV=$(echo "$LAST" | jq .version)
expect_api "roll it out" 201 POST /v1/rollouts \
    "{\"component\":\"profile\",\"version\":\"$PV\",\"strategy\":\"all_at_once\"}"

ip netns exec "$NS" "$K1" --root "$R" run >>"$T_DIR/keeper.log" 2>&1 &
KP=$!
T_PIDS="$T_PIDS $KP"
keeper_is() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
    jq -e --arg v "$1" '.versions.keeper == $v' >/dev/null; }
check "the node reports keeper 1.0.0" await 20 keeper_is 1.0.0

expect_api "roll out keeper 2.0.0" 201 POST /v1/rollouts \
    '{"component":"keeper","version":"2.0.0","strategy":"all_at_once"}'
R2=$(echo "$LAST" | jq .id)
check "the node reports keeper 2.0.0" await 30 keeper_is 2.0.0
expect_eq "...in the same process, exec'd into the verified release" \
    "$(readlink -f "/proc/$KP/exe")" \
    "$(readlink -f "$R/var/lib/edge-keeper/keeper/2.0.0/edge-keeper")"
check "...its signature beside it" \
    test -s "$R/var/lib/edge-keeper/keeper/2.0.0/edge-keeper.minisig"
check "the trial is committed" await 15 test ! -e "$R/var/lib/edge-keeper/keeper/trial"
expect_eq "current points at 2.0.0" \
    "$(readlink "$R/var/lib/edge-keeper/keeper/current")" 2.0.0
ro_state() { api GET "/v1/rollouts/$1" | cut -d' ' -f2- | jq -r .state; }
completed() { [ "$(ro_state "$R2")" = completed ]; }
check "the keeper rollout completes" await 15 completed

expect_api "roll out keeper 3.0.0, which dies at start" 201 POST \
    /v1/rollouts '{"component":"keeper","version":"3.0.0","strategy":"all_at_once"}'
R3=$(echo "$LAST" | jq .id)
check "the watchdog marks 3.0.0 failed" await 40 \
    test -e "$R/var/lib/edge-keeper/keeper/3.0.0.failed"
check "...and puts current back on 2.0.0" sh -c \
    "[ \"\$(readlink '$R/var/lib/edge-keeper/keeper/current')\" = 2.0.0 ]"
step_err() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
    jq -e '.versions.keeper == "2.0.0" and
        (.status.steps[] | select(.name == "self") |
         .state == "error" and (.reason | test("3.0.0 failed its trial")))' \
        >/dev/null; }
check "keeper 2.0.0 is back and reports the failed trial" await 40 step_err
halted() { [ "$(ro_state "$R3")" = halted ]; }
check "...and the rollout halts on it" await 15 halted
sleep 3
expect_eq "3.0.0 is not tried again" \
    "$(grep -c 'event=keeper_trial version=3.0.0' "$T_DIR/keeper.log")" 1
expect_api "abort it" 200 POST "/v1/rollouts/$R3/abort"

# A keeper that hangs: the node goes silent, which is what halts the
# rollout (the reporter itself is what changed); at the trial's bound
# the watchdog kills it and 2.0.0 comes back.  (A node in error when a
# rollout starts is left out of it: first 2.0.0's report of the abort.)
healthy() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
    jq -e '.health == "healthy"' >/dev/null; }
check "the aborted rollout's node is healthy again" await 20 healthy
expect_api "roll out keeper 4.0.0, which hangs" 201 POST \
    /v1/rollouts '{"component":"keeper","version":"4.0.0","strategy":"all_at_once"}'
R4=$(echo "$LAST" | jq .id)
halted4() { api GET "/v1/rollouts/$R4" | cut -d' ' -f2- |
    jq -e '.state == "halted" and (.reason | test("unreachable"))'; }
check "the rollout halts when the node stops reporting" await 30 halted4
echo "# $(api GET "/v1/rollouts/$R4" | cut -d' ' -f2- | jq -r .reason)"
check "the watchdog marks 4.0.0 failed at the trial's bound" await 30 \
    test -e "$R/var/lib/edge-keeper/keeper/4.0.0.failed"
hung=0
for p in $(cat "$T_DIR/more.pids" 2>/dev/null); do
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$p/status" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ] && hung=$((hung + 1))
done
expect_eq "...the hung keeper was killed" "$hung" 0
back4() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
    jq -e '.versions.keeper == "2.0.0" and .health != "unreachable" and
        (.status.steps[] | select(.name == "self") |
         (.reason | test("4.0.0 failed its trial")))' >/dev/null; }
check "...and keeper 2.0.0 reports again, naming the failed trial" await 30 back4
expect_api "abort it" 200 POST "/v1/rollouts/$R4/abort"

# The keeper that runs now is the one the watchdog started; stop it and
# start the packaged 1.0.0 binary, as systemd would after a reboot.
NOW=$(sed -n 's/.*watchdog=\([0-9]*\).*/\1/p' "$T_DIR/keeper.log" | tail -n 1)
kill "$NOW" 2>/dev/null
kill "$KP" 2>/dev/null
sleep 1
ip netns exec "$NS" "$K1" --root "$R" run >>"$T_DIR/keeper2.log" 2>&1 &
KP2=$!
echo "$KP2" >>"$T_DIR/more.pids"
check "a restarted 1.0.0 binary goes straight to the committed 2.0.0" \
    await 15 grep -q 'event=keeper_launch version=2.0.0' "$T_DIR/keeper2.log"
expect_eq "...and runs it" "$(readlink -f "/proc/$KP2/exe")" \
    "$(readlink -f "$R/var/lib/edge-keeper/keeper/2.0.0/edge-keeper")"

# Killed during a trial: 1.0.0, released as a new keeper, starts its trial
# with a keeper.conf that names an edge-cp it cannot reach, so it cannot
# report and the trial stays open; once it runs (its start is logged),
# keeper.conf is put back and the keeper is killed (SIGKILL to its
# privileged part).  The watchdog must bring 2.0.0 back, reporting.
KDIR="$R/var/lib/edge-keeper/keeper"
CONF="$R/etc/edge-keeper/keeper.conf"
"$CP" --data-dir "$CP_DIR" release add --component keeper --version 1.0.0 \
    "$T_DIR/k1.0.0/bin/edge-keeper" >/dev/null
expect_eq "upload keeper 1.0.0 as a release" "$?" 0
check "the node is healthy on 2.0.0" await 30 healthy
cp "$CONF" "$T_DIR/keeper.conf.good"
sed -i "s|^server=.*|server=https://$HOST_IP:1|" "$CONF"
S=$(grep -c event=started "$T_DIR/keeper2.log")
expect_api "roll out keeper 1.0.0" 201 POST /v1/rollouts \
    '{"component":"keeper","version":"1.0.0","strategy":"all_at_once"}'
R5=$(echo "$LAST" | jq .id)
on_trial() {
	grep -q '^1\.0\.0 ' "$KDIR/trial" 2>/dev/null &&
	    [ "$(readlink -f "/proc/$KP2/exe")" = \
	      "$(readlink -f "$KDIR/1.0.0/edge-keeper")" ] &&
	    [ "$(grep -c event=started "$T_DIR/keeper2.log")" -gt "$S" ]
}
check "keeper 1.0.0 runs on trial, in the same process" await 30 on_trial
cp "$T_DIR/keeper.conf.good" "$CONF"
# Its children: the unprivileged part, and the watchdog (a process of its
# own session that must outlive it).
W=$(sed -n 's/.*watchdog=\([0-9]*\).*/\1/p' "$T_DIR/keeper2.log" | tail -n 1)
KC=$(cat /proc/"$KP2"/task/*/children 2>/dev/null | tr ' ' '\n' |
    grep -vx "$W" | tr '\n' ' ')
kill -9 "$KP2"
child_gone() { for c in $KC; do kill -0 "$c" 2>/dev/null && return 1; done; return 0; }
check "killed mid-trial: its unprivileged part ($KC) went with it" \
    await 10 child_gone
check "the watchdog marks 1.0.0 failed" await 20 test -e "$KDIR/1.0.0.failed"
check "...puts current back on 2.0.0" sh -c \
    "[ \"\$(readlink '$KDIR/current')\" = 2.0.0 ]"
check "...and ends the trial" test ! -e "$KDIR/trial"
back5() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
    jq -e '.versions.keeper == "2.0.0" and .health != "unreachable" and
        (.status.steps[] | select(.name == "self") |
         (.reason | test("1.0.0 failed its trial")))' >/dev/null; }
check "keeper 2.0.0 is back and reports, naming the failed trial" await 40 back5
expect_eq "...run by the watchdog's process ($W), the 2.0.0 binary" \
    "$(readlink -f "/proc/$W/exe")" "$(readlink -f "$KDIR/2.0.0/edge-keeper")"
n=0
for d in /proc/[0-9]*; do
	case "$(readlink "$d/exe" 2>/dev/null)" in
	"$KDIR"/*/edge-keeper | "$T_DIR"/k*/bin/edge-keeper)
		st=$(sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' "$d/status")
		[ "$st" != Z ] && n=$((n + 1)) ;;
	esac
done
expect_eq "...and it is the only keeper: its two parts" "$n" 2
expect_api "abort the 1.0.0 rollout" 200 POST "/v1/rollouts/$R5/abort"
kill "$W"
finish
