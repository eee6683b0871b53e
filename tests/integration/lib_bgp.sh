# The anycast test bed, shared by tests/integration/bgp.sh and
# tests/bench/withdrawal.sh (POSIX sh, sourced after lib.sh): a router
# namespace "${NS}r" running BIRD (AS 65000; it installs what it learns
# in its kernel table) peered over 198.51.100.0/24 with the node
# namespace "$NS" (BIRD whose bird.conf includes the keeper's file,
# edge-dp on :8080, edge-keeper under the root $R), and edge-cp on the
# host end of a link to the node.
KEEPER="$EF_BIN/edge-keeper"
DP="$EF_BIN/edge-dp"
# The host's side of the link to edge-cp; 192.0.2.0/24 can be the
# machine's own network, so a corner of 203.0.113.0/24.
HOST_IP=203.0.113.201
NODE_IP=203.0.113.202
RTR_IP=198.51.100.1
PEER_IP=198.51.100.11
ANY=203.0.113.10
BGP='{"asn":65001,"hold_time":9,
 "neighbors":[{"address":"'$RTR_IP'","asn":65000}],
 "anycast":[{"prefix":"'$ANY'/32","communities":["65001:100"],
  "large_communities":["65001:1:2"]}],
 "drain":{"communities":["65535:0"],"drain_s":3}}'

rbirdc() { ip netns exec "$RNS" birdc -s "$RCTL" "$@"; }
nbirdc() { in_ns birdc -s "$R/run/bird/bird.ctl" "$@"; }
route() { rbirdc show route all for "$ANY/32"; }
route_has() { route | grep -qF "$1"; }
has_route() { route | grep -q "$ANY/32"; }
no_route() { rbirdc show route for "$ANY/32" | grep -q "Network not found"; }
# When the router's session with the node came up (iso long time).
since() { rbirdc show protocols node1 | awk '/^node1/ {print $5, $6}'; }

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
cleanup_extra() {
	dump_logs
	ip netns delete "$RNS" 2>/dev/null
}

# bgp_bed_up: after setup_ns, the router namespace, the links and both
# BIRDs; 0, or 1 after a failed TAP line.
bgp_bed_up() {
	RNS="${NS}r"
	RCTL="$T_DIR/router.ctl"
	R="$T_DIR/node"
	ip netns add "$RNS" || { fail "router namespace"; return 1; }
	node_link "$NS" "$HOST_IP" "$NODE_IP" || { fail "host link"; return 1; }
	if ! { ip link add "${NS}a" type veth peer name "${NS}b" &&
	    ip link set "${NS}a" netns "$NS" &&
	    ip link set "${NS}b" netns "$RNS" &&
	    in_ns ip addr add "$PEER_IP/24" dev "${NS}a" &&
	    in_ns ip link set "${NS}a" up &&
	    ip netns exec "$RNS" ip addr add "$RTR_IP/24" dev "${NS}b" &&
	    ip netns exec "$RNS" ip link set "${NS}b" up &&
	    ip netns exec "$RNS" ip link set lo up; }; then
		fail "peering link"
		return 1
	fi
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
	mkdir -p "$R/etc/bird" "$R/run/bird" "$R/www"
	cat >"$R/etc/bird/bird.conf" <<EOF
log "$T_DIR/node-bird.log" all;
include "$R/etc/bird/edgefleet.conf";
EOF
	# Until the keeper writes it.  The device protocol has the keeper's
	# name for it, so BIRD keeps it (and the interfaces it knows) when
	# the keeper's file replaces this one.
	printf '# until the keeper writes it\nprotocol device ef_device {\n}\n' \
	    >"$R/etc/bird/edgefleet.conf"
	ip netns exec "$NS" bird -f -c "$R/etc/bird/bird.conf" \
	    -s "$R/run/bird/bird.ctl" -P "$T_DIR/node-bird.pid" \
	    >"$T_DIR/node-bird.out" 2>&1 &
	T_PIDS="$T_PIDS $!"
	echo hello >"$R/www/index.html"
}

# start_dp: edge-dp in the node on :8080, its pid in DPP.
start_dp() {
	ip netns exec "$NS" "$DP" --listen 0.0.0.0:8080 \
	    --control "$T_DIR/dp.ctl" --root "$R/www" --workers 1 \
	    >>"$T_DIR/dp.log" 2>&1 &
	DPP=$!
	T_PIDS="$T_PIDS $DPP"
	await 10 in_ns curl -sf http://127.0.0.1:8080/healthz
}

# bgp_cp_up: edge-cp on the host end of the node's link, nodes checking
# in every second (CP_URL, CP_PIN, CP_TOKEN as start_cp sets them).
bgp_cp_up() {
	CPARGS="--node-interval 1"
	CP_LISTEN="$HOST_IP:0"
	start_cp "$T_DIR/cp" $CPARGS || { fail "edge-cp starts"; return 1; }
}

# bgp_node_up ANYCAST_PARAMS: the POP "ams1" with $BGP, the node enrolled
# (NODE), a profile of bird_config and anycast (with those params) rolled
# out; then bgp_keeper_up runs the keeper (KP).
bgp_node_up() {
	expect_api "a POP with BGP settings" 201 POST /v1/pops \
	    "{\"name\":\"ams1\",\"region\":\"eu\",\"bgp\":$BGP}"
	TOKEN=$(api POST /v1/enrollment-tokens '{"pop":"ams1"}' |
	    cut -d' ' -f2- | jq -r .token)
	in_ns "$KEEPER" --root "$R" enroll --server "$CP_URL" \
	    --pin "$CP_PIN" --token "$TOKEN" >"$T_DIR/enroll.out" 2>&1
	expect_eq "the node enrolls" "$?" 0
	NODE=$(sed -n 's/^node_id=//p' "$R/etc/edge-keeper/keeper.conf")
	PROFILE='{"steps":[
	 {"name":"bird","kind":"bird_config"},
	 {"name":"anycast","kind":"anycast","after":["bird"],"params":'$1'}]}'
	expect_api "a profile with bird_config and anycast" 201 PUT \
	    /v1/profile "$PROFILE"
	PV=$(echo "$LAST" | jq -r .version)
	expect_api "roll it out" 201 POST /v1/rollouts \
	    "{\"component\":\"profile\",\"version\":\"$PV\",\"strategy\":\"all_at_once\"}"
}

bgp_keeper_up() {
	ip netns exec "$NS" "$KEEPER" --root "$R" run \
	    >"$T_DIR/keeper.log" 2>&1 &
	KP=$!
	T_PIDS="$T_PIDS $KP"
}
