#!/usr/bin/env bash
# Make sure an haproxy binary (Debian's package) is available for the load-balancer test
# (tests/integration/test_rollout_haproxy.py) and the distributed `make load`.
#
# Order, first that works:
#   1. haproxy already on PATH (or in /usr/sbin, which a non-root PATH may lack): nothing to do;
#   2. a copy unpacked into the venv by step 4 earlier (VENV/bin/haproxy);
#   3. `apt-get install -y --no-install-recommends haproxy` as root, or through passwordless
#      sudo (running `apt-get update` once if the package lists are missing or stale);
#   4. no root: `apt-get download` haproxy and the libraries it needs that are not installed,
#      `dpkg -x` them into VENV/haproxy, and put a wrapper at VENV/bin/haproxy that sets
#      LD_LIBRARY_PATH and execs the real binary (so its pid is haproxy's own).
# Fails with one line saying what to do when none works.
#
# Usage: scripts/ensure-haproxy.sh [VENV]   (default .venv)
# HAPROXY_INSTALL=download forces step 4 (to check that path on a machine where apt works).
set -euo pipefail

MODE="${HAPROXY_INSTALL:-auto}"

say() { echo "make: haproxy: $*"; }
fail() {
    echo "make: haproxy: $* -- install Debian's haproxy package (apt-get install haproxy) and rerun" >&2
    exit 1
}

VENV="${1:-.venv}"
if [[ ! -d "$VENV/bin" ]]; then
    echo "make: haproxy: no virtualenv at $VENV (run make install)" >&2
    exit 1
fi
VENV="$(cd "$VENV" && pwd)"

if [[ "$MODE" != download ]]; then
    for candidate in "$(command -v haproxy || true)" /usr/sbin/haproxy "$VENV/bin/haproxy"; do
        if [[ -n "$candidate" && -x "$candidate" ]] && "$candidate" -v >/dev/null 2>&1; then
            exit 0
        fi
    done
fi

command -v apt-get >/dev/null 2>&1 || fail "not found, and this machine has no apt-get"

as_root=()
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        as_root=(none)
    fi
fi

if [[ "$MODE" != download && "${as_root[0]:-}" != none ]]; then
    export DEBIAN_FRONTEND=noninteractive
    say "installing Debian's haproxy package (apt-get install haproxy)"
    if ! "${as_root[@]}" apt-get install -y --no-install-recommends haproxy; then
        say "apt-get install failed; refreshing the package lists (apt-get update) and retrying"
        "${as_root[@]}" apt-get update \
            || fail "apt-get update failed"
        "${as_root[@]}" apt-get install -y --no-install-recommends haproxy \
            || fail "apt-get install haproxy failed"
    fi
    /usr/sbin/haproxy -v | sed -n "1s/^/make: haproxy: /p"
    exit 0
fi

# Step 4: no root. apt-get download and dpkg -x need none; the package lists must be present.
say "unpacking Debian's haproxy package into $VENV/haproxy (apt-get download + dpkg -x, no root)"
command -v dpkg >/dev/null 2>&1 || fail "dpkg not found"
root="$VENV/haproxy"
work="$(mktemp -d "${TMPDIR:-/tmp}/haproxy-deb.XXXXXX")"
trap 'rm -rf "$work"' EXIT

installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == *" installed" ]]; }

# haproxy, plus every library it depends on (transitively) that the system lacks. Only lib*
# packages matter for running the binary: adduser, init scripts and debconf do not.
wanted=(haproxy)
queue=(haproxy)
declare -A seen=([haproxy]=1)
while ((${#queue[@]})); do
    pkg="${queue[0]}"
    queue=("${queue[@]:1}")
    while read -r dep; do
        [[ "$dep" == lib* && -z "${seen[$dep]:-}" ]] || continue
        seen[$dep]=1
        installed "$dep" && continue
        wanted+=("$dep")
        queue+=("$dep")
    done < <(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
                 --no-replaces --no-enhances "$pkg" 2>/dev/null |
             sed -nE 's/^ *\|?(Pre)?Depends: ([^<>[:space:]]+)$/\2/p')
done
say "downloading ${wanted[*]}"
(cd "$work" && apt-get download "${wanted[@]}") >/dev/null \
    || fail "apt-get download ${wanted[*]} failed (are the package lists present? apt-get update)"
rm -rf "$root"
mkdir -p "$root"
for deb in "$work"/*.deb; do
    dpkg -x "$deb" "$root"
done
[[ -x "$root/usr/sbin/haproxy" ]] || fail "the package had no usr/sbin/haproxy"
libdirs="$(find "$root" -name '*.so*' -printf '%h\n' | sort -u | paste -sd: -)"
cat >"$VENV/bin/haproxy" <<EOF
#!/bin/sh
# Debian's haproxy unpacked by scripts/ensure-haproxy.sh (no root to install the package).
LD_LIBRARY_PATH="$libdirs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$root/usr/sbin/haproxy" "\$@"
EOF
chmod +x "$VENV/bin/haproxy"
"$VENV/bin/haproxy" -v >/dev/null 2>&1 || fail "the unpacked haproxy does not run: $("$VENV/bin/haproxy" -v 2>&1 | sed -n 1p)"
"$VENV/bin/haproxy" -v | sed -n "1s/^/make: haproxy: /p"
