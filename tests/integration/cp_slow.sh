#!/bin/sh
# Slow and idle clients do not starve the others: a thousand connections
# that send one byte and stall are held while nodes and operators keep
# being answered, and edge-cp closes the stalled ones at its timeout.
. "$(dirname "$0")/lib.sh"
setup cpslow
start_cp "$T_DIR/cp" --timeout 4 || { fail "edge-cp starts"; finish; exit 1; }
port=${CP_URL##*:}

"$EF_BIN/slowclient" 127.0.0.1 "$port" 1000 8 127.0.0. >"$T_DIR/slow" 2>&1 &
S=$!
T_PIDS="$T_PIDS $S"
await 10 grep -q '^opened' "$T_DIR/slow"
opened=$(sed -n 's/^opened //p' "$T_DIR/slow")
check "a thousand stalled connections are open ($opened)" test "$opened" -ge 900

good=0
i=0
while [ $i -lt 20 ]; do
	curl -sf -k --max-time 2 --pinnedpubkey "$CP_PIN" \
	    -H "Authorization: Bearer $CP_TOKEN" "$CP_URL/v1/pops" \
	    -o /dev/null && good=$((good + 1))
	i=$((i + 1))
done
expect_eq "operators are answered meanwhile (20 of 20)" "$good" 20

wait "$S"
closed=$(sed -n 's/^closed_by_server //p' "$T_DIR/slow")
check "edge-cp closed the stalled connections at its timeout ($closed)" \
    test "${closed:-0}" -ge "$opened"
expect_api "and still serves" 200 GET /v1/pops
finish
