# A node that runs edge-dp under the keeper, for tests of what releases
# it admits (POSIX sh, sourced after lib.sh, setup_ns and node_link, with
# NS, NODE_IP, KEEPER, R and CP_* set).  keeper_release_key.sh uses it.

# dp_build VERSION...: edge-dp built with each version in
# $T_DIR/bVERSION/bin/edge-dp; a failure ends the test.
dp_build() {
	for _v in "$@"; do
		make -s -C "$EF_TOP" BUILD="$T_DIR/b$_v" VERSION="$_v" \
		    "$T_DIR/b$_v/bin/edge-dp" >"$T_DIR/build$_v.log" 2>&1 ||
		    { fail "build edge-dp $_v"; finish; exit 1; }
	done
	ok "built edge-dp $*"
}

# dp_add COMPONENT VERSION FILE: an online-signed upload through the CLI.
dp_add() {
	"$CP" --data-dir "$CP_DIR" release add --component "$1" --version "$2" \
	    "$3" >/dev/null
}

# dp_enroll: a POP p1, the node enrolled into it under $R (NODE set),
# metrics off, and a profile whose one step "dp" runs edge-dp on
# $NODE_IP:8080, rolled out.
dp_enroll() {
	expect_api "a POP" 201 POST /v1/pops '{"name":"p1","region":"r"}'
	_tok=$(api POST /v1/enrollment-tokens '{"pop":"p1"}' |
	    cut -d' ' -f2- | jq -r .token)
	in_ns "$KEEPER" --root "$R" enroll --server "$CP_URL" --pin "$CP_PIN" \
	    --token "$_tok" >/dev/null
	expect_eq "the node enrolls" "$?" 0
	NODE=$(sed -n 's/^node_id=//p' "$R/etc/edge-keeper/keeper.conf")
	sed -i 's/^metrics=.*/metrics=off/' "$R/etc/edge-keeper/keeper.conf"
	mkdir -p "$R/srv/www"
	expect_api "a profile with a dataplane step" 201 PUT /v1/profile \
	    "{\"steps\":[{\"name\":\"dp\",\"kind\":\"dataplane\",\"params\":{
	    \"listen\":[\"$NODE_IP:8080\"],\"control\":\"/run/edge-dp/ctl.sock\",
	    \"root\":\"/srv/www\",\"workers\":2,\"drain_timeout\":5,
	    \"ready_timeout\":3}}]}"
	expect_api "roll out the profile" 201 POST /v1/rollouts \
	    "{\"component\":\"profile\",\"version\":\"$(echo "$LAST" | jq .version)\",\"strategy\":\"all_at_once\"}"
}

# cleanup_extra: the detached dataplane, found by its control socket.
cleanup_extra() {
	_p=$(dp_pid "$R/run/edge-dp/ctl.sock")
	[ -n "$_p" ] && kill "$_p" 2>/dev/null
}

# dp_serves VERSION: edge-dp VERSION answers on the node.
dp_serves() {
	in_ns curl -sf "http://$NODE_IP:8080/version" | grep -qx "edge-dp $1"
}

# dp_rollout VERSION [EXTRA_JSON]: the HTTP status of a new all_at_once
# dataplane rollout, once an active one is aborted and the node is
# healthy again (a node degraded when a rollout starts is left out).
dp_rollout() {
	_id=$(api GET /v1/rollouts | cut -d' ' -f2- |
	    jq -r '.rollouts[] | select(.component == "dataplane" and
	        (.state | IN("running", "halted", "paused", "approval"))) | .id')
	[ -n "$_id" ] && api POST "/v1/rollouts/$_id/abort" '{}' >/dev/null
	await 30 dp_healthy
	api POST /v1/rollouts "{\"component\":\"dataplane\",\"version\":\"$1\",\"strategy\":\"all_at_once\"${2:+,$2}}" |
	    cut -d' ' -f1
}
dp_healthy() {
	api GET "/v1/nodes/$NODE" | cut -d' ' -f2- | jq -e '.health == "healthy"'
}

# dp_idle: no rollout is active (the last one completed).  Await it after
# a rollout that should succeed, before the next: dp_rollout aborts an
# active one, and an abort sends the node back to the version before it.
dp_idle() {
	api GET /v1/fleet | cut -d' ' -f2- | jq -e '.active_rollouts | length == 0'
}

# dp_step_says REGEX: the dp step reports an error matching REGEX.
dp_step_says() {
	api GET "/v1/nodes/$NODE" | cut -d' ' -f2- |
	    jq -e --arg re "$1" '.status.steps[] | select(.name == "dp") |
	        (.state == "error" and (.reason | test($re)))' >/dev/null
}
