#!/bin/sh
# Wave rollouts across a real mini-fleet: four nodes in two POPs, each a
# network namespace with BIRD, edge-keeper and the edge-dp it installs
# from signed releases, announcing one anycast address to a router that
# installs every path (ECMP); edge-cp runs in the router's namespace.
# While a client in the router keeps loading the anycast address:
#   - a good release (2.0.0) goes wave by wave to every node, a wave
#     moving only after the one before passed, each node's dataplane
#     probed by edge-cp itself, and edge-cp killed -9 in the middle of it
#     picks the rollout up where it was;
#   - a signed release that exits at once (3.0.0) halts after the canary,
#     which keeps serving 2.0.0; abort puts it back;
#   - a profile with a failing step halts at the canary, naming the step;
#     abort puts the canary back on the previous profile;
#   - a good release (4.0.0) with approval, aborted after its canary wave:
#     the canary goes back to 2.0.0 by takeover;
# and not one request of the load fails.
. "$(dirname "$0")/lib.sh"
KEEPER="$EF_BIN/edge-keeper"
HOST_IP=203.0.113.229
RTR_UP=203.0.113.230
ANY=203.0.113.10
NODES="1 2 3 4"
setup_ns rollout_fleet efrf
RNS=$NS
cleanup_extra() {
	if [ "$T_FAILED" -gt 0 ]; then
		for f in cp/cp.log n1/keeper.log n2/keeper.log; do
			[ -f "$T_DIR/$f" ] || continue
			echo "# --- $f"
			grep -v 'event=report\|event=request' "$T_DIR/$f" |
			    tail -n 20 | sed 's/^/#   /'
		done
	fi
	# What runs in our namespaces: the dataplanes the keepers started
	# (a takeover changes their pids), the keepers, the BIRDs, edge-cp.
	for n in $NODES; do
		for p in $(ip netns pids "$NS$n" 2>/dev/null); do
			kill -9 "$p" 2>/dev/null
		done
		ip netns delete "$NS$n" 2>/dev/null
	done
	for p in $(ip netns pids "$RNS" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
}
rns() { ip netns exec "$RNS" "$@"; }

# The network: the host's link to the router (for the test's API calls),
# a bridge in the router with every node on it.
node_link "$RNS" "$HOST_IP" "$RTR_UP" || { fail "host link"; finish; exit 1; }
net_up() {
	rns sysctl -qw net.ipv4.ip_forward=1 &&
	rns sysctl -qw net.ipv4.fib_multipath_hash_policy=1 &&
	rns ip link add br0 type bridge &&
	rns ip addr add 198.51.100.1/24 dev br0 &&
	rns ip link set br0 up || return 1
	for n in $NODES; do
		ip netns add "$NS$n" &&
		ip -n "$NS$n" link set lo up &&
		ip link add "${NS}v$n" type veth peer name "${NS}p$n" &&
		ip link set "${NS}v$n" netns "$NS$n" &&
		ip link set "${NS}p$n" netns "$RNS" &&
		rns ip link set "${NS}p$n" master br0 up &&
		ip -n "$NS$n" addr add "198.51.100.1$n/24" dev "${NS}v$n" &&
		ip -n "$NS$n" link set "${NS}v$n" up &&
		ip -n "$NS$n" route add default via 198.51.100.1 || return 1
	done
}
net_up || { fail "namespaces and links"; finish; exit 1; }
ok "a router and four node namespaces"

# BIRD in the router (every path to the anycast address, ECMP) and in
# every node (including the keeper's file).
{
	cat <<EOF
router id 198.51.100.1;
log "$T_DIR/router.log" all;
protocol device { }
protocol kernel { ipv4 { export all; }; merge paths on; }
EOF
	for n in $NODES; do
		cat <<EOF
protocol bgp node$n {
	local as 65000;
	neighbor 198.51.100.1$n as 65001;
	hold time 9;
	ipv4 { import all; export none; };
}
EOF
	done
} >"$T_DIR/router.conf"
rns bird -f -c "$T_DIR/router.conf" -s "$T_DIR/router.ctl" \
    -P "$T_DIR/router.pid" >"$T_DIR/router.out" 2>&1 &
T_PIDS="$T_PIDS $!"
for n in $NODES; do
	r="$T_DIR/n$n"
	mkdir -p "$r/etc/bird" "$r/run/bird" "$r/www"
	printf 'log "%s/bird.log" all;\ninclude "%s/etc/bird/edgefleet.conf";\n' \
	    "$r" "$r" >"$r/etc/bird/bird.conf"
	printf 'protocol device ef_device {\n}\n' >"$r/etc/bird/edgefleet.conf"
	ip netns exec "$NS$n" bird -f -c "$r/etc/bird/bird.conf" \
	    -s "$r/run/bird/bird.ctl" -P "$r/bird.pid" >"$r/bird.out" 2>&1 &
	T_PIDS="$T_PIDS $!"
	head -c 1024 /dev/urandom >"$r/www/1k.bin"
done

# Releases of edge-dp that say different versions, and one that exits
# at once.
for v in 1.0.0 2.0.0 4.0.0; do
	make -s -C "$EF_TOP" BUILD="$T_DIR/b$v" VERSION=$v \
	    "$T_DIR/b$v/bin/edge-dp" >"$T_DIR/build$v.log" 2>&1 ||
	    { fail "build edge-dp $v"; finish; exit 1; }
done
printf '#!/bin/sh\nexit 3\n' >"$T_DIR/exits"
ok "built edge-dp 1.0.0, 2.0.0 and 4.0.0"

# edge-cp in the router's namespace, on its end of the host link: the
# nodes reach it through their default route, the test over the link.
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$RNS" "$EF_BIN/edge-cp" \
    >"$T_DIR/edge-cp"
chmod 755 "$T_DIR/edge-cp"
CP="$T_DIR/edge-cp"
CP_LISTEN="$RTR_UP:0"
start_cp "$T_DIR/cp" --node-interval 1 || { fail "edge-cp starts"; finish; exit 1; }
CP_LISTEN=${CP_URL#https://}
# Uploaded in version order (a node refuses a release older than one it
# admitted, unless told it is a rollback).
for v in 1.0.0 2.0.0 3.0.0 4.0.0; do
	f="$T_DIR/b$v/bin/edge-dp"
	[ $v = 3.0.0 ] && f="$T_DIR/exits"
	"$CP" --data-dir "$CP_DIR" release add --component dataplane \
	    --version $v "$f" >/dev/null || fail "upload release $v"
done

BGP='{"asn":65001,"hold_time":9,
 "neighbors":[{"address":"198.51.100.1","asn":65000}],
 "anycast":[{"prefix":"'$ANY'/32","communities":["65001:100"]}]}'
for p in p1 p2; do
	expect_api "POP $p" 201 POST /v1/pops \
	    "{\"name\":\"$p\",\"region\":\"eu\",\"bgp\":$BGP}"
done
STEPS='{"name":"dp","kind":"dataplane","params":{
 "listen":["0.0.0.0:8080"],"control":"/run/edge-dp/ctl.sock","root":"/www",
 "workers":1,"drain_timeout":10,"ready_timeout":3}},
 {"name":"bird","kind":"bird_config"},
 {"name":"anycast","kind":"anycast","after":["bird","dp"],
  "params":{"probe":"http://127.0.0.1:8080/healthz"}}'
expect_api "a profile: dataplane, BIRD config, anycast" 201 PUT /v1/profile \
    "{\"steps\":[$STEPS]}"
PV=$(echo "$LAST" | jq -r .version)
expect_api "...rolled out" 201 POST /v1/rollouts \
    "{\"component\":\"profile\",\"version\":\"$PV\",\"strategy\":\"all_at_once\"}"

for n in $NODES; do
	p=p1
	[ "$n" -gt 2 ] && p=p2
	tok=$(api POST /v1/enrollment-tokens "{\"pop\":\"$p\"}" | cut -d' ' -f2- |
	    jq -r .token)
	r="$T_DIR/n$n"
	ip netns exec "$NS$n" unshare --uts sh -c "hostname node$n &&
	    '$KEEPER' --root '$r' enroll --server '$CP_URL' --pin '$CP_PIN' \
	    --token '$tok'" >"$r/enroll.out" 2>&1 || fail "node$n enrolls"
	sed -i 's/^metrics=.*/metrics=off/' "$r/etc/edge-keeper/keeper.conf"
	eval "ID_$n=\$(sed -n 's/^node_id=//p' '$r/etc/edge-keeper/keeper.conf')"
	ip netns exec "$NS$n" "$KEEPER" --root "$r" run >"$r/keeper.log" 2>&1 &
	T_PIDS="$T_PIDS $!"
done
ok "four nodes enrolled, their keepers running"

# idx ID: which node (1-4) has that id.
idx() {
	for n in $NODES; do
		eval "[ \"\$ID_$n\" = \"$1\" ]" && { echo "$n"; return; }
	done
}
serves() { # N VERSION: node N's dataplane answers as VERSION
	[ "$(rns curl -sf --max-time 2 "http://198.51.100.1$1:8080/version")" = \
	    "edge-dp $2" ]
}
all_serve() { for n in $NODES; do serves "$n" "$1" || return 1; done; }
paths() { rns birdc -s "$T_DIR/router.ctl" show route for "$ANY/32" all |
    grep -c 'BGP.as_path'; }
four_paths() { [ "$(paths)" = 4 ]; }
healthy4() {
	[ "$(api GET /v1/nodes | cut -d' ' -f2- |
	    jq '[.nodes[] | select(.health == "healthy")] | length')" = 4 ]
}
ro() { api GET "/v1/rollouts/$1" | cut -d' ' -f2-; }
ro_is() { [ "$(ro "$1" | jq -r .state)" = "$2" ]; }
idle() { api GET /v1/fleet | cut -d' ' -f2- | jq -e '.active_rollouts | length == 0'; }
create() { # JSON: POST a rollout; RO is its id
	expect_api "$2" 201 POST /v1/rollouts "$1"
	RO=$(echo "$LAST" | jq -r .id)
}
# The canary of rollout $1 (its node number).
canary() { idx "$(ro "$1" | jq -r '.wave_list[0].node_list[0].id')"; }
why() { echo "# rollout $1: $(ro "$1" | jq -c '[.state, .wave, .reason]')"; }
# halts_naming NAME RO NODE PATTERN: RO halted with a reason naming node
# NODE (1-4) and matching the shell PATTERN after it.
halts_naming() {
	_says=$(ro "$2" | jq -r .reason)
	case "$_says" in
	*"$(eval echo "\$ID_$3")"*$4*) ok "$1" ;;
	*) fail "$1" "$_says" ;;
	esac
}

# The profile went out before any release: the nodes are healthy with
# nothing to run yet, and the first release reaches them all.
check "with the profile and no release yet, four healthy nodes" await 30 healthy4
expect_api "dataplane 1.0.0 rolled out" 201 POST /v1/rollouts \
    '{"component":"dataplane","version":"1.0.0","strategy":"all_at_once"}'
check "every node serves dataplane 1.0.0" await 60 all_serve 1.0.0
check "edge-cp sees four healthy nodes" await 30 healthy4
check "the router has a path through each node" await 60 four_paths
if await 30 idle; then
	ok "the setup rollouts complete"
else
	fail "the setup rollouts complete"
	api GET /v1/rollouts | cut -d' ' -f2- | jq -c '.rollouts[] |
	    select(.state == "running") | [.component, .version, .reason,
	    [.wave_list[].node_list[] | [.id, .waiting_for]]]' | sed 's/^/# /'
fi

# One load for everything below, through the router's ECMP paths.
DPLOAD_PACE_US=20000 rns "$EF_BIN/dpload" "$ANY" 8080 /1k.bin 6 1 400 \
    "$T_DIR/stop" >"$T_DIR/load" 2>"$T_DIR/load.err" &
LOAD=$!
T_PIDS="$T_PIDS $LOAD"

# 1. A good release, wave by wave, with edge-cp killed in the middle.
create '{"component":"dataplane","version":"2.0.0","bake_s":2,
 "min_reports":2,"deadline_s":120,"probe":{"port":8080}}' \
    "roll out 2.0.0 in the default waves, probing every dataplane"
R2=$RO
echo "# waves: $(echo "$LAST" | jq -c '[.wave_list[] | [.name, .nodes]]')"
past_canary() { [ "$(ro "$R2" | jq .wave)" -ge 1 ]; }
check "the canary wave passes" await 60 past_canary
stop_cp KILL
start_cp "$T_DIR/cp" --node-interval 1
expect_eq "edge-cp, killed -9 mid-rollout, starts again" "$?" 0
check "...and the rollout goes on to complete" await 120 ro_is "$R2" completed
why "$R2"
check "every node serves 2.0.0" all_serve 2.0.0
# Every move of wave W (counted from 1) came after exactly W - 1 waves
# had passed.
api GET "/v1/events?limit=1000" | cut -d' ' -f2- |
    jq -c --arg o "rollout/$R2" '[.events[] | select(.object == $o) |
        .action]' >"$T_DIR/ev2"
echo "# events: $(cat "$T_DIR/ev2")"
ordered=$(api GET "/v1/events?limit=1000" | cut -d' ' -f2- |
    jq --arg o "rollout/$R2" '[.events[] | select(.object == $o)] |
    reduce .[] as $e ({passed: 0, ok: true};
        if $e.action == "rollout.wave_passed" then .passed += 1
        elif $e.action == "rollout.move" then
            .ok = (.ok and ($e.detail.wave == .passed + 1))
        else . end) | .ok and .passed >= 3')
expect_eq "waves moved in order, each after the one before passed" "$ordered" true
probed=$(api GET "/v1/events?limit=1000" | cut -d' ' -f2- |
    jq --arg o "rollout/$R2" '[.events[] | select(.object == $o and
    .action == "rollout.wave_passed") | .detail.probed == .detail.nodes] |
    length >= 3 and all')
expect_eq "...every node of every wave passed edge-cp's own probe" "$probed" true
check "four paths at the router after it" await 30 four_paths

# 2. A signed release that exits at once: halts after the canary.
create '{"component":"dataplane","version":"3.0.0","bake_s":2,
 "min_reports":2,"deadline_s":120}' "roll out 3.0.0 (exits at once)"
RB=$RO
C=$(canary "$RB")
check "it halts" await 60 ro_is "$RB" halted
why "$RB"
halts_naming "the halt names the canary and what happened" "$RB" "$C" exited
check "the canary (node$C) still serves 2.0.0" serves "$C" 2.0.0
moved=$(ro "$RB" | jq '.progress.moved')
expect_eq "no node past the canary moved" "$moved" 1
check "...and every other node serves 2.0.0" all_serve 2.0.0
check "the canary's path stays at the router" four_paths
expect_api "abort it" 200 POST "/v1/rollouts/$RB/abort"
check "...the canary is healthy on 2.0.0 again" await 30 healthy4

# 3. A profile with a failing step: halts at the canary.
expect_api "a profile with a sysctl that does not exist" 201 PUT \
    /v1/profile "{\"steps\":[$STEPS,{\"name\":\"bad\",\"kind\":\"sysctl\",
    \"params\":{\"key\":\"net.ipv4.ef_no_such_key\",\"value\":\"1\"}}]}"
PBAD=$(echo "$LAST" | jq -r .version)
create "{\"component\":\"profile\",\"version\":\"$PBAD\",\"bake_s\":2,
 \"min_reports\":2,\"deadline_s\":120}" "roll it out"
RP=$RO
C=$(canary "$RP")
check "it halts at the canary" await 60 ro_is "$RP" halted
why "$RP"
halts_naming "the halt names the node and the step" "$RP" "$C" \
    'wave 1 canary*bad'

expect_eq "only the canary moved" "$(ro "$RP" | jq '.progress.moved')" 1
expect_api "abort it" 200 POST "/v1/rollouts/$RP/abort"
back_on_pv() {
	api GET "/v1/nodes/$(eval echo "\$ID_$C")" | cut -d' ' -f2- |
	    jq -e --arg v "$PV" '.versions.profile == $v and .health == "healthy"'
}
check "...the canary is back on the previous profile, healthy" await 30 back_on_pv

# 4. Abort after a good canary: the canary goes back by takeover.
create '{"component":"dataplane","version":"4.0.0","bake_s":2,
 "min_reports":2,"approval":true,"deadline_s":120}' \
    "roll out 4.0.0 with approval between waves"
R4=$RO
C=$(canary "$R4")
check "the canary wave passes and waits for approval" await 60 ro_is "$R4" approval
check "the canary (node$C) serves 4.0.0" serves "$C" 4.0.0
expect_api "abort" 200 POST "/v1/rollouts/$R4/abort"
check "the canary serves 2.0.0 again" await 60 serves "$C" 2.0.0
check "every node serves 2.0.0" all_serve 2.0.0
check "the rollout says aborted" ro_is "$R4" aborted
settled() { healthy4 && four_paths; }
check "four healthy nodes and four paths at the end" await 30 settled

: >"$T_DIR/stop"
wait "$LOAD"
read -r _ req _ failed _ kac _ newreq _ gap <"$T_DIR/load"
echo "# load: $(cat "$T_DIR/load")"
check "the load ran all through ($req requests)" test "${req:-0}" -gt 500
expect_eq "not one request failed" "$failed" 0
expect_eq "no kept-alive connection was lost (6 connects)" "$kac" 6
finish
