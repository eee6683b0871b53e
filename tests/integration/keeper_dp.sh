#!/bin/sh
# The keeper's dataplane step end to end, all real processes in a network
# namespace: three edge-dp releases (built with different versions) are
# uploaded to edge-cp and signed; a profile with a dataplane step and an
# all_at_once rollout install and start 1.0.0; a rollout of 2.0.0 upgrades
# it by takeover while clients keep kept-alive connections open (zero
# failed requests, no reconnect); a tampered artifact (3.0.0) is refused
# with the reason reported and 2.0.0 keeps serving.
. "$(dirname "$0")/lib.sh"
KEEPER="$EF_BIN/edge-keeper"
NS="efkd$$"
HOST_IP=198.51.100.5
NODE_IP=198.51.100.6
setup keeperdp
if ! ip netns add "$NS" 2>/dev/null; then
	echo "ok 1 - keeper_dp # SKIP cannot create network namespaces here"
	exit 0
fi
R="$T_DIR/node"
cleanup_ns() {
	# The dataplane is detached from the keeper: find it by its socket.
	p=$("$EF_BIN/edge-dp" --control "$R/run/edge-dp/ctl.sock" --status \
	    2>/dev/null | sed -n 's/^{"version":"[^"]*","pid":\([0-9]*\).*/\1/p')
	[ -n "$p" ] && kill "$p" 2>/dev/null
	cleanup
	ip netns delete "$NS" 2>/dev/null
	ip link delete "${NS}h" 2>/dev/null
}
trap cleanup_ns EXIT
node_link "$NS" "$HOST_IP" "$NODE_IP" || { fail "namespace link"; finish; exit 1; }
in_ns() { ip netns exec "$NS" "$@"; }

# Releases of edge-dp that say different versions.
for v in 1.0.0 2.0.0 3.0.0; do
	make -s -C "$EF_TOP" BUILD="$T_DIR/b$v" VERSION=$v \
	    "$T_DIR/b$v/bin/edge-dp" >"$T_DIR/build$v.log" 2>&1 ||
	    { fail "build edge-dp $v"; finish; exit 1; }
done
ok "built edge-dp 1.0.0, 2.0.0 and 3.0.0"

CP_DIR="$T_DIR/cp"
mkdir -p "$CP_DIR"
"$CP" serve --listen "$HOST_IP:0" --data-dir "$CP_DIR" --node-interval 1 \
    >>"$CP_DIR/cp.log" 2>&1 &
CP_PID=$!
T_PIDS="$T_PIDS $CP_PID"
await 20 test -s "$CP_DIR/server.url" || { fail "edge-cp starts"; finish; exit 1; }
CP_URL=$(cat "$CP_DIR/server.url")
CP_TOKEN=$(cat "$CP_DIR/admin.token")
CP_PIN=$(sed -n 's/.*event=listening.* pin=\([^ ]*\).*/\1/p' "$CP_DIR/cp.log")
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
 \"root\":\"$R/srv/www\",\"workers\":2,\"drain_timeout\":10}}]}"
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
check "the 1.0.0 rollout completes" await 15 idle

DPLOAD_PACE_US=500 ip netns exec "$NS" "$EF_BIN/dpload" $NODE_IP 8080 \
    /1k.bin 4 1 120 "$T_DIR/stop" >"$T_DIR/load" 2>"$T_DIR/load.err" &
LOAD=$!
T_PIDS="$T_PIDS $LOAD"
expect_api "roll out dataplane 2.0.0" 201 POST /v1/rollouts \
    '{"component":"dataplane","version":"2.0.0","strategy":"all_at_once"}'
check "the keeper upgrades to 2.0.0 by takeover" await 30 serves 2.0.0
check "the node reports dataplane 2.0.0" await 15 reports 2.0.0
check "the 2.0.0 rollout completes" await 15 idle
: >"$T_DIR/stop"
wait "$LOAD"
read -r _ req _ failed _ kac _ newreq _ gap <"$T_DIR/load"
echo "# $(cat "$T_DIR/load")"
check "load ran through the upgrade ($req requests)" test "${req:-0}" -gt 100
expect_eq "zero failed requests across the upgrade" "$failed" 0
expect_eq "the kept-alive connections survived it (4 connects)" "$kac" 4

# The dataplane does not depend on the keeper, and the keeper adopts it.
dppid() { "$EF_BIN/edge-dp" --control "$R/run/edge-dp/ctl.sock" --status \
    2>/dev/null | sed -n 's/^{"version":"[^"]*","pid":\([0-9]*\).*/\1/p'; }
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

expect_api "roll out the tampered 3.0.0" 201 POST /v1/rollouts \
    '{"component":"dataplane","version":"3.0.0","strategy":"all_at_once"}'
refused() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
    jq -e '.status.steps[] | select(.name == "dp") | (.state == "error" and (.reason | test("refused")))'; }
check "the tampered release is refused, with the reason reported" await 30 refused
check "2.0.0 keeps serving" serves 2.0.0
check "the tampered binary was never installed" \
    test ! -e "$R/var/lib/edge-keeper/dataplane/3.0.0/edge-dp"
finish
