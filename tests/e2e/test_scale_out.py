#!/usr/bin/python3
"""tests/e2e/test_scale_out.py — two hubrelay instances behind HAProxy share nothing.

Owns: one HAProxy process (tests/e2e/haproxy.py: TCP mode, roundrobin, send-proxy-v2,
health checks every 500 ms) on 127.0.0.1 in front of two relays (own state_dir each,
inbound listeners on 127.0.0.1 and 127.0.0.2 with proxy_protocol = true), both relaying
to one sink. Proves: mail is spread over both instances; the PROXY v2 client address
(the sender's source 127.0.0.x, not HAProxy's) is the one in the Received: header; a
SIGKILL of one instance while a batch is being sent, then its restart on the same state
dir, loses no acknowledged message (the sender retries connection errors and 4xx as an
MTA would; duplicates are reported, not hidden).
Never: starts the system haproxy service, asserts timing, waits unboundedly.
Skips (unittest skip, reason printed) when the haproxy binary is not installed.
Standards: RFC 5321 §4.4 (Received), §6.1 (no loss); PROXY protocol v2 (HAProxy spec).
"""

import collections
import re
import sys
import threading
import time
import unittest
from pathlib import Path
from typing import List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (E2ETestCase, Hop, RelayConfig, free_port, message_id_of, unfold,  # noqa: E402
                     wait_for)
from haproxy import HAPROXY, HAProxyProcess, start_haproxy  # noqa: E402
from smtp_load import SEND_DEADLINE, RetryingSender, queued_count  # noqa: E402

PROXY_FROM = '["127.0.0.0/8"]'
BATCH = 60


@unittest.skipIf(HAPROXY is None, "haproxy is not installed (Debian package haproxy; "
                                  "scripts/setup-debian.sh installs it)")
class ScaleOutTest(E2ETestCase):
    def relay_config(self, name: str, host: str, sink_port: int) -> Tuple[RelayConfig, Path]:
        state = self.dir / f"state-{name}"
        state.mkdir()
        cfg = RelayConfig(state_dir=state, inbound_port=free_port(host),
                          outbound_port=free_port(host), inbound_bind=host, outbound_bind=host,
                          inbound_hops=[Hop("hub", sink_port)],
                          outbound_hops=[Hop("smarthost", sink_port)], log_level="info",
                          inbound_extra=["proxy_protocol = true", f"proxy_from = {PROXY_FROM}"])
        return cfg, cfg.write(self.dir / f"hubrelay-{name}.toml")

    def start_haproxy(self, backends: List[Tuple[str, str, int]]) -> HAProxyProcess:
        self._logs.append(self.dir / "haproxy.log")
        proxy = start_haproxy(self.dir, backends, send_proxy=True, source="127.0.0.1")
        self.addCleanup(proxy.stop)
        return proxy

    def wait_delivered(self, sink, acked: List[str], timeout: float, what: str):
        def missing():
            seen = {message_id_of(m.raw) for m in sink.messages()}
            return [m for m in acked if m not in seen]
        try:
            wait_for(lambda: not missing(), timeout, what)
        except TimeoutError:
            gone = missing()
            self.fail(f"{len(gone)} of {len(acked)} acknowledged messages never reached the "
                      f"sink ({what}); first: {gone[:5]}")

    def test_two_relays_behind_haproxy_spread_proxy_address_and_survive_kill(self):
        sink = self.start_sink("hub")
        cfg_a, path_a = self.relay_config("a", "127.0.0.1", sink.port)
        cfg_b, path_b = self.relay_config("b", "127.0.0.2", sink.port)
        relay_a = self.start_relay(cfg_a, path_a)
        relay_b = self.start_relay(cfg_b, path_b)
        proxy = self.start_haproxy([("relay_a", "127.0.0.1", cfg_a.inbound_port),
                                    ("relay_b", "127.0.0.2", cfg_b.inbound_port)])

        # ---- batch 1: spread and the proxied client address ----
        first = RetryingSender("127.0.0.1", proxy.port, "first", BATCH).start()
        self.assertTrue(first.join(SEND_DEADLINE + 30), "first batch senders did not finish")
        self.assertEqual(first.failed, [], "messages refused for good in the first batch")
        acked1 = first.acked_ids()
        self.assertEqual(len(acked1), BATCH)
        self.wait_delivered(sink, acked1, 60, "first batch at the sink")
        on_a, on_b = queued_count(relay_a.log_text()), queued_count(relay_b.log_text())
        print(f"[e2e] scale-out batch 1: {len(acked1)} acknowledged; relay A queued {on_a}, "
              f"relay B queued {on_b}; sender retries {dict(first.retries)}", file=sys.stderr)
        self.assertGreater(on_a, 0, "relay A received nothing: HAProxy did not spread the load")
        self.assertGreater(on_b, 0, "relay B received nothing: HAProxy did not spread the load")
        self.assertGreaterEqual(on_a + on_b, BATCH)

        by_mid = {message_id_of(m.raw): m for m in sink.messages()}
        for mid in acked1:
            raw = by_mid[mid].raw
            header = unfold(raw[:raw.find(b"\r\n\r\n")])
            received = re.search(rb"^Received: from [^\r\n]*", header, re.M)
            self.assertIsNotNone(received, f"no Received: header on {mid}")
            source = first.messages[mid][1]
            self.assertIn(f"([{source}])".encode(), received.group(0),
                          f"Received: header of {mid} does not carry the client address "
                          f"{source} from the PROXY v2 header: {received.group(0)!r}")
            self.assertNotIn(b"([127.0.0.1])", received.group(0),
                             "Received: header names HAProxy's address")

        # ---- batch 2: SIGKILL relay B mid-batch, restart it on its state dir ----
        killed = threading.Event()
        second = RetryingSender("127.0.0.1", proxy.port, "second", BATCH, pace=0.05,
                                gate=killed).start()
        wait_for(lambda: len(second.acked_ids()) >= BATCH // 4, 60,
                 "a quarter of the second batch acknowledged")
        queued_b_before_kill = queued_count(relay_b.log_text())
        relay_b.kill()
        acked_at_kill = len(second.acked_ids())
        killed.set()      # the second half of every sender's share goes out now
        time.sleep(1.5)   # HAProxy marks B down (fall 2 x inter 500 ms); senders retry
        relay_b = self.start_relay(cfg_b, path_b)
        self.assertTrue(second.join(SEND_DEADLINE + 30), "second batch senders did not finish")
        self.assertEqual(second.failed, [], "messages refused for good in the second batch")
        acked2 = second.acked_ids()
        self.assertEqual(len(acked2), BATCH)
        self.assertLess(acked_at_kill, BATCH, "the kill did not land inside the batch")

        acked = acked1 + acked2
        self.wait_delivered(sink, acked, 120, "both batches at the sink after the kill")
        time.sleep(2.0)   # a late duplicate (delivery in flight at the kill) shows up now
        counts = collections.Counter(message_id_of(m.raw) for m in sink.messages())
        dupes = {m: c for m, c in counts.items() if m in set(acked) and c > 1}
        unexpected = [m for m in counts if m not in set(acked)]
        print(f"[e2e] scale-out batch 2: relay B killed after {acked_at_kill} acks "
              f"(B had queued {queued_b_before_kill} in total); {len(acked2)} acknowledged, "
              f"all {len(acked)} delivered; {sum(c - 1 for c in dupes.values())} duplicate "
              f"deliveries ({len(dupes)} messages); {len(unexpected)} unacknowledged "
              f"deliveries; sender retries {dict(second.retries)}", file=sys.stderr)
        self.assertEqual(unexpected, [], "the sink got mail nobody sent")
        self.assertTrue(relay_a.running())
        self.assertTrue(relay_b.running())


if __name__ == "__main__":
    unittest.main(verbosity=2)
