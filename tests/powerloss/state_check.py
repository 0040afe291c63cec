#!/usr/bin/python3
"""tests/powerloss/state_check.py — judges a relay state directory left by a power cut.

Owns: the SQLite integrity check of state_dir/queue.db and the orphan checks: rows or
files that no longer belong to a deliverable or historical message. find_orphans() runs
every function in ORPHAN_CHECKS; when message bodies move to spool files beside the
database, add a check here that lists spool files no pending message references (and
messages whose spool file is missing), and add their names to KNOWN_FILES.
Never: writes to the directory it is given — callers pass a copy (opening a WAL
database runs recovery and may checkpoint, which would change the evidence).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable, List

DB_NAME = "queue.db"
# Files the relay keeps in state_dir (SQLite's own companions included). health.* are
# status reports rewritten every second; a cut may leave their .tmp behind.
KNOWN_FILES = {DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", DB_NAME + "-journal",
               "health.json", "health.txt", "health.json.tmp", "health.txt.tmp"}


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
                                            "AND NOT EXISTS (SELECT 1 FROM bodies b WHERE b.message_id = m.id)",
        }
        out = []
        for what, sql in queries.items():
            ids = sorted({r[0] for r in con.execute(sql)})
            if ids:
                out.append(f"{what}: {len(ids)} (message ids {ids[:10]})")
        return out
    finally:
        con.close()


def unknown_files(state_dir: Path) -> List[str]:
    """Files in state_dir that the relay does not account for."""
    return [f"unknown file: {p.name}" for p in sorted(Path(state_dir).iterdir())
            if p.name not in KNOWN_FILES] if Path(state_dir).is_dir() else []


ORPHAN_CHECKS: List[Callable[[Path], List[str]]] = [orphan_rows, unknown_files]


def find_orphans(state_dir: Path) -> List[str]:
    """Everything every check in ORPHAN_CHECKS finds (empty: no orphans)."""
    return [finding for check in ORPHAN_CHECKS for finding in check(Path(state_dir))]
