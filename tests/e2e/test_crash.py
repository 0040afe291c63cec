#!/usr/bin/python3
"""tests/e2e/test_crash.py — an acknowledged message survives kill -9 and restarts.

Owns: the durability contract seen from outside: "250 ... queued as" means the message
is on disk; after SIGKILL and a restart on the same config and state_dir it is
delivered — exactly once when nothing was in flight at the kill, at least once when a
delivery may have been in flight (SMTP cannot do better; the duplicate count is
reported). Also: SIGTERM is a clean stop (exit status 0) that keeps the queue; it
closes idle sessions at once (421 4.3.2) while a session inside a transaction may
finish; a second SIGTERM during the drain stops at once, acknowledging nothing more.
Never: asserts timing beyond generous bounds; waits are bounded.
Standards: RFC 5321 §6.1 (a server that accepted a message must not lose it).
"""

import collections
import signal
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (INBOUND_HOST, E2ETestCase, Hop, RawSmtp, build_message,  # noqa: E402
                     free_port, message_id_of, queue_message_rows, send_mail, settle,
                     smtp_connect, smtp_transaction, wait_for, with_message_id)

DELIVERY_WAIT = 30.0
WAIT = 15.0
DRAIN_GRACE = 10.0  # relay/daemon.cpp drain_grace


def open_session(port: int) -> RawSmtp:
    """A raw session past EHLO, between transactions."""
    s = RawSmtp(INBOUND_HOST, port, timeout=30)
    assert s.reply().code == 220
    assert s.command("EHLO shutdown.test").code == 250
    return s


def start_data(s: RawSmtp, msg: bytes) -> None:
    """Opens a transaction and sends the first octets of `msg`, leaving it in DATA."""
    assert s.command("MAIL FROM:<alice@example.net>").code == 250
    assert s.command("RCPT TO:<bob@example.com>").code == 250
    assert s.command("DATA").code == 354
    s.send(msg[:20])


def closed_without_reply(s: RawSmtp) -> bool:
    """The server closed (or reset) the connection before sending another reply."""
    try:
        return s.reply() is None
    except ConnectionResetError:
        return True


class DeadHopTestCase(E2ETestCase):
    """A relay whose hop comes up only when the test says so."""

    def relay_with_dead_hop(self):
        """A relay whose only hop port has no listener yet (connection refused)."""
        port = free_port("127.0.0.1")
        cfg, path = self.make_config([Hop("hub", port)], [Hop("smarthost", port)])
        return cfg, path, port, self.start_relay(cfg, path)

    def assert_delivered_once_after_restart(self, cfg, path, port, mid, msg, quiet):
        """The hop comes up on `port` and the relay starts again on the same config: the
        message arrives, once (checked again after `quiet` seconds)."""
        sink = self.start_sink("hub", port)
        self.start_relay(cfg, path)
        got = self.wait_for_message(sink, mid, timeout=DELIVERY_WAIT)
        self.assert_received_prepended(msg, got.raw)
        settle(quiet)
        self.assertEqual(len(with_message_id(sink.messages(), mid)), 1,
                         "delivered more than once after the restart")


class CrashTest(DeadHopTestCase):
    def test_queued_message_survives_sigkill_exactly_once(self):
        cfg, path, port, relay = self.relay_with_dead_hop()
        mid, msg = build_message(body=b"durable\r\n")
        with smtp_connect(INBOUND_HOST, cfg.inbound_port) as s:
            smtp_transaction(s, "alice@example.net", ["bob@example.com"], msg)
            relay.kill()  # before even QUIT
        rows = queue_message_rows(cfg.state_dir)
        self.assertNotEqual(rows, 0, "queue.db has no message row after a 250")
        self.assert_delivered_once_after_restart(cfg, path, port, mid, msg, quiet=3.0)

    def test_kill_right_after_250_with_hop_up_delivers_at_least_once(self):
        sink = self.start_sink("hub")
        cfg, path = self.make_config([Hop("hub", sink.port)], [Hop("smarthost", sink.port)])
        relay = self.start_relay(cfg, path)
        mids = []
        with smtp_connect(INBOUND_HOST, cfg.inbound_port) as s:
            for i in range(10):
                mid, msg = build_message(subject=f"crash {i}")
                smtp_transaction(s, "alice@example.net", ["bob@example.com"], msg)
                mids.append(mid)
            relay.kill()  # right after the last 250, deliveries likely in flight
        self.start_relay(cfg, path)

        def all_there():
            seen = {message_id_of(m.raw) for m in sink.messages()}
            return set(mids) <= seen

        wait_for(all_there, DELIVERY_WAIT, "10 acknowledged messages after kill -9 + restart")
        settle(3.0)
        counts = collections.Counter(message_id_of(m.raw) for m in sink.messages())
        dupes = sum(n - 1 for mid, n in counts.items() if mid in mids)
        print(f"[e2e] kill -9 right after 250 (hop up): 10/10 delivered, "
              f"{dupes} duplicate(s)", file=sys.stderr)
        self.assertEqual(set(counts), set(mids))

    def test_sigterm_exits_zero_and_keeps_the_queue(self):
        cfg, path, port, relay = self.relay_with_dead_hop()
        mid, msg = build_message(body=b"kept over a clean restart\r\n")
        send_mail(INBOUND_HOST, cfg.inbound_port, "alice@example.net", ["bob@example.com"], msg)
        status = relay.stop()
        self.assertFalse(relay.needed_sigkill, "hubrelay did not exit within 15 s of SIGTERM")
        self.assertEqual(status, 0, "exit status after SIGTERM")
        self.assert_delivered_once_after_restart(cfg, path, port, mid, msg, quiet=2.0)


class ShutdownTest(DeadHopTestCase):
    def signal_and_wait_for_drain(self, relay):
        relay.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: "draining" in relay.log_text(), WAIT, "the drain to start")

    def test_sigterm_closes_idle_sessions_at_once_and_lets_a_transaction_finish(self):
        cfg, path, port, relay = self.relay_with_dead_hop()
        busy = open_session(cfg.inbound_port)
        idle = open_session(cfg.inbound_port)
        self.addCleanup(busy.close)
        self.addCleanup(idle.close)
        mid, msg = build_message(body=b"finished during the drain\r\n")
        start_data(busy, msg)

        signalled = time.monotonic()
        self.signal_and_wait_for_drain(relay)
        # The idle session is told at once, before the busy one has even finished: were
        # it kept to the end of the grace period, the busy one would get 421 too.
        replies = idle.replies_until_close()
        print(f"[e2e] idle session closed {time.monotonic() - signalled:.2f}s after SIGTERM",
              file=sys.stderr)
        self.assertEqual([(r.code, r.enhanced) for r in replies], [(421, "4.3.2")])
        # A next transaction pipelined behind the end of data is not started.
        busy.send(msg[20:] + b".\r\nMAIL FROM:<alice@example.net>\r\n")
        self.assertEqual(busy.reply().code, 250, "the transaction in DATA could not finish")
        # Its transaction done, the busy session is closed too.
        replies = busy.replies_until_close()
        self.assertEqual([(r.code, r.enhanced) for r in replies], [(421, "4.3.2")])
        self.assertEqual(relay.stop(), 0, "exit status after SIGTERM")
        self.assertFalse(relay.needed_sigkill)

        sink = self.start_sink("hub", port)
        self.start_relay(cfg, path)
        got = self.wait_for_message(sink, mid, timeout=DELIVERY_WAIT)
        self.assert_received_prepended(msg, got.raw)

    def test_second_sigterm_stops_at_once_during_the_drain(self):
        cfg, path, port, relay = self.relay_with_dead_hop()
        slow = open_session(cfg.inbound_port)
        self.addCleanup(slow.close)
        mid, msg = build_message(body=b"never finished\r\n")
        start_data(slow, msg)

        self.signal_and_wait_for_drain(relay)
        signalled = time.monotonic()
        relay.proc.send_signal(signal.SIGTERM)
        # Stopped at once: the connection drops without the 421 the end of the grace
        # period would have sent, and the relay exits cleanly well before that end.
        self.assertTrue(closed_without_reply(slow), "the slow session got a reply")
        self.assertEqual(relay.proc.wait(timeout=DRAIN_GRACE), 0, "exit status after two SIGTERMs")
        relay.exit_status = 0
        print(f"[e2e] exited {time.monotonic() - signalled:.2f}s after the second SIGTERM",
              file=sys.stderr)
        self.assertIn("second signal: stopping now", relay.log_text())
        # Nothing was acknowledged, so nothing was queued.
        self.assertEqual(queue_message_rows(cfg.state_dir), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
