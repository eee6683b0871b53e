#!/bin/sh
# Every route of cp/routes.c against every caller that must not get in:
# no credential (401), a viewer on operator and admin routes (403), an
# operator on admin routes (403), an admin's bearer token on node routes
# (401), and a node's session credential on operator routes (401).  The
# table is read from the code, so a route added later is walked too.
# edge-cp runs with --metrics-auth viewer, so /metrics (AUTH_METRICS) is
# walked as a viewer route; cp_api.sh checks it is open without it.
. "$(dirname "$0")/lib.sh"
setup cp_roles
start_cp "$T_DIR/cp" --metrics-auth viewer ||
    { fail "edge-cp starts"; finish; exit 1; }
nc() { _c=$1; shift; "$NC" "$_c" --server "$CP_URL" --pin "$CP_PIN" "$@"; }

expect_api "a viewer token" 201 POST /v1/api-tokens '{"name":"v","role":"viewer"}'
VIEW=$(echo "$LAST" | jq -r .token)
expect_api "an operator token" 201 POST /v1/api-tokens '{"name":"o","role":"operator"}'
OPER=$(echo "$LAST" | jq -r .token)
expect_api "a POP" 201 POST /v1/pops '{"name":"p1","region":"r"}'
T=$(api POST /v1/enrollment-tokens '{"pop":"p1"}' | cut -d' ' -f2- | jq -r .token)
nc enroll --token "$T" --state "$T_DIR/node" --hostname n1 >/dev/null
check "a node enrolls" test -s "$T_DIR/node"

# METHOD PATH AUTH, one per route, from the table.
tr '\n' ' ' <"$EF_TOP/cp/routes.c" |
    grep -o '{ "[A-Z]*", "[^"]*",[[:space:]]*AUTH_[A-Z_]*' |
    sed 's/{ "\([A-Z]*\)", "\([^"]*\)",[[:space:]]*\(AUTH_[A-Z_]*\)/\1 \2 \3/' \
    >"$T_DIR/routes"
check "the route table is read ($(wc -l <"$T_DIR/routes") routes)" \
    test "$(wc -l <"$T_DIR/routes")" -ge 30

# code METHOD PATH TOKEN: the status edge-cp answers ("" token: none).
code() {
	_b=""
	case $1 in POST | PUT | PATCH) _b='{}' ;; esac
	_a="X-No-Auth: 1"
	[ -n "$3" ] && _a="Authorization: Bearer $3"
	curl -sk --max-time 3 --pinnedpubkey "$CP_PIN" -o /dev/null \
	    -w '%{http_code}' -X "$1" -H "$_a" \
	    -H 'Content-Type: application/json' ${_b:+--data-binary "$_b"} \
	    "$CP_URL$2"
}

bad=""
n=0
while read -r method path auth; do
	p=$(echo "$path" | sed 's/{}/x1/g')
	case $auth in
	AUTH_NONE | AUTH_NONE_LIMITED) continue ;; # open to anyone
	AUTH_NODE)
		# A bearer token, however strong, is not a node.
		c=$(code "$method" "$p" "$CP_TOKEN")
		[ "$c" = 401 ] || bad="$bad;admin-bearer $method $path=$c"
		n=$((n + 1))
		;;
	*)
		c=$(code "$method" "$p" "")
		[ "$c" = 401 ] || bad="$bad;none $method $path=$c"
		n=$((n + 1))
		;;
	esac
	case $auth in
	AUTH_OPERATOR | AUTH_ADMIN)
		c=$(code "$method" "$p" "$VIEW")
		[ "$c" = 403 ] || bad="$bad;viewer $method $path=$c"
		n=$((n + 1))
		if [ "$method" = GET ]; then
			nc get --state "$T_DIR/node" --path "$p" >/dev/null 2>"$T_DIR/nerr"
			grep -q 'HTTP 401' "$T_DIR/nerr" ||
			    bad="$bad;node $method $path=$(head -c 80 "$T_DIR/nerr")"
			n=$((n + 1))
		fi
		;;
	AUTH_VIEWER | AUTH_METRICS)
		if [ "$method" = GET ]; then
			nc get --state "$T_DIR/node" --path "$p" >/dev/null 2>"$T_DIR/nerr"
			grep -q 'HTTP 401' "$T_DIR/nerr" ||
			    bad="$bad;node $method $path=$(head -c 80 "$T_DIR/nerr")"
			n=$((n + 1))
		fi
		;;
	esac
	if [ "$auth" = AUTH_ADMIN ]; then
		c=$(code "$method" "$p" "$OPER")
		[ "$c" = 403 ] || bad="$bad;operator $method $path=$c"
		n=$((n + 1))
	fi
done <"$T_DIR/routes"
echo "# $n refusals tried"
expect_eq "every route refuses every caller below its role" "$bad" ""
check "...over enough routes and callers ($n)" test "$n" -ge 50

# And nothing changed: the refused writes wrote nothing.
expect_eq "no POP but p1" \
    "$(api GET /v1/pops | cut -d' ' -f2- | jq -r '[.pops[].name] | join(",")')" p1
expect_eq "no rollout" \
    "$(api GET /v1/rollouts | cut -d' ' -f2- | jq '.rollouts | length')" 0
finish
