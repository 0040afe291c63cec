#!/usr/bin/python3
"""tests/e2e/test_pg_failover.py — relays sharing a PostgreSQL queue survive the loss of its primary.

Owns: proof, on a private primary with a synchronous standby (tests/e2e/pg_cluster.py), that
two relay nodes whose conninfo lists both servers (target_session_attrs=read-write) ride out
a SIGKILL of the primary under SMTP load and a `pg_ctl promote` of the standby, without a
restart: while no server accepts writes every message is answered 451 4.3.0 (never 250,
never 5xx) and the relays keep running; after promotion both accept again on their own and
log that they reconnected; every message answered 250 reaches the sink byte for byte, the
queue drains, and messages delivered twice (same Message-ID) are counted, printed and
bounded by what was in flight at the kill. Meanwhile one message goes to a sink that
holds its DATA longer than the lease time: its node renews the lease, so the other node
never starts a second delivery (one RCPT at that sink).
Never: asserts timing; waits without a bound; touches system services.
Skips (reason printed) without PostgreSQL 15's server programs.
Standards: RFC 5321 §4.2.5 (451 keeps the sender's copy), §6.1 (no loss).
"""

import collections
import smtplib
import sys
import threading
import time
import unittest
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pg_cluster  # noqa: E402
from harness import (OUTBOUND_HOST, E2ETestCase, Hop, RelayConfig, build_message,  # noqa: E402
                     free_port, hop_toml, message_id_of, received_prefix, route_toml, settle,
                     smtp_connect, smtp_transaction, wait_for)

PASSWORD = "Pg-failover-e2e-s3cret"
SENDER = "alice@example.net"
RECIPIENT = "bob@example.com"
THREADS_PER_RELAY = 3
MAX_MESSAGES_PER_THREAD = 200   # a bound on the load, whatever happens
MAX_ATTEMPTS = 400              # per message (a 451 is retried every RETRY_PAUSE)
RETRY_PAUSE = 0.1
PACE = 0.02                     # between messages of one thread
LEASE_TIME = "30s"              # the smallest allowed: leases of the dead primary's era end soon
SLOW_DOMAIN = "slow.example.com"
SLOW_DELAY = 38                 # seconds the slow sink holds a DATA: longer than LEASE_TIME


def node_config(cfg: RelayConfig, node: str, conninfo_file: Path) -> str:
    """A rendered relay configuration on the shared PostgreSQL queue as `node`; a delivery
    may wait for its final reply longer than the slow sink holds it."""
    return cfg.render().replace('data_timeout = "30s"', 'data_timeout = "90s"').replace(
        "[queue]\n", f'[queue]\nbackend = "postgresql"\nnode = "{node}"\n', 1).replace(
        "[delivery]\n", f'[queue.postgresql]\nconninfo_file = "{conninfo_file}"\nconnect_timeout = "3s"\n'
        f'lease_time = "{LEASE_TIME}"\n\n[delivery]\n', 1)


class Reply:
    """One final answer to a message's DATA, and when it was asked and answered."""

    def __init__(self, relay: int, mid: str, sent_at: float, answered_at: float, code: int, text: str):
        self.relay, self.mid, self.sent_at, self.answered_at = relay, mid, sent_at, answered_at
        self.code, self.text = code, text


class Load:
    """THREADS_PER_RELAY smtplib sessions per relay send unique messages until stopped.

    A 4xx makes the session send the same message (same Message-ID) again after a pause, as
    an MTA's queue would; a 5xx or a lost connection is recorded and the message dropped
    (the test asserts there are none)."""

    def __init__(self, ports: List[int]):
        self.ports = ports
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.messages: Dict[str, bytes] = {}
        self.replies: List[Reply] = []
        self.acked: Dict[str, int] = {}          # mid -> relay that answered 250
        self.awaiting: Dict[str, float] = {}     # mid -> when its DATA went out, until answered
        self.broken: List[Tuple[int, str, str]] = []
        self.threads = [threading.Thread(target=self._run, args=(r, t), daemon=True)
                        for r in range(len(ports)) for t in range(THREADS_PER_RELAY)]

    def start(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def finish(self, timeout: float) -> bool:
        self.stop.set()
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)

    def count(self, relay: int, code: int, after: float = 0.0) -> int:
        with self.lock:
            return sum(1 for r in self.replies if r.relay == relay and r.code == code and r.sent_at >= after)

    def snapshot(self) -> Tuple[Set[str], Set[str]]:
        """(acknowledged, awaiting an answer) right now."""
        with self.lock:
            return set(self.acked), set(self.awaiting)

    def _run(self, relay: int, thread: int) -> None:
        session: Optional[smtplib.SMTP] = None
        try:
            session = smtplib.SMTP("127.0.0.1", self.ports[relay], local_hostname="client.test", timeout=30)
            session.ehlo()
            for n in range(MAX_MESSAGES_PER_THREAD):
                if self.stop.is_set():
                    return
                mid, raw = build_message(sender=SENDER, to=(RECIPIENT,),
                                         subject=f"failover relay {relay} thread {thread} #{n}")
                with self.lock:
                    self.messages[mid] = raw
                if not self._send(session, relay, mid, raw):
                    return
                time.sleep(PACE)
        except (smtplib.SMTPException, OSError) as e:
            with self.lock:
                self.broken.append((relay, "session", f"{type(e).__name__}: {e}"))
        finally:
            if session is not None:
                try:
                    session.quit()
                except (smtplib.SMTPException, OSError):
                    session.close()

    def _send(self, session: smtplib.SMTP, relay: int, mid: str, raw: bytes) -> bool:
        """One message until 250 (True), or False when the session must end."""
        for _ in range(MAX_ATTEMPTS):
            code, _ = session.mail(SENDER)
            if code == 250:
                code, _ = session.rcpt(RECIPIENT)
            if code != 250:
                with self.lock:
                    self.broken.append((relay, mid, f"MAIL/RCPT answered {code}"))
                return False
            sent_at = time.monotonic()
            with self.lock:
                self.awaiting[mid] = sent_at
            code, text = session.data(raw)
            answered_at = time.monotonic()
            with self.lock:
                del self.awaiting[mid]
                self.replies.append(Reply(relay, mid, sent_at, answered_at, code,
                                          text.decode(errors="replace")))
                if code == 250:
                    self.acked[mid] = relay
            if code == 250:
                return True
            if not 400 <= code < 500:
                return True  # recorded above; the assertions report it
            if self.stop.is_set():
                return False  # an unacknowledged message is the sender's to keep
            time.sleep(RETRY_PAUSE)
        with self.lock:
            self.broken.append((relay, mid, f"{MAX_ATTEMPTS} attempts answered 4xx"))
        return False


@unittest.skipIf(pg_cluster.available() is not None, pg_cluster.available() or "")
class PgFailoverTest(E2ETestCase):
    def test_relays_ride_out_primary_loss_and_promotion_under_load(self):
        cluster = pg_cluster.primary_with_standby(self, password=PASSWORD)
        conninfo_file = cluster.write_conninfo_file(self.dir / "pg.conninfo", connect_timeout=2)
        self.assertIn("host=127.0.0.1,127.0.0.1", conninfo_file.read_text())

        sink = self.start_sink("hub")
        slow = self.start_sink("slow", modes=[f"delay={SLOW_DELAY}"])
        slow_route = "\n".join(route_toml("to-slow", "inbound", [SLOW_DOMAIN], [Hop("slow", slow.port)])
                               + [""] + hop_toml(Hop("slow", slow.port)))
        relays, cfgs = [], []
        for node in ("relay-a", "relay-b"):
            state = self.dir / f"state-{node}"
            state.mkdir()
            cfg = RelayConfig(state_dir=state, inbound_port=free_port("127.0.0.1"),
                              outbound_port=free_port(OUTBOUND_HOST),
                              inbound_hops=[Hop("hub", sink.port)], outbound_hops=[Hop("smarthost", sink.port)],
                              accepted_domains=["example.com", SLOW_DOMAIN], extra_routes=slow_route)
            path = self.dir / f"{node}.toml"
            path.write_text(node_config(cfg, node, conninfo_file))
            cfgs.append(cfg)
            relays.append(self.start_relay(cfg, path))

        # The long delivery: relay-a holds its lease past LEASE_TIME only by renewing it.
        slow_mid, slow_msg = build_message(to=(f"carol@{SLOW_DOMAIN}",), subject="held longer than a lease")
        with smtp_connect("127.0.0.1", cfgs[0].inbound_port) as s:
            smtp_transaction(s, SENDER, [f"carol@{SLOW_DOMAIN}"], slow_msg)
        slow_sent = time.monotonic()

        load = Load([cfg.inbound_port for cfg in cfgs]).start()
        self.addCleanup(load.finish, 30)
        wait_for(lambda: all(load.count(r, 250) >= 20 for r in range(2)), 60,
                 "both relays to accept mail before the kill")

        # In flight at the kill: sessions waiting for their 250, acknowledged messages not
        # at the sink yet, and messages that reached the sink shortly before the kill. An
        # outcome is committed without waiting for the disk or the standby (a lost one costs
        # a second delivery, never a message), and the server flushes such commits within
        # three of its 200 ms WAL writer rounds: a delivery recorded in the last moment
        # before the kill may be repeated.
        delivered_earlier = {message_id_of(m.raw) for m in sink.messages()}
        settle(1.0)
        acked_before, awaiting_before = load.snapshot()
        delivered_before = {message_id_of(m.raw) for m in sink.messages()}
        kill_started = time.monotonic()
        cluster.kill_primary()
        kill_done = time.monotonic()
        _, awaiting_after = load.snapshot()
        in_flight = (len(awaiting_before | awaiting_after) + len(acked_before - delivered_before)
                     + len(delivered_before - delivered_earlier))

        # The outage: every relay must have refused some messages before the promotion.
        wait_for(lambda: all(load.count(r, 451, after=kill_done) >= 3 for r in range(2)), 30,
                 "both relays to answer 451 while no server accepts writes")
        settle(2.0)  # a few more rounds of failed reconnections under load
        promote_started = time.monotonic()
        cluster.promote()
        promote_done = time.monotonic()
        wait_for(lambda: all(load.count(r, 250, after=promote_done) >= 10 for r in range(2)), 60,
                 "both relays to accept mail again after the promotion")
        self.assertTrue(load.finish(60), "the senders did not finish")

        for i, relay in enumerate(relays):
            self.assertTrue(relay.running(), f"relay {i} exited:\n{relay.tail()}")
        self.assertEqual(load.broken, [], "sessions cut or messages given up")
        codes = collections.Counter(r.code for r in load.replies)
        self.assertEqual([r for r in load.replies if r.code >= 500], [], "a 5xx answer")
        self.assertEqual(set(codes) - {250, 451}, set(), codes)
        # Sent after the primary was gone, answered before the promotion began: nothing
        # can have committed it, so anything but a temporary failure would be a false 250.
        outage = [r for r in load.replies if r.sent_at >= kill_done and r.answered_at <= promote_started]
        self.assertGreaterEqual(len(outage), 6)
        wrong = [(r.relay, r.code, r.text) for r in outage if not (r.code == 451 and r.text.startswith("4.3.0"))]
        self.assertEqual(wrong, [], "answers during the outage")
        self.assertEqual([(r.relay, r.text) for r in load.replies if r.code == 451 and r.answered_at < kill_started],
                         [], "451 before the primary was killed")

        # Every acknowledged message arrives, byte for byte (plus the relay's Received:).
        acked = dict(load.acked)
        delivered: Dict[str, List[bytes]] = collections.defaultdict(list)

        def all_delivered() -> bool:
            delivered.clear()
            for m in sink.messages():
                delivered[message_id_of(m.raw) or ""].append(m.raw)
            return set(acked) <= set(delivered)
        wait_for(all_delivered, 120, "every acknowledged message at the sink")
        for mid in acked:
            header, why = received_prefix(load.messages[mid], delivered[mid][0])
            self.assertIsNotNone(header, f"{mid}: {why}")
        # The held delivery ended once, after more than a lease time, and nobody else tried.
        got = wait_for(lambda: slow.messages(), SLOW_DELAY + 60, "the held delivery at the slow sink")
        settle(2.0)
        self.assertGreater(time.monotonic() - slow_sent, 30, "the slow sink did not hold the delivery")
        self.assertEqual(message_id_of(got[0].raw), slow_mid)
        slow_rcpts = slow.log_path.read_text().count(f"RCPT from=<{SENDER}> to=<carol@{SLOW_DOMAIN}>")
        self.assertEqual((len(slow.messages()), slow_rcpts), (1, 1),
                         "the long delivery was started twice: its lease was not renewed")

        # Nothing left behind: every recipient finished (leases of the old era included).
        wait_for(lambda: cluster.psql("SELECT count(*) FROM recipients WHERE state = 0",
                                      conninfo=cluster.conninfo(with_password=False)).stdout.strip() == "0",
                 90, "the shared queue to drain")
        # Delivered twice: a commit that reached the standby while its answer was lost (its
        # lease ran out, then a node delivered it) and the sender's retry; or a delivery whose
        # outcome did not reach the standby. Counted once the queue is empty.
        all_delivered()
        duplicates = {mid: len(raws) for mid, raws in delivered.items() if len(raws) > 1}
        retried = sum(1 for r in load.replies if r.code == 451)
        print(f"\n[pg-failover] answers {dict(codes)}; acknowledged {len(acked)}; outage answers "
              f"{len(outage)}; in flight at the kill {in_flight}; delivered twice {len(duplicates)} "
              f"{sorted(duplicates.values())}; 451s retried {retried}; outage "
              f"{promote_started - kill_done:.1f}s", file=sys.stderr)
        self.assertLessEqual(len(duplicates), in_flight, duplicates)
        self.assertLessEqual(max(duplicates.values(), default=1), 2, duplicates)
        self.assertEqual(set(delivered) - set(load.messages), set(), "delivered but never sent")

        for i, relay in enumerate(relays):
            self.assertRegex(relay.log_text(), r"reconnected to the PostgreSQL queue",
                             f"relay {i} did not log its reconnection")
            self.assertNotIn(PASSWORD, relay.log_text(), f"relay {i} logged the password")


if __name__ == "__main__":
    unittest.main(verbosity=2)
