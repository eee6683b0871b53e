#!/bin/sh
# Offline release signing over real HTTPS: edge-cp runs with release.pub
# only; an upload without a signature is refused before its body; the
# next sequence comes from edge-cp; a release signed with `edge-cp release
# sign` and one signed with the real minisign are accepted and served with
# their signature as it came; a signature by another key, over other
# bytes, with another comment, a taken or too-far sequence, or not base64
# is refused and stores nothing; with release.key back, edge-cp signs
# online again after the sequences the offline ones took.
. "$(dirname "$0")/lib.sh"
setup cproff
start_cp "$T_DIR/cp" || { fail "edge-cp starts"; finish; exit 1; }
PUB="$CP_DIR/release.pub"
ART="$CP_DIR/artifacts"
KEY="$T_DIR/offline.key"
mv "$CP_DIR/release.key" "$KEY"
ok "release.key leaves edge-cp's host"

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
add() { # VERSION FILE [SIG]: the CLI's exit status; its stderr in add.err
	"$CP" --data-dir "$CP_DIR" release add --component dataplane \
	    --version "$1" ${3:+--signature "$3"} "$2" >"$T_DIR/add.out" \
	    2>"$T_DIR/add.err"
}
sign() { # VERSION SEQ FILE: edge-cp release sign, to FILE.minisig
	"$CP" release sign --key "$KEY" --component dataplane --version "$1" \
	    --seq "$2" "$3" >/dev/null
}
releases() { api GET /v1/releases | cut -d' ' -f2- |
    jq -c '[.releases[] | [.version, .seq]]'; }

head -c 100000 /dev/urandom >"$T_DIR/a1"
add 1.0 "$T_DIR/a1"
expect_eq "an upload without a signature: refused" "$?" 1
check "...saying one is needed (409 signature_required)" \
    grep -q "409 signature_required" "$T_DIR/add.err"
got=$(curl -sk --pinnedpubkey "$CP_PIN" -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $CP_TOKEN" -H 'Expect:' -T "$T_DIR/a1" \
    "$CP_URL/v1/releases/dataplane/1.0")
expect_eq "...also by the API, before the body" "$got" 409
expect_eq "the next sequence: edge-cp release next-seq" \
    "$("$CP" --data-dir "$CP_DIR" release next-seq dataplane)" 1

sign 1.0 1 "$T_DIR/a1"
expect_eq "edge-cp release sign signs 1.0 at seq 1, offline" "$?" 0
add 1.0 "$T_DIR/a1" "$T_DIR/a1.minisig"
expect_eq "the upload with its signature is accepted" "$?" 0
check "...the signature is served as it was made" \
    cmp -s "$ART/dataplane/1.0.minisig" "$T_DIR/a1.minisig"
TC=$(minisign -V -p "$PUB" -m "$ART/dataplane/1.0" 2>&1 |
    sed -n 's/^Trusted comment: //p')
expect_eq "...and minisign verifies it with release.pub" "$TC" \
    "edgefleet component=dataplane version=1.0 size=100000 sha256=$(sha "$T_DIR/a1") seq=1"

# The real minisign, with the comment edge-cp expects.
head -c 5000 /dev/urandom >"$T_DIR/a2"
minisign -S -s "$KEY" -m "$T_DIR/a2" -t \
    "edgefleet component=dataplane version=2.0 size=5000 sha256=$(sha "$T_DIR/a2") seq=2" \
    >/dev/null 2>&1 </dev/null
expect_eq "minisign -S signs 2.0 at seq 2" "$?" 0
add 2.0 "$T_DIR/a2" "$T_DIR/a2.minisig"
expect_eq "the upload with minisign's signature is accepted" "$?" 0
expect_eq "two releases, seq 1 and 2" "$(releases)" '[["1.0",1],["2.0",2]]'

# Refused, each storing nothing.
head -c 3000 /dev/urandom >"$T_DIR/a3"
refused() { # NAME CODE_REGEX
	check "$1: refused" grep -Eq "$2" "$T_DIR/add.err"
	check "...nothing stored" sh -c "[ '$(releases)' = '[[\"1.0\",1],[\"2.0\",2]]' ] &&
	    [ ! -e '$ART/dataplane/3.0' ] && [ ! -e '$ART/dataplane/3.0.minisig' ]"
}
minisign -G -W -p "$T_DIR/other.pub" -s "$T_DIR/other.key" >/dev/null 2>&1 </dev/null
"$CP" release sign --key "$T_DIR/other.key" --component dataplane \
    --version 3.0 --seq 3 --out "$T_DIR/o.minisig" "$T_DIR/a3" >/dev/null
add 3.0 "$T_DIR/a3" "$T_DIR/o.minisig"
refused "a signature by another key" "400 invalid_signature: signed by another key"
sign 3.0 3 "$T_DIR/a2"
cp "$T_DIR/a2.minisig" "$T_DIR/wrong.minisig"
add 3.0 "$T_DIR/a3" "$T_DIR/wrong.minisig"
refused "a signature over other bytes" "400 invalid_signature"
sign 3.1 3 "$T_DIR/a3"
add 3.0 "$T_DIR/a3" "$T_DIR/a3.minisig"
refused "a signature for another version" \
    "400 invalid_signature: the trusted comment must be \"edgefleet component=dataplane version=3.0 size=3000 sha256=$(sha "$T_DIR/a3") seq=3\""
sign 3.0 2 "$T_DIR/a3"
add 3.0 "$T_DIR/a3" "$T_DIR/a3.minisig"
refused "a sequence already taken" "409 conflict: sequence 2 is taken; sign again with seq 3"
sign 3.0 10004 "$T_DIR/a3"
add 3.0 "$T_DIR/a3" "$T_DIR/a3.minisig"
refused "a sequence 10,001 ahead of the next" "more than 10000 above the next, 3"
printf 'not a signature' >"$T_DIR/junk.minisig"
add 3.0 "$T_DIR/a3" "$T_DIR/junk.minisig"
refused "a header that is not a signature" "400 invalid_signature"

# A skip ahead within the bound is taken; online signing resumes after it.
sign 3.0 10 "$T_DIR/a3"
add 3.0 "$T_DIR/a3" "$T_DIR/a3.minisig"
expect_eq "a signature at seq 10 (a skip ahead) is accepted" "$?" 0
expect_eq "...the next is 11" \
    "$("$CP" --data-dir "$CP_DIR" release next-seq dataplane)" 11
mv "$KEY" "$CP_DIR/release.key"
head -c 2000 /dev/urandom >"$T_DIR/a4"
add 4.0 "$T_DIR/a4"
expect_eq "with release.key back, edge-cp signs online again" "$?" 0
expect_eq "...at seq 11" "$(releases)" \
    '[["1.0",1],["2.0",2],["3.0",10],["4.0",11]]'
finish
