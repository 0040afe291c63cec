#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang 16 and runs each one for a bounded
# time over its corpus. Usage: scripts/fuzz.sh [BUILD_DIR]   (default ./build-fuzz)
# Env: FUZZ_SECONDS (per target, default 60), FUZZ_JOBS (ninja -j, default nproc),
#      FUZZ_TARGETS (space-separated subset, default: every fuzz/*_fuzz.cpp).
# clang 14 (Debian's default) cannot compile libstdc++ 12's std::expected, so this
# needs Debian's clang-16 and libclang-rt-16-dev (scripts/setup-debian.sh installs them).
# Only the fuzz targets and the libraries they link are built (HUBRELAY_TESTS=OFF).
# The libraries get -fsanitize=fuzzer-no-link so libFuzzer sees coverage inside them,
# plus ASan/UBSan so a memory error is a crash, not a silent corruption.
# New inputs that libFuzzer finds are written to a scratch corpus under BUILD_DIR, never
# into fuzz/corpus (commit interesting ones by hand). Exit status 1 if any target crashed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-$(nproc)}
cxx=${FUZZ_CXX:-clang++-16}
cc=${FUZZ_CC:-clang-16}
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz.sh: $cxx not found; install clang-16 and libclang-rt-16-dev (scripts/setup-debian.sh)" >&2
  exit 2
fi
# Why the __cpp_concepts override: libstdc++ 12 declares std::expected only when
# __cpp_concepts >= 202002L, and clang 16 still reports 201907L (its P0848 support is
# partial), so <expected> silently declares nothing. std::expected itself needs nothing
# clang 16 lacks, so the macro is raised for this build only.
flags="-U__cpp_concepts -D__cpp_concepts=202002L"
flags+=" -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DHUBRELAY_TESTS=OFF -DHUBRELAY_FUZZ=ON >/dev/null

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for f in "$root"/fuzz/*_fuzz.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
ninja -C "$build" -j"$jobs" "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in "${targets[@]}"; do
  scratch="$build/corpus-new/$t"
  mkdir -p "$scratch" "$build/artifacts/$t"
  seeds="$root/fuzz/corpus/$t"
  [ -d "$seeds" ] || seeds=""
  echo "== fuzzing $t for ${seconds}s"
  if ! "$build/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$t/" "$scratch" ${seeds:+"$seeds"} >"$build/$t.log" 2>&1; then
    echo "!! $t failed; log: $build/$t.log, artifacts: $build/artifacts/$t/" >&2
    tail -40 "$build/$t.log" >&2
    status=1
  else
    grep -E "^stat::(number_of_executed_units|new_units_added)" "$build/$t.log" | tr '\n' ' '
    echo
  fi
done
exit $status
