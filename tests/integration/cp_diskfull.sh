#!/bin/sh
# Disk full on edge-cp: its data directory is a small tmpfs; with the disk
# filled, writes are answered 503 storage_full with Retry-After and change
# nothing, reads and node check-ins go on, and once space is freed writes
# succeed again without a restart.  Every write acknowledged before, during
# and after is there, and the database passes its integrity check.
. "$(dirname "$0")/lib.sh"
setup cp_diskfull
D="$T_DIR/cp"
mkdir -p "$D"
if ! mount -t tmpfs -o size=4m tmpfs "$D" 2>/dev/null; then
	echo "ok 1 - cp_diskfull # SKIP cannot mount a tmpfs here"
	exit 0
fi
trap 'cleanup_full' EXIT
cleanup_full() {
	for p in $T_PIDS; do kill -9 "$p" 2>/dev/null; done
	for p in $T_PIDS; do wait "$p" 2>/dev/null; done
	T_PIDS=""
	umount "$D" 2>/dev/null
	cleanup
}
start_cp "$D" --node-interval 1 || { fail "edge-cp starts"; finish; exit 1; }
nc() { _c=$1; shift; "$NC" "$_c" --server "$CP_URL" --pin "$CP_PIN" "$@"; }

expect_api "a POP before the disk fills" 201 POST /v1/pops '{"name":"p1","region":"r"}'
T=$(api POST /v1/enrollment-tokens '{"pop":"p1"}' | cut -d' ' -f2- | jq -r .token)
nc enroll --token "$T" --state "$T_DIR/node" --hostname n1 >/dev/null
check "a node enrolls" test -s "$T_DIR/node"

# Fill the disk, leaving nothing.
dd if=/dev/zero of="$D/filler" bs=64k 2>/dev/null
check "the disk is full" sh -c "[ \$(df --output=avail -k '$D' | tail -n 1) -lt 64 ]"

code=$(curl -sk --pinnedpubkey "$CP_PIN" -o "$T_DIR/r" -D "$T_DIR/h" \
    -w '%{http_code}' -X POST -H "Authorization: Bearer $CP_TOKEN" \
    -H 'Content-Type: application/json' \
    --data-binary '{"name":"p2","region":"r"}' "$CP_URL/v1/pops")
expect_eq "a write on a full disk: 503" "$code" 503
check "...storage_full" grep -q '"storage_full"' "$T_DIR/r"
check "...with Retry-After" grep -qi '^Retry-After: ' "$T_DIR/h"
expect_api "...and it changed nothing" 404 GET /v1/pops/p2
expect_api "reads go on" 200 GET /v1/pops/p1
check "node check-ins go on" sh -c \
    "'$NC' desired --server '$CP_URL' --pin '$CP_PIN' --state '$T_DIR/node' >/dev/null"
# A release upload streams to disk: refused, and nothing half-written
# stays behind.
head -c 200000 /dev/urandom >"$T_DIR/blob"
code=$(curl -sk --pinnedpubkey "$CP_PIN" -o "$T_DIR/r" -w '%{http_code}' \
    -X PUT -H "Authorization: Bearer $CP_TOKEN" \
    --data-binary @"$T_DIR/blob" "$CP_URL/v1/releases/dataplane/9.9.9")
expect_eq "a release upload on a full disk: 503" "$code" 503
expect_eq "...and no release row" \
    "$(api GET /v1/releases | cut -d' ' -f2- | jq '.releases | length')" 0
check "...and no file left" sh -c "! ls '$D/artifacts/dataplane' 2>/dev/null | grep -q ."

# Space again: writes succeed, no restart.
rm -f "$D/filler"
expect_api "with space again, writes succeed (no restart)" 201 POST \
    /v1/pops '{"name":"p2","region":"r"}'
expect_eq "...and the upload too" "$(curl -sk --pinnedpubkey "$CP_PIN" \
    -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $CP_TOKEN" \
    --data-binary @"$T_DIR/blob" "$CP_URL/v1/releases/dataplane/9.9.9")" 201
check "edge-cp is the same process" kill -0 "$CP_PID"
stop_cp
check "the database is intact" sh -c \
    "[ \"\$(sqlite3 '$D/edge-cp.db' 'PRAGMA integrity_check')\" = ok ]"
expect_eq "every acknowledged POP is there" \
    "$(sqlite3 "$D/edge-cp.db" 'SELECT group_concat(name) FROM pops ORDER BY name')" "p1,p2"
finish
