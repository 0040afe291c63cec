"""bench/pg_queue.py — the PostgreSQL server a hubrelay on the shared queue runs against.

Owns: one private PostgreSQL 15 server for the run (bench.py QUEUE=postgresql), started
by tests/e2e/pg_cluster.py (initdb, `pg_ctl start` as the postgres user, the relays'
role and database): its directory under the run's temp dir, listening on 127.0.0.1 on a
free port, fsync and synchronous_commit on and PostgreSQL's defaults otherwise (the
tests' smaller shared_buffers and max_connections are set back), no standby (a
synchronous standby adds a second flush and a round trip to every commit: measure that
on the real cluster); the conninfo file ([queue.postgresql] conninfo_file, mode 0600)
the relay reads; its postmaster's pid, whose process tree (every backend) is the
database's CPU and memory. stop() shuts it down and is safe to call twice.
Never: touches the system clusters; waits without a bound (pg_cluster's limits).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from harness import HERE, log

E2E = HERE.parent / "tests" / "e2e"
# PostgreSQL 15's own defaults, over what tests/e2e/pg_cluster.py sets for small tests.
DEFAULTS = ["shared_buffers = 128MB", "max_connections = 100"]


def _pg_cluster():
    """tests/e2e/pg_cluster.py, imported with the tests' harness under its name (bench's
    own harness module is put back afterwards)."""
    bench_harness = sys.modules.pop("harness")
    sys.path.insert(0, str(E2E))
    try:
        return importlib.import_module("pg_cluster")
    finally:
        sys.path.remove(str(E2E))
        sys.modules["harness"] = bench_harness


class PgQueue:
    """The server, started and ready; .conninfo_file for the relay, .pid for accounting."""

    def __init__(self, work: Path):
        pg_cluster = _pg_cluster()
        reason = pg_cluster.available()
        if reason:
            raise SystemExit(f"bench: QUEUE=postgresql cannot run here: {reason}")
        self.cluster = pg_cluster.PgCluster(password="bench-password", root=work / "postgresql")
        try:
            node = self.cluster.start_primary(synchronous_standby=False, settings=DEFAULTS)
            self.pid = node.postmaster_pid()
            self.conninfo_file = self.cluster.write_conninfo_file(
                work / "queue.conninfo", nodes=[node])
        except BaseException:
            self.cluster.stop()
            raise
        version = self.cluster.psql_local(node, "SHOW server_version")
        self.description = (f"PostgreSQL {version} on 127.0.0.1 (same machine), fsync and "
                            "synchronous_commit on, no standby, defaults otherwise")
        log(f"postgresql queue: {self.description}, port {node.port}")

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None
