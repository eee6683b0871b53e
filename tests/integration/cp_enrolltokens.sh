#!/bin/sh
# Enrollment tokens (threat T6): a database from before revocation
# upgrades in place and its unspent tokens keep working; admins list the
# tokens (API and CLI) with id, POP, uses, state and times, never the
# secret or its hash; a revoked token is refused at enrollment exactly as
# an unknown one is, while another token still enrolls; the log says who
# revoked which token and which token enrolled each node; operators,
# viewers and anonymous callers cannot list or revoke; bad input gets a
# clear error and changes nothing.
. "$(dirname "$0")/lib.sh"
setup cp_enrolltokens
D="$T_DIR/cp"
start_cp "$D" || { fail "edge-cp starts"; finish; exit 1; }
nc() { "$NC" enroll --server "$CP_URL" --pin "$CP_PIN" "$@"; }
# enroll NAME TOKEN: a node with that host name; its stderr in NAME.err.
enroll() {
	nc --token "$2" --state "$T_DIR/$1" --hostname "$1" \
	    >/dev/null 2>"$T_DIR/$1.err"
}
refused() { ! enroll "$1" "$2"; }
cli() { "$CP" --server "$CP_URL" --token "$CP_TOKEN" --pin "$CP_PIN" "$@"; }
says() { echo "$LAST" | grep -q "$1"; }

# ---- an existing database upgrades in place -------------------------------
expect_api "a POP, before the upgrade" 201 POST /v1/pops '{"name":"p1","region":"eu"}'
expect_api "an enrollment token for two nodes, before the upgrade" 201 \
    POST /v1/enrollment-tokens '{"pop":"p1","uses":2}'
OLD=$(echo "$LAST" | jq -r .token)
OLD_ID=$(echo "$LAST" | jq .id)
check "...with its id ($OLD_ID)" test "$OLD_ID" -ge 1
stop_cp TERM
# The same rows in a database made by migrations 001-006 only, as an
# edge-cp from before revocation left it.
{
	cat "$EF_TOP"/schema/00[1-6]_*.sql
	echo "PRAGMA user_version=6;"
	echo "ATTACH '$D/edge-cp.db' AS cur;"
	echo "INSERT INTO pops SELECT * FROM cur.pops;"
	echo "INSERT INTO api_tokens SELECT * FROM cur.api_tokens;"
	echo "INSERT INTO enrollment_tokens SELECT id, hash, pop, uses,"
	echo "    uses_left, expires_at, created_at, created_by"
	echo "    FROM cur.enrollment_tokens;"
} | sqlite3 "$T_DIR/old.db"
check "a schema-6 database with the token" test "$(sqlite3 "$T_DIR/old.db" \
    'PRAGMA user_version; SELECT count(*) FROM enrollment_tokens' | tr '\n' ' ')" = "6 1 "
# That edge-cp had no generation file either (threat T38): without it,
# the database made by hand would be refused as a restored copy.
rm -f "$D/edge-cp.db" "$D/edge-cp.db-wal" "$D/edge-cp.db-shm" "$D/generation"
mv "$T_DIR/old.db" "$D/edge-cp.db"
start_cp "$D" || { fail "edge-cp starts on the old database"; finish; exit 1; }
check "edge-cp migrates it in place (007)" \
    grep -q 'event=migrated schema=schema/007_enrollment_token_revoke.sql' "$D/cp.log"
expect_api "admin lists the enrollment tokens" 200 GET /v1/enrollment-tokens
expect_eq "...the old one, active, two uses left" \
    "$(echo "$LAST" | jq -c '[.enrollment_tokens[] | [.id, .pop, .state, .uses_left]]')" \
    "[[$OLD_ID,\"p1\",\"active\",2]]"
check "the old token still enrolls" enroll old-a "$OLD"

# ---- tokens to work with -----------------------------------------------------
expect_api "an operator token" 201 POST /v1/api-tokens '{"name":"ops","role":"operator"}'
OPS=$(echo "$LAST" | jq -r .token)
expect_api "a viewer token" 201 POST /v1/api-tokens '{"name":"v","role":"viewer"}'
VIEW=$(echo "$LAST" | jq -r .token)
mk() { # USES: an enrollment token made by ops; sets TOK and TID
	expect_api "ops makes an enrollment token ($1 uses)" 201 \
	    POST /v1/enrollment-tokens "{\"pop\":\"p1\",\"uses\":$1}" "$OPS"
	TOK=$(echo "$LAST" | jq -r .token)
	TID=$(echo "$LAST" | jq .id)
}
mk 5
A=$TOK
A_ID=$TID
mk 1
B=$TOK
B_ID=$TID
mk 3
C=$TOK
C_ID=$TID
check "ids grow ($OLD_ID $A_ID $B_ID $C_ID)" \
    test "$A_ID" -gt "$OLD_ID" -a "$B_ID" -gt "$A_ID" -a "$C_ID" -gt "$B_ID"

# ---- list ----------------------------------------------------------------------
expect_api "admin lists the enrollment tokens" 200 GET /v1/enrollment-tokens
echo "$LAST" >"$T_DIR/list.json"
expect_eq "...every one that can enroll, by id" \
    "$(jq -r '[.enrollment_tokens[].id] | map(tostring) | join(" ")' "$T_DIR/list.json")" \
    "$OLD_ID $A_ID $B_ID $C_ID"
expect_eq "...with POP, uses, state, times and who made it only" \
    "$(jq -r '[.enrollment_tokens[] | keys] | unique | .[0] | join(",")' "$T_DIR/list.json")" \
    "created_at,created_by,expires_at,id,pop,revoked_at,revoked_by,state,uses,uses_left"
expect_eq "...made by ops" \
    "$(jq -r '[.enrollment_tokens[] | select(.id == '"$A_ID"') | .created_by, .uses_left] | join(" ")' \
    "$T_DIR/list.json")" "ops 5"
nosecret() { # FILE: no token and no part of one
	! grep -q 'efe_' "$1" && ! grep -q "${A#efe_}" "$1" &&
	    ! grep -q "${B#efe_}" "$1" && ! grep -q "${OLD#efe_}" "$1"
}
check "...never a secret" nosecret "$T_DIR/list.json"
cli token list >"$T_DIR/list.txt" 2>&1
check "edge-cp token list: a table" grep -q \
    '^ID  *POP  *STATE  *USES_LEFT  *USES  *CREATED  *BY  *EXPIRES  *REVOKED_BY$' "$T_DIR/list.txt"
check "...with A, active, 5 of 5 uses left, by ops" \
    grep -q "^$A_ID  *p1  *active  *5  *5  *[0-9]*  *ops " "$T_DIR/list.txt"
check "...never a secret" nosecret "$T_DIR/list.txt"
expect_eq "edge-cp enrolltoken list -o json: the same tokens" \
    "$(cli enrolltoken list -o json | jq -c '[.enrollment_tokens[].id]')" \
    "[$OLD_ID,$A_ID,$B_ID,$C_ID]"

# ---- only admins list and revoke -----------------------------------------------
count() { api GET '/v1/enrollment-tokens?all=true' | cut -d' ' -f2- |
    jq -c '[.enrollment_tokens[] | [.id, .state]]'; }
revokes() { api GET '/v1/events?kind=enrollment_token.revoke&limit=1000' |
    cut -d' ' -f2- | jq '.events | length'; }
before="$(count) $(revokes)"
expect_api "an operator may not list enrollment tokens: 403" 403 GET /v1/enrollment-tokens "" "$OPS"
expect_api "...nor revoke one: 403" 403 DELETE "/v1/enrollment-tokens/$A_ID" "" "$OPS"
check "...saying why" says 'admin role'
expect_api "a viewer may not list them: 403" 403 GET /v1/enrollment-tokens "" "$VIEW"
expect_api "...nor revoke one: 403" 403 DELETE "/v1/enrollment-tokens/$A_ID" "" "$VIEW"
expect_api "no token: 401" 401 DELETE "/v1/enrollment-tokens/$A_ID" "" ""
"$CP" --server "$CP_URL" --token "$OPS" --pin "$CP_PIN" token revoke "$A_ID" \
    >/dev/null 2>"$T_DIR/ops.err"
rc=$?
check "edge-cp token revoke as an operator: fails, saying why" \
    sh -c "[ $rc = 1 ] && grep -q '403 forbidden' '$T_DIR/ops.err'"

# ---- bad input -------------------------------------------------------------------
for bad in abc 0 -1 1.5 99999999999999999999 '%27'; do
	expect_api "revoking id '$bad': 400" 400 DELETE "/v1/enrollment-tokens/$bad"
done
check "...saying what an id is" says 'positive integer'
expect_api "revoking an id that never was: 404" 404 DELETE /v1/enrollment-tokens/99999
check "...saying so" says 'no enrollment token 99999'
expect_api "all=maybe: 400" 400 GET '/v1/enrollment-tokens?all=maybe'
check "...saying why" says 'all: must be true or false'
cli token revoke x7 >"$T_DIR/bad.out" 2>&1
rc=$?
check "edge-cp token revoke x7: usage error, saying why" \
    sh -c "[ $rc = 2 ] && grep -q 'not an enrollment token id' '$T_DIR/bad.out'"
cli token revoke 99999 >"$T_DIR/bad.out" 2>&1
rc=$?
check "edge-cp token revoke 99999: fails, saying why" \
    sh -c "[ $rc = 1 ] && grep -q '404 not_found: no enrollment token 99999' '$T_DIR/bad.out'"
expect_eq "...and nothing changed" "$(count) $(revokes)" "$before"
check "A still enrolls" enroll a1 "$A"

# ---- revoke ----------------------------------------------------------------------
expect_api "admin revokes A" 200 DELETE "/v1/enrollment-tokens/$A_ID"
expect_eq "...which says so" "$(echo "$LAST" | jq -c .)" "{\"id\":$A_ID,\"revoked\":true}"
check "A no longer enrolls" refused a2 "$A"
check "...refused 401 invalid_token" grep -q 'HTTP 401 .*"code":"invalid_token"' "$T_DIR/a2.err"
enroll made-up efe_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
expect_eq "...exactly as a token that never existed" \
    "$(grep HTTP "$T_DIR/a2.err")" "$(grep HTTP "$T_DIR/made-up.err")"
check "B, another token, still enrolls" enroll b1 "$B"
expect_eq "the list no longer has A (nor B, spent)" \
    "$(api GET /v1/enrollment-tokens | cut -d' ' -f2- |
        jq -r '[.enrollment_tokens[].id] | map(tostring) | join(" ")')" "$OLD_ID $C_ID"
expect_api "all=true lists every token" 200 GET '/v1/enrollment-tokens?all=true'
expect_eq "...A revoked by admin, B used up" \
    "$(echo "$LAST" | jq -r '[.enrollment_tokens[] | select(.id == '"$A_ID"' or .id == '"$B_ID"') |
        .state + ":" + (.revoked_by // "-")] | join(" ")')" "revoked:admin used_up:-"
echo "$LAST" >"$T_DIR/all.json"
check "...never a secret" nosecret "$T_DIR/all.json"
expect_eq "the event log has the revoke, by admin, naming A and its POP" \
    "$(api GET '/v1/events?kind=enrollment_token.revoke' | cut -d' ' -f2- |
        jq -r '.events[] | .actor + " " + .object + " " + (.detail.id | tostring)')" \
    "admin p1 $A_ID"
B1=$(sed -n 's/^node_id=//p' "$T_DIR/b1")
expect_eq "...and which token enrolled each node (b1: B)" \
    "$(api GET "/v1/events?kind=node.enroll&node=$B1" | cut -d' ' -f2- |
        jq -r '.events[0].detail.enrollment_token')" "$B_ID"
expect_api "revoking A again: 404" 404 DELETE "/v1/enrollment-tokens/$A_ID"
check "...saying it is revoked already" says 'revoked already'
expect_eq "...and no second event" "$(revokes)" 1
check "edge-cp token revoke C" cli token revoke "$C_ID"
check "...C no longer enrolls" refused c1 "$C"
check "the old token is revoked as well" cli enrolltoken revoke "$OLD_ID"
check "...and no longer enrolls" refused old-b "$OLD"
expect_eq "no token can enroll now" \
    "$(api GET /v1/enrollment-tokens | cut -d' ' -f2- | jq '.enrollment_tokens | length')" 0
expect_eq "the nodes that enrolled: old-a, a1, b1" \
    "$(api GET /v1/nodes | cut -d' ' -f2- | jq -r '[.nodes[].hostname] | sort | join(" ")')" \
    "a1 b1 old-a"

# A revocation survives a restart.
stop_cp TERM
start_cp "$D" || { fail "edge-cp restarts"; finish; exit 1; }
check "after a restart, A is still refused" refused a3 "$A"
check "the tokens never reached the log" sh -c "! grep -q -e '${A#efe_}' -e '${OLD#efe_}' '$D/cp.log'"
finish
