#!/bin/sh
# Builds the edgefleet Debian packages from binaries already built:
#
#   sh packaging/deb.sh BUILD_DIR VERSION [OUT_DIR]
#   sh packaging/deb.sh --debian-version VERSION   (print the Debian version)
#
# Reads BUILD_DIR/bin/{edge-cp,edge-keeper,edge-dp} and writes
# edgefleet-cp, edgefleet-keeper and edgefleet-dp_VERSION_ARCH.deb to
# OUT_DIR (default BUILD_DIR/deb).  Needs dpkg-dev (dpkg-shlibdeps),
# binutils (strip) and gzip; no debhelper, no fakeroot (dpkg-deb
# --root-owner-group).  Library dependencies come from dpkg-shlibdeps, so
# they follow whatever the binaries really link.
#
# VERSION is anything `make` stamps (a tag, `git describe` output, a bare
# commit); it becomes a Debian version that starts with a digit and sorts
# sensibly: 1.2.3 -> 1.2.3, v1.2.3-4-gabc1234 -> 1.2.3+4.gabc1234,
# 1.2.3-rc1 -> 1.2.3~rc1, ded2dcb-dirty -> 0.0.0~gded2dcb,
# 0.0.0-dev -> 0.0.0~dev.  The packaging lives in the source tree, so the
# packages are native (no Debian revision).
set -eu

MAINTAINER='edgefleet maintainers <maintainers@edgefleet.invalid>'

die() {
	printf 'deb.sh: %s\n' "$*" >&2
	exit 1
}

debian_version() {
	v=$1
	case $v in v[0-9]*) v=${v#v} ;; esac
	v=${v%-dirty}
	# A bare commit (git describe --always without a tag).
	if printf '%s\n' "$v" | grep -Eqx '[0-9a-f]{7,40}' &&
	    printf '%s\n' "$v" | grep -q '[a-f]'; then
		v="0.0.0~g$v"
	fi
	# TAG-N-gHASH: N commits after TAG, sorts after it.
	v=$(printf '%s\n' "$v" |
	    sed -E 's/-([0-9]+)-g([0-9a-f]+)$/+\1.g\2/')
	# Any other suffix (-rc1, -dev) is a pre-release: sorts before.
	v=$(printf '%s\n' "$v" | sed -e 's/-/~/g' -e 's/[^A-Za-z0-9.+~]/./g')
	case $v in
	[0-9]*) ;;
	'') v=0.0.0 ;;
	*) v="0.0.0~$v" ;;
	esac
	dpkg --validate-version "$v" >/dev/null 2>&1 ||
	    die "cannot make a Debian version of '$1' (got '$v')"
	printf '%s\n' "$v"
}

if [ "${1:-}" = --debian-version ]; then
	[ $# -eq 2 ] || die "usage: deb.sh --debian-version VERSION"
	debian_version "$2"
	exit 0
fi
[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: deb.sh BUILD_DIR VERSION [OUT_DIR]"

for tool in dpkg-deb dpkg-shlibdeps strip gzip; do
	command -v "$tool" >/dev/null 2>&1 ||
	    die "$tool is missing (apt-get install dpkg-dev binutils gzip)"
done

top=$(cd "$(dirname "$0")/.." && pwd)
build=$1
bin="$build/bin"
out=${3:-$build/deb}
version=$(debian_version "$2")
arch=$(dpkg --print-architecture)
for b in edge-cp edge-keeper edge-dp; do
	[ -x "$bin/$b" ] || die "$bin/$b is missing: run make first"
done
[ -f "$top/packaging/copyright" ] || die "packaging/copyright is missing"

# Reproducible dates: the last commit's, unless the caller set one.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$top" log -1 --format=%ct 2>/dev/null ||
	    date +%s)
fi
export SOURCE_DATE_EPOCH
changedate=$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")
mandate=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)

umask 022
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/edgefleet-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM

# dpkg-shlibdeps wants a source tree: debian/control and the packages'
# files under debian/PACKAGE, as debhelper lays them out.
mkdir -p "$work/debian"
cat >"$work/debian/control" <<EOF
Source: edgefleet
Maintainer: $MAINTAINER

Package: edgefleet-cp
Architecture: any

Package: edgefleet-keeper
Architecture: any

Package: edgefleet-dp
Architecture: any
EOF

# man_page BIN SUMMARY DESCRIPTION: a section 1 page around `BIN --help`.
man_page() {
	help=$(ASAN_OPTIONS=detect_leaks=0 "$bin/$1" --help 2>&1 || true)
	name=$(printf '%s' "$1" | sed 's/-/\\-/g')
	cat <<EOF
.TH $(printf '%s' "$1" | tr '[:lower:]' '[:upper:]' | sed 's/-/\\-/g') 1 "$mandate" "edgefleet $version" "edgefleet"
.SH NAME
$name \\- $2
.SH SYNOPSIS
.nf
$(printf '%s\n' "$help" | sed -e 's/\\/\\e/g' -e 's/-/\\-/g' \
	    -e "s/^\\([.']\\)/\\\\\\&\\1/")
.fi
.SH DESCRIPTION
$3
.SH SEE ALSO
.BR systemctl (1),
.BR journalctl (1),
and /usr/share/doc/edgefleet\\-*/README.md.
EOF
}

# The systemd glue, as debhelper's dh_installsystemd writes it.
# postinst_units UNIT enable|no-enable start|no-start
postinst_units() {
	if [ "$2" = enable ]; then
		cat <<EOF
if [ "\$1" = "configure" ] || [ "\$1" = "abort-upgrade" ] || [ "\$1" = "abort-deconfigure" ] || [ "\$1" = "abort-remove" ]; then
	# Removes only masks made by deb-systemd-helper on removal.
	deb-systemd-helper unmask '$1' >/dev/null || true
	# was-enabled is true on a first installation: enable then.
	if deb-systemd-helper --quiet was-enabled '$1'; then
		deb-systemd-helper enable '$1' >/dev/null || true
	else
		deb-systemd-helper update-state '$1' >/dev/null || true
	fi
fi
EOF
	else
		cat <<EOF
if [ "\$1" = "configure" ] || [ "\$1" = "abort-upgrade" ] || [ "\$1" = "abort-deconfigure" ] || [ "\$1" = "abort-remove" ]; then
	# Not enabled on installation; an admin's enable survives upgrades.
	if deb-systemd-helper debian-installed '$1'; then
		deb-systemd-helper unmask '$1' >/dev/null || true
		if deb-systemd-helper --quiet was-enabled '$1'; then
			deb-systemd-helper enable '$1' >/dev/null || true
		fi
	fi
	deb-systemd-helper update-state '$1' >/dev/null || true
fi
EOF
	fi
	if [ "$3" = start ]; then
		cat <<EOF
if [ "\$1" = "configure" ] || [ "\$1" = "abort-upgrade" ] || [ "\$1" = "abort-deconfigure" ] || [ "\$1" = "abort-remove" ]; then
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "\$2" ]; then
			_action=restart
		else
			_action=start
		fi
		deb-systemd-invoke \$_action '$1' >/dev/null || true
	fi
fi
EOF
	else
		cat <<EOF
if [ "\$1" = "configure" ] || [ "\$1" = "abort-upgrade" ] || [ "\$1" = "abort-deconfigure" ] || [ "\$1" = "abort-remove" ]; then
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		# On upgrade, restart it only if it was running.
		if [ -n "\$2" ]; then
			deb-systemd-invoke try-restart '$1' >/dev/null || true
		fi
	fi
fi
EOF
	fi
}

# prerm: stop on removal only; upgrades restart from the new postinst.
prerm_units() {
	cat <<EOF
#!/bin/sh
set -e
if [ -z "\${DPKG_ROOT:-}" ] && [ "\$1" = remove ] && [ -d /run/systemd/system ]; then
	deb-systemd-invoke stop '$1' >/dev/null || true
fi
EOF
}

# postrm_units UNIT PURGE_PATHS...: drop the unit's state; on purge only,
# remove what the service made at run time.
postrm_units() {
	unit=$1
	shift
	cat <<EOF
#!/bin/sh
set -e
if [ "\$1" = remove ] && [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ "\$1" = remove ] && command -v deb-systemd-helper >/dev/null 2>&1; then
	deb-systemd-helper mask '$unit' >/dev/null || true
fi
if [ "\$1" = purge ]; then
	if command -v deb-systemd-helper >/dev/null 2>&1; then
		deb-systemd-helper purge '$unit' >/dev/null || true
		deb-systemd-helper unmask '$unit' >/dev/null || true
	fi
EOF
	if [ $# -gt 0 ]; then
		echo "	# Purge only: what the service made (remove keeps it)."
		echo "	rm -rf $*"
	fi
	echo "fi"
}

# build_pkg PACKAGE BINARY SECTION EXTRA_DEPENDS SYNOPSIS DESCRIPTION
# (stage files first under $work/debian/PACKAGE, then call this).
build_pkg() {
	pkg=$1 b=$2 section=$3 extra=$4 synopsis=$5 description=$6
	root="$work/debian/$pkg"
	doc="$root/usr/share/doc/$pkg"

	mkdir -p "$root/usr/bin" "$root/lib/systemd/system" "$doc" \
	    "$root/usr/share/man/man1" "$root/DEBIAN"
	cp "$bin/$b" "$root/usr/bin/$b"
	# As dh_strip does; the unstripped binary stays in BUILD_DIR/bin.
	strip --remove-section=.comment --remove-section=.note \
	    "$root/usr/bin/$b"
	chmod 0755 "$root/usr/bin/$b"
	cp "$top/packaging/systemd/$b.service" "$root/lib/systemd/system/"
	cp "$top/packaging/copyright" "$doc/copyright"
	cp "$top/README.md" "$doc/README.md"
	# A native package's changelog is changelog.gz (Policy 12.7).
	cat >"$work/changelog" <<EOF
edgefleet ($version) unstable; urgency=medium

  * Built from the edgefleet source tree: $gitdesc.

 -- $MAINTAINER  $changedate
EOF
	gzip -9n <"$work/changelog" >"$doc/changelog.gz"
	man_page "$b" "$synopsis" "$(printf '%s\n' "$description" |
	    sed -e 's/^ \.$//' -e 's/^ //' -e 's/-/\\-/g' -e 's/^$/.PP/')" |
	    gzip -9n >"$root/usr/share/man/man1/$b.1.gz"

	# Installed-Size, before DEBIAN/ exists.
	size=$(du -sk --apparent-size "$root" | cut -f1)

	shlibs=$(cd "$work" && dpkg-shlibdeps -O "-e$root/usr/bin/$b" \
	    2>"$work/shlibdeps.err") || {
		cat "$work/shlibdeps.err" >&2
		die "dpkg-shlibdeps failed for $b"
	}
	if [ -s "$work/shlibdeps.err" ]; then
		sed 's/^/deb.sh: /' "$work/shlibdeps.err" >&2
	fi
	depends=${shlibs#shlibs:Depends=}
	if [ -n "$extra" ]; then
		depends="$depends, $extra"
	fi

	{
		echo "Package: $pkg"
		echo "Source: edgefleet"
		echo "Version: $version"
		echo "Architecture: $arch"
		echo "Maintainer: $MAINTAINER"
		echo "Installed-Size: $size"
		echo "Depends: $depends"
		echo "Section: $section"
		echo "Priority: optional"
		echo "Description: $synopsis"
		printf '%s\n' "$description"
	} >"$root/DEBIAN/control"

	if [ -d "$root/etc" ]; then
		(cd "$root" && find etc -type f | sort | sed 's#^#/#') \
		    >"$root/DEBIAN/conffiles"
	fi
	# Directories 0755, files 0644, programs and scripts 0755.
	find "$root" -type d -exec chmod 0755 {} +
	find "$root" -type f -exec chmod 0644 {} +
	chmod 0755 "$root/usr/bin/$b"
	# Binaries a package carries for others (the keeper edge-cp hands
	# to new nodes).
	if [ -d "$root/usr/lib/edgefleet" ]; then
		chmod 0755 "$root"/usr/lib/edgefleet/*
	fi
	for s in preinst postinst prerm postrm; do
		if [ -f "$root/DEBIAN/$s" ]; then
			chmod 0755 "$root/DEBIAN/$s"
		fi
	done
	(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print |
	    sed 's#^\./##' | LC_ALL=C sort | xargs md5sum) \
	    >"$root/DEBIAN/md5sums"

	dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
	echo "deb.sh: $out/${pkg}_${version}_${arch}.deb"
}

# The changelog says what was built (lines under 80 columns).
gitdesc="version $(printf '%.40s' "$2")"

# --- edgefleet-cp ---------------------------------------------------------
root="$work/debian/edgefleet-cp"
mkdir -p "$root/etc/default" "$root/DEBIAN" "$root/usr/lib/edgefleet"
# The keeper the bootstrap line hands to new nodes (GET
# /v1/bootstrap/edge-keeper); edge-cp looks for it here.
cp "$bin/edge-keeper" "$root/usr/lib/edgefleet/edge-keeper"
strip --remove-section=.comment --remove-section=.note \
    "$root/usr/lib/edgefleet/edge-keeper"
cat >"$root/etc/default/edge-cp" <<'EOF'
# Options of `edge-cp serve`, read by edge-cp.service (see edge-cp --help).
#
# The service may write only to /var/lib/edge-cp: for a data directory
# elsewhere, also add `ReadWritePaths=DIR` with `systemctl edit edge-cp`.
# A port below 1024 needs a drop-in too (README.md in
# /usr/share/doc/edgefleet-cp).  Other options: --public-url URL (the
# address nodes and the bootstrap line use), --threads N,
# --node-interval S, --conn-limit N, --per-ip-limit N, --timeout S.
EDGE_CP_ARGS="--listen 0.0.0.0:8443 --data-dir /var/lib/edge-cp"
EOF
{
	cat <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
	# The service's own system user.  systemd makes /var/lib/edge-cp
	# (StateDirectory=) and gives it to this user at start.
	if ! getent passwd edgefleet-cp >/dev/null; then
		adduser --system --group --quiet --home /var/lib/edge-cp \
		    --no-create-home --gecos "edgefleet control plane" \
		    edgefleet-cp
	fi
fi
EOF
	postinst_units edge-cp.service enable start
} >"$root/DEBIAN/postinst"
prerm_units edge-cp.service >"$root/DEBIAN/prerm"
# The system user stays after purge (Debian does not reuse a removed
# user's id safely: files it owned elsewhere would change hands).
postrm_units edge-cp.service /var/lib/edge-cp >"$root/DEBIAN/postrm"
build_pkg edgefleet-cp edge-cp net adduser \
    "edgefleet control plane and operator CLI" \
    " edgefleet runs anycast edge networks (CDN or edge proxy fleets): it
 enrolls nodes with one line, keeps their Linux state converged,
 announces anycast addresses only while the dataplane is healthy and rolls
 changes out in gated waves.
 .
 edge-cp is its control plane: one HTTPS service with the fleet state in
 an embedded SQLite database, serving the dashboard, the JSON API, node
 enrollment and check-ins, and driving rollouts.  The same binary is the
 operator CLI (edge-cp pop list, edge-cp rollout create ...).
 .
 This package runs it as edge-cp.service under the system user
 edgefleet-cp, state in /var/lib/edge-cp, options in /etc/default/edge-cp."

# --- edgefleet-keeper -----------------------------------------------------
root="$work/debian/edgefleet-keeper"
mkdir -p "$root/DEBIAN"
{
	cat <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
	# The user edge-keeper's unprivileged part runs as (the part that
	# talks to edge-cp and parses what it sends; keeper/privsep.h).
	if ! getent passwd edge-keeper >/dev/null; then
		adduser --system --group --quiet --home /nonexistent \
		    --no-create-home --gecos "edgefleet node agent" \
		    edge-keeper
	fi
	# The user edge-dp runs as unless the profile names another
	# (keeper.conf dataplane_user); a user of its own, so a dataplane
	# taken over from the internet shares nothing with the keeper.
	if ! getent passwd edge-dp >/dev/null; then
		adduser --system --group --quiet --home /nonexistent \
		    --no-create-home --gecos "edgefleet dataplane" edge-dp
	fi
fi
EOF
	# Enabled on installation; it starts once the node is enrolled
	# (ConditionPathExists= on keeper.conf).  On upgrade only the keeper
	# restarts: the dataplane it started keeps serving (KillMode=process).
	postinst_units edge-keeper.service enable start
} >"$root/DEBIAN/postinst"
prerm_units edge-keeper.service >"$root/DEBIAN/prerm"
postrm_units edge-keeper.service /var/lib/edge-keeper /etc/edge-keeper \
    >"$root/DEBIAN/postrm"
build_pkg edgefleet-keeper edge-keeper net "bird2, ca-certificates, adduser" \
    "edgefleet node agent" \
    " edgefleet runs anycast edge networks (CDN or edge proxy fleets): it
 enrolls nodes with one line, keeps their Linux state converged,
 announces anycast addresses only while the dataplane is healthy and rolls
 changes out in gated waves.
 .
 edge-keeper runs on every node: every few seconds it fetches the node's
 desired state from edge-cp, converges sysctls, packages, files, systemd
 units and the BIRD configuration, health-checks the dataplane, puts the
 anycast addresses on lo while it is healthy and reports back.  It starts
 and upgrades the dataplane without dropping a connection.
 .
 The service edge-keeper.service starts once the node is enrolled
 (edge-keeper enroll, or the bootstrap line edge-cp prints)."

# --- edgefleet-dp ---------------------------------------------------------
root="$work/debian/edgefleet-dp"
mkdir -p "$root/etc/default" "$root/DEBIAN"
cat >"$root/etc/default/edge-dp" <<'EOF'
# Options of edge-dp, read by edge-dp.service (see edge-dp --help), which
# runs the dataplane standalone.  On a node enrolled with edge-keeper the
# keeper runs the dataplane and this unit does not start.
#
# Other options: --workers N, --root DIR (static files; they must be
# readable by any user: the service runs as a dynamic user), and the
# limits on slow clients: --head-timeout S, --idle-timeout S,
# --send-timeout S, --max-conns N.  Not --user: the unit already runs
# the service unprivileged.
EDGE_DP_ARGS="--listen 0.0.0.0:80 --control /run/edge-dp/control.sock"
EOF
{
	echo '#!/bin/sh'
	echo 'set -e'
	# Standalone use is the exception: installed, not enabled or started.
	postinst_units edge-dp.service no-enable no-start
} >"$root/DEBIAN/postinst"
prerm_units edge-dp.service >"$root/DEBIAN/prerm"
postrm_units edge-dp.service >"$root/DEBIAN/postrm"
build_pkg edgefleet-dp edge-dp net "" \
    "edgefleet reference dataplane" \
    " edgefleet runs anycast edge networks (CDN or edge proxy fleets): it
 enrolls nodes with one line, keeps their Linux state converged,
 announces anycast addresses only while the dataplane is healthy and rolls
 changes out in gated waves.
 .
 edge-dp is its reference dataplane: a thread-per-core HTTP/1.1 server
 that hands its listening sockets and idle keep-alive connections to its
 successor, so an upgrade drops nothing.  edge-keeper normally starts and
 upgrades it; this package also ships edge-dp.service for standalone use,
 not enabled on installation."
