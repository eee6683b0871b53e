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
. "$(dirname "$0")/lib_bgp.sh"

command -v bird >/dev/null || { echo "ok 1 - bgp # SKIP no bird"; exit 0; }
setup_ns bgp efb
KEEPER=$(keeper_cmd "$KEEPER")
bgp_bed_up || { finish; exit 1; }
start_dp || fail "edge-dp starts"
bgp_cp_up || { finish; exit 1; }
bgp_node_up '{"probe":"http://127.0.0.1:8080/healthz","min_down_ms":2000}'
expect_api "its router id comes from its facts" 200 GET "/v1/nodes/$NODE"
expect_eq "...the lowest own IPv4 address" \
    "$(echo "$LAST" | jq -r .facts.router_id)" "$PEER_IP"
expect_api "an operator sets another router id" 200 PATCH "/v1/nodes/$NODE" \
    "{\"router_id\":\"$NODE_IP\"}"
expect_eq "...which the node view shows" "$(echo "$LAST" | jq -r .router_id)" \
    "$NODE_IP"
expect_api "a bad router id is refused" 400 PATCH "/v1/nodes/$NODE" \
    '{"router_id":"203.0.113.300"}'
bgp_keeper_up

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
in_ns "$KEEPER" --root "$R" status >"$T_DIR/status"
check "edge-keeper status shows the gate and the session" sh -c \
    "grep -q '^anycast *announced: $ANY/32' '$T_DIR/status' &&
     grep -q '^bgp *$RTR_IP Established' '$T_DIR/status'"
in_ns curl -s http://127.0.0.1:9464/metrics >"$T_DIR/metrics"
check "the keeper's metrics show the announced prefix" grep -q \
    "^edgekeeper_anycast_announced{prefix=\"$ANY/32\"} 1" "$T_DIR/metrics"

# Communities change through the API: new filter constants, a refeed,
# the same session.
S1=$(since)
BGP2=$(echo "$BGP" | sed 's/65001:100/65001:200/')
expect_api "change the POP's community" 200 PATCH /v1/pops/ams1 "{\"bgp\":$BGP2}"
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
CP_LISTEN=${CP_URL#https://}
start_cp "$CP_DIR" $CPARGS || fail "edge-cp restarts"
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
