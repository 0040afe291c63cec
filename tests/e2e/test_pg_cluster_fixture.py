#!/usr/bin/python3
"""tests/e2e/test_pg_cluster_fixture.py — the multi-node fixtures themselves, without hubrelay.

Owns: proof that tests/e2e/pg_cluster.py and tests/e2e/haproxy.py do what the multi-node
tests rely on. PostgreSQL: a primary with a synchronous standby; a row committed with
synchronous_commit = on as the relays' role (TCP, password); the primary SIGKILLed; while
no server accepts writes, a multi-host connection with target_session_attrs=read-write is
refused (what a relay sees until promotion); after `pg_ctl promote` the same connection
string reaches the standby, the row is there and writes work. HAProxy: TCP mode, round-robin
with SMTP health checks over two tiny SMTP listeners spreads connections over both, and
sends every connection to the remaining one once the other is stopped.
Never: asserts timing; waits without a bound; touches system services.
Skips (reason printed) without PostgreSQL 15's server programs or without haproxy.
"""

import socket
import sys
import threading
import unittest
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pg_cluster  # noqa: E402
from harness import E2ETestCase, free_port, wait_for  # noqa: E402
from haproxy import HAPROXY, start_haproxy  # noqa: E402


@unittest.skipIf(pg_cluster.available() is not None, pg_cluster.available() or "")
class PgClusterFixtureTest(E2ETestCase):
    def test_synchronous_commit_survives_primary_kill_and_promotion(self):
        cluster = pg_cluster.primary_with_standby(self)

        # Committed on the primary, acknowledged only once the standby has it on disk.
        cluster.psql("CREATE TABLE probe (id integer PRIMARY KEY, body text NOT NULL)")
        wrote = cluster.psql("SET synchronous_commit = on; "
                             "INSERT INTO probe VALUES (1, 'acknowledged') RETURNING id")
        self.assertEqual(wrote.stdout.strip(), "1")
        self.assertEqual(cluster.psql_local(cluster.primary, "SHOW synchronous_standby_names"),
                         f"FIRST 1 ({pg_cluster.STANDBY_NAME})")

        cluster.kill_primary()
        # Primary gone, standby read-only: a read-write session cannot be had anywhere.
        refused = cluster.psql("SELECT 1", check=False,
                               conninfo=cluster.conninfo(with_password=False, connect_timeout=3))
        self.assertNotEqual(refused.returncode, 0, refused.stdout)
        print(f"\n[pg] before promotion: {refused.stderr.strip().splitlines()[-1:]}", file=sys.stderr)

        cluster.promote()
        # The same multi-host string: the dead primary is skipped, the promoted standby answers.
        conninfo = cluster.conninfo(with_password=False)
        self.assertIn(",", conninfo.split()[0], conninfo)
        read = cluster.psql("SELECT body FROM probe WHERE id = 1", conninfo=conninfo)
        self.assertEqual(read.stdout.strip(), "acknowledged")
        where = cluster.psql("SELECT inet_server_port(), pg_is_in_recovery()", conninfo=conninfo)
        self.assertEqual(where.stdout.strip(), f"{cluster.standby.port}|f")
        wrote = cluster.psql("INSERT INTO probe VALUES (2, 'after promotion') RETURNING id", conninfo=conninfo)
        self.assertEqual(wrote.stdout.strip(), "2")


class TinySmtp:
    """An SMTP listener that greets with its own name and answers HELO/EHLO/NOOP/QUIT: just
    enough for HAProxy's `option smtpchk` and for a client to see who answered."""

    def __init__(self, name: str, host: str = "127.0.0.1"):
        self.name = name
        self.server = socket.create_server((host, free_port(host)))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.server.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()
        self.server.close()

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        with conn:
            try:
                conn.sendall(f"220 {self.name} ESMTP\r\n".encode())
                reader = conn.makefile("rb")
                for _ in range(20):  # bounded: a check or a test client says a few lines
                    line = reader.readline()
                    if not line:
                        return
                    verb = line[:4].upper()
                    if verb == b"QUIT":
                        conn.sendall(b"221 bye\r\n")
                        return
                    conn.sendall(b"250 " + self.name.encode() + b"\r\n" if verb in (b"HELO", b"EHLO")
                                 else b"250 ok\r\n")
            except OSError:
                return

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)


def banner_via(port: int) -> Optional[str]:
    """The name in the banner of one connection through the balancer (None: no banner)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            line = s.makefile("rb").readline().decode(errors="replace")
            s.sendall(b"QUIT\r\n")
    except OSError:
        return None
    return line.split()[1] if line.startswith("220 ") and len(line.split()) > 1 else None


@unittest.skipIf(HAPROXY is None, "haproxy is not installed (Debian package haproxy; "
                                  "scripts/setup-debian.sh --test installs it)")
class HAProxyFixtureTest(E2ETestCase):
    def test_round_robin_spreads_and_health_checks_drop_a_dead_listener(self):
        a, b = TinySmtp("relay_a"), TinySmtp("relay_b")
        self.addCleanup(a.stop)
        self.addCleanup(b.stop)
        proxy = start_haproxy(self.dir, [("relay_a", "127.0.0.1", a.port), ("relay_b", "127.0.0.1", b.port)])
        self.addCleanup(proxy.stop)
        self._logs.append(proxy.log_path)
        # Both servers start UP (rise 1 after the first good check): wait for both to answer.
        seen: List[str] = []
        wait_for(lambda: seen.append(banner_via(proxy.port)) or {"relay_a", "relay_b"} <= set(seen), 30,
                 f"both listeners behind HAProxy to answer (seen {seen[-6:]})")
        spread = [banner_via(proxy.port) for _ in range(10)]
        print(f"\n[haproxy] ten connections: {spread}", file=sys.stderr)
        self.assertGreaterEqual(spread.count("relay_a"), 3, spread)
        self.assertGreaterEqual(spread.count("relay_b"), 3, spread)

        b.stop()
        # fall 2 failed checks take it out; until then a connection to it is redispatched.
        wait_for(lambda: all(banner_via(proxy.port) == "relay_a" for _ in range(4)), 30,
                 "HAProxy to send every connection to the remaining listener")
        after = [banner_via(proxy.port) for _ in range(6)]
        self.assertEqual(after, ["relay_a"] * 6)


if __name__ == "__main__":
    unittest.main(verbosity=2)
