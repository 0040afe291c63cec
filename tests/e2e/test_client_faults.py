#!/usr/bin/python3
"""tests/e2e/test_client_faults.py — idle and slowloris clients do not stop real ones.

Owns: two scenarios on the inbound listener with short timeouts (command 3 s, session
10 s): (1) 500 hostile connections (half idle after the banner, half "slowloris": one
byte per second, never a complete line) under the listener's max_connections cap:
normal clients keep getting their mail accepted while they are connected, and the
relay closes every hostile connection by itself (command timeout for the idle ones,
session timeout for the slowloris ones); (2) more idle connections than the cap: the
excess get "421 4.7.0" at once (not a hang), and once the command timeout frees the
slots a normal client gets in again.
Never: asserts timing; every wait is bounded; uses at most ~520 descriptors.
Standards: RFC 5321 §3.8 and §4.5.3.2 (421 on timeout / overload).
"""

import resource
import socket
import sys
import threading
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from faults import tune_config  # noqa: E402
from harness import (INBOUND_HOST, E2ETestCase, Hop, build_message, message_id_of,  # noqa: E402
                     send_mail, wait_for)

HOSTILE = 500


def open_conn(port: int) -> socket.socket:
    s = socket.create_connection((INBOUND_HOST, port), timeout=10)
    s.setblocking(False)
    return s


def closed_by_peer(s: socket.socket) -> bool:
    """True once the relay has closed `s` (drains whatever it sent before)."""
    try:
        for _ in range(64):
            chunk = s.recv(65536)
            if not chunk:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True
    return False


def first_bytes(s: socket.socket, timeout: float = 10.0) -> bytes:
    s.settimeout(timeout)
    try:
        return s.recv(4096)
    except OSError:
        return b""
    finally:
        s.setblocking(False)


class ClientFaultsTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < HOSTILE + 200:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, HOSTILE + 500), hard))
            except (ValueError, OSError):
                self.skipTest(f"ulimit -n is {soft}; need {HOSTILE + 200}")

    def relay(self, max_connections: int):
        sink = self.start_sink("hub")
        cfg, path = self.make_config([Hop("hub", sink.port)], [Hop("smarthost", sink.port)],
                                     log_level="warn")
        tune_config(path, inbound={"max_connections": str(max_connections),
                                   "command_timeout": '"3s"', "session_timeout": '"10s"'})
        return cfg, self.start_relay(cfg, path), sink

    def hold(self, socks):
        self.addCleanup(lambda: [s.close() for s in socks])
        return socks

    def test_idle_and_slowloris_do_not_stop_normal_clients(self):
        cfg, relay, sink = self.relay(max_connections=1000)
        idle = self.hold([open_conn(cfg.inbound_port) for _ in range(HOSTILE // 2)])
        slow = self.hold([open_conn(cfg.inbound_port) for _ in range(HOSTILE // 2)])
        stop = threading.Event()

        def drip():  # one byte per connection per second, never a CRLF
            while not stop.wait(1.0):
                for s in slow:
                    try:
                        s.send(b"X")
                    except OSError:
                        pass

        t = threading.Thread(target=drip, daemon=True)
        t.start()
        self.addCleanup(stop.set)
        mids = []
        for i in range(10):
            mid, msg = build_message(subject=f"normal {i}")
            send_mail(INBOUND_HOST, cfg.inbound_port, "alice@example.net",
                      ["bob@example.com"], msg)
            mids.append(mid)
        wait_for(lambda: set(mids) <= {message_id_of(x.raw) for x in sink.messages()}, 60, "the normal clients' messages at the sink")
        wait_for(lambda: all(closed_by_peer(s) for s in idle), 60,
                 "the relay closing every idle connection (command timeout)")
        wait_for(lambda: all(closed_by_peer(s) for s in slow), 90,
                 "the relay closing every slowloris connection (session timeout)")
        stop.set()
        t.join(5)
        print(f"[e2e] client faults: {HOSTILE} hostile connections, 10/10 normal messages "
              f"accepted and delivered, every hostile connection closed by the relay",
              file=sys.stderr)
        self.assertTrue(relay.running())

    def test_over_cap_gets_421_and_slots_come_back(self):
        cap = 50
        cfg, relay, sink = self.relay(max_connections=cap)
        held = self.hold([open_conn(cfg.inbound_port) for _ in range(cap)])
        for s in held:  # every held connection got its session (a 220 banner)
            self.assertTrue(first_bytes(s).startswith(b"220"), "a connection under the cap "
                            "must get the banner")
        extra = self.hold([open_conn(cfg.inbound_port) for _ in range(10)])
        for s in extra:
            banner = first_bytes(s)
            self.assertTrue(banner.startswith(b"421 4.7.0"),
                            f"a connection over the cap must get 421 4.7.0, got {banner!r}")

        def normal_client_gets_in():
            try:
                mid, msg = build_message(subject="after the cap")
                send_mail(INBOUND_HOST, cfg.inbound_port, "alice@example.net",
                          ["bob@example.com"], msg)
                return True
            except Exception:  # noqa: BLE001 — 421 while the slots are still held
                return False

        wait_for(normal_client_gets_in, 60, "a normal client accepted after the idle "
                 "connections timed out", interval=0.5)
        self.assertTrue(relay.running())


if __name__ == "__main__":
    unittest.main(verbosity=2)
