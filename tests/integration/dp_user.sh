#!/bin/sh
# edge-dp --user (threat T46), in a private network namespace, as user
# nobody: a start that could not keep working as the user is refused
# before it serves (a control directory the user cannot write, root, an
# unknown name); an edge-dp running as root is taken over by one started
# as root with --user, which binds port 80's extra listeners and its
# control socket as root and then runs as nobody (uid, gid, no groups, no
# capabilities, no_new_privs, in /proc/PID/status) and serves; its
# control socket is nobody's, mode 0600, connectable by root and nobody
# only; a second --user process takes over from the first, with a
# kept-alive connection held idle across both takeovers still answering
# on the same connection, and requests under load none failed.
. "$(dirname "$0")/lib.sh"
DP="$EF_BIN/edge-dp"
SH="$EF_BIN/slowhttp"
setup_ns dp_user efdu
if ! id nobody >/dev/null 2>&1 || ! command -v setpriv >/dev/null 2>&1; then
	echo "ok 1 - dp_user # SKIP needs user nobody and setpriv"
	exit 0
fi
NU=$(id -u nobody)
NG=$(id -g nobody)
# nobody must reach the control directory and the files, nothing else.
chmod 711 "$T_DIR"
mkdir -p "$T_DIR/www" "$T_DIR/run"
echo hello >"$T_DIR/www/a.txt"
chmod 755 "$T_DIR/www"
chmod 644 "$T_DIR/www/a.txt"
chown "$NU:$NG" "$T_DIR/run"
chmod 700 "$T_DIR/run"
CTL="$T_DIR/run/ctl"
U=http://127.0.0.1:80

# dp ARGS...: edge-dp in the namespace, in the background (ip execs it,
# so $! is edge-dp itself); sets DPID.
dp() {
	ip netns exec "$NS" "$DP" --listen 127.0.0.1:80 --root "$T_DIR/www" \
	    "$@" >>"$T_DIR/dp.log" 2>&1 &
	DPID=$!
	T_PIDS="$T_PIDS $DPID"
}
# ids PID: the Uid, Gid and Groups lines of its /proc status, and its
# effective capabilities and no_new_privs, on one line.
ids() {
	awk '/^(Uid|Gid|Groups|CapEff|NoNewPrivs):/ { $1 = $1; printf "%s ", $0 }' \
	    "/proc/$1/status" | sed 's/ $//'
}
WANT_IDS="Uid: $NU $NU $NU $NU Gid: $NG $NG $NG $NG Groups: CapEff: 0000000000000000 NoNewPrivs: 1"

check "--help explains --user" sh -c "'$DP' --help | grep -q -- '--user NAME'"

# Refused, each before it binds or serves anything.
expect_eq "--user root is refused" \
    "$(in_ns "$DP" --listen 127.0.0.1:80 --control "$CTL" --user root \
    >/dev/null 2>&1; echo $?)" 2
expect_eq "--user with an unknown name is refused" \
    "$(in_ns "$DP" --listen 127.0.0.1:80 --control "$CTL" \
    --user ef-no-such-user-$$ >/dev/null 2>&1; echo $?)" 2
expect_eq "--user by a process that is not root is refused" \
    "$(setpriv --reuid="$NU" --regid="$NG" --clear-groups "$DP" \
    --listen 127.0.0.1:8080 --control "$CTL" --user nobody \
    >/dev/null 2>&1; echo $?)" 2
in_ns "$DP" --listen 127.0.0.1:80 --control "$T_DIR/ctl" --user nobody \
    >"$T_DIR/refused.log" 2>&1
expect_eq "--user with a control directory nobody cannot write: no start" \
    "$?" 1
check "...saying why" grep -q 'directory must be writable by nobody' \
    "$T_DIR/refused.log"
check "...leaving no socket behind" sh -c "! ls '$T_DIR'/ctl* 2>/dev/null"

# An edge-dp as root, as every one was before --user.
dp --control "$CTL" --workers 1
ROOTDP=$DPID
await 10 "$DP" --control "$CTL" --status || { fail "edge-dp starts as root"; finish; exit 1; }
expect_eq "edge-dp as root reports uid 0" \
    "$("$DP" --control "$CTL" --status | sed -n 's/.*"uid":\([0-9]*\).*/\1/p')" 0
# Held across both takeovers: one idle kept-alive connection, and load.
in_ns "$SH" 127.0.0.1 80 twice /a.txt "$T_DIR/go" 90 >"$T_DIR/ka" 2>&1 &
KA=$!
T_PIDS="$T_PIDS $KA"
DPLOAD_PACE_US=2000 ip netns exec "$NS" "$EF_BIN/dpload" 127.0.0.1 80 /a.txt \
    2 1 90 "$T_DIR/stop" >"$T_DIR/load" 2>"$T_DIR/load.err" &
LOAD=$!
T_PIDS="$T_PIDS $LOAD"
check "requests flow" await 10 sh -c \
    "[ \$('$DP' --control '$CTL' --status | sed -n 's/.*\"requests\":\([0-9]*\).*/\1/p') -gt 50 ]"

# Root to --user: two workers, so the successor also makes a listener of
# its own for port 80 (as root) before it drops.
dp --control "$CTL" --workers 2 --takeover --user nobody
U1=$DPID
check "a --user successor takes over from the root process" \
    await 20 sh -c "[ \"\$('$DP' --control '$CTL' --status | sed -n 's/^{\"version\":\"[^\"]*\",\"pid\":\([0-9]*\).*/\1/p')\" = $U1 ]"
wait "$ROOTDP"
expect_eq "...and the root process exits 0" "$?" 0
T_PIDS=$(echo "$T_PIDS" | sed "s/ $ROOTDP\b//")
expect_eq "/proc/PID/status: uid and gid nobody, no groups, no capabilities" \
    "$(ids "$U1")" "$WANT_IDS"
expect_eq "status reports uid $NU" \
    "$("$DP" --control "$CTL" --status | sed -n 's/.*"uid":\([0-9]*\).*/\1/p')" "$NU"
check "it logged the drop" grep -q "event=privileges_dropped user=nobody" \
    "$T_DIR/dp.log"
expect_eq "it serves on port 80" \
    "$(in_ns curl -s -o /dev/null -w '%{http_code}' --max-time 5 $U/a.txt)" 200
expect_eq "its control socket is nobody's, mode 0600" \
    "$(stat -c '%U %a' "$CTL")" "nobody 600"
check "nobody can ask it for status" setpriv --reuid="$NU" --regid="$NG" \
    --clear-groups "$DP" --control "$CTL" --status
check "another user cannot" sh -c "! setpriv --reuid=daemon --regid=daemon \
    --clear-groups '$DP' --control '$CTL' --status >/dev/null 2>&1"

# --user to --user.
dp --control "$CTL" --workers 1 --takeover --user nobody
U2=$DPID
check "a second --user process takes over from the first" \
    await 20 sh -c "[ \"\$('$DP' --control '$CTL' --status | sed -n 's/^{\"version\":\"[^\"]*\",\"pid\":\([0-9]*\).*/\1/p')\" = $U2 ]"
wait "$U1"
expect_eq "...and the first exits 0" "$?" 0
T_PIDS=$(echo "$T_PIDS" | sed "s/ $U1\b//")
expect_eq "the second runs as nobody too" "$(ids "$U2")" "$WANT_IDS"
expect_eq "the control directory holds only the socket" \
    "$(ls "$T_DIR/run")" ctl
touch "$T_DIR/go"
wait "$KA"
expect_eq "the idle kept-alive connection answers again on the same connection" \
    "$(cat "$T_DIR/ka")" "first 200 second 200"
: >"$T_DIR/stop"
wait "$LOAD"
rc=$?
T_PIDS=$(echo "$T_PIDS" | sed "s/ $LOAD\b//")
read -r _ req _ failed _ kac _ <"$T_DIR/load"
echo "# $(cat "$T_DIR/load")"
sed 's/^/# /' "$T_DIR/load.err" | head -20
check "requests were served throughout ($req)" test "${req:-0}" -gt 100
expect_eq "none failed across both takeovers" "$failed" 0
expect_eq "the 2 loaded kept-alive connections are the same TCP connections" \
    "$kac" 2
expect_eq "dpload is satisfied" "$rc" 0
finish
