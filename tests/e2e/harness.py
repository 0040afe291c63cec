#!/usr/bin/python3
"""tests/e2e/harness.py — drives the real hubrelay binary against real SMTP sinks.

Owns: free ports, per-test configuration files, the Relay and SinkProcess process
wrappers (start, readiness, SIGTERM/SIGKILL, logs), bounded polling (wait_for),
message builders with unique Message-IDs, a raw-socket SMTP client for dialogue
tests, the byte-exact "only a Received: header was prepended" check, and E2ETestCase
(temp dir per test, cleanup in reverse order, logs printed when a test fails).
Never: sleeps unboundedly, touches the network beyond loopback, or talks to the
relay through anything but SMTP, its command line and its queue.db file.
Errors: helpers raise AssertionError (via the test case) or TimeoutError with a
message naming what was awaited; process start-up failures raise RuntimeError with
the process's log attached.
Environment: HUBRELAY_BIN (path of the binary; required unless `hubrelay` is on PATH),
HUBRELAY_E2E_KEEP=1 keeps every test directory (otherwise only failed tests' are kept).
Standards: RFC 5321 (dialogue, dot-stuffing), RFC 5322 (message format), RFC 3463.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
SOURCE_DIR = HERE.parent.parent
sys.path.insert(0, str(HERE))

from sink import StoredMessage, read_messages  # noqa: E402

PYTHON = "/usr/bin/python3"
SINK_SCRIPT = HERE / "sink.py"
CRLF = b"\r\n"
# Set by CMake for a HUBRELAY_SANITIZE build: AddressSanitizer's quarantine and shadow
# memory add hundreds of MiB, so memory bounds are looser there (the release run keeps
# the tight ones).
SANITIZED = os.environ.get("HUBRELAY_SANITIZED") == "1"

INBOUND_HOST = "127.0.0.1"
OUTBOUND_HOST = "127.0.0.2"
RELAY_HOSTNAME = "relay.test"
ACCEPTED_DOMAIN = "example.com"


# --------------------------------------------------------------------------- basics

def relay_binary(explicit: Optional[str] = None) -> str:
    path = explicit or os.environ.get("HUBRELAY_BIN") or shutil.which("hubrelay")
    if not path:
        raise RuntimeError("set HUBRELAY_BIN to the hubrelay binary")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"HUBRELAY_BIN={path} is not an executable file")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free on `host` a moment ago (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(predicate: Callable[[], object], timeout: float, what: str,
             interval: float = 0.1):
    """Polls predicate until it returns a truthy value (returned) or `timeout` s pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def settle(seconds: float) -> None:
    """Gives the system a bounded chance to do something it must NOT do (extra deliveries)."""
    time.sleep(seconds)


# --------------------------------------------------------------------------- config

@dataclass
class Hop:
    name: str
    port: int
    host: str = "127.0.0.1"
    cost: int = 10
    weight: int = 1
    # Extra `key = value` lines for the [hop.NAME] table (routing e2e: tls, auth, type).
    extra: List[str] = field(default_factory=list)


def toml_strings(items: Iterable[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def hop_toml(hop: Hop) -> List[str]:
    """The [hop.NAME] table for `hop`, one line each."""
    return [f"[hop.{hop.name}]", f'host = "{hop.host}"', f"port = {hop.port}", *hop.extra]


def route_toml(name: str, direction: str, domains: Sequence[str], hops: Sequence[Hop],
               extra: Sequence[str] = ()) -> List[str]:
    """A [[route]] table through `hops` (their cost and weight), one line each."""
    return (["[[route]]", f'name = "{name}"', f'direction = "{direction}"',
             f"domains = {toml_strings(domains)}", *extra, "hops = ["]
            + [f'  {{ hop = "{h.name}", cost = {h.cost}, weight = {h.weight} }},' for h in hops]
            + ["]"])


@dataclass
class RelayConfig:
    """The per-test configuration (see conf/hubrelay.example.toml for every key)."""
    state_dir: Path
    inbound_port: int
    outbound_port: int
    inbound_hops: List[Hop]
    outbound_hops: List[Hop]
    inbound_bind: str = INBOUND_HOST
    outbound_bind: str = OUTBOUND_HOST
    outbound_trusted: List[str] = field(default_factory=lambda: ["127.0.0.0/8"])
    accepted_domains: List[str] = field(default_factory=lambda: [ACCEPTED_DOMAIN])
    log_level: str = "debug"
    retry_schedule: List[str] = field(default_factory=lambda: ["1s", "2s"])
    hop_backoff: str = "2s"
    connect_timeout: str = "2s"
    max_recipients: int = 100
    # Routing e2e: extra lines for the outbound/inbound [[route]] tables (balance,
    # when_all_down), whole extra sections appended at the end ([dns], [bounce]), and
    # more routes (TOML text) placed before the catch-all routes.
    outbound_route_extra: List[str] = field(default_factory=list)
    inbound_route_extra: List[str] = field(default_factory=list)
    extra_routes: str = ""
    extra_sections: str = ""
    # Extra TOML lines for the inbound [[listener]] (tls, bare_line_endings, ...).
    inbound_extra: List[str] = field(default_factory=list)
    # Extra TOML lines for [policy.inbound] (auth_users, ...).
    inbound_policy_extra: List[str] = field(default_factory=list)
    extra_toml: str = ""  # appended verbatim (e.g. an [admin] table)
    # Extra TOML lines for the outbound [[listener]] and [policy.outbound].
    outbound_extra: List[str] = field(default_factory=list)
    outbound_policy_extra: List[str] = field(default_factory=list)

    def render(self) -> str:
        strings = toml_strings
        lines = [
            "# generated by tests/e2e/harness.py",
            "[relay]",
            f'hostname = "{RELAY_HOSTNAME}"',
            f'state_dir = "{self.state_dir}"',
            f"accepted_domains = {strings(self.accepted_domains)}",
            "",
            "[log]",
            f'level = "{self.log_level}"',
            "",
            "[queue]",
            'lifetime = "1h"',
            f"retry_schedule = {strings(self.retry_schedule)}",
            "",
            "[delivery]",
            f'connect_timeout = "{self.connect_timeout}"',
            'command_timeout = "30s"',
            'data_timeout = "30s"',
            f'hop_backoff = "{self.hop_backoff}"',
            'idle_timeout = "2s"',
            "",
            "[[listener]]",
            'name = "inbound"',
            'direction = "inbound"',
            f'bind = ["{self.inbound_bind}:{self.inbound_port}"]',
            'policy = "inbound"',
            f"max_recipients = {self.max_recipients}",
            *self.inbound_extra,
            "",
            "[[listener]]",
            'name = "outbound"',
            'direction = "outbound"',
            f'bind = ["{self.outbound_bind}:{self.outbound_port}"]',
            'policy = "outbound"',
            f"max_recipients = {self.max_recipients}",
            *self.outbound_extra,
            "",
            "[policy.inbound]",
            "trusted_networks = []",
            "require_trusted = false",
            *self.inbound_policy_extra,
            "",
            "[policy.outbound]",
            f"trusted_networks = {strings(self.outbound_trusted)}",
            "require_trusted = true",
            *self.outbound_policy_extra,
            "",
        ]
        seen = set()
        for hop in self.inbound_hops + self.outbound_hops:
            if hop.name in seen:
                continue
            seen.add(hop.name)
            lines += [*hop_toml(hop), ""]
        if self.extra_routes:
            lines += [self.extra_routes, ""]
        for name, direction, hops, extra in (
                ("to-hub", "inbound", self.inbound_hops, self.inbound_route_extra),
                ("internet", "outbound", self.outbound_hops, self.outbound_route_extra)):
            lines += [*route_toml(name, direction, ["*"], hops, extra), ""]
        if self.extra_sections:
            lines += [self.extra_sections, ""]
        if self.extra_toml:
            lines += [self.extra_toml, ""]
        return "\n".join(lines)

    def write(self, path: Path) -> Path:
        path.write_text(self.render())
        return path


# --------------------------------------------------------------------------- processes

def _tail(path: Path, lines: int = 150) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    cut = text[-lines:]
    head = f"--- {path} (last {len(cut)} of {len(text)} lines) ---"
    return "\n".join([head, *cut, "--- end ---"])


def _stop_process(proc: subprocess.Popen, term_wait: float) -> Tuple[int, bool]:
    """SIGTERM, bounded wait, then SIGKILL. Returns (exit status, needed SIGKILL)."""
    if proc.poll() is not None:
        return proc.returncode, False
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=term_wait), False
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=10), True


def spawn_until_ready(cmd: Sequence[str], log_path: Path, timeout: float
                      ) -> Tuple[subprocess.Popen, bytes]:
    """Starts `cmd` (stderr appended to log_path) and returns (process, its first stdout
    line, b"" if none came within `timeout` s or it exited first). select() bounds the
    wait even if the process hangs before printing its READY line."""
    log = open(log_path, "ab")
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=log,
                            stdin=subprocess.DEVNULL)
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            return proc, proc.stdout.readline()
    return proc, b""


class SinkProcess:
    """tests/e2e/sink.py as a subprocess on 127.0.0.1:port, killable like a real host."""

    def __init__(self, out_dir: Path, port: int, log_path: Path, host: str = "127.0.0.1",
                 modes: Sequence[str] = (), extra_args: Sequence[str] = ()):
        self.out_dir, self.port, self.host = Path(out_dir), port, host
        self.log_path, self.modes = Path(log_path), list(modes)
        self.extra_args = list(extra_args)  # e.g. --tls-cert/--tls-key/--auth (sink.py)
        self.proc: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 15.0) -> "SinkProcess":
        cmd = [PYTHON, str(SINK_SCRIPT), "--host", self.host, "--port", str(self.port),
               "--out", str(self.out_dir)]
        for m in self.modes:
            cmd += ["--mode", m]
        cmd += self.extra_args
        self.proc, line = spawn_until_ready(cmd, self.log_path, timeout)
        if not line.startswith(b"READY"):
            self.kill()
            raise RuntimeError(f"sink on port {self.port} did not start\n{_tail(self.log_path)}")
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc, term_wait=5)
            self.proc.stdout.close()

    def kill(self) -> None:
        """SIGKILL: the host vanishes mid-whatever, like a crashed smart host."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def messages(self) -> List[StoredMessage]:
        return read_messages(self.out_dir)


class Relay:
    """The hubrelay binary running `serve --config FILE`, stderr captured to log_path."""

    def __init__(self, config_path: Path, log_path: Path, listen: Sequence[Tuple[str, int]],
                 binary: Optional[str] = None):
        self.binary = relay_binary(binary)
        self.config_path, self.log_path = Path(config_path), Path(log_path)
        self.listen = list(listen)
        self.proc: Optional[subprocess.Popen] = None
        self.exit_status: Optional[int] = None
        self.needed_sigkill = False

    def start(self, ready_timeout: float = 15.0) -> "Relay":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "serve", "--config", str(self.config_path)],
                                     stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + ready_timeout
        pending = list(self.listen)
        while pending:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hubrelay exited with status {self.proc.returncode} "
                                   f"during start-up\n{_tail(self.log_path)}")
            if time.monotonic() >= deadline:
                self.kill()
                raise RuntimeError(f"hubrelay listeners {pending} not accepting after "
                                   f"{ready_timeout:g}s\n{_tail(self.log_path)}")
            if port_accepts(*pending[0]):
                pending.pop(0)
            else:
                time.sleep(0.1)
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, term_wait: float = 15.0) -> Optional[int]:
        """Graceful stop (SIGTERM); SIGKILL if it does not exit in term_wait seconds."""
        if self.proc is None:
            return None
        if self.exit_status is None:
            self.exit_status, self.needed_sigkill = _stop_process(self.proc, term_wait)
        return self.exit_status

    def kill(self) -> None:
        """kill -9: the crash the durable queue must survive."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc is not None and self.exit_status is None:
            self.exit_status = self.proc.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 150) -> str:
        return _tail(self.log_path, lines)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def run_cli(args: Sequence[str], timeout: float = 30.0,
            binary: Optional[str] = None) -> subprocess.CompletedProcess:
    """Runs `hubrelay ARGS...` to completion (bounded), capturing text output."""
    return subprocess.run([relay_binary(binary), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


# --------------------------------------------------------------------------- messages

def new_message_id() -> str:
    return f"<{uuid.uuid4().hex}@e2e.test>"


def build_message(*, sender: str = "alice@example.net", to: Sequence[str] = ("bob@example.com",),
                  subject: str = "e2e test", body: bytes = b"Hello.\r\n",
                  extra_headers: Sequence[bytes] = (), message_id: Optional[str] = None
                  ) -> Tuple[str, bytes]:
    """An RFC 5322 message with CRLF line endings, ending in CRLF. Returns (Message-ID, bytes).

    `body` is used verbatim: callers that want CRLF must give CRLF.
    """
    mid = message_id or new_message_id()
    headers = [
        b"From: " + sender.encode(),
        b"To: " + ", ".join(to).encode(),
        b"Subject: " + subject.encode(),
        b"Date: Mon, 06 Jan 2025 10:00:00 +0000",
        b"Message-ID: " + mid.encode(),
        *extra_headers,
    ]
    data = CRLF.join(headers) + CRLF + CRLF + body
    if not data.endswith(CRLF):
        data += CRLF
    return mid, data


_MID_RE = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)


def message_id_of(raw: bytes) -> Optional[str]:
    header_end = raw.find(b"\r\n\r\n")
    head = raw if header_end < 0 else raw[:header_end + 2]
    m = _MID_RE.search(head)
    return m.group(1).decode(errors="replace") if m else None


def with_message_id(messages: Iterable[StoredMessage], mid: str) -> List[StoredMessage]:
    return [m for m in messages if message_id_of(m.raw) == mid]


def received_prefix(sent: bytes, delivered: bytes) -> Tuple[Optional[bytes], str]:
    """Splits `delivered` into (Received header, "") if it is exactly one Received:
    header (possibly folded, CRLF line endings) followed by `sent` byte for byte;
    otherwise (None, reason)."""
    if not delivered.endswith(sent):
        return None, _first_difference(sent, delivered)
    prefix = delivered[:len(delivered) - len(sent)]
    if not prefix.startswith(b"Received: from "):
        return None, f"prepended text does not start with 'Received: from ': {prefix[:120]!r}"
    if not prefix.endswith(CRLF):
        return None, f"prepended text does not end with CRLF: {prefix[-60:]!r}"
    lines = prefix[:-2].split(CRLF)
    for line in lines:
        if b"\r" in line or b"\n" in line:
            return None, f"bare CR/LF inside the Received header: {line!r}"
    for line in lines[1:]:
        if not line[:1] in (b" ", b"\t"):
            return None, (f"more than one header prepended (line {line[:60]!r} is not a "
                          f"continuation): {prefix!r}")
    return prefix, ""


def _first_difference(sent: bytes, delivered: bytes) -> str:
    # Compare against the delivered bytes after the first header block line that
    # could be ours, to point at the first differing byte for the report.
    start = delivered.find(sent[:40]) if len(sent) >= 40 else -1
    base = delivered[start:] if start >= 0 else delivered
    n = min(len(sent), len(base))
    i = next((k for k in range(n) if sent[k] != base[k]), n)
    return (f"delivered message does not end with the sent bytes (sent {len(sent)} bytes, "
            f"delivered {len(delivered)}); first difference at sent offset {i}: "
            f"sent {sent[max(0, i - 30):i + 30]!r} vs delivered {base[max(0, i - 30):i + 30]!r}")


def unfold(header: bytes) -> bytes:
    return re.sub(rb"\r\n[ \t]+", b" ", header)


# --------------------------------------------------------------------------- SMTP clients

@dataclass
class Reply:
    code: int
    lines: List[str]

    @property
    def text(self) -> str:
        return "\n".join(f"{self.code}{'-' if i + 1 < len(self.lines) else ' '}{l}"
                         for i, l in enumerate(self.lines))

    @property
    def enhanced(self) -> Optional[str]:
        m = re.match(r"([245]\.\d{1,3}\.\d{1,3})\b", self.lines[0] if self.lines else "")
        return m.group(1) if m else None


class RawSmtp:
    """A byte-level SMTP client: send exactly what the test says, read replies strictly."""

    def __init__(self, host: str, port: int, source: Optional[str] = None,
                 timeout: float = 15.0):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _line(self) -> Optional[bytes]:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
            if len(self.buf) > 1 << 20:
                raise AssertionError("server sent more than 1 MiB without CRLF")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def reply(self) -> Optional[Reply]:
        """The next complete reply, or None if the server closed the connection."""
        code, lines = None, []
        while True:
            line = self._line()
            if line is None:
                if lines:
                    raise AssertionError(f"connection closed inside a multi-line reply {lines}")
                return None
            m = re.match(rb"^(\d{3})([ -])(.*)$", line)
            if not m:
                raise AssertionError(f"malformed reply line {line!r}")
            if code is not None and int(m.group(1)) != code:
                raise AssertionError(f"reply code changed inside a multi-line reply: {line!r}")
            code = int(m.group(1))
            lines.append(m.group(3).decode(errors="replace"))
            if m.group(2) == b" ":
                return Reply(code, lines)

    def command(self, line: str) -> Optional[Reply]:
        self.send(line.encode() + CRLF)
        return self.reply()

    def up_to_data(self, sender: str = "alice@example.net",
                   rcpts: Sequence[str] = ("bob@example.com",)) -> List[Optional[Reply]]:
        """Greeting, EHLO, MAIL and RCPT, replies read but not judged (for tests whose point
        comes after them; E2ETestCase.assert_transaction_open judges them). Returns them."""
        return [self.reply(), self.command("EHLO client.test"), self.command(f"MAIL FROM:<{sender}>"),
                *(self.command(f"RCPT TO:<{r}>") for r in rcpts)]

    def replies_until_close(self, limit: int = 50) -> List[Reply]:
        out = []
        for _ in range(limit):
            r = self.reply()
            if r is None:
                break
            out.append(r)
        return out

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def smtp_connect(host: str, port: int, source: Optional[str] = None,
                 timeout: float = 30.0) -> smtplib.SMTP:
    s = smtplib.SMTP(host, port, local_hostname="client.test", timeout=timeout,
                     source_address=(source, 0) if source else None)
    code, text = s.ehlo()
    if code != 250:
        s.close()
        raise AssertionError(f"EHLO to {host}:{port} answered {code} {text!r}")
    return s


def smtp_transaction(s: smtplib.SMTP, sender: str, rcpts: Sequence[str], msg: bytes,
                     mail_options: Sequence[str] = ()) -> Tuple[int, str]:
    """MAIL/RCPT.../DATA on an open session; every step must succeed. Returns the reply
    to the final dot (code, text). smtplib dot-stuffs `msg` (CRLF-delimited lines)."""
    code, text = s.mail(sender, list(mail_options))
    if code != 250:
        raise AssertionError(f"MAIL FROM:<{sender}> {' '.join(mail_options)} answered "
                             f"{code} {text!r}")
    for r in rcpts:
        code, text = s.rcpt(r)
        if code not in (250, 251):
            raise AssertionError(f"RCPT TO:<{r}> answered {code} {text!r}")
    code, text = s.data(msg)
    if code != 250:
        raise AssertionError(f"end of DATA answered {code} {text!r}")
    return code, text.decode(errors="replace")


def send_batch(host: str, port: int, sender: str, rcpts: Sequence[str], tag: str) -> List[str]:
    """One message per recipient (subject "<tag> <i>") over one session; their Message-IDs."""
    mids = []
    with smtp_connect(host, port) as s:
        for i, rcpt in enumerate(rcpts):
            mid, msg = build_message(sender=sender, to=[rcpt], subject=f"{tag} {i}")
            smtp_transaction(s, sender, [rcpt], msg)
            mids.append(mid)
    return mids


def send_mail(host: str, port: int, sender: str, rcpts: Sequence[str], msg: bytes,
              mail_options: Sequence[str] = (), source: Optional[str] = None) -> str:
    """One message in its own session. Returns the text of the 250 after the dot."""
    with smtp_connect(host, port, source) as s:
        return smtp_transaction(s, sender, rcpts, msg, mail_options)[1]


def stuff(data: bytes) -> bytes:
    """RFC 5321 §4.5.2 transparency: a leading '.' on a CRLF-delimited line is doubled."""
    out = b"." + data if data.startswith(b".") else data
    return out.replace(b"\r\n.", b"\r\n..")


def unstuff(data: bytes) -> bytes:
    """Inverse of stuff(): what a strict RFC 5321 server stores (lines end only at CRLF)."""
    out = data[1:] if data.startswith(b".") else data
    return out.replace(b"\r\n.", b"\r\n")


# --------------------------------------------------------------------------- queue.db


def parse_metrics(text: str) -> Dict[str, float]:
    """{'name{labels}': value} for every sample line of a Prometheus text page."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        out[key] = float(value)
    return out


def fetch_metrics(admin_port: int) -> Dict[str, float]:
    """The relay's /metrics from its admin endpoint on 127.0.0.1 (no token)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=10) as r:
        return parse_metrics(r.read().decode())

def queue_message_rows(state_dir: Path) -> Optional[int]:
    """Rows in the queue's `messages` table, or None when there is no database/table.

    Read-only over a normal connection (WAL needs the -shm file; a reader is safe next
    to the running writer)."""
    db = Path(state_dir) / "queue.db"
    if not db.exists():
        return None
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "messages" not in tables:
            return None
        return con.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    finally:
        con.close()


# --------------------------------------------------------------------------- test case

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer")

class E2ETestCase(unittest.TestCase):
    """A temp dir per test; sinks and relays stopped in reverse order; on failure the
    directory is kept and every process log's tail is printed."""

    maxDiff = 4000

    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix=f"hubrelay-e2e-{self._testMethodName}-"))
        self._logs: List[Path] = []
        self._relay_count = 0
        self.addCleanup(self._report_and_clean)

    # -- failure detection (unittest has no public API for it) --
    def _failed(self) -> bool:
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        if hasattr(outcome, "success") and not outcome.success:
            return True
        result = getattr(outcome, "result", None)
        for test, _ in (getattr(result, "failures", []) + getattr(result, "errors", [])):
            if test is self or getattr(test, "test_case", None) is self:
                return True
        return False

    def _report_and_clean(self):
        keep = os.environ.get("HUBRELAY_E2E_KEEP") == "1"
        if self._failed():
            for path in self._logs:
                print("\n" + _tail(path), file=sys.stderr)
            print(f"\n[e2e] test directory kept: {self.dir}", file=sys.stderr)
            return
        if keep:
            print(f"\n[e2e] test directory kept: {self.dir}", file=sys.stderr)
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- building blocks --
    def start_sink(self, name: str, port: Optional[int] = None,
                   modes: Sequence[str] = (), extra_args: Sequence[str] = ()) -> SinkProcess:
        port = port or free_port("127.0.0.1")
        log = self.dir / f"sink-{name}.log"
        self._logs.append(log)
        sink = SinkProcess(self.dir / f"sink-{name}", port, log, modes=modes,
                           extra_args=extra_args)
        sink.start()
        self.addCleanup(sink.stop)
        return sink

    def make_config(self, inbound_hops: List[Hop], outbound_hops: List[Hop],
                    **overrides) -> Tuple[RelayConfig, Path]:
        state = self.dir / "state"
        state.mkdir(exist_ok=True)
        cfg = RelayConfig(state_dir=state,
                          inbound_port=free_port(INBOUND_HOST),
                          outbound_port=free_port(OUTBOUND_HOST),
                          inbound_hops=inbound_hops, outbound_hops=outbound_hops,
                          **overrides)
        path = cfg.write(self.dir / "hubrelay.toml")
        return cfg, path

    def start_relay(self, cfg: RelayConfig, config_path: Path) -> Relay:
        self._relay_count += 1
        log = self.dir / f"relay-{self._relay_count}.log"
        self._logs.append(log)
        relay = Relay(config_path, log,
                      [(cfg.inbound_bind, cfg.inbound_port),
                       (cfg.outbound_bind, cfg.outbound_port)])
        self.addCleanup(self._check_sanitizers, relay)
        self.addCleanup(relay.stop)
        relay.start()
        return relay

    def _check_sanitizers(self, relay: "Relay") -> None:
        """With an ASan/UBSan build, a report in the relay's log fails the test even when
        the SMTP behaviour looked right (runs after the relay was stopped)."""
        found = [line for line in relay.log_text().splitlines()
                 if any(marker in line for marker in SANITIZER_MARKERS)]
        if found:
            raise AssertionError(f"sanitizer report in {relay.log_path}:\n" + "\n".join(found[:10]))

    def relay_with_one_sink(self, **overrides):
        """The common set-up: one sink behind both routes. Returns (cfg, relay, sink)."""
        sink = self.start_sink("hub")
        cfg, path = self.make_config([Hop("hub", sink.port)], [Hop("smarthost", sink.port)],
                                     **overrides)
        relay = self.start_relay(cfg, path)
        return cfg, relay, sink

    # -- assertions --
    def assert_transaction_open(self, c: RawSmtp, sender: str = "alice@example.net",
                                rcpts: Sequence[str] = ("bob@example.com",),
                                mail_params: str = "") -> None:
        """MAIL (250) and every RCPT (250) on a RawSmtp session that has said EHLO."""
        self.assertEqual(c.command(f"MAIL FROM:<{sender}>{mail_params}").code, 250)
        for rcpt in rcpts:
            self.assertEqual(c.command(f"RCPT TO:<{rcpt}>").code, 250)

    def assert_data_accepted(self, c: RawSmtp, msg: bytes) -> None:
        """DATA (354), then the dot-stuffed message and the final dot (250)."""
        self.assertEqual(c.command("DATA").code, 354)
        c.send(stuff(msg) + b".\r\n")
        self.assertEqual(c.reply().code, 250)

    def wait_for_message(self, sink, mid: str, timeout: float = 20.0) -> StoredMessage:
        found = wait_for(lambda: with_message_id(sink.messages(), mid), timeout,
                         f"message {mid} at sink port {sink.port}")
        return found[0]

    def assert_received_prepended(self, sent: bytes, delivered: bytes) -> bytes:
        header, why = received_prefix(sent, delivered)
        if header is None:
            self.fail(f"delivered message is not the sent one with one Received: header "
                      f"prepended: {why}")
        self.assertIn(b"by " + RELAY_HOSTNAME.encode(), unfold(header),
                      f"Received header does not name this relay: {header!r}")
        return header
