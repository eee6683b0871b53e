#!/bin/sh
# edge-keeper end to end, all real processes: edge-cp serves the bootstrap
# script, which runs inside a network namespace with EDGE_ROOT; the keeper
# enrolls, converges a profile of sysctl and file steps (the sysctl for
# real, in the namespace), repairs drift, reports; `check` changes
# nothing; an edge-cp outage changes nothing on the node and the keeper
# reports as soon as edge-cp is back; bad profiles are refused.
. "$(dirname "$0")/lib.sh"
KEEPER="$EF_BIN/edge-keeper"
HOST_IP=198.51.100.1
NODE_IP=198.51.100.2

setup_ns keeper efk
node_link "$NS" "$HOST_IP" "$NODE_IP" || { fail "namespace link"; finish; exit 1; }

# edge-cp on the host side of the link; nodes check in every second.
CPARGS="--node-interval 1 --keeper-binary $KEEPER"
KEEPER=$(keeper_cmd "$KEEPER") # edge-cp serves the binary; tests run this
start_cp "$T_DIR/cp" $CPARGS || { fail "edge-cp starts"; finish; exit 1; }
stop_cp TERM
"$CP" serve --listen "$HOST_IP:0" --data-dir "$CP_DIR" $CPARGS \
    >>"$CP_DIR/cp.log" 2>&1 &
CP_PID=$!
T_PIDS="$T_PIDS $CP_PID"
rm -f "$CP_DIR/server.url"
await 20 test -s "$CP_DIR/server.url" || { fail "edge-cp starts"; finish; exit 1; }
CP_URL=$(cat "$CP_DIR/server.url")
ok "edge-cp listens on the link ($CP_URL)"

expect_api "a POP" 201 POST /v1/pops '{"name":"fra1","region":"eu"}'
expect_api "a token" 201 POST /v1/enrollment-tokens '{"pop":"fra1"}'
TOKEN=$(echo "$LAST" | jq -r .token)
CMD=$(echo "$LAST" | jq -r .bootstrap_command)
R="$T_DIR/node"
mkdir -p "$R"

# The pasted line, as an operator would, with EDGE_ROOT for the test.
line=$(echo "$CMD" | sed "s#| sudo EDGE_TOKEN=#| EDGE_ROOT=$R EDGE_TOKEN=#")
in_ns sh -c "$line" >"$T_DIR/boot.out" 2>&1
expect_eq "the bootstrap line enrolls the node" "$?" 0
check "it installed edge-keeper" test -x "$R/usr/bin/edge-keeper"
check "it wrote keeper.conf" grep -q '^node_id=n-' "$R/etc/edge-keeper/keeper.conf"
expect_eq "the node key is 0600" "$(stat -c %a "$R/var/lib/edge-keeper/node.key")" 600
check "the release key is pinned" grep -q '^untrusted comment' \
    "$R/var/lib/edge-keeper/release.pub"
in_ns sh -c "$line" >"$T_DIR/boot2.out" 2>&1
expect_eq "running it again succeeds" "$?" 0
check "...and changes nothing, saying so" grep -q "nothing to do" "$T_DIR/boot2.out"
NODE=$(sed -n 's/^node_id=//p' "$R/etc/edge-keeper/keeper.conf")
curl -sk --pinnedpubkey "$CP_PIN" "$CP_URL/v1/bootstrap.sh" | head -c 1500 \
    >"$T_DIR/cut.sh"
EDGE_ROOT="$T_DIR/cutroot" EDGE_TOKEN="$TOKEN" sh "$T_DIR/cut.sh" \
    >/dev/null 2>&1
check "a truncated bootstrap script runs nothing" test ! -e "$T_DIR/cutroot"
curl -sk --pinnedpubkey "$CP_PIN" "$CP_URL/v1/bootstrap.sh" >"$T_DIR/boot.sh"
check "the script hands the keeper its token in the environment, never argv" \
    sh -c "grep -q 'edge-keeper.* enroll' '$T_DIR/boot.sh' && ! grep -q -- '--token' '$T_DIR/boot.sh'"
# The keeper binary it fetches must be the one edge-cp named.
T3=$(api POST /v1/enrollment-tokens '{"pop":"fra1"}' | cut -d' ' -f2- | jq -r .token)
curl -sk --pinnedpubkey "$CP_PIN" "$CP_URL/v1/bootstrap.sh" |
    sed "s/keeper_sha256='[0-9a-f]*'/keeper_sha256='$(printf '%064d' 0)'/" \
    >"$T_DIR/badsum.sh"
in_ns env EDGE_ROOT="$T_DIR/sumroot" EDGE_TOKEN="$T3" sh "$T_DIR/badsum.sh" \
    >"$T_DIR/badsum.out" 2>&1
expect_eq "a keeper whose checksum does not match: the script fails" "$?" 1
check "...saying so" grep -q "checksum mismatch" "$T_DIR/badsum.out"
check "...having installed and enrolled nothing" sh -c \
    "! ls '$T_DIR'/sumroot/usr/bin/edge-keeper '$T_DIR'/sumroot/etc/edge-keeper/keeper.conf 2>/dev/null"
# A Host header that could break out of the command's quoting.
code=$(curl -sk --pinnedpubkey "$CP_PIN" -o "$T_DIR/odd" -w '%{http_code}' \
    -X POST -H "Authorization: Bearer $CP_TOKEN" -H 'Host: a;b' \
    --data-binary '{"pop":"fra1"}' "$CP_URL/v1/enrollment-tokens")
expect_eq "an enrollment token asked for with Host 'a;b': 400" "$code" 400
check "...no command made" sh -c "! grep -q bootstrap_command '$T_DIR/odd'"

# A second enrollment with the spent token fails clearly.
in_ns "$KEEPER" --root "$T_DIR/other" enroll --server "$CP_URL" \
    --pin "$CP_PIN" --token "$TOKEN" >"$T_DIR/second" 2>&1
expect_eq "a spent token fails" "$?" 1
check "...clearly" grep -q "invalid_token" "$T_DIR/second"
T2=$(api POST /v1/enrollment-tokens '{"pop":"fra1"}' | cut -d' ' -f2- | jq -r .token)
in_ns "$KEEPER" --root "$T_DIR/other2" enroll --server "$CP_URL" \
    --pin 'sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' \
    --token "$T2" >"$T_DIR/badpin" 2>&1
expect_eq "a wrong pin fails" "$?" 1
in_ns "$KEEPER" --root "$T_DIR/other3" enroll --server "$CP_URL" \
    --pin "$CP_PIN" --token "$T2" >/dev/null 2>&1
expect_eq "...before the token was sent (it still works)" "$?" 0
# That extra node never runs a keeper; remove it so the rollout below
# waits for the one node that does.
O3=$(sed -n 's/^node_id=//p' "$T_DIR/other3/etc/edge-keeper/keeper.conf")
expect_api "remove the extra node" 200 DELETE "/v1/nodes/$O3"

# The profile: a real sysctl in the namespace, and files.
in_ns sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward'
PROFILE='{"steps":[
 {"name":"forwarding","kind":"sysctl","params":{"key":"net.ipv4.ip_forward","value":"1"}},
 {"name":"motd","kind":"file","params":{"path":"/etc/motd","content":"edge node\n","mode":"0644"}},
 {"name":"banner","kind":"file","after":["forwarding"],"params":{"path":"/etc/edge/banner","content":"ok\n"}}]}'
expect_api "put the profile" 201 PUT /v1/profile "$PROFILE"
PV=$(echo "$LAST" | jq .version)
expect_api "roll it out" 201 POST /v1/rollouts \
    "{\"component\":\"profile\",\"version\":\"$PV\",\"strategy\":\"all_at_once\"}"
RID=$(echo "$LAST" | jq .id)

in_ns "$KEEPER" --root "$R" check >"$T_DIR/check0" 2>&1
expect_eq "check before the first pass: changes pending (exit 3)" "$?" 3
expect_eq "check changed nothing" \
    "$(in_ns cat /proc/sys/net/ipv4/ip_forward)" 0
check "check lists each step" grep -q "forwarding .*needs_change" "$T_DIR/check0"

sed -i 's/^metrics=.*/metrics=127.0.0.1:19464/' "$R/etc/edge-keeper/keeper.conf"
ip netns exec "$NS" "$KEEPER" --root "$R" run >"$T_DIR/keeper.log" 2>&1 &
KP=$!
T_PIDS="$T_PIDS $KP"
fwd() { [ "$(in_ns cat /proc/sys/net/ipv4/ip_forward)" = 1 ]; }
check "the keeper converges the sysctl (for real, in the namespace)" await 15 fwd
check "and the file" await 5 test -f "$R/etc/motd"
check "the sysctl is persisted" await 5 sh -c \
    "grep -rq 'net.ipv4.ip_forward = 1' '$R/etc/sysctl.d/'"
reported() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
    jq -e "(.versions.profile == \"$PV\") and (.health == \"healthy\")"; }
check "the node reports the profile applied and is healthy" await 15 reported
done_ro() { api GET "/v1/rollouts/$RID" | grep -q '"state":"completed"'; }
check "the rollout completes" await 10 done_ro
in_ns "$KEEPER" --root "$R" check >"$T_DIR/check1" 2>&1
expect_eq "check after convergence: all in sync (exit 0)" "$?" 0
"$KEEPER" --root "$R" status >"$T_DIR/status" 2>&1
check "status shows the last pass" grep -q "banner .*in_sync" "$T_DIR/status"
check "metrics are served on loopback" sh -c \
    "ip netns exec $NS curl -sf http://127.0.0.1:19464/metrics | grep -q 'edgekeeper_step_state{step=\"motd\",state=\"in_sync\"} 1'"

# Drift is repaired within a pass.
in_ns sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward'
echo tampered >"$R/etc/motd"
check "a sysctl changed behind its back is repaired" await 10 fwd
check "a file changed behind its back is repaired" await 10 \
    grep -qx 'edge node' "$R/etc/motd"

# edge-cp down: the node keeps its state and keeps repairing.
stop_cp KILL
kmetric() {
	in_ns curl -sf http://127.0.0.1:19464/metrics | sed -n "s/^$1 //p"
}
down() { [ "$(kmetric edgekeeper_cp_reachable)" = 0 ]; }
check "the keeper notices edge-cp is gone" await 15 down
P0=$(kmetric edgekeeper_passes_total)
many() { [ "$(kmetric edgekeeper_passes_total)" -ge $((P0 + 5)) ]; }
check "it keeps passing while edge-cp is down" await 20 many
in_ns sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward'
check "with edge-cp down, drift is still repaired" await 15 fwd
in_force() { [ "$(kmetric edgekeeper_profile_version)" = "$PV" ]; }
check "the desired state is still in force (profile $PV)" in_force
check "the keeper is still running" kill -0 "$KP"
"$CP" serve --listen "${CP_URL#https://}" --data-dir "$CP_DIR" $CPARGS \
    >>"$CP_DIR/cp.log" 2>&1 &
CP_PID=$!
T_PIDS="$T_PIDS $CP_PID"
healthy() { api GET "/v1/nodes/$NODE" | cut -d' ' -f2- | jq -e '.health == "healthy"'; }
check "after edge-cp returns, the node reports again" await 30 healthy

# Bad profiles: edge-cp refuses them, naming the field.
expect_api "a profile with an unknown step kind: 400" 400 PUT /v1/profile \
    '{"steps":[{"name":"x","kind":"teleport"}]}'
expect_api "a sysctl step without a value: 400" 400 PUT /v1/profile \
    '{"steps":[{"name":"x","kind":"sysctl","params":{"key":"net.ipv4.ip_forward"}}]}'
echo "$LAST" | grep -q 'value' && ok "the error names the field" ||
    fail "the error names the field" "$LAST"

# Forced onto the node (edge-cp would never send it): with edge-cp away,
# a saved document holding a bad step is refused whole.
kill "$KP"
wait "$KP" 2>/dev/null
stop_cp KILL
jq '.profile.steps[0].params.value = 7' "$R/var/lib/edge-keeper/desired.json" \
    >"$T_DIR/bad.json"
cp "$T_DIR/bad.json" "$R/var/lib/edge-keeper/desired.json"
in_ns "$KEEPER" --root "$R" check >"$T_DIR/check2" 2>&1
expect_eq "the keeper refuses an invalid document (exit 1)" "$?" 1
check "...and says why" grep -q "saved_desired_refused.*value" "$T_DIR/check2"
finish
