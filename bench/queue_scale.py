#!/usr/bin/python3
"""bench/queue_scale.py — a large backlog: bounded memory, fast restart, fair drain.

Owns: one scenario, measured and checked.
  1. hubrelay starts with its only hop down (no listener on the hop port), retry schedule
     and hop_backoff RETRY (default 10m), so the queued mail is parked and stays put while
     it is injected (a short backoff would add the early short parking waits).
  2. smtp-source queues N small messages (N env, default 1,000,000; the ctest variant
     uses 20,000), 20 sessions reusing connections; reports the injection rate, the
     relay's RSS now and its peak (VmHWM) and the size of queue.db.
  3. SIGTERM, then a fresh start on the same state: reports stop time and the time until
     the inbound listener accepts ("ready", target < 10 s). Start-up makes every pending
     recipient due at once. The hop (smtp-sink -c) comes up while the relay is down.
  4. Reports the drain rate (messages / s until the sink
     counted N). One second into the drain a fresh message (unique recipient) is sent;
     its delivery is found in the relay's info log ("to=<fresh-...> ... status=delivered")
     and its latency from 250 to delivery is reported: new mail must not wait for the
     whole backlog.
Exit status 0 only if every check holds: exact count at the sink, RSS peak under
RSS_LIMIT_MIB (256), ready under READY_LIMIT (10 s), the fresh message delivered before
the backlog finished draining. Prints a markdown block (also to OUT if set).
`queue list/show/summary` timings are measured by hand at 1,000,000 (docs/performance.md).
Never: touches anything outside its temp dir; every wait is bounded by TIMEOUT.
Environment: HUBRELAY_BIN, N, TIMEOUT (1800), RETRY ("10m"), RSS_LIMIT_MIB (256), OUT,
KEEP=1.
"""

import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from relay_config import relay_config

SMTP_SINK = "/usr/sbin/smtp-sink"
SMTP_SOURCE = "/usr/sbin/smtp-source"
N = int(os.environ.get("N", "1000000"))
TIMEOUT = float(os.environ.get("TIMEOUT", "1800"))
RETRY = os.environ.get("RETRY", "10m")
RSS_LIMIT_MIB = int(os.environ.get("RSS_LIMIT_MIB", "256"))
READY_LIMIT = 10.0


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def accepts(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), 0.2).close()
        return True
    except OSError:
        return False


def status_kib(pid, key):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def wait_until(pred, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(interval)
    raise TimeoutError(f"queue_scale: timed out after {timeout:g}s waiting for {what}")


class Sink:
    def __init__(self, port, log_path):
        self.log_path = log_path
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.out = open(log_path, "wb")
        self.proc = subprocess.Popen([SMTP_SINK, *user, "-c", "-h", "sink.scale",
                                      f"127.0.0.1:{port}", "1000"], stdout=self.out,
                                     stderr=subprocess.STDOUT)

    def count(self):
        with open(self.log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 256))
            for line in reversed(f.read().replace(b"\r", b"\n").split(b"\n")):
                if b"mesg=" in line:
                    return int(line.rsplit(b"mesg=", 1)[1].split()[0] or 0)
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.out.close()


def main():
    binary = os.environ.get("HUBRELAY_BIN") or (sys.argv[1] if len(sys.argv) > 1 else "")
    if not os.access(binary, os.X_OK):
        print("queue_scale: set HUBRELAY_BIN", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="hubrelay-qscale-"))
    in_port, out_port, hop_port = free_port("127.0.0.1"), free_port("127.0.0.2"), \
        free_port("127.0.0.1")
    state = work / "state"
    state.mkdir()
    relay_log = work / "relay.log"
    cfg = work / "hubrelay.toml"
    cfg.write_text(relay_config(
        hostname="relay.scale", state_dir=state, log_file=relay_log,
        in_port=in_port, out_port=out_port, hop_port=hop_port,
        retry=f'"{RETRY}"', connect_timeout="2s", hop_backoff=RETRY,
        generator="bench/queue_scale.py"))
    procs = []
    sink = None
    results, ok = [], True

    def start_relay():
        out = open(work / "relay.stderr", "ab")
        p = subprocess.Popen([binary, "serve", "--config", str(cfg)], stdout=out,
                             stderr=subprocess.STDOUT)
        out.close()
        procs.append(p)
        return p

    try:
        relay = start_relay()
        wait_until(lambda: accepts(in_port), 30, "the relay's first start")
        t0 = time.monotonic()
        src = subprocess.run(["timeout", str(int(TIMEOUT)), SMTP_SOURCE, "-d", "-s", "20",
                              "-m", str(N), "-l", "512", "-f", "a@example.net",
                              "-t", "b@example.com", f"127.0.0.1:{in_port}"],
                             capture_output=True, text=True)
        t_inj = time.monotonic() - t0
        if src.returncode != 0:
            raise RuntimeError(f"smtp-source failed: {src.stdout[-300:]} {src.stderr[-300:]}")
        rss, hwm = status_kib(relay.pid, "VmRSS"), status_kib(relay.pid, "VmHWM")
        db = sum(f.stat().st_size for f in state.glob("queue.db*"))
        results.append(f"- queued {N} messages of 512 bytes with the hop down in {t_inj:.1f} s "
                       f"({N / t_inj:.0f} msg/s); relay RSS now {rss / 1024:.1f} MiB, peak "
                       f"(VmHWM) {hwm / 1024:.1f} MiB (target < {RSS_LIMIT_MIB} MiB); queue.db "
                       f"+ WAL {db / 1048576:.1f} MiB")
        ok &= hwm < RSS_LIMIT_MIB * 1024

        t0 = time.monotonic()
        relay.send_signal(signal.SIGTERM)
        relay.wait(120)
        t_stop = time.monotonic() - t0
        # The hop returns while the relay is down, so the restart finds it up (a relay
        # that found it down would back the hop off, which is a different measurement).
        sink = Sink(hop_port, work / "sink.log")
        wait_until(lambda: accepts(hop_port), 15, "smtp-sink")
        log_offset = relay_log.stat().st_size
        t0 = time.monotonic()
        relay = start_relay()
        wait_until(lambda: accepts(in_port), 120, "the relay's restart", interval=0.01)
        t_ready = time.monotonic() - t0
        results.append(f"- restart with {N} queued: SIGTERM stop {t_stop:.2f} s, ready to "
                       f"accept after {t_ready:.2f} s (target < {READY_LIMIT:g} s)")
        ok &= t_ready < READY_LIMIT

        time.sleep(1.0)
        fresh = f"fresh-{uuid.uuid4().hex[:12]}@example.com"
        with smtplib.SMTP("127.0.0.1", in_port, timeout=60) as s:
            s.sendmail("a@example.net", [fresh], b"Subject: fresh during the drain\r\n\r\nhi\r\n")
        t_fresh = time.monotonic()
        fresh_latency, needle = None, f"to=<{fresh}>".encode()
        with open(relay_log, "rb") as f:
            f.seek(log_offset)
            deadline = time.monotonic() + TIMEOUT
            pending = b""
            while time.monotonic() < deadline:
                chunk = f.read(1 << 20)
                if chunk:
                    pending += chunk
                    lines = pending.split(b"\n")
                    pending = lines.pop()
                    if fresh_latency is None and any(needle in l and b"status=delivered" in l
                                                     for l in lines):
                        fresh_latency = time.monotonic() - t_fresh
                        fresh_backlog_left = N + 1 - sink.count()
                if sink.count() >= N + 1 and fresh_latency is not None:
                    break
                if not chunk:
                    time.sleep(0.05)
        t_drain = time.monotonic() - t0
        got = sink.count()
        results.append(f"- drain after the hop returned: {got} of {N + 1} delivered in "
                       f"{t_drain:.1f} s ({got / t_drain:.0f} msg/s)")
        if fresh_latency is None:
            results.append("- fresh message sent 1 s into the drain: NOT delivered")
            ok = False
        else:
            results.append(f"- fresh message sent 1 s into the drain: delivered "
                           f"{fresh_latency:.2f} s after its 250, with ~{fresh_backlog_left} "
                           f"backlog messages still undelivered at that moment")
            ok &= fresh_backlog_left > 0 or t_drain < 5
        ok &= got == N + 1
        results.append("- `queue list`/`queue show`/`queue summary` timings: see "
                       "docs/performance.md (measured by hand at 1,000,000)")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
        if sink:
            sink.stop()
        if os.environ.get("KEEP") == "1":
            print(f"queue_scale: kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    text = f"### Queue at scale (N = {N})\n\n" + "\n".join(results) + \
        f"\n\nAll checks {'hold' if ok else 'DO NOT hold'}.\n"
    print(text)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"]).write_text(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
