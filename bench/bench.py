#!/usr/bin/python3
"""bench/bench.py — hubrelay and a private Postfix side by side on the same load.

Owns: the benchmark method. Postfix's smtp-source sends to the relay under
test, which forwards everything to Postfix's smtp-sink (the smart host). For every point
(sessions x message size x connection mode) it alternates hubrelay and Postfix runs, RUNS
times each, and also measures the harness ceiling (smtp-source straight into smtp-sink).
Per run:
  end-to-end msg/s   load start -> the sink's counter reaches the sent count
  accept msg/s       load start -> smtp-source exits (every message got its 250)
  CPU ms/msg         utime+stime of the relay's processes over the run, /proc/PID/stat
                     (Postfix: master's own + cutime/cstime of reaped children + every
                     live child, so short-lived smtpd/cleanup/smtp processes count)
  peak PSS           sum of Pss over the relay's processes, /proc/PID/smaps_rollup,
                     sampled every 100 ms during the run
  sink check         the sink counted exactly the sent count (no loss, no duplicate)
Then the accept latency at 50 sessions (bench/accept_latency.py) and the big-message
point (bench/big_messages.py: peak PSS while BIG_SESSIONS sessions each send one BIG_SIZE
message, every body checked byte for byte), on fresh instances. After the tables, the
performance goals with the measured value and met / not met (bench/targets.py).
Writes bench/results/latest.md (markdown) and prints the same.
Never: tunes the system or touches /etc/postfix (bench/postfix_instance.sh keeps the
Postfix instance under the run's temp dir); every wait is bounded (see TIMEOUT).

Environment (sizes as 1024, 10KiB, 1MiB, ...):
  HUBRELAY_BIN   the binary under test
  RUNS           runs per point and system (3)
  SESSIONS       "1,10,50"           SIZES   "1KiB,10KiB,100KiB,1MiB"
  MODES          "reused,per-connection": reused = smtp-source -d, many messages per
                 session (an Exchange hub with its smart host); per-connection = one
                 message per connection (internet senders)
  POINTS         instead of the SESSIONS x SIZES x MODES grid, a list of
                 SESSIONS:SIZE:MODE, e.g. "10:1MiB:reused,1:1KiB:reused"
  MESSAGES       messages per run (3000), MESSAGES_1 with one session (1000), but a run
                 sends at most RUN_MIB MiB (300) and at least 2 messages per session:
                 messages = max(2 x sessions, min(MESSAGES, RUN_MIB MiB / size)), so
                 up to 100 KiB nothing changes and 1 MiB sends 300 messages
  TIMEOUT        each wait of a run is bounded by TIMEOUT (300 s) plus one second per
                 MiB the run sends (a floor of 1 MiB/s for big points)
  SYSTEMS        "hubrelay,postfix"
  LATENCY_MESSAGES  per session for the accept-latency client (40; 0 skips it)
  BIG_SESSIONS (50; 0 skips the point), BIG_SIZE (30MiB), BIG_RUNS (RUNS; 0 also skips it)
  OUT            bench/results/latest.md;  KEEP=1 keeps the temp dir
  FILTER         "rspamd": a content filter in the path. One rspamd instance
                 (tests/e2e/filter_rigs.py RspamdRig: private configuration, no network
                 modules, FILTER_WORKERS proxy workers scanning themselves, 2) that both
                 relays call as a milter: Postfix through smtpd_milters, hubrelay through
                 [milter.rspamd] + milters = ["rspamd"] on its inbound listener. POINTS
                 defaults to 10 and 50 sessions x 10 and 100 KiB (reused), BIG_SESSIONS to
                 0, and OUT to bench/results/filter-rspamd.md. rspamd's CPU is measured
                 apart (its process tree) and shown per system; the relays' CPU excludes
                 it. A hubrelay whose check-config refuses the [milter] keys is reported as
                 not measured (with check-config's words) and Postfix is still measured.
  FILTER_SOCKET  "unix" (default: the filter's unix socket, as on a production box) or
                 "inet" (127.0.0.1:PORT; Postfix's milter client then meets the loopback's
                 delayed ACK, ~40 ms a message)
  DKIM           "rsa" (RSA-2048) or "ed25519": both relays sign every message with the
                 same key (bench/dkim_rig.py): hubrelay natively ([dkim.bench] on the
                 listener the load reaches), Postfix through the opendkim milter on a unix
                 socket. Postfix's CPU and peak PSS include opendkim's (what an
                 administrator runs for the same result; its share is shown apart).
                 Before the runs one message through each relay must carry a signature
                 python3-dkim verifies. POINTS defaults to 10 and 50 sessions x 10 KiB
                 (reused), BIG_SESSIONS to 0, OUT to bench/results/dkim-KIND.md; no goals
                 are judged. Not with FILTER. DKIM_THREADS sets hubrelay's [dkim] threads
                 (unset: the relay's default).
  QUEUE          where hubrelay keeps its queue: "sqlite" (default: the SQLite file in its
                 state directory), "postgresql" (one private PostgreSQL 15 server on
                 127.0.0.1 for the run, bench/pg_queue.py: fsync and synchronous_commit
                 on, PostgreSQL's defaults otherwise, no standby; its data directory in
                 the run's temp dir, stopped at the end, also on failure; hubrelay gets
                 [queue] backend = "postgresql" with a conninfo_file), or
                 "sqlite,postgresql": both hubrelays and Postfix on the same points,
                 alternating, in one table with each hubrelay's ratios to Postfix. The
                 database server's CPU and memory count as that hubrelay's (its CPU
                 share is shown apart). With postgresql, POINTS defaults to 10 and 50
                 sessions x 10 KiB (reused), BIG_SESSIONS to 0 (the big-message point
                 runs on SQLite only), OUT to bench/results/queue-postgresql.md, and no
                 goals are judged. Not with FILTER or DKIM.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import big_messages
import dkim_rig
import pg_queue
import targets
from harness import FilterUnsupported
from harness import (CLK_TCK, HERE, MIB, MODES, PYTHON, PeakSampler, Sink, System,
                     cpu_ticks, env_int, env_list, log, machine, parse_size, run_source,
                     size_label, start_system)

FILTER = os.environ.get("FILTER", "")
FILTER_WORKERS = env_int("FILTER_WORKERS", 2)
FILTER_SOCKET = os.environ.get("FILTER_SOCKET", "unix")
FILTER_POINTS = "10:10KiB:reused,50:10KiB:reused,10:100KiB:reused,50:100KiB:reused"
DKIM = os.environ.get("DKIM", "")
DKIM_THREADS = env_int("DKIM_THREADS", 0)
DKIM_POINTS = "10:10KiB:reused,50:10KiB:reused"
QUEUE = env_list("QUEUE", "sqlite")
QUEUE_BACKENDS = ("sqlite", "postgresql")
ON_PG = "postgresql" in QUEUE
QUEUE_POINTS = "10:10KiB:reused,50:10KiB:reused"
RUNS = env_int("RUNS", 3)
MESSAGES = env_int("MESSAGES", 3000)
MESSAGES_1 = env_int("MESSAGES_1", 1000)
RUN_MIB = env_int("RUN_MIB", 300)
SESSIONS = [int(x) for x in env_list("SESSIONS", "1,10,50")]
SIZES = [parse_size(x) for x in env_list("SIZES", "1KiB,10KiB,100KiB,1MiB")]
MODES_RUN = env_list("MODES", "reused,per-connection")
TIMEOUT = env_int("TIMEOUT", 300)
SYSTEMS = env_list("SYSTEMS", "hubrelay,postfix")
LATENCY_MESSAGES = env_int("LATENCY_MESSAGES", 40)
BIG_SESSIONS = env_int("BIG_SESSIONS", 0 if FILTER or DKIM or ON_PG else 50)
BIG_SIZE = parse_size(os.environ.get("BIG_SIZE", "30MiB"))
BIG_RUNS = env_int("BIG_RUNS", RUNS)


# ------------------------------------------------------------------ points

@dataclass(frozen=True)
class Point:
    sessions: int
    size: int
    mode: str

    @property
    def messages(self) -> int:
        base = MESSAGES_1 if self.sessions == 1 else MESSAGES
        return max(2 * self.sessions, min(base, RUN_MIB * MIB // self.size))

    @property
    def timeout(self) -> float:
        return TIMEOUT + self.messages * self.size / MIB

    def __str__(self) -> str:
        return f"{self.sessions} x {size_label(self.size)} {self.mode}"


def points() -> List[Point]:
    spec = env_list("POINTS", FILTER_POINTS if FILTER else DKIM_POINTS if DKIM
                    else QUEUE_POINTS if ON_PG else "")
    if spec:
        out = []
        for item in spec:
            sessions, size, mode = item.split(":")
            out.append(Point(int(sessions), parse_size(size), mode))
    else:
        out = [Point(s, z, m) for s in SESSIONS for z in SIZES for m in MODES_RUN]
    for p in out:
        if p.mode not in MODES:
            raise SystemExit(f"bench: unknown mode {p.mode!r} (one of {', '.join(MODES)})")
    return out


def system_plan() -> List[Tuple[str, str, str]]:
    """(key, system, queue backend) of every system under test: SYSTEMS, with hubrelay once
    per QUEUE backend (keyed hubrelay-BACKEND when there are several)."""
    out = []
    for name in SYSTEMS:
        if name != "hubrelay":
            out.append((name, name, ""))
        elif len(QUEUE) == 1:
            out.append((name, name, QUEUE[0]))
        else:
            out += [(f"{name}-{queue}", name, queue) for queue in QUEUE]
    return out


LABELS = {"postfix": "Postfix", "hubrelay-sqlite": "hubrelay (SQLite)",
          "hubrelay-postgresql": "hubrelay (PostgreSQL)"}


def label(key: str) -> str:
    return LABELS.get(key, key)


def helper_name(key: str) -> str:
    """What System.helper_pids are for that system: opendkim signs for Postfix (DKIM
    points); the PostgreSQL server holds hubrelay's queue (QUEUE=postgresql)."""
    return "opendkim" if key == "postfix" else "PostgreSQL"


# ------------------------------------------------------------------ one run

@dataclass
class Run:
    e2e: float
    accept: float
    cpu_ms: float
    pss_kib: int
    exact: bool
    filter_cpu_ms: Optional[float] = None  # the filter's CPU per message during the run
    helper_cpu_ms: Optional[float] = None  # the part of cpu_ms spent by System.helper_pids


@dataclass
class Row:
    point: Point
    results: Dict[str, List[Run]]
    ceiling: float


def one_run(system: System, point: Point, work: Path, tag: str,
            filter_pids: Sequence[int] = ()) -> Run:
    # Write back everything the previous run left dirty (the other system's queue files
    # included) before starting the clock: otherwise this run's fsyncs wait for that.
    os.sync()
    time.sleep(0.2)
    messages, timeout = point.messages, point.timeout
    before = system.sink.count()
    cpu0 = cpu_ticks(system.root_pid)
    hcpu0 = sum(cpu_ticks(pid) for pid in system.helper_pids)
    fcpu0 = sum(cpu_ticks(pid) for pid in filter_pids)
    with PeakSampler(system.root_pid, *system.helper_pids) as sampler:
        t0 = time.monotonic()
        src = run_source(system.host, system.port, point.sessions, messages, point.size,
                         point.mode, timeout, work / f"source-{tag}.log")
        src.wait(timeout + 10)
        t_acc = time.monotonic()
        if src.returncode != 0:
            raise RuntimeError(f"smtp-source failed ({src.returncode}) against {system.name}: "
                               f"{(work / f'source-{tag}.log').read_text()[-500:]}")
        if not system.sink.wait_count(before + messages, timeout):
            raise RuntimeError(f"{system.name}: sink counted {system.sink.count() - before} "
                               f"of {messages} within {timeout:.0f}s")
        t_end = time.monotonic()
    cpu1 = cpu_ticks(system.root_pid)
    hcpu1 = sum(cpu_ticks(pid) for pid in system.helper_pids)
    fcpu1 = sum(cpu_ticks(pid) for pid in filter_pids)
    time.sleep(0.5)  # a duplicate delivery would show up here
    got = system.sink.count() - before
    per_message = 1000.0 / CLK_TCK / messages
    return Run(e2e=messages / (t_end - t0), accept=messages / (t_acc - t0),
               cpu_ms=(cpu1 - cpu0 + hcpu1 - hcpu0) * per_message,
               pss_kib=sampler.peak, exact=(got == messages),
               filter_cpu_ms=(fcpu1 - fcpu0) * per_message if filter_pids else None,
               helper_cpu_ms=(hcpu1 - hcpu0) * per_message if system.helper_pids else None)


def ceiling_run(work: Path, point: Point) -> float:
    sink = Sink(work, "ceiling")
    try:
        t0 = time.monotonic()
        src = run_source("127.0.0.1", sink.port, point.sessions, point.messages, point.size,
                         point.mode, point.timeout, work / "source-ceiling.log")
        src.wait(point.timeout + 10)
        if not sink.wait_count(point.messages, point.timeout):
            raise RuntimeError("ceiling: sink did not count every message")
        return point.messages / (time.monotonic() - t0)
    finally:
        sink.stop()


def measure_point(systems: Dict[str, System], point: Point, work: Path,
                  filter_pids: Sequence[int] = ()) -> Row:
    results: Dict[str, List[Run]] = {k: [] for k in systems}
    ceilings = []
    for r in range(RUNS):
        for name, system in systems.items():  # alternate on the same point
            tag = f"{name}-{point.sessions}-{point.size}-{point.mode}-{r}"
            run = one_run(system, point, work, tag, filter_pids)
            results[name].append(run)
            log(f"{tag}: e2e {run.e2e:.0f}/s accept {run.accept:.0f}/s "
                f"cpu {run.cpu_ms:.3f} ms/msg pss {run.pss_kib / 1024:.1f} MiB "
                f"exact={run.exact}"
                + (f" {FILTER} cpu {run.filter_cpu_ms:.3f} ms/msg"
                   if run.filter_cpu_ms is not None else "")
                + (f" of which {helper_name(name)} {run.helper_cpu_ms:.3f} ms/msg"
                   if run.helper_cpu_ms is not None else ""))
        ceilings.append(ceiling_run(work, point))
    return Row(point, results, med(ceilings))


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


# ------------------------------------------------------------------ main

def main() -> int:
    # SIGTERM (run.sh's timeout, Ctrl-C in a pipeline) must still stop Postfix and sinks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    binary = os.environ.get("HUBRELAY_BIN") or (sys.argv[1] if len(sys.argv) > 1 else "")
    if "hubrelay" in SYSTEMS and not os.access(binary, os.X_OK):
        print("bench: set HUBRELAY_BIN (or pass the binary)", file=sys.stderr)
        return 2
    if FILTER and DKIM:
        raise SystemExit("bench: FILTER and DKIM are measured apart; set one")
    if not QUEUE or any(q not in QUEUE_BACKENDS for q in QUEUE) or len(set(QUEUE)) != len(QUEUE):
        raise SystemExit(f"bench: QUEUE is a list of {', '.join(QUEUE_BACKENDS)}, each once")
    if ON_PG and (FILTER or DKIM):
        raise SystemExit("bench: QUEUE=postgresql is measured apart from FILTER and DKIM")
    default_out = (f"filter-{FILTER}.md" if FILTER else f"dkim-{DKIM}.md" if DKIM
                   else "queue-postgresql.md" if ON_PG else "latest.md")
    out = Path(os.environ.get("OUT", HERE / "results" / default_out))
    plan = points()
    work = Path(tempfile.mkdtemp(prefix="hubrelay-bench-"))
    work.chmod(0o755)  # Postfix's daemons (user postfix) must reach their directories
    systems: Dict[str, System] = {}
    rows: List[Row] = []
    latency: Dict[str, str] = {}
    big = None
    rig, milter = None, ""
    notes: List[str] = []
    signing: Dict[str, str] = {}  # start_system's DKIM arguments
    database: Optional[pg_queue.PgQueue] = None
    try:
        if ON_PG:
            database = pg_queue.PgQueue(work)
            notes.append("Queue: "
                         + ("hubrelay on SQLite keeps it in a file in its state directory "
                            "(the default); " if "sqlite" in QUEUE else "")
                         + f"hubrelay on PostgreSQL keeps envelopes and bodies in "
                         f"{database.description}; it answers 250 once PostgreSQL's COMMIT "
                         "returned. The database server's CPU and peak PSS count as that "
                         "hubrelay's (its CPU share is shown apart).")
        if DKIM:
            rig, key, signing = start_signing(work)
            notes.append(f"DKIM: every message signed {dkim_rig.ALGORITHMS[DKIM]} with one key: "
                         "hubrelay natively"
                         + (f" ([dkim] threads = {DKIM_THREADS})" if DKIM_THREADS else "")
                         + "; Postfix through opendkim "
                         f"({subprocess.run(['opendkim', '-V'], capture_output=True, text=True).stdout.splitlines()[0]}, "
                         f"{rig.postfix_milter}). Postfix's CPU and peak PSS include "
                         "opendkim's.")

            def probe(name: str, sink: Sink, label: str) -> System:
                return start_system(name, work, binary, sink, label, **signing)
            notes += dkim_rig.check_signing(SYSTEMS, probe, work, DKIM, key)
        if FILTER:
            rig = start_filter(work)
            milter = rig.milter_unix if FILTER_SOCKET == "unix" else rig.milter
            notes.append(f"Filter: {FILTER} ({milter}, {FILTER_WORKERS} proxy worker(s) "
                         f"scanning themselves, private configuration of "
                         f"tests/e2e/filter_rigs.py, ready in {rig.startup_seconds:.1f} s); "
                         "both relays call the same instance.")
        if plan or LATENCY_MESSAGES > 0:
            for key, name, queue in system_plan():
                on_pg = database is not None and queue == "postgresql"
                try:
                    systems[key] = start_system(
                        name, work, binary, Sink(work, key), key, milter,
                        conninfo_file=str(database.conninfo_file) if on_pg else "", **signing)
                    if DKIM and name == "postfix":  # opendkim signs for it: its cost
                        systems[key].helper_pids = [p.pid for p in rig.procs]
                    if on_pg:  # the database works for it: its cost
                        systems[key].helper_pids = [database.pid]
                except FilterUnsupported as e:
                    what = "[dkim]" if DKIM else f"[milter.{FILTER}]"
                    notes.append(f"**{name} not measured**: its check-config refuses the "
                                 f"{what} configuration (not supported by this binary): {e}")
                    log(notes[-1])
        filter_pids = [p.pid for p in rig.procs] if rig and FILTER else []
        for point in plan:
            rows.append(measure_point(systems, point, work, filter_pids))
        if LATENCY_MESSAGES > 0:
            latency = accept_latency(systems, work)
        if DKIM and "hubrelay" in systems:
            notes.append(dkim_rig.hubrelay_signed(work / "hubrelay.log"))
        while systems:  # the big point starts fresh instances of its own
            systems.popitem()[1].stop()
        if BIG_SESSIONS > 0 and BIG_RUNS > 0:
            big = big_messages.measure(SYSTEMS, binary, work, BIG_SESSIONS, BIG_SIZE,
                                       BIG_RUNS, TIMEOUT)
    finally:
        for system in systems.values():
            system.stop()
        if rig is not None:
            rig.stop()
        if database is not None:
            database.stop()
        if os.environ.get("KEEP") == "1":
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    text = "\n".join(render(rows, latency, machine(), notes)
                     + (big_messages.render(big) if big else [])
                     + ([] if DKIM or ON_PG else
                        targets.render(rows, big, targets.FILTER_GOALS if FILTER else None))
                     ) + "\n"
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    log(f"wrote {out}")
    ok = all(run.exact for row in rows for runs in row.results.values() for run in runs)
    return 0 if ok and (big is None or big.exact) else 1


def start_signing(work: Path):
    """The DKIM points' key, and opendkim signing with it for Postfix when Postfix runs.
    Returns the rig (or None) and start_system's DKIM arguments."""
    key = dkim_rig.make_key(DKIM, work / "dkim" / "bench.pem")
    signing = {"dkim": dkim_rig.hubrelay_table(key, DKIM_THREADS or None)}
    if "postfix" not in SYSTEMS:
        return None, key, signing
    rig = dkim_rig.OpenDkimUnixRig(work, DKIM, key)
    rig.start(timeout=120)
    log(f"opendkim rig on {rig.postfix_milter} ready in {rig.startup_seconds:.1f} s")
    signing["postfix_milter"] = rig.postfix_milter
    return rig, key, signing


def start_filter(work: Path):
    """The content filter both relays call (FILTER), started and ready."""
    if FILTER != "rspamd":
        raise SystemExit(f"bench: unknown FILTER {FILTER!r} (rspamd)")
    if FILTER_SOCKET not in ("unix", "inet"):
        raise SystemExit(f"bench: unknown FILTER_SOCKET {FILTER_SOCKET!r} (unix, inet)")
    sys.path.append(str(HERE.parent / "tests" / "e2e"))  # after bench/: its harness wins
    from filter_rigs import RspamdRig
    rig = RspamdRig(work, workers=FILTER_WORKERS, unix_socket=FILTER_SOCKET == "unix")
    rig.start(timeout=120)
    log(f"rspamd rig on {rig.milter} ready in {rig.startup_seconds:.1f} s")
    return rig


# ------------------------------------------------------------------ report

def med(values: List[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def render(rows: List[Row], latency: Dict[str, str], mach: Dict[str, str],
           notes: Sequence[str] = ()) -> List[str]:
    modes = sorted({row.point.mode for row in rows})
    title = "hubrelay on SQLite and on PostgreSQL vs Postfix" if len(QUEUE) > 1 else "hubrelay vs Postfix"
    lines = [f"# {title} — side-by-side benchmark", "",
             f"Generated by `bench/run.sh` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
             "", "Machine: " + "; ".join(f"{k} {v}" for k, v in mach.items()), "",
             f"Method: smtp-source → relay → smtp-sink (smart host), {RUNS} run(s) per point, "
             "median; systems alternate on each point; connection modes: "
             + ", ".join(f"{m} (`smtp-source {' '.join(MODES[m]) or 'without -d'}`)" for m in modes)
             + f"; a run sends min(MESSAGES, {RUN_MIB} MiB / size) messages, at least 2 per "
             "session. Both relays answer 250 only after fsync and log every delivery to a "
             "file. CPU = utime+stime of all the relay's processes; memory = peak PSS sum.", ""]
    lines += [*(f"{n}" for n in notes), ""] if notes else []
    if not rows:
        return lines + latency_lines(latency)
    lines += queue_table(rows) if len(QUEUE) > 1 else side_by_side_table(rows)
    lines += filter_lines(rows) + helper_lines(rows)
    return lines + latency_lines(latency)


def med_of(runs: Sequence[Run], attr: str) -> float:
    return med([getattr(r, attr) for r in runs])


def peak_mib(runs: Sequence[Run]) -> float:
    return max((r.pss_kib for r in runs), default=float("nan")) / 1024


def exact(row: Row) -> str:
    return "yes" if all(r.exact for runs in row.results.values() for r in runs) else "NO"


def side_by_side_table(rows: List[Row]) -> List[str]:
    """hubrelay and Postfix, one row per point."""
    lines = ["| sessions | size | mode | msgs/run | ceiling msg/s | hubrelay e2e msg/s "
             "| Postfix e2e msg/s | e2e ratio | hubrelay accept msg/s | Postfix accept msg/s "
             "| hubrelay CPU ms/msg | Postfix CPU ms/msg | CPU ratio | hubrelay peak PSS MiB "
             "| Postfix peak PSS MiB | sink count exact |",
             "|---:|---:|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|"]
    for row in rows:
        h, p = row.results.get("hubrelay", []), row.results.get("postfix", [])
        he, pe = med_of(h, "e2e"), med_of(p, "e2e")
        hc, pc = med_of(h, "cpu_ms"), med_of(p, "cpu_ms")
        pt = row.point
        lines.append(f"| {pt.sessions} | {size_label(pt.size)} | {pt.mode} | {pt.messages} "
                     f"| {row.ceiling:.0f} | {he:.0f} | {pe:.0f} "
                     f"| {ratio(he, pe)} | {med_of(h, 'accept'):.0f} | {med_of(p, 'accept'):.0f} "
                     f"| {hc:.3f} | {pc:.3f} | {ratio(pc, hc)} "
                     f"| {peak_mib(h):.1f} | {peak_mib(p):.1f} | {exact(row)} |")
        lines[-1] = NOT_MEASURED.sub("-", lines[-1])  # a system that did not run
    return lines + ["", "CPU ratio = Postfix CPU per message / hubrelay CPU per message.", ""]


def queue_table(rows: List[Row]) -> List[str]:
    """Each hubrelay queue backend and Postfix, one row per point, each hubrelay's ratios
    to Postfix."""
    keys = [key for key, _, _ in system_plan()]
    relays = [k for k in keys if k != "postfix"]
    others = [k for k in keys if k == "postfix"]  # the ratios' reference, when it ran

    def columns(what: str, names: Sequence[str]) -> List[str]:
        return [f"{label(n)} {what}" for n in names]
    head = (["sessions", "size", "mode", "msgs/run", "ceiling msg/s"]
            + columns("e2e msg/s", keys) + columns("/ Postfix e2e", relays * len(others))
            + columns("accept msg/s", keys) + columns("CPU ms/msg", keys)
            + columns("CPU ratio", relays * len(others)) + columns("peak PSS MiB", keys)
            + ["sink count exact"])
    lines = ["| " + " | ".join(head) + " |",
             "|---:|---:|:---|" + "---:|" * (len(head) - 4) + ":---|"]
    for row in rows:
        pt = row.point
        runs = {k: row.results.get(k, []) for k in keys}
        e2e = {k: med_of(runs[k], "e2e") for k in keys}
        cpu = {k: med_of(runs[k], "cpu_ms") for k in keys}
        cells = [str(pt.sessions), size_label(pt.size), pt.mode, str(pt.messages), f"{row.ceiling:.0f}"]
        cells += [f"{e2e[k]:.0f}" for k in keys]
        cells += [ratio(e2e[k], e2e[o]) for o in others for k in relays]
        cells += [f"{med_of(runs[k], 'accept'):.0f}" for k in keys]
        cells += [f"{cpu[k]:.3f}" for k in keys]
        cells += [ratio(cpu[o], cpu[k]) for o in others for k in relays]
        cells += [f"{peak_mib(runs[k]):.1f}" for k in keys] + [exact(row)]
        lines.append(NOT_MEASURED.sub("-", "| " + " | ".join(cells) + " |"))
    return lines + ["", "e2e ratio = the hubrelay's end-to-end msg/s / Postfix's; CPU ratio = "
                    "Postfix CPU per message / the hubrelay's CPU per message (above 1: "
                    "hubrelay uses less).", ""]


NOT_MEASURED = re.compile(r"\bnanx?\b")


def filter_lines(rows: List[Row]) -> List[str]:
    """The filter's own CPU per message while each relay ran (not in the relays' CPU)."""
    if not any(r.filter_cpu_ms is not None for row in rows for runs in row.results.values()
               for r in runs):
        return []
    names = sorted({name for row in rows for name in row.results})
    lines = [f"{FILTER} CPU per message (its own process tree, measured apart; median), "
             "while each relay ran:", "",
             "| sessions | size | mode | " + " | ".join(f"{FILTER} ms/msg with {n}" for n in names)
             + " |", "|---:|---:|:---|" + "---:|" * len(names)]
    for row in rows:
        pt = row.point
        cpu = [med([r.filter_cpu_ms for r in row.results.get(n, [])]) for n in names]
        cells = [NOT_MEASURED.sub("-", f"{v:.3f}") for v in cpu]
        lines.append(f"| {pt.sessions} | {size_label(pt.size)} | {pt.mode} | "
                     + " | ".join(cells) + " |")
    return lines + [""]


def helper_lines(rows: List[Row]) -> List[str]:
    """The part of a relay's CPU per message spent by the helper it needs: opendkim for
    Postfix (DKIM points), the PostgreSQL server for hubrelay on that queue."""
    names = [key for key, _, _ in system_plan()
             if any(r.helper_cpu_ms is not None for row in rows for r in row.results.get(key, []))]
    if not names:
        return []
    lines = [" and ".join(f"{helper_name(n)}'s part of {label(n)}'s" for n in names)
             + " CPU per message (median):", "",
             "| sessions | size | mode | "
             + " | ".join(f"{label(n)} CPU ms/msg | of which {helper_name(n)}" for n in names) + " |",
             "|---:|---:|:---|" + "---:|---:|" * len(names)]
    for row in rows:
        pt = row.point
        cells = []
        for n in names:
            runs = row.results.get(n, [])
            cells += [f"{med_of(runs, 'cpu_ms'):.3f}",
                      f"{med([r.helper_cpu_ms for r in runs if r.helper_cpu_ms is not None]):.3f}"]
        lines.append(f"| {pt.sessions} | {size_label(pt.size)} | {pt.mode} | " + " | ".join(cells) + " |")
    return lines + [""]


def latency_lines(latency: Dict[str, str]) -> List[str]:
    lines = []
    if latency:
        lines += ["Accept latency at 50 sessions (bench/accept_latency.py, 1 KiB, "
                  f"{LATENCY_MESSAGES} messages per session, end of DATA → 250):", ""]
        lines += [f"- {name}: {value}" for name, value in latency.items()]
        lines.append("")
    return lines


if __name__ == "__main__":
    sys.exit(main())
