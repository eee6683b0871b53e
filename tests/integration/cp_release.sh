#!/bin/sh
# Releases over real HTTPS: upload (streamed to disk, signed), list,
# download by a viewer and by a node, verified with the real minisign;
# immutability, limits, roles, path tricks, per-component seq, the CLI,
# and kill -9 in the middle of an upload.
. "$(dirname "$0")/lib.sh"
setup cprel
start_cp "$T_DIR/cp" || { fail "edge-cp starts"; finish; exit 1; }
PUB="$CP_DIR/release.pub"
ART="$CP_DIR/artifacts"

expect_api "admin makes a viewer token" 201 POST /v1/api-tokens \
    '{"name":"watcher","role":"viewer"}'
VIEWER=$(printf "%s\n" "$LAST" | jq -r .token)
expect_api "admin makes an operator token" 201 POST /v1/api-tokens \
    '{"name":"ops","role":"operator"}'
OPER=$(printf "%s\n" "$LAST" | jq -r .token)

# put NAME WANT COMPONENT VERSION FILE [TOKEN] [curl args...]: a streamed
# PUT (curl -T); the body is left in $LAST.
put() {
	_name=$1 _want=$2 _c=$3 _v=$4 _f=$5 _tok=${6-$CP_TOKEN}
	shift 5
	[ $# -gt 0 ] && shift
	_got=$(curl -sk --pinnedpubkey "$CP_PIN" -o "$T_DIR/resp" \
	    -w '%{http_code}' -T "$_f" -H "Authorization: Bearer $_tok" \
	    "$@" "$CP_URL/v1/releases/$_c/$_v")
	LAST=$(cat "$T_DIR/resp")
	if [ "$_got" = "$_want" ]; then ok "$_name"; else
		fail "$_name" "PUT $_c/$_v -> $_got $LAST"; fi
}
# get PATH OUT [TOKEN]: prints the status, body to OUT; --path-as-is
# so that dot segments reach edge-cp as sent.
get() {
	curl -sk --path-as-is --pinnedpubkey "$CP_PIN" -o "$2" \
	    -w '%{http_code}' -H "Authorization: Bearer ${3-$VIEWER}" \
	    "$CP_URL$1"
}
# tc FILE.minisig: the trusted comment minisign verified.
verify() {
	minisign -Vm "$1" -x "$2" -p "$PUB" 2>&1 |
	    sed -n 's/^Trusted comment: //p'
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# Upload, list, download, verify.
head -c 300000 /dev/urandom >"$T_DIR/dp1"
put "admin uploads dataplane 1.0" 201 dataplane 1.0 "$T_DIR/dp1"
expect_eq "the reply carries the SHA-256" "$(printf "%s\n" "$LAST" | jq -r .sha256)" \
    "$(sha "$T_DIR/dp1")"
expect_eq "...the size" "$(printf "%s\n" "$LAST" | jq -r .size)" 300000
expect_eq "...seq 1" "$(printf "%s\n" "$LAST" | jq -r .seq)" 1
printf "%s\n" "$LAST" | jq -r .signature >"$T_DIR/reply.minisig"
WANT_TC="edgefleet component=dataplane version=1.0 size=300000 sha256=$(sha "$T_DIR/dp1") seq=1"
expect_eq "...and its signature, which minisign verifies" \
    "$(verify "$T_DIR/dp1" "$T_DIR/reply.minisig")" "$WANT_TC"
expect_api "viewer lists releases" 200 GET /v1/releases "" "$VIEWER"
expect_eq "the list has the release with its seq" \
    "$(printf "%s\n" "$LAST" | jq -c '[.releases[] | [.component,.version,.seq,.size,.created_by]]')" \
    '[["dataplane","1.0",1,300000,"admin"]]'
expect_eq "the files are 0644" \
    "$(stat -c %a "$ART/dataplane/1.0" "$ART/dataplane/1.0.minisig" | sort -u)" 644
expect_api "the upload is in the event log" 200 GET /v1/events "" "$VIEWER"
expect_eq "...as release.add by admin" "$(printf '%s\n' "$LAST" | jq -c \
    '[.events[] | select(.action=="release.add") | [.object,.actor,.detail.seq]]')" \
    '[["dataplane/1.0","admin",1]]'

expect_eq "viewer downloads the binary" \
    "$(get /v1/artifacts/dataplane/1.0 "$T_DIR/v.bin")" 200
check "...byte for byte" cmp -s "$T_DIR/v.bin" "$T_DIR/dp1"
expect_eq "viewer downloads the signature" \
    "$(get /v1/artifacts/dataplane/1.0.minisig "$T_DIR/v.minisig")" 200
expect_eq "minisign -V verifies it; the trusted comment binds everything" \
    "$(verify "$T_DIR/v.bin" "$T_DIR/v.minisig")" "$WANT_TC"
check "the signature is by the key in release.pub" \
    minisign -Vqm "$T_DIR/v.bin" -x "$T_DIR/v.minisig" -p "$PUB"
hl=$(curl -skI --pinnedpubkey "$CP_PIN" -H "Authorization: Bearer $VIEWER" \
    "$CP_URL/v1/artifacts/dataplane/1.0" | tr -d '\r' |
    sed -n 's/^[Cc]ontent-[Ll]ength: //p')
expect_eq "HEAD gives the size" "$hl" 300000

# A node downloads with a signed request.
expect_api "create a POP" 201 POST /v1/pops '{"name":"fra1","region":"eu"}'
ET=$(api POST /v1/enrollment-tokens '{"pop":"fra1"}' | cut -d' ' -f2- |
    jq -r .token)
check "a node enrolls" "$NC" enroll --server "$CP_URL" --pin "$CP_PIN" \
    --token "$ET" --state "$T_DIR/node" --hostname edge-1
expect_eq "the node downloads the binary (signed GET)" \
    "$("$NC" get --state "$T_DIR/node" --path /v1/artifacts/dataplane/1.0 \
    --out "$T_DIR/n.bin")" 200
check "...byte for byte" cmp -s "$T_DIR/n.bin" "$T_DIR/dp1"
expect_eq "the node downloads the signature" \
    "$("$NC" get --state "$T_DIR/node" \
    --path /v1/artifacts/dataplane/1.0.minisig --out "$T_DIR/n.minisig")" 200
expect_eq "...which verifies" "$(verify "$T_DIR/n.bin" "$T_DIR/n.minisig")" \
    "$WANT_TC"
expect_eq "a node asking for an unknown release: 404" \
    "$("$NC" get --state "$T_DIR/node" --path /v1/artifacts/keeper/9 \
    2>/dev/null)" 404
expect_eq "no credentials: 401" \
    "$(curl -sk --pinnedpubkey "$CP_PIN" -o /dev/null -w '%{http_code}' \
    "$CP_URL/v1/artifacts/dataplane/1.0")" 401
expect_eq "a bad token: 401" "$(get /v1/artifacts/dataplane/1.0 /dev/null \
    efa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA)" 401
expect_eq "a forged node tag: 401" \
    "$(curl -sk --pinnedpubkey "$CP_PIN" -o /dev/null -w '%{http_code}' \
    -H "Authorization: EdgeNode sid=00000000000000000000000000000000,ctr=1,ts=$(date +%s),tag=AAAA" \
    "$CP_URL/v1/artifacts/dataplane/1.0")" 401

# Immutability, roles, bad names, limits.
head -c 1000 /dev/urandom >"$T_DIR/other"
put "re-uploading a version: 409" 409 dataplane 1.0 "$T_DIR/other"
get /v1/artifacts/dataplane/1.0 "$T_DIR/v2.bin" >/dev/null
check "...and the release is unchanged" cmp -s "$T_DIR/v2.bin" "$T_DIR/dp1"
put "operator may not upload: 403" 403 dataplane 1.5 "$T_DIR/other" "$OPER"
put "viewer may not upload: 403" 403 dataplane 1.5 "$T_DIR/other" "$VIEWER"
put "no token: 401" 401 dataplane 1.5 "$T_DIR/other" ""
put "component profile: 400" 400 profile 7 "$T_DIR/other"
put "unknown component: 400" 400 kernel 1.0 "$T_DIR/other"
put "a version ending in .minisig: 400" 400 dataplane 1.0.minisig \
    "$T_DIR/other"
put "a version starting with a dot: 400" 400 dataplane .hidden "$T_DIR/other"
: >"$T_DIR/empty"
put "an empty body: 400" 400 dataplane 1.6 "$T_DIR/empty"
truncate -s $((64 * 1024 * 1024 + 1)) "$T_DIR/huge"
put "Content-Length over 64 MiB: 413 before the body" 413 dataplane 1.7 \
    "$T_DIR/huge"
put "a chunked body over 64 MiB: 413" 413 dataplane 1.7 "$T_DIR/huge" \
    "$CP_TOKEN" -H "Transfer-Encoding: chunked"
expect_eq "none of the refused uploads left a row" \
    "$(api GET /v1/releases | cut -d' ' -f2- | jq '.releases|length')" 1
expect_eq "...or a file" "$(ls -A "$ART/dataplane" | tr '\n' ' ')" \
    "1.0 1.0.minisig "
check "...and nothing for the refused components" test ! -e "$ART/kernel" \
    -a ! -e "$ART/profile"

# Path tricks: nothing outside the release's own files is ever read.
SECRET=$(sed -n 2p "$CP_DIR/release.key")
for p in '/v1/artifacts/dataplane/..%2F..%2Frelease.key' \
    '/v1/artifacts/dataplane/../../release.key' \
    '/v1/artifacts/%2e%2e/release.key' \
    '/v1/artifacts/dataplane/%2e%2e' \
    '/v1/artifacts/dataplane/..' \
    '/v1/artifacts/dataplane/1.0%00' \
    '/v1/artifacts/dataplane/1.0%00.minisig' \
    '/v1/artifacts/dataplane/1.0%2f..%2f..%2frelease.key' \
    '/v1/artifacts/dataplane/1.0.minisig.minisig' \
    '/v1/artifacts/dataplane/.upload-x' \
    '/v1/artifacts/profile/1' \
    '/v1/artifacts/kernel/1.0' \
    '/v1/artifacts/keeper/1.0'; do
	code=$(get "$p" "$T_DIR/trick")
	if [ "$code" = 404 ] && ! grep -qF "$SECRET" "$T_DIR/trick"; then
		ok "path trick $p: 404"
	else
		fail "path trick $p: 404" "$code $(head -c 200 "$T_DIR/trick")"
	fi
done

# seq increases per component.
head -c 5000 /dev/urandom >"$T_DIR/k1"
put "upload keeper 1.0" 201 keeper 1.0 "$T_DIR/k1"
expect_eq "keeper's seq starts at 1" "$(printf "%s\n" "$LAST" | jq .seq)" 1
head -c 5000 /dev/urandom >"$T_DIR/dp2"
put "upload dataplane 2.0-rc.1+b7" 201 dataplane 2.0-rc.1+b7 "$T_DIR/dp2"
expect_eq "dataplane's seq goes on at 2" "$(printf "%s\n" "$LAST" | jq .seq)" 2
get /v1/artifacts/dataplane/2.0-rc.1+b7 "$T_DIR/dp2.bin" >/dev/null
get /v1/artifacts/dataplane/2.0-rc.1+b7.minisig "$T_DIR/dp2.minisig" >/dev/null
expect_eq "its signature says seq=2" \
    "$(verify "$T_DIR/dp2.bin" "$T_DIR/dp2.minisig")" \
    "edgefleet component=dataplane version=2.0-rc.1+b7 size=5000 sha256=$(sha "$T_DIR/dp2") seq=2"
get /v1/artifacts/keeper/1.0.minisig "$T_DIR/k1.minisig" >/dev/null
check "a dataplane signature does not verify a keeper binary" sh -c \
    "! minisign -Vqm '$T_DIR/k1' -x '$T_DIR/dp2.minisig' -p '$PUB' 2>/dev/null"

# The CLI streams a file and prints the row.
head -c 200000 /dev/urandom >"$T_DIR/k2"
out=$("$CP" --data-dir "$CP_DIR" -o json release add --component keeper \
    --version 1.1 "$T_DIR/k2")
expect_eq "edge-cp release add uploads (seq 2 for the keeper)" \
    "$(printf "%s\n" "$out" | jq -c '[.component,.version,.seq,.size,.sha256]')" \
    "[\"keeper\",\"1.1\",2,200000,\"$(sha "$T_DIR/k2")\"]"
check "edge-cp release add: a second time fails" sh -c "! '$CP' --data-dir \
    '$CP_DIR' release add --component keeper --version 1.1 '$T_DIR/k2' \
    >/dev/null 2>&1"
check "edge-cp release add: a bad version fails before connecting" sh -c \
    "! '$CP' --server https://192.0.2.1:1 --token x release add \
    --component keeper --version ../x '$T_DIR/k2' >/dev/null 2>&1"
"$CP" --data-dir "$CP_DIR" release list >"$T_DIR/list"
check "edge-cp release list shows SEQ" grep -q '^COMPONENT  VERSION .* SEQ' \
    "$T_DIR/list"
check "...and every release" test "$(grep -c '^dataplane\|^keeper' \
    "$T_DIR/list")" -eq 4

head -c 40000000 /dev/urandom >"$T_DIR/big"
no_partial() { ! ls -A "$ART/dataplane" | grep -q '^\.upload-'; }

# A client that gives up mid-upload leaves nothing behind.
curl -sk --pinnedpubkey "$CP_PIN" -o /dev/null --limit-rate 4M --max-time 1 \
    -T "$T_DIR/big" -H "Authorization: Bearer $CP_TOKEN" \
    "$CP_URL/v1/releases/dataplane/3.0" 2>/dev/null
check "a client cut off mid-upload: its temporary file goes at once" \
    await 10 no_partial
expect_eq "...and there is no release" \
    "$(get /v1/artifacts/dataplane/3.0 /dev/null)" 404

# kill -9 in the middle of an upload: no row, no file served, and the
# unfinished file is gone after the restart.
curl -sk --pinnedpubkey "$CP_PIN" -o /dev/null --limit-rate 4M \
    -T "$T_DIR/big" -H "Authorization: Bearer $CP_TOKEN" \
    "$CP_URL/v1/releases/dataplane/3.0" 2>/dev/null &
UP=$!
T_PIDS="$T_PIDS $UP"
partial() {
	for f in "$ART"/dataplane/.upload-*; do
		[ -f "$f" ] && [ "$(size "$f")" -gt 1000000 ] && return 0
	done
	return 1
}
check "the upload streams to a temporary file" await 20 partial
stop_cp KILL
wait "$UP" 2>/dev/null
# A crash between the files and the row leaves files like these.
cp "$T_DIR/k1" "$ART/keeper/9.9"
cp "$T_DIR/k1.minisig" "$ART/keeper/9.9.minisig"
start_cp "$CP_DIR" || { fail "edge-cp restarts"; finish; exit 1; }
expect_api "after kill -9 mid-upload: no row" 200 GET /v1/releases
expect_eq "...the list is as before" \
    "$(printf "%s\n" "$LAST" | jq -c '[.releases[] | .component + "/" + .version]')" \
    '["dataplane/1.0","dataplane/2.0-rc.1+b7","keeper/1.0","keeper/1.1"]'
expect_eq "...the version is not served" \
    "$(get /v1/artifacts/dataplane/3.0 /dev/null)" 404
check "...the unfinished upload was removed at start" no_partial
check "...so was a release's files without a row" \
    test ! -e "$ART/keeper/9.9" -a ! -e "$ART/keeper/9.9.minisig"
expect_eq "...which is not served either" \
    "$(get /v1/artifacts/keeper/9.9 /dev/null)" 404
put "the interrupted version uploads afterwards" 201 dataplane 3.0 \
    "$T_DIR/dp2"
expect_eq "...with the next seq" "$(printf "%s\n" "$LAST" | jq .seq)" 3
get /v1/artifacts/dataplane/1.0 "$T_DIR/v3.bin" >/dev/null
check "the releases from before the crash are intact" \
    cmp -s "$T_DIR/v3.bin" "$T_DIR/dp1"
# A clean stop (and, under ASan, no leak from any of the above).
check "edge-cp stops cleanly on SIGTERM" stop_cp TERM
finish
