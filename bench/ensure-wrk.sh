#!/usr/bin/env bash
# Install wrk (Debian package) for the HTTP rows of `make bench` when it is missing and
# we may; otherwise bench/run.py falls back to its own Python load generator.
set -u
command -v wrk >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null 2>&1 \
        || echo "bench: could not install wrk; using the Python load generator" >&2
else
    echo "bench: wrk not found (apt-get install wrk); using the Python load generator" >&2
fi
exit 0
