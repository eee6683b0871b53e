#!/bin/sh
# The dashboard (cp/web/dashboard.html, SPEC §4.7) in headless Chromium
# against a real edge-cp and simulated nodes (tests/fleetsim): the #token=
# link, every node's tile and the counts, a rollout followed live, a drain
# clicked on the page reaching the API and the event feed, a viewer with
# no operator button, the event stream client; then a large fleet
# rendered, its time printed; then what waits under the two-person rule
# (tests/browser/dashboard.mjs has the checks).
#
# The large fleet is 10,000 nodes (DASHBOARD_SCALE_NODES to change it).
# Screenshots of every view go to $BUILD/screenshots/ (fleet.png is
# docs/dashboard.png).
. "$(dirname "$0")/lib.sh"
setup dashboard
BROWSER_DIR="$EF_TOP/tests/browser"
FS="$EF_BIN/fleetsim"
SCALE_N=${DASHBOARD_SCALE_NODES:-10000}
export EF_CHROMIUM="${EF_CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$EF_CHROMIUM" ]; then
	echo "ok 1 - dashboard # SKIP no $EF_CHROMIUM (packaging/deps.sh installs it)"
	exit 0
fi
if ! command -v node >/dev/null 2>&1 ||
    [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]; then
	echo "ok 1 - dashboard # SKIP no node or playwright-core (packaging/deps.sh installs them)"
	exit 0
fi
case ${BUILD:-build} in
/*) EF_SHOTS=$BUILD/screenshots ;;
*) EF_SHOTS=$EF_TOP/${BUILD:-build}/screenshots ;;
esac
export EF_SHOTS
mkdir -p "$EF_SHOTS"

# fs POP NODES INTERVAL DURATION: simulated nodes in the background.
fs() {
	"$FS" --server "$CP_URL" --pin "$CP_PIN" --token "$CP_TOKEN" \
	    --pop "$1" --nodes "$2" --interval "$3" --duration "$4" -o json \
	    >"$T_DIR/fs-$1.json" 2>"$T_DIR/fs-$1.log" &
	T_PIDS="$T_PIDS $!"
	FS_PIDS="$FS_PIDS $!"
}
FS_PIDS=
fs_stop() {
	for p in $FS_PIDS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	FS_PIDS=
}
pop() { expect_api "POP $1 in region $2" 201 POST /v1/pops \
    "{\"name\":\"$1\",\"region\":\"$2\"}"; }
nodes_where() { # nodes_where JQ_FILTER: how many nodes match
	api GET /v1/nodes | cut -d' ' -f2- | jq "[.nodes[] | select($1)] | length"
}
all_in() { [ "$(nodes_where "$1")" = "$2" ]; }

# browser PHASE: dashboard.mjs, its lines turned into this test's TAP.
browser() {
	EF_URL=$CP_URL EF_ADMIN=$CP_TOKEN EF_VIEWER=$VIEWER \
	    node "$BROWSER_DIR/dashboard.mjs" "$1" >"$T_DIR/$1.out" 2>&1 &
	_pid=$!
	T_PIDS="$T_PIDS $_pid"
	wait "$_pid"
	_rc=$?
	_nok=0
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) fail "${line#not ok - }"; _nok=1 ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done <"$T_DIR/$1.out"
	# A failed check exits 1 and is counted above; any other exit (a
	# crash part of the way through) is a failure of its own.
	[ "$_rc" -eq 0 ] || [ "$_nok" = 1 ] ||
	    fail "$1: dashboard.mjs exits 0 (it exited $_rc)"
}

# 1. A fleet of 304 nodes in two regions: three POPs that keep checking in
# every second, and a fourth whose nodes stop at once (unreachable).  The
# simulated nodes all enroll from one address: no limit per address on
# enrollments (--unauth-rate 0).
start_cp "$T_DIR/cp" --node-interval 1 --per-ip-limit 256 --unauth-rate 0 ||
    { fail "edge-cp starts"; finish; exit 1; }
pop ams1 eu
pop fra1 eu
pop lhr1 eu
pop iad1 us
fs ams1 120 1 600
fs fra1 100 1 600
fs iad1 80 1 600
fs lhr1 4 1 1
check "300 nodes report healthy" \
    await 60 all_in '.pop != "lhr1" and .health == "healthy"' 300
check "the 4 nodes of lhr1 are unreachable" \
    await 30 all_in '.pop == "lhr1" and .health == "unreachable"' 4
DRAIN=$(api GET /v1/nodes?pop=iad1 | cut -d' ' -f2- | jq -r '.nodes[0].id')
expect_api "a node of iad1 drained through the API" 200 POST \
    "/v1/nodes/$DRAIN/drain"
expect_api "a viewer token" 201 POST /v1/api-tokens \
    '{"name":"wall","role":"viewer"}'
VIEWER=$(echo "$LAST" | jq -r .token)

browser main

# 2. A large fleet on a fresh edge-cp: checking in every 10 s keeps the
# machine free for the browser.
fs_stop
stop_cp TERM
start_cp "$T_DIR/cp-scale" --node-interval 10 --per-ip-limit 256 \
    --unauth-rate 0 ||
    { fail "edge-cp starts"; finish; exit 1; }
pop edge1 eu
pop edge2 eu
pop edge3 us
pop edge4 us
q=$((SCALE_N / 4))
for p in edge1 edge2 edge3; do fs "$p" "$q" 10 600; done
fs edge4 $((SCALE_N - 3 * q)) 10 600
check "$SCALE_N nodes enroll" await 180 all_in 'true' "$SCALE_N"
browser scale

# 3. The two-person rule: a1 uploads, op rolls a profile out and freezes;
# the page, signed in as a2, shows what waits and approves, promotes and
# lifts the freeze.
fs_stop
stop_cp TERM
start_cp "$T_DIR/cp-2p" --two-person ||
    { fail "edge-cp starts"; finish; exit 1; }
for t in a1:admin a2:admin op:operator; do
	expect_api "token ${t%%:*}" 201 POST /v1/api-tokens \
	    "{\"name\":\"${t%%:*}\",\"role\":\"${t#*:}\"}"
	eval "$(echo "${t%%:*}" | tr a-z A-Z)=$(printf '%s\n' "$LAST" | jq -r .token)"
done
head -c 1000 /dev/urandom >"$T_DIR/dp1"
expect_eq "a1 uploads dataplane 1.0, which waits" "$(curl -sk \
    --pinnedpubkey "$CP_PIN" -o /dev/null -w '%{http_code}' -T "$T_DIR/dp1" \
    -H "Authorization: Bearer $A1" "$CP_URL/v1/releases/dataplane/1.0")" 202
expect_api "op puts a profile" 201 PUT /v1/profile '{"steps":[]}' "$OP"
expect_api "op rolls it out, which waits" 201 POST /v1/rollouts \
    '{"component":"profile","version":"1"}' "$OP"
expect_api "op freezes the fleet" 200 POST /v1/freeze "" "$OP"
CP_TOKEN=$A2
browser twoperson

finish
