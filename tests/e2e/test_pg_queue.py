#!/usr/bin/python3
"""tests/e2e/test_pg_queue.py — hubrelay with its queue in PostgreSQL ([queue] backend = "postgresql").

Owns: proof that the real relay runs on a private PostgreSQL primary (tests/e2e/pg_cluster.py):
a message it acknowledges is delivered byte for byte (plus its Received: header); a message
acknowledged while the upstream is down survives kill -9 and is delivered after a restart;
`hubrelay queue` says it cannot read the shared queue instead of answering from a local file;
an unreachable database at start is a non-zero exit whose message names the conninfo file
and never the password.
Never: asserts timing; waits without a bound; touches system services.
Skips (reason printed) without PostgreSQL 15's server programs.
"""

import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pg_cluster  # noqa: E402
from harness import (INBOUND_HOST, E2ETestCase, Hop, build_message, free_port,  # noqa: E402
                     relay_binary, run_cli, settle, smtp_connect, smtp_transaction, with_message_id)

DELIVERY_WAIT = 30.0
PASSWORD = "Pg-queue-e2e-s3cret"


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

    def pg_relay_config(self, hub_port: int):
        cfg, path = self.make_config([Hop("hub", hub_port)], [Hop("smarthost", hub_port)])
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
        # The queue commands read a local SQLite file: on the shared queue they must say so,
        # never answer from a stale or missing queue.db.
        listed = run_cli(["queue", "list", "--config", str(path)])
        self.assertNotEqual(listed.returncode, 0, listed.stdout)
        self.assertIn("the queue is in PostgreSQL", listed.stderr)

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
