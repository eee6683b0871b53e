#!/bin/sh
# Anycast through a real BIRD on both sides: a node namespace (edge-dp,
# BIRD, edge-keeper) peers with a router namespace (BIRD, installing
# what it learns in its kernel table).  The keeper renders the BIRD
# include from the POP's settings and gates the anycast address on the
# dataplane's health.  Checked at the router: the route and its
# communities; a community change without a session reset; withdrawal
# when edge-dp dies and the return when it is back; a flapping dataplane
# that never gets its route back; drain (community first, withdrawal
# after drain_s) and undrain; an edge-cp outage withdrawing nothing; the
# forced-withdrawal guard.
. "$(dirname "$0")/lib.sh"
KEEPER="$EF_BIN/edge-keeper"
DP="$EF_BIN/edge-dp"
# The host's side of the link to edge-cp; 192.0.2.0/24 can be the
# machine's own network, so a corner of 203.0.113.0/24.
HOST_IP=203.0.113.201
NODE_IP=203.0.113.202
RTR_IP=198.51.100.1
PEER_IP=198.51.100.11
ANY=203.0.113.10

command -v bird >/dev/null || { echo "ok 1 - bgp # SKIP no bird"; exit 0; }
setup_ns bgp efb
RNS="${NS}r"
cleanup_extra() { dump_logs; ip netns delete "$RNS" 2>/dev/null; }
ip netns add "$RNS" || { fail "router namespace"; finish; exit 1; }
node_link "$NS" "$HOST_IP" "$NODE_IP" || { fail "host link"; finish; exit 1; }
ip link add "${NS}a" type veth peer name "${NS}b" &&
ip link set "${NS}a" netns "$NS" &&
ip link set "${NS}b" netns "$RNS" &&
in_ns ip addr add "$PEER_IP/24" dev "${NS}a" &&
in_ns ip link set "${NS}a" up &&
ip netns exec "$RNS" ip addr add "$RTR_IP/24" dev "${NS}b" &&
ip netns exec "$RNS" ip link set "${NS}b" up &&
ip netns exec "$RNS" ip link set lo up || { fail "peering link"; finish; exit 1; }
in_ns sysctl -qw net.ipv4.ip_nonlocal_bind=0

# The router: AS 65000, takes everything from the node, installs it.
RCTL="$T_DIR/router.ctl"
cat >"$T_DIR/router.conf" <<EOF
router id $RTR_IP;
log "$T_DIR/router.log" all;
timeformat protocol iso long;
protocol device { }
protocol kernel { ipv4 { export all; }; }
protocol bgp node1 {
	local as 65000;
	neighbor $PEER_IP as 65001;
	hold time 9;
	ipv4 { import all; export none; };
}
EOF
ip netns exec "$RNS" bird -f -c "$T_DIR/router.conf" -s "$RCTL" \
    -P "$T_DIR/router.pid" >"$T_DIR/router.out" 2>&1 &
T_PIDS="$T_PIDS $!"
rbirdc() { ip netns exec "$RNS" birdc -s "$RCTL" "$@"; }
# What a failed run needs to be understood, as TAP comments.
dump_logs() {
	[ "$T_FAILED" -eq 0 ] && return
	for f in enroll.out node-bird.out node-bird.log router.log dp.log \
	    keeper.log cp/cp.log; do
		[ -f "$T_DIR/$f" ] || continue
		echo "# --- $f"
		tail -n 25 "$T_DIR/$f" | sed 's/^/#   /'
	done
}
route() { rbirdc show route all for "$ANY/32"; }
has_route() { route | grep -q "$ANY/32"; }
no_route() { rbirdc show route for "$ANY/32" | grep -q "Network not found"; }
since() { rbirdc show protocols node1 | awk '/^node1/ {print $5, $6}'; }

# The node's root: BIRD's main config includes the keeper's file.
R="$T_DIR/node"
mkdir -p "$R/etc/bird" "$R/run/bird" "$R/www"
cat >"$R/etc/bird/bird.conf" <<EOF
log "$T_DIR/node-bird.log" all;
include "$R/etc/bird/edgefleet.conf";
EOF
# Until the keeper writes it; the device protocol has the keeper's name
# for it, so BIRD keeps it (and the interfaces it knows) on reconfigure.
printf '# until the keeper writes it\nprotocol device ef_device {\n}\n' \
    >"$R/etc/bird/edgefleet.conf"
ip netns exec "$NS" bird -f -c "$R/etc/bird/bird.conf" -s "$R/run/bird/bird.ctl" \
    -P "$T_DIR/node-bird.pid" >"$T_DIR/node-bird.out" 2>&1 &
T_PIDS="$T_PIDS $!"
nbirdc() { in_ns birdc -s "$R/run/bird/bird.ctl" "$@"; }

echo hello >"$R/www/index.html"
start_dp() {
	ip netns exec "$NS" "$DP" --listen 0.0.0.0:8080 --control "$T_DIR/dp.ctl" \
	    --root "$R/www" --workers 1 >>"$T_DIR/dp.log" 2>&1 &
	DPP=$!
	T_PIDS="$T_PIDS $DPP"
	await 10 in_ns curl -sf http://127.0.0.1:8080/healthz
}
start_dp || fail "edge-dp starts"

CPARGS="--node-interval 1"
start_cp "$T_DIR/cp" $CPARGS || { fail "edge-cp starts"; finish; exit 1; }
stop_cp TERM
start_cp_on() {
	rm -f "$CP_DIR/server.url"
	"$CP" serve --listen "$1" --data-dir "$CP_DIR" $CPARGS \
	    >>"$CP_DIR/cp.log" 2>&1 &
	CP_PID=$!
	T_PIDS="$T_PIDS $CP_PID"
	await 20 test -s "$CP_DIR/server.url"
}
start_cp_on "$HOST_IP:0" || { fail "edge-cp starts"; finish; exit 1; }
CP_URL=$(cat "$CP_DIR/server.url")

BGP='{"asn":65001,"hold_time":9,
 "neighbors":[{"address":"'$RTR_IP'","asn":65000}],
 "anycast":[{"prefix":"'$ANY'/32","communities":["65001:100"],
  "large_communities":["65001:1:2"]}],
 "drain":{"communities":["65535:0"],"drain_s":3}}'
expect_api "a POP with BGP settings" 201 POST /v1/pops \
    "{\"name\":\"ams1\",\"region\":\"eu\",\"bgp\":$BGP}"
TOKEN=$(api POST /v1/enrollment-tokens '{"pop":"ams1"}' | cut -d' ' -f2- | jq -r .token)
in_ns "$KEEPER" --root "$R" enroll --server "$CP_URL" --pin "$CP_PIN" \
    --token "$TOKEN" >"$T_DIR/enroll.out" 2>&1
expect_eq "the node enrolls" "$?" 0
NODE=$(sed -n 's/^node_id=//p' "$R/etc/edge-keeper/keeper.conf")
expect_api "its router id comes from its facts" 200 GET "/v1/nodes/$NODE"
expect_eq "...the lowest own IPv4 address" \
    "$(echo "$LAST" | jq -r .facts.router_id)" "$PEER_IP"
expect_api "an operator sets another router id" 200 PATCH "/v1/nodes/$NODE" \
    "{\"router_id\":\"$NODE_IP\"}"
expect_eq "...which the node view shows" "$(echo "$LAST" | jq -r .router_id)" \
    "$NODE_IP"
expect_api "a bad router id is refused" 400 PATCH "/v1/nodes/$NODE" \
    '{"router_id":"203.0.113.300"}'

PROFILE='{"steps":[
 {"name":"bird","kind":"bird_config"},
 {"name":"anycast","kind":"anycast","after":["bird"],
  "params":{"probe":"http://127.0.0.1:8080/healthz","min_down_ms":2000}}]}'
expect_api "a profile with bird_config and anycast" 201 PUT /v1/profile "$PROFILE"
PV=$(echo "$LAST" | jq -r .version)
expect_api "roll it out" 201 POST /v1/rollouts \
    "{\"component\":\"profile\",\"version\":\"$PV\",\"strategy\":\"all_at_once\"}"

ip netns exec "$NS" "$KEEPER" --root "$R" run >"$T_DIR/keeper.log" 2>&1 &
KP=$!
T_PIDS="$T_PIDS $KP"

if ! await 30 has_route; then
	fail "the router learns the anycast route"
	finish
	exit 1
fi
ok "the router learns the anycast route"
route >"$T_DIR/route1"
check "...with the POP's community" grep -q 'BGP.community: (65001,100)' "$T_DIR/route1"
check "...and its large community" grep -q 'BGP.large_community: (65001, 1, 2)' "$T_DIR/route1"
rbirdc show protocols all node1 >"$T_DIR/proto1"
check "...over the session with the router id set" \
    grep -q "Neighbor ID:.*$NODE_IP" "$T_DIR/proto1"
check "a client in the router namespace reaches the anycast address" \
    ip netns exec "$RNS" curl -sf --max-time 5 "http://$ANY:8080/index.html"
check "the generated include is readable and checked" \
    grep -q 'protocol bgp ef_peer_198_51_100_1' "$R/etc/bird/edgefleet.conf"
node_json() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2-; }
reported() { node_json | jq -e "$1" >/dev/null; }
check "the node reports its BGP session Established" await 15 reported \
    '.status.bgp_sessions[0].state == "Established"'
check "...the prefix it announces" await 5 reported \
    ".announced == [\"$ANY/32\"]"
check "...and the gate's history" reported \
    '.status.anycast.state == "announced" and (.status.anycast.flips | length) >= 1'

# Communities change through the API: new filter constants, a refeed,
# the same session.
S1=$(since)
BGP2=$(echo "$BGP" | sed 's/65001:100/65001:200/')
expect_api "change the POP's community" 200 PATCH /v1/pops/ams1 "{\"bgp\":$BGP2}"
route_has() { route | grep -qF "$1"; }
check "the router sees the new community" await 20 route_has \
    'BGP.community: (65001,200)'

expect_eq "...over the same BGP session (not reset)" "$(since)" "$S1"

# A health flip never reloads BIRD.
last_reconf() { nbirdc show status | grep 'Last reconfiguration'; }
R1=$(last_reconf)
t0=$(date +%s%N)
kill -9 "$DPP"
wait "$DPP" 2>/dev/null
check "killing edge-dp withdraws the route at the router" await 10 no_route
t1=$(date +%s%N)
echo "# withdrawal seen at the router after $(( (t1 - t0) / 1000000 )) ms"
check "...and the address leaves lo" sh -c \
    "! ip netns exec $NS ip -4 addr show dev lo | grep -q $ANY"
check "the node reports the dataplane unhealthy" await 10 reported \
    '.status.dataplane.healthy == false or .status.anycast.state == "withdrawn"'
start_dp || fail "edge-dp starts again"
check "a healthy dataplane gets its route back" await 15 has_route
expect_eq "...without a BIRD reload on either flip" "$(last_reconf)" "$R1"
expect_eq "...and the session never reset" "$(since)" "$S1"

# Flapping faster than rise (5 probes of 250 ms): down 0.5 s, up 0.5 s.
kill -9 "$DPP"; wait "$DPP" 2>/dev/null
await 10 no_route
flap_end=$(( $(date +%s) + 8 ))
came_back=0
while [ "$(date +%s)" -lt "$flap_end" ]; do
	ip netns exec "$NS" "$DP" --listen 0.0.0.0:8080 --control "$T_DIR/dp.ctl" \
	    --root "$R/www" --workers 1 >>"$T_DIR/dp.log" 2>&1 &
	fp=$!
	sleep 0.5
	kill -9 "$fp"; wait "$fp" 2>/dev/null
	has_route && came_back=$((came_back + 1))
	sleep 0.5
done
expect_eq "a dataplane flapping faster than rise never gets the route back" "$came_back" 0
start_dp || fail "edge-dp starts again"
check "...a steady one does" await 15 has_route
# Short stalls (SIGSTOP for 0.4 s: at most two failed probes, fall is
# three) never withdraw it.
gone=0
for i in 1 2 3 4 5 6; do
	kill -STOP "$DPP"; sleep 0.4; kill -CONT "$DPP"; sleep 0.8
	no_route && gone=$((gone + 1))
done
expect_eq "stalls shorter than fall never withdraw the route" "$gone" 0

# Drain: the drain community first, the withdrawal after drain_s.
expect_api "drain the node" 200 POST "/v1/nodes/$NODE/drain"
check "the router sees the GRACEFUL_SHUTDOWN community" await 15 \
    route_has '(65535,0)' 
check "...then the route is withdrawn after drain_s" await 15 no_route
check "the node reports drained" await 10 reported '.status.drained == true'
expect_api "undrain it" 200 POST "/v1/nodes/$NODE/undrain"
check "the route comes back" await 20 has_route
no_drain_c() { has_route && ! route_has '(65535,0)'; }
check "...without the drain community" await 10 no_drain_c

# edge-cp down for 60 s withdraws nothing.
stop_cp KILL
lost=0
for i in $(seq 1 60); do
	has_route || lost=$((lost + 1))
	sleep 1
done
expect_eq "edge-cp killed for 60 s: the route stayed the whole time" "$lost" 0
start_cp_on "${CP_URL#https://}" || fail "edge-cp restarts"
check "the keeper reports again once edge-cp is back" await 30 sh -c \
    "grep -q event=cp_reachable '$T_DIR/keeper.log'"

# The main config must include the keeper's file; the step says so.
cp "$R/etc/bird/bird.conf" "$T_DIR/bird.conf.good"
grep -v include "$T_DIR/bird.conf.good" >"$R/etc/bird/bird.conf"
check "a bird.conf without the include is reported" await 15 sh -c \
    "ip netns exec $NS '$KEEPER' --root '$R' check | grep -q 'does not include'"
cp "$T_DIR/bird.conf.good" "$R/etc/bird/bird.conf"

# The guard: taking every prefix away needs force.
NOANY=$(echo "$BGP" | jq -c '.anycast = []')
expect_api "withdrawing every prefix of a POP is refused" 409 PATCH \
    /v1/pops/ams1 "{\"bgp\":$NOANY}"
check "...and the route stays" has_route
expect_api "...unless forced" 200 PATCH /v1/pops/ams1 \
    "{\"bgp\":$NOANY,\"force\":true}"
check "then the route goes" await 20 no_route
check "...and the address leaves lo" await 10 sh -c \
    "! ip netns exec $NS ip -4 addr show dev lo | grep -q $ANY"

kill "$KP"
wait "$KP"
expect_eq "the keeper stops cleanly" "$?" 0
finish
