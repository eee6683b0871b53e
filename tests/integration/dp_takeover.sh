#!/bin/sh
# edge-dp takeover under load, in a private network namespace (so nstat's
# counters are ours): kept-alive clients and new-connection clients run
# through 20 takeovers -- worker counts 1, 2 and 3 in turn, and one
# successor that dies before it is ready -- with zero failed requests, the
# kept-alive connections the same TCP connections throughout, and no
# listen drops or resets.
. "$(dirname "$0")/lib.sh"
DP="$EF_BIN/edge-dp"
setup_ns dp_takeover efdp
mkdir -p "$T_DIR/www"
head -c 1024 /dev/urandom >"$T_DIR/www/1k.bin"
CTL="$T_DIR/ctl"
PORT=8080

# Started as "ip netns exec" directly (no shell function), so $! is the
# edge-dp process itself: ip execs it.
ip netns exec "$NS" "$DP" --listen 127.0.0.1:$PORT --control "$CTL" \
    --root "$T_DIR/www" --workers 2 --drain-timeout 10 >>"$T_DIR/dp.log" 2>&1 &
T_PIDS="$T_PIDS $!"
await 10 "$DP" --control "$CTL" --status || { fail "edge-dp starts"; finish; exit 1; }
ok "edge-dp starts"

in_ns nstat -n >/dev/null 2>&1
DPLOAD_PACE_US=200 ip netns exec "$NS" "$EF_BIN/dpload" 127.0.0.1 $PORT /1k.bin 8 2 120 \
    "$T_DIR/stop" >"$T_DIR/load" 2>"$T_DIR/load.err" &
LOAD=$!
T_PIDS="$T_PIDS $LOAD"
sleep_until_requests() {
	await 10 sh -c "[ \$(\"$DP\" --control \"$CTL\" --status | sed -n 's/.*\"requests\":\([0-9]*\).*/\1/p') -gt $1 ]"
}
sleep_until_requests 100

n=1
failed_takeovers=0
while [ $n -le 20 ]; do
	old=$(dp_pid "$CTL")
	workers=$(( n % 3 + 1 ))
	if [ $n -eq 10 ]; then
		# A successor that dies before it is ready: nothing changes.
		EDGE_DP_TEST_DIE_BEFORE_READY=500 in_ns "$DP" --listen 127.0.0.1:$PORT \
		    --control "$CTL" --root "$T_DIR/www" --workers $workers \
		    --takeover >>"$T_DIR/dp.log" 2>&1
		expect_eq "takeover $n: a successor dying before ready changes nothing" \
		    "$(dp_pid "$CTL")" "$old"
	else
		ip netns exec "$NS" "$DP" --listen 127.0.0.1:$PORT \
		    --control "$CTL" --root "$T_DIR/www" --workers $workers \
		    --takeover --drain-timeout 10 >>"$T_DIR/dp.log" 2>&1 &
		new=$!
		T_PIDS="$T_PIDS $new"
		serving() { [ "$(dp_pid "$CTL")" = "$new" ]; }
		# The old one is our child: reap it and read how it ended.
		if await 20 serving && wait "$old"; then
			T_PIDS=$(echo "$T_PIDS" | sed "s/ $old\b//")
		else
			failed_takeovers=$((failed_takeovers + 1))
		fi
	fi
	sleep_until_requests 50
	echo "# takeover $n done at $(date +%s.%N | cut -c1-14)"
	n=$((n + 1))
done
expect_eq "19 takeovers completed (old process gone, new one serving)" \
    "$failed_takeovers" 0
: >"$T_DIR/stop"
wait "$LOAD"
rc=$?
T_PIDS=$(echo "$T_PIDS" | sed "s/ $LOAD\b//")
read -r _ req _ failed _ kac _ newreq _ gap <"$T_DIR/load"
echo "# $(cat "$T_DIR/load")"
sed 's/^/# /' "$T_DIR/load.err" | head -20
check "requests were served throughout ($req)" test "${req:-0}" -gt 1000
expect_eq "zero failed requests across 20 takeovers" "$failed" 0
expect_eq "the 8 kept-alive connections are the same TCP connections" "$kac" 8
check "new connections were opened throughout ($newreq)" test "${newreq:-0}" -gt 100
expect_eq "dpload is satisfied" "$rc" 0
drops=$(in_ns nstat -az TcpExtListenDrops TcpExtListenOverflows TcpEstabResets \
    2>/dev/null | awk 'NR > 1 && $1 != "#kernel" { s += $2 } END { print s + 0 }')
expect_eq "nstat: no listen drops, overflows or resets" "$drops" 0

# A handover that has to wait for a busy connection runs on its own
# thread: status keeps answering and names the successor, and a second
# successor meanwhile is turned away (BUSY) without changing anything.
takeover_to() { # DRAIN_S: start a successor, reap the old one
	old=$(dp_pid "$CTL")
	ip netns exec "$NS" "$DP" --listen 127.0.0.1:$PORT --control "$CTL" \
	    --root "$T_DIR/www" --workers 2 --takeover --drain-timeout "$1" \
	    --ready-fd 3 3>"$T_DIR/ready" >>"$T_DIR/dp.log" 2>&1 &
	new=$!
	T_PIDS="$T_PIDS $new"
}
takeover_to 1
await 20 serving && wait "$old"
expect_eq "a successor with a 1 s drain timeout takes over" "$?" 0
expect_eq "...and says so on its --ready-fd" "$(cat "$T_DIR/ready")" "ready $new"
# A slow reader keeps a response in flight: a busy connection.
head -c 16777216 /dev/zero >"$T_DIR/www/16m.bin"
in_ns curl -s --limit-rate 100k --max-time 60 -o /dev/null \
    "http://127.0.0.1:$PORT/16m.bin" &
T_PIDS="$T_PIDS $!"
await 10 sh -c "\"$DP\" --control \"$CTL\" --status | grep -q '\"connections\":1,'"
takeover_to 10
handing() { "$DP" --control "$CTL" --status | grep -q "\"successor\":{\"pid\":$new,"; }
check "mid-handover (a request in flight), status names the successor" await 10 handing
expect_eq "...and is still the old process answering" "$(dp_pid "$CTL")" "$old"
timeout 15 ip netns exec "$NS" "$DP" --listen 127.0.0.1:$PORT \
    --control "$CTL" --root "$T_DIR/www" --takeover >>"$T_DIR/dp.log" 2>&1
expect_eq "a second successor meanwhile is turned away" "$?" 1
check "...leaving the handover under way" handing
check "the busy connection's drain timeout passes and the successor serves" \
    await 20 serving
wait "$old"
expect_eq "the old process exits 0" "$?" 0
check "the handover is logged with the connection left behind" \
    grep -q "event=handed_over connections=0 left=1" "$T_DIR/dp.log"
finish
