#!/usr/bin/python3
"""tests/e2e/test_upstream_faults.py — a misbehaving next hop: no loss, no stuck queue.

Owns: a soak (HUBRELAY_SOAK_SECONDS, default 30; the bench mode uses 120) in which the
only hop (faults.FaultHop) cycles per connection through "accept then stall after DATA",
"reset mid-DATA", "421 banner" and "accept", and on top of that flaps (listener closed /
open) every FLAP seconds, while a LoadClient keeps sending. Afterwards the hop turns
healthy and the test checks: every acknowledged message arrives (duplicates reported:
a stalled delivery whose 250 never came is retried, as RFC 5321 requires), no recipient
is left pending in queue.db (no stuck queue), and the relay's RSS stayed bounded
(sampled every second; bound RSS_LIMIT_MIB, generous for ASan builds).
Relay timeouts are shortened (command/data 3 s, backoff 1 s) so faults resolve quickly.
Never: asserts timing; every wait is bounded.
Standards: RFC 5321 §4.5.3.2 (client timeouts), §3.8 (421), §6.1 (no loss).
"""

import os
import sqlite3
import sys
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from faults import FaultHop, LoadClient, dedupe_report, rss_kib, tune_config  # noqa: E402
from harness import INBOUND_HOST, SANITIZED, E2ETestCase, Hop, free_port, wait_for  # noqa: E402

SOAK = float(os.environ.get("HUBRELAY_SOAK_SECONDS", "30"))
FLAP = 3.0
RSS_LIMIT_MIB = 1024 if SANITIZED else 512


def pending_recipients(state_dir: Path) -> int:
    con = sqlite3.connect(f"file:{state_dir / 'queue.db'}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute("SELECT count(*) FROM recipients WHERE state = 0").fetchone()[0]
    finally:
        con.close()


class UpstreamFaultsTest(E2ETestCase):
    def test_soak_with_stalling_resetting_421_and_flapping_hop(self):
        hop = FaultHop(free_port("127.0.0.1"), mode="cycle").start()
        self.addCleanup(hop.stop)
        cfg, path = self.make_config([Hop("hub", hop.port)], [Hop("smarthost", hop.port)],
                                     log_level="info", hop_backoff="1s",
                                     retry_schedule=["1s", "2s"])
        tune_config(path, delivery={"command_timeout": '"3s"', "data_timeout": '"3s"',
                                    "idle_timeout": '"1s"'})
        relay = self.start_relay(cfg, path)
        client = LoadClient(INBOUND_HOST, cfg.inbound_port, threads=3, pause=0.05,
                            tag="soak").start()
        self.addCleanup(client.stop)

        peak_rss = 0
        stop = threading.Event()

        def flapper():
            down = False
            while not stop.wait(FLAP):
                down = not down
                hop.set_mode("down" if down else "cycle")

        flap = threading.Thread(target=flapper, daemon=True)
        flap.start()
        deadline = time.monotonic() + SOAK
        while time.monotonic() < deadline:
            peak_rss = max(peak_rss, rss_kib(relay.proc.pid))
            self.assertTrue(relay.running(), "hubrelay died during the soak\n" + relay.tail())
            time.sleep(1.0)
        stop.set()
        flap.join(FLAP + 5)
        client.stop()
        hop.set_mode("accept")
        acked = client.acked_ids()
        self.assertGreater(len(acked), 0, "the client got no 250 during the soak")

        try:
            wait_for(lambda: not dedupe_report(acked, hop.message_ids())[0], 120,
                     f"{len(acked)} acknowledged messages at the healed hop")
        except TimeoutError:
            missing, _ = dedupe_report(acked, hop.message_ids())
            self.fail(f"{len(missing)} of {len(acked)} acknowledged messages never arrived")
        wait_for(lambda: pending_recipients(cfg.state_dir) == 0, 60,
                 "no pending recipient left in queue.db (stuck queue)")
        peak_rss = max(peak_rss, rss_kib(relay.proc.pid))
        _, dupes = dedupe_report(acked, hop.message_ids())
        print(f"[e2e] upstream faults soak {SOAK:g}s: {len(acked)} acknowledged, all "
              f"delivered, {dupes} duplicates (stalled 250s), hop connections "
              f"{dict(hop.connections)}, peak RSS {peak_rss / 1024:.1f} MiB",
              file=sys.stderr)
        self.assertLess(peak_rss, RSS_LIMIT_MIB * 1024, "relay memory grew during the soak")
        self.assertTrue(relay.running())


if __name__ == "__main__":
    unittest.main(verbosity=2)
