#!/usr/bin/env bash
# README command (a): install what building and running need (no test tools), build the
# hubrelay binary only, and start the relay in the foreground with
# conf/hubrelay.example.toml: inbound listener 127.0.0.1:2525, outbound listener
# 127.0.0.2:2525, admin endpoint as configured there, queue in conf/state/.
# Ctrl-C (SIGINT) drains and stops it; a second Ctrl-C stops at once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup-debian.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHUBRELAY_TESTS=OFF >/dev/null
ninja -C "$root/build" -j"$(nproc)" hubrelay
exec "$root/build/relay/hubrelay" serve --config "$root/conf/hubrelay.example.toml"
