#!/usr/bin/env bash
# @kubernetes/client-node (the JavaScript client kube's controllers in Node use) for
# tests/integration/test_real_controllers.py, installed from npm into VENV/node when missing.
# 1.4.0: the 2.x line needs Node 22 (undici 8); Debian 13 ships Node 20.
set -euo pipefail
venv=${1:-.venv}
version=1.4.0
dest="$venv/node"
marker="$dest/node_modules/@kubernetes/client-node/package.json"
if [ -f "$marker" ] && grep -q "\"version\": \"$version\"" "$marker"; then
    exit 0
fi
if ! command -v npm >/dev/null; then
    echo "ensure-client-node: npm is missing; installing Debian's nodejs and npm" >&2
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y -q nodejs npm >/dev/null
    else
        sudo apt-get install -y -q nodejs npm >/dev/null
    fi
fi
echo "ensure-client-node: npm install @kubernetes/client-node@$version into $dest" >&2
mkdir -p "$dest"
npm install --prefix "$dest" --no-audit --no-fund --loglevel=error \
    "@kubernetes/client-node@$version" >&2
