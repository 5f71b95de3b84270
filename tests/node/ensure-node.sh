#!/usr/bin/env bash
# Install what the Node.js tests need: Node.js 18 or newer (Debian's nodejs and npm when
# missing, as root, like scripts/ensure-chromium.sh), then the pinned packages of
# tests/node/package-lock.json (ali-oss; Uppy and esbuild for the Uppy browser test) with
# `npm ci`. `make test` runs it (make node-deps).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "node and npm are missing: install Node.js 18 or newer (e.g. 'sudo apt-get install -y nodejs npm'); the ali-oss tests need them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 18 ]; then
  echo "Node.js $(node --version) is too old: the ali-oss tests need 18 or newer" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
