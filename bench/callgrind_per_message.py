#!/usr/bin/python3
"""bench/callgrind_per_message.py — instructions per message from two callgrind runs.

Owns: the subtraction that takes start-up and shutdown out of a callgrind profile. Give
it two profiles of the same thread from runs that differ only in the message count (N1
and N2 messages); for every function it prints the inclusive instructions per message,
(Ir2 - Ir1) / (N2 - N1), largest first, with the share of the thread's total. Profiles
come from `valgrind --tool=callgrind --separate-threads=yes` on the relay (one file per
thread: -01 is the I/O thread, the queue thread is the last one, see
bench/thread_cpu.py for the creation order), e.g. by giving bench/thread_cpu.py a BIN
that is a one-line wrapper running the relay under valgrind.

Usage: bench/callgrind_per_message.py FILE1 N1 FILE2 N2 [--top 30] [--match REGEX]
Never: writes anything; runs only callgrind_annotate.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from typing import Dict

LINE = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+(?:\*\s+)?(.*?)\s*$")


def inclusive(path: str) -> Dict[str, int]:
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100",
                          "--auto=no", path], capture_output=True, text=True,
                         check=True).stdout
    table: Dict[str, int] = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        name = m.group(2)
        name = re.sub(r"\s*\[[^\]]*\]$", "", name)  # the object file
        name = name.split(":", 1)[1] if re.match(r"^[^ ]*\.(?:cpp|hpp|c|h|ipp|S|\?\?\?):", name) else name
        table[name] = max(table.get(name, 0), int(m.group(1).replace(",", "")))
    return table


def total(path: str) -> int:
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("file1")
    ap.add_argument("n1", type=int)
    ap.add_argument("file2")
    ap.add_argument("n2", type=int)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--match", default="")
    args = ap.parse_args()
    n = args.n2 - args.n1
    if n <= 0:
        print("N2 must be larger than N1", file=sys.stderr)
        return 2
    whole = (total(args.file2) - total(args.file1)) / n
    first, second = inclusive(args.file1), inclusive(args.file2)
    rows = sorted(((second[k] - first.get(k, 0)) / n, k) for k in second)
    rows.reverse()
    pattern = re.compile(args.match) if args.match else None
    print(f"thread total: {whole:,.0f} instructions per message ({n} messages apart)")
    shown = 0
    for per_msg, name in rows:
        if pattern and not pattern.search(name):
            continue
        print(f"{per_msg:12,.0f}  {100 * per_msg / whole if whole else 0:5.1f} %  {name[:150]}")
        shown += 1
        if shown >= args.top:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
