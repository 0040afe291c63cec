#!/usr/bin/env bash
# Installs every Debian 12 package hubrelay needs to build and run; with --test also what
# the test suite needs beyond that (the Debian package build and lintian).
# Idempotent: packages already present are skipped by apt. Postfix is installed with
# "No configuration" so no system MTA is configured or started (we only use its
# smtp-source / smtp-sink tools and, in bench/, a private instance).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libssl-dev libc-ares-dev libsqlite3-dev sqlite3
  libspdlog-dev libfmt-dev libtoml11-dev libgtest-dev libgmock-dev
  openssl ca-certificates swaks postfix python3 python3-aiosmtpd
  procps iproute2 clang
  clang-16 libclang-rt-16-dev libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl
  chromium
  haproxy
)
# scripts/test.sh: scripts/package.sh (dpkg-buildpackage, dh, lintian) and
# tests/package/check_package.sh (dpkg --root runs systemd-sysusers / -tmpfiles).
test_pkgs=(debhelper dpkg-dev fakeroot lintian systemd)
if [ "${1:-}" = "--test" ]; then pkgs+=("${test_pkgs[@]}"); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
