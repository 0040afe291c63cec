#!/usr/bin/python3
"""tests/e2e/test_crash.py — an acknowledged message survives kill -9 and restarts.

Owns: the durability contract seen from outside: "250 ... queued as" means the message
is on disk; after SIGKILL and a restart on the same config and state_dir it is
delivered — exactly once when nothing was in flight at the kill, at least once when a
delivery may have been in flight (SMTP cannot do better; the duplicate count is
reported). Also: SIGTERM is a clean stop (exit status 0) that keeps the queue.
Never: asserts timing; waits are bounded.
Standards: RFC 5321 §6.1 (a server that accepted a message must not lose it).
"""

import collections
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (INBOUND_HOST, E2ETestCase, Hop, build_message,  # noqa: E402
                     free_port, message_id_of, queue_message_rows, send_mail, settle,
                     smtp_connect, smtp_transaction, wait_for, with_message_id)

DELIVERY_WAIT = 30.0


class CrashTest(E2ETestCase):
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
