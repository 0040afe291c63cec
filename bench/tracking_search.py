#!/usr/bin/python3
"""bench/tracking_search.py — how fast `hubrelay track` answers over many records.

Generates N tracking records (default 1,000,000: about 312,000 messages of three or four
events — receive, queue, a deferral on one hop for one in five, delivery) in the tracking file
format (docs/tracking.md), over several daily files rotated by size, then times
`hubrelay track` searches: by recipient, by Message-ID, by domain, by sender, by queue
id, and an event-only scan. The first search of a file builds its index (.idx beside
it); the timings after it are what an administrator sees. Prints one line per search.

Usage: bench/tracking_search.py [--records N] [--dir DIR] [--binary build/relay/hubrelay]
Reusable: generate(dir, records) writes the files and returns a sample of what it wrote.
"""

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DAY_MS = 86_400_000
MAX_FILE = 64 * 1024 * 1024


def iso(ms):
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{ms % 1000:03d}Z"


def generate(directory, records, start_ms=None, seed=1):
    """Writes `records` records into `directory`; returns samples for the searches."""
    rng = random.Random(seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    messages = max(1, int(records / 3.2))  # 3.2 events per message on average
    now = int(time.time() * 1000)
    start_ms = start_ms if start_ms is not None else now - 2 * DAY_MS
    step = max(1, (now - start_ms) // messages)
    files = {}
    written = 0
    samples = {}

    def out_for(ms):
        day = ms // DAY_MS
        seq, handle, size = files.get(day, (0, None, 0))
        if handle is None or size > MAX_FILE:
            if handle is not None:
                handle.close()
                seq += 1
            stamp = time.strftime("%Y%m%d", time.gmtime(day * 86400))
            handle = open(directory / f"tracking-{stamp}-{seq:03d}.jsonl", "a")
            size = 0
        files[day] = (seq, handle, size)
        return day, handle

    for m in itertools.count():
        if written >= records:
            break
        t = start_ms + m * step
        qid = f"{m + 1:016X}"
        mid = f"{m:08x}.{rng.getrandbits(32):08x}@mail{m % 50}.example.org"
        sender = f"user{rng.randrange(5000)}@sender{rng.randrange(300)}.example.org"
        rcpt = f"person{rng.randrange(200000)}@dest{rng.randrange(2000)}.example.com"
        client = f"10.{m % 4}.{rng.randrange(256)}.{rng.randrange(256)}"
        base = {"queue_id": qid, "sender": sender, "recipients": [rcpt], "size": 2000 + rng.randrange(50000),
                "direction": "outbound", "listener": "outbound"}
        events = [
            dict(base, time=iso(t), event="receive", message_id=mid, client=client, helo="hub1.corp.example",
                 tls_protocol="TLSv1.3", tls_cipher="TLS_AES_256_GCM_SHA384"),
            dict(base, time=iso(t + 3), event="queue", message_id=mid, latency_ms=3),
        ]
        if m % 5 == 0:
            events.append(dict(base, time=iso(t + 40), event="defer", hop="smarthost-a", remote="10.9.0.1:25",
                               reply="451 4.3.0 try again later", attempt=1, stage="next_hop", latency_ms=40))
        events.append(dict(base, time=iso(t + 80), event="deliver", hop="smarthost-b", remote="10.9.0.2:25",
                           reply="250 2.0.0 Ok: queued", attempt=2 if m % 5 == 0 else 1, latency_ms=80))
        for e in events:
            if written >= records:
                break
            ms = t
            day, handle = out_for(ms)
            line = json.dumps({"time": e.pop("time"), "event": e.pop("event"), **e}, separators=(",", ":")) + "\n"
            handle.write(line)
            seq, h, size = files[day]
            files[day] = (seq, h, size + len(line))
            written += 1
        if m == messages // 2:
            samples = {"recipient": rcpt, "message_id": mid, "queue_id": qid, "sender": sender,
                       "domain": rcpt.split("@")[1]}
    for _, handle, _ in files.values():
        handle.close()
    return samples


def run_track(binary, directory, args):
    began = time.monotonic()
    done = subprocess.run([binary, "track", "--dir", str(directory), *args], capture_output=True, text=True,
                          timeout=600)
    elapsed = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"track {args} failed: {done.stderr}")
    return elapsed, done.stdout.count("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dir")
    parser.add_argument("--binary", default=os.environ.get("HUBRELAY_BIN", "build/relay/hubrelay"))
    a = parser.parse_args()
    directory = Path(a.dir or tempfile.mkdtemp(prefix="hubrelay-tracking-bench-"))
    began = time.monotonic()
    s = generate(directory, a.records)
    size = sum(f.stat().st_size for f in directory.glob("*.jsonl"))
    print(f"generated {a.records} records, {size / 1e6:.0f} MB in {directory} "
          f"({time.monotonic() - began:.1f} s)")
    searches = [
        ("first search (builds the indexes)", ["--recipient", s["recipient"]]),
        ("recipient", ["--recipient", s["recipient"]]),
        ("message-id (whole story)", ["--message-id", s["message_id"]]),
        ("queue id", ["--queue-id", s["queue_id"]]),
        ("sender", ["--sender", s["sender"]]),
        ("recipient domain", ["--recipient", s["domain"]]),
        ("recipient, by message", ["--recipient", s["recipient"], "--by-message"]),
        ("event only (full scan)", ["--event", "defer", "--since", "1h"]),
    ]
    for name, args in searches:
        elapsed, lines = run_track(a.binary, directory, args)
        print(f"{name:36s} {elapsed * 1000:8.0f} ms  {lines} line(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
