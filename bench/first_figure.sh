#!/bin/bash
# bench/first_figure.sh — the first throughput figure: Postfix's smtp-source pushes mail
# through hubrelay into Postfix's smtp-sink, next to the harness ceiling (smtp-source
# straight into smtp-sink) on the same machine.
#
# Owns: one reproducible number, not a benchmark suite. Starts smtp-sink as the relay's
# only hop, hubrelay on free loopback ports with a generated config (state in a temp
# dir), runs smtp-source against the inbound listener and measures wall time until
# smtp-sink has received every message: smtp-sink -c keeps a live "mesg=N" counter in
# its output, polled every 20 ms (smtp-sink -M N would be simpler but exits before the
# last sessions' QUIT, which makes smtp-source fail). Everything it starts is stopped by PID; the temp dir is
# removed unless KEEP=1. Every wait is bounded by TIMEOUT seconds.
# Never: tunes the system, touches anything outside its temp dir, or hides a failure
# (non-zero exit and the relevant log tail on any error).
#
# Usage: bench/first_figure.sh [HUBRELAY_BIN]
# Environment: HUBRELAY_BIN, MESSAGES (5000), SESSIONS (10), SIZE (1024 bytes),
#   TIMEOUT (300 s per phase), LOG_LEVEL ("warn"), SOURCE_FLAGS (extra smtp-source
#   flags, e.g. "-d" to reuse connections), KEEP=1 (keep the temp dir).
set -euo pipefail

HUBRELAY_BIN=${1:-${HUBRELAY_BIN:-}}
if [[ -z "$HUBRELAY_BIN" ]]; then
  for candidate in /tmp/build-lead/relay/hubrelay /tmp/build-e2e/relay/hubrelay; do
    [[ -x "$candidate" ]] && HUBRELAY_BIN=$candidate && break
  done
fi
MESSAGES=${MESSAGES:-5000}
SESSIONS=${SESSIONS:-10}
SIZE=${SIZE:-1024}
TIMEOUT=${TIMEOUT:-300}
LOG_LEVEL=${LOG_LEVEL:-warn}
SOURCE_FLAGS=${SOURCE_FLAGS:-}
SMTP_SINK=/usr/sbin/smtp-sink
SMTP_SOURCE=/usr/sbin/smtp-source
PYTHON=/usr/bin/python3

die() { echo "first_figure: $*" >&2; exit 1; }
[[ -x "$HUBRELAY_BIN" ]] || die "hubrelay binary not found; pass it as \$1 or HUBRELAY_BIN"
[[ -x "$SMTP_SINK" && -x "$SMTP_SOURCE" ]] || die "needs Postfix's smtp-sink/smtp-source (apt-get install postfix)"

WORK=$(mktemp -d /tmp/hubrelay-bench.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  if [[ "${KEEP:-0}" == 1 ]]; then echo "first_figure: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { d = b - a; printf "%.0f", (d > 0 ? n / d : 0) }'; }

free_port() {  # $1: address
  "$PYTHON" -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"
}

wait_port() {  # $1 host, $2 port, $3 pid that must stay alive
  local deadline=$((SECONDS + 15))
  while ((SECONDS < deadline)); do
    kill -0 "$3" 2>/dev/null || return 1
    "$PYTHON" -c 'import socket,sys; socket.create_connection((sys.argv[1],int(sys.argv[2])),0.5).close()' \
      "$1" "$2" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

sink_count() {  # $1 smtp-sink -c output → messages received so far
  local n
  n=$(tr '\r' '\n' <"$1" | grep -o 'mesg=[0-9]*' | tail -1 | cut -d= -f2)
  echo "${n:-0}"
}

wait_count() {  # $1 sink log, $2 count, $3 seconds, $4 pid that must stay alive
  local deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    (($(sink_count "$1") >= $2)) && return 0
    kill -0 "$4" 2>/dev/null || return 1
    sleep 0.02
  done
  return 1
}

wait_exit() {  # $1 pid, $2 seconds; 0 if it exited in time
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.05
  done
  return 1
}

start_sink() {  # $1 port, $2 log → sets SINK_PID; counts with -c (see header)
  local user_flags=()
  [[ $(id -u) == 0 ]] && user_flags=(-u nobody)  # smtp-sink refuses to run as root otherwise
  "$SMTP_SINK" "${user_flags[@]}" -c "127.0.0.1:$1" 1000 >"$2" 2>&1 &
  SINK_PID=$!
  PIDS+=("$SINK_PID")
  wait_port 127.0.0.1 "$1" "$SINK_PID" || die "smtp-sink did not start: $(tail -5 "$2")"
}

run_source() {  # $1 port, $2 log; returns smtp-source's status
  # shellcheck disable=SC2086  # SOURCE_FLAGS is a flag list on purpose
  timeout "$TIMEOUT" "$SMTP_SOURCE" $SOURCE_FLAGS -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" \
    -f a@example.net -t b@example.com "127.0.0.1:$1" >"$2" 2>&1
}

echo "hubrelay first figure: $MESSAGES messages x $SIZE bytes, $SESSIONS parallel sessions" \
     "${SOURCE_FLAGS:+(smtp-source $SOURCE_FLAGS) }on $(nproc) CPU(s)"
echo "binary: $HUBRELAY_BIN"

# ---- 1. ceiling: smtp-source → smtp-sink --------------------------------------------
CEIL_PORT=$(free_port 127.0.0.1)
start_sink "$CEIL_PORT" "$WORK/ceiling-sink.log"
t0=$(now)
run_source "$CEIL_PORT" "$WORK/ceiling-source.log" || die "smtp-source (ceiling) failed: $(tail -5 "$WORK/ceiling-source.log")"
wait_count "$WORK/ceiling-sink.log" "$MESSAGES" "$TIMEOUT" "$SINK_PID" \
  || die "smtp-sink (ceiling) did not count $MESSAGES messages in ${TIMEOUT}s"
t1=$(now)
printf '%-44s %8ss %8s msg/s\n' "ceiling   smtp-source -> smtp-sink" "$(elapsed "$t0" "$t1")" "$(rate "$MESSAGES" "$t0" "$t1")"
kill -TERM "$SINK_PID"; wait_exit "$SINK_PID" 10 || true

# ---- 2. through the relay: smtp-source → hubrelay inbound → smtp-sink ----------------
HOP_PORT=$(free_port 127.0.0.1)
IN_PORT=$(free_port 127.0.0.1)
OUT_PORT=$(free_port 127.0.0.2)
mkdir -p "$WORK/state"
cat >"$WORK/hubrelay.toml" <<EOF
# generated by bench/first_figure.sh
[relay]
hostname = "relay.bench"
state_dir = "$WORK/state"
accepted_domains = ["example.com"]

[log]
level = "$LOG_LEVEL"

[queue]
retry_schedule = ["1s", "2s"]

[delivery]
connect_timeout = "5s"
hop_backoff = "2s"

[[listener]]
name = "inbound"
direction = "inbound"
bind = ["127.0.0.1:$IN_PORT"]
policy = "inbound"

[[listener]]
name = "outbound"
direction = "outbound"
bind = ["127.0.0.2:$OUT_PORT"]
policy = "outbound"

[policy.inbound]
trusted_networks = []
require_trusted = false

[policy.outbound]
trusted_networks = ["127.0.0.0/8"]
require_trusted = true

[hop.sink]
host = "127.0.0.1"
port = $HOP_PORT

[[route]]
name = "to-hub"
direction = "inbound"
domains = ["*"]
hops = [ { hop = "sink", cost = 10 } ]

[[route]]
name = "internet"
direction = "outbound"
domains = ["*"]
hops = [ { hop = "sink", cost = 10 } ]
EOF

"$HUBRELAY_BIN" check-config --config "$WORK/hubrelay.toml" >"$WORK/check.log" 2>&1 \
  || die "generated config rejected: $(cat "$WORK/check.log")"
start_sink "$HOP_PORT" "$WORK/relay-sink.log"
"$HUBRELAY_BIN" serve --config "$WORK/hubrelay.toml" >"$WORK/relay.log" 2>&1 &
RELAY_PID=$!
PIDS+=("$RELAY_PID")
wait_port 127.0.0.1 "$IN_PORT" "$RELAY_PID" || die "hubrelay did not start: $(tail -20 "$WORK/relay.log")"

t0=$(now)
run_source "$IN_PORT" "$WORK/relay-source.log" \
  || die "smtp-source (relay) failed: $(tail -5 "$WORK/relay-source.log"); relay log: $(tail -20 "$WORK/relay.log")"
t_accepted=$(now)
wait_count "$WORK/relay-sink.log" "$MESSAGES" "$TIMEOUT" "$SINK_PID" \
  || die "smtp-sink got $(sink_count "$WORK/relay-sink.log") of $MESSAGES messages from hubrelay" \
         "within ${TIMEOUT}s after injection; relay log: $(tail -20 "$WORK/relay.log")"
t1=$(now)
kill -0 "$RELAY_PID" 2>/dev/null || die "hubrelay died during the run: $(tail -20 "$WORK/relay.log")"

printf '%-44s %8ss %8s msg/s\n' "accepted  smtp-source -> hubrelay (250s)" "$(elapsed "$t0" "$t_accepted")" "$(rate "$MESSAGES" "$t0" "$t_accepted")"
printf '%-44s %8ss %8s msg/s\n' "relayed   smtp-source -> hubrelay -> sink" "$(elapsed "$t0" "$t1")" "$(rate "$MESSAGES" "$t0" "$t1")"

kill -TERM "$RELAY_PID"
if wait_exit "$RELAY_PID" 30; then
  wait "$RELAY_PID" && status=0 || status=$?
  echo "hubrelay stopped on SIGTERM, exit status $status"
else
  echo "hubrelay did not stop within 30 s of SIGTERM (killed by cleanup)" >&2
  exit 1
fi
