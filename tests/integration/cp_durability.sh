#!/bin/sh
# No acknowledged write is lost: kill -9 edge-cp in the middle of a stream
# of writes, restart it, and find every acknowledged write there and the
# database intact.  Keys, certificate and tokens survive restarts.
. "$(dirname "$0")/lib.sh"
setup cpdur
start_cp "$T_DIR/cp" || { fail "edge-cp starts"; finish; exit 1; }
PIN0=$CP_PIN
PUB0=$(cat "$CP_DIR/release.pub")
ADMIN0=$CP_TOKEN
expect_api "make an operator token" 201 POST /v1/api-tokens \
    '{"name":"ops","role":"operator"}'
OPER=$(echo "$LAST" | jq -r .token)

: >"$T_DIR/acked"
round=1
while [ $round -le 3 ]; do
	# A writer acknowledging POPs one after another, in the background.
	(
		i=0
		while [ $i -lt 2000 ]; do
			name="r${round}-p$i"
			code=$(curl -sk --pinnedpubkey "$CP_PIN" -o /dev/null \
			    -w '%{http_code}' --max-time 5 \
			    -H "Authorization: Bearer $OPER" \
			    --data-binary "{\"name\":\"$name\",\"region\":\"r\"}" \
			    "$CP_URL/v1/pops") || break
			[ "$code" = 201 ] && echo "$name" >>"$T_DIR/acked"
			i=$((i + 1))
		done
	) &
	W=$!
	# Let some writes land, then pull the plug at an uneven moment.
	await 20 sh -c "[ \$(grep -c '^r${round}-' '$T_DIR/acked') -ge $((10 * round)) ]"
	sleep "0.$(( $(od -An -N1 -tu1 /dev/urandom | tr -d ' ') % 9 + 1))"
	kill -9 "$CP_PID"
	wait "$CP_PID" 2>/dev/null
	T_PIDS=$(echo "$T_PIDS" | sed "s/ $CP_PID\b//")
	wait "$W" 2>/dev/null
	n=$(grep -c "^r${round}-" "$T_DIR/acked")
	check "round $round: writes were acknowledged before the kill ($n)" \
	    test "$n" -gt 0
	check "round $round: integrity_check after kill -9" sh -c \
	    "sqlite3 '$CP_DIR/edge-cp.db' 'PRAGMA integrity_check' | grep -qx ok"
	start_cp "$CP_DIR" || { fail "restart $round"; finish; exit 1; }
	api GET /v1/pops "" "$OPER" | cut -d' ' -f2- | jq -r '.pops[].name' |
	    sort >"$T_DIR/have"
	sort "$T_DIR/acked" >"$T_DIR/want"
	lost=$(comm -23 "$T_DIR/want" "$T_DIR/have" | wc -l)
	expect_eq "round $round: no acknowledged write lost" "$lost" 0
	round=$((round + 1))
done

expect_eq "the certificate survives restarts (same pin)" "$CP_PIN" "$PIN0"
expect_eq "the release key survives restarts" "$(cat "$CP_DIR/release.pub")" \
    "$PUB0"
expect_eq "the admin token survives restarts" "$CP_TOKEN" "$ADMIN0"
expect_api "an API token survives restarts" 200 GET /v1/pops "" "$OPER"
expect_api "events survive restarts" 200 GET '/v1/events?limit=1000' "" "$OPER"
echo "$LAST" | jq -e '[.events[] | select(.action=="api_token.create" and .object=="ops")] |
    length == 1' >/dev/null && ok "audit log kept the token creation" ||
    fail "audit log kept the token creation"
stop_cp TERM
expect_eq "SIGTERM exits 0" "$?" 0
finish
