#!/bin/sh
# Installs the Debian 12 packages edgefleet needs to build, test and run
# its demo, then the npm packages of the browser tests (tests/browser).
# Idempotent: installs only what is missing, and says nothing with
# --quiet when everything is there.
set -eu
quiet=0 bench=0
for a in "$@"; do
	case $a in
	--quiet) quiet=1 ;;
	--bench) bench=1 ;;
	esac
done

# Build: compiler and the libraries of the design (SPEC §1).
# Run/test: BIRD 2, minisign (signature interop), iproute2 (namespaces),
# curl and jq (integration tests), sqlite3 (integrity checks), openssl
# (certificate pin cross-check), strace (holds a keeper at a chosen system
# call in keeper_kill); systemd, lintian and dpkg-dev (unit and package
# checks).  Checks: clang-format and cppcheck (make lint, with
# gcc's -fanalyzer), valgrind (make check-valgrind).
PKGS="build-essential pkg-config clang clang-format cppcheck valgrind
libmicrohttpd-dev libcurl4-gnutls-dev libsqlite3-dev libjansson-dev
libsodium-dev libgnutls28-dev
bird2 minisign iproute2 curl jq sqlite3 openssl procps strace
systemd lintian dpkg-dev"

# Benchmarks only (make bench): the load generator and the peer.
[ "$bench" = 1 ] && PKGS="$PKGS wrk nginx-light"

# Browser tests: Debian's Chromium, and Node.js with npm for
# playwright-core.  A Node.js installed some other way brings its own npm,
# which Debian's npm package would conflict with: commands that are there
# count as installed.
PKGS="$PKGS chromium"
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

# npm_deps: playwright-core (no browser of its own: it drives Debian's
# Chromium) into tests/browser/node_modules, as the lock file says.
br=$(cd "$(dirname "$0")/.." && pwd)/tests/browser
npm_deps() {
	[ -d "$br/node_modules/playwright-core" ] && return 0
	echo "deps: installing the npm packages of tests/browser"
	if [ -f "$br/package-lock.json" ]; then
		cmd=ci
	else
		cmd=install
	fi
	if ! out=$(cd "$br" && npm "$cmd" --quiet --no-audit --no-fund 2>&1); then
		echo "$out" >&2
		echo "deps: npm $cmd failed in tests/browser" >&2
		exit 1
	fi
}

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	if [ -d "$br/node_modules/playwright-core" ]; then
		[ "$quiet" = 1 ] || echo "deps: everything is installed"
		exit 0
	fi
	npm_deps
	echo "deps: done"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian starts BIRD on install; our tests run their own instances.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl disable --now bird >/dev/null 2>&1 || true
fi
npm_deps
echo "deps: done"
