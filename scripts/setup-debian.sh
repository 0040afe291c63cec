#!/usr/bin/env bash
# Installs the Debian 12 packages hubrelay needs to build and run; with --test also what
# the whole test suite needs beyond that.
# Idempotent: packages already present are skipped by apt. Postfix is installed with
# "No configuration" so no system MTA is configured or started (we only use its
# smtp-source / smtp-sink tools and, in bench/, a private instance).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# What building and running the relay needs (README command (a), scripts/run.sh).
pkgs=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libssl-dev libc-ares-dev libsqlite3-dev
  libpq-dev  # the optional PostgreSQL queue shared by several relays (docs/scale-out.md)
  zlib1g-dev  # gzip of the TLS reports (docs/tls-policy.md)
  libspdlog-dev libfmt-dev libtoml11-dev
  ca-certificates
)
# What the whole test suite needs beyond that (README command (b), scripts/test.sh):
# GoogleTest, the end-to-end instruments (aiosmtpd sinks, swaks, Postfix's smtp-source/
# smtp-sink, openssl s_client, HAProxy, headless Chromium for the status page, promtool
# from prometheus to check the /metrics exposition, FUSE and fusepy for the power-loss
# filesystem of tests/powerloss), clang for
# the fuzz targets, the Debian package build (dpkg-buildpackage, dh, lintian) and
# tests/package/check_package.sh (dpkg --root runs systemd-sysusers / -tmpfiles), and the
# content filters the milter tests start on loopback with private configurations
# (tests/e2e/filter_rigs.py: rspamd, clamd + clamav-milter, OpenDKIM) with the two DKIM
# verifiers (python3-dkim, Mail::DKIM; CryptX for its Ed25519) and the scripted test filter (python3-milter),
# and PostgreSQL 15 (server and psql) for the private primary and standby of the multi-node
# tests (tests/e2e/pg_cluster.py; the Debian service it installs is never used).
test_pkgs=(
  git libgtest-dev libgmock-dev sqlite3
  openssl swaks postfix python3 python3-aiosmtpd
  procps iproute2 clang
  clang-16 libclang-rt-16-dev libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl
  chromium python3-jsonschema  # the status page; the admin API's answers against its OpenAPI document
  prometheus
  haproxy
  postgresql-15 postgresql-client-15
  fuse3 python3-fusepy
  debhelper dpkg-dev fakeroot lintian systemd
  rspamd clamav-daemon clamav-milter opendkim opendkim-tools
  python3-milter python3-dkim libmail-dkim-perl libcryptx-perl
)
if [ "${1:-}" = "--test" ]; then pkgs+=("${test_pkgs[@]}"); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  # The filter packages' maintainer scripts would start their system services (rspamd,
  # clamd, clamav-milter, freshclam, opendkim): policy-rc.d answering 101 forbids every
  # start during this install (Docker images ship one; a bare machine may not), and
  # without systemd running nothing else starts them. The tests run their own instances.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# setup-debian.sh: no service starts during package installation\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
