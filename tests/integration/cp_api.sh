#!/bin/sh
# edge-cp's operator API over real HTTPS against a real database file:
# success and error paths of each endpoint, roles, limits, the CLI.
. "$(dirname "$0")/lib.sh"
setup cpapi
start_cp "$T_DIR/cp" || { fail "edge-cp starts"; finish; exit 1; }
ok "edge-cp starts and serves /healthz"

# Transport and identity.
check "plain HTTP is refused" \
    sh -c "! curl -sf http://${CP_URL#https://}/healthz"
check "the certificate matches the logged pin" \
    curl -sf -k --pinnedpubkey "$CP_PIN" "$CP_URL/healthz" -o /dev/null
check "a wrong pin is refused" sh -c "! curl -sf -k --pinnedpubkey \
    'sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' $CP_URL/healthz"
mode=$(stat -c %a "$CP_DIR/admin.token")
expect_eq "admin.token is mode 0600" "$mode" "600"
expect_eq "the database is private (it holds BGP passwords)" \
    "$(stat -c %a "$CP_DIR/edge-cp.db")" 600
expect_eq "the certificate is public" "$(stat -c %a "$CP_DIR/tls.crt")" 644
check "release.pub is a minisign public key" \
    grep -q '^untrusted comment: ' "$CP_DIR/release.pub"

# Authentication and roles.
expect_api "no token: 401" 401 GET /v1/pops "" ""
echo "$LAST" | grep -q '"code":"unauthenticated"' && ok "error shape" ||
    fail "error shape" "$LAST"
expect_api "bad token: 401" 401 GET /v1/pops "" \
    "efa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
expect_api "admin makes a viewer token" 201 POST /v1/api-tokens \
    '{"name":"watcher","role":"viewer"}'
VIEWER=$(echo "$LAST" | jq -r .token)
expect_api "admin makes an operator token" 201 POST /v1/api-tokens \
    '{"name":"ops","role":"operator"}'
OPER=$(echo "$LAST" | jq -r .token)
expect_api "duplicate token name: 409" 409 POST /v1/api-tokens \
    '{"name":"ops","role":"operator"}'
expect_api "bad role: 400" 400 POST /v1/api-tokens \
    '{"name":"x","role":"root"}'
expect_api "operator cannot make API tokens: 403" 403 POST \
    /v1/api-tokens '{"name":"y","role":"admin"}' "$OPER"
expect_api "viewer may read" 200 GET /v1/pops "" "$VIEWER"
expect_api "viewer may not write: 403" 403 POST /v1/pops \
    '{"name":"x","region":"r"}' "$VIEWER"
check "tokens are not stored in the database" sh -c \
    "! sqlite3 '$CP_DIR/edge-cp.db' .dump | grep -q '${OPER#efa_}'"

# POPs.
BGP='{"asn":64512,"neighbors":[{"address":"192.0.2.1","asn":64500,"password":"s3cret"}],"anycast":[{"prefix":"198.51.100.10/32","communities":["64512:100"],"large_communities":["64512:1:1"]}]}'
expect_api "create a POP" 201 POST /v1/pops \
    "{\"name\":\"fra1\",\"region\":\"eu-central\",\"bgp\":$BGP}" "$OPER"
check "BGP passwords are not echoed" sh -c "echo '$LAST' | \
    jq -e '.bgp.neighbors[0].password == null and .bgp.neighbors[0].password_set'"
expect_api "duplicate POP: 409" 409 POST /v1/pops \
    '{"name":"fra1","region":"eu"}'
expect_api "bad POP name: 400" 400 POST /v1/pops \
    '{"name":"Fra 1","region":"eu"}'
expect_api "/24 anycast prefix: 400" 400 POST /v1/pops \
    '{"name":"ams1","region":"eu","bgp":{"anycast":[{"prefix":"198.51.100.0/24"}]}}'
expect_api "unknown field: 400" 400 POST /v1/pops \
    '{"name":"ams1","region":"eu","colour":"red"}'
expect_api "duplicate key: 400" 400 POST /v1/pops \
    '{"name":"ams1","name":"ams2","region":"eu"}'
expect_api "bad JSON: 400" 400 POST /v1/pops '{"name":'
expect_api "wrong type: 400" 400 POST /v1/pops '{"name":1,"region":"eu"}'
expect_api "not an object: 400" 400 POST /v1/pops '[1,2]'
deep=$(printf '{"a":%.0s' $(seq 1 64); printf '1'; printf '}%.0s' $(seq 1 64))
expect_api "deep nesting: 400" 400 POST /v1/pops "$deep"
expect_api "list POPs" 200 GET /v1/pops
expect_eq "one POP listed" "$(echo "$LAST" | jq '.pops|length')" 1
expect_api "show a POP" 200 GET /v1/pops/fra1
expect_api "unknown POP: 404" 404 GET /v1/pops/nope
expect_api "withdrawing every prefix needs force: 409" 409 PATCH \
    /v1/pops/fra1 '{"bgp":{"asn":64512,"anycast":[]}}'
expect_eq "...and changed nothing" \
    "$(api GET /v1/pops/fra1 | cut -d' ' -f2- | jq '.bgp.anycast|length')" 1
expect_api "PATCH region" 200 PATCH /v1/pops/fra1 '{"region":"eu-west"}'
expect_eq "region changed" "$(echo "$LAST" | jq -r .region)" eu-west
expect_api "PATCH with force" 200 PATCH /v1/pops/fra1 \
    "{\"bgp\":{\"asn\":64512,\"anycast\":[]},\"force\":true}"

# Limits.
big=$(head -c 1100000 /dev/zero | tr '\0' 'a')
printf '{"name":"x","region":"%s"}' "$big" >"$T_DIR/big.json"
code=$(curl -sk --pinnedpubkey "$CP_PIN" -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $CP_TOKEN" --data-binary @"$T_DIR/big.json" \
    "$CP_URL/v1/pops")
expect_eq "a body over 1 MiB gets 413" "$code" 413
code=$(curl -sk --pinnedpubkey "$CP_PIN" -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $CP_TOKEN" -H 'Transfer-Encoding: chunked' \
    --data-binary @"$T_DIR/big.json" "$CP_URL/v1/pops")
expect_eq "a chunked body over 1 MiB gets 413" "$code" 413
expect_api "unknown path: 404" 404 GET /v1/nothing
expect_api "wrong method: 405" 405 DELETE /v1/pops

# Enrollment tokens.
expect_api "enrollment token" 201 POST /v1/enrollment-tokens \
    '{"pop":"fra1","ttl_s":600}' "$OPER"
ETOK=$(echo "$LAST" | jq -r .token)
echo "$LAST" | jq -e '.token|startswith("efe_")' >/dev/null &&
    ok "enrollment token format" || fail "enrollment token format" "$LAST"
echo "$LAST" | jq -r .bootstrap_command | grep -q -- \
    "--pinnedpubkey '$CP_PIN' $CP_URL/v1/bootstrap.sh | sudo EDGE_TOKEN=efe_" &&
    ok "bootstrap command pins the certificate" ||
    fail "bootstrap command pins the certificate" "$LAST"
expect_api "token for unknown POP: 404" 404 POST /v1/enrollment-tokens \
    '{"pop":"nope"}'
expect_api "ttl out of range: 400" 400 POST /v1/enrollment-tokens \
    '{"pop":"fra1","ttl_s":1}'

# Profile and rollouts.
expect_api "no profile yet: 404" 404 GET /v1/profile
expect_api "put a profile" 201 PUT /v1/profile \
    '{"steps":[{"name":"fwd","kind":"sysctl","params":{"key":"net.ipv4.ip_forward","value":"1"}}]}' "$OPER"
expect_eq "first profile is version 1" "$(echo "$LAST" | jq .version)" 1
expect_api "second profile" 201 PUT /v1/profile '{"steps":[]}'
expect_eq "second profile is version 2" "$(echo "$LAST" | jq .version)" 2
expect_api "get the newest profile" 200 GET /v1/profile
expect_eq "newest is 2" "$(echo "$LAST" | jq .version)" 2
expect_api "get version 1" 200 GET '/v1/profile?version=1'
expect_eq "version 1 has its step" "$(echo "$LAST" | jq -r '.doc.steps[0].name')" fwd
expect_api "bad profile: 400" 400 PUT /v1/profile \
    '{"steps":[{"name":"a","kind":"teleport"}]}'
expect_api "rollout of an unknown profile: 422" 422 POST /v1/rollouts \
    '{"component":"profile","version":"7","strategy":"all_at_once"}'
expect_api "rollout of an unknown release: 422" 422 POST /v1/rollouts \
    '{"component":"dataplane","version":"1.0.0","strategy":"all_at_once"}'
expect_api "rollout with a bad component: 400" 400 POST /v1/rollouts \
    '{"component":"kernel","version":"1","strategy":"all_at_once"}'
expect_api "all_at_once rollout with no nodes" 201 POST /v1/rollouts \
    '{"component":"profile","version":"2","strategy":"all_at_once"}' "$OPER"
RID=$(echo "$LAST" | jq .id)
completed() { api GET "/v1/rollouts/$RID" | grep -q '"state":"completed"'; }
check "a rollout with nothing to move completes" await 10 completed
expect_api "abort a finished rollout: 422" 422 POST "/v1/rollouts/$RID/abort"
expect_api "unknown rollout: 404" 404 GET /v1/rollouts/999
expect_api "list rollouts" 200 GET /v1/rollouts

# Nodes, fleet, events, metrics.
expect_api "list nodes" 200 GET /v1/nodes
expect_api "unknown node: 404" 404 GET /v1/nodes/n-000000000000
expect_api "drain unknown node: 404" 404 POST /v1/nodes/n-000000000000/drain
expect_api "fleet summary" 200 GET /v1/fleet
expect_api "events" 200 GET '/v1/events?after=0'
echo "$LAST" | jq -e '[.events[] | select(.action=="pop.create" and
    .actor=="ops")] | length == 1' >/dev/null &&
    ok "events record the actor" || fail "events record the actor" "$LAST"
N1=$(echo "$LAST" | jq '.events[-1].id')
expect_api "events after the last one are empty" 200 GET "/v1/events?after=$N1"
expect_eq "no newer events" "$(echo "$LAST" | jq '.events|length')" 0
expect_api "bad events query: 400" 400 GET '/v1/events?after=x'
# An enrolled node, so that the metrics check below has an id and a host
# name to look for.
"$NC" enroll --server "$CP_URL" --pin "$CP_PIN" --token "$ETOK" \
    --state "$T_DIR/node" --hostname metrics-host-q7 >/dev/null
NODE=$(sed -n 's/^node_id=//p' "$T_DIR/node")
check "a node enrolls ($NODE)" test -n "$NODE"
"$NC" status --state "$T_DIR/node" --body '{"dataplane":{"healthy":true}}' \
    >/dev/null
m=$(curl -sk --pinnedpubkey "$CP_PIN" "$CP_URL/metrics")
echo "$m" | grep -q 'edgecp_requests_total{route="pops",code="201"}' &&
    ok "metrics count requests by route and code" ||
    fail "metrics count requests by route and code"
echo "$m" | grep -q 'edgecp_request_duration_seconds_bucket{route="pops",le="+Inf"}' &&
    ok "metrics have a duration histogram" ||
    fail "metrics have a duration histogram"
echo "$m" | grep -q '^edgecp_nodes{health="healthy"} 1$' &&
    ok "metrics count the node by health" ||
    fail "metrics count the node by health" "$(echo "$m" | grep edgecp_nodes)"
# /metrics is open to any scraper by default: counts only, no name, id,
# host name or token.
names=$(api GET /v1/nodes | cut -d' ' -f2- | jq -r '.nodes[] | .id, .hostname')
expect_eq "the words to look for include the node's id and host name" \
    "$(echo $names)" "$NODE metrics-host-q7"
leak=""
for w in "$(cat "$CP_DIR/admin.token" | cut -c5-)" "${OPER#efa_}" \
    "${ETOK#efe_}" $names \
    $(api GET /v1/pops | cut -d' ' -f2- | jq -r '.pops[].name'); do
	echo "$m" | grep -qF -- "$w" && leak="$leak $w"
done
expect_eq "metrics carry no token, POP name, node id or host name" "$leak" ""
check "tokens never reach the log" sh -c \
    "! grep -q -e '${OPER#efa_}' -e '$(cat "$CP_DIR/admin.token" | cut -c5-)' '$CP_DIR/cp.log'"

# The CLI, through --data-dir (local) and --server/--token.
out=$("$CP" --data-dir "$CP_DIR" pop list)
echo "$out" | grep -q '^fra1 ' && ok "cli: pop list" || fail "cli: pop list" "$out"
"$CP" --data-dir "$CP_DIR" pop add ams1 --region eu-west -o json |
    jq -e '.name == "ams1"' >/dev/null && ok "cli: pop add -o json" ||
    fail "cli: pop add -o json"
"$CP" --server "$CP_URL" --token "$VIEWER" --pin "$CP_PIN" pop add x1 \
    --region r >/dev/null 2>"$T_DIR/err"
expect_eq "cli: API error exits 1" "$?" 1
grep -q 403 "$T_DIR/err" && ok "cli: API error message shown" ||
    fail "cli: API error message shown"
"$CP" --data-dir "$CP_DIR" pop frobnicate >/dev/null 2>&1
expect_eq "cli: usage error exits 2" "$?" 2
EDGE_CP_URL=$CP_URL EDGE_CP_TOKEN=$VIEWER EDGE_CP_PIN=$CP_PIN "$CP" node list \
    >/dev/null
expect_eq "cli: environment variables" "$?" 0
"$CP" --server "$CP_URL" --token "$VIEWER" \
    --pin 'sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' pop list \
    >/dev/null 2>&1
expect_eq "cli: a wrong pin fails" "$?" 1
out=$("$CP" --data-dir "$CP_DIR" token create --pop fra1 --uses 2)
echo "$out" | grep -q 'sudo EDGE_TOKEN=efe_' && ok "cli: token create" ||
    fail "cli: token create" "$out"
"$CP" --data-dir "$CP_DIR" events --limit 5 | head -1 | grep -q '^ID' &&
    ok "cli: events table" || fail "cli: events table"

# SIGTERM: clean exit.
stop_cp TERM
expect_eq "SIGTERM exits 0" "$?" 0
check "database is intact after shutdown" sh -c \
    "sqlite3 '$CP_DIR/edge-cp.db' 'PRAGMA integrity_check' | grep -qx ok"

# --metrics-auth viewer: /metrics needs a viewer (or better) token.
"$CP" serve --data-dir "$CP_DIR" --listen 127.0.0.1:0 --metrics-auth all \
    >"$T_DIR/bad-opt" 2>&1
expect_eq "--metrics-auth all: a usage error" "$?" 2
check "...saying what it takes" grep -q 'none or viewer' "$T_DIR/bad-opt"
start_cp "$CP_DIR" --metrics-auth viewer ||
    { fail "edge-cp starts with --metrics-auth viewer"; finish; exit 1; }
mcode() { # TOKEN ("": none): the status /metrics answers
	curl -sk --pinnedpubkey "$CP_PIN" -o "$T_DIR/m" -D "$T_DIR/m.h" \
	    -w '%{http_code}' ${1:+-H "Authorization: Bearer $1"} "$CP_URL/metrics"
}
expect_eq "with --metrics-auth viewer, /metrics without a token: 401" "$(mcode "")" 401
check "...asking for a bearer token" grep -qi '^WWW-Authenticate: Bearer' "$T_DIR/m.h"
check "...and no metric in the answer" sh -c "! grep -q edgecp_ '$T_DIR/m'"
expect_eq "...with an unknown token: 401" \
    "$(mcode efa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA)" 401
expect_eq "...with a viewer token: 200" "$(mcode "$VIEWER")" 200
check "...the metrics" grep -q '^edgecp_checkins_total ' "$T_DIR/m"
expect_eq "...with an operator token: 200" "$(mcode "$OPER")" 200
"$NC" get --server "$CP_URL" --pin "$CP_PIN" --state "$T_DIR/node" \
    --path /metrics >/dev/null 2>"$T_DIR/nerr"
check "...with a node's session tag: 401" grep -q 'HTTP 401' "$T_DIR/nerr"
expect_eq "...and the refusals are counted too" \
    "$(curl -sk --pinnedpubkey "$CP_PIN" -H "Authorization: Bearer $VIEWER" \
        "$CP_URL/metrics" | grep -c '^edgecp_requests_total{route="metrics",code="401"}')" 1
stop_cp TERM
expect_eq "...and edge-cp stops cleanly" "$?" 0
finish
