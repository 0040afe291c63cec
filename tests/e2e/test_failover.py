#!/usr/bin/python3
"""tests/e2e/test_failover.py — equal-cost hops share the load and cover for each other.

Owns: the delivery contract across several next hops: two equal-cost hops both get
traffic; when one hop's host dies (SIGKILL of its sink process, so pooled connections
break and new ones are refused) every message still arrives exactly once at the
survivor; a hop that answers 4xx makes the relay retry the message on the other hop.
Never: asserts timing or an exact split; waits are bounded (~30 s).
Standards: RFC 5321 §4.5.4.1 (retry on transient failure), §6.1 (reliable delivery).
"""

import collections
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (OUTBOUND_HOST, E2ETestCase, Hop, build_message,  # noqa: E402
                     message_id_of, settle, smtp_connect, smtp_transaction, wait_for)

DELIVERY_WAIT = 30.0


class FailoverTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        self.a = self.start_sink("a")
        self.b = self.start_sink("b")
        hops = [Hop("up-a", self.a.port), Hop("up-b", self.b.port)]
        self.cfg, path = self.make_config(hops, hops)
        self.relay = self.start_relay(self.cfg, path)

    def send_batch(self, n, tag):
        mids = []
        with smtp_connect(OUTBOUND_HOST, self.cfg.outbound_port) as s:
            for i in range(n):
                mid, msg = build_message(sender="carol@example.com",
                                         to=[f"r{i}@elsewhere.example.org"],
                                         subject=f"{tag} {i}")
                smtp_transaction(s, "carol@example.com", [f"r{i}@elsewhere.example.org"], msg)
                mids.append(mid)
        return mids

    @staticmethod
    def ids(messages):
        return [message_id_of(m.raw) for m in messages]

    def wait_all(self, mids, sources, what):
        want = set(mids)

        def arrived():
            seen = set()
            for src in sources:
                seen.update(self.ids(src()))
            return want <= seen

        wait_for(arrived, DELIVERY_WAIT, what)

    def test_spread_then_survive_a_dead_hop(self):
        first = self.send_batch(40, "before")
        self.wait_all(first, [self.a.messages, self.b.messages], "first 40 at A or B")
        at_a = self.ids(self.a.messages())
        at_b = self.ids(self.b.messages())
        print(f"[e2e] spread of 40 over two equal hops: A={len(at_a)} B={len(at_b)}",
              file=sys.stderr)
        self.assertGreater(len(at_a), 0, "hop A got nothing: no load spreading")
        self.assertGreater(len(at_b), 0, "hop B got nothing: no load spreading")

        a_messages = self.a.messages()
        self.a.kill()
        a_before = at_a
        second = self.send_batch(40, "after")
        self.wait_all(first + second, [lambda: a_messages, self.b.messages],
                      "all 80 at A-before-kill or B")
        settle(2.0)  # room for duplicates to show up
        counts = collections.Counter(a_before + self.ids(self.b.messages()))
        self.assertEqual(sorted(counts), sorted(first + second))
        dupes = {mid: n for mid, n in counts.items() if n != 1}
        self.assertEqual(dupes, {}, "messages delivered more than once")
        self.assertEqual(self.ids(self.a.messages()), a_before,
                         "hop A's store changed after its process was killed")

    def test_tempfailing_hop_hands_over_to_the_other(self):
        self.a.stop()
        self.a = self.start_sink("a-tempfail", port=self.a.port, modes=["tempfail"])
        mids = self.send_batch(20, "tempfail")
        self.wait_all(mids, [self.b.messages], "20 messages at B")
        settle(2.0)
        self.assertEqual(self.a.messages(), [], "the tempfailing hop stored something")
        counts = collections.Counter(self.ids(self.b.messages()))
        self.assertEqual({m: n for m, n in counts.items() if n != 1}, {},
                         "messages delivered more than once")


if __name__ == "__main__":
    unittest.main(verbosity=2)
