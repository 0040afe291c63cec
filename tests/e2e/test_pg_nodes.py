#!/usr/bin/python3
"""tests/e2e/test_pg_nodes.py — two relay nodes share one PostgreSQL queue and survive kill -9 of one.

Owns: proof, on a private PostgreSQL primary (tests/e2e/pg_cluster.py), that two relays
(nodes relay-a and relay-b: own state_dir, one conninfo file, lease_time at its minimum)
behind HAProxy (tests/e2e/haproxy.py: roundrobin, PROXY v2, health checks) lose nothing
when one dies under load: SMTP load from a few smtplib sessions retrying like MTAs
(tests/e2e/smtp_load.py) reaches both nodes; node A's next hop stores each message and
holds its 250 a while, so A has deliveries in flight and more mail leased when it gets
SIGKILL; the load goes on through HAProxy, which takes A out; every message acknowledged
with 250 by either node reaches a next hop with only a Received: header prepended; every
message A had leased at the kill is delivered by node B, never before A's lease ran out,
with one attempt in the queue's history, and B's log names each one it took over; nothing
is left pending. Duplicates (one Message-ID twice) are printed; they are allowed only for
A's deliveries in flight (at most its connections to the next hop) and for messages the
senders sent again after A cut their session.
Each node delivers to its own sink (A's slow, B's prompt), so the sink a message arrived
at names the node that delivered it.
Never: asserts timing; waits without a bound; touches system services.
Skips (reason printed) without PostgreSQL 15's server programs or haproxy.
"""

import collections
import re
import sys
import threading
import time
import unittest
from pathlib import Path
from typing import Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pg_cluster  # noqa: E402
from harness import E2ETestCase, Hop, RelayConfig, free_port, message_id_of, settle, wait_for  # noqa: E402
from haproxy import HAPROXY, start_haproxy  # noqa: E402
from smtp_load import SEND_DEADLINE, RetryingSender, queued_count  # noqa: E402
from test_pg_queue import postgresql_config  # noqa: E402

PASSWORD = "Pg-nodes-e2e-s3cret"
NODE_A, NODE_B = "relay-a", "relay-b"
LEASE_TIME = 30            # seconds: the smallest [queue.postgresql] lease_time
HOP_CONNECTIONS = 2        # [hop] max_connections: at most this many deliveries in flight per node
HOLD = 2.0                 # seconds node A's next hop holds its 250 after storing a message
BATCH = 40                 # messages; half before the kill, half after
DELIVERY_WAIT = LEASE_TIME + 45.0
PENDING = 0                # recipients.state: queue::RecipientState::pending
DELIVERED = 1


@unittest.skipIf(pg_cluster.available() is not None, pg_cluster.available() or "")
@unittest.skipIf(HAPROXY is None, "haproxy is not installed (Debian package haproxy; "
                                  "scripts/setup-debian.sh installs it)")
class PgNodesTest(pg_cluster.PrimaryForClass, E2ETestCase):
    password = PASSWORD

    def sql(self, query: str) -> List[List[str]]:
        """Rows of `query` on the relays' database, as the superuser."""
        out = self.cluster.psql_local(self.cluster.primary, query, database=pg_cluster.DATABASE)
        return [line.split("|") for line in out.splitlines() if line]

    def node_config(self, node: str, host: str, sink_port: int) -> Tuple[RelayConfig, Path]:
        """One node: its own state_dir and listeners on `host`, the shared conninfo file."""
        state = self.dir / f"state-{node}"
        state.mkdir()
        hop = Hop("hub", sink_port, extra=[f"max_connections = {HOP_CONNECTIONS}"])
        cfg = RelayConfig(state_dir=state, inbound_port=free_port(host), outbound_port=free_port(host),
                          inbound_bind=host, outbound_bind=host, inbound_hops=[hop], outbound_hops=[hop],
                          log_level="info",
                          inbound_extra=["proxy_protocol = true", 'proxy_from = ["127.0.0.0/8"]'])
        path = self.dir / f"hubrelay-{node}.toml"
        path.write_text(postgresql_config(cfg.render(), "pg.conninfo", node=node, lease_time=f"{LEASE_TIME}s"))
        return cfg, path

    def leased_to(self, node: str) -> Dict[str, Tuple[int, int]]:
        """Message-ID -> (queue id, lease_until in Unix ms) of every message with a pending
        recipient leased to `node`."""
        rows = self.sql("SELECT substring(convert_from(b.data, 'UTF8') from '(?i)Message-ID:[ \t]*(<[^>]*>)'), "
                        f"r.message_id, max(r.lease_until) FROM recipients r JOIN bodies b ON b.message_id = "
                        f"r.message_id WHERE r.state = {PENDING} AND r.lease_node = '{node}' GROUP BY 1, 2")
        return {mid: (int(qid), int(until)) for mid, qid, until in rows}

    def test_killed_node_leased_mail_is_delivered_by_the_other_node(self):
        self.cluster.empty_database()
        self.cluster.write_conninfo_file(self.dir / "pg.conninfo")
        sink_a = self.start_sink("hub-a", modes=[f"delay-after-store={HOLD}"])
        sink_b = self.start_sink("hub-b")
        cfg_a, path_a = self.node_config(NODE_A, "127.0.0.1", sink_a.port)
        cfg_b, path_b = self.node_config(NODE_B, "127.0.0.2", sink_b.port)
        relay_a = self.start_relay(cfg_a, path_a)
        relay_b = self.start_relay(cfg_b, path_b)
        for relay, node in ((relay_a, NODE_A), (relay_b, NODE_B)):
            self.assertIn(f"node={node} queue=postgresql", relay.log_text())
        self._logs.append(self.dir / "haproxy.log")
        proxy = start_haproxy(self.dir, [("relay_a", "127.0.0.1", cfg_a.inbound_port),
                                         ("relay_b", "127.0.0.2", cfg_b.inbound_port)],
                              send_proxy=True, source="127.0.0.1")
        self.addCleanup(proxy.stop)

        # ---- the first half of the load, over both nodes ----
        killed = threading.Event()
        sender = RetryingSender("127.0.0.1", proxy.port, "pg-nodes", BATCH, gate=killed).start()
        self.addCleanup(killed.set)  # a failed wait below must not leave the senders parked
        wait_for(lambda: len(sender.acked_ids()) >= BATCH // 2, SEND_DEADLINE,
                 "the first half of the load acknowledged")
        # A delivery of node A's is in flight: its next hop has stored the message and holds
        # the 250, so A has not recorded it. Node A still has mail leased beyond it.
        wait_for(lambda: sink_log_count(sink_a, "stored") > sink_log_count(sink_a, "answered"), 30,
                 "node A's next hop to hold the 250 of one of its deliveries")
        relay_a.kill()
        killed_at = time.time()
        leased = self.leased_to(NODE_A)
        queued_a, queued_b = queued_count(relay_a.log_text()), queued_count(relay_b.log_text())
        acked_at_kill = len(sender.acked_ids())
        at_sink_a_at_kill = len(sink_a.messages())
        killed.set()
        self.assertGreater(queued_a, 0, "node A accepted nothing: HAProxy did not spread the load")
        self.assertGreater(queued_b, 0, "node B accepted nothing: HAProxy did not spread the load")
        self.assertGreater(len(leased), 0, "node A had no mail leased at the kill: the test proves nothing")

        # ---- the second half, through HAProxy, which takes A out ----
        self.assertTrue(sender.join(SEND_DEADLINE + 30), "the senders did not finish")
        self.assertEqual(sender.failed, [], "messages refused for good")
        acked = sender.acked_ids()
        self.assertEqual(len(acked), BATCH)
        self.assertLess(acked_at_kill, BATCH, "the kill did not land inside the load")
        wait_for(lambda: "relay_a is DOWN" in proxy.log_path.read_text(errors="replace"), 15,
                 "HAProxy to take node A out")

        def delivered() -> Dict[str, list]:
            found = collections.defaultdict(list)
            for sink, node in ((sink_a, NODE_A), (sink_b, NODE_B)):
                for m in sink.messages():
                    found[message_id_of(m.raw)].append((node, m))
            return found

        def missing() -> List[str]:
            seen = delivered()
            return [mid for mid in acked if mid not in seen] + [
                mid for mid in leased if not any(node == NODE_B for node, _ in seen.get(mid, []))]
        try:
            wait_for(lambda: not missing(), DELIVERY_WAIT, "every acknowledged message at a next hop, and "
                     "node A's leased mail delivered by node B")
        except TimeoutError:
            gone = missing()
            self.fail(f"{len(gone)} acknowledged or leased messages not delivered (leased to A at the kill: "
                      f"{len(leased)}); first: {gone[:5]}")
        settle(2.0)  # a late duplicate shows up now

        found = delivered()
        for mid in acked:
            for _, stored in found[mid]:
                self.assert_received_prepended(sender.messages[mid][0], stored.raw)
        unexpected = [mid for mid in found if mid not in sender.messages]
        self.assertEqual(unexpected, [], "a next hop got mail nobody sent")
        # Node B waited for A's leases: each of A's messages reached B's next hop after
        # its lease had run out (clock order on one machine, not a duration).
        taken_over_at = []
        for mid, (_, until) in leased.items():
            taken_over_at.append(min(m.meta["received_at"] for node, m in found[mid] if node == NODE_B))
            self.assertGreaterEqual(taken_over_at[-1] * 1000, until, f"node B delivered {mid} while A's lease held")
        # Node B's log names each message it took over, and the node whose lease ran out.
        taken_over = re.findall(rf"qid=([0-9A-F]+) lease of node={NODE_A} ran out", relay_b.log_text())
        self.assertEqual(sorted(int(q, 16) for q in taken_over), sorted(qid for qid, _ in leased.values()),
                         "node B's log does not list exactly the messages it took over from node A")
        # The shared queue agrees: nothing pending or leased, every recipient delivered by
        # one recorded attempt (a delivery A made but never recorded is not in it), and each
        # of A's leased messages has exactly one attempt in its history: B's.
        recipients = self.sql("SELECT state, attempts, lease_node IS NULL, count(*) FROM recipients GROUP BY 1, 2, 3")
        self.assertEqual([r[:3] for r in recipients], [[str(DELIVERED), "1", "t"]],
                         f"recipients (state, attempts, unleased, count): {recipients}")
        ids = ",".join(str(qid) for qid, _ in leased.values())
        history = self.sql(f"SELECT message_id, count(*), min(state) FROM attempts WHERE message_id IN ({ids}) "
                           "GROUP BY 1")
        self.assertEqual(sorted(int(h[0]) for h in history), sorted(qid for qid, _ in leased.values()),
                         "a message A had leased has no attempt recorded")
        self.assertTrue(all(h[1:] == ["1", str(DELIVERED)] for h in history),
                        f"A's leased messages' attempts (id, count, state): {history}")

        dupes = {mid: len(copies) for mid, copies in found.items() if len(copies) > 1}
        resent = sender.resent_ids()
        # A's deliveries in flight at the kill: its next hop has them, its lease still held them.
        in_flight = {mid for mid in leased if any(node == NODE_A for node, _ in found[mid])}
        print(f"\n[e2e] pg nodes: {len(acked)} acknowledged (A queued {queued_a}, B queued {queued_b} before "
              f"the kill at {acked_at_kill} acks); node A killed with {len(leased)} messages leased "
              f"({at_sink_a_at_kill} at its next hop by then); all delivered, {len(leased)} of A's by B after "
              f"its lease ran out ({min(taken_over_at) - killed_at:.1f} to {max(taken_over_at) - killed_at:.1f} s "
              f"after the kill); {sum(c - 1 for c in dupes.values())} duplicate deliveries ({len(dupes)} "
              f"messages; A had {len(in_flight)} deliveries in flight; the others were sent again "
              f"after A cut the session): {sorted(dupes)}; sender retries {dict(sender.retries)}",
              file=sys.stderr)
        outside = [mid for mid in dupes if mid not in leased]
        self.assertEqual(outside, [], "duplicates of messages node A had not leased at the kill")
        self.assertGreater(len(in_flight), 0, "node A had no delivery in flight at the kill")
        self.assertLessEqual(len(in_flight), HOP_CONNECTIONS, "node A had more deliveries in flight than connections")
        self.assertEqual(sorted(mid for mid in dupes if mid not in resent), sorted(in_flight),
                         "duplicates other than A's deliveries in flight (and messages the senders sent again)")
        self.assertTrue(relay_b.running())


def sink_log_count(sink, event: str) -> int:
    """Lines "sink PORT: EVENT ..." in the sink's log (stored, answered: one per message)."""
    try:
        text = sink.log_path.read_text(errors="replace")
    except OSError:
        return 0
    return sum(1 for line in text.splitlines() if f": {event} " in line)


if __name__ == "__main__":
    unittest.main(verbosity=2)
