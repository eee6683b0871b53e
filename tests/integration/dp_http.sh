#!/bin/sh
# edge-dp's HTTP over a real socket, in a private network namespace:
# static files (GET, HEAD, ETag / If-None-Match, Last-Modified, a file
# large enough for sendfile), no way out of --root, pipelined and
# kept-alive requests, and every kind of bad request answered with its
# status and a closed connection -- with the server serving on after each.
. "$(dirname "$0")/lib.sh"
DP="$EF_BIN/edge-dp"
RAW="$EF_BIN/rawhttp"
setup_ns dp_http efdh
W="$T_DIR/www"
mkdir -p "$W/sub" "$T_DIR/outside"
echo hello >"$W/a.txt"
head -c 300000 /dev/urandom >"$W/big.bin"
echo secret >"$T_DIR/outside/secret"
ln -s "$T_DIR/outside/secret" "$W/sub/abs"
ln -s ../../outside/secret "$W/sub/rel"
ln -s ../a.txt "$W/sub/inside"

ip netns exec "$NS" "$DP" --listen 127.0.0.1:8080 --control "$T_DIR/ctl" \
    --root "$W" --workers 2 >>"$T_DIR/dp.log" 2>&1 &
DPID=$!
T_PIDS="$T_PIDS $DPID"
await 10 "$DP" --control "$T_DIR/ctl" --status >/dev/null ||
    { fail "edge-dp starts"; finish; exit 1; }
ok "edge-dp starts"

U=http://127.0.0.1:8080
get() { rm -f "$T_DIR/body"; in_ns curl -s -o "$T_DIR/body" -D "$T_DIR/head" -w '%{http_code}' "$@"; }
hdr() { sed -n "s/^$1: *\\([^\\r]*\\).*/\\1/Ip" "$T_DIR/head"; }
# raw BYTES: send them as they are (printf escapes), print status lines
# and whether the server closed.
raw() { printf "$1" | in_ns "$RAW" 127.0.0.1 8080 1000 | tr '\n' ' ' | sed 's/ $//'; }
long() { head -c "$1" /dev/zero | tr '\0' "$2"; }

expect_eq "GET a file" "$(get $U/a.txt)" 200
check "...its bytes" cmp -s "$T_DIR/body" "$W/a.txt"
etag=$(hdr ETag)
check "...with an ETag ($etag)" test -n "$etag"
check "...and a Last-Modified" test -n "$(hdr Last-Modified)"
expect_eq "If-None-Match with that ETag: 304" \
    "$(get -H "If-None-Match: $etag" $U/a.txt)" 304
check "...without a body" test ! -s "$T_DIR/body"
expect_eq "HEAD: 200" "$(get -I $U/big.bin)" 200
expect_eq "...with the length of the file" "$(hdr Content-Length)" 300000
expect_eq "a 300 KB file (sendfile)" "$(get $U/big.bin)" 200
check "...arrives whole" cmp -s "$T_DIR/body" "$W/big.bin"
expect_eq "a missing file: 404" "$(get $U/nope)" 404
expect_eq "/healthz: 200" "$(get $U/healthz)" 200
expect_eq "/version" "$(get $U/version)" 200
check "...names edge-dp" grep -q "^edge-dp " "$T_DIR/body"

# No way out of --root, by any spelling; a link inside it is fine.
expect_eq "/../ is refused" \
    "$(raw 'GET /../outside/secret HTTP/1.1\r\nHost: x\r\n\r\n')" \
    "HTTP/1.1 404 Not Found open"
expect_eq "%2e%2e is refused" \
    "$(raw 'GET /%%2e%%2e/outside/secret HTTP/1.1\r\nHost: x\r\n\r\n')" \
    "HTTP/1.1 404 Not Found open"
expect_eq "an absolute symlink out of the root: 404" "$(get $U/sub/abs)" 404
expect_eq "a relative symlink out of the root: 404" "$(get $U/sub/rel)" 404
check "...nothing of the outside was sent" test ! -s "$T_DIR/body" -o \
    "$(cat "$T_DIR/body" 2>/dev/null)" != secret
expect_eq "a symlink within the root: 200" "$(get $U/sub/inside)" 200

# One connection, three pipelined requests, then a close asked for.
expect_eq "three pipelined requests on one connection" \
    "$(raw 'GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')" \
    "HTTP/1.1 200 OK HTTP/1.1 200 OK HTTP/1.1 200 OK closed"
expect_eq "HTTP/1.1 keeps the connection open" \
    "$(raw 'GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n')" "HTTP/1.1 200 OK open"
expect_eq "HTTP/1.0 closes it" "$(raw 'GET /a.txt HTTP/1.0\r\n\r\n')" \
    "HTTP/1.1 200 OK closed"

# Bad input: its status, and the connection closes.
expect_eq "a malformed request line: 400, closed" \
    "$(raw 'GE T / HTTP/1.1\r\nHost: x\r\n\r\n')" "HTTP/1.1 400 Bad Request closed"
expect_eq "Content-Length with Transfer-Encoding: 400, closed" \
    "$(raw 'POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')" \
    "HTTP/1.1 400 Bad Request closed"
expect_eq "two different Content-Lengths: 400, closed" \
    "$(raw 'POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd')" \
    "HTTP/1.1 400 Bad Request closed"
expect_eq "a body over the limit: 413, closed" \
    "$(raw 'POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n')" \
    "HTTP/1.1 413 Content Too Large closed"
expect_eq "a 5000-byte target: 414, closed" \
    "$(raw "GET /$(long 5000 a) HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")" \
    "HTTP/1.1 414 URI Too Long closed"
expect_eq "a 17 KB header: 431, closed" \
    "$(raw "GET / HTTP/1.1\\r\\nHost: x\\r\\nX-A: $(long 17000 b)\\r\\n\\r\\n")" \
    "HTTP/1.1 431 Request Header Fields Too Large closed"
many=$(i=0; while [ $i -lt 70 ]; do printf 'X-%d: 1\\r\\n' $i; i=$((i + 1)); done)
expect_eq "70 header fields: 431, closed" \
    "$(raw "GET / HTTP/1.1\\r\\nHost: x\\r\\n$many\\r\\n")" \
    "HTTP/1.1 431 Request Header Fields Too Large closed"
expect_eq "a good request after a bad one on the same connection is not read" \
    "$(raw 'GE T / HTTP/1.1\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n')" \
    "HTTP/1.1 400 Bad Request closed"
expect_eq "binary garbage: 400, closed" "$(raw '\001\002\003\377\r\n\r\n')" \
    "HTTP/1.1 400 Bad Request closed"
expect_eq "and after all that, edge-dp serves on" "$(get $U/a.txt)" 200
check "...the same process" kill -0 "$DPID"
finish
