#!/bin/sh
# Packaging: the systemd units pass `systemd-analyze verify`,
# packaging/deb.sh builds the three .deb files with the right files,
# versions and library dependencies, and lintian finds no error in them.
# Nothing is installed on this machine.
. "$(dirname "$0")/lib.sh"
setup packaging

TOP=$EF_TOP
BUILD_DIR=$(dirname "$EF_BIN")
PROGS="edge-cp edge-keeper edge-dp"
ARCH=$(dpkg --print-architecture)

skip() {
	T_N=$((T_N + 1))
	echo "ok $T_N - $1 # SKIP $2"
}

# comment FILE: show a file's lines as TAP comments.
comment() { sed 's/^/#   /' "$1"; }

# --- the units ------------------------------------------------------------
for p in $PROGS; do
	unit="$TOP/packaging/systemd/$p.service"
	if ! command -v systemd-analyze >/dev/null 2>&1; then
		skip "$p.service passes systemd-analyze verify" \
		    "systemd-analyze not installed"
		continue
	fi
	# verify checks that ExecStart exists: point it at the built binary.
	mkdir -p "$T_DIR/units"
	sed "s#/usr/bin/$p #$EF_BIN/$p #; s#/usr/bin/$p\$#$EF_BIN/$p#" \
	    "$unit" >"$T_DIR/units/$p.service"
	# --man=no: the man pages exist only once the package is installed.
	(cd "$T_DIR/units" && systemd-analyze verify --man=no "./$p.service") \
	    >"$T_DIR/verify.log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && ! grep -q "$p" "$T_DIR/verify.log"; then
		ok "$p.service passes systemd-analyze verify"
	else
		fail "$p.service passes systemd-analyze verify" "exit $rc"
		comment "$T_DIR/verify.log"
	fi
done

# The sandboxes of the two network services stay tight: systemd's own
# exposure score (0 best, 10 worst; 1.4 and 1.7 when written).
for p in edge-cp edge-dp; do
	name="$p.service: systemd-analyze security exposure at most 2.0"
	if ! command -v systemd-analyze >/dev/null 2>&1; then
		skip "$name" "systemd-analyze not installed"
		continue
	fi
	score=$(cd "$T_DIR/units" && systemd-analyze security --offline=true \
	    "./$p.service" 2>/dev/null |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ -z "$score" ]; then
		skip "$name" "this systemd-analyze has no offline security check"
	elif awk "BEGIN { exit !($score <= 2.0) }"; then
		ok "$name ($score)"
	else
		fail "$name" "exposure $score"
	fi
done

check "edge-cp.service runs as its own user, no capabilities" sh -c "
    grep -qx 'User=edgefleet-cp' '$TOP/packaging/systemd/edge-cp.service' &&
    grep -qx 'CapabilityBoundingSet=' '$TOP/packaging/systemd/edge-cp.service'"
check "edge-keeper.service stops only the keeper (the dataplane lives on)" \
    grep -qx 'KillMode=process' "$TOP/packaging/systemd/edge-keeper.service"
check "edge-dp.service gets only CAP_NET_BIND_SERVICE" sh -c "
    grep -qx 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' \
        '$TOP/packaging/systemd/edge-dp.service' &&
    grep -qx 'AmbientCapabilities=CAP_NET_BIND_SERVICE' \
        '$TOP/packaging/systemd/edge-dp.service'"

# --- versions -------------------------------------------------------------
for pair in "1.2.3=1.2.3" "v1.2.3-4-gabc1234-dirty=1.2.3+4.gabc1234" \
    "1.2.3-rc1=1.2.3~rc1" "ded2dcb-dirty=0.0.0~gded2dcb" \
    "0.0.0-dev=0.0.0~dev" "feature/x=0.0.0~feature.x"; do
	in=${pair%%=*}
	want=${pair#*=}
	got=$(sh "$TOP/packaging/deb.sh" --debian-version "$in" 2>&1)
	expect_eq "Debian version of '$in'" "$got" "$want"
done

# --- the packages ---------------------------------------------------------
OUT="$T_DIR/deb"
if sh "$TOP/packaging/deb.sh" "$BUILD_DIR" 1a2b3c4-dirty "$OUT" \
    >"$T_DIR/deb.log" 2>&1; then
	ok "deb.sh builds the packages"
else
	fail "deb.sh builds the packages"
	comment "$T_DIR/deb.log"
	finish
	exit 1
fi
VER=0.0.0~g1a2b3c4

# sonames_pkgs BINARY: the packages that hold the libraries it links.
sonames_pkgs() {
	for so in $(objdump -p "$1" | awk '$1 == "NEEDED" { print $2 }'); do
		dpkg -S "*/$so" 2>/dev/null | grep -v "^diversion" | sed 's/[:,].*//' | sort -u | head -n 1
	done
}

# has_dep DEPENDS PACKAGE: PACKAGE is one of the DEPENDS entries.
has_dep() {
	echo "$1" | tr ',|' '\n\n' | sed 's/^ *//; s/[ (].*//' | grep -qx "$2"
}

for p in $PROGS; do
	pkg=edgefleet-${p#edge-}
	deb="$OUT/${pkg}_${VER}_$ARCH.deb"
	if [ ! -f "$deb" ]; then
		fail "$pkg: $(basename "$deb") is built"
		ls "$OUT" | sed 's/^/#   /'
		continue
	fi
	ok "$pkg: $(basename "$deb") is built"
	expect_eq "$pkg: Package" "$(dpkg-deb -f "$deb" Package)" "$pkg"
	expect_eq "$pkg: Version" "$(dpkg-deb -f "$deb" Version)" "$VER"
	expect_eq "$pkg: Architecture" "$(dpkg-deb -f "$deb" Architecture)" \
	    "$ARCH"
	expect_eq "$pkg: Maintainer" "$(dpkg-deb -f "$deb" Maintainer)" \
	    "edgefleet maintainers <maintainers@edgefleet.invalid>"
	dpkg-deb --info "$deb" >"$T_DIR/info" 2>&1 ||
	    fail "$pkg: dpkg-deb --info reads it"

	dpkg-deb --contents "$deb" >"$T_DIR/contents"
	grep -q "^-rwxr-xr-x root/root .* \./usr/bin/$p\$" "$T_DIR/contents" &&
	    ok "$pkg: /usr/bin/$p, 0755 root" ||
	    fail "$pkg: /usr/bin/$p, 0755 root" "$(grep "$p" "$T_DIR/contents")"
	for f in "lib/systemd/system/$p.service" \
	    "usr/share/doc/$pkg/copyright" "usr/share/doc/$pkg/changelog.gz" \
	    "usr/share/man/man1/$p.1.gz"; do
		grep -q "^-rw-r--r-- root/root .* \./$f\$" "$T_DIR/contents" &&
		    ok "$pkg: /$f" || fail "$pkg: /$f"
	done

	if [ "$pkg" = edgefleet-cp ]; then
		grep -q "^-rwxr-xr-x root/root .* \./usr/lib/edgefleet/edge-keeper\$" \
		    "$T_DIR/contents" &&
		    ok "$pkg: the keeper for the bootstrap line, /usr/lib/edgefleet/edge-keeper" ||
		    fail "$pkg: the keeper for the bootstrap line, /usr/lib/edgefleet/edge-keeper"
	fi
	rm -rf "$T_DIR/x"
	mkdir -p "$T_DIR/x"
	dpkg-deb -R "$deb" "$T_DIR/x"
	check "$pkg: the unit is packaging/systemd/$p.service" \
	    cmp -s "$T_DIR/x/lib/systemd/system/$p.service" \
	    "$TOP/packaging/systemd/$p.service"
	check "$pkg: md5sums match the files" sh -c \
	    "cd '$T_DIR/x' && md5sum -c --quiet DEBIAN/md5sums"
	check "$pkg: the binary is stripped" sh -c \
	    "! readelf -S '$T_DIR/x/usr/bin/$p' | grep -q -e '\.symtab' -e '\.debug_'"
	for s in postinst prerm postrm; do
		check "$pkg: $s is an executable sh script" sh -c \
		    "[ -x '$T_DIR/x/DEBIAN/$s' ] && sh -n '$T_DIR/x/DEBIAN/$s'"
	done
	check "$pkg: postrm purge drops the unit's state" \
	    grep -q 'deb-systemd-helper purge' "$T_DIR/x/DEBIAN/postrm"

	deps=$(dpkg-deb -f "$deb" Depends)
	missing=""
	for lib in $(sonames_pkgs "$EF_BIN/$p"); do
		has_dep "$deps" "$lib" || missing="$missing $lib"
	done
	expect_eq "$pkg: Depends covers every library $p links" "$missing" ""
	case $p in
	edge-cp)
		want="libc6 libmicrohttpd12 libgnutls30 libsqlite3-0 libjansson4
		    libsodium23 libcurl3-gnutls adduser"
		conffiles=/etc/default/edge-cp
		;;
	edge-keeper)
		want="libc6 bird2 ca-certificates adduser"
		conffiles=""
		;;
	edge-dp)
		want="libc6"
		conffiles=/etc/default/edge-dp
		;;
	esac
	for d in $want; do
		has_dep "$deps" "$d" && ok "$pkg: Depends on $d" ||
		    fail "$pkg: Depends on $d" "Depends: $deps"
	done
	expect_eq "$pkg: conffiles" \
	    "$(cat "$T_DIR/x/DEBIAN/conffiles" 2>/dev/null)" "$conffiles"
done

# What the maintainer scripts do, read rather than run (running them would
# change this machine).
X="$T_DIR/cpx"
mkdir -p "$X"
dpkg-deb -e "$OUT/edgefleet-cp_${VER}_$ARCH.deb" "$X"
check "edgefleet-cp: postinst makes the system user" sh -c "
    grep -q 'adduser --system' '$X/postinst' &&
    grep -q 'getent passwd edgefleet-cp' '$X/postinst'"
check "edgefleet-cp: postinst enables the unit" \
    grep -q "deb-systemd-helper enable 'edge-cp.service'" "$X/postinst"
check "edgefleet-cp: the state goes on purge only" sh -c "
    sed -n '/= purge/,\$p' '$X/postrm' | grep -q 'rm -rf /var/lib/edge-cp' &&
    [ \$(grep -c 'rm -rf' '$X/postrm') = 1 ]"
X="$T_DIR/kx"
mkdir -p "$X"
dpkg-deb -e "$OUT/edgefleet-keeper_${VER}_$ARCH.deb" "$X"
check "edgefleet-keeper: postinst makes the users of the keeper's unprivileged part and of edge-dp" sh -c "
    grep -q 'adduser --system' '$X/postinst' &&
    grep -q 'getent passwd edge-keeper' '$X/postinst' &&
    grep -q 'getent passwd edge-dp' '$X/postinst'"
X="$T_DIR/dpx"
mkdir -p "$X"
dpkg-deb -e "$OUT/edgefleet-dp_${VER}_$ARCH.deb" "$X"
check "edgefleet-dp: the standalone unit is not enabled on installation" \
    sh -c "! grep -q 'deb-systemd-invoke start\|_action=start' '$X/postinst'"

# --- lintian --------------------------------------------------------------
if command -v lintian >/dev/null 2>&1; then
	lintian --tag-display-limit 0 -I "$OUT"/*.deb >"$T_DIR/lintian.log" 2>&1
	rc=$?
	grep -E '^[EWIPXO]: ' "$T_DIR/lintian.log" | sed 's/^/#   /'
	if grep -q '^E: ' "$T_DIR/lintian.log"; then
		fail "lintian finds no error" \
		    "$(grep '^E: ' "$T_DIR/lintian.log" | head -n 5)"
	elif [ "$rc" -gt 1 ]; then
		fail "lintian finds no error" "lintian exited $rc"
		comment "$T_DIR/lintian.log"
	else
		ok "lintian finds no error"
	fi
else
	skip "lintian finds no error" "lintian not installed"
fi
finish
