#!/bin/sh
# The keeper's dataplane step end to end, all real processes in a network
# namespace: three edge-dp releases (built with different versions) are
# uploaded to edge-cp and signed; a profile with a dataplane step and an
# all_at_once rollout install and start 1.0.0; a rollout of 2.0.0 upgrades
# it by takeover while clients keep kept-alive connections open (zero
# failed requests, no reconnect); releases that must not run are each
# refused with the reason reported while 2.0.0 keeps serving: an artifact
# changed or grown on edge-cp's disk, a signature by another key, another
# component's signature, an older sequence (edge-cp's database "restored
# from a backup"), a binary changed on the node's own disk; a rollback said
# explicitly is done; releases that exit or hang before they are ready are
# stopped and the old dataplane never stops serving.
. "$(dirname "$0")/lib.sh"
KEEPER="$EF_BIN/edge-keeper"
HOST_IP=198.51.100.5
NODE_IP=198.51.100.6
setup_ns keeper_dp efkd
KEEPER=$(keeper_cmd "$KEEPER")
R="$T_DIR/node"
cleanup_extra() {
	# The dataplane is detached from the keeper: find it by its socket.
	p=$(dp_pid "$R/run/edge-dp/ctl.sock")
	[ -n "$p" ] && kill "$p" 2>/dev/null
	# Releases that hang before ready, should one outlive the test.
	for p in $(cat "$T_DIR/hang.pids" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
}
node_link "$NS" "$HOST_IP" "$NODE_IP" || { fail "namespace link"; finish; exit 1; }

# Releases of edge-dp that say different versions.
for v in 1.0.0 2.0.0 3.0.0; do
	make -s -C "$EF_TOP" BUILD="$T_DIR/b$v" VERSION=$v \
	    "$T_DIR/b$v/bin/edge-dp" >"$T_DIR/build$v.log" 2>&1 ||
	    { fail "build edge-dp $v"; finish; exit 1; }
done
ok "built edge-dp 1.0.0, 2.0.0 and 3.0.0"

CP_LISTEN="$HOST_IP:0"
start_cp "$T_DIR/cp" --node-interval 1 || { fail "edge-cp starts"; finish; exit 1; }
for v in 1.0.0 2.0.0 3.0.0; do
	"$CP" --data-dir "$CP_DIR" release add --component dataplane \
	    --version $v "$T_DIR/b$v/bin/edge-dp" >/dev/null
	expect_eq "upload release $v" "$?" 0
done
# 3.0.0 is tampered with on edge-cp's disk after it was signed.
printf 'X' | dd of="$CP_DIR/artifacts/dataplane/3.0.0" bs=1 seek=100 \
    conv=notrunc 2>/dev/null

expect_api "a POP" 201 POST /v1/pops '{"name":"p1","region":"r"}'
TOKEN=$(api POST /v1/enrollment-tokens '{"pop":"p1"}' | cut -d' ' -f2- | jq -r .token)
in_ns "$KEEPER" --root "$R" enroll --server "$CP_URL" --pin "$CP_PIN" \
    --token "$TOKEN" >/dev/null
expect_eq "the node enrolls" "$?" 0
NODE=$(sed -n 's/^node_id=//p' "$R/etc/edge-keeper/keeper.conf")
sed -i 's/^metrics=.*/metrics=off/' "$R/etc/edge-keeper/keeper.conf"
mkdir -p "$R/srv/www"
head -c 1024 /dev/urandom >"$R/srv/www/1k.bin"
PROFILE="{\"steps\":[{\"name\":\"dp\",\"kind\":\"dataplane\",\"params\":{
 \"listen\":[\"$NODE_IP:8080\"],\"control\":\"/run/edge-dp/ctl.sock\",
 \"root\":\"/srv/www\",\"workers\":2,\"drain_timeout\":10,
 \"ready_timeout\":3}}]}"
expect_api "a profile with a dataplane step" 201 PUT /v1/profile "$PROFILE"
PV=$(echo "$LAST" | jq .version)
expect_api "roll out the profile" 201 POST /v1/rollouts \
    "{\"component\":\"profile\",\"version\":\"$PV\",\"strategy\":\"all_at_once\"}"
expect_api "roll out dataplane 1.0.0" 201 POST /v1/rollouts \
    '{"component":"dataplane","version":"1.0.0","strategy":"all_at_once"}'
ip netns exec "$NS" "$KEEPER" --root "$R" run >"$T_DIR/keeper.log" 2>&1 &
KP=$!
T_PIDS="$T_PIDS $KP"
serves() { in_ns curl -sf "http://$NODE_IP:8080/version" | grep -qx "edge-dp $1"; }
check "the keeper installs and starts edge-dp 1.0.0" await 30 serves 1.0.0
check "it is installed side by side" \
    test -x "$R/var/lib/edge-keeper/dataplane/1.0.0/edge-dp"
reports() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
    jq -e ".versions.dataplane == \"$1\" and .health == \"healthy\""; }
check "the node reports dataplane 1.0.0, healthy" await 15 reports 1.0.0
idle() { api GET /v1/fleet | cut -d' ' -f2- | jq -e '.active_rollouts | length == 0'; }
# completes NAME: the rollout completes; if not, what the rollouts and
# the keeper said.
completes() {
	if await 15 idle; then
		ok "$1"
		return
	fi
	fail "$1"
	api GET /v1/rollouts | cut -d' ' -f2- |
	    jq -c '.rollouts[0] | [.id, .version, .state, .reason]' | sed 's/^/# /'
	grep -E 'fail|error|refus' "$T_DIR/keeper.log" | tail -n 3 | sed 's/^/# /'
}
check "the 1.0.0 rollout completes" await 15 idle
# No "user" in the step: the node's default, edge-dp, which this machine
# has not got, so edge-dp runs as root and the step says why.
step_reason() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
    jq -r '.status.steps[] | select(.name == "dp") | .reason'; }
if getent passwd edge-dp >/dev/null; then
	ok "edge-dp as root for want of the user # SKIP this machine has a user edge-dp"
else
	as_root_said() {
		"$EF_BIN/edge-dp" --control "$R/run/edge-dp/ctl.sock" --status |
		    jq -e '.uid == 0' >/dev/null &&
		    step_reason | grep -q 'as root: this node has no user for it'
	}
	check "without a user edge-dp here, edge-dp runs as root and says so" \
	    await 15 as_root_said
fi

# Privilege separation (keeper/privsep.h): the part that talks to edge-cp
# runs as an unprivileged user, without the node key, which only the root
# part holds; and a normal run asks it for nothing it refuses.
uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
KC=""
for c in $(cat /proc/"$KP"/task/*/children 2>/dev/null); do
	[ "$(uid_of "$c")" != 0 ] && [ -n "$(uid_of "$c")" ] && KC=$c
done
expect_eq "the keeper's privileged part is root" "$(uid_of "$KP")" 0
check "its unprivileged part runs as another user (pid ${KC:-none})" \
    test -n "$KC"
expect_eq "...with no new privileges" \
    "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$KC/status" 2>/dev/null)" 1
KEY="$R/var/lib/edge-keeper/node.key"
check "the node key is in the privileged part's memory" \
    "$EF_BIN/memgrep" "$KP" "$KEY"
"$EF_BIN/memgrep" "${KC:-0}" "$KEY" >"$T_DIR/memgrep" 2>&1
expect_eq "...and nowhere in the unprivileged part's ($(cat "$T_DIR/memgrep"))" \
    "$?" 1
expect_eq "nothing the keeper asked for was refused" \
    "$(grep -c event=priv_refused "$T_DIR/keeper.log")" 0

# One run per node: a second is turned away, naming the first.
timeout 20 ip netns exec "$NS" "$KEEPER" --root "$R" run >"$T_DIR/second" 2>&1
expect_eq "a second edge-keeper run exits 1" "$?" 1
check "...saying which keeper holds the node" \
    grep -q "another edge-keeper run holds it (pid $KP)" "$T_DIR/second"
check "...and the first serves on" serves 1.0.0

# What a local unprivileged user on the node could reach (T42).
mode_of() { stat -c %a "$R$1" 2>/dev/null; }
expect_eq "the keeper's state directory is 0700" \
    "$(mode_of /var/lib/edge-keeper)" 700
for f in node.key desired.json last-pass.json anycast.addrs; do
	[ -e "$R/var/lib/edge-keeper/$f" ] &&
	    expect_eq "$f is 0600" "$(mode_of "/var/lib/edge-keeper/$f")" 600
done
expect_eq "edge-dp's control socket is 0600" "$(mode_of /run/edge-dp/ctl.sock)" 600
setpriv --reuid=65534 --regid=65534 --clear-groups "$EF_BIN/edge-dp" \
    --control "$R/run/edge-dp/ctl.sock" --status >"$T_DIR/nobody" 2>&1
rc=$?
check "another user cannot ask edge-dp's control socket anything ($rc)" \
    sh -c "[ $rc -ne 0 ] && ! grep -q version '$T_DIR/nobody'"
check "...though root can" sh -c \
    "'$EF_BIN/edge-dp' --control '$R/run/edge-dp/ctl.sock' --status | grep -q version"

DPLOAD_PACE_US=500 ip netns exec "$NS" "$EF_BIN/dpload" $NODE_IP 8080 \
    /1k.bin 4 1 120 "$T_DIR/stop" >"$T_DIR/load" 2>"$T_DIR/load.err" &
LOAD=$!
T_PIDS="$T_PIDS $LOAD"
expect_api "roll out dataplane 2.0.0" 201 POST /v1/rollouts \
    '{"component":"dataplane","version":"2.0.0","strategy":"all_at_once"}'
check "the keeper upgrades to 2.0.0 by takeover" await 30 serves 2.0.0
check "the node reports dataplane 2.0.0" await 15 reports 2.0.0
completes "the 2.0.0 rollout completes"
: >"$T_DIR/stop"
wait "$LOAD"
read -r _ req _ failed _ kac _ newreq _ gap <"$T_DIR/load"
echo "# $(cat "$T_DIR/load")"
check "load ran through the upgrade ($req requests)" test "${req:-0}" -gt 100
expect_eq "zero failed requests across the upgrade" "$failed" 0
expect_eq "the kept-alive connections survived it (4 connects)" "$kac" 4

# The dataplane does not depend on the keeper, and the keeper adopts it.
dppid() { dp_pid "$R/run/edge-dp/ctl.sock"; }
D1=$(dppid)
kill -9 "$KP"
wait "$KP" 2>/dev/null
check "with the keeper killed, the dataplane keeps serving" serves 2.0.0
ip netns exec "$NS" "$KEEPER" --root "$R" run >>"$T_DIR/keeper.log" 2>&1 &
KP=$!
T_PIDS="$T_PIDS $KP"
check "a restarted keeper reports it again" await 15 reports 2.0.0
expect_eq "...adopting the running dataplane, not starting another" \
    "$(dppid)" "$D1"
# A dead dataplane is started again.
kill -9 "$D1"
restarted() { p=$(dppid); [ -n "$p" ] && [ "$p" != "$D1" ] && serves 2.0.0; }
check "a killed dataplane is started again by the keeper" await 30 restarted

# edge-dp unprivileged (T46): the step's "user" moves the running 2.0.0
# to a successor started with --user, by takeover, under load.
chmod 755 "$T_DIR" "$R" "$R/srv" "$R/srv/www"
chmod 644 "$R/srv/www/1k.bin"
UPROFILE=$(echo "$PROFILE" | jq -c '.steps[0].params.user = "nobody"')
expect_api "the profile, edge-dp as nobody" 201 PUT /v1/profile "$UPROFILE"
UPV=$(echo "$LAST" | jq .version)
DPLOAD_PACE_US=500 ip netns exec "$NS" "$EF_BIN/dpload" $NODE_IP 8080 \
    /1k.bin 4 1 120 "$T_DIR/stop2" >"$T_DIR/load2" 2>"$T_DIR/load2.err" &
LOAD2=$!
T_PIDS="$T_PIDS $LOAD2"
expect_api "roll it out" 201 POST /v1/rollouts \
    "{\"component\":\"profile\",\"version\":\"$UPV\",\"strategy\":\"all_at_once\"}"
dpuid() { "$EF_BIN/edge-dp" --control "$R/run/edge-dp/ctl.sock" --status \
    2>/dev/null | jq -r .uid; }
as_nobody() { [ "$(dpuid)" = 65534 ] && serves 2.0.0; }
check "edge-dp now runs as nobody (uid 65534) and serves" await 30 as_nobody
completes "the profile rollout completes"
expect_eq "its control directory is nobody's, 0700" \
    "$(stat -c '%u %a' "$R/run/edge-dp")" "65534 700"
: >"$T_DIR/stop2"
wait "$LOAD2"
read -r _ req _ failed _ kac _ <"$T_DIR/load2"
echo "# $(cat "$T_DIR/load2")"
expect_eq "zero failed requests across the move ($req requests)" "$failed" 0
expect_eq "...the kept-alive connections survived it (4 connects)" "$kac" 4

# The node's default (keeper.conf dataplane_user) is who edge-dp runs as
# when the step names no user: with it set to nobody, taking "user" out
# of the profile moves nothing; "user": "root" in the profile is root.
D2=$(dppid)
kill -9 "$KP"
wait "$KP" 2>/dev/null
echo "dataplane_user=nobody" >>"$R/etc/edge-keeper/keeper.conf"
ip netns exec "$NS" "$KEEPER" --root "$R" run >>"$T_DIR/keeper.log" 2>&1 &
KP=$!
T_PIDS="$T_PIDS $KP"
expect_api "the profile without a user again" 201 PUT /v1/profile "$PROFILE"
expect_api "roll it out" 201 POST /v1/rollouts \
    "{\"component\":\"profile\",\"version\":\"$(echo "$LAST" | jq .version)\",\"strategy\":\"all_at_once\"}"
completes "the profile rollout completes"
check "edge-dp stays nobody, as the node's default says" \
    sh -c "[ \"\$(\"$EF_BIN/edge-dp\" --control '$R/run/edge-dp/ctl.sock' --status | jq -r .uid)\" = 65534 ]"
expect_eq "...the same process: nothing was moved" "$(dppid)" "$D2"
RPROFILE=$(echo "$PROFILE" | jq -c '.steps[0].params.user = "root"')
expect_api "the profile, edge-dp as root by name" 201 PUT /v1/profile "$RPROFILE"
expect_api "roll it out" 201 POST /v1/rollouts \
    "{\"component\":\"profile\",\"version\":\"$(echo "$LAST" | jq .version)\",\"strategy\":\"all_at_once\"}"
as_root() { [ "$(dpuid)" = 0 ] && serves 2.0.0; }
check "edge-dp moves back to root and serves" await 30 as_root
completes "the profile rollout completes"

# Options changed in the profile move a running edge-dp of the same
# version to a successor that has them: here a health listener, which
# answers /healthz beside the serving address (dataplane/dp.h).
D3=$(dppid)
HPROFILE=$(echo "$RPROFILE" | jq -c ".steps[0].params.health_listen = \"$NODE_IP:8081\"")
expect_api "the profile, with a health listener" 201 PUT /v1/profile "$HPROFILE"
expect_api "roll it out" 201 POST /v1/rollouts \
    "{\"component\":\"profile\",\"version\":\"$(echo "$LAST" | jq .version)\",\"strategy\":\"all_at_once\"}"
health_up() { in_ns curl -sf "http://$NODE_IP:8081/healthz" | grep -qx ok; }
check "edge-dp answers /healthz on its health listener" await 30 health_up
check "...a successor of the same version took over" sh -c \
    "[ -n \"\$(\"$EF_BIN/edge-dp\" --control '$R/run/edge-dp/ctl.sock' --status | jq -r .pid)\" ] &&
     [ \"\$(\"$EF_BIN/edge-dp\" --control '$R/run/edge-dp/ctl.sock' --status | jq -r .pid)\" != '$D3' ]"
check "...and it serves" serves 2.0.0
completes "the profile rollout completes"

expect_api "roll out the tampered 3.0.0" 201 POST /v1/rollouts \
    '{"component":"dataplane","version":"3.0.0","strategy":"all_at_once"}'
refused() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
    jq -e '.status.steps[] | select(.name == "dp") | (.state == "error" and (.reason | test("refused")))'; }
check "the tampered release is refused, with the reason reported" await 30 refused
check "2.0.0 keeps serving" serves 2.0.0
check "the tampered binary was never installed" \
    test ! -e "$R/var/lib/edge-keeper/dataplane/3.0.0/edge-dp"

# Each of these must be refused, with its reason, while 2.0.0 serves.
# The active dataplane rollout (a refused release halts it) is aborted.
abort_active() {
	id=$(api GET /v1/rollouts | cut -d' ' -f2- |
	    jq -r '.rollouts[] | select(.component == "dataplane" and
	        (.state | IN("running", "halted", "paused", "approval"))) | .id')
	[ -n "$id" ] && api POST "/v1/rollouts/$id/abort" '{}' >/dev/null
}
rollout() { # VERSION [EXTRA_JSON]
	api POST /v1/rollouts "{\"component\":\"dataplane\",\"version\":\"$1\",\"strategy\":\"all_at_once\"${2:+,$2}}" |
	    cut -d' ' -f1
}
step_says() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
    jq -e --arg re "$1" '.status.steps[] | select(.name == "dp") |
        (.state == "error" and (.reason | test($re)))' >/dev/null; }
# Healthy again (a node degraded when a rollout starts is left out of it).
healthy_again() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
    jq -e '.health == "healthy"' >/dev/null; }
refuses() { # VERSION REASON_REGEX WHAT
	abort_active
	await 30 healthy_again
	expect_eq "roll out $1 ($3)" "$(rollout "$1")" 201
	check "$3: refused, the reason reported" await 30 step_says "$2"
	echo "# dp step: $(api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
	    jq -c '.status.steps[] | select(.name == "dp") | [.state, .reason]')"
	check "...and 2.0.0 keeps serving" serves 2.0.0
}
add_release() { # COMPONENT VERSION FILE
	"$CP" --data-dir "$CP_DIR" release add --component "$1" --version "$2" \
	    "$3" >/dev/null
}
B3="$T_DIR/b3.0.0/bin/edge-dp"
A="$CP_DIR/artifacts"

add_release dataplane 4.0.0 "$B3"
head -c 4096 /dev/zero >>"$A/dataplane/4.0.0"
refuses 4.0.0 "larger than" "an artifact grown on edge-cp's disk"

add_release dataplane 5.0.0 "$B3"
minisign -G -W -p "$T_DIR/other.pub" -s "$T_DIR/other.key" >/dev/null 2>&1 </dev/null
tcomment=$(sed -n 's/^trusted comment: //p' "$A/dataplane/5.0.0.minisig")
minisign -S -s "$T_DIR/other.key" -m "$A/dataplane/5.0.0" -x "$T_DIR/o.minisig" \
    -t "$tcomment" >/dev/null 2>&1 </dev/null
expect_eq "a signature by another key, same trusted comment" "$?" 0
cp "$T_DIR/o.minisig" "$A/dataplane/5.0.0.minisig"
refuses 5.0.0 "signed by another key" "a signature from another key"

add_release keeper 6.0.0 "$B3"
add_release dataplane 6.0.0 "$B3"
cp "$A/keeper/6.0.0.minisig" "$A/dataplane/6.0.0.minisig"
refuses 6.0.0 "signature is for component keeper" "the keeper's signature"

# Going back needs saying so: edge-cp refuses a rollout to an older
# release without it, and a node refuses a desired state that asks for
# an older sequence without it -- as one would after edge-cp's database
# is restored from an old backup.
abort_active
expect_eq "edge-cp: a rollout to the older 1.0.0 needs rollback:true" \
    "$(rollout 1.0.0)" 409
"$CP" --data-dir "$CP_DIR" rollout create dataplane 1.0.0 \
    --strategy all_at_once 2>"$T_DIR/cli.err" >/dev/null
check "...and the CLI says so" grep -q rollback_required "$T_DIR/cli.err"
rm -r "$R/var/lib/edge-keeper/dataplane/1.0.0"
sqlite3 "$CP_DIR/edge-cp.db" "UPDATE baseline SET version = '1.0.0',
    rollback = 0 WHERE component = 'dataplane'"
expect_api "(any change makes edge-cp rebuild desired states)" 201 POST \
    /v1/pops '{"name":"p2","region":"r"}'
check "the node refuses the older sequence, with the reason reported" \
    await 30 step_says "older than the newest admitted"
check "...and 2.0.0 keeps serving" serves 2.0.0
check "...and 1.0.0 was not installed" \
    test ! -e "$R/var/lib/edge-keeper/dataplane/1.0.0/edge-dp"
"$CP" --data-dir "$CP_DIR" rollout create dataplane 1.0.0 \
    --strategy all_at_once --rollback >/dev/null
expect_eq "an explicit rollback to 1.0.0 (edge-cp rollout create --rollback)" "$?" 0
check "is done: 1.0.0 serves" await 30 serves 1.0.0
completes "...and that rollout completes"

# A binary changed on the node after it was installed is never started:
# it is removed, fetched again, verified, and then it runs.
printf 'X' | dd of="$R/var/lib/edge-keeper/dataplane/2.0.0/edge-dp" bs=1 \
    seek=200 conv=notrunc 2>/dev/null
expect_eq "roll forward to 2.0.0 (its binary changed on the node)" \
    "$(rollout 2.0.0)" 201
check "the changed binary is refused and fetched again: 2.0.0 serves" \
    await 40 serves 2.0.0
check "...the installed binary is the one edge-cp signed" \
    cmp -s "$R/var/lib/edge-keeper/dataplane/2.0.0/edge-dp" "$A/dataplane/2.0.0"
grep -q "installed 2.0.0 refused" "$T_DIR/keeper.log"
expect_eq "...after the keeper said why it refused the changed one" "$?" 0
completes "...and that rollout completes"

# Releases that never become ready: the old one never stops serving.
printf '#!/bin/sh\nexit 3\n' >"$T_DIR/exits"
printf '#!/bin/sh\necho $$ >>"%s"\nexec sleep 60\n' "$T_DIR/hang.pids" \
    >"$T_DIR/hangs"
add_release dataplane 7.0.0 "$T_DIR/exits"
add_release dataplane 8.0.0 "$T_DIR/hangs"
refuses 7.0.0 "7.0.0 exited before it was ready .*; 2.0.0 keeps serving" \
    "a release that exits at once"
refuses 8.0.0 "8.0.0 was not ready in time and was stopped; 2.0.0 keeps serving" \
    "a release that hangs"
alive=0
for p in $(cat "$T_DIR/hang.pids"); do
	# A zombie waiting for init to reap it is not alive.
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$p/status" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ] && { alive=$((alive + 1)); ps -o pid,stat,args -p "$p" | sed 's/^/# /'; }
done
expect_eq "...and the hung process was stopped" "$alive" 0
abort_active

# No secret in any log this test made: edge-cp's, the keeper's and the
# dataplane's (T20).  Each secret as it is stored or handed out: the
# admin and enrollment tokens, the node key, the release signing key, the
# token-hash key, the state-signing key and edge-cp's TLS key (its base64
# lines).
LOGS="$CP_DIR/cp.log $T_DIR/keeper.log $R/var/lib/edge-keeper/dataplane/edge-dp.log"
secrets() {
	echo "$CP_TOKEN"
	echo "$TOKEN"
	cat "$R/var/lib/edge-keeper/node.key"
	sed -n '2p' "$CP_DIR/release.key"
	od -An -tx1 "$CP_DIR/hash.key" | tr -d ' \n'
	echo
	cat "$CP_DIR/state.key"
	grep -v '^-----' "$CP_DIR/tls.key"
}
leaks=0
n=0
for s in $(secrets); do
	[ ${#s} -ge 16 ] || continue
	n=$((n + 1))
	# shellcheck disable=SC2086 # the list of logs
	grep -qF -- "$s" $LOGS 2>/dev/null && leaks=$((leaks + 1))
done
check "secrets looked for ($n) in $(cat $LOGS 2>/dev/null | wc -l) log lines" \
    test "$n" -ge 7
expect_eq "...none of them in any log" "$leaks" 0
finish
