#!/usr/bin/python3
"""tests/e2e/faults.py — building blocks for the crash and fault survival tests.

Owns: (1) tune_config(): edits a harness-rendered hubrelay.toml (shorter timeouts,
listener caps) without changing harness.py; (2) LoadClient: several threads that send
uniquely Message-ID'd mail over persistent sessions and record every message that got a
250 (the acknowledged set a test later looks for at the sink; with a body generator also
its exact bytes), reconnecting after any fault; (3) FaultHop: a minimal SMTP next hop on asyncio (in a thread) whose behaviour per
connection is a settable mode — accept, stall (say nothing after DATA), reset (RST in
the middle of DATA), 421 banner, down (listener closed) — and which records the
Message-ID of every message it acknowledged; (4) rss_kib() of a pid.
Never: sleeps unboundedly (every loop has a deadline or a stop event, every socket a
timeout), listens beyond 127.0.0.1, or asserts timing.
Threading: LoadClient and FaultHop run their own threads; their results are guarded by
locks and read by the test thread.
Standards: RFC 5321 (dialogue, dot-stuffing; 421 closes the session).
"""

from __future__ import annotations

import asyncio
import collections
import random
import re
import smtplib
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Set

from harness import build_message

MID_RE = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)


def tune_config(path: Path, delivery: Optional[Dict[str, str]] = None,
                inbound: Optional[Dict[str, str]] = None) -> None:
    """Rewrites keys in [delivery] and adds/overrides keys of the inbound listener.

    `delivery` values replace existing `key = value` lines of the [delivery] table (the
    harness writes every key we tune); `inbound` lines are appended to the inbound
    [[listener]] table, right after its `policy = "inbound"` line. Values are TOML."""
    text = path.read_text()
    for key, value in (delivery or {}).items():
        text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text, count=1)
        if n != 1:
            raise AssertionError(f"tune_config: no [delivery] key {key} in {path}")
    if inbound:
        anchor = 'policy = "inbound"\n'
        if anchor not in text:
            raise AssertionError("tune_config: inbound listener not found")
        extra = "".join(f"{k} = {v}\n" for k, v in inbound.items())
        text = text.replace(anchor, anchor + extra, 1)
    path.write_text(text)


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --------------------------------------------------------------------------- load client

class LoadClient:
    """`threads` senders, each over one SMTP session at a time, until stop().

    acked: Message-IDs that got 250 after the final dot. A session that fails in any way
    (refused, reset, 4xx, timeout) is dropped and a new one opened after a short pause:
    the relay being killed or full must look like that to a real client."""

    def __init__(self, host: str, port: int, threads: int = 4, size: int = 512,
                 pause: float = 0.0, timeout: float = 10.0, tag: str = "load",
                 body: Optional[Callable[[random.Random], bytes]] = None, seed: int = 0):
        self.host, self.port, self.size, self.pause = host, port, size, pause
        self.timeout, self.tag = timeout, tag
        # With `body` (called with the thread's RNG, seeded from `seed`), every message gets
        # its own body and `sent` keeps the exact bytes of each acknowledged one.
        self.body, self.seed = body, seed
        self.acked: List[str] = []
        self.sent: Dict[str, bytes] = {}
        self.replies = collections.Counter()  # "250", "452 4.3.1", "conn-error", ...
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(threads)]

    def start(self) -> "LoadClient":
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))

    def count(self, key: str) -> int:
        with self._lock:
            return self.replies[key]

    def acked_ids(self) -> List[str]:
        with self._lock:
            return list(self.acked)

    def _note(self, key: str) -> None:
        with self._lock:
            self.replies[key] += 1

    def _run(self, n: int) -> None:
        fixed = (b"y" * 62 + b"\r\n") * max(1, self.size // 64)
        rng = random.Random(self.seed * 100 + n)
        seq = 0
        while not self._stop.is_set():
            try:
                with smtplib.SMTP(self.host, self.port, local_hostname="load.test",
                                  timeout=self.timeout) as s:
                    s.ehlo()
                    while not self._stop.is_set():
                        seq += 1
                        body = self.body(rng) if self.body else fixed
                        mid, msg = build_message(subject=f"{self.tag} {n}-{seq}", body=body)
                        s.mail("load@example.net")
                        code, text = s.rcpt("bob@example.com")
                        if code not in (250, 251):
                            self._note(f"rcpt {code}")
                            break
                        code, text = s.data(msg)
                        if code == 250:
                            with self._lock:
                                self.acked.append(mid)
                                self.replies["250"] += 1
                                if self.body:
                                    self.sent[mid] = msg
                        else:
                            enhanced = text.decode(errors="replace").split(" ", 1)[0]
                            self._note(f"{code} {enhanced}")
                            s.rset()
                        if self.pause:
                            self._stop.wait(self.pause)
            except (OSError, smtplib.SMTPException):
                self._note("conn-error")
                self._stop.wait(0.05)


def dedupe_report(acked: List[str], delivered_ids: List[Optional[str]]):
    """(missing acknowledged ids, duplicate deliveries of acknowledged ids)."""
    counts = collections.Counter(delivered_ids)
    missing = [m for m in acked if counts[m] == 0]
    dupes = sum(counts[m] - 1 for m in set(acked) if counts[m] > 1)
    return missing, dupes


# --------------------------------------------------------------------------- fault hop

class FaultHop:
    """An SMTP next hop on 127.0.0.1:port whose behaviour is `mode` (settable any time):

      accept   250 to everything; records the Message-ID (acknowledged set)
      stall    normal dialogue, then no reply to the final dot (the relay must time out)
      hold     like accept, but the 250 to the final dot waits for release_held(); `holding`
               counts the messages waiting (a test acts while the relay awaits the reply)
      reset    RST (SO_LINGER 0) in the middle of DATA
      421      "421 4.3.2" banner, then close
      down     the listening socket is closed (connection refused)
      cycle    each new connection takes the next of stall, reset, 421, accept, accept

    Everything runs on one asyncio loop in a daemon thread."""

    CYCLE = ("stall", "reset", "421", "accept", "accept")

    def __init__(self, port: int, mode: str = "accept"):
        self.port = port
        self._mode = mode
        self._lock = threading.Lock()
        self.received: List[Optional[str]] = []
        self.connections = collections.Counter()
        self._cycle = 0
        self.holding = 0
        self._released = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._server: Optional[asyncio.base_events.Server] = None
        self._writers: Set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # -- control (test thread) --
    def start(self) -> "FaultHop":
        self._thread.start()
        self.set_mode(self._mode)
        return self

    def set_mode(self, mode: str) -> None:
        with self._lock:
            self._mode = mode
        fut = asyncio.run_coroutine_threadsafe(self._apply_listening(mode != "down"), self._loop)
        fut.result(10)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def release_held(self) -> None:
        self._released.set()

    def held_count(self) -> int:
        with self._lock:
            return self.holding

    def message_ids(self) -> List[Optional[str]]:
        with self._lock:
            return list(self.received)

    # -- loop side --
    async def _apply_listening(self, listening: bool) -> None:
        if listening and self._server is None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port,
                                                      reuse_address=True)
        elif not listening and self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            for w in list(self._writers):  # a host that goes down drops its sessions too
                self._abort(w)

    async def _shutdown(self) -> None:
        await self._apply_listening(False)
        # Stalled dialogues sleep; cancel them so the loop stops without pending tasks.
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @staticmethod
    def _abort(writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        writer.transport.abort()

    def _next_mode(self) -> str:
        with self._lock:
            mode = self._mode
            if mode == "cycle":
                mode = self.CYCLE[self._cycle % len(self.CYCLE)]
                self._cycle += 1
            self.connections[mode] += 1
            return mode

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._writers.add(writer)
        mode = self._next_mode()
        try:
            await asyncio.wait_for(self._dialogue(mode, reader, writer), 120)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            if not writer.transport.is_closing():
                writer.close()

    async def _dialogue(self, mode, reader, writer) -> None:
        if mode == "421":
            writer.write(b"421 4.3.2 fault.test Service not available, closing connection\r\n")
            await writer.drain()
            return
        writer.write(b"220 fault.test ESMTP\r\n")
        while True:
            line = await reader.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                writer.write(b"250-fault.test\r\n250-8BITMIME\r\n250 SIZE 104857600\r\n")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                writer.write(b"250 2.0.0 OK\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 2.0.0 bye\r\n")
                await writer.drain()
                return
            elif verb == b"DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                data = bytearray()
                while True:
                    chunk = await reader.readline()
                    if not chunk:
                        return
                    if mode == "reset" and len(data) > 64:
                        self._abort(writer)
                        return
                    if chunk == b".\r\n":
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                if mode == "stall":
                    await asyncio.sleep(3600)  # bounded by _handle's wait_for
                    return
                if mode == "hold":
                    with self._lock:
                        self.holding += 1
                    while not self._released.is_set():  # bounded by _handle's wait_for
                        await asyncio.sleep(0.05)
                m = MID_RE.search(bytes(data))
                with self._lock:
                    self.received.append(m.group(1).decode() if m else None)
                writer.write(b"250 2.0.0 OK queued\r\n")
            else:
                writer.write(b"502 5.5.2 not implemented\r\n")
            await writer.drain()


def jitter(lo: float, hi: float, rng: random.Random) -> float:
    return lo + (hi - lo) * rng.random()
