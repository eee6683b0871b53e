#!/bin/sh
# Hostile HTTP at edge-cp, sent byte for byte over TLS (openssl s_client,
# since curl would not send it): requests whose body length can be read
# two ways (two Content-Length headers, Content-Length with
# Transfer-Encoding) are refused and their connection closed, so nothing
# can be smuggled behind them; oversized request lines and headers are
# refused; JSON with invalid UTF-8, duplicate keys or a NUL is refused;
# and after all of it edge-cp still answers and nothing was written.
. "$(dirname "$0")/lib.sh"
setup cp_hostile_http
start_cp "$T_DIR/cp" --timeout 30 || { fail "edge-cp starts"; finish; exit 1; }
HP=${CP_URL#https://}

# send NAME: the bytes of $T_DIR/NAME.req over TLS; the response in
# $T_DIR/NAME.out; RC is 0 when edge-cp closed the connection, 124 when
# it was still open after 5 s.
send() {
	timeout 5 openssl s_client -quiet -ign_eof -connect "$HP" \
	    <"$T_DIR/$1.req" >"$T_DIR/$1.out" 2>/dev/null
	RC=$?
}
status() { head -n 1 "$T_DIR/$1.out" | tr -d '\r' | cut -d' ' -f2; }
req() { # NAME, then the request on stdin with \n line ends
	sed 's/$/\r/' >"$T_DIR/$1.req"
}
AUTH="Authorization: Bearer $CP_TOKEN"

# Two Content-Length headers, different: the second request, hidden in
# the first one's body as the other length reads it, must never run.
req cl2 <<EOF
POST /v1/pops HTTP/1.1
Host: x
$AUTH
Content-Type: application/json
Content-Length: 32
Content-Length: 105

{"name":"ok1","region":"r"}
POST /v1/pops HTTP/1.1
Host: x
$AUTH
Content-Length: 30

{"name":"smug","region":"r"}
EOF
send cl2
expect_eq "two different Content-Length headers: 400" "$(status cl2)" 400
expect_eq "...and the connection is closed" "$RC" 0
req cl2same <<EOF
POST /v1/pops HTTP/1.1
Host: x
$AUTH
Content-Type: application/json
Content-Length: 28
Content-Length: 28

{"name":"dup","region":"r"}
EOF
send cl2same
expect_eq "two equal Content-Length headers: 400 too" "$(status cl2same)" 400

req clte <<EOF
POST /v1/pops HTTP/1.1
Host: x
$AUTH
Content-Type: application/json
Content-Length: 4
Transfer-Encoding: chunked

1c
{"name":"te1","region":"r"}
0

EOF
send clte
expect_eq "Content-Length with Transfer-Encoding: 400" "$(status clte)" 400
expect_eq "...and the connection is closed" "$RC" 0

# Sizes: a long request line, a huge header, many headers.
{
	printf 'GET /v1/pops?x='
	head -c 70000 /dev/zero | tr '\0' a
	printf ' HTTP/1.1\r\nHost: x\r\n\r\n'
} >"$T_DIR/line.req"
send line
case $(status line) in
4*) ok "a 70 KB request line: refused ($(status line))" ;;
*) fail "a 70 KB request line: refused" "got '$(status line)'" ;;
esac
{
	printf 'GET /v1/pops HTTP/1.1\r\nHost: x\r\nX-Big: '
	head -c 70000 /dev/zero | tr '\0' b
	printf '\r\n\r\n'
} >"$T_DIR/hdr.req"
send hdr
case $(status hdr) in
4*) ok "a 70 KB header: refused ($(status hdr))" ;;
*) fail "a 70 KB header: refused" "got '$(status hdr)'" ;;
esac
{
	printf 'GET /v1/pops HTTP/1.1\r\nHost: x\r\n'
	i=0
	while [ $i -lt 3000 ]; do printf 'X-H%d: v\r\n' $i; i=$((i + 1)); done
	printf '\r\n'
} >"$T_DIR/many.req"
send many
case $(status many) in
4*) ok "3,000 headers: refused ($(status many))" ;;
*) fail "3,000 headers: refused" "got '$(status many)'" ;;
esac

# JSON that is not: invalid UTF-8, duplicate keys, a NUL in a string.
post_raw() { # NAME BYTES-FILE: POST it as a pop
	n=$(wc -c <"$2")
	{
		printf 'POST /v1/pops HTTP/1.1\r\nHost: x\r\n%s\r\n' "$AUTH"
		printf 'Content-Type: application/json\r\nContent-Length: %d\r\n' "$n"
		printf 'Connection: close\r\n\r\n'
		cat "$2"
	} >"$T_DIR/$1.req"
	send "$1"
}
printf '{"name":"u\377x","region":"r"}' >"$T_DIR/utf8.json"
post_raw utf8 "$T_DIR/utf8.json"
expect_eq "invalid UTF-8 in a JSON string: 400" "$(status utf8)" 400
printf '{"name":"d1","name":"d2","region":"r"}' >"$T_DIR/dupkey.json"
post_raw dupkey "$T_DIR/dupkey.json"
expect_eq "a duplicate JSON key: 400" "$(status dupkey)" 400
printf '{"name":"n\\u0000x","region":"r"}' >"$T_DIR/nul.json"
post_raw nul "$T_DIR/nul.json"
expect_eq "a NUL in a JSON string: 400" "$(status nul)" 400

# Nothing of it was written, and edge-cp still answers.
expect_api "edge-cp still answers" 200 GET /v1/pops
expect_eq "no POP was created by any of it" \
    "$(echo "$LAST" | jq -r '[.pops[].name] | join(",")')" ""
check "edge-cp is the process it was" kill -0 "$CP_PID"
finish
