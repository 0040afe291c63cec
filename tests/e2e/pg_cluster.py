#!/usr/bin/python3
"""tests/e2e/pg_cluster.py — a private PostgreSQL 15 primary and synchronous standby on loopback.

Owns: one temporary directory (outside the test directory, which only root may enter;
or one the caller names, as the benchmark does under its own temp dir) holding each
server's data directory, Unix socket and log; the servers themselves
(`pg_ctl start`, never the system service), the role and database the relays use, the
standby (`pg_basebackup -R`, named in the primary's `synchronous_standby_names`), and the
events the failover tests need: `kill_primary()` (SIGKILL of the postmaster), `promote()`
(`pg_ctl promote`), `stop()` (immediate shutdown of whatever runs, then the directory goes).
Servers listen on 127.0.0.1 on free ports, with fsync on (initdb itself skips its final
sync: only the servers' own durability matters to the tests). As root, every PostgreSQL
program runs as the `postgres` system user (runuser): the server refuses to run as root.
Never: touches the system clusters (/var/lib/postgresql), binds anything but 127.0.0.1,
waits without a bound.
Use: `cluster = PgCluster(); cluster.start_primary(); cluster.add_standby(); ...;
cluster.stop()` (or `with PgCluster() as cluster:`, or `primary_with_standby(test)` in an
E2ETestCase); `available()` says why it cannot run;
a test class with one primary for all its tests: `class T(PrimaryForClass, E2ETestCase)`,
each test starting on an empty database with `self.cluster.empty_database()`.
"""

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import free_port, port_accepts, wait_for  # noqa: E402

PG_VERSION = "15"
ROLE = "hubrelay"
DATABASE = "hubrelay"
STANDBY_NAME = "standby1"
COMMAND_TIMEOUT = 120.0   # seconds for one initdb, pg_basebackup, pg_ctl or psql run


def pg_bindir() -> Optional[Path]:
    """Debian's PostgreSQL 15 programs (HUBRELAY_PG_BINDIR overrides)."""
    for candidate in (os.environ.get("HUBRELAY_PG_BINDIR"), f"/usr/lib/postgresql/{PG_VERSION}/bin"):
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


def available() -> Optional[str]:
    """None when a cluster can be started here, else the reason (for unittest.skip)."""
    if pg_bindir() is None:
        return (f"PostgreSQL {PG_VERSION} server programs not found (Debian package "
                f"postgresql-{PG_VERSION}; scripts/setup-debian.sh --test installs it)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a 'postgres' system user to run the server as"
    return None


def _alive(pid: int) -> bool:
    """A process that still runs (a zombie nobody reaped yet does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class PgNode:
    """One server: its data directory, port and log."""

    def __init__(self, name: str, root: Path):
        self.name = name
        self.data = root / name
        self.port = free_port("127.0.0.1")
        self.log = root / f"{name}.log"
        self.killed = False

    def postmaster_pid(self) -> Optional[int]:
        try:
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None


class PgCluster:
    """A primary, optionally a synchronous standby; the relays' role has a password."""

    def __init__(self, password: str = "relay-test-password", root: Optional[Path] = None):
        """`root`: a new, empty directory to hold everything (default: a fresh temporary one)."""
        reason = available()
        if reason:
            raise RuntimeError(reason)
        self.bindir = pg_bindir()
        self.password = password
        if root is not None:
            root.mkdir()
        self.root = root or Path(tempfile.mkdtemp(prefix="hubrelay-pg-"))
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.socket_dir = self.root  # every server's Unix socket, by port (.s.PGSQL.PORT)
        self.primary: Optional[PgNode] = None
        self.standby: Optional[PgNode] = None
        self.logs: List[Path] = []

    # -- running programs ------------------------------------------------------------------

    def _run(self, program: str, args: Sequence[str], timeout: float = COMMAND_TIMEOUT,
             env: Optional[Dict[str, str]] = None, check: bool = True,
             stdin: Optional[str] = None) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / program), *args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}  # no stray PGHOST...
        full_env.update(env or {})
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env,
                                cwd=self.root, input=stdin,
                                stdin=None if stdin is not None else subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} exited with {result.returncode}:\n"
                               f"{result.stdout}{result.stderr}")
        return result

    def _append_conf(self, node: PgNode, lines: Sequence[str]) -> None:
        """Later lines of postgresql.conf win, so appending overrides what was copied."""
        conf = node.data / "postgresql.conf"
        with open(conf, "a") as f:
            f.write("\n# tests/e2e/pg_cluster.py\n" + "\n".join(lines) + "\n")

    def _pg_ctl_start(self, node: PgNode) -> None:
        self.logs.append(node.log)
        self._run("pg_ctl", ["-D", str(node.data), "-l", str(node.log), "-w", "-t", "60", "start"])
        wait_for(lambda: port_accepts("127.0.0.1", node.port), 30, f"PostgreSQL {node.name} on 127.0.0.1:{node.port}")

    def psql_local(self, node: PgNode, sql: str, database: str = "postgres") -> str:
        """SQL as the superuser over node's Unix socket; the rows, unaligned, '|' between fields."""
        result = self._run("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir),
                                    "-p", str(node.port), "-U", "postgres", "-d", database, "-c", sql])
        return result.stdout.strip()

    def empty_database(self) -> None:
        """The relays' database without the queue's tables: the next relay creates them."""
        self.psql_local(self.primary, "DROP SCHEMA public CASCADE; CREATE SCHEMA public; "
                        f"GRANT ALL ON SCHEMA public TO {ROLE}", database=DATABASE)

    # -- set-up ------------------------------------------------------------------------------

    def start_primary(self, synchronous_standby: bool = True, settings: Sequence[str] = ()) -> PgNode:
        """initdb, start, create the role and database. With synchronous_standby, add_standby()
        makes the primary's commits wait for the standby (FIRST 1). `settings`: more
        postgresql.conf lines, after (so over) the tests' own."""
        node = PgNode("primary", self.root)
        self._run("initdb", ["-D", str(node.data), "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                             "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"])
        self._append_conf(node, [
            "listen_addresses = '127.0.0.1'",
            f"port = {node.port}",
            f"unix_socket_directories = '{self.socket_dir}'",
            "fsync = on",
            "synchronous_commit = on",
            "wal_level = replica",
            "max_wal_senders = 5",
            "hot_standby = on",
            "shared_buffers = 16MB",
            "max_connections = 40",
            "password_encryption = 'scram-sha-256'",
            # Named by add_standby() once the standby streams: set now, every commit
            # (CREATE ROLE below included) would wait for a standby that does not exist yet.
            "synchronous_standby_names = ''",
            *settings,
        ])
        self.synchronous_standby = synchronous_standby
        self.primary = node
        self._pg_ctl_start(node)
        self.psql_local(node, f"CREATE ROLE {ROLE} LOGIN PASSWORD '{self.password}'")
        self.psql_local(node, f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        return node

    def add_standby(self) -> PgNode:
        """pg_basebackup -R from the primary, streaming over the Unix socket; then (see
        start_primary) named in synchronous_standby_names, and waited for as "sync"."""
        assert self.primary is not None, "start_primary() first"
        node = PgNode("standby", self.root)
        source = (f"host={self.socket_dir} port={self.primary.port} user=postgres "
                  f"application_name={STANDBY_NAME}")
        self._run("pg_basebackup", ["-D", str(node.data), "-d", source, "-R", "-X", "stream",
                                    "-c", "fast", "--no-sync"])
        self._append_conf(node, [
            f"port = {node.port}",
            f"cluster_name = '{STANDBY_NAME}'",
            # Once promoted it has no standby of its own: it must not wait for one.
            "synchronous_standby_names = ''",
        ])
        self.standby = node
        self._pg_ctl_start(node)
        state = "SELECT sync_state FROM pg_stat_replication WHERE application_name = '" + STANDBY_NAME + "'"
        wait_for(lambda: self.psql_local(self.primary, state) in ("async", "sync"), 60, "the standby to stream")
        if self.synchronous_standby:
            self.psql_local(self.primary, "ALTER SYSTEM SET synchronous_standby_names = "
                                          f"'FIRST 1 ({STANDBY_NAME})'")
            self.psql_local(self.primary, "SELECT pg_reload_conf()")
            wait_for(lambda: self.psql_local(self.primary, state) == "sync", 60,
                     "the standby to be the synchronous standby")
        return node

    # -- what a relay sees -----------------------------------------------------------------

    def conninfo(self, nodes: Optional[Sequence[PgNode]] = None, with_password: bool = True,
                 connect_timeout: int = 5) -> str:
        """The relays' libpq connection string: every node in order, the read-write one wins."""
        nodes = [n for n in (nodes or [self.primary, self.standby]) if n is not None]
        parts = [f"host={','.join('127.0.0.1' for _ in nodes)}",
                 f"port={','.join(str(n.port) for n in nodes)}",
                 f"dbname={DATABASE}", f"user={ROLE}", "target_session_attrs=read-write",
                 f"connect_timeout={connect_timeout}"]
        if with_password:
            parts.append(f"password={self.password}")
        return " ".join(parts)

    def write_conninfo_file(self, path: Path, **kwargs) -> Path:
        """A [queue.postgresql] conninfo_file: the connection string, mode 0600."""
        path.write_text("# written by tests/e2e/pg_cluster.py\n" + self.conninfo(**kwargs) + "\n")
        os.chmod(path, 0o600)
        return path

    def psql(self, sql: str, conninfo: Optional[str] = None, check: bool = True,
             timeout: float = 60.0) -> subprocess.CompletedProcess:
        """SQL as the relays' role over TCP with the password, like a relay connects."""
        conninfo = conninfo or self.conninfo(with_password=False)
        return self._run("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql],
                         env={"PGPASSWORD": self.password}, check=check, timeout=timeout)

    # -- failures --------------------------------------------------------------------------

    def kill_primary(self) -> None:
        """SIGKILL of the primary's postmaster (a crash: no shutdown checkpoint); returns once
        its port refuses connections. Its backends notice and exit on their own."""
        assert self.primary is not None
        pid = self.primary.postmaster_pid()
        if pid is None:
            raise RuntimeError("the primary has no postmaster.pid")
        os.kill(pid, signal.SIGKILL)
        self.primary.killed = True
        wait_for(lambda: not port_accepts("127.0.0.1", self.primary.port), 30, "the killed primary's port to close")

    def promote(self) -> None:
        """pg_ctl promote on the standby; returns once it accepts writes."""
        assert self.standby is not None
        self._run("pg_ctl", ["-D", str(self.standby.data), "-w", "-t", "60", "promote"])
        wait_for(lambda: self.psql_local(self.standby, "SELECT pg_is_in_recovery()") == "f", 60,
                 "the promoted standby to leave recovery")

    # -- teardown --------------------------------------------------------------------------

    def stop(self) -> None:
        """Immediate shutdown of every server still running, bounded; then the directory goes
        (kept with HUBRELAY_E2E_KEEP=1)."""
        for node in (self.standby, self.primary):
            if node is None or not node.data.exists():
                continue
            if not node.killed:
                self._run("pg_ctl", ["-D", str(node.data), "-m", "immediate", "-w", "-t", "30", "stop"],
                          check=False, timeout=60)
            self._wait_gone(node)
        if os.environ.get("HUBRELAY_E2E_KEEP") == "1":
            print(f"\n[e2e] PostgreSQL directory kept: {self.root}", file=sys.stderr)
            return
        shutil.rmtree(self.root, ignore_errors=True)

    @staticmethod
    def _wait_gone(node: PgNode) -> None:
        """The postmaster (and after a SIGKILL, its orphaned backends) gone, or SIGKILLed."""
        pid = node.postmaster_pid()
        if pid is None:
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.1)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def __enter__(self) -> "PgCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class PrimaryForClass:
    """A test-class mixin (before unittest.TestCase in the bases): one running primary
    without a standby for the whole class, `cls.cluster`, its role's password the class's
    `password`; nothing is left behind when it fails to start."""

    password = "relay-test-password"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster = PgCluster(password=cls.password)
        try:
            cls.cluster.start_primary(synchronous_standby=False)
        except Exception:
            cls.cluster.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        super().tearDownClass()


def primary_with_standby(test, password: str = "relay-test-password") -> PgCluster:
    """For an E2ETestCase: a running primary with a synchronous standby, stopped at the
    test's cleanup; the servers' logs are printed if the test fails."""
    cluster = PgCluster(password=password)
    test.addCleanup(cluster.stop)
    try:
        cluster.start_primary(synchronous_standby=True)
        cluster.add_standby()
    finally:
        test._logs.extend(cluster.logs)
    return cluster
