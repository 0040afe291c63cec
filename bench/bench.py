#!/usr/bin/python3
"""bench/bench.py — hubrelay and a private Postfix side by side on the same load.

Owns: the benchmark method. Postfix's smtp-source sends to the relay under
test, which forwards everything to Postfix's smtp-sink (the smart host). For every point
(sessions x message size) it alternates hubrelay and Postfix runs, RUNS times each, and
also measures the harness ceiling (smtp-source straight into smtp-sink). Per run:
  end-to-end msg/s   load start -> the sink's counter reaches the sent count
  accept msg/s       load start -> smtp-source exits (every message got its 250)
  CPU ms/msg         utime+stime of the relay's processes over the run, /proc/PID/stat
                     (Postfix: master's own + cutime/cstime of reaped children + every
                     live child, so short-lived smtpd/cleanup/smtp processes count)
  peak PSS           sum of Pss over the relay's processes, /proc/PID/smaps_rollup,
                     sampled every 100 ms during the run
  sink check         the sink counted exactly the sent count (no loss, no duplicate)
Writes bench/results/latest.md (markdown) and prints the same table.
Never: tunes the system or touches /etc/postfix (bench/postfix_instance.sh keeps the
Postfix instance under the run's temp dir); every wait is bounded by TIMEOUT.
Environment: HUBRELAY_BIN, RUNS (3), MESSAGES (3000 per run), MESSAGES_1 (1000 for one
session), SESSIONS ("1,10,50"), SIZES ("1024,10240,102400"), TIMEOUT (300 s),
SOURCE_FLAGS (smtp-source flags, default "-d": many messages per session, as Exchange
hubs do with a smart host; "" for one message per connection), SYSTEMS
("hubrelay,postfix"), LATENCY_MESSAGES (per session for the accept-latency client, 40),
OUT (bench/results/latest.md), KEEP=1 keeps the temp dir.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from relay_config import relay_config

HERE = Path(__file__).resolve().parent
SMTP_SINK = "/usr/sbin/smtp-sink"
SMTP_SOURCE = "/usr/sbin/smtp-source"
PYTHON = "/usr/bin/python3"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PF_ADDR = "127.0.0.3"  # Postfix's smtpd, so it never collides with hubrelay's listeners


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_list(name: str, default: str) -> List[str]:
    return [x.strip() for x in os.environ.get(name, default).split(",") if x.strip()]


RUNS = env_int("RUNS", 3)
MESSAGES = env_int("MESSAGES", 3000)
MESSAGES_1 = env_int("MESSAGES_1", 1000)
SESSIONS = [int(x) for x in env_list("SESSIONS", "1,10,50")]
SIZES = [int(x) for x in env_list("SIZES", "1024,10240,102400")]
TIMEOUT = env_int("TIMEOUT", 300)
SOURCE_FLAGS = os.environ.get("SOURCE_FLAGS", "-d").split()  # -d: reuse sessions, like a smart-host client
SYSTEMS = env_list("SYSTEMS", "hubrelay,postfix")
LATENCY_MESSAGES = env_int("LATENCY_MESSAGES", 40)


def log(*args) -> None:
    print("[bench]", *args, file=sys.stderr, flush=True)


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
    """Samples the PSS of a process tree every 100 ms in a thread; .peak in KiB."""

    def __init__(self, root: int):
        self.root, self.peak = root, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, pss_kib(self.root))
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        self.peak = max(self.peak, pss_kib(self.root))


# ------------------------------------------------------------------ sink and source

class Sink:
    """smtp-sink -c on 127.0.0.1:port; .count() reads its live mesg=N counter."""

    def __init__(self, work: Path, name: str):
        self.port = free_port("127.0.0.1")
        self.log_path = work / f"sink-{name}.log"
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([SMTP_SINK, *user, "-c", "-h", "sink.bench",
                                      f"127.0.0.1:{self.port}", "1000"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_port("127.0.0.1", self.port, lambda: self.proc.poll() is None)

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


def run_source(host: str, port: int, sessions: int, messages: int, size: int,
               log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as out:
        return subprocess.Popen(["timeout", str(TIMEOUT), SMTP_SOURCE, *SOURCE_FLAGS,
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

    def stop(self):
        raise NotImplementedError


class Hubrelay(System):
    name = "hubrelay"

    def __init__(self, work: Path, binary: str):
        self.sink = Sink(work, "hubrelay")
        self.host, self.port = "127.0.0.1", free_port("127.0.0.1")
        out_port = free_port("127.0.0.2")
        state = work / "hubrelay-state"
        state.mkdir()
        cfg = work / "hubrelay.toml"
        cfg.write_text(relay_config(
            hostname="relay.bench", state_dir=state, log_file=work / "hubrelay.log",
            in_port=self.port, out_port=out_port, hop_port=self.sink.port,
            retry='"1s", "2s"', connect_timeout="5s", hop_backoff="2s",
            generator="bench/bench.py"))
        self.stderr = open(work / "hubrelay.stderr", "wb")
        self.proc = subprocess.Popen([binary, "serve", "--config", str(cfg)],
                                     stdout=self.stderr, stderr=subprocess.STDOUT)
        self.root_pid = self.proc.pid
        wait_port(self.host, self.port, lambda: self.proc.poll() is None)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self):
        stop_proc(self.proc, 30)
        self.sink.stop()


class Postfix(System):
    name = "postfix"

    def __init__(self, work: Path):
        self.sink = Sink(work, "postfix")
        self.dir = work / "postfix"
        self.host, self.port = PF_ADDR, free_port(PF_ADDR)
        subprocess.run([str(HERE / "postfix_instance.sh"), "start", str(self.dir), self.host,
                        str(self.port), str(self.sink.port)], check=True, timeout=60)
        self.root_pid = int((self.dir / "spool/pid/master.pid").read_text().strip())
        wait_port(self.host, self.port, self.alive)

    def alive(self) -> bool:
        return Path(f"/proc/{self.root_pid}").exists()

    def stop(self):
        subprocess.run([str(HERE / "postfix_instance.sh"), "stop", str(self.dir)], timeout=60)
        self.sink.stop()


# ------------------------------------------------------------------ one run

@dataclass
class Run:
    e2e: float
    accept: float
    cpu_ms: float
    pss_kib: int
    exact: bool


def one_run(system: System, sessions: int, size: int, messages: int, work: Path,
            tag: str) -> Run:
    # Write back everything the previous run left dirty (the other system's queue files
    # included) before starting the clock: otherwise this run's fsyncs wait for that.
    os.sync()
    time.sleep(0.2)
    before = system.sink.count()
    cpu0 = cpu_ticks(system.root_pid)
    with PeakSampler(system.root_pid) as sampler:
        t0 = time.monotonic()
        src = run_source(system.host, system.port, sessions, messages, size,
                         work / f"source-{tag}.log")
        src.wait(TIMEOUT + 10)
        t_acc = time.monotonic()
        if src.returncode != 0:
            raise RuntimeError(f"smtp-source failed ({src.returncode}) against {system.name}: "
                               f"{(work / f'source-{tag}.log').read_text()[-500:]}")
        if not system.sink.wait_count(before + messages, TIMEOUT):
            raise RuntimeError(f"{system.name}: sink counted {system.sink.count() - before} "
                               f"of {messages} within {TIMEOUT}s")
        t_end = time.monotonic()
    cpu1 = cpu_ticks(system.root_pid)
    time.sleep(0.5)  # a duplicate delivery would show up here
    got = system.sink.count() - before
    return Run(e2e=messages / (t_end - t0), accept=messages / (t_acc - t0),
               cpu_ms=(cpu1 - cpu0) * 1000.0 / CLK_TCK / messages,
               pss_kib=sampler.peak, exact=(got == messages))


def ceiling_run(work: Path, sessions: int, size: int, messages: int) -> float:
    sink = Sink(work, "ceiling")
    try:
        t0 = time.monotonic()
        src = run_source("127.0.0.1", sink.port, sessions, messages, size,
                         work / "source-ceiling.log")
        src.wait(TIMEOUT + 10)
        if not sink.wait_count(messages, TIMEOUT):
            raise RuntimeError("ceiling: sink did not count every message")
        return messages / (time.monotonic() - t0)
    finally:
        sink.stop()


# ------------------------------------------------------------------ report

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
            "disk": f"{src[0]} ({src[1]}, {kind}) holds /tmp (queues)",
            "postfix": pf}


def med(values: List[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def main() -> int:
    # SIGTERM (run.sh's timeout, Ctrl-C in a pipeline) must still stop Postfix and sinks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    binary = os.environ.get("HUBRELAY_BIN") or (sys.argv[1] if len(sys.argv) > 1 else "")
    if "hubrelay" in SYSTEMS and not os.access(binary, os.X_OK):
        print("bench: set HUBRELAY_BIN (or pass the binary)", file=sys.stderr)
        return 2
    out = Path(os.environ.get("OUT", HERE / "results" / "latest.md"))
    work = Path(tempfile.mkdtemp(prefix="hubrelay-bench-"))
    work.chmod(0o755)  # Postfix's daemons (user postfix) must reach their directories
    systems: Dict[str, System] = {}
    rows = []
    try:
        if "hubrelay" in SYSTEMS:
            systems["hubrelay"] = Hubrelay(work, binary)
        if "postfix" in SYSTEMS:
            systems["postfix"] = Postfix(work)
        for sessions in SESSIONS:
            for size in SIZES:
                n = MESSAGES_1 if sessions == 1 else MESSAGES
                results: Dict[str, List[Run]] = {k: [] for k in systems}
                ceilings = []
                for r in range(RUNS):
                    for name, system in systems.items():  # alternate on the same point
                        tag = f"{name}-{sessions}-{size}-{r}"
                        run = one_run(system, sessions, size, n, work, tag)
                        results[name].append(run)
                        log(f"{tag}: e2e {run.e2e:.0f}/s accept {run.accept:.0f}/s "
                            f"cpu {run.cpu_ms:.3f} ms/msg pss {run.pss_kib / 1024:.1f} MiB "
                            f"exact={run.exact}")
                    ceilings.append(ceiling_run(work, sessions, size, n))
                rows.append((sessions, size, n, results, med(ceilings)))
        latency = accept_latency(systems, work)
    finally:
        for system in systems.values():
            system.stop()
        if os.environ.get("KEEP") == "1":
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    text = render(rows, latency, machine())
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    log(f"wrote {out}")
    ok = all(run.exact for _, _, _, res, _ in rows for runs in res.values() for run in runs)
    return 0 if ok else 1


def accept_latency(systems: Dict[str, System], work: Path) -> Dict[str, str]:
    """bench/accept_latency.py at 50 sessions against each system: 'p50 / p99 ms'."""
    out = {}
    for name, system in systems.items():
        before = system.sink.count()
        res = subprocess.run([PYTHON, str(HERE / "accept_latency.py"), "--host", system.host,
                              "--port", str(system.port), "--sessions", "50",
                              "--messages", str(LATENCY_MESSAGES), "--size", "1024"],
                             capture_output=True, text=True, timeout=TIMEOUT)
        if res.returncode != 0:
            raise RuntimeError(f"accept_latency.py against {name} failed: {res.stderr[-500:]}")
        out[name] = res.stdout.strip()
        system.sink.wait_count(before + 50 * LATENCY_MESSAGES, TIMEOUT)
        log(f"accept latency {name}: {out[name]}")
    return out


def render(rows, latency, mach) -> str:
    lines = ["# hubrelay vs Postfix — side-by-side benchmark", "",
             f"Generated by `bench/run.sh` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
             "", "Machine: " + "; ".join(f"{k} {v}" for k, v in mach.items()), "",
             f"Method: smtp-source → relay → smtp-sink (smart host), {RUNS} run(s) per point, "
             f"median; systems alternate on each point; smtp-source flags: "
             f"`{' '.join(SOURCE_FLAGS) or '(none: one message per connection)'}`. "
             "Both relays answer 250 only after fsync and log every delivery to a file. "
             "CPU = utime+stime of all the relay's processes; memory = peak PSS sum.", "",
             "| sessions | size | msgs/run | ceiling msg/s | hubrelay e2e msg/s | Postfix e2e msg/s "
             "| e2e ratio | hubrelay accept msg/s | Postfix accept msg/s | hubrelay CPU ms/msg "
             "| Postfix CPU ms/msg | CPU ratio | hubrelay peak PSS MiB | Postfix peak PSS MiB "
             "| sink count exact |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|"]
    for sessions, size, n, res, ceiling in rows:
        h, p = res.get("hubrelay", []), res.get("postfix", [])

        def m(runs, attr):
            return med([getattr(r, attr) for r in runs])

        def peak(runs):
            return max((r.pss_kib for r in runs), default=0) / 1024

        exact = all(r.exact for runs in res.values() for r in runs)
        he, pe = m(h, "e2e"), m(p, "e2e")
        hc, pc = m(h, "cpu_ms"), m(p, "cpu_ms")
        lines.append(f"| {sessions} | {size // 1024} KiB | {n} | {ceiling:.0f} | {he:.0f} | {pe:.0f} "
                     f"| {ratio(he, pe)} | {m(h, 'accept'):.0f} | {m(p, 'accept'):.0f} "
                     f"| {hc:.3f} | {pc:.3f} | {ratio(pc, hc)} "
                     f"| {peak(h):.1f} | {peak(p):.1f} | {'yes' if exact else 'NO'} |")
    lines += ["", "CPU ratio = Postfix CPU per message / hubrelay CPU per message "
              "(target ≥ 6x).", ""]
    if latency:
        lines += ["Accept latency at 50 sessions (bench/accept_latency.py, 1 KiB, "
                  f"{LATENCY_MESSAGES} messages per session, end of DATA → 250):", ""]
        lines += [f"- {name}: {value}" for name, value in latency.items()]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
