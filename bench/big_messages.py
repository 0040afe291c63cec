#!/usr/bin/python3
"""bench/big_messages.py — peak memory while many sessions each send one big message.

Owns: the big-message point (by default 50 sessions × one 30 MiB message each, all at
once: Exchange's attachment-heavy peak). For every run and system, alternating, a fresh
instance of the system forwards to bench/body_sink.py; smtp-source opens SESSIONS sessions
that each send one SIZE-octet message. Reported per system (median over runs, peak = max):
  peak PSS     sum of Pss over the relay's processes (/proc/PID/smaps_rollup, every 100 ms;
               for Postfix master and all its children), the figure this point exists for
  e2e / accept seconds until the sink has every message / until smtp-source exits
  CPU s        utime+stime of the relay's processes over the run
  exact        the sink got exactly SESSIONS messages and every body has the size and
               SHA-256 of the same message sent straight from smtp-source to the sink
               (the reference), i.e. arrived byte for byte
Fresh instances per run so one run's heap or queue file cannot shape the next one's peak;
the instance's state is removed after its run (1.5 GiB of queue each).
Never: touches anything outside the run's temp dir; every wait is bounded by TIMEOUT plus
one second per MiB sent.
Standalone: bench/big_messages.py [HUBRELAY_BIN] with HUBRELAY_BIN, SESSIONS (50), SIZE
(30MiB), RUNS (3), SYSTEMS ("hubrelay,postfix"), TIMEOUT (300), OUT
(bench/results/big.md), KEEP=1. bench.py runs the same point as BIG_SESSIONS/BIG_SIZE.
Needs root and the postfix package for Postfix, like bench.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import targets
from harness import (CLK_TCK, HERE, MIB, BodySink, PeakSampler, System, cpu_ticks, env_int,
                     env_list, log, parse_size, run_source, size_label, start_system)


@dataclass
class BigRun:
    e2e_s: float
    accept_s: float
    cpu_s: float
    pss_kib: int
    hwm_kib: int  # the root process's VmHWM: the whole relay when it is one process
    arrived: int
    exact: bool


@dataclass
class BigResult:
    sessions: int
    size: int
    reference: Tuple[int, str]  # (body octets, sha256) as sent straight to the sink
    runs: Dict[str, List[BigRun]] = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        return all(r.exact for runs in self.runs.values() for r in runs)

    def peak_mib(self, system: str) -> Optional[float]:
        runs = self.runs.get(system)
        return max(r.pss_kib for r in runs) / 1024 if runs else None


def reference_body(work: Path, size: int, timeout: float) -> Tuple[int, str]:
    """The body one smtp-source message of this size has when nothing relays it."""
    sink = BodySink(work, "big-reference")
    try:
        src = run_source("127.0.0.1", sink.port, 1, 1, size, "per-connection", timeout,
                         work / "source-big-reference.log")
        src.wait(timeout + 10)
        if not sink.wait_count(1, timeout):
            raise RuntimeError("big messages: the reference message did not arrive")
        return sink.bodies()[0]
    finally:
        sink.stop()


def vm_hwm_kib(pid: int) -> int:
    """Peak RSS of one process (the kernel's own high-water mark, no sampling gaps)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def big_run(system: System, sessions: int, size: int, reference: Tuple[int, str],
            timeout: float, work: Path, tag: str) -> BigRun:
    os.sync()  # the previous run's 1.5 GiB of dirty queue pages, outside the clock
    time.sleep(0.2)
    cpu0 = cpu_ticks(system.root_pid)
    with PeakSampler(system.root_pid) as sampler:
        t0 = time.monotonic()
        src = run_source(system.host, system.port, sessions, sessions, size, "per-connection",
                         timeout, work / f"source-{tag}.log")
        src.wait(timeout + 10)
        t_acc = time.monotonic()
        if src.returncode != 0:
            raise RuntimeError(f"smtp-source failed ({src.returncode}) against {system.name}: "
                               f"{(work / f'source-{tag}.log').read_text()[-500:]}")
        if not system.sink.wait_count(sessions, timeout):
            raise RuntimeError(f"{system.name}: sink got {system.sink.count()} of {sessions} "
                               f"within {timeout:.0f}s")
        t_end = time.monotonic()
    cpu1 = cpu_ticks(system.root_pid)
    time.sleep(0.5)  # a duplicate delivery would show up here
    bodies = system.sink.bodies()
    return BigRun(e2e_s=t_end - t0, accept_s=t_acc - t0, cpu_s=(cpu1 - cpu0) / CLK_TCK,
                  pss_kib=sampler.peak, hwm_kib=vm_hwm_kib(system.root_pid), arrived=len(bodies),
                  exact=len(bodies) == sessions and all(b == reference for b in bodies))


def measure(systems: List[str], binary: str, work: Path, sessions: int, size: int, runs: int,
            timeout: int) -> BigResult:
    bound = timeout + sessions * size / MIB
    result = BigResult(sessions, size, reference_body(work, size, bound),
                       {name: [] for name in systems})
    for r in range(runs):
        for name in systems:  # alternate, a fresh instance per run
            label = f"big-{name}-{r}"
            system = start_system(name, work, binary, BodySink(work, label), label)
            try:
                run = big_run(system, sessions, size, result.reference, bound, work, label)
            finally:
                system.stop()
                shutil.rmtree(work / f"{label}-state", ignore_errors=True)  # hubrelay's queue
                shutil.rmtree(work / label, ignore_errors=True)              # Postfix's instance
            result.runs[name].append(run)
            log(f"{label}: {sessions} x {size_label(size)} e2e {run.e2e_s:.1f} s accept "
                f"{run.accept_s:.1f} s cpu {run.cpu_s:.1f} s pss {run.pss_kib / 1024:.1f} MiB "
                f"arrived {run.arrived} exact={run.exact}")
    return result


def render(big: BigResult) -> List[str]:
    def med(name, attr):
        return statistics.median(getattr(r, attr) for r in big.runs[name])

    lines = [f"Big messages: {big.sessions} sessions each send one {size_label(big.size)} "
             f"message at once (bench/big_messages.py), {max(map(len, big.runs.values()))} "
             "run(s) per system on fresh instances, median; peak = max over runs; exact = "
             "every body arrived with the size and SHA-256 it had when sent straight to the "
             "sink; VmHWM (the kernel's peak RSS, no sampling gaps) only for the "
             "one-process relay.", "",
             "| system | peak PSS MiB | peak RSS (VmHWM) MiB | e2e s | accept s | CPU s "
             "| arrived | exact |",
             "|:---|---:|---:|---:|---:|---:|---:|:---|"]
    for name, runs in big.runs.items():
        # VmHWM is per process: the whole relay for hubrelay, only master for Postfix.
        hwm = f"{max(r.hwm_kib for r in runs) / 1024:.1f}" if name == "hubrelay" else "-"
        lines.append(f"| {name} | {big.peak_mib(name):.1f} | {hwm} | {med(name, 'e2e_s'):.1f} "
                     f"| {med(name, 'accept_s'):.1f} | {med(name, 'cpu_s'):.1f} "
                     f"| {min(r.arrived for r in runs)}-{max(r.arrived for r in runs)} of "
                     f"{big.sessions} | {'yes' if all(r.exact for r in runs) else 'NO'} |")
    lines.append("")
    return lines


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    systems = env_list("SYSTEMS", "hubrelay,postfix")
    binary = os.environ.get("HUBRELAY_BIN") or (sys.argv[1] if len(sys.argv) > 1 else "")
    if "hubrelay" in systems and not os.access(binary, os.X_OK):
        print("big_messages: set HUBRELAY_BIN (or pass the binary)", file=sys.stderr)
        return 2
    out = Path(os.environ.get("OUT", HERE / "results" / "big.md"))
    work = Path(tempfile.mkdtemp(prefix="hubrelay-big-"))
    work.chmod(0o755)  # Postfix's daemons (user postfix) must reach their directories
    try:
        big = measure(systems, binary, work, env_int("SESSIONS", 50),
                      parse_size(os.environ.get("SIZE", "30MiB")), env_int("RUNS", 3),
                      env_int("TIMEOUT", 300))
    finally:
        if os.environ.get("KEEP") == "1":
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    text = "\n".join(render(big) + targets.table([targets.pss_goal(big)])) + "\n"
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return 0 if big.exact else 1


if __name__ == "__main__":
    sys.exit(main())
