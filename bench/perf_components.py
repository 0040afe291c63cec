#!/usr/bin/python3
"""bench/perf_components.py — a hubrelay perf profile split by thread and component.

Owns: reading one `perf record --call-graph dwarf` file of the relay (as
bench/thread_cpu.py --perf writes them) and attributing every sample to a thread and a
component of the message path, user and kernel apart:
  thread     by what its stacks run: io (io_context::run), queue (the queue thread's
             run_thread), body-sync (BodySyncPool), other
  component  the first rule below that some frame of the sample matches, in this
             order: logging (spdlog), TLS (libssl/libcrypto), Received header,
             body spool writes, delivery client (SmtpClient, client stream, delivery
             engine, dot-stuffing), SMTP session (server session, state machine,
             command parser, DATA/BDAT decoders, listener), queue hand-off (posting a
             job from the I/O thread); on the queue thread the SqliteStore call
             (COMMIT, insert, outcome record, claim, other); else the event loop
             (Asio scheduler and reactor)
  mode       user, or kernel with the system call the sample is under (sendto,
             recvfrom, epoll_wait, fdatasync, pwrite64, futex, ...)
Frames are matched by symbol and source file name prefix (`perf script -F srcline`), since a
coroutine's body shows as an inlined frame whose name alone is ambiguous ("run").
Prints the share of the relay's samples per (thread, component, mode), and, with
--cpu-ms MS (the relay's CPU per message from a run without perf), each share as CPU
ms per message.

Usage: bench/perf_components.py [--cpu-ms MS] [--min 0.5] [--script-output TXT] PERF_DATA
Never: changes the perf file; runs only `perf script` on it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from typing import Dict, List, Tuple

Frame = Tuple[str, str, str]  # (symbol, dso, source file)

SYSCALL = re.compile(r"__(?:x64|se|do)_sys_(\w+)")

# (component, symbol substrings, source file names); first match wins (see header).
IO_RULES: List[Tuple[str, Tuple[str, ...], Tuple[str, ...]]] = [
    ("logging", ("spdlog::",), ("logging.cpp", "decision_log.cpp")),
    ("TLS", ("SSL_", "ssl3_", "tls13_", "EVP_"), ()),
    ("Received header", ("build_received_header",), ("received_header.cpp",)),
    ("body spool writes", ("BodySpooler", "BodyWriter"), ("body_spooler.cpp", "body_writer.cpp")),
    ("delivery client", ("SmtpClient", "DeliveryEngine", "stuffed_body", "ClientStream"),
     ("smtp_client.cpp", "client_stream.cpp", "queue_bridge.cpp", "judge.cpp",
      "stored_body_reader.cpp", "body_reader.cpp", "dot_stuffer.hpp", "delivery_engine",
      "reply_parser.cpp", "ehlo_capabilities.cpp", "throttle.cpp")),
    ("SMTP session", ("ServerFsm", "DataDecoder", "ServerSession", "BdatDecoder"),
     ("server_session.cpp", "server_fsm", "data_decoder.cpp", "bdat_decoder.cpp",
      "command_parser.cpp", "listener.cpp", "reply_table.cpp", "esmtp_parameters.cpp",
      "header_section_meter.hpp")),
    ("queue hand-off", ("MessageQueue::",), ("message_queue.cpp",)),
]
QUEUE_RULES: List[Tuple[str, Tuple[str, ...]]] = [
    ("COMMIT (WAL frames)", ("SqliteStore::commit",)),
    ("insert envelope", ("SqliteStore::insert",)),
    ("outcome record", ("SqliteStore::record",)),
    ("claim due", ("SqliteStore::claim_due",)),
    ("spool directory fsync", ("sync_directory",)),
    ("spool unlink", ("Spool::remove",)),
    ("BEGIN / other SQL", ("SqliteStore::",)),
]


HEADER = re.compile(r"^\s*(\d+)\s*$")  # a sample's first line: its thread id


def perf_script(path: str) -> str:
    return subprocess.run(["perf", "script", "-i", path, "-F", "tid,ip,sym,dso,srcline"],
                          capture_output=True, text=True, check=True).stdout


def read_samples(out: str) -> List[Tuple[int, List[Frame]]]:
    samples: List[Tuple[int, List[Frame]]] = []
    frames: List[Frame] = []
    tid = None
    pending: List[str] = []  # a frame line waiting for its srcline line
    for line in out.splitlines():
        if not line.strip():
            continue
        header = HEADER.match(line)
        if header:
            if tid is not None:
                samples.append((tid, frames))
            tid, frames, pending = int(header.group(1)), [], []
            continue
        if line.startswith("\t"):
            m = re.match(r"\s*[0-9a-f]+ (.*) \(([^)]*)\)\s*$", line)
            if m is None:
                m2 = re.match(r"\s*[0-9a-f]+ (.*)$", line)
                pending = [m2.group(1) if m2 else "?", ""]
            else:
                pending = [m.group(1), m.group(2)]
            frames.append((pending[0], pending[1], ""))
        else:  # srcline of the frame above
            src = line.strip().split(":", 1)[0].rsplit("/", 1)[-1]
            if frames:
                sym, dso, _ = frames[-1]
                frames[-1] = (sym, dso, src)
    if tid is not None:
        samples.append((tid, frames))
    return samples


def thread_kind(frames: List[Frame]) -> str:
    for sym, _, src in frames:
        if "run_thread" in sym and ("message_queue.cpp" in src or "MessageQueue" in sym):
            return "queue"
        if "BodySyncPool" in sym or src == "body_sync_pool.cpp":
            return "body-sync"
        if "io_context::run" in sym or sym == "relay::serve":
            return "io"
    return "other"


# The libc wrapper a kernel sample returns to names its system call when the kernel
# part of the stack does not (a sample at syscall exit: scheduling, signal work).
WRAPPERS = (("sendmsg", "sendmsg"), ("send", "sendto"), ("recvmsg", "recvmsg"),
            ("recv", "recvfrom"), ("epoll_wait", "epoll_wait"), ("epoll_ctl", "epoll_ctl"),
            ("fdatasync", "fdatasync"), ("fsync", "fsync"), ("pwrite", "pwrite64"),
            ("pread", "pread64"), ("write", "write"), ("read", "read"),
            ("lll_lock", "futex"), ("futex", "futex"), ("pthread_cond", "futex"),
            ("unlink", "unlink"), ("fcntl", "fcntl"), ("openat", "openat"),
            ("close", "close"), ("accept", "accept4"))


def mode_of(frames: List[Frame]) -> str:
    """user, or "kernel CALL" (+ ", context switch" for a sample in the switch itself)."""
    if not frames or "kernel" not in frames[0][1]:
        return "user"
    call = ""
    for sym, dso, _ in frames:
        if "kernel" not in dso:
            if not call:
                name = sym.lstrip("_").replace("GI_", "").replace("libc_", "").lstrip("_")
                call = next((c for w, c in WRAPPERS if name.startswith(w)), "")
            break
        m = SYSCALL.search(sym)
        if m and not call:
            call = m.group(1)
    if not call:
        if any(sym.startswith(("exc_page_fault", "asm_exc_page_fault")) for sym, _, _ in frames):
            call = "page fault"
        else:
            call = "other"
    switch = frames[0][0].startswith("finish_task_switch")
    return "kernel " + call + (", context switch" if switch else "")


def component(kind: str, frames: List[Frame]) -> str:
    if kind == "queue":
        for name, syms in QUEUE_RULES:
            if any(s in sym for sym, _, _ in frames for s in syms):
                return name
        return "queue loop (jobs, callbacks, wake-ups)"
    if kind == "body-sync":
        return "body fdatasync"
    for name, syms, srcs in IO_RULES:
        for sym, dso, src in frames:
            if any(s in sym for s in syms) or (src and src.startswith(srcs)):
                return name
            if name == "TLS" and ("libssl" in dso or "libcrypto" in dso):
                return name
    return "event loop (Asio)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("perf_data")
    ap.add_argument("--script-output", help="`perf script -F tid,ip,sym,dso,srcline` "
                    "output of PERF_DATA saved earlier (resolving source lines takes minutes)")
    ap.add_argument("--cpu-ms", type=float, default=0.0)
    ap.add_argument("--min", type=float, default=0.5, help="hide rows below this %%")
    args = ap.parse_args()
    if args.script_output:
        with open(args.script_output) as f:
            samples = read_samples(f.read())
    else:
        samples = read_samples(perf_script(args.perf_data))
    if not samples:
        print("no samples", file=sys.stderr)
        return 1
    # A thread's kind is what most of its samples say.
    votes: Dict[int, Counter] = {}
    for tid, frames in samples:
        votes.setdefault(tid, Counter())[thread_kind(frames)] += 1
    kinds = {tid: c.most_common(1)[0][0] for tid, c in votes.items()}
    rows: Counter = Counter()
    by_thread: Counter = Counter()
    by_mode: Counter = Counter()
    for tid, frames in samples:
        kind = kinds[tid]
        mode = mode_of(frames)
        rows[(kind, component(kind, frames), "user" if mode == "user" else "kernel")] += 1
        by_thread[kind] += 1
        by_mode[(kind, mode)] += 1
    total = len(samples)

    def cell(n: int) -> str:
        share = 100.0 * n / total
        return f"{share:5.1f} %" + (f"  {args.cpu_ms * n / total:7.4f} ms/msg" if args.cpu_ms else "")

    print(f"{args.perf_data}: {total} samples")
    print("\nby thread:")
    for kind, n in by_thread.most_common():
        print(f"  {kind:10s} {cell(n)}")
    print("\nby thread, component, user/kernel:")
    for (kind, comp, mode), n in sorted(rows.items(), key=lambda kv: -kv[1]):
        if 100.0 * n / total >= args.min:
            print(f"  {kind:10s} {comp:40s} {mode:7s} {cell(n)}")
    print("\nby thread and system call:")
    for (kind, mode), n in sorted(by_mode.items(), key=lambda kv: -kv[1]):
        if 100.0 * n / total >= args.min:
            print(f"  {kind:10s} {mode:28s} {cell(n)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
