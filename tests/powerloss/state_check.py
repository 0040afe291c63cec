#!/usr/bin/python3
"""tests/powerloss/state_check.py — judges a relay state directory left by a power cut.

Owns: the SQLite integrity check of state_dir/queue.db and the orphan checks: rows or
files that no longer belong to a deliverable or historical message. find_orphans() runs
every function in ORPHAN_CHECKS. Message bodies over [queue] inline_body_max are files in
state_dir/spool named by messages.body_file (docs/queue.md). Right after a cut both kinds of mismatch
are allowed, because the envelope's COMMIT and the body's flushes run in parallel and
the 250 waits for both: a file no message names may be a body whose COMMIT was lost, and
a message whose file is missing or short was never acknowledged; the relay's start-up
scan removes both. At rest (after a relay started on the state) neither may remain.
Never: writes to the directory it is given — callers pass a copy (opening a WAL
database runs recovery and may checkpoint, which would change the evidence).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Callable, Dict, List

DB_NAME = "queue.db"
# Files the relay keeps in state_dir (SQLite's own companions included). health.* are
# status reports rewritten every second; a cut may leave their .tmp behind. tracking/
# holds the message tracking records ([tracking] dir by default): a log, never fsynced,
# so a cut may take its last records; it is not queue state and is not judged here.
SPOOL_DIR = "spool"
TRACKING_DIR = "tracking"
KNOWN_FILES = {DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", DB_NAME + "-journal",
               "health.json", "health.txt", "health.json.tmp", "health.txt.tmp", SPOOL_DIR, TRACKING_DIR}
SPOOL_NAME = re.compile(r"^[0-9a-f]{16}-[0-9a-f]{16}$")


def _connect(state_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{Path(state_dir) / DB_NAME}", uri=True, timeout=5)


def integrity_check(state_dir: Path) -> str:
    """"ok", "no database" (nothing was ever durable), or SQLite's first complaints."""
    if not (Path(state_dir) / DB_NAME).exists():
        return "no database"
    try:
        con = _connect(state_dir)
        try:
            rows = [r[0] for r in con.execute("PRAGMA integrity_check(20)")]
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        return f"cannot check: {e}"
    return "ok" if rows == ["ok"] else "; ".join(rows)


def _tables(con: sqlite3.Connection) -> set:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def orphan_rows(state_dir: Path) -> List[str]:
    """Rows of queue.db that belong to no message, and messages that cannot be finished."""
    if not (Path(state_dir) / DB_NAME).exists():
        return []
    con = _connect(state_dir)
    try:
        if "messages" not in _tables(con):
            return []
        queries = {
            "body without message": "SELECT message_id FROM bodies b WHERE NOT EXISTS "
                                    "(SELECT 1 FROM messages m WHERE m.id = b.message_id)",
            "recipient without message": "SELECT message_id FROM recipients r WHERE NOT EXISTS "
                                         "(SELECT 1 FROM messages m WHERE m.id = r.message_id)",
            "attempt without message": "SELECT message_id FROM attempts a WHERE NOT EXISTS "
                                       "(SELECT 1 FROM messages m WHERE m.id = a.message_id)",
            "message without recipients": "SELECT id FROM messages m WHERE NOT EXISTS "
                                          "(SELECT 1 FROM recipients r WHERE r.message_id = m.id)",
            "pending message without body": "SELECT id FROM messages m WHERE EXISTS (SELECT 1 FROM "
                                            "recipients r WHERE r.message_id = m.id AND r.state = 0) "
                                            "AND NOT EXISTS (SELECT 1 FROM bodies b WHERE b.message_id = m.id)"
                                            + (" AND m.body_file IS NULL" if _has_body_files(con) else ""),
        }
        out = []
        for what, sql in queries.items():
            ids = sorted({r[0] for r in con.execute(sql)})
            if ids:
                out.append(f"{what}: {len(ids)} (message ids {ids[:10]})")
        return out
    finally:
        con.close()


def _has_body_files(con: sqlite3.Connection) -> bool:
    return "body_file" in {r[1] for r in con.execute("PRAGMA table_info(messages)")}


def _spooled(state_dir: Path) -> Dict[str, int]:
    """Body file name -> size, as queue.db names them (schema v7 on)."""
    if not (Path(state_dir) / DB_NAME).exists():
        return {}
    con = _connect(state_dir)
    try:
        if "messages" not in _tables(con) or not _has_body_files(con):
            return {}
        return {r[0]: r[1] for r in con.execute("SELECT body_file, size FROM messages WHERE body_file IS NOT NULL")}
    finally:
        con.close()


def _spool_files(state_dir: Path) -> Dict[str, int]:
    spool = Path(state_dir) / SPOOL_DIR
    return {p.name: p.stat().st_size for p in spool.iterdir()} if spool.is_dir() else {}


def lost_spooled_bodies(state_dir: Path) -> List[str]:
    """Messages whose spool file is missing or has another size: never at rest."""
    files = _spool_files(state_dir)
    out = []
    for name, size in sorted(_spooled(state_dir).items()):
        if name not in files:
            out.append(f"spooled body missing: {name}")
        elif files[name] != size:
            out.append(f"spooled body short: {name} ({files[name]} of {size} octets)")
    return out


def unreferenced_spool_files(state_dir: Path) -> List[str]:
    """Files in state_dir/spool that no message names (or that are not body files)."""
    named = _spooled(state_dir)
    return [f"spool file without message: {name}" for name in sorted(_spool_files(state_dir))
            if name not in named or not SPOOL_NAME.match(name)]


def unknown_files(state_dir: Path) -> List[str]:
    """Files in state_dir that the relay does not account for."""
    return [f"unknown file: {p.name}" for p in sorted(Path(state_dir).iterdir())
            if p.name not in KNOWN_FILES] if Path(state_dir).is_dir() else []


ORPHAN_CHECKS: List[Callable[[Path], List[str]]] = [orphan_rows, unknown_files]
# Only once the relay has started on the state (its start-up scan ran) and stopped cleanly.
AT_REST_CHECKS: List[Callable[[Path], List[str]]] = [unreferenced_spool_files, lost_spooled_bodies]


def find_orphans(state_dir: Path, at_rest: bool = True) -> List[str]:
    """Everything every check in ORPHAN_CHECKS (and, at rest, AT_REST_CHECKS) finds
    (empty: no orphans). Right after a cut pass at_rest=False."""
    checks = ORPHAN_CHECKS + (AT_REST_CHECKS if at_rest else [])
    return [finding for check in checks for finding in check(Path(state_dir))]
