"""The SQLite store: the only package that touches the database. Everything is a table."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from monitor.errors import StoreError
from monitor.store.migrations import migrations

BUSY_TIMEOUT_MS = 15000


def open_db(path: Path | str, *, migrate: bool = True) -> Database:
    """Opens (creating if needed) the database in WAL mode, applying pending migrations."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        conn.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
        db = Database(conn)
        if migrate:
            if db.journal_mode != "wal":
                db.enable_wal()
            migrations.apply(db)
        # per connection: in WAL mode `normal` survives a process crash (kill -9) and spares an
        # fsync per commit, which polling many sources pays on every poll
        conn.execute("pragma synchronous = normal")
        conn.execute("pragma foreign_keys = on")
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"cannot open database {path}: {exc}") from exc
    return db


def pending_migrations(db: Database) -> list[str]:
    return [m.name for m in migrations.pending(db)]


def get_setting(db: Database, key: str) -> str | None:
    row = db.execute("select value from settings where key = ?", [key]).fetchone()
    return row[0] if row else None


def set_setting(db: Database, key: str, value: str) -> None:
    with db.conn:
        db.execute("insert into settings (key, value) values (?, ?) "
                   "on conflict(key) do update set value = excluded.value", [key, value])


@contextmanager
def transaction(db: Database) -> Iterator[None]:
    """One transaction around the block; inside another transaction, part of that one (the
    outermost commits). Unlike `with db.conn`, whose exit commits whatever is open, so a nested
    one would commit its caller's half-done work."""
    if db.conn.in_transaction:
        yield
        return
    # IMMEDIATE takes the write lock now, waiting on the busy timeout. A deferred transaction
    # that reads first and writes later fails at once ("database is locked") if another
    # connection wrote in between: SQLite cannot upgrade its stale read snapshot.
    db.conn.execute("begin immediate")
    try:
        yield
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


_WRITER = threading.Lock()


@contextmanager
def writing() -> Iterator[None]:
    """Serialises this process's write transactions on a lock. SQLite allows one writer at a time,
    and its busy handler waits by sleeping (up to 100 ms a try): fifty polling threads queueing on
    it spent most of a pass asleep. Other processes still meet the busy timeout."""
    with _WRITER:
        yield
