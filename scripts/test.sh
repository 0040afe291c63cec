#!/usr/bin/env bash
# README command (b): install what is missing, build, and run the whole test suite —
# unit tests and end-to-end tests against the real binary — first in a normal build,
# then again in an AddressSanitizer + UndefinedBehaviorSanitizer build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup-debian.sh"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
for variant in release asan; do
  build="$root/build-test-$variant"
  extra=()
  [ "$variant" = asan ] && extra=(-DHUBRELAY_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
  echo "== building ($variant)"
  bash "$root/scripts/build.sh" "$build" "${extra[@]}"
  echo "== testing ($variant)"
  if ! ctest --test-dir "$build" --output-on-failure --timeout 600 -j2; then
    status=1
  fi
done
# libFuzzer targets, 30 s each over their corpora (scripts/fuzz.sh; clang-16).
echo "== fuzzing"
if ! FUZZ_SECONDS=30 bash "$root/scripts/fuzz.sh" "$root/build-test-fuzz"; then
  status=1
fi
exit $status
