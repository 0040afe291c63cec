"""bench/harness.py — the pieces every side-by-side measurement is built from.

Owns: the systems under test (hubrelay from a binary, a private Postfix instance), the
smart hosts they forward to (smtp-sink counting messages; bench/body_sink.py also checking
every body), the load (smtp-source, one message per connection or many per session), the
/proc accounting (CPU of a process tree, PSS sampled every 100 ms) and the sizes and
connection modes the knobs are written in. bench.py (the grid of points) and
big_messages.py (the 30 MiB point) measure with these, so both measure the same way.
Never: tunes the system or touches /etc/postfix; every wait is bounded.
"""

from __future__ import annotations

import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence

from relay_config import relay_config

HERE = Path(__file__).resolve().parent
SMTP_SINK = "/usr/sbin/smtp-sink"
SMTP_SOURCE = "/usr/sbin/smtp-source"
PYTHON = "/usr/bin/python3"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PF_ADDR = "127.0.0.3"  # Postfix's smtpd, so it never collides with hubrelay's listeners
KIB, MIB = 1024, 1024 * 1024

# Connection modes: how smtp-source uses its sessions. "reused" (-d: many messages per
# session) is how an Exchange hub talks to its smart host; "per-connection" (one message,
# then QUIT and a new connection) is how the internet's senders mostly arrive.
MODES: Dict[str, List[str]] = {"reused": ["-d"], "per-connection": []}


def log(*args) -> None:
    print("[bench]", *args, file=sys.stderr, flush=True)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_list(name: str, default: str) -> List[str]:
    return [x.strip() for x in os.environ.get(name, default).split(",") if x.strip()]


def parse_size(text: str) -> int:
    """'1024', '10KiB', '1MiB', '30MiB' (also k/K/KB/M/MB, all binary) → octets."""
    m = re.fullmatch(r"\s*(\d+)\s*([kKmM]?)(i?[bB])?\s*", text)
    if not m:
        raise ValueError(f"not a size: {text!r}")
    return int(m.group(1)) * {"": 1, "k": KIB, "m": MIB}[m.group(2).lower()]


def size_label(octets: int) -> str:
    if octets >= MIB and octets % MIB == 0:
        return f"{octets // MIB} MiB"
    if octets >= KIB and octets % KIB == 0:
        return f"{octets // KIB} KiB"
    return f"{octets} B"


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(host: str, port: int, alive: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"process for {host}:{port} died during start-up")
        try:
            socket.create_connection((host, port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{host}:{port} not accepting after {timeout}s")


def stop_proc(proc: subprocess.Popen, wait: float = 20) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# ------------------------------------------------------------------ /proc accounting

def proc_stat(pid: int):
    """(utime+stime, cutime+cstime, ppid) in clock ticks, or None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14 -> index 11.
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]), int(fields[1])


def descendants(root: int) -> List[int]:
    """root and every process whose parent chain reaches it (one /proc scan)."""
    parent: Dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st:
                parent[int(entry)] = st[2]
    out = []
    for pid in parent:
        p, hops = pid, 0
        while p and p != root and hops < 16:
            p, hops = parent.get(p, 0), hops + 1
        if p == root:
            out.append(pid)
    return out


def cpu_ticks(root: int) -> int:
    """CPU of root's process tree so far: live processes + what root reaped (cutime)."""
    total = 0
    for pid in descendants(root):
        st = proc_stat(pid)
        if st:
            total += st[0] + (st[1] if pid == root else 0)
    return total


def pss_kib(root: int) -> int:
    total = 0
    for pid in descendants(root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            pass
    return total


class PeakSampler:
    """Samples the PSS of process trees (summed) every 100 ms in a thread; .peak in KiB."""

    def __init__(self, root: int, *others: int):
        self.roots, self.peak = (root, *others), 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sum(self) -> int:
        return sum(pss_kib(root) for root in self.roots)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sum())
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        self.peak = max(self.peak, self._sum())


# ------------------------------------------------------------------ smart hosts and load

class Sink:
    """A smart host on 127.0.0.1:port; .count() is how many messages it accepted.
    This one is smtp-sink -c (reads its live mesg=N counter)."""

    def __init__(self, work: Path, name: str):
        self.port = free_port("127.0.0.1")
        self.log_path = work / f"sink-{name}.log"
        self.log = open(self.log_path, "wb")
        self.proc = self.start()
        wait_port("127.0.0.1", self.port, lambda: self.proc.poll() is None)

    def start(self) -> subprocess.Popen:
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        return subprocess.Popen([SMTP_SINK, *user, "-c", "-h", "sink.bench",
                                 f"127.0.0.1:{self.port}", "1000"],
                                stdout=self.log, stderr=subprocess.STDOUT)

    def count(self) -> int:
        with open(self.log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 256))
            tail = f.read().replace(b"\r", b"\n").split(b"\n")
        for line in reversed(tail):
            if b"mesg=" in line:
                return int(line.rsplit(b"mesg=", 1)[1].split()[0] or 0)
        return 0

    def wait_count(self, target: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= target:
                return True
            time.sleep(0.01)
        return False

    def stop(self):
        stop_proc(self.proc)
        self.log.close()


class BodySink(Sink):
    """bench/body_sink.py: counts like smtp-sink and records every body's size and
    SHA-256 (one line per message in the log), so byte-exact arrival can be checked."""

    def start(self) -> subprocess.Popen:
        return subprocess.Popen([PYTHON, str(HERE / "body_sink.py"), "--port", str(self.port),
                                 "--log", str(self.log_path)], stderr=subprocess.DEVNULL)

    def bodies(self) -> List[tuple]:
        """(size, sha256 hex) of every message received so far, in arrival order."""
        out = []
        for line in self.log_path.read_text().splitlines():
            size, digest = line.split()
            out.append((int(size), digest))
        return out

    def count(self) -> int:
        return len(self.bodies())


def run_source(host: str, port: int, sessions: int, messages: int, size: int, mode: str,
               timeout: float, log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as out:
        return subprocess.Popen(["timeout", str(int(timeout)), SMTP_SOURCE, *MODES[mode],
                                 "-s", str(sessions), "-m", str(messages), "-l", str(size),
                                 "-f", "a@example.net", "-t", "b@example.com",
                                 f"{host}:{port}"], stdout=out, stderr=subprocess.STDOUT)


# ------------------------------------------------------------------ systems under test

class System:
    name: str
    host: str
    port: int
    root_pid: int
    sink: Sink
    # Processes outside root's tree that are part of this relay's set-up (opendkim for
    # Postfix at the DKIM points): their CPU and memory count as the relay's.
    helper_pids: Sequence[int] = ()

    def alive(self) -> bool:
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError


class FilterUnsupported(RuntimeError):
    """The hubrelay binary refused the [milter] configuration (check-config's words)."""


class Hubrelay(System):
    """The binary under test, generated config (bench/relay_config.py), state under
    work/LABEL-state, one hop: the sink. With `milter`, the inbound listener calls that
    filter; with `dkim` (a [dkim] configuration) it signs; either way the configuration is
    checked first (FilterUnsupported if refused). With `conninfo_file` its queue is in
    that PostgreSQL database (bench/pg_queue.py)."""
    name = "hubrelay"

    def __init__(self, work: Path, binary: str, sink: Sink, label: str = "hubrelay",
                 milter: str = "", dkim: str = "", conninfo_file: str = ""):
        self.sink = sink
        self.host, self.port = "127.0.0.1", free_port("127.0.0.1")
        out_port = free_port("127.0.0.2")
        state = work / f"{label}-state"
        state.mkdir()
        cfg = work / f"{label}.toml"
        cfg.write_text(relay_config(
            hostname="relay.bench", state_dir=state, log_file=work / f"{label}.log",
            in_port=self.port, out_port=out_port, hop_port=self.sink.port,
            retry='"1s", "2s"', connect_timeout="5s", hop_backoff="2s",
            generator="bench/bench.py", milter=milter, dkim=dkim,
            conninfo_file=conninfo_file))
        if milter or dkim:
            check = subprocess.run([binary, "check-config", "--config", str(cfg)],
                                   capture_output=True, text=True, timeout=60)
            if check.returncode != 0:
                sink.stop()
                raise FilterUnsupported((check.stdout + check.stderr).strip())
        self.stderr = open(work / f"{label}.stderr", "wb")
        self.proc = subprocess.Popen([binary, "serve", "--config", str(cfg)],
                                     stdout=self.stderr, stderr=subprocess.STDOUT)
        self.root_pid = self.proc.pid
        try:
            wait_port(self.host, self.port, self.alive)
        except RuntimeError:  # it did not start: nothing else will stop its sink
            self.stop()
            raise

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self):
        stop_proc(self.proc, 30)
        self.sink.stop()


class Postfix(System):
    """A private instance (bench/postfix_instance.sh) under work/LABEL; root is master.
    With `milter`, smtpd calls that filter (smtpd_milters)."""
    name = "postfix"

    def __init__(self, work: Path, sink: Sink, label: str = "postfix", milter: str = ""):
        self.sink = sink
        self.dir = work / label
        self.host, self.port = PF_ADDR, free_port(PF_ADDR)
        env = dict(os.environ, SMTPD_MILTERS=milter)
        subprocess.run([str(HERE / "postfix_instance.sh"), "start", str(self.dir), self.host,
                        str(self.port), str(self.sink.port)], check=True, timeout=60, env=env)
        self.root_pid = int((self.dir / "spool/pid/master.pid").read_text().strip())
        wait_port(self.host, self.port, self.alive)

    def alive(self) -> bool:
        return Path(f"/proc/{self.root_pid}").exists()

    def stop(self):
        subprocess.run([str(HERE / "postfix_instance.sh"), "stop", str(self.dir)], timeout=60)
        self.sink.stop()


def start_system(name: str, work: Path, binary: str, sink: Sink, label: str,
                 milter: str = "", dkim: str = "", postfix_milter: str = "",
                 conninfo_file: str = "") -> System:
    """`milter`: both relays call that filter; `dkim`: hubrelay's own signing configuration,
    `postfix_milter`: the milter that signs for Postfix (the DKIM points); `conninfo_file`:
    hubrelay's queue is in that PostgreSQL database."""
    if name == "hubrelay":
        return Hubrelay(work, binary, sink, label, milter, dkim, conninfo_file)
    if name == "postfix":
        return Postfix(work, sink, label, milter or postfix_milter)
    raise ValueError(f"unknown system {name!r} (hubrelay, postfix)")


# ------------------------------------------------------------------ report header

def machine() -> Dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    src = subprocess.run(["df", "--output=source,fstype", "/tmp"], capture_output=True,
                         text=True).stdout.splitlines()[-1].split()
    dev = os.path.basename(src[0])
    rot = Path(f"/sys/block/{dev}/queue/rotational")
    kind = ("rotational" if rot.read_text().strip() == "1" else "non-rotational") \
        if rot.exists() else "unknown"
    pf = subprocess.run(["postconf", "-d", "-h", "mail_version"], capture_output=True,
                        text=True).stdout.strip()
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "kernel": platform.release(),
            "memory": f"{int(mem) // 1024} MiB",
            # Other work on the machine moves every figure: say how busy it was.
            "load average at start": " ".join(f"{v:.1f}" for v in os.getloadavg()),
            "disk": f"{src[0]} ({src[1]}, {kind}) holds /tmp (queues)",
            "postfix": pf}
