#!/bin/bash
# bench/run.sh — the one command for the side-by-side benchmark.
#
# Runs bench/bench.py (hubrelay and a private Postfix instance, smtp-source → relay →
# smtp-sink, alternating on every point) and writes bench/results/latest.md.
# Owns nothing else; every knob is an environment variable read by bench.py (see its
# header): RUNS, SESSIONS, SIZES, MODES, POINTS, MESSAGES, MESSAGES_1, RUN_MIB, TIMEOUT,
# SYSTEMS, LATENCY_MESSAGES, BIG_SESSIONS, BIG_SIZE, BIG_RUNS, OUT, KEEP, FILTER,
# FILTER_WORKERS, TRACKING (off: no message tracking records, to measure their cost;
# bench/relay_config.py). FILTER=rspamd puts one rspamd instance (tests/e2e/filter_rigs.py) in both
# relays' path as a milter (10 and 50 sessions x 10 and 100 KiB; rspamd's CPU shown apart)
# and writes bench/results/filter-rspamd.md; a hubrelay without milter support is reported
# as not measured and Postfix's figures are still printed. DKIM=rsa|ed25519 has both relays
# sign every message with one key (hubrelay natively, Postfix through opendkim;
# bench/dkim_rig.py; 10 and 50 sessions x 10 KiB) and writes bench/results/dkim-KIND.md;
# DKIM_THREADS sets hubrelay's [dkim] threads. QUEUE=postgresql puts hubrelay's queue in a
# private PostgreSQL 15 server started for the run (bench/pg_queue.py; fsync and
# synchronous_commit on); QUEUE=sqlite,postgresql measures hubrelay on both queues and
# Postfix on the same points (10 and 50 sessions x 10 KiB), alternating, in one table,
# and writes bench/results/queue-postgresql.md (default: sqlite). BENCH_TIMEOUT
# (5400 s) bounds the whole run. QUICK=1 is a ~2-minute smoke of every path (1 run; 10
# sessions: 1 KiB in both connection modes, 100 KiB reused, 1 MiB one message per
# connection; the big-message point with 5 sessions x 30 MiB) that writes
# bench/results/quick.md instead (with DKIM, FILTER or QUEUE=...postgresql: their points,
# 1 run, bench/results/quick-dkim-KIND.md, quick-filter.md, quick-queue-postgresql.md).
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
  export RUNS=${RUNS:-1} MESSAGES=${MESSAGES:-300} MESSAGES_1=${MESSAGES_1:-100} RUN_MIB=${RUN_MIB:-64}
  if [[ -n "${DKIM:-}" ]]; then
    export POINTS=${POINTS:-10:10KiB:reused,50:10KiB:reused} OUT=${OUT:-$HERE/results/quick-dkim-$DKIM.md}
    export BIG_SESSIONS=${BIG_SESSIONS:-0}
  fi
  if [[ "${QUEUE:-}" == *postgresql* ]]; then
    export POINTS=${POINTS:-10:10KiB:reused,50:10KiB:reused} OUT=${OUT:-$HERE/results/quick-queue-postgresql.md}
    export BIG_SESSIONS=${BIG_SESSIONS:-0}
  fi
  if [[ -n "${FILTER:-}" ]]; then
    export POINTS=${POINTS:-10:10KiB:reused,50:100KiB:reused} OUT=${OUT:-$HERE/results/quick-filter.md}
    export BIG_SESSIONS=${BIG_SESSIONS:-0}
  fi
  export POINTS=${POINTS:-10:1KiB:reused,10:1KiB:per-connection,10:100KiB:reused,10:1MiB:per-connection}
  export LATENCY_MESSAGES=${LATENCY_MESSAGES:-10} BIG_SESSIONS=${BIG_SESSIONS:-5}
  export OUT=${OUT:-$HERE/results/quick.md}
fi
export HUBRELAY_BIN=$BIN
exec timeout "${BENCH_TIMEOUT:-5400}" /usr/bin/python3 "$HERE/bench.py"
