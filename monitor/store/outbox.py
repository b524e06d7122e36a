"""The `alerts` table as an outbox: one row per (statement, rule, channel, kind).

A row goes pending -> sending -> sent, or back to pending with a later `next_attempt_at`, or to
failed after the last attempt. It is marked `sending` (committed) before the send and `sent` after,
so a crash in between leaves a `sending` row that `recover_interrupted` hands back for a resend
with the same `delivery_id`: the only duplicate possible, and one a receiver can recognise.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from monitor.text import iso


@dataclass(frozen=True)
class OutboxRow:
    id: int
    delivery_id: str
    statement_id: int
    rule: str
    channel: str
    kind: str
    status: str
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    created_at: str
    sent_at: str | None


_COLUMNS = "id, delivery_id, statement_id, rule, channel, kind, status, attempts, next_attempt_at, " \
           "last_error, created_at, sent_at"


def delivery_id(source_id: str, external_id: str, rule: str, channel: str, kind: str) -> str:
    """Stable across retries, restarts and even a rebuilt database."""
    key = "\x1f".join((source_id, external_id, rule, channel, kind))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def enqueue(db: Database, statement_id: int, rule: str, channel: str, kind: str, now: datetime) -> bool:
    """Adds the row unless it exists; returns True when it was new."""
    row = db.execute("select source_id, external_id, published_at, fetched_at from statements where id = ?",
                     [statement_id]).fetchone()
    classified = db.execute("select max(classified_at) from classifications where statement_id = ?",
                            [statement_id]).fetchone()[0]
    cursor = db.execute(
        "insert or ignore into alerts (delivery_id, statement_id, rule, channel, kind, status, attempts, "
        "created_at, next_attempt_at, published_at, fetched_at, classified_at) "
        "values (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?)",
        [delivery_id(row[0], row[1], rule, channel, kind), statement_id, rule, channel, kind,
         iso(now), iso(now), row[2], row[3], classified])
    return cursor.rowcount == 1


def has_alert(db: Database, statement_id: int, rule: str, channel: str, kind: str) -> bool:
    return db.execute("select 1 from alerts where statement_id = ? and rule = ? and channel = ? and kind = ?",
                      [statement_id, rule, channel, kind]).fetchone() is not None


def recover_interrupted(db: Database) -> int:
    """Hands rows left `sending` by a crash back to the queue; returns how many."""
    with db.conn:
        return db.execute("update alerts set status = 'pending' where status = 'sending'").rowcount


def due(db: Database, now: datetime, limit: int = 100) -> list[OutboxRow]:
    """Pending rows whose time has come, oldest first."""
    sql = f"select {_COLUMNS} from alerts where status = 'pending' and " \
          "(next_attempt_at is null or next_attempt_at <= ?) order by id limit ?"
    return [OutboxRow(*row) for row in db.execute(sql, [iso(now), limit])]


def next_due_at(db: Database) -> str | None:
    return db.execute("select min(next_attempt_at) from alerts where status = 'pending'").fetchone()[0]


def claim(db: Database, row_id: int, now: datetime) -> bool:
    """Marks the row `sending` and counts the attempt; False if another worker took it."""
    with db.conn:
        cursor = db.execute("update alerts set status = 'sending', attempts = attempts + 1, sending_at = ? "
                            "where id = ? and status = 'pending'", [iso(now), row_id])
    return cursor.rowcount == 1


def mark_sent(db: Database, row_id: int, now: datetime) -> None:
    with db.conn:
        db.execute("update alerts set status = 'sent', sent_at = ?, last_error = null, next_attempt_at = null "
                   "where id = ?", [iso(now), row_id])


def mark_retry(db: Database, row_id: int, error: str, next_attempt_at: datetime) -> None:
    with db.conn:
        db.execute("update alerts set status = 'pending', last_error = ?, next_attempt_at = ? where id = ?",
                   [error, iso(next_attempt_at), row_id])


def mark_failed(db: Database, row_id: int, error: str) -> None:
    with db.conn:
        db.execute("update alerts set status = 'failed', last_error = ?, next_attempt_at = null where id = ?",
                   [error, row_id])


def retry_failed(db: Database, now: datetime, ids: list[int] | None = None) -> int:
    """Puts failed rows back in the queue with a fresh attempt count; returns how many."""
    sql = "update alerts set status = 'pending', attempts = 0, next_attempt_at = ? where status = 'failed'"
    args: list[object] = [iso(now)]
    if ids:
        sql += f" and id in ({', '.join('?' for _ in ids)})"
        args += ids
    with db.conn:
        return db.execute(sql, args).rowcount


def list_alerts(db: Database, status: str | None = None, limit: int = 50) -> list[dict[str, object]]:
    """Recent outbox rows joined with their statement, for `monitor alerts list`."""
    sql = "select a.id, a.status, a.attempts, a.rule, a.channel, a.kind, a.created_at, a.sent_at, " \
          "a.last_error, s.actor, s.title, substr(s.text, 1, 80) as excerpt, a.delivery_id " \
          "from alerts a join statements s on s.id = a.statement_id"
    args: list[object] = []
    if status:
        sql += " where a.status = ?"
        args.append(status)
    sql += " order by a.id desc limit ?"
    args.append(limit)
    return list(db.query(sql, args))
