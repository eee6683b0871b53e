#!/bin/sh
# make demo / make demo-stop: a real mini-fleet on one machine (root).
#
#   host        edge-cp on 0.0.0.0:8443 (https://127.0.0.1:8443), data in
#               var/demo/cp; a link efdemo-h 203.0.113.253/30 to the router
#   router      namespace efdemo-router: BIRD (AS 65000) peering with
#               every node on the bridge 198.51.100.1/24, installing what
#               it learns with ECMP in its kernel table; forwards between
#               the nodes and the host
#   node1..3    namespaces efdemo-node1..3 (198.51.100.11-13): BIRD, and
#               edge-keeper under --root var/demo/nodes/nodeN, enrolled
#               with the real bootstrap line; the keeper installs edge-dp
#               from a signed release and gates 203.0.113.10/32 on it
#
# The host gets one route, 198.51.100.0/24 via the router, so the nodes
# reach edge-cp; `stop` removes it with everything else.  `start` always
# starts over: it stops what a previous demo left and wipes var/demo.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
data="$top/var/demo"
bin=${EF_BIN:-$top/build/bin}
cp="$bin/edge-cp"
port=${DEMO_PORT:-8443}
envdir=/run/edgefleet-demo
RNS=efdemo-router
NODES="1 2 3"
HOST_IP=203.0.113.253
RTR_UP=203.0.113.254
ANYCAST=203.0.113.10/32
POP=demo

say() { echo "demo: $*"; }
die() { echo "demo: $*" >&2; exit 1; }

# Every process the demo starts is recorded as "name pid"; stop kills
# exactly those pids, never by name.
track() { echo "$1 $2" >>"$data/pids"; }

stop() {
	if [ -f "$data/pids" ]; then
		while read -r name pid; do
			kill "$pid" 2>/dev/null && say "stopped $name (pid $pid)"
		done <"$data/pids"
		sleep 0.5
		while read -r name pid; do
			kill -9 "$pid" 2>/dev/null || true
		done <"$data/pids"
		rm -f "$data/pids"
	fi
	ip route del 198.51.100.0/24 via "$RTR_UP" 2>/dev/null || true
	ip link del efdemo-h 2>/dev/null || true
	for n in $NODES; do
		ip netns pids "efdemo-node$n" 2>/dev/null | while read -r p; do
			kill -9 "$p" 2>/dev/null || true
		done
		ip netns del "efdemo-node$n" 2>/dev/null || true
	done
	# What runs inside our namespaces (the edge-dp the keepers started,
	# whose pids a takeover changes) goes with them.
	ip netns pids "$RNS" 2>/dev/null | while read -r p; do
		kill -9 "$p" 2>/dev/null || true
	done
	ip netns del "$RNS" 2>/dev/null || true
	rm -f "$envdir/demo.env"
}

# await SECONDS CMD...: poll until CMD succeeds.
await() {
	n=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ "$n" -le 0 ] && return 1
		sleep 0.1
	done
}

api() { # METHOD PATH [BODY]
	curl -sfk --pinnedpubkey "$pin" -X "$1" \
	    -H "Authorization: Bearer $token" \
	    -H 'Content-Type: application/json' \
	    ${3:+--data-binary "$3"} "https://127.0.0.1:$port$2"
}

network() {
	ip netns add "$RNS"
	ip -n "$RNS" link set lo up
	ip netns exec "$RNS" sysctl -qw net.ipv4.ip_forward=1
	# ECMP by ports too, so clients spread over the nodes.
	ip netns exec "$RNS" sysctl -qw net.ipv4.fib_multipath_hash_policy=1
	ip link add efdemo-h type veth peer name efdemo-r
	ip link set efdemo-r netns "$RNS"
	ip addr add "$HOST_IP/30" dev efdemo-h
	ip link set efdemo-h up
	ip -n "$RNS" addr add "$RTR_UP/30" dev efdemo-r
	ip -n "$RNS" link set efdemo-r up
	ip -n "$RNS" route add default via "$HOST_IP"
	ip -n "$RNS" link add br0 type bridge
	ip -n "$RNS" addr add 198.51.100.1/24 dev br0
	ip -n "$RNS" link set br0 up
	ip route add 198.51.100.0/24 via "$RTR_UP"
	for n in $NODES; do
		ns="efdemo-node$n"
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		ip link add "efdn$n" type veth peer name "efdn${n}p"
		ip link set "efdn$n" netns "$ns"
		ip link set "efdn${n}p" netns "$RNS"
		ip -n "$RNS" link set "efdn${n}p" master br0 up
		ip -n "$ns" addr add "198.51.100.1$n/24" dev "efdn$n"
		ip -n "$ns" link set "efdn$n" up
		ip -n "$ns" route add default via 198.51.100.1
	done
}

router_bird() {
	mkdir -p "$data/router"
	{
		cat <<EOF
# The demo's upstream router: learns the anycast prefix from every node
# and installs all equal paths (ECMP) in its kernel table.
router id 198.51.100.1;
log "$data/router/bird.log" all;
timeformat protocol iso long;
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
	} >"$data/router/bird.conf"
	ip netns exec "$RNS" bird -f -c "$data/router/bird.conf" \
	    -s "$data/router/bird.ctl" -P "$data/router/bird.pid" \
	    >>"$data/router/bird.out" 2>&1 &
	track router-bird $!
}

node_bird() { # N
	r="$data/nodes/node$1"
	mkdir -p "$r/etc/bird" "$r/run/bird"
	cat >"$r/etc/bird/bird.conf" <<EOF
# This node's BIRD: everything edgefleet needs is in the keeper's file.
log "$r/bird.log" all;
include "$r/etc/bird/edgefleet.conf";
EOF
	printf '# until edge-keeper writes it\nprotocol device ef_device {\n}\n' \
	    >"$r/etc/bird/edgefleet.conf"
	ip netns exec "efdemo-node$1" bird -f -c "$r/etc/bird/bird.conf" \
	    -s "$r/run/bird/bird.ctl" -P "$r/bird.pid" >>"$r/bird.out" 2>&1 &
	track "node$1-bird" $!
}

start() {
	[ "$(id -u)" = 0 ] || die "run as root (namespaces, BIRD)"
	[ -x "$cp" ] || die "build first (make)"
	stop >/dev/null 2>&1 || true
	rm -rf "$data"
	mkdir -p "$data/cp" "$data/nodes" "$envdir"
	network || die "could not make the namespaces and links"

	"$cp" serve --listen "0.0.0.0:$port" --data-dir "$data/cp" \
	    --public-url "https://$HOST_IP:$port" --node-interval 2 \
	    --keeper-binary "$bin/edge-keeper" >>"$data/cp/edge-cp.log" 2>&1 &
	cpid=$!
	track edge-cp "$cpid"
	await 10 test -s "$data/cp/server.url" ||
	    die "edge-cp did not start; see $data/cp/edge-cp.log"
	token=$(cat "$data/cp/admin.token")
	pin=$(sed -n 's/.*event=listening.* pin=\([^ ]*\).*/\1/p' \
	    "$data/cp/edge-cp.log" | tail -n 1)

	router_bird
	for n in $NODES; do node_bird "$n"; done

	api POST /v1/pops '{"name":"'$POP'","region":"local","bgp":{
	  "asn":65001,"hold_time":9,
	  "neighbors":[{"address":"198.51.100.1","asn":65000,"name":"router"}],
	  "anycast":[{"prefix":"'$ANYCAST'","communities":["65001:100"],
	    "large_communities":["65001:0:1"]}],
	  "drain":{"communities":["65535:0"],"prepend":2,"drain_s":5}}}' \
	    >/dev/null || die "could not create the POP"
	# The release is the edge-dp just built, under the version it says
	# it is (what the keeper checks on its control socket).
	dpver=$("$bin/edge-dp" --version | awk '{print $2}')
	"$cp" --data-dir "$data/cp" release add --component dataplane \
	    --version "$dpver" "$bin/edge-dp" >/dev/null ||
	    die "could not upload the edge-dp release"
	api PUT /v1/profile '{"steps":[
	  {"name":"dataplane","kind":"dataplane","params":{
	    "listen":["0.0.0.0:80"],"control":"/run/edge-dp/control.sock",
	    "root":"/var/www","workers":1,
	    "health_listen":"127.0.0.1:8081"}},
	  {"name":"bird","kind":"bird_config"},
	  {"name":"anycast","kind":"anycast","after":["bird"],
	    "params":{"probe":"http://127.0.0.1:8081/healthz"}}]}' \
	    >"$data/profile.json" || die "could not set the profile"
	pv=$(jq -r .version "$data/profile.json")
	api POST /v1/rollouts '{"component":"profile","version":"'$pv'","strategy":"all_at_once"}' \
	    >/dev/null
	api POST /v1/rollouts '{"component":"dataplane","version":"'$dpver'","strategy":"all_at_once"}' \
	    >/dev/null

	boot=$(api POST /v1/enrollment-tokens \
	    '{"pop":"'$POP'","uses":3,"ttl_s":600}' | jq -r .bootstrap_command)
	for n in $NODES; do
		ns="efdemo-node$n"
		r="$data/nodes/node$n"
		mkdir -p "$r/var/www"
		echo "served by node$n" >"$r/var/www/index.html"
		line=$(echo "$boot" |
		    sed "s#| sudo EDGE_TOKEN=#| EDGE_ROOT=$r EDGE_TOKEN=#")
		# Its own host name for the enrollment (a UTS namespace).
		ip netns exec "$ns" unshare --uts sh -c \
		    "hostname node$n && $line" >"$r/bootstrap.out" 2>&1 ||
		    die "node$n did not enroll; see $r/bootstrap.out"
		ip netns exec "$ns" "$r/usr/bin/edge-keeper" --root "$r" run \
		    >>"$r/keeper.log" 2>&1 &
		track "node$n-keeper" $!
	done

	say "waiting for the anycast route at the router..."
	routes=0
	for i in $(seq 1 60); do
		routes=$(ip netns exec "$RNS" birdc -s "$data/router/bird.ctl" \
		    show route for "$ANYCAST" all 2>/dev/null |
		    grep -c 'BGP.as_path' || true)
		[ "$routes" -ge 3 ] && break
		sleep 1
	done

	cat >"$envdir/demo.env" <<ENV
CP_URL=https://127.0.0.1:$port
ADMIN_TOKEN=$token
CP_PID=$cpid
POP=$POP
ANYCAST=$ANYCAST
ROUTER_NS=$RNS
ROUTER_BIRDC="ip netns exec $RNS birdc -s $data/router/bird.ctl"
NODE_NS="efdemo-node1 efdemo-node2 efdemo-node3"
ENV
	chmod 600 "$envdir/demo.env"
	rbirdc="ip netns exec $RNS birdc -s $data/router/bird.ctl"
	cat <<MSG

edgefleet demo: edge-cp (pid $cpid), a router and three nodes; the router
has $routes of 3 paths to $ANYCAST.

  Dashboard:   https://127.0.0.1:$port/#token=$token
               (self-signed; pin $pin)
  Admin token: $token
  State:       $data (logs beside each part), $envdir/demo.env

Try:
  export EDGE_CP_URL=https://127.0.0.1:$port EDGE_CP_TOKEN=$token
  $cp --data-dir $data/cp node list
  $rbirdc show route all for $ANYCAST
  ip netns exec $RNS ip route show $ANYCAST
  ip netns exec $RNS curl -s http://${ANYCAST%/32}/
  # kill one node's dataplane and watch its path leave the router:
  kill \$($bin/edge-dp --status --control $data/nodes/node1/run/edge-dp/control.sock | jq .pid)
  watch -n 0.5 "$rbirdc show route for $ANYCAST all | grep -c as_path"
  # drain a node (GRACEFUL_SHUTDOWN first, withdrawn after 5 s):
  $cp --data-dir $data/cp node drain <node-id>

Stop it with: make demo-stop
MSG
}

case "${1:-start}" in
start) start ;;
stop)
	stop
	say "stopped"
	;;
*)
	echo "usage: demo.sh start|stop" >&2
	exit 2
	;;
esac
