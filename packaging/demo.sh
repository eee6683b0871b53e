#!/bin/sh
# make demo / make demo-stop.
#
# For now the demo is edge-cp alone on its embedded database, data under
# ./var/demo; the mini-fleet of keepers, dataplanes and BIRD in network
# namespaces joins it as those parts land.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
data="$top/var/demo"
pidfile="$data/edge-cp.pid"
port=${DEMO_PORT:-8443}
cp="$top/build/bin/edge-cp"

running() {
	[ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

case "${1:-start}" in
start)
	mkdir -p "$data"
	if running; then
		echo "demo: edge-cp already running (pid $(cat "$pidfile"))"
	else
		rm -f "$data/server.url"
		"$cp" serve --listen "0.0.0.0:$port" --data-dir "$data" \
		    >>"$data/edge-cp.log" 2>&1 &
		echo $! >"$pidfile"
		i=0
		while [ ! -s "$data/server.url" ]; do
			i=$((i + 1))
			if [ $i -gt 100 ] || ! running; then
				echo "demo: edge-cp did not start; see $data/edge-cp.log" >&2
				exit 1
			fi
			sleep 0.1
		done
	fi
	url=$(cat "$data/server.url")
	token=$(cat "$data/admin.token")
	"$cp" --data-dir "$data" pop list 2>/dev/null | grep -q '^demo ' ||
	    "$cp" --data-dir "$data" pop add demo --region local \
	    --bgp '{"asn":64512,"anycast":[{"prefix":"203.0.113.10/32"}]}' \
	    >/dev/null
	# What scripts and later tests read about the running demo.
	envdir=/run/edgefleet-demo
	if mkdir -p "$envdir" 2>/dev/null; then
		cat >"$envdir/demo.env" <<ENV
CP_URL=$url
ADMIN_TOKEN=$token
CP_PID=$(cat "$pidfile")
POP=demo
ANYCAST=203.0.113.10/32
ROUTER_NS=
ROUTER_BIRDC=
NODE_NS=
ENV
		chmod 600 "$envdir/demo.env"
	fi
	cat <<MSG

edgefleet demo: edge-cp is running (pid $(cat "$pidfile")), data in $data

  Dashboard:   $url/#token=$token
               (self-signed certificate; its pin is in $data/edge-cp.log)
  Admin token: $token

Try:
  $cp --data-dir $data pop list
  $cp --data-dir $data token create --pop demo
  $cp --data-dir $data events

Stop it with: make demo-stop
MSG
	;;
stop)
	if running; then
		pid=$(cat "$pidfile")
		kill "$pid"
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		echo "demo: stopped edge-cp (pid $pid)"
	else
		echo "demo: not running"
	fi
	rm -f "$pidfile" /run/edgefleet-demo/demo.env
	;;
*)
	echo "usage: demo.sh start|stop" >&2
	exit 2
	;;
esac
