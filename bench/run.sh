#!/bin/bash
# bench/run.sh — the one command for the side-by-side benchmark.
#
# Runs bench/bench.py (hubrelay and a private Postfix instance, smtp-source → relay →
# smtp-sink, alternating on every point) and writes bench/results/latest.md.
# Owns nothing else; every knob is an environment variable read by bench.py (see its
# header): RUNS, MESSAGES, MESSAGES_1, SESSIONS, SIZES, TIMEOUT, SOURCE_FLAGS, SYSTEMS,
# LATENCY_MESSAGES, OUT, KEEP. QUICK=1 is a ~1-minute smoke run (1 run, 300 messages,
# 10 sessions, 1 KiB and 100 KiB) that writes bench/results/quick.md instead.
# Needs root (the private Postfix instance and smtp-sink -u nobody) and the postfix package.
#
# Usage: bench/run.sh [HUBRELAY_BIN]     (default: /tmp/build-bench/relay/hubrelay, then
#        the first of /tmp/build-*/relay/hubrelay that exists)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-${HUBRELAY_BIN:-}}
if [[ -z "$BIN" ]]; then
  for candidate in /tmp/build-bench/relay/hubrelay /tmp/build-*/relay/hubrelay; do
    [[ -x "$candidate" ]] && BIN=$candidate && break
  done
fi
[[ -x "$BIN" ]] || { echo "run.sh: no hubrelay binary; pass it as \$1" >&2; exit 2; }
if [[ "${QUICK:-0}" == 1 ]]; then
  export RUNS=${RUNS:-1} MESSAGES=${MESSAGES:-300} MESSAGES_1=${MESSAGES_1:-100}
  export SESSIONS=${SESSIONS:-10} SIZES=${SIZES:-1024,102400} LATENCY_MESSAGES=${LATENCY_MESSAGES:-10}
  export OUT=${OUT:-$HERE/results/quick.md}
fi
export HUBRELAY_BIN=$BIN
exec timeout "${BENCH_TIMEOUT:-5400}" /usr/bin/python3 "$HERE/bench.py"
