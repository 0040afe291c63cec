#!/usr/bin/python3
"""tests/e2e/test_pg_queue.py — hubrelay with its queue in PostgreSQL ([queue] backend = "postgresql").

Owns: proof that the real relay runs on a private PostgreSQL primary (tests/e2e/pg_cluster.py):
a message it acknowledges is delivered byte for byte (plus its Received: header); a message
acknowledged while the upstream is down survives kill -9 and is delivered after a restart;
`hubrelay queue list/show/summary/retry/hold/release/delete`, the admin API's queue view and
the queue depth in /metrics work on the shared queue, show the node holding a recipient's
lease and leave a recipient another node holds alone until that lease runs out; an
unreachable database at start is a non-zero exit whose message names the conninfo file
and never the password.
Never: asserts timing; waits without a bound; touches system services.
Skips (reason printed) without PostgreSQL 15's server programs.
"""

import json
import subprocess
import sys
import unittest
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pg_cluster  # noqa: E402
from harness import (INBOUND_HOST, E2ETestCase, Hop, build_message, free_port, parse_metrics,  # noqa: E402
                     relay_binary, run_cli, settle, smtp_connect, smtp_transaction, wait_for, with_message_id)

DELIVERY_WAIT = 30.0
PASSWORD = "Pg-queue-e2e-s3cret"
ADMIN_TOKEN = "pg-queue-e2e-admin-token-0123456789"
# A lease another node holds, far ahead of any clock here (Unix milliseconds).
FAR_LEASE_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z


def postgresql_config(text: str, conninfo_file: str, node: str = "relay-pg-1", lease_time: str = "") -> str:
    """A rendered relay configuration switched to the PostgreSQL queue, as node `node`
    (lease_time: the [queue.postgresql] key, its default when empty)."""
    lease = f'lease_time = "{lease_time}"\n' if lease_time else ""
    return text.replace("[queue]\n", f'[queue]\nbackend = "postgresql"\nnode = "{node}"\n', 1).replace(
        "[delivery]\n", f'[queue.postgresql]\nconninfo_file = "{conninfo_file}"\nconnect_timeout = "3s"\n'
        f"{lease}\n[delivery]\n", 1)


@unittest.skipIf(pg_cluster.available() is not None, pg_cluster.available() or "")
class PgQueueTest(pg_cluster.PrimaryForClass, E2ETestCase):
    password = PASSWORD

    def setUp(self):
        super().setUp()
        # Each test its own queue: the relays' database emptied of the schema.
        self.cluster.empty_database()

    def pg_relay_config(self, hub_port: int, **overrides):
        cfg, path = self.make_config([Hop("hub", hub_port)], [Hop("smarthost", hub_port)], **overrides)
        self.cluster.write_conninfo_file(self.dir / "pg.conninfo")
        path.write_text(postgresql_config(cfg.render(), "pg.conninfo"))
        return cfg, path

    def test_message_is_delivered_through_the_postgresql_queue(self):
        sink = self.start_sink("hub")
        cfg, path = self.pg_relay_config(sink.port)
        relay = self.start_relay(cfg, path)
        self.assertIn("queue=postgresql", relay.log_text())
        mid, msg = build_message(body=b"through the shared queue\r\n" + bytes(range(32, 127)) + b"\r\n")
        with smtp_connect(INBOUND_HOST, cfg.inbound_port) as s:
            smtp_transaction(s, "alice@example.net", ["bob@example.com"], msg)
        got = self.wait_for_message(sink, mid, timeout=DELIVERY_WAIT)
        self.assert_received_prepended(msg, got.raw)
        count = self.cluster.psql_local(self.cluster.primary, "SELECT count(*) FROM messages",
                                        database=pg_cluster.DATABASE)
        self.assertNotEqual(count, "", "no messages table in the PostgreSQL queue")
        # The queue commands read the shared queue, never a local queue.db: the delivered
        # message is history there (state delivered, body freed).
        listed = run_cli(["queue", "list", "--state", "all", "--json", "--config", str(path)])
        self.assertEqual(listed.returncode, 0, listed.stderr)
        rows = [json.loads(line) for line in listed.stdout.splitlines() if line]
        self.assertEqual([(r["state"], r["body_stored"]) for r in rows], [("delivered", False)], listed.stdout)
        self.assertFalse((self.dir / "state" / "queue.db").exists(), "a local queue.db was created")

    def test_large_messages_are_delivered_through_the_postgresql_queue(self):
        # Bodies above the in-memory limit arrive in a spool file and are copied into the
        # database in the same transaction as small ones, sent ahead of the COMMIT.
        sink = self.start_sink("hub")
        cfg, path = self.pg_relay_config(sink.port)
        self.start_relay(cfg, path)
        line = bytes(range(33, 127)) + b"\r\n"
        sent = []
        with smtp_connect(INBOUND_HOST, cfg.inbound_port) as s:
            for size_mib in (1, 8):
                mid, msg = build_message(body=line * (size_mib * 1024 * 1024 // len(line)),
                                         subject=f"{size_mib} MiB through the shared queue")
                smtp_transaction(s, "alice@example.net", ["bob@example.com"], msg)
                sent.append((mid, msg))
        for mid, msg in sent:
            got = self.wait_for_message(sink, mid, timeout=DELIVERY_WAIT)
            self.assert_received_prepended(msg, got.raw)

    def test_queue_commands_and_admin_api_work_on_the_shared_queue(self):
        port = free_port("127.0.0.1")  # the upstream: nothing listens, the message stays queued
        admin_port = free_port("127.0.0.1")
        token_file = self.dir / "admin.token"
        token_file.write_text(ADMIN_TOKEN + "\n")
        token_file.chmod(0o600)
        cfg, path = self.pg_relay_config(port, extra_toml=f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n'
                                         f'token_file = "{token_file}"\n')
        self.start_relay(cfg, path)
        mid, msg = build_message(body=b"kept in the shared queue\r\n")
        with smtp_connect(INBOUND_HOST, cfg.inbound_port) as s:
            smtp_transaction(s, "alice@example.net", ["bob@example.com"], msg)

        def queue(*args):
            out = run_cli(["queue", *args, "--config", str(path)])
            self.assertEqual(out.returncode, 0, f"queue {' '.join(args)}: {out.stdout}{out.stderr}")
            return out.stdout

        def pending():
            return [json.loads(line) for line in queue("list", "--json").splitlines() if line]
        rows = wait_for(lambda: pending() or None, timeout=DELIVERY_WAIT, what="the message in `queue list`")
        self.assertEqual(len(rows), 1, rows)
        qid = rows[0]["id"]
        # Node relay-pg-2 delivers it now (its lease runs far ahead): no command here may
        # make it due or take it from under that lease.
        self.cluster.psql_local(self.cluster.primary, "UPDATE recipients SET leased = 1, lease_node = 'relay-pg-2', "
                                f"lease_until = {FAR_LEASE_MS}, next_attempt = {FAR_LEASE_MS}",
                                database=pg_cluster.DATABASE)
        lease = "node relay-pg-2 until 2100-01-01T00:00:00Z"
        self.assertIn(f"    <bob@example.com> lease: {lease}\n", queue("list"))
        shown = queue("show", qid)
        self.assertIn(f"\n      lease:      {lease}\n", shown)
        self.assertIn("<bob@example.com> pending attempts=", shown)
        self.assertIn(" in-delivery", shown)
        recipient = json.loads(queue("show", qid, "--json"))["recipients"][0]
        self.assertEqual((recipient["lease_node"], recipient["lease_until"], recipient["in_delivery"]),
                         ("relay-pg-2", "2100-01-01T00:00:00Z", True))
        summary = queue("summary").splitlines()
        self.assertTrue(any(line.split()[:2] == ["example.com", "1"] for line in summary), summary)
        self.assertEqual(queue("retry", qid), "retry: 0 message(s), 0 recipient(s)\n")
        self.assertEqual(queue("hold", qid), "hold: 1 message(s), 0 recipient(s)\n")
        self.assertEqual([r["id"] for r in json.loads("[" + ",".join(queue("list", "--state", "held", "--json")
                                                                     .splitlines()) + "]")], [qid])
        self.assertEqual(queue("release", qid), "release: 1 message(s), 0 recipient(s)\n")
        next_attempt = self.cluster.psql_local(self.cluster.primary, "SELECT next_attempt FROM recipients",
                                               database=pg_cluster.DATABASE)
        self.assertEqual(next_attempt, str(FAR_LEASE_MS), "a leased recipient was made due")

        # The admin API's queue view and the queue depth read the same shared queue.
        def admin_get(target):
            req = urllib.request.Request(f"http://127.0.0.1:{admin_port}{target}")
            req.add_header("Authorization", f"Bearer {ADMIN_TOKEN}")
            with urllib.request.urlopen(req, timeout=15) as resp:
                self.assertEqual(resp.status, 200)
                return resp.read().decode()
        api_rows = [json.loads(line) for line in admin_get("/api/queue?state=all").splitlines() if line]
        self.assertEqual([(r["id"], r["recipients"][0]["lease_node"]) for r in api_rows], [(qid, "relay-pg-2")])
        metrics = parse_metrics(admin_get("/metrics"))
        self.assertEqual(metrics['hubrelay_queue_recipients{direction="inbound",state="deferred"}'] +
                         metrics['hubrelay_queue_recipients{direction="inbound",state="queued"}'], 1.0)

        # The lease ran out (relay-pg-2 died): the recipient is anyone's, retry makes it due.
        # Held first, so this relay's scanner does not take it meanwhile.
        self.assertEqual(queue("hold", qid), "hold: 1 message(s), 0 recipient(s)\n")
        self.cluster.psql_local(self.cluster.primary, "UPDATE recipients SET lease_until = 1000, next_attempt = 1000",
                                database=pg_cluster.DATABASE)
        self.assertIn("(ran out: any node may take it over)", queue("show", qid))
        self.assertEqual(queue("retry", qid), "retry: 1 message(s), 1 recipient(s)\n")
        self.assertEqual(queue("delete", qid), "delete: 1 message(s), 1 recipient(s)\n")
        self.assertEqual(queue("list", "--state", "all", "--json"), "")
        rows = self.cluster.psql_local(self.cluster.primary, "SELECT count(*) FROM messages",
                                       database=pg_cluster.DATABASE)
        self.assertEqual(rows, "0")

    def test_acknowledged_message_survives_kill_and_restart(self):
        port = free_port("127.0.0.1")  # the upstream: nothing listens yet
        cfg, path = self.pg_relay_config(port)
        relay = self.start_relay(cfg, path)
        mid, msg = build_message(body=b"durable in postgresql\r\n")
        with smtp_connect(INBOUND_HOST, cfg.inbound_port) as s:
            smtp_transaction(s, "alice@example.net", ["bob@example.com"], msg)
            relay.kill()  # after the 250, before even QUIT
        rows = self.cluster.psql_local(self.cluster.primary, "SELECT count(*) FROM messages",
                                       database=pg_cluster.DATABASE)
        self.assertEqual(rows, "1", "the acknowledged message is not in the PostgreSQL queue")
        sink = self.start_sink("hub", port)
        self.start_relay(cfg, path)
        got = self.wait_for_message(sink, mid, timeout=DELIVERY_WAIT)
        self.assert_received_prepended(msg, got.raw)
        settle(3.0)
        self.assertEqual(len(with_message_id(sink.messages(), mid)), 1, "delivered more than once")

    def test_unreachable_database_at_start_names_the_file_not_the_password(self):
        cfg, path = self.make_config([Hop("hub", 2601)], [Hop("smarthost", 2602)])
        conninfo = self.dir / "pg.conninfo"
        dead = free_port("127.0.0.1")
        conninfo.write_text(f"host=127.0.0.1 port={dead} dbname=hubrelay user=hubrelay password={PASSWORD} "
                            "connect_timeout=2\n")
        conninfo.chmod(0o600)
        path.write_text(postgresql_config(cfg.render(), "pg.conninfo"))
        self.assert_start_refused(path, conninfo)
        # Wrong credentials: the same, and the password stays out of the message.
        conninfo.write_text(self.cluster.conninfo(with_password=False) + " password=wrong-" + PASSWORD + "\n")
        self.assert_start_refused(path, conninfo)
        # A malformed connection string: libpq's parse error would quote it, password included.
        conninfo.write_text(f"host=127.0.0.1 password={PASSWORD} {PASSWORD}\n")
        self.assert_start_refused(path, conninfo)

    def assert_start_refused(self, path: Path, conninfo: Path) -> None:
        """`hubrelay serve` exits non-zero naming the conninfo file, never the password."""
        proc = subprocess.run([relay_binary(), "serve", "--config", str(path)], capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)
        out = proc.stdout + proc.stderr
        self.assertNotEqual(proc.returncode, 0, out)
        self.assertIn(str(conninfo), out)
        self.assertNotIn(PASSWORD, out)
        print(f"\n[e2e] refused: {out.strip().splitlines()[-1]}", file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
