#!/bin/sh
# The keeper killed (SIGKILL to its privileged part; the unprivileged one
# goes with it) in the middle of what it does, all real processes in a
# network namespace, each kill made to land inside its window without
# sleeping and hoping:
#  - enrollment, while edge-cp has not answered (edge-cp stopped): nothing
#    is written and the token still works;
#  - enrollment at its commit point (strace holds the rename of
#    keeper.conf): the key is written, keeper.conf is not, so the node is
#    not enrolled; the used token is refused and a fresh one enrolls;
#  - a release download (the link to edge-cp rate-limited with tc, the
#    kill once the download holds bytes): nothing is installed, and the
#    restarted keeper installs the signed release and never runs a .part
#    left on disk;
#  - a dataplane takeover, between starting the new edge-dp and its being
#    ready (a release whose start waits for a file the test makes): the
#    takeover completes without the keeper, kept-alive clients lose no
#    connection, and the restarted keeper adopts the new dataplane.
. "$(dirname "$0")/lib.sh"
KEEPER="$EF_BIN/edge-keeper"
HOST_IP=198.51.100.33
NODE_IP=198.51.100.34
setup_ns keeper_kill efkk
KEEPER=$(keeper_cmd "$KEEPER")
R="$T_DIR/node"
CTL="$R/run/edge-dp/ctl.sock"
dppid() { dp_pid "$CTL"; }
cleanup_extra() {
	tc qdisc del dev "${NS}h" root 2>/dev/null
	p=$(dppid)
	[ -n "$p" ] && kill "$p" 2>/dev/null
	for p in $(keepers); do
		kill -9 "$p" 2>/dev/null
	done
	if [ "$T_FAILED" -gt 0 ]; then
		for f in keeper.log strace.log enroll2.out "$R/var/lib/edge-keeper/dataplane/edge-dp.log"; do
			[ -f "$T_DIR/$f" ] && f="$T_DIR/$f"
			[ -f "$f" ] || continue
			echo "# --- $f"
			grep -v event=report "$f" | tail -n 25 | sed 's/^/#   /'
		done
	fi
}
# The pids of every edge-keeper process of this test (parent, child,
# watchdog; also under valgrind), zombies excepted: not strace or ip
# starting one, nor an edge-dp installed under the keeper's directory.
keepers() {
	for d in /proc/[0-9]*; do
		c=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue
		case "$c" in
		*"/edge-keeper --root $T_DIR/"*) ;;
		*) continue ;;
		esac
		case "${c%% *}" in
		*/edge-keeper | *valgrind*) ;;
		*) continue ;;
		esac
		st=$(sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' \
		    "$d/status" 2>/dev/null)
		[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ] &&
		    echo "${d#/proc/}"
	done
}
no_keepers() { [ -z "$(keepers)" ]; }
children() { cat /proc/"$1"/task/*/children 2>/dev/null; }
node_link "$NS" "$HOST_IP" "$NODE_IP" || { fail "namespace link"; finish; exit 1; }

for v in 1.0.0 2.0.0; do
	make -s -C "$EF_TOP" BUILD="$T_DIR/b$v" VERSION=$v \
	    "$T_DIR/b$v/bin/edge-dp" >"$T_DIR/build$v.log" 2>&1 ||
	    { fail "build edge-dp $v"; finish; exit 1; }
done
ok "built edge-dp 1.0.0 and 2.0.0"
# 1.0.0 is big (an ELF runs with bytes appended), so that a slow link
# makes its download last; 2.0.0 starts only once the test says so.
cp "$T_DIR/b1.0.0/bin/edge-dp" "$T_DIR/big"
head -c 4000000 /dev/urandom >>"$T_DIR/big"
cat >"$T_DIR/slowstart" <<EOF
#!/bin/sh
: >"$T_DIR/wrap.started"
i=0
while [ ! -e "$T_DIR/wrap.go" ] && [ \$i -lt 600 ]; do
	sleep 0.1
	i=\$((i + 1))
done
exec "$T_DIR/b2.0.0/bin/edge-dp" "\$@"
EOF
chmod 755 "$T_DIR/slowstart"

CP_LISTEN="$HOST_IP:0"
start_cp "$T_DIR/cp" --node-interval 1 || { fail "edge-cp starts"; finish; exit 1; }
"$CP" --data-dir "$CP_DIR" release add --component dataplane --version 1.0.0 \
    "$T_DIR/big" >/dev/null
expect_eq "upload dataplane 1.0.0 (4 MB)" "$?" 0
"$CP" --data-dir "$CP_DIR" release add --component dataplane --version 2.0.0 \
    "$T_DIR/slowstart" >/dev/null
expect_eq "upload dataplane 2.0.0 (starts when told)" "$?" 0
expect_api "a POP" 201 POST /v1/pops '{"name":"p1","region":"r"}'
token() { api POST /v1/enrollment-tokens '{"pop":"p1"}' | cut -d' ' -f2- |
    jq -r .token; }
CONF="$R/etc/edge-keeper/keeper.conf"
NKEY="$R/var/lib/edge-keeper/node.key"
enroll() { in_ns "$KEEPER" --root "$R" enroll --server "$CP_URL" \
    --pin "$CP_PIN" --token "$1"; }

# --- Enrollment, killed before edge-cp answered.
T1=$(token)
kill -STOP "$CP_PID"
ip netns exec "$NS" "$KEEPER" --root "$R" enroll --server "$CP_URL" \
    --pin "$CP_PIN" --token "$T1" >"$T_DIR/enroll1.out" 2>&1 &
EP=$!
T_PIDS="$T_PIDS $EP"
connected() { in_ns ss -Htn state established dst "$HOST_IP" | grep -q .; }
check "an enrollment waits for a stopped edge-cp" await 20 connected
kill -9 "$EP"
wait "$EP" 2>/dev/null
check "...killed, no keeper process is left" no_keepers
kill -CONT "$CP_PID"
check "killed then: no keeper.conf" test ! -e "$CONF"
check "...and no node key" test ! -e "$NKEY"

# --- Enrollment, killed at its commit point: keeper.conf written to its
# temporary file and about to be renamed.  strace holds enrollment's fourth
# rename (state.pub's, node.key's, release.pub's, then keeper.conf's) for
# 60 s.
if command -v strace >/dev/null 2>&1; then
	strace -f -qq -o "$T_DIR/strace.log" -e trace=rename \
	    -e inject=rename:delay_enter=60000000:when=4 \
	    ip netns exec "$NS" "$KEEPER" --root "$R" enroll --server "$CP_URL" \
	    --pin "$CP_PIN" --token "$T1" >"$T_DIR/enroll2.out" 2>&1 &
	SP=$!
	T_PIDS="$T_PIDS $SP"
	at_commit() { ls "$CONF".tmp.* >/dev/null 2>&1 && test -s "$NKEY"; }
	check "the same token still works: enrolling reaches its commit point" \
	    await 30 at_commit
	check "...keeper.conf not renamed into place yet" test ! -e "$CONF"
	# The temporary file is named after the enrolling process.
	EK=$(ls "$CONF".tmp.* | sed 's/.*\.tmp\.//')
	expect_eq "...the only keeper process of the test is the enrolling one" \
	    "$(keepers)" "$EK"
	kill -9 "$EK"
	wait "$SP" 2>/dev/null
	check "...killed there, no keeper process is left" no_keepers
	check "killed at the commit point: no keeper.conf" test ! -e "$CONF"
	check "...the node key and the release key were written" sh -c \
	    "test -s '$NKEY' && test -s '$R/var/lib/edge-keeper/release.pub'"
	in_ns "$KEEPER" --root "$R" check >/dev/null 2>"$T_DIR/check.err"
	check "...and the node is not enrolled: a keeper will not run" \
	    grep -q "not enrolled" "$T_DIR/check.err"
	enroll "$T1" >/dev/null 2>"$T_DIR/enroll3.err"
	check "the used token is refused (edge-cp registered that key)" \
	    grep -q "edge-cp refused" "$T_DIR/enroll3.err"
else
	echo "ok $((T_N + 1)) - enrollment killed at its commit point # SKIP no strace"
	T_N=$((T_N + 1))
fi
enroll "$(token)" >/dev/null 2>"$T_DIR/enroll4.err"
expect_eq "a fresh token enrolls the node" "$?" 0
if [ -n "${EK:-}" ]; then
	check "...sweeping the killed enrollment's temporary keeper.conf" \
	    test ! -e "$CONF.tmp.$EK"
fi
check "...keeper.conf with its node key" sh -c "test -s '$CONF' && test -s '$NKEY'"
NODE=$(sed -n 's/^node_id=//p' "$CONF")
sed -i 's/^metrics=.*/metrics=off/' "$CONF"
# The killed enrollment left a node in edge-cp that never checks in (it
# turns unreachable 60 intervals after its enrollment); removed here.
for n in $(api GET /v1/nodes | cut -d' ' -f2- | jq -r '.nodes[].id'); do
	[ "$n" != "$NODE" ] && api DELETE "/v1/nodes/$n" >/dev/null
done
expect_eq "the node the killed enrollment registered is removed" \
    "$(api GET /v1/nodes | cut -d' ' -f2- | jq '.nodes | length')" 1

# --- A release download, killed while it is under way.
mkdir -p "$R/srv/www"
head -c 1024 /dev/urandom >"$R/srv/www/1k.bin"
PROFILE="{\"steps\":[{\"name\":\"dp\",\"kind\":\"dataplane\",\"params\":{
 \"listen\":[\"$NODE_IP:8080\"],\"control\":\"/run/edge-dp/ctl.sock\",
 \"root\":\"/srv/www\",\"workers\":2,\"drain_timeout\":10,
 \"ready_timeout\":3}}]}"
expect_api "a profile with a dataplane step" 201 PUT /v1/profile "$PROFILE"
PV=$(echo "$LAST" | jq .version)
expect_api "roll out the profile" 201 POST /v1/rollouts \
    "{\"component\":\"profile\",\"version\":\"$PV\",\"strategy\":\"all_at_once\"}"
tc qdisc add dev "${NS}h" root tbf rate 400kbit burst 32kbit latency 2s
expect_eq "the link from edge-cp to the node is slowed (tc tbf)" "$?" 0
expect_api "roll out dataplane 1.0.0" 201 POST /v1/rollouts \
    '{"component":"dataplane","version":"1.0.0","strategy":"all_at_once"}'
start_keeper() {
	ip netns exec "$NS" "$KEEPER" --root "$R" run >>"$T_DIR/keeper.log" 2>&1 &
	KP=$!
	T_PIDS="$T_PIDS $KP"
}
start_keeper
# The download goes to a memory file of the unprivileged part.
downloading() {
	for c in $(children "$KP"); do
		for f in /proc/"$c"/fd/*; do
			case $(readlink "$f" 2>/dev/null) in
			*memfd:edge-keeper-release*)
				[ "$(stat -L -c %s "$f" 2>/dev/null)" -gt 65536 ] &&
				    return 0 ;;
			esac
		done
	done
	return 1
}
check "the download is under way (64 KiB in)" await 60 downloading
KC=$(children "$KP")
expect_eq "the keeper's processes: its privileged part and its child" \
    "$(keepers | sort -n | tr '\n' ' ')" "$(printf '%s\n' "$KP" $KC | sort -n | tr '\n' ' ')"
kill -9 "$KP"
wait "$KP" 2>/dev/null
check "killed mid-download: its unprivileged part ($KC) went with it" \
    await 10 no_keepers
DPDIR="$R/var/lib/edge-keeper/dataplane/1.0.0"
check "...nothing is installed" test ! -e "$DPDIR/edge-dp"
check "...and no .part is there" test ! -e "$DPDIR/edge-dp.part"
# What a kill while a release is copied into place would leave: a .part,
# here one that would tell if it were ever run.
mkdir -p "$DPDIR"
printf '#!/bin/sh\n: >"%s/part.ran"\n' "$T_DIR" >"$DPDIR/edge-dp.part"
chmod 755 "$DPDIR/edge-dp.part"
tc qdisc del dev "${NS}h" root
start_keeper
serves() { in_ns curl -sf "http://$NODE_IP:8080/version" | grep -qx "edge-dp $1"; }
check "the restarted keeper installs and starts 1.0.0" await 60 serves 1.0.0
check "...the installed binary is the one edge-cp signed" \
    cmp -s "$DPDIR/edge-dp" "$CP_DIR/artifacts/dataplane/1.0.0"
check "...the dataplane runs that file" \
    cmp -s "/proc/$(dppid)/exe" "$CP_DIR/artifacts/dataplane/1.0.0"
check "...the .part left on disk was never run" test ! -e "$T_DIR/part.ran"
check "...and is gone" test ! -e "$DPDIR/edge-dp.part"
reports() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
    jq -e ".versions.dataplane == \"$1\" and .health == \"healthy\""; }
check "the node reports dataplane 1.0.0, healthy" await 20 reports 1.0.0
idle() { api GET /v1/fleet | cut -d' ' -f2- | jq -e '.active_rollouts | length == 0'; }
check "the 1.0.0 rollout completes" await 20 idle

# --- A takeover, killed between the new edge-dp's start and its ready.
DPLOAD_PACE_US=500 ip netns exec "$NS" "$EF_BIN/dpload" $NODE_IP 8080 \
    /1k.bin 4 1 120 "$T_DIR/stop" >"$T_DIR/load" 2>"$T_DIR/load.err" &
LOAD=$!
T_PIDS="$T_PIDS $LOAD"
D1=$(dppid)
expect_api "roll out dataplane 2.0.0" 201 POST /v1/rollouts \
    '{"component":"dataplane","version":"2.0.0","strategy":"all_at_once"}'
check "the keeper starts 2.0.0, which is not ready yet" \
    await 30 test -e "$T_DIR/wrap.started"
check "...while 1.0.0 serves" serves 1.0.0
kill -9 "$KP"
wait "$KP" 2>/dev/null
check "killed mid-takeover: no keeper process is left" await 10 no_keepers
: >"$T_DIR/wrap.go"
check "the new edge-dp takes over without the keeper: 2.0.0 serves" \
    await 30 serves 2.0.0
D2=$(dppid)
gone() { ! kill -0 "$D1" 2>/dev/null; }
check "...and 1.0.0 has handed over and exited" await 20 gone
start_keeper
check "the restarted keeper reports dataplane 2.0.0, healthy" \
    await 30 reports 2.0.0
# A node silent for 3 intervals halts its rollout (cp/rollout.h): resume.
RO=$(api GET /v1/rollouts | cut -d' ' -f2- | jq -r '.rollouts[0] |
    select(.state == "halted") | .id')
if [ -n "$RO" ]; then
	echo "# $(api GET "/v1/rollouts/$RO" | cut -d' ' -f2- | jq -r .reason)"
	api POST "/v1/rollouts/$RO/resume" '{}' >/dev/null
fi
check "the 2.0.0 rollout completes" await 20 idle
expect_eq "...adopting the dataplane, not starting another" "$(dppid)" "$D2"
: >"$T_DIR/stop"
wait "$LOAD"
read -r _ req _ failed _ kac _ newreq _ gap <"$T_DIR/load"
echo "# $(cat "$T_DIR/load")"
check "load ran through it ($req requests)" test "${req:-0}" -gt 100
expect_eq "zero failed requests" "$failed" 0
expect_eq "no kept-alive connection lost (4 connects)" "$kac" 4
kill "$KP"
wait "$KP"
expect_eq "the keeper stops cleanly" "$?" 0
finish
