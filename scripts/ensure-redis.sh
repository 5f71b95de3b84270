#!/usr/bin/env bash
# Install Debian's redis-server for the shared-limits tests when it is missing.
# The tests start their own redis-server on a free loopback port (tests/support/redisserver.py);
# nothing is started here and no service is enabled.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "redis-server is missing: run 'sudo apt-get install -y redis-server' (needed by the limits tests)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server >/dev/null
