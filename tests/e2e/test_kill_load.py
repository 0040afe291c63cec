#!/usr/bin/python3
"""tests/e2e/test_kill_load.py — kill -9 under load loses nothing acknowledged.

Owns: ROUNDS rounds (HUBRELAY_KILL_ROUNDS, default 20) of: the relay runs while a
LoadClient (4 threads, persistent sessions) sends and records every 250; at a random
moment (seeded RNG, seed printed) the relay gets SIGKILL and is restarted at once on the
same config and state_dir. Afterwards the client stops and the last relay must deliver
every acknowledged message to the hop (FaultHop in accept mode, which records
Message-IDs). Duplicates are allowed only for deliveries in flight at a kill, so they are
reported and bounded by rounds x hop max_connections (the most that can be in flight).
Never: asserts timing; every wait is bounded.
Standards: RFC 5321 §6.1 (an accepted message must not be lost).
"""

import os
import random
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from faults import FaultHop, LoadClient, dedupe_report  # noqa: E402
from harness import INBOUND_HOST, E2ETestCase, Hop, free_port, wait_for  # noqa: E402

ROUNDS = int(os.environ.get("HUBRELAY_KILL_ROUNDS", "20"))
HOP_MAX_CONNECTIONS = 20  # conf default; bounds deliveries in flight at a kill


class KillUnderLoadTest(E2ETestCase):
    def test_kill9_rounds_under_load_lose_nothing_acknowledged(self):
        seed = int(os.environ.get("HUBRELAY_KILL_SEED", str(int(time.time()))))
        rng = random.Random(seed)
        print(f"[e2e] kill -9 under load: {ROUNDS} rounds, seed {seed}", file=sys.stderr)
        hop = FaultHop(free_port("127.0.0.1")).start()
        self.addCleanup(hop.stop)
        cfg, path = self.make_config([Hop("hub", hop.port)], [Hop("smarthost", hop.port)],
                                     log_level="info")
        relay = self.start_relay(cfg, path)
        client = LoadClient(INBOUND_HOST, cfg.inbound_port, threads=4, timeout=10).start()
        self.addCleanup(client.stop)
        acked_before_kill = []
        for round_no in range(ROUNDS):
            # Random moment: let at least some mail flow, sometimes a lot.
            time.sleep(rng.uniform(0.2, 1.5))
            relay.kill()
            acked_before_kill.append(len(client.acked_ids()))
            relay = self.start_relay(cfg, path)
        time.sleep(1.0)
        client.stop()
        acked = client.acked_ids()
        self.assertGreater(len(acked), ROUNDS, "the load client got almost no 250s")

        def all_delivered():
            missing, _ = dedupe_report(acked, hop.message_ids())
            return not missing

        try:
            wait_for(all_delivered, 120, f"{len(acked)} acknowledged messages at the hop")
        except TimeoutError:
            missing, _ = dedupe_report(acked, hop.message_ids())
            self.fail(f"{len(missing)} of {len(acked)} acknowledged messages never arrived "
                      f"after {ROUNDS} kill -9 rounds (seed {seed}); first: {missing[:5]}")
        time.sleep(2.0)  # let a late duplicate show itself before counting
        missing, dupes = dedupe_report(acked, hop.message_ids())
        print(f"[e2e] kill -9 under load: {len(acked)} acknowledged, all delivered, "
              f"{dupes} duplicate deliveries, {len(hop.message_ids())} deliveries in total "
              f"(unacknowledged deliveries are messages whose 250 the kill swallowed); "
              f"replies seen by the client: {dict(client.replies)}", file=sys.stderr)
        self.assertEqual(missing, [])
        self.assertLessEqual(dupes, ROUNDS * HOP_MAX_CONNECTIONS,
                             "more duplicates than deliveries that can be in flight at kills")
        self.assertTrue(relay.running())


if __name__ == "__main__":
    unittest.main(verbosity=2)
