#!/usr/bin/python3
"""bench/accept_latency.py — accept latency of an SMTP relay: end of DATA → 250.

Owns: a small asyncio SMTP client. SESSIONS concurrent sessions each send MESSAGES
messages of SIZE bytes over one connection (MAIL, RCPT, DATA, body). For every message it
takes a monotonic timestamp right before writing the terminating "." line (the body is
already written and drained) and another when the reply to it arrives, so the figure is
what the relay adds: parsing the tail, storing durably (fsync) and answering.
Prints one line: "p50 X ms, p99 Y ms, max Z ms (N messages, K sessions)".
Never: pipelines commands or retries; a non-2xx/3xx reply is an error (exit 1). Every
read has a timeout (TIMEOUT s).
Standards: RFC 5321 (dialogue, dot-stuffing is unnecessary: the body has no leading dots).
"""

import argparse
import asyncio
import statistics
import sys
import time
import uuid

TIMEOUT = 60.0


async def reply(reader) -> bytes:
    """Reads one (possibly multi-line) reply; returns its last line."""
    while True:
        line = await asyncio.wait_for(reader.readline(), TIMEOUT)
        if not line:
            raise ConnectionError("server closed the connection")
        if line[3:4] != b"-":
            return line


async def expect(reader, codes: bytes, what: str) -> None:
    line = await reply(reader)
    if line[:1] not in codes:
        raise RuntimeError(f"{what}: {line!r}")


async def session(host, port, messages, size, samples) -> None:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT)
    try:
        await expect(reader, b"2", "banner")
        writer.write(b"EHLO latency.bench\r\n")
        await expect(reader, b"2", "EHLO")
        filler = (b"x" * 76 + b"\r\n") * max(1, size // 78)
        for _ in range(messages):
            writer.write(b"MAIL FROM:<a@example.net>\r\n")
            await expect(reader, b"2", "MAIL")
            writer.write(b"RCPT TO:<b@example.com>\r\n")
            await expect(reader, b"2", "RCPT")
            writer.write(b"DATA\r\n")
            await expect(reader, b"3", "DATA")
            mid = f"<{uuid.uuid4().hex}@latency.bench>".encode()
            writer.write(b"From: a@example.net\r\nTo: b@example.com\r\nSubject: latency\r\n"
                         b"Message-ID: " + mid + b"\r\n\r\n" + filler)
            await writer.drain()
            t0 = time.monotonic()
            writer.write(b".\r\n")
            await expect(reader, b"2", "end of DATA")
            samples.append(time.monotonic() - t0)
        writer.write(b"QUIT\r\n")
        await reply(reader)
    finally:
        writer.close()


async def main_async(args) -> int:
    samples = []
    await asyncio.gather(*(session(args.host, args.port, args.messages, args.size, samples)
                           for _ in range(args.sessions)))
    samples.sort()
    p50 = statistics.median(samples) * 1000
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000
    print(f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {samples[-1] * 1000:.1f} ms "
          f"({len(samples)} messages, {args.sessions} sessions)")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sessions", type=int, default=50)
    p.add_argument("--messages", type=int, default=40)
    p.add_argument("--size", type=int, default=1024)
    args = p.parse_args()
    try:
        return asyncio.run(main_async(args))
    except (OSError, RuntimeError, asyncio.TimeoutError) as e:
        print(f"accept_latency: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
