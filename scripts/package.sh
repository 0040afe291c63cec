#!/usr/bin/env bash
# Builds the Debian package (dpkg-buildpackage with debian/: dh + CMake) and runs lintian.
# Usage: scripts/package.sh [--from-build BUILD_DIR] [--out DIR]
#   --out DIR        where the .deb, -dbgsym .deb, .changes and lintian.txt go
#                    (default ./build-package)
#   --from-build D   package the already-built CMake tree D (e.g. build-test-release)
#                    instead of compiling again: CI uses it, where a second full release
#                    build would cost as much as the rest of the package step ten times.
#                    The binary then has D's flags, not Debian's hardening flags.
# The sources are copied (tracked layout, no build trees, no .git) to DIR/src first, so
# dpkg-buildpackage's outputs land in DIR and the working tree stays clean.
# Needs debhelper, dpkg-dev, fakeroot and lintian (scripts/setup-debian.sh installs them).
# Exit status: 0 built and lintian clean, 1 build failed or lintian reported a problem.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build-package
prebuilt=""
while (($#)); do
  case $1 in
    --from-build) prebuilt=$(cd "$2" && pwd); shift 2 ;;
    --out) mkdir -p "$2"; out=$(cd "$2" && pwd); shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

rm -rf "$out/src" "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
src=$out/src/hubrelay
mkdir -p "$src"
tar -C "$root" --exclude=./.git --exclude='./build' --exclude='./build-*' --exclude='./obj-*' \
    --exclude=./debian/hubrelay --exclude=./debian/.debhelper -cf - . | tar -C "$src" -xf -

if [ -n "$prebuilt" ]; then
  # The tree must know the installed paths (the unit names /usr/sbin/hubrelay); changing
  # only install paths re-runs CMake but recompiles nothing.
  cmake -S "$root" -B "$prebuilt" -DCMAKE_INSTALL_PREFIX=/usr \
        -DHUBRELAY_SYSTEMD_UNITDIR=/lib/systemd/system >/dev/null
  ninja -C "$prebuilt" hubrelay hubrelay_packaged_config >/dev/null
  export HUBRELAY_PREBUILT=$prebuilt
elif command -v ccache >/dev/null && [ -n "${CCACHE_DIR:-}" ]; then
  export HUBRELAY_CCACHE=1
fi

(cd "$src" && dpkg-buildpackage -b -us -uc -j"$(nproc)") >"$out/build.log" 2>&1 || {
  tail -40 "$out/build.log" >&2
  echo "package.sh: dpkg-buildpackage failed; log: $out/build.log" >&2
  exit 1
}
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out"/
rm -rf "$out/src"

echo "== built:"
ls -l "$out"/*.deb
# lintian reads the package (not the generated -dbgsym one: unpacking its tens of MiB of
# DWARF costs minutes and its content is dh_strip's, not ours).
echo "== lintian"
status=0
lintian --info --display-level '>=info' --fail-on error,warning "$out"/hubrelay_*.deb >"$out/lintian.txt" 2>&1 ||
  status=1
cat "$out/lintian.txt"
[ "$status" = 0 ] && echo "lintian: no errors or warnings" || echo "package.sh: lintian reported errors or warnings" >&2
exit $status
