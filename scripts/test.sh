#!/usr/bin/env bash
# README command (b): install what is missing, build, and run the whole test suite —
# unit tests and end-to-end tests against the real binary — first in a normal build,
# then again in an AddressSanitizer + UndefinedBehaviorSanitizer build; the release tree
# is also packaged as a .deb, checked by lintian and installed into a scratch root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup-debian.sh" --test

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
  if [ "$variant" = release ]; then
    # The Debian package of the tree just tested (no second compile: --from-build),
    # lintian, then tests/package/check_package.sh installs it into a scratch root.
    echo "== packaging (release)"
    if bash "$root/scripts/package.sh" --from-build "$build" --out "$root/build-package"; then
      deb=$(ls "$root"/build-package/hubrelay_*.deb)
      cmake -S "$root" -B "$build" -DHUBRELAY_PACKAGE_DEB="$deb" >/dev/null
      ctest --test-dir "$build" -L package --output-on-failure || status=1
      cmake -S "$root" -B "$build" -DHUBRELAY_PACKAGE_DEB= >/dev/null
    else
      status=1
    fi
  fi
done
# libFuzzer targets, 30 s each over their corpora (scripts/fuzz.sh; clang-16).
echo "== fuzzing"
if ! FUZZ_SECONDS=30 bash "$root/scripts/fuzz.sh" "$root/build-test-fuzz"; then
  status=1
fi
exit $status
