#!/bin/sh
# An old copy of edge-cp's database put back (threat T38), with real
# processes and real SQLite files: a copy taken while edge-cp runs
# (SQLite's online backup, as the operator guide says), changes after it,
# a clean stop, the copy restored: edge-cp refuses to start, naming both
# generations and the flag; with --accept-restore it starts, records
# store.restored, freezes rollouts, revokes the copy's enrollment tokens,
# and hands out release sequences and profile versions above everything
# nodes admitted.  Then the same after a kill -9, which the periodic bump
# covers, and nodes' own reports raising the floors.
. "$(dirname "$0")/lib.sh"
setup cprestore
start_cp "$T_DIR/cp" --node-interval 1 ||
    { fail "edge-cp starts"; finish; exit 1; }
D="$CP_DIR"

nc() { _c=$1; shift; "$NC" "$_c" --server "$CP_URL" --pin "$CP_PIN" "$@"; }
token() { # token POP -> prints a single-use enrollment token
	api POST /v1/enrollment-tokens "{\"pop\":\"$1\"}" |
	    cut -d' ' -f2- | jq -r .token
}
node_id() { sed -n 's/^node_id=//p' "$1"; }
gen_of() { sed -n 's/^generation //p' "$1"; }
db_gen() { sqlite3 "$1" "SELECT value FROM meta WHERE key = 'generation'"; }
# upload COMPONENT VERSION: prints the new release's seq.
upload() {
	head -c 1000 /dev/urandom >"$T_DIR/bin"
	curl -sk --pinnedpubkey "$CP_PIN" -T "$T_DIR/bin" \
	    -H "Authorization: Bearer $CP_TOKEN" \
	    "$CP_URL/v1/releases/$1/$2" | jq -r .seq
}
events() { # events ACTION -> that action's events, one JSON line each
	api GET "/v1/events?kind=$1" | cut -d' ' -f2- |
	    jq -c ".events[] | select(.action == \"$1\")"
}
# serve_once [ARGS]: edge-cp serve in the foreground, output in
# $T_DIR/once; bounded, in case it starts when it should not.
serve_once() {
	timeout 20 "$CP" serve --listen 127.0.0.1:0 --data-dir "$D" "$@" \
	    >"$T_DIR/once" 2>&1
}
restore() { # restore COPY: what the operator guide says, edge-cp stopped
	rm -f "$D/edge-cp.db-wal" "$D/edge-cp.db-shm"
	cp "$1" "$D/edge-cp.db"
}

check "the first start writes DATA_DIR/generation" test -s "$D/generation"
expect_eq "...mode 0600" "$(stat -c %a "$D/generation")" 600
expect_eq "...at the database's generation" "$(gen_of "$D/generation")" \
    "$(db_gen "$D/edge-cp.db")"

# The fleet as the copy will have it.
expect_api "a POP" 201 POST /v1/pops '{"name":"fra1","region":"eu"}'
nc enroll --token "$(token fra1)" --state "$T_DIR/a" --hostname a >/dev/null
nc enroll --token "$(token fra1)" --state "$T_DIR/b" --hostname b >/dev/null
A=$(node_id "$T_DIR/a")
B=$(node_id "$T_DIR/b")
check "two nodes enrolled" test -n "$A" -a -n "$B"
SPARE=$(token fra1)
expect_api "a viewer token" 201 POST /v1/api-tokens \
    '{"name":"watcher","role":"viewer"}'
VIEWER=$(echo "$LAST" | jq -r .token)
expect_eq "dataplane 1.0 gets seq 1" "$(upload dataplane 1.0)" 1
expect_api "profile 1" 201 PUT /v1/profile '{"steps":[]}'

sqlite3 -cmd '.timeout 10000' "$D/edge-cp.db" ".backup $T_DIR/copy.db"
expect_eq "a copy taken while edge-cp runs (sqlite3 .backup)" "$?" 0
COPY_GEN=$(db_gen "$T_DIR/copy.db")

# What happens after the copy: all of it is what a restore brings back.
expect_api "node b removed" 200 DELETE "/v1/nodes/$B"
expect_api "the viewer token revoked" 200 DELETE /v1/api-tokens/watcher
check "both are recorded outside the database (DATA_DIR/revoked)" \
    test "$(grep -c '^node [0-9a-f]\{64\}$' "$D/revoked")" = 1 -a \
    "$(grep -c '^api_token [0-9a-f]\{64\}$' "$D/revoked")" = 1
expect_api "profile 2" 201 PUT /v1/profile '{"steps":[]}'
expect_eq "dataplane 2.0 gets seq 2" "$(upload dataplane 2.0)" 2
check "the spare token enrolls a node" sh -c \
    "$NC enroll --server $CP_URL --pin $CP_PIN --token $SPARE --state $T_DIR/c --hostname c >/dev/null"
expect_eq "node a reports having admitted dataplane seq 2" \
    "$(nc status --state "$T_DIR/a" \
        --body '{"admitted":{"dataplane":2,"keeper":0,"profile":2}}')" \
    '200 {"stored":true}'
LAST_EV=$(api GET "/v1/events?limit=1000" | cut -d' ' -f2- |
    jq '[.events[].id] | max')
check "edge-cp stops cleanly" stop_cp TERM
LIVE_GEN=$(gen_of "$D/generation")
check "the generation moved past the copy's ($COPY_GEN -> $LIVE_GEN)" \
    test "$LIVE_GEN" -gt "$COPY_GEN"
cp "$D/generation" "$T_DIR/generation.before"

restore "$T_DIR/copy.db"
serve_once
expect_eq "on the restored copy, edge-cp refuses to start (exit 3)" "$?" 3
check "...saying the database's generation" \
    grep -q "database is at generation $COPY_GEN " "$T_DIR/once"
check "...and the file's" grep -q "generation says $LIVE_GEN:" "$T_DIR/once"
check "...and naming the flag" grep -q -- "start once with --accept-restore" \
    "$T_DIR/once"
check "...having changed neither the file" \
    cmp -s "$D/generation" "$T_DIR/generation.before"
expect_eq "...nor the database" "$(db_gen "$D/edge-cp.db")" "$COPY_GEN"
check "...nor removed the files of releases the copy does not know" \
    test -f "$D/artifacts/dataplane/2.0"
serve_once
expect_eq "a second try is refused the same way" "$?" 3

start_cp "$D" --node-interval 1 --accept-restore
expect_eq "with --accept-restore it starts" "$?" 0
R=$(events store.restored)
expect_eq "store.restored is recorded with both generations" \
    "$(echo "$R" | jq -c '[.detail.database_generation,.detail.file_generation,.actor]')" \
    "[$COPY_GEN,$LIVE_GEN,\"edge-cp\"]"
expect_eq "...once" "$(echo "$R" | wc -l)" 1
check "...with an id above every one given before the restore ($LAST_EV)" \
    test "$(echo "$R" | jq .id)" -gt "$LAST_EV"
check "the file moved past both" test "$(gen_of "$D/generation")" -gt "$LIVE_GEN"
expect_eq "...and the database with it" "$(db_gen "$D/edge-cp.db")" \
    "$(gen_of "$D/generation")"
expect_eq "...having removed node b again and revoked the viewer token again" \
    "$(echo "$R" | jq -c '[.detail.nodes_removed,.detail.api_tokens_revoked]')" \
    '[1,1]'
expect_api "node b, removed after the copy, is not back" 404 GET "/v1/nodes/$B"
check "...and its key does not work" sh -c \
    "! '$NC' status --server '$CP_URL' --pin '$CP_PIN' --state '$T_DIR/b' \
        --body '{}' >/dev/null 2>&1"
check "node a, which was not removed, is still there" \
    sh -c "[ \"\$('$NC' status --server '$CP_URL' --pin '$CP_PIN' \
        --state '$T_DIR/a' --body '{}' | cut -d' ' -f1)\" = 200 ]"
expect_api "the viewer token, revoked after the copy, does not work" 401 \
    GET /v1/nodes "" "$VIEWER"
expect_api "rollouts are frozen" 200 GET /v1/fleet
expect_eq "...(the fleet says frozen)" "$(echo "$LAST" | jq -r .frozen)" true
check "the copy's unspent enrollment token no longer enrolls" \
    sh -c "! '$NC' enroll --server '$CP_URL' --pin '$CP_PIN' \
        --token '$SPARE' --state '$T_DIR/d' >/dev/null 2>&1"
expect_eq "the release uploaded after the copy is gone from the list" \
    "$(api GET /v1/releases | cut -d' ' -f2- | jq -c '[.releases[].version]')" \
    '["1.0"]'
expect_eq "dataplane 2.1 gets seq 3, above the seq 2 node a admitted" \
    "$(upload dataplane 2.1)" 3
expect_api "a new profile" 201 PUT /v1/profile '{"steps":[]}'
expect_eq "...gets version 3, above the 2 nodes applied" \
    "$(echo "$LAST" | jq .version)" 3

# Nodes' reports: a number edge-cp never handed out raises its floor.
expect_eq "node a reports keeper seq 7, unknown to edge-cp" \
    "$(nc status --state "$T_DIR/a" \
        --body '{"admitted":{"dataplane":2,"keeper":7,"profile":2}}')" \
    '200 {"stored":true}'
expect_eq "...recorded as store.floor_raised by the node" \
    "$(events store.floor_raised | jq -r 'select(.object == "keeper") | .actor')" \
    "$A"
expect_eq "...and keeper 1.0 gets seq 8" "$(upload keeper 1.0)" 8
expect_eq "a report with a bad mark is refused" \
    "$(nc status --state "$T_DIR/a" --body '{"admitted":{"keeper":-1}}' |
        cut -d' ' -f1)" 400

# A clean restart after all that: nothing to accept.
check "edge-cp stops" stop_cp TERM
start_cp "$D" --node-interval 1
expect_eq "the next start is an ordinary one" "$?" 0
expect_eq "...with still one store.restored" \
    "$(events store.restored | wc -l)" 1

# kill -9: the periodic bump (every 10 s after a write) made the copy old.
sqlite3 -cmd '.timeout 10000' "$D/edge-cp.db" ".backup $T_DIR/copy2.db"
COPY_GEN=$(db_gen "$T_DIR/copy2.db")
expect_api "a change after the second copy" 201 POST /v1/pops \
    '{"name":"ams1","region":"eu"}'
bumped() { [ "$(gen_of "$D/generation")" -gt "$COPY_GEN" ]; }
check "the generation moves past the copy's while edge-cp runs" \
    await 30 bumped
stop_cp KILL
restore "$T_DIR/copy2.db"
serve_once
expect_eq "after a kill -9, the restored copy is refused too (exit 3)" "$?" 3

# The file gone (a restore onto a new machine looks the same).
rm -f "$D/generation"
serve_once
expect_eq "a database with a generation but no file: refused (exit 3)" "$?" 3
check "...saying the file is missing" grep -q "says missing" "$T_DIR/once"
start_cp "$D" --accept-restore
expect_eq "...and accepted with the flag" "$?" 0
expect_eq "...recording no file generation" \
    "$(events store.restored | tail -n 1 | jq -c .detail.file_generation)" \
    null
check "...and the file is back" test -s "$D/generation"
stop_cp TERM

# Unreadable: no flag helps; fix the file first.
rm -f "$D/generation"
mkdir "$D/generation"
serve_once --accept-restore
expect_eq "an unreadable generation file: edge-cp does not start (exit 1)" \
    "$?" 1
check "...saying which file" grep -q "$D/generation" "$T_DIR/once"
rmdir "$D/generation"
finish
