#!/bin/bash
# bench/powerloss.sh — ROUNDS (default 20) power cuts under load, then a summary.
# Thin wrapper around tests/e2e/test_powerloss.py (see its header for what each round
# does and checks); prints rounds, messages acknowledged, delivered, lost, damaged,
# duplicates, the integrity check of each round and the orphans found.
# Usage: [ROUNDS=20] [SEED=N] bench/powerloss.sh [HUBRELAY_BIN]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-${HUBRELAY_BIN:-$HERE/../build/relay/hubrelay}}
summary=$(mktemp /tmp/hubrelay-powerloss-summary.XXXXXX)
trap 'rm -f "$summary"' EXIT
status=0
env HUBRELAY_BIN="$BIN" HUBRELAY_POWERLOSS_ROUNDS=${ROUNDS:-20} HUBRELAY_POWERLOSS_SUMMARY=$summary \
  ${SEED:+HUBRELAY_POWERLOSS_SEED=$SEED} \
  timeout "${POWERLOSS_TIMEOUT:-1800}" /usr/bin/python3 "$HERE/../tests/e2e/test_powerloss.py" \
  >/dev/null 2>"$summary.log" || status=$?
grep '^\[e2e\] round' "$summary.log" || true
if [ -s "$summary" ]; then
  /usr/bin/python3 - "$summary" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
integrity = {v: s["integrity"].count(v) for v in sorted(set(s["integrity"]))}
print(f"seed {s['seed']}: rounds {s['rounds']}, acknowledged {s['acked']}, delivered {s['delivered']}, "
      f"lost {s['lost']}, damaged {s['damaged']}, duplicates {s['duplicates']}")
print(f"integrity_check after each cut: {integrity}; orphans after cuts: {s['orphans_after_cuts']}, "
      f"at the end: {len(s['orphans_at_end'])}")
print(f"client replies: {s['replies']}")
PY
else
  echo "no summary: the test stopped early; its log:"; tail -40 "$summary.log"
fi
rm -f "$summary.log"
[ "$status" = 0 ] && echo "PASS" || echo "FAIL (status $status)"
exit "$status"
