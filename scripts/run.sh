#!/usr/bin/env bash
# README command (a): install what is missing, build, and start the relay in the
# foreground with conf/hubrelay.example.toml (inbound 127.0.0.1:2525, outbound
# 127.0.0.2:2525, queue in conf/state/). Ctrl-C (SIGINT) drains and stops it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup-debian.sh"
bash "$root/scripts/build.sh" "$root/build"
exec "$root/build/relay/hubrelay" serve --config "$root/conf/hubrelay.example.toml"
