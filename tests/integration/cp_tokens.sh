#!/bin/sh
# API tokens (threat T17): a database from before token expiry upgrades in
# place and its tokens keep working; tokens made with an expiry work until
# it and get 401 after, like an unknown token; `apitoken list` (API and
# CLI) shows names, roles and times, never a secret or a hash; revoking a
# token refuses its next request and ends its open event stream; the last
# working admin token cannot be revoked, and a revoked admin.token is not
# let in again by a restart; only admins list and revoke; bad input (an
# unknown name, a bad duration) gets a clear error and changes nothing.
. "$(dirname "$0")/lib.sh"
setup cp_tokens
D="$T_DIR/cp"
# --timeout 4: event streams get a keepalive every 2 s.
start_cp "$D" --timeout 4 || { fail "edge-cp starts"; finish; exit 1; }

# ---- an existing database upgrades in place -------------------------------
expect_api "an operator token, before the upgrade" 201 POST /v1/api-tokens \
    '{"name":"ops","role":"operator"}'
OPS=$(echo "$LAST" | jq -r .token)
stop_cp TERM
# The same tokens in a database made by migrations 001-005 only, as an
# edge-cp from before expiry left it.
{
	cat "$EF_TOP"/schema/00[1-5]_*.sql
	echo "PRAGMA user_version=5;"
	echo "ATTACH '$D/edge-cp.db' AS cur;"
	echo "INSERT INTO api_tokens SELECT name, role, hash, created_at,"
	echo "    created_by FROM cur.api_tokens;"
} | sqlite3 "$T_DIR/old.db"
check "a schema-5 database with the tokens" test "$(sqlite3 "$T_DIR/old.db" \
    'PRAGMA user_version; SELECT count(*) FROM api_tokens' | tr '\n' ' ')" = "5 2 "
# That edge-cp had no generation file either (threat T38): without it,
# the database made by hand would be refused as a restored copy.
rm -f "$D/edge-cp.db" "$D/edge-cp.db-wal" "$D/edge-cp.db-shm" "$D/generation"
mv "$T_DIR/old.db" "$D/edge-cp.db"
start_cp "$D" --timeout 4 || { fail "edge-cp starts on the old database"; finish; exit 1; }
check "edge-cp migrates it in place (006)" \
    grep -q 'event=migrated schema=schema/006_api_token_expiry.sql' "$D/cp.log"
expect_api "the admin token still works" 200 GET /v1/pops
expect_api "...and the operator token made before" 201 POST /v1/pops \
    '{"name":"p1","region":"eu"}' "$OPS"
expect_api "admin lists the tokens" 200 GET /v1/api-tokens
expect_eq "...both, in force, no expiry" \
    "$(echo "$LAST" | jq -c '[.api_tokens[] | [.name, .role, .state, .expires_at]]')" \
    '[["admin","admin","active",null],["ops","operator","active",null]]'

# ---- expiry ------------------------------------------------------------------
expect_api "a token that expires in 30 days" 201 POST /v1/api-tokens \
    '{"name":"ci","role":"operator","ttl_s":2592000}'
CI=$(echo "$LAST" | jq -r .token)
exp=$(echo "$LAST" | jq .expires_at)
check "...says when (expires_at)" test "$exp" -ge $(($(date +%s) + 2592000 - 60)) -a \
    "$exp" -le $(($(date +%s) + 2592000))
expect_api "...and works" 200 GET /v1/whoami "" "$CI"

expect_api "a token that expires in 4 s" 201 POST /v1/api-tokens \
    '{"name":"brief","role":"viewer","ttl_s":4}'
BRIEF=$(echo "$LAST" | jq -r .token)
expect_api "...works at once" 200 GET /v1/pops "" "$BRIEF"
refused() { [ "$(status_of "$(api GET /v1/pops "" "$BRIEF")")" = 401 ]; }
check "...and is refused with 401 once it has expired" await 20 refused
api GET /v1/pops "" "$BRIEF" | cut -d' ' -f2- >"$T_DIR/expired.json"
# A well-formed token that never existed.
api GET /v1/pops "" "efa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" |
    cut -d' ' -f2- >"$T_DIR/unknown.json"
check "...saying so clearly" grep -q 'unknown, revoked or expired' "$T_DIR/expired.json"
expect_eq "...with the very answer an unknown token gets" \
    "$(cat "$T_DIR/expired.json")" "$(cat "$T_DIR/unknown.json")"
expect_eq "the list shows it expired" \
    "$(api GET /v1/api-tokens | cut -d' ' -f2- |
        jq -r '.api_tokens[] | select(.name == "brief") | .state')" expired

# An open stream of a token that expires ends at its next keepalive.
# stream FILE TOKEN: an event stream in the background; FILE.rc gets
# curl's exit status when the stream ends (0: ended by edge-cp).
stream() {
	(curl -skN --max-time 60 --pinnedpubkey "$CP_PIN" \
	    -H "Authorization: Bearer $2" "$CP_URL/v1/events/stream" \
	    >"$1" 2>/dev/null
	echo $? >"$1.rc") &
	T_PIDS="$T_PIDS $!"
}
has() { grep -q "$2" "$1"; }
says() { echo "$LAST" | grep -q "$1"; }
expect_api "a viewer token that expires in 5 s" 201 POST /v1/api-tokens \
    '{"name":"wall","role":"viewer","ttl_s":5}'
stream "$T_DIR/wall" "$(echo "$LAST" | jq -r .token)"
check "...opens an event stream" await 5 has "$T_DIR/wall" '^retry: '
check "...which edge-cp ends once the token has expired" \
    await 30 test -s "$T_DIR/wall.rc"
expect_eq "...cleanly (curl exits 0)" "$(cat "$T_DIR/wall.rc")" 0
check "...saying why" has "$T_DIR/wall" '^: end: the token of this stream was revoked or has expired'

# ---- list ----------------------------------------------------------------------
expect_api "admin lists the tokens" 200 GET /v1/api-tokens
echo "$LAST" >"$T_DIR/list.json"
expect_eq "...every one by name" \
    "$(jq -r '[.api_tokens[].name] | join(",")' "$T_DIR/list.json")" \
    "admin,brief,ci,ops,wall"
expect_eq "...with role, state, created, by, expires and last used only" \
    "$(jq -r '[.api_tokens[] | keys] | unique | .[0] | join(",")' "$T_DIR/list.json")" \
    "created_at,created_by,expires_at,last_used,name,role,state"
check "...never a secret" sh -c "! grep -q 'efa_' '$T_DIR/list.json' &&
    ! grep -q '${CI#efa_}' '$T_DIR/list.json'"
expect_eq "...and when each was last used (ci: used)" \
    "$(jq '.api_tokens[] | select(.name == "ci") | .last_used > 0' "$T_DIR/list.json")" true
cli() { "$CP" --server "$CP_URL" --token "$ADMIN" --pin "$CP_PIN" "$@"; }
ADMIN=$CP_TOKEN
cli apitoken list >"$T_DIR/list.txt" 2>&1
check "edge-cp apitoken list: a table" grep -q '^NAME  *ROLE  *STATE  *CREATED  *BY  *EXPIRES  *LAST_USED$' "$T_DIR/list.txt"
check "...with ci, an operator" grep -q '^ci  *operator  *active ' "$T_DIR/list.txt"
check "...never a secret" sh -c "! grep -q 'efa_' '$T_DIR/list.txt'"

# ---- the CLI, and bad input --------------------------------------------------
cli -o json apitoken create --name deploy --role operator --expires 30d \
    >"$T_DIR/deploy.json" 2>&1
d=$(jq '.expires_at - now | floor' "$T_DIR/deploy.json" 2>/dev/null)
check "edge-cp apitoken create --expires 30d: 30 days (${d:-?} s)" \
    test "${d:-0}" -ge $((2592000 - 60)) -a "${d:-0}" -le 2592000
count() { api GET /v1/api-tokens | cut -d' ' -f2- | jq '.api_tokens | length'; }
n0=$(count)
for bad in 3x 0 -5 30dd 3651d 99999999999999999999 ''; do
	cli apitoken create --name bad --role viewer --expires "$bad" \
	    >"$T_DIR/bad.out" 2>&1
	rc=$?
	if [ "$rc" != 2 ] || ! grep -q 'not a duration' "$T_DIR/bad.out"; then
		fail "--expires '$bad' is refused" "rc $rc: $(cat "$T_DIR/bad.out")"
	else
		ok "--expires '$bad' is refused, saying why"
	fi
done
expect_api "ttl_s 0: 400" 400 POST /v1/api-tokens '{"name":"bad","role":"viewer","ttl_s":0}'
check "...saying why" says ttl_s
expect_api "ttl_s as a string: 400" 400 POST /v1/api-tokens \
    '{"name":"bad","role":"viewer","ttl_s":"30d"}'
expect_api "ttl_s over ten years: 400" 400 POST /v1/api-tokens \
    '{"name":"bad","role":"viewer","ttl_s":315360001}'
expect_eq "...and no token was made" "$(count)" "$n0"
ev0=$(api GET '/v1/events?kind=api_token&limit=1000' | cut -d' ' -f2- | jq '.events | length')
expect_api "revoking an unknown name: 404" 404 DELETE /v1/api-tokens/nobody
check "...saying so" says 'no API token named nobody'
expect_api "revoking a name no token can have: 404" 404 DELETE /v1/api-tokens/No_Such
cli apitoken revoke nobody >"$T_DIR/rv.out" 2>&1
rc=$?
check "edge-cp apitoken revoke nobody: fails, saying why" \
    sh -c "[ $rc = 1 ] && grep -q '404 not_found: no API token named nobody' '$T_DIR/rv.out'"
expect_eq "...and nothing changed" "$(count),$(api GET '/v1/events?kind=api_token&limit=1000' |
    cut -d' ' -f2- | jq '.events | length')" "$n0,$ev0"

# ---- only admins list and revoke -----------------------------------------------
expect_api "an operator may not list tokens: 403" 403 GET /v1/api-tokens "" "$CI"
expect_api "...nor revoke one: 403" 403 DELETE /v1/api-tokens/ops "" "$CI"
expect_api "a viewer token" 201 POST /v1/api-tokens '{"name":"v","role":"viewer"}'
VIEW=$(echo "$LAST" | jq -r .token)
expect_api "a viewer may not list tokens: 403" 403 GET /v1/api-tokens "" "$VIEW"
expect_api "...nor revoke one: 403" 403 DELETE /v1/api-tokens/ci "" "$VIEW"
expect_api "...and the token it tried is still there" 200 GET /v1/whoami "" "$CI"

# ---- revoke ----------------------------------------------------------------------
stream "$T_DIR/ci" "$CI"
check "ci opens an event stream" await 5 has "$T_DIR/ci" '^retry: '
expect_api "admin revokes ci" 200 DELETE /v1/api-tokens/ci
expect_eq "...which says so" "$(echo "$LAST" | jq -c .)" '{"name":"ci","revoked":true}'
expect_api "ci's next request: 401" 401 GET /v1/whoami "" "$CI"
check "...at once for a write too" sh -c \
    "[ \$(curl -sk --pinnedpubkey '$CP_PIN' -o /dev/null -w '%{http_code}' -X POST \
    -H 'Authorization: Bearer $CI' -H 'Content-Type: application/json' \
    --data-binary '{\"name\":\"p9\",\"region\":\"eu\"}' '$CP_URL/v1/pops') = 401 ]"
check "ci's open stream ends" await 10 test -s "$T_DIR/ci.rc"
expect_eq "...cleanly, saying why" "$(cat "$T_DIR/ci.rc"),$(grep -c '^: end: ' "$T_DIR/ci")" "0,1"
expect_eq "ci is no longer listed" \
    "$(api GET /v1/api-tokens | cut -d' ' -f2- | jq '[.api_tokens[] | select(.name == "ci")] | length')" 0
expect_eq "the event log has the revoke, by admin" \
    "$(api GET '/v1/events?kind=api_token.revoke' | cut -d' ' -f2- |
        jq -r '.events[] | .actor + " " + .object + " " + .detail.role')" "admin ci operator"
expect_api "a new token may take the name" 201 POST /v1/api-tokens \
    '{"name":"ci","role":"viewer"}'
expect_api "...and works" 200 GET /v1/whoami "" "$(echo "$LAST" | jq -r .token)"
expect_api "...while the revoked one stays refused" 401 GET /v1/whoami "" "$CI"
check "edge-cp apitoken revoke deploy" cli apitoken revoke deploy
expect_eq "...which is gone from the list" \
    "$(api GET /v1/api-tokens | cut -d' ' -f2- |
        jq '[.api_tokens[] | select(.name == "deploy")] | length')" 0

# ---- the admin tokens ----------------------------------------------------------
expect_api "the last working admin token cannot be revoked: 409" 409 \
    DELETE /v1/api-tokens/admin
check "...saying why" says 'last admin token'
expect_api "...and still works" 200 GET /v1/api-tokens
expect_api "a second admin token" 201 POST /v1/api-tokens '{"name":"root","role":"admin"}'
ROOT=$(echo "$LAST" | jq -r .token)
expect_api "root revokes admin (DATA_DIR/admin.token)" 200 DELETE /v1/api-tokens/admin "" "$ROOT"
expect_api "admin.token's token: 401" 401 GET /v1/pops
stop_cp TERM
start_cp "$D" --timeout 4 || { fail "edge-cp restarts"; finish; exit 1; }
expect_api "after a restart, admin.token's token is still refused" 401 GET /v1/pops
check "...and edge-cp says so in its log" grep -q 'event=admin_token_revoked' "$D/cp.log"
expect_api "root still works" 200 GET /v1/api-tokens "" "$ROOT"
expect_eq "...and lists every token but the revoked ones" \
    "$(echo "$LAST" | jq -r '[.api_tokens[].name] | join(",")')" \
    "brief,ci,ops,root,v,wall"
finish
