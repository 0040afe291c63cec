#!/usr/bin/env bash
# tests/package/check_package.sh — checks a built hubrelay .deb without a second build:
# its file list and modes, conffiles, maintainer scripts (user, state directory, unit
# enabled but not started), that the binary is stripped with its debug info in the
# -dbgsym package, then installs it into a scratch root with dpkg --root (maintainer
# scripts run chrootless with DPKG_ROOT set, as systemd-sysusers, systemd-tmpfiles and
# deb-systemd-helper support), runs the installed `hubrelay check-config` on the
# installed configuration, and purges it again.
# Usage: tests/package/check_package.sh HUBRELAY.deb [HUBRELAY-DBGSYM.deb]
# (the -dbgsym package defaults to the one next to the .deb). Needs root (dpkg --root
# keeps owners) — CI and the development machines run as root.
# Prints one line per check and "N passed, N failed"; exit 1 if any check failed.
set -uo pipefail
deb=${1:?usage: check_package.sh HUBRELAY.deb [DBGSYM.deb]}
dbgsym=${2:-$(ls "$(dirname "$deb")"/hubrelay-dbgsym_*.*deb 2>/dev/null | head -1)}
passed=0 failed=0
check() {  # check "what" command...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "ok   $what"; passed=$((passed + 1))
  else echo "FAIL $what"; failed=$((failed + 1)); fi
}
scratch=$(mktemp -d /tmp/hubrelay-package-check.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# --- the archive ---------------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{print $1, $2, $6}' >"$scratch/contents"
has() { grep -qxF -e "$1" "$scratch/contents"; }
check "binary /usr/sbin/hubrelay 0755 root" has "-rwxr-xr-x root/root ./usr/sbin/hubrelay"
check "configuration /etc/hubrelay/hubrelay.toml 0644 root" has "-rw-r--r-- root/root ./etc/hubrelay/hubrelay.toml"
check "systemd unit" has "-rw-r--r-- root/root ./lib/systemd/system/hubrelay.service"
check "sysusers.d entry" has "-rw-r--r-- root/root ./usr/lib/sysusers.d/hubrelay.conf"
check "tmpfiles.d entry" has "-rw-r--r-- root/root ./usr/lib/tmpfiles.d/hubrelay.conf"
check "man page hubrelay(8)" has "-rw-r--r-- root/root ./usr/share/man/man8/hubrelay.8.gz"
check "man page hubrelay.toml(5)" has "-rw-r--r-- root/root ./usr/share/man/man5/hubrelay.toml.5.gz"
check "copyright" has "-rw-r--r-- root/root ./usr/share/doc/hubrelay/copyright"
check "operator docs" grep -q "./usr/share/doc/hubrelay/operations.md" "$scratch/contents"

dpkg-deb -e "$deb" "$scratch/control"
check "hubrelay.toml is a conffile" grep -qx /etc/hubrelay/hubrelay.toml "$scratch/control/conffiles"
check "postinst creates the user (systemd-sysusers)" grep -q "systemd-sysusers.*hubrelay.conf" "$scratch/control/postinst"
check "postinst creates /var/lib/hubrelay (systemd-tmpfiles)" grep -q "systemd-tmpfiles.*--create.*hubrelay.conf" "$scratch/control/postinst"
check "postinst enables the unit" grep -q "deb-systemd-helper enable 'hubrelay.service'" "$scratch/control/postinst"
check "postinst does not start the unit" bash -c "! grep -Eq 'deb-systemd-invoke (start|restart)' '$scratch/control/postinst'"

dpkg-deb -x "$deb" "$scratch/x"
unit=$scratch/x/lib/systemd/system/hubrelay.service
conf=$scratch/x/etc/hubrelay/hubrelay.toml
check "unit runs /usr/sbin/hubrelay with the packaged config" \
  grep -qx "ExecStart=/usr/sbin/hubrelay serve --config /etc/hubrelay/hubrelay.toml" "$unit"
check "unit: User=hubrelay, StateDirectory=hubrelay" bash -c "grep -qx User=hubrelay '$unit' && grep -qx StateDirectory=hubrelay '$unit'"
check "config state_dir is the unit's StateDirectory" grep -qx 'state_dir = "/var/lib/hubrelay"' "$conf"
check "config does not ask to drop to another user" bash -c "! grep -Eq '^[[:space:]]*user[[:space:]]*=' '$conf'"
check "binary is stripped (no .debug_info)" bash -c "! readelf -S '$scratch/x/usr/sbin/hubrelay' | grep -q debug_info"
size=$(stat -c %s "$scratch/x/usr/sbin/hubrelay")
echo "     /usr/sbin/hubrelay is $((size / 1024)) KiB"
check "binary under 20 MiB" test "$size" -lt $((20 * 1024 * 1024))
check "-dbgsym package holds the debug info" bash -c "dpkg-deb -c '$dbgsym' | grep -q '/usr/lib/debug/.build-id/.*\.debug'"

# --- installed into a scratch root ---------------------------------------------------
root=$scratch/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
dpkg_root() {
  dpkg --root="$root" --log=/dev/null --force-script-chrootless --force-depends \
       --force-not-root "$@"
}
check "dpkg --root installs the package" dpkg_root -i "$deb"
check "the hubrelay user exists" grep -q "^hubrelay:" "$root/etc/passwd"
uid=$(awk -F: '$1 == "hubrelay" {print $3}' "$root/etc/passwd")
check "/var/lib/hubrelay is 0750 and the user's" \
  test "$(stat -c '%a %u' "$root/var/lib/hubrelay" 2>/dev/null)" = "750 $uid"
check "the unit is enabled" test -L "$root/etc/systemd/system/multi-user.target.wants/hubrelay.service"
check "installed hubrelay --version" "$root/usr/sbin/hubrelay" --version
check "installed check-config accepts the installed config" \
  "$root/usr/sbin/hubrelay" check-config --config "$root/etc/hubrelay/hubrelay.toml"
check "dpkg --purge removes it" dpkg_root --purge hubrelay
check "purge removes config, queue and unit link" bash -c "! test -e '$root/etc/hubrelay/hubrelay.toml' &&
  ! test -e '$root/var/lib/hubrelay' && ! test -L '$root/etc/systemd/system/multi-user.target.wants/hubrelay.service'"

echo "package: $passed passed, $failed failed"
[ "$failed" = 0 ]
