#!/bin/sh
# A release download below the keeper's speed floor (T5), all real
# processes in a network namespace: edge-dp 1.0.0 serves; the link from
# edge-cp to the node is slowed with tc to 4 kbit/s (500 bytes/s, under
# RELEASE_LOW_SPEED_BPS) and 2.0.0, a few hundred KB, is rolled out.  The
# keeper must give the download up (the dp step says it was too slow),
# 1.0.0 must keep serving, and nothing may be half installed: no .part,
# no binary without its .minisig.  Once the link is restored, the next
# attempt, after the step's backoff, installs and starts 2.0.0.
. "$(dirname "$0")/lib.sh"
KEEPER="$EF_BIN/edge-keeper"
HOST_IP=198.51.100.45
NODE_IP=198.51.100.46
setup_ns keeper_slowdl efsd
KEEPER=$(keeper_cmd "$KEEPER")
R="$T_DIR/node"
CTL="$R/run/edge-dp/ctl.sock"
DPD="$R/var/lib/edge-keeper/dataplane"
dppid() { dp_pid "$CTL"; }
cleanup_extra() {
	tc qdisc del dev "${NS}h" root 2>/dev/null
	# The dataplane is detached from the keeper: found by its socket.
	p=$(dppid)
	[ -n "$p" ] && kill "$p" 2>/dev/null
	if [ "$T_FAILED" -gt 0 ]; then
		for f in "$T_DIR/keeper.log" "$DPD/edge-dp.log"; do
			[ -f "$f" ] || continue
			echo "# --- $f"
			grep -v event=report "$f" | tail -n 25 | sed 's/^/#   /'
		done
	fi
}
node_link "$NS" "$HOST_IP" "$NODE_IP" || { fail "namespace link"; finish; exit 1; }

# Two versions from one build directory: the second build only compiles
# the version in again.
for v in 1.0.0 2.0.0; do
	make -s -C "$EF_TOP" BUILD="$T_DIR/b" VERSION=$v "$T_DIR/b/bin/edge-dp" \
	    >>"$T_DIR/build.log" 2>&1 || { fail "build edge-dp $v"; finish; exit 1; }
	cp "$T_DIR/b/bin/edge-dp" "$T_DIR/edge-dp-$v"
done
# An ELF runs with bytes appended: 2.0.0 is made a few hundred KB.
head -c 200000 /dev/urandom >>"$T_DIR/edge-dp-2.0.0"
ok "built edge-dp 1.0.0 and 2.0.0 ($(wc -c <"$T_DIR/edge-dp-2.0.0") bytes)"

CP_LISTEN="$HOST_IP:0"
start_cp "$T_DIR/cp" --node-interval 1 || { fail "edge-cp starts"; finish; exit 1; }
for v in 1.0.0 2.0.0; do
	"$CP" --data-dir "$CP_DIR" release add --component dataplane \
	    --version $v "$T_DIR/edge-dp-$v" >/dev/null
	expect_eq "upload dataplane $v" "$?" 0
done
expect_api "a POP" 201 POST /v1/pops '{"name":"p1","region":"r"}'
TOKEN=$(api POST /v1/enrollment-tokens '{"pop":"p1"}' | cut -d' ' -f2- | jq -r .token)
in_ns "$KEEPER" --root "$R" enroll --server "$CP_URL" --pin "$CP_PIN" \
    --token "$TOKEN" >/dev/null
expect_eq "the node enrolls" "$?" 0
NODE=$(sed -n 's/^node_id=//p' "$R/etc/edge-keeper/keeper.conf")
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
ip netns exec "$NS" "$KEEPER" --root "$R" run >"$T_DIR/keeper.log" 2>&1 &
KP=$!
T_PIDS="$T_PIDS $KP"
serves() { in_ns curl -sf "http://$NODE_IP:8080/version" | grep -qx "edge-dp $1"; }
check "the keeper installs and starts 1.0.0" await 30 serves 1.0.0
idle() { api GET /v1/fleet | cut -d' ' -f2- | jq -e '.active_rollouts | length == 0'; }
check "the 1.0.0 rollout completes" await 20 idle

# Nothing half installed: no .part, and every binary with its signature.
whole() {
	[ -z "$(find "$DPD" -name '*.part')" ] || return 1
	for b in $(find "$DPD" -name edge-dp); do
		[ -s "$b.minisig" ] || return 1
	done
}
# The download goes to a memory file of the keeper's unprivileged part.
downloading() {
	for c in $(cat /proc/"$KP"/task/*/children 2>/dev/null); do
		for f in /proc/"$c"/fd/*; do
			case $(readlink "$f" 2>/dev/null) in
			*memfd:edge-keeper-release*)
				[ "$(stat -L -c %s "$f" 2>/dev/null)" -gt 0 ] &&
				    return 0 ;;
			esac
		done
	done
	return 1
}
# The dp step as the node reports it, read from the copy the keeper keeps
# (last-pass.json): its reports cross the slowed link too, and may not
# make it while the link is slow.
dp_reason() { jq -r '.report | fromjson | .steps[] | select(.name == "dp") |
    "\(.state): \(.reason)"' "$R/var/lib/edge-keeper/last-pass.json" 2>/dev/null; }
dp_says() { dp_reason | grep -q -- "$1"; }

# A burst of 10 KB lets the new desired state and the signature through
# at once, so that what is slow is the download; a queue of 3 KB keeps
# what is left queued once a download is given up small.
tc qdisc add dev "${NS}h" root tbf rate 4kbit burst 10kb limit 3kb
expect_eq "the link from edge-cp to the node is slowed to 4 kbit/s (tc tbf)" "$?" 0
expect_api "roll out dataplane 2.0.0" 201 POST /v1/rollouts \
    '{"component":"dataplane","version":"2.0.0","strategy":"all_at_once"}'
check "the keeper downloads 2.0.0 (bytes arrive)" await 30 downloading
# Under 1024 bytes/s for 30 s stops it (keeper/release.h): awaited, not
# timed.
check "the keeper gives the download up: the dp step says it was too slow" \
    await 90 dp_says "^error: release 2.0.0 refused: download: .*too slow"
echo "# dp step: $(dp_reason)"
check "...1.0.0 keeps serving" serves 1.0.0
check "...it is the 1.0.0 edge-cp signed that runs" \
    cmp -s "/proc/$(dppid)/exe" "$CP_DIR/artifacts/dataplane/1.0.0"
check "...2.0.0 is not installed" test ! -e "$DPD/2.0.0/edge-dp"
check "...nothing is half installed (no .part, no binary without its .minisig)" \
    whole
no_download() { ! downloading; }
check "...and the download's memory file is gone" no_download

tc qdisc del dev "${NS}h" root
expect_eq "the link is restored" "$?" 0
check "the next attempt, after the step's backoff, installs 2.0.0 and it serves" \
    await 60 serves 2.0.0
check "...the installed binary is the one edge-cp signed" \
    cmp -s "$DPD/2.0.0/edge-dp" "$CP_DIR/artifacts/dataplane/2.0.0"
check "...with its signature beside it, and no .part anywhere" whole
reports() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
    jq -e ".versions.dataplane == \"$1\" and .health == \"healthy\""; }
check "the node reports dataplane 2.0.0, healthy" await 20 reports 2.0.0
# The failed attempt halted the rollout (a step in error): resume it.
RO=$(api GET /v1/rollouts | cut -d' ' -f2- | jq -r '.rollouts[] |
    select(.version == "2.0.0" and .state == "halted") | .id')
[ -n "$RO" ] && api POST "/v1/rollouts/$RO/resume" '{}' >/dev/null
check "the 2.0.0 rollout completes" await 20 idle
kill "$KP"
wait "$KP"
expect_eq "the keeper stops cleanly" "$?" 0
finish
