#!/bin/bash
# bench/queue_scale.sh — queue N messages with the hop down, restart, drain.
# Thin wrapper around bench/queue_scale.py (see its header for what is measured and
# checked). N defaults to 1,000,000 (bench mode); tests use N=20000.
# Usage: bench/queue_scale.sh [HUBRELAY_BIN]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-${HUBRELAY_BIN:-/tmp/build-bench/relay/hubrelay}}
export HUBRELAY_BIN=$BIN N=${N:-1000000}
exec timeout "${SCALE_TIMEOUT:-7200}" /usr/bin/python3 "$HERE/queue_scale.py"
