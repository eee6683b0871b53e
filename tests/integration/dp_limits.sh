#!/bin/sh
# edge-dp against slow clients (threat T32), in a private network
# namespace, with short bounds so the test is quick: a client trickling
# its request head is closed at the head bound although every byte comes
# well inside the idle bound, and so are fifty one-byte clients at once,
# while others are answered; a kept-alive connection closes at the idle
# bound; a client that never reads a large response is reset at the send
# bound while others are answered, and one that reads slowly but steadily
# gets all of it; at --max-conns a new client waits (unanswered, not
# refused) while the established ones keep being served, and is answered
# once one of them closes; every limit hit is counted in status and
# logged.  Then a takeover: connections keep the bound they were under
# (a silent new connection stays under the head bound rather than
# becoming an idle one), and the successor takes every handed-over
# connection even past its own --max-conns.
# Outcomes only: no assertion on how long anything took.
. "$(dirname "$0")/lib.sh"
DP="$EF_BIN/edge-dp"
SH="$EF_BIN/slowhttp"
RAW="$EF_BIN/rawhttp"
setup_ns dp_limits efdl
W="$T_DIR/www"
mkdir -p "$W"
echo hello >"$W/a.txt"
# Sparse: far more than the socket buffers hold, and cheap to read.
truncate -s 64M "$W/big.bin"
truncate -s 16M "$W/steady.bin"

# start_dp CTL ARGS...: edge-dp in the namespace (ip execs it, so $! is
# edge-dp itself), its control socket at CTL; sets DPID.
start_dp() {
	_c=$1
	shift
	ip netns exec "$NS" "$DP" --control "$_c" --root "$W" "$@" \
	    >>"$T_DIR/dp.log" 2>&1 &
	DPID=$!
	T_PIDS="$T_PIDS $DPID"
}
# stat_of CTL FIELD: a number from edge-dp's status.
stat_of() {
	"$DP" --control "$1" --status | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}
U=http://127.0.0.1:8080
get() { in_ns curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$@"; }
# serve_some N: N requests to the first server, one after another;
# prints how many got 200.
serve_some() {
	_ok=0
	_i=0
	while [ $_i -lt "$1" ]; do
		[ "$(get $U/a.txt)" = 200 ] && _ok=$((_ok + 1))
		_i=$((_i + 1))
	done
	echo $_ok
}

check "--help explains the limits" sh -c \
    "'$DP' --help | grep -q -- '--head-timeout S' &&
     '$DP' --help | grep -q -- '--idle-timeout S' &&
     '$DP' --help | grep -q -- '--send-timeout S' &&
     '$DP' --help | grep -q -- '--max-conns N' &&
     '$DP' --help | grep -q 'default 10'"
expect_eq "a bound of 0 s is refused" \
    "$("$DP" --listen 127.0.0.1:1 --control "$T_DIR/x" --head-timeout 0 \
    >/dev/null 2>&1; echo $?)" 2

C1="$T_DIR/ctl1"
start_dp "$C1" --listen 127.0.0.1:8080 --workers 2 \
    --head-timeout 2 --idle-timeout 4 --send-timeout 2
await 10 "$DP" --control "$C1" --status || { fail "edge-dp starts"; finish; exit 1; }
ok "edge-dp starts (head 2 s, idle 4 s, send 2 s)"
expect_eq "status says the limits are untouched" \
    "$(stat_of "$C1" head_timeouts) $(stat_of "$C1" idle_timeouts) $(stat_of "$C1" send_timeouts)" \
    "0 0 0"

# Slowloris: 200 bytes of head, one every 500 ms (each far inside the
# 4 s idle bound), would take 100 s; the 2 s head bound cuts it off.
in_ns "$SH" 127.0.0.1 8080 trickle 500 200 >"$T_DIR/trickle" 2>&1 &
TR=$!
T_PIDS="$T_PIDS $TR"
in_ns "$SH" 127.0.0.1 8080 many 50 30 >"$T_DIR/many" 2>&1 &
MA=$!
T_PIDS="$T_PIDS $MA"
expect_eq "meanwhile 10 other requests are all answered" "$(serve_some 10)" 10
wait "$TR"
read -r _ sent _ total _ closed <"$T_DIR/trickle"
expect_eq "a client trickling its head is closed before it is done" \
    "$closed" yes
check "...after $sent of its $total bytes" test "${sent:-200}" -lt 200
wait "$MA"
expect_eq "50 clients that sent a request line and stopped: all closed" \
    "$(cat "$T_DIR/many")" "opened 50 closed 50"
check "status counts them as head timeouts (51 or more)" \
    test "$(stat_of "$C1" head_timeouts)" -ge 51

# Idle: kept open past a second, closed by the 4 s bound.
expect_eq "a kept-alive connection is still open a second after its response" \
    "$(printf 'GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n' | in_ns "$RAW" 127.0.0.1 8080 1000 | tr '\n' ' ')" \
    "HTTP/1.1 200 OK open "
expect_eq "...and is closed by the server once idle past its bound" \
    "$(printf 'GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n' | in_ns "$RAW" 127.0.0.1 8080 10000 | tr '\n' ' ')" \
    "HTTP/1.1 200 OK closed "
check "status counts idle timeouts" test "$(stat_of "$C1" idle_timeouts)" -ge 1

# A reader that never reads: reset at the send bound, others served.
before=$(stat_of "$C1" send_timeouts)
in_ns "$SH" 127.0.0.1 8080 noread /big.bin 30 >"$T_DIR/noread" 2>&1 &
NR=$!
T_PIDS="$T_PIDS $NR"
expect_eq "while a client does not read its 64 MiB, 10 others are answered" \
    "$(serve_some 10)" 10
wait "$NR"
expect_eq "the client that never reads is dropped with a reset" \
    "$(cat "$T_DIR/noread")" "dropped reset"
expect_eq "status counts one send timeout" \
    "$(stat_of "$C1" send_timeouts)" $((before + 1))
check "and holds no connection afterwards" \
    await 10 sh -c "[ \"\$('$DP' --control '$C1' --status | sed -n 's/.*\"connections\":\([0-9]*\).*/\1/p')\" = 0 ]"
# Slow but steady: 16 MiB at 2 MiB/s, read every 100 ms, takes longer
# than the send bound many times over, and is never cut off.
expect_eq "a reader taking 16 MiB at 2 MiB/s gets all of it" \
    "$(in_ns "$SH" 127.0.0.1 8080 steady /steady.bin 2048)" \
    "status 200 body 16777216 complete yes"
expect_eq "...with no send timeout" "$(stat_of "$C1" send_timeouts)" \
    $((before + 1))
check "limit hits are logged" grep -q 'event=limits .*head_timeouts=[1-9]' \
    "$T_DIR/dp.log"

# At --max-conns 4 a fifth client waits, unanswered but not refused,
# while the four established ones are served; it is answered as soon as
# one of them closes.
C2="$T_DIR/ctl2"
start_dp "$C2" --listen 127.0.0.1:8081 --workers 2 --max-conns 4
await 10 "$DP" --control "$C2" --status || { fail "edge-dp --max-conns 4 starts"; finish; exit 1; }
expect_eq "edge-dp --max-conns 4 says so in status" \
    "$(stat_of "$C2" max_connections)" 4
expect_eq "4 established, a 5th unanswered, the 4 served again, the 5th answered after one closes" \
    "$(in_ns "$SH" 127.0.0.1 8081 limit /a.txt 4 2000)" \
    "established 4 extra_while_full unanswered served_again 4 extra_after_close answered"
check "status counts the limit reached" test "$(stat_of "$C2" limit_pauses)" -ge 1
check "and edge-dp serves on below the limit" \
    test "$(get http://127.0.0.1:8081/a.txt)" = 200

# A takeover keeps each connection's bound.  The old process has bounds
# of an hour; the successor a head bound of 2 s, an idle bound of an hour
# and --max-conns 2.  A silent new connection is under the head bound:
# handed over, it stays there and the successor closes it (as an idle one
# it would be kept for the hour).  Three kept-alive connections, idle,
# are handed over too: all three are served afterwards, past the
# successor's --max-conns.
C3="$T_DIR/ctl3"
start_dp "$C3" --listen 127.0.0.1:8082 --workers 1 \
    --head-timeout 3600 --idle-timeout 3600
OLD=$DPID
await 10 "$DP" --control "$C3" --status || { fail "a third edge-dp starts"; finish; exit 1; }
in_ns "$SH" 127.0.0.1 8082 silent 60 >"$T_DIR/silent" 2>&1 &
SI=$!
T_PIDS="$T_PIDS $SI"
KA=""
for k in 1 2 3; do
	in_ns "$SH" 127.0.0.1 8082 twice /a.txt "$T_DIR/go" 60 \
	    >"$T_DIR/ka$k" 2>&1 &
	KA="$KA $!"
	T_PIDS="$T_PIDS $!"
done
check "the old process holds the 4 connections" await 10 sh -c \
    "[ \"\$('$DP' --control '$C3' --status | sed -n 's/.*\"connections\":\([0-9]*\).*/\1/p')\" = 4 ]"
start_dp "$C3" --listen 127.0.0.1:8082 --workers 1 --takeover \
    --head-timeout 2 --idle-timeout 3600 --max-conns 2
NEW=$DPID
check "the successor takes over" await 20 sh -c \
    "'$DP' --control '$C3' --status | grep -q '\"pid\":$NEW,'"
wait "$OLD"
expect_eq "the old process exits 0" "$?" 0
T_PIDS=$(echo "$T_PIDS" | sed "s/ $OLD\b//")
wait "$SI"
expect_eq "the silent connection, handed over, is closed at the successor's head bound" \
    "$(cat "$T_DIR/silent")" "closed yes"
expect_eq "...counted by the successor as a head timeout" \
    "$(stat_of "$C3" head_timeouts)" 1
touch "$T_DIR/go"
for p in $KA; do wait "$p"; done
expect_eq "the three kept-alive connections are all served after the takeover" \
    "$(cat "$T_DIR/ka1" "$T_DIR/ka2" "$T_DIR/ka3" | sort -u)" \
    "first 200 second 200"
check "the successor logged the connections it received" \
    grep -q "event=takeover_done connections=4 complete=1" "$T_DIR/dp.log"
# hold_slot N CTL PORT: a kept-alive client holds a connection of the
# edge-dp at CTL (its second request once $T_DIR/goN exists, its answers
# in $T_DIR/kaN); sets KA.
hold_slot() {
	in_ns "$SH" 127.0.0.1 "$3" twice /a.txt "$T_DIR/go$1" 60 \
	    >"$T_DIR/ka$1" 2>&1 &
	KA=$!
	T_PIDS="$T_PIDS $KA"
	HOLD_CTL=$2
	one_conn() { [ "$(stat_of "$HOLD_CTL" connections)" = 1 ]; }
	check "the kept-alive connection holds the only slot" await 10 one_conn
}

# A successor that dies before it is ready takes no connection with it:
# it accepts nothing until its READY is out.  The old process is at its
# --max-conns 1 (a kept-alive connection holds the slot), so a silent new
# client waits in the listeners' queue, where the dying successor (half a
# second with its workers running) could take it.  It must still be there
# for the old process once the slot frees: the old process then closes it
# at its head bound, and counts it.
C4="$T_DIR/ctl4"
start_dp "$C4" --listen 127.0.0.1:8083 --workers 2 --max-conns 1 \
    --head-timeout 2 --idle-timeout 3600
OLD=$DPID
await 10 "$DP" --control "$C4" --status || { fail "a fourth edge-dp starts"; finish; exit 1; }
hold_slot 4 "$C4" 8083
in_ns "$SH" 127.0.0.1 8083 silent 30 >"$T_DIR/silent4" 2>&1 &
SI=$!
T_PIDS="$T_PIDS $SI"
check "the silent client waits, queued" await 10 sh -c \
    "[ \"\$('$DP' --control '$C4' --status | sed -n 's/.*\"limit_pauses\":\([0-9]*\).*/\1/p')\" -ge 1 ]"
EDGE_DP_TEST_DIE_BEFORE_READY=500 in_ns "$DP" --listen 127.0.0.1:8083 \
    --control "$C4" --root "$W" --workers 2 --takeover >>"$T_DIR/dp.log" 2>&1
expect_eq "a successor dying before ready exits 3 (the test hook)" "$?" 3
expect_eq "...and the old process still serves" "$(dp_pid "$C4")" "$OLD"
touch "$T_DIR/go4"
wait "$KA"
expect_eq "the kept-alive connection is served on" "$(cat "$T_DIR/ka4")" \
    "first 200 second 200"
wait "$SI"
expect_eq "the queued client is closed..." "$(cat "$T_DIR/silent4")" "closed yes"
expect_eq "...by the old process, at its head bound: the successor took nothing" \
    "$(stat_of "$C4" head_timeouts)" 1

# The health listener (dataplane/dp.h): at --max-conns, while a new
# client waits in the queue, /healthz there is answered; it serves no
# files; it holds at most 64 connections at once, closing more at accept.
C5="$T_DIR/ctl5"
start_dp "$C5" --listen 127.0.0.1:8084 --health-listen 127.0.0.1:9084 \
    --workers 2 --max-conns 1 --head-timeout 60 --idle-timeout 3600
await 10 "$DP" --control "$C5" --status || { fail "a fifth edge-dp starts"; finish; exit 1; }
hold_slot 5 "$C5" 8084
expect_eq "at --max-conns, the health listener answers /healthz" \
    "$(get http://127.0.0.1:9084/healthz)" 200
expect_eq "...and serves no files" "$(get http://127.0.0.1:9084/a.txt)" 404
# Started as "ip netns exec" directly, so $! is slowhttp itself.
ip netns exec "$NS" "$SH" 127.0.0.1 9084 many 70 30 >"$T_DIR/many5" 2>&1 &
MANY=$!
T_PIDS="$T_PIDS $MANY"
held64() { [ "$(stat_of "$C5" health_connections)" = 64 ]; }
check "...holds 64 connections at once of 70 opened" await 10 held64
kill "$MANY"
wait "$MANY" 2>/dev/null
T_PIDS=$(echo "$T_PIDS" | sed "s/ $MANY\b//")
health_ok() { [ "$(get http://127.0.0.1:9084/healthz)" = 200 ]; }
check "...and answers /healthz again once they are gone" await 10 health_ok
touch "$T_DIR/go5"
wait "$KA"
expect_eq "the kept-alive connection is served on" "$(cat "$T_DIR/ka5")" \
    "first 200 second 200"
check "a health listener that is also a listen address is refused" sh -c \
    "! '$DP' --listen 127.0.0.1:8085 --health-listen 127.0.0.1:8085 --control '$T_DIR/ctl6' 2>'$T_DIR/dup.err' &&
     grep -q 'given twice' '$T_DIR/dup.err'"
finish
