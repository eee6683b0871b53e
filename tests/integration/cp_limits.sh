#!/bin/sh
# edge-cp's limits on slow clients and on work for strangers (T31 and T34
# in docs/threat-model.md), on one edge-cp with small numbers:
#   1. Requests trickled a byte every 300 ms, so that the idle timeout
#      (3 s) never fires, are cut at their total time bound, in their
#      headers and in their body, each logged once and counted, while an
#      operator and a node are answered; an admin's release upload that
#      started before them outlives that bound and completes, and an event
#      stream opened before them all still delivers afterwards.
#   2. One address holds at most --per-ip-limit connections; another
#      address is served meanwhile.
#   3. A burst of enrollments, handshakes, bootstrap downloads or failed
#      authentications from one address is answered 429, with Retry-After
#      and a JSON error, once its bucket is empty, while an operator and a
#      node at the same address and a stranger at another are served; the
#      bucket refills.
# Every loop is bounded in count and every wait in time; nothing is timed:
# the order of events is what is checked.
. "$(dirname "$0")/lib.sh"
setup cp_limits
start_cp "$T_DIR/cp" --timeout 3 --request-timeout 3 --upload-timeout 120 \
    --per-ip-limit 4 --unauth-rate 1 --unauth-burst 6 ||
    { fail "edge-cp starts"; finish; exit 1; }
port=${CP_URL##*:}
SC="$EF_BIN/slowclient"
LOG="$CP_DIR/cp.log"
nc() { _c=$1; shift; "$NC" "$_c" --server "$CP_URL" --pin "$CP_PIN" "$@"; }
# from ADDR CURL-ARGS...: a request from source address ADDR; prints its
# status (000 when refused), the body in from.out, the headers in from.hdr.
from() {
	_a=$1
	shift
	curl -sk --max-time 5 --pinnedpubkey "$CP_PIN" --interface "$_a" \
	    -o "$T_DIR/from.out" -D "$T_DIR/from.hdr" -w '%{http_code}' "$@"
}
# stream FILE ADDR: the live event feed from ADDR into FILE; SPID.
stream() {
	curl -skN --max-time 120 --pinnedpubkey "$CP_PIN" --interface "$2" \
	    -H "Authorization: Bearer $CP_TOKEN" "$CP_URL/v1/events/stream" \
	    >"$1" 2>/dev/null &
	SPID=$!
	T_PIDS="$T_PIDS $SPID"
}
metric() {
	curl -sk --pinnedpubkey "$CP_PIN" "$CP_URL/metrics" |
	    awk -v m="$1" '$1 == m {print $2}'
}
lines() { grep -c "$2" "$1" 2>/dev/null || true; }
# logged ADDR PHASE ROUTE: its cut is in the log, to the end of the line.
logged() {
	grep -q "event=request_timeout client=$1 phase=$2 route=$3 after_s=[0-9]" \
	    "$LOG"
}
cut_count() { [ "$(metric edgecp_request_timeouts_total)" = "$1" ]; }
checkins() { lines "$T_DIR/checkins" '^[23]0[04] '; }
checked_in_since() { [ "$(checkins)" -gt "$1" ]; }

expect_api "a POP" 201 POST /v1/pops '{"name":"p1","region":"eu"}'
TOK=$(api POST /v1/enrollment-tokens '{"pop":"p1"}' | cut -d' ' -f2- |
    jq -r .token)
enroll() { nc enroll --token "$TOK" --state "$T_DIR/node" --hostname n1 >/dev/null; }
check "a node enrolls" enroll
checkin5() { nc desired --state "$T_DIR/node" --count 5 >/dev/null; }

# 1. Slow clients (T31): --timeout 3, --request-timeout 3.
stream "$T_DIR/sse" 127.0.0.8
check "an event stream is open" await 10 grep -q '^retry:' "$T_DIR/sse"
rm -f "$T_DIR/stop"
SLOWCLIENT_TOKEN=$CP_TOKEN "$SC" trickle 127.0.0.1 "$port" 127.0.0.7 \
    upload 300 100 "$T_DIR/stop" >"$T_DIR/up" 2>&1 &
T_PIDS="$T_PIDS $!"
check "a release upload trickles in" await 10 grep -q '^connected' "$T_DIR/up"
# Started after the upload: their bound passes after the upload's would.
"$SC" trickle 127.0.0.1 "$port" 127.0.0.5 headers 300 100 \
    >"$T_DIR/headers" 2>&1 &
T_PIDS="$T_PIDS $!"
"$SC" trickle 127.0.0.1 "$port" 127.0.0.6 body 300 100 >"$T_DIR/body" 2>&1 &
T_PIDS="$T_PIDS $!"
check "a client trickles its headers" \
    await 10 grep -q '^connected' "$T_DIR/headers"
check "another its body" await 10 grep -q '^connected' "$T_DIR/body"

ops=0
i=0
while [ $i -lt 10 ]; do
	[ "$(status_of "$(api GET /v1/pops)")" = 200 ] && ops=$((ops + 1))
	i=$((i + 1))
done
expect_eq "operators are answered meanwhile (10 of 10)" "$ops" 10
check "...and a node's check-ins" checkin5

# 100 s of trickling at most: only the bound ends them sooner.
check "the trickled headers are cut at the bound" \
    await 60 grep -q '^cut after' "$T_DIR/headers"
check "...and so is the trickled body" \
    await 60 grep -q '^cut after' "$T_DIR/body"
check "the cut in the headers is logged" \
    await 5 logged 127.0.0.5 headers none
check "...so is the one in the body, with its route" \
    await 5 logged 127.0.0.6 body pops
expect_eq "...each once" \
    "$(lines "$LOG" 'event=request_timeout client=127.0.0.[56] ')" 2
check "...and counted, two of them" await 5 cut_count 2
grep 'event=request_timeout' "$LOG" | sed 's/^/# /'
touch "$T_DIR/stop"
check "the admin's upload, older than both, was not cut: it completes" \
    await 20 grep -q '^answered 201' "$T_DIR/up"
expect_api "an event after all that" 201 POST /v1/pops \
    '{"name":"p2","region":"eu"}'
check "...reaches the stream opened before the trickles" \
    await 10 grep -q '"object":"p2"' "$T_DIR/sse"
expect_eq "nothing else was cut" "$(metric edgecp_request_timeouts_total)" 2

# 2. Connections per address: --per-ip-limit 4.
S4=""
for i in 1 2 3 4; do
	stream "$T_DIR/s$i" 127.0.0.9
	S4="$S4 $SPID"
done
open4=0
for i in 1 2 3 4; do
	await 10 grep -q '^retry:' "$T_DIR/s$i" && open4=$((open4 + 1))
done
expect_eq "four connections from one address are open" "$open4" 4
expect_eq "a fifth from that address is refused" \
    "$(from 127.0.0.9 "$CP_URL/healthz")" 000
expect_eq "another address is served meanwhile" \
    "$(from 127.0.0.10 "$CP_URL/healthz")" 200
for p in $S4; do
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
done
served9() { [ "$(from 127.0.0.9 "$CP_URL/healthz")" = 200 ]; }
check "once they close, that address is served again" await 15 served9

# 3. Work for strangers (T34): --unauth-burst 6, --unauth-rate 1.
BOGUS='{"token":"efe_x","public_key":"AAAA","hostname":"h","signature":"AAAA"}'
post_from() { # ADDR PATH: a well-formed but bogus unauthenticated POST
	from "$1" -X POST -H 'Content-Type: application/json' \
	    --data-binary "$BOGUS" "$CP_URL$2"
}
# A node, at the flooded address, with its session open before the flood;
# it checks in once per line written to fd 3.
mkfifo "$T_DIR/pace"
nc desired --state "$T_DIR/node" --count 100 --paced <"$T_DIR/pace" \
    >"$T_DIR/checkins" 2>&1 &
NCP=$!
T_PIDS="$T_PIDS $NCP"
exec 3>"$T_DIR/pace"
check "a node checks in before the flood" \
    await 10 grep -q '^[23]0[04] ' "$T_DIR/checkins"
codes=""
n429=0
ops=0
node=0
i=0
while [ $i -lt 20 ]; do
	c=$(post_from 127.0.0.1 /v1/enroll)
	codes="$codes $c"
	if [ "$c" = 429 ]; then
		[ $n429 -eq 0 ] && cp "$T_DIR/from.hdr" "$T_DIR/429.hdr" &&
		    cp "$T_DIR/from.out" "$T_DIR/429.out"
		n429=$((n429 + 1))
		# Right after a refusal, from the same address:
		[ "$(status_of "$(api GET /v1/pops)")" = 200 ] &&
		    ops=$((ops + 1))
		before=$(checkins)
		echo >&3
		await 5 checked_in_since "$before" && node=$((node + 1))
	fi
	i=$((i + 1))
done
echo "# enrollments:$codes"
expect_eq "an enrollment burst: the first is examined (400)" \
    "$(echo "$codes" | awk '{print $1}')" 400
check "...and once the bucket is empty, 429" [ "$n429" -gt 0 ]
check "...with Retry-After" grep -qi '^retry-after: [1-9]' "$T_DIR/429.hdr"
expect_eq "...and a JSON error" "$(jq -r .error.code "$T_DIR/429.out")" \
    rate_limited
expect_eq "an operator at that address is served after each 429" \
    "$ops" "$n429"
expect_eq "...and so is the node's check-in" "$node" "$n429"
exec 3>&-
wait "$NCP"
expect_eq "...every one of them answered (200 or 304)" "$?" 0
T_PIDS=$(echo "$T_PIDS" | sed "s/ $NCP\b//")
# A real node enrolling from the refused address waits as edge-cp says
# (Retry-After) and gets in.
ET=$(api POST /v1/enrollment-tokens '{"pop":"p1"}' | cut -d' ' -f2- | jq -r .token)
# The address's bucket is kept empty (bounded) until the keeper was
# refused once, however long it takes to start.
"$EF_BIN/edge-keeper" --root "$T_DIR/kroot" enroll --server "$CP_URL" \
    --pin "$CP_PIN" --token "$ET" >"$T_DIR/enroll.out" 2>&1 &
EK=$!
T_PIDS="$T_PIDS $EK"
i=0
while [ $i -lt 400 ] && ! grep -q "busy (HTTP 429)" "$T_DIR/enroll.out"; do
	post_from 127.0.0.1 /v1/enroll >/dev/null
	i=$((i + 1))
done
wait "$EK"
expect_eq "a keeper enrolling from the refused address gets in" "$?" 0
check "...having waited as edge-cp said" grep -q "busy (HTTP 429)" \
    "$T_DIR/enroll.out"
expect_eq "a stranger at another address is examined (400)" \
    "$(post_from 127.0.0.2 /v1/enroll)" 400
# refused_within N CMD...: one of N tries of CMD prints 429.
refused_within() {
	_n=$1
	shift
	_j=0
	while [ $_j -lt "$_n" ]; do
		[ "$("$@")" = 429 ] && return 0
		_j=$((_j + 1))
	done
	return 1
}
check "handshakes from that address are refused too" \
    refused_within 5 post_from 127.0.0.1 /v1/node/session
check "...and bootstrap script downloads" \
    refused_within 5 from 127.0.0.1 "$CP_URL/v1/bootstrap.sh"
BAD="Authorization: Bearer efa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
check "...and failed authentications" \
    refused_within 5 from 127.0.0.1 -H "$BAD" "$CP_URL/v1/pops"
expect_eq "a failed authentication at another address is a 401" \
    "$(from 127.0.0.2 -H "$BAD" "$CP_URL/v1/pops")" 401
refilled() { [ "$(post_from 127.0.0.1 /v1/enroll)" = 400 ]; }
check "the bucket refills: that address is examined again" await 10 refilled
check "refusals are counted" [ "$(metric edgecp_ratelimited_total)" -ge "$n429" ]
check "...by route and status" \
    [ "$(metric 'edgecp_requests_total{route="enroll",code="429"}')" -ge "$n429" ]
check "...and logged" grep -q \
    'event=rate_limited client=127.0.0.1 route=enroll reason=unauthenticated' "$LOG"
check "...but not once each" [ "$(lines "$LOG" 'event=rate_limited')" -lt \
    "$(metric edgecp_ratelimited_total)" ]
expect_api "edge-cp still serves" 200 GET /v1/pops
finish
