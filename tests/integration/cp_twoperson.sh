#!/bin/sh
# The two-person rule (threat T17, edge-cp serve --two-person) with two
# admin tokens and two operator tokens over real HTTPS, nodes played by
# nodeclient: an upload waits unsigned until a second admin approves it
# (the uploader, a token it made, two tokens one token made and an
# operator are refused, and nothing
# changes), and is signed only as it was uploaded; an unapproved release
# cannot be downloaded or rolled out; a
# profile rollout, an all_at_once one and one whose first wave is the
# whole fleet wait for a second person's promote, and a canary-first
# release rollout does not; the freeze is lifted by another token than
# the one that set it; every approval and refusal is an event naming its
# token.  Then edge-cp restarts without the option: what waited still
# waits, and everything else behaves as without the rule.
. "$(dirname "$0")/lib.sh"
setup cp_twoperson
start_cp "$T_DIR/cp" --two-person --node-interval 1 ||
    { fail "edge-cp starts"; finish; exit 1; }
ART="$CP_DIR/artifacts/dataplane"
# body FILTER: jq over $LAST (printf: a signature's "\n" stays as is).
body() { printf '%s\n' "$LAST" | jq -rc "$1"; }
nc() { _c=$1; shift; "$NC" "$_c" --server "$CP_URL" --pin "$CP_PIN" "$@"; }
cli() { _t=$1; shift; "$CP" --server "$CP_URL" --token "$_t" --pin "$CP_PIN" "$@"; }

check "edge-cp says it runs with the rule" \
    grep -q 'event=listening.* two_person=1' "$CP_DIR/cp.log"
check "...in /metrics" sh -c \
    "curl -sk '$CP_URL/metrics' | grep -qx 'edgecp_two_person 1'"
expect_api "...and in the fleet view" 200 GET /v1/fleet
expect_eq "...two_person: true" "$(body .two_person)" true

# Two admins and two operators, each made by the first admin token.
for t in a1:admin a2:admin op:operator op2:operator; do
	expect_api "token ${t%%:*}" 201 POST /v1/api-tokens \
	    "{\"name\":\"${t%%:*}\",\"role\":\"${t#*:}\"}"
	eval "$(echo "${t%%:*}" | tr a-z A-Z)=$(body .token)"
done

expect_api "no token may be named edge-cp, the engine's own name: 400" 400 \
    POST /v1/api-tokens '{"name":"edge-cp","role":"admin"}' "$A1"
expect_api "POP p1" 201 POST /v1/pops '{"name":"p1","region":"eu"}'
for i in 1 2; do
	T=$(api POST /v1/enrollment-tokens '{"pop":"p1"}' | cut -d' ' -f2- |
	    jq -r .token)
	nc enroll --token "$T" --state "$T_DIR/n$i" --hostname "n$i" >/dev/null
done
check "two nodes enrolled" test -s "$T_DIR/n2"
# How many nodes' desired state has $1 at version $2.
moved() {
	c=0
	for n in n1 n2; do
		nc desired --state "$T_DIR/$n" --out "$T_DIR/$n.d" >/dev/null
		[ "$(jq -r ".$1 | if type == \"object\" then .version else . end" \
		    "$T_DIR/$n.d")" = "$2" ] && c=$((c + 1))
	done
	echo $c
}
moved_is() { [ "$(moved "$1" "$2")" = "$3" ]; }
ro_field() { api GET "/v1/rollouts/$1" | cut -d' ' -f2- | jq -r ".$2"; }
# put NAME WANT VERSION FILE TOKEN: a streamed upload; body in $LAST.
put() {
	_got=$(curl -sk --pinnedpubkey "$CP_PIN" -o "$T_DIR/resp" \
	    -w '%{http_code}' -T "$4" -H "Authorization: Bearer $5" \
	    "$CP_URL/v1/releases/dataplane/$3")
	LAST=$(cat "$T_DIR/resp")
	if [ "$_got" = "$2" ]; then ok "$1"; else
		fail "$1" "PUT dataplane/$3 -> $_got $LAST"; fi
}
# Everything about dataplane 1.0 that a refusal must leave as it was.
snap() {
	{ api GET /v1/releases | cut -d' ' -f2- |
	    jq -c '[.releases[] | [.version, .state, .seq]]'
	  ls -A "$ART"; } 2>&1
}

# --- releases -------------------------------------------------------------
head -c 100000 /dev/urandom >"$T_DIR/dp1"
put "a1 uploads dataplane 1.0: 202, pending" 202 1.0 "$T_DIR/dp1" "$A1"
expect_eq "...state pending, uploaded by a1" \
    "$(body '.state + " " + .uploaded_by')" "pending a1"
expect_eq "...with no signature" "$(body .signature)" null
check "...parked unsigned on disk" test -f "$ART/.pending-1.0"
check "...with neither a binary nor a signature in place" \
    sh -c "! ls '$ART' | grep -q '^1\.0'"
expect_api "the list shows it as pending" 200 GET /v1/releases
expect_eq "...without a seq" \
    "$(body '[.releases[] | [.version, .state, .seq, .created_by]]')" \
    '[["1.0","pending",null,"a1"]]'
expect_api "an unapproved release cannot be downloaded" 404 \
    GET /v1/artifacts/dataplane/1.0
expect_api "...nor its signature" 404 GET /v1/artifacts/dataplane/1.0.minisig
expect_api "an unapproved release cannot be rolled out" 422 POST /v1/rollouts \
    '{"component":"dataplane","version":"1.0","strategy":"all_at_once"}'
put "uploading it again: 409" 409 1.0 "$T_DIR/dp1" "$A2"

BEFORE=$(snap)
expect_api "a1 may not approve its own upload: 403" 403 \
    POST /v1/releases/dataplane/1.0/approve "" "$A1"
expect_eq "...with a clear error" "$(body .error.code)" same_person
expect_eq "...which names the rule" \
    "$(body '.error.message | test("^the two-person rule: a1 may not approve")')" true
expect_eq "...and nothing changed" "$(snap)" "$BEFORE"
expect_api "a1 makes an admin token a3" 201 POST /v1/api-tokens \
    '{"name":"a3","role":"admin"}' "$A1"
A3=$(body .token)
expect_api "a3, made by a1, may not approve a1's upload: 403" 403 \
    POST /v1/releases/dataplane/1.0/approve "" "$A3"
expect_eq "...nothing changed" "$(snap)" "$BEFORE"
expect_api "the first admin token, which made a1, may not either: 403" 403 \
    POST /v1/releases/dataplane/1.0/approve ""
expect_api "an operator may not approve: 403" 403 \
    POST /v1/releases/dataplane/1.0/approve "" "$OP"
expect_eq "...nothing changed" "$(snap)" "$BEFORE"
expect_api "approving what was never uploaded: 404" 404 \
    POST /v1/releases/dataplane/9.9/approve "" "$A2"

cli "$A2" release approve dataplane 1.0 -o json >"$T_DIR/appr" 2>&1
expect_eq "a2 approves it (edge-cp release approve)" "$?" 0
expect_eq "...it is a release now, seq 1" \
    "$(jq -r '.state + " " + (.seq|tostring)' "$T_DIR/appr")" "released 1"
jq -r .signature "$T_DIR/appr" >"$T_DIR/appr.minisig"
check "...signed at approval: minisign verifies what a1 uploaded" sh -c \
    "minisign -Vm '$T_DIR/dp1' -x '$T_DIR/appr.minisig' -p '$CP_DIR/release.pub' |
     grep -q 'sha256=$(sha256sum "$T_DIR/dp1" | cut -d' ' -f1) seq=1'"
check "...the parked file is gone" test ! -e "$ART/.pending-1.0"
expect_api "...the list says who uploaded and who approved" 200 GET /v1/releases
expect_eq "...a1 and a2" \
    "$(body '.releases[0] | .state + " " + .created_by + " " + .approved_by')" \
    "released a1 a2"
check "...and nodes can download it" sh -c \
    "[ \"\$(curl -sk --pinnedpubkey '$CP_PIN' -H 'Authorization: Bearer $OP' \
        '$CP_URL/v1/artifacts/dataplane/1.0' | sha256sum)\" = \
      \"\$(sha256sum <'$T_DIR/dp1')\" ]"
expect_api "approving it twice: 409" 409 \
    POST /v1/releases/dataplane/1.0/approve "" "$A2"
expect_api "a1 makes another admin token a4" 201 POST /v1/api-tokens \
    '{"name":"a4","role":"admin"}' "$A1"
A4=$(body .token)
put "a3 uploads dataplane 1.2" 202 1.2 "$T_DIR/dp1" "$A3"
expect_api "a4, made by the same token as a3, may not approve it: 403" 403 \
    POST /v1/releases/dataplane/1.2/approve "" "$A4"
expect_api "a1 discards it" 200 DELETE /v1/releases/dataplane/1.2 "" "$A1"

head -c 5000 /dev/urandom >"$T_DIR/dp2"
put "a1 uploads dataplane 1.1" 202 1.1 "$T_DIR/dp2" "$A1"
printf x >>"$ART/.pending-1.1"
expect_api "an upload changed on disk since it was uploaded is not signed: 500" \
    500 POST /v1/releases/dataplane/1.1/approve "" "$A2"
check "...neither a signature nor a binary was put in place" \
    sh -c "! ls '$ART' | grep -q '^1\.1'"
expect_eq "...it still waits" "$(api GET /v1/releases | cut -d' ' -f2- |
    jq -r '.releases[] | select(.version == "1.1") | .state')" pending
expect_api "a2 discards it" 200 DELETE /v1/releases/dataplane/1.1 "" "$A2"
put "a1 uploads dataplane 2.0" 202 2.0 "$T_DIR/dp2" "$A1"
cli "$A1" release discard dataplane 2.0 >/dev/null 2>&1
expect_eq "the uploader may discard its upload (release discard)" "$?" 0
check "...its file goes" test ! -e "$ART/.pending-2.0"
expect_api "...and it is not listed" 200 GET /v1/releases
expect_eq "...only 1.0 is" "$(body '[.releases[].version]')" '["1.0"]'
expect_api "a release cannot be discarded: 409" 409 \
    DELETE /v1/releases/dataplane/1.0 "" "$A2"
# A signature made offline is a key edge-cp does not hold: the token alone
# did not make it.  (A copy of release.key stands in for a key kept
# elsewhere.)
cp "$CP_DIR/release.key" "$T_DIR/offline.key"
NEXT=$(api GET /v1/releases/dataplane/next-seq | cut -d' ' -f2- | jq .next_seq)
"$CP" release sign --key "$T_DIR/offline.key" --component dataplane \
    --version 1.5 --seq "$NEXT" "$T_DIR/dp2" >/dev/null
cli "$A1" release add --component dataplane --version 1.5 \
    --signature "$T_DIR/dp2.minisig" "$T_DIR/dp2" -o json >"$T_DIR/off" 2>&1
expect_eq "an upload signed offline is a release at once, rule or not" \
    "$(jq -r '.state + " " + (.seq|tostring)' "$T_DIR/off")" "released 2"

# --- rollouts -------------------------------------------------------------
expect_api "op puts profile 1" 201 PUT /v1/profile '{"steps":[]}' "$OP"
expect_api "op rolls profile 1 out in waves" 201 POST /v1/rollouts \
    '{"component":"profile","version":"1","pop_min_healthy":0}' "$OP"
R1=$(body .id)
expect_eq "...which waits for a second person" \
    "$(body '.state + " " + (.second_person_needed|tostring)')" \
    "approval true"
expect_eq "...with no node moved" "$(moved profile 1)" 0
expect_api "op may not promote its own rollout: 403" 403 \
    POST "/v1/rollouts/$R1/promote" "" "$OP"
expect_eq "...it still waits" "$(ro_field "$R1" state)" approval
expect_api "...nor pause it (resume would step around the promote): 422" 422 \
    POST "/v1/rollouts/$R1/pause" "" "$OP2"
expect_eq "...saying why" \
    "$(body '.error.message | test("waits for a second person")')" true
sleep 2 # ticks go by: a rollout that waits moves nothing
expect_eq "...it still waits, nothing moved" \
    "$(ro_field "$R1" state) $(moved profile 1)" "approval 0"
cli "$OP2" rollout promote "$R1" >/dev/null 2>&1
expect_eq "op2 promotes it (edge-cp rollout promote)" "$(ro_field "$R1" state)" running
check "...the canary moves" await 10 moved_is profile 1 1
expect_api "op aborts it" 200 POST "/v1/rollouts/$R1/abort" "" "$OP"

expect_api "op rolls dataplane 1.0 out all at once" 201 POST /v1/rollouts \
    '{"component":"dataplane","version":"1.0","strategy":"all_at_once"}' "$OP"
R2=$(body .id)
expect_eq "...it waits for a second person" "$(body .state)" approval
expect_eq "...nothing moved" "$(moved dataplane 1.0)" 0
expect_api "an admin token is a second person to op" 200 \
    POST "/v1/rollouts/$R2/promote" "" "$A1"
check "...every node moves at once" await 10 moved_is dataplane 1.0 2
expect_api "op aborts it" 200 POST "/v1/rollouts/$R2/abort" "" "$OP"

expect_api "a first wave of the whole fleet is all_at_once by another name" \
    201 POST /v1/rollouts \
    '{"component":"dataplane","version":"1.0","waves":[{"percent":100}]}' "$OP"
R3=$(body .id)
expect_eq "...it waits too" "$(body .state)" approval
expect_api "op aborts it, which needs nobody" 200 POST "/v1/rollouts/$R3/abort" "" "$OP"

expect_api "a dry run says whether a second person is needed" 200 \
    POST /v1/rollouts '{"component":"dataplane","version":"1.0","dry_run":true}' "$OP"
expect_eq "...not for a canary first" "$(body .second_person_needed)" false
expect_api "a canary-first release rollout" 201 POST /v1/rollouts \
    '{"component":"dataplane","version":"1.0","bake_s":0,"min_reports":0,"pop_min_healthy":0,"approval":true}' "$OP"
R4=$(body .id)
expect_eq "...starts at once" "$(body .state)" running
expect_eq "...with its canary" "$(moved dataplane 1.0)" 1
report() {
	for n in n1 n2; do
		g=$(nc desired --state "$T_DIR/$n" --out "$T_DIR/$n.d" | cut -d' ' -f2)
		nc status --state "$T_DIR/$n" --body "$(jq -nc --arg g "$g" \
		    --arg v "$(jq -r .dataplane.version "$T_DIR/$n.d")" \
		    '{generation: $g, versions: {dataplane: $v},
		      steps: [], dataplane: {healthy: true}}')" >/dev/null
		nc desired --state "$T_DIR/$n" >/dev/null
	done
	[ "$(ro_field "$R4" state)" = approval ]
}
check "...and after it, waits for approval between waves" await 20 report
expect_api "its creator may not promote between waves: 403" 403 \
    POST "/v1/rollouts/$R4/promote" "" "$OP"
expect_api "op2 may" 200 POST "/v1/rollouts/$R4/promote" "" "$OP2"
check "...the next wave moves" await 10 moved_is dataplane 1.0 2
expect_api "op aborts it" 200 POST "/v1/rollouts/$R4/abort" "" "$OP"

# --- the freeze -----------------------------------------------------------
expect_api "op freezes the fleet" 200 POST /v1/freeze "" "$OP"
expect_api "op may not lift its own freeze: 403" 403 DELETE /v1/freeze "" "$OP"
expect_eq "...the fleet stays frozen, by op" \
    "$(api GET /v1/fleet | cut -d' ' -f2- | jq -r '"\(.frozen) \(.frozen_by)"')" \
    "true op"
expect_api "op2 lifts it" 200 DELETE /v1/freeze "" "$OP2"
expect_eq "...unfrozen" "$(api GET /v1/fleet | cut -d' ' -f2- | jq .frozen)" false

# --- the event log --------------------------------------------------------
api GET "/v1/events?limit=1000" | cut -d' ' -f2- >"$T_DIR/ev"
ev() { jq -r "[.events[] | select($1) | .actor] | join(\" \")" "$T_DIR/ev"; }
expect_eq "the upload is an event by a1" \
    "$(ev '.action == "release.upload" and .object == "dataplane/1.0"')" a1
expect_eq "the refused approvals are events by a1, a3 and admin" \
    "$(ev '.action == "release.approve_refused" and .detail.by == "a1"')" \
    "a1 a3 admin"
expect_eq "the approval is an event by a2 naming the uploader" \
    "$(ev '.action == "release.approve" and .detail.uploaded_by == "a1" and .detail.seq == 1')" a2
expect_eq "the discards are events by a1, a2 and a1" \
    "$(ev '.action == "release.discard"')" "a1 a2 a1"
expect_eq "the refused promotes are events by op" \
    "$(ev '.action == "rollout.promote_refused" and .detail.by == "op"')" "op op"
expect_eq "the second person's promote is an event by op2" \
    "$(ev ".action == \"rollout.state\" and .object == \"rollout/$R1\" and (.detail.reason | test(\"second person\"))")" op2
expect_eq "a rollout that waits says so in its create event" \
    "$(ev ".action == \"rollout.create\" and .detail.state == \"approval\"")" "op op op"
expect_eq "the refused lift of the freeze is an event by op" \
    "$(ev '.action == "freeze.off_refused" and .detail.by == "op"')" op

# --- without the option ---------------------------------------------------
put "a1 uploads dataplane 3.0, left waiting" 202 3.0 "$T_DIR/dp2" "$A1"
expect_api "op rolls profile 1 out again" 201 POST /v1/rollouts \
    '{"component":"profile","version":"1"}' "$OP"
R5=$(body .id)
stop_cp TERM
start_cp "$T_DIR/cp" --node-interval 1 || fail "edge-cp restarts without the rule"
check "edge-cp says it runs without the rule" \
    grep -q 'event=listening.* two_person=0' "$CP_DIR/cp.log"
check "...the waiting upload kept its file through the start-up sweep" \
    test -f "$ART/.pending-3.0"
expect_api "...and a1 still may not approve it: 403" 403 \
    POST /v1/releases/dataplane/3.0/approve "" "$A1"
expect_eq "...a2 may" \
    "$(api POST /v1/releases/dataplane/3.0/approve "" "$A2" | cut -c1-3)" 200
expect_api "a rollout created under the rule keeps it: 403 for its creator" 403 \
    POST "/v1/rollouts/$R5/promote" "" "$OP"
expect_api "...op2 promotes it" 200 POST "/v1/rollouts/$R5/promote" "" "$OP2"
expect_api "...op aborts it" 200 POST "/v1/rollouts/$R5/abort" "" "$OP"
put "without the rule an upload is signed at once: 201" 201 4.0 "$T_DIR/dp2" "$A1"
expect_eq "...seq 4" "$(body .seq)" 4
expect_api "an all_at_once rollout starts at once" 201 POST /v1/rollouts \
    '{"component":"dataplane","version":"4.0","strategy":"all_at_once"}' "$OP"
expect_eq "...running" "$(body .state)" running
expect_api "op freezes" 200 POST /v1/freeze "" "$OP"
expect_api "...and may lift its own freeze" 200 DELETE /v1/freeze "" "$OP"
finish
