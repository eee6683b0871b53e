#!/bin/sh
# make demo end to end: the mini-fleet comes up (edge-cp, a router and
# three nodes with BIRD, edge-keeper and the edge-dp they install),
# demo.env says where everything is, the router reaches the anycast
# address over three equal paths, a killed dataplane's path leaves and
# comes back, starting it again starts over cleanly, and demo-stop leaves
# no process, namespace, link or route behind.  Skipped while an
# operator's own demo is running (it would be replaced).
. "$(dirname "$0")/lib.sh"
ENVF=/run/edgefleet-demo/demo.env
DEMO="$EF_TOP/packaging/demo.sh"

if [ -f "$ENVF" ]; then
	echo "ok 1 - demo # SKIP a demo is running ($ENVF)"
	exit 0
fi
if ! ip netns add "efdemo-probe$$" 2>/dev/null; then
	echo "ok 1 - demo # SKIP cannot create network namespaces here"
	exit 0
fi
ip netns delete "efdemo-probe$$"
setup demo
export DEMO_PORT=$((20000 + $$ % 12000))
demo_stop() { EF_BIN="$EF_BIN" sh "$DEMO" stop >/dev/null 2>&1; }
trap 'demo_stop; cleanup' EXIT

sh "$DEMO" start >"$T_DIR/start1" 2>&1
expect_eq "make demo starts the mini-fleet" "$?" 0
check "demo.env is written" test -s "$ENVF"
. "$ENVF"
for k in CP_URL ADMIN_TOKEN CP_PID POP ANYCAST ROUTER_NS ROUTER_BIRDC NODE_NS; do
	eval "v=\${$k:-}"
	check "demo.env has $k" test -n "$v"
done
check "it prints the dashboard link with its token" \
    grep -q "/#token=$ADMIN_TOKEN" "$T_DIR/start1"
paths() { $ROUTER_BIRDC show route for "$ANYCAST" all | grep -c as_path; }
three() { [ "$(paths)" = 3 ]; }
check "the router has a path through each node" await 30 three
check "...installed as ECMP in its kernel" sh -c \
    "[ \$(ip netns exec $ROUTER_NS ip route show $ANYCAST | grep -c nexthop) = 3 ]"
check "a client in the router namespace reaches the anycast address" \
    ip netns exec "$ROUTER_NS" curl -sf -o /dev/null --max-time 5 "http://${ANYCAST%/32}/"
healthy3() {
	[ "$(curl -sk -H "Authorization: Bearer $ADMIN_TOKEN" "$CP_URL/v1/nodes" |
	    jq '[.nodes[] | select(.health == "healthy")] | length')" = 3 ]
}
check "edge-cp sees three healthy nodes" await 30 healthy3

# The demo's own hint: kill one node's dataplane.
node1=$(echo "$NODE_NS" | cut -d' ' -f1)
ctl="$EF_TOP/var/demo/nodes/node1/run/edge-dp/control.sock"
pid=$(ip netns exec "$node1" "$EF_BIN/edge-dp" --status --control "$ctl" | jq .pid)
check "node1's edge-dp answers on its control socket" test "${pid:-0}" -gt 1
two() { [ "$(paths)" -lt 3 ]; }
# Killed as the keeper's pass is due, it may be back before the fall;
# a few tries at most.
left=1
for i in 1 2 3; do
	pid=$(ip netns exec "$node1" "$EF_BIN/edge-dp" --status --control "$ctl" | jq .pid)
	kill -9 "$pid" 2>/dev/null
	if await 3 two; then left=0; break; fi
	await 15 three
done
expect_eq "a killed dataplane's path leaves the router" "$left" 0
check "...and comes back once the keeper restarted it" await 30 three

sh "$DEMO" start >"$T_DIR/start2" 2>&1
expect_eq "make demo again starts over" "$?" 0
. "$ENVF"
check "...with three paths again" await 30 three

sh "$DEMO" stop >"$T_DIR/stop" 2>&1
expect_eq "make demo-stop" "$?" 0
check "no demo namespace is left" sh -c "! ip netns list | grep -q efdemo-"
check "no demo link is left" sh -c "! ip link show efdemo-h 2>/dev/null"
check "no demo route is left" sh -c "! ip route | grep -q '198.51.100.0/24 via 203.0.113.254'"
check "no demo process is left" sh -c \
    "! ps -eo args | grep -v grep | grep -q '$EF_TOP/var/demo'"
check "demo.env is gone" test ! -e "$ENVF"
finish
