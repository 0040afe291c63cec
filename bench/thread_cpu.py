#!/usr/bin/python3
"""bench/thread_cpu.py — CPU of each hubrelay thread per message, and how busy each is.

Owns: the per-thread view of a load run. It starts hubrelay and smtp-sink as bench.py
does (bench/harness.py, the same generated configuration), sends POINTS with
smtp-source, and reads every thread's on-CPU time (/proc/PID/task/TID/schedstat,
nanoseconds; user/system split from .../stat) before and after each run. Per thread it
prints CPU ms per message, busy = CPU time / wall time of the run in % of one core, and
the storage writes it caused (/proc/PID/task/TID/io write_bytes) per message:
the thread near 100 % is the one that saturates first. It also prints the CPU of the
load generator and the sink and the machine's load, since they share the cores.
Threads are told apart by the kernel names the relay gives them (hr-queue, hr-sync,
hr-checkpoint, hr-tracking); the main thread is the I/O thread (Asio), the first unnamed
one spdlog's log flusher (relay/logging.cpp), any later unnamed one (the signing pool)
"other". `--pid PID` instead samples a running relay every INTERVAL seconds (same names)
until interrupted or COUNT samples.

Usage:
  bench/thread_cpu.py [--points 10:1KiB,50:1KiB,10:100KiB,50:100KiB] [--runs 3]
                      [--messages 20000] [--run-mib 1000] [--mode reused]
                      [--perf DIR | --trace DIR | --syscalls DIR] BIN
  bench/thread_cpu.py --pid PID [--interval 1] [--count N]
--perf DIR also records `perf record --call-graph dwarf -F 999` (PERF_CALL_GRAPH, PERF_FREQ)
of the relay during each run's load into DIR/SESSIONS-SIZE-RUN.data (read with
bench/perf_components.py); --trace DIR writes `perf trace -s` (system calls per thread:
count, mean and max time) to DIR/SESSIONS-SIZE-RUN.txt instead. Both slow the relay,
so take CPU figures from runs without them. --syscalls DIR only counts system calls per
thread (`perf stat --per-thread` on syscall tracepoints, cheap) into DIR/...stat.
Never: tunes the system; every wait is bounded (TIMEOUT, default 300 s per run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

from harness import (CLK_TCK, Hubrelay, Sink, descendants, parse_size, run_source,
                     size_label)

TIMEOUT = int(os.environ.get("TIMEOUT", 300))
# The release build keeps no frame pointers: DWARF unwinding gives whole call chains.
PERF_CALL_GRAPH = os.environ.get("PERF_CALL_GRAPH", "dwarf,16384")
PERF_FREQ = os.environ.get("PERF_FREQ", "999")
# --syscalls: system calls counted per thread (tracepoints; cheap, unlike perf trace).
COUNTED_CALLS = ("fdatasync", "fsync", "pwrite64", "pread64", "write", "read", "sendto",
                 "sendmsg", "recvfrom", "epoll_wait", "futex", "getpeername", "openat",
                 "unlink", "close")


def thread_times(pid: int) -> Dict[int, Tuple[int, ...]]:
    """tid -> (on-CPU ns, utime ticks, stime ticks, storage write bytes) for every live
    thread of pid (write_bytes: what the thread dirtied for the disk, /proc/.../io)."""
    out: Dict[int, Tuple[int, ...]] = {}
    try:
        tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return out
    for tid in tids:
        try:
            ns = int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        written = 0
        try:
            for line in Path(f"/proc/{pid}/task/{tid}/io").read_text().splitlines():
                if line.startswith("write_bytes:"):
                    written = int(line.split()[1])
        except OSError:
            pass
        out[tid] = (ns, int(fields[11]), int(fields[12]), written)
    return out


# Kernel thread names the relay sets (pthread_setname_np) -> the names printed here.
NAMED_THREADS = {"hr-queue": "queue", "hr-sync": "body-sync", "hr-checkpoint": "checkpoint",
                 "hr-tracking": "tracking"}
THREAD_ORDER = ("io", "queue", "body-sync", "checkpoint", "tracking", "log-flush", "other")


def thread_names(pid: int, tids: List[int]) -> Dict[int, str]:
    """The main thread is the I/O thread; the queue, body flush, checkpoint and tracking
    threads carry kernel names (NAMED_THREADS); of the unnamed rest, the first created is
    spdlog's log flusher (relay/logging.cpp), anything later (signing pool) "other"."""
    names: Dict[int, str] = {pid: "io"}
    unnamed = []
    for tid in sorted(t for t in tids if t != pid):
        try:
            comm = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
        except OSError:
            comm = ""
        if comm in NAMED_THREADS:
            names[tid] = NAMED_THREADS[comm]
        else:
            unnamed.append(tid)
    for i, tid in enumerate(unnamed):
        names[tid] = "log-flush" if i == 0 else "other"
    return names


def by_name(pid: int, before: Dict[int, Tuple[int, ...]],
            after: Dict[int, Tuple[int, ...]]) -> Dict[str, List[float]]:
    """name -> [on-CPU s, user s, system s, disk write bytes] summed over threads of that
    name."""
    names = thread_names(pid, list(after))
    out: Dict[str, List[float]] = {}
    for tid, (ns, ut, st, wb) in after.items():
        ns0, ut0, st0, wb0 = before.get(tid, (0, 0, 0, 0))
        acc = out.setdefault(names[tid], [0.0, 0.0, 0.0, 0.0])
        acc[0] += (ns - ns0) / 1e9
        acc[1] += (ut - ut0) / CLK_TCK
        acc[2] += (st - st0) / CLK_TCK
        acc[3] += wb - wb0
    return out


def tree_ns(root: int) -> int:
    """On-CPU ns of a process tree (every thread of every process)."""
    total = 0
    for pid in descendants(root):
        total += sum(v[0] for v in thread_times(pid).values())
    return total


def machine_busy() -> Tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def sample(pid: int, interval: float, count: int) -> None:
    prev, t_prev = thread_times(pid), time.monotonic()
    n = 0
    while count == 0 or n < count:
        time.sleep(interval)
        cur, t_cur = thread_times(pid), time.monotonic()
        if not cur:
            return
        busy = by_name(pid, prev, cur)
        wall = t_cur - t_prev
        print("  ".join(f"{name} {100 * v[0] / wall:5.1f}%" for name, v in sorted(busy.items())),
              flush=True)
        prev, t_prev, n = cur, t_cur, n + 1


def one_run(relay: Hubrelay, sessions: int, size: int, messages: int, mode: str, work: Path,
            perf_file: Path | None, trace_file: Path | None) -> Dict[str, object]:
    pid = relay.root_pid
    before_count = relay.sink.count()
    perf = None
    if perf_file is not None:
        perf = subprocess.Popen(["perf", "record", "-q", "--call-graph", PERF_CALL_GRAPH,
                                 "-F", PERF_FREQ, "-p", str(pid),
                                 "-o", str(perf_file)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    elif trace_file is not None and trace_file.suffix == ".stat":
        events = ",".join(f"syscalls:sys_enter_{call}" for call in COUNTED_CALLS)
        perf = subprocess.Popen(["perf", "stat", "--per-thread", "-e", events, "-p", str(pid),
                                 "-o", str(trace_file)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif trace_file is not None:
        perf = subprocess.Popen(["perf", "trace", "-s", "-p", str(pid), "-o", str(trace_file)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if perf is not None:
        time.sleep(1.0)  # perf attaches before the load starts
    threads0, busy0 = thread_times(pid), machine_busy()
    sink0 = tree_ns(relay.sink.proc.pid)
    t0 = time.monotonic()
    source = run_source(relay.host, relay.port, sessions, messages, size, mode, TIMEOUT,
                        work / "source.log")
    # smtp-source's own CPU: sampled while it runs (it is gone afterwards).
    source_ns = 0
    while source.poll() is None:
        source_ns = max(source_ns, tree_ns(source.pid))
        time.sleep(0.05)
    ok = relay.sink.wait_count(before_count + messages, TIMEOUT)
    t1 = time.monotonic()
    threads1, busy1 = thread_times(pid), machine_busy()
    sink1 = tree_ns(relay.sink.proc.pid)
    if perf is not None:
        perf.send_signal(signal.SIGINT)
        perf.wait(60)
    wall = t1 - t0
    cpus = os.cpu_count() or 1
    return {
        "ok": ok and source.returncode == 0, "wall": wall, "rate": messages / wall,
        "threads": by_name(pid, threads0, threads1),
        "source_s": source_ns / 1e9, "sink_s": (sink1 - sink0) / 1e9,
        "machine_busy": (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]) * cpus,
        "load": os.getloadavg()[0], "messages": messages,
    }


def report(sessions: int, size: int, run: int, r: Dict[str, object]) -> None:
    n = r["messages"]
    wall = r["wall"]
    threads = r["threads"]
    total = sum(v[0] for v in threads.values())
    print(f"{sessions} sessions x {size_label(size)} run {run}: {n} msgs in {wall:.2f} s = "
          f"{r['rate']:.0f} msg/s (sink exact: {'yes' if r['ok'] else 'NO'}); "
          f"load avg {r['load']:.1f}; machine busy {r['machine_busy']:.2f} of "
          f"{os.cpu_count()} cores")
    for name in THREAD_ORDER:
        if name not in threads:
            continue
        cpu, user, system, written = threads[name]
        print(f"  {name:10s} {1000 * cpu / n:7.4f} ms/msg  busy {100 * cpu / wall:5.1f}% "
              f"of one core  (user {user:.2f} s, system {system:.2f} s; disk writes "
              f"{written / n / 1024:.1f} KiB/msg)")
    print(f"  {'relay':10s} {1000 * total / n:7.4f} ms/msg  busy {100 * total / wall:5.1f}%")
    print(f"  smtp-source {1000 * r['source_s'] / n:.4f} ms/msg, smtp-sink "
          f"{1000 * r['sink_s'] / n:.4f} ms/msg", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("binary", nargs="?")
    ap.add_argument("--pid", type=int)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--points", default="10:1KiB,50:1KiB,10:100KiB,50:100KiB")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--run-mib", type=int, default=1000)
    ap.add_argument("--mode", default="reused", choices=["reused", "per-connection"])
    ap.add_argument("--perf", type=Path)
    ap.add_argument("--trace", type=Path)
    ap.add_argument("--syscalls", type=Path)
    args = ap.parse_args()
    if args.pid:
        sample(args.pid, args.interval, args.count)
        return 0
    if not args.binary:
        ap.error("BIN or --pid is needed")
    for out_dir in (args.perf, args.trace, args.syscalls):
        if out_dir:
            out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="thread-cpu-"))
    failed = False
    try:
        for spec in args.points.split(","):
            s_text, size_text = spec.split(":")[:2]
            sessions, size = int(s_text), parse_size(size_text)
            messages = max(2 * sessions, min(args.messages, args.run_mib * 1024 * 1024 // size))
            for run in range(1, args.runs + 1):
                label = f"r{sessions}-{size}-{run}"
                relay = Hubrelay(work, args.binary, Sink(work, label), label)
                try:
                    name = f"{sessions}-{size_label(size).replace(' ', '')}-{run}"
                    perf_file = args.perf / f"{name}.data" if args.perf else None
                    trace_file = (args.trace / f"{name}.txt" if args.trace else
                                  args.syscalls / f"{name}.stat" if args.syscalls else None)
                    r = one_run(relay, sessions, size, messages, args.mode, work,
                                perf_file, trace_file)
                finally:
                    relay.stop()
                    shutil.rmtree(work / f"{label}-state", ignore_errors=True)
                failed = failed or not r["ok"]
                report(sessions, size, run, r)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
