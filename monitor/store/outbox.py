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
    digest_at: str | None = None


_COLUMNS = "id, delivery_id, statement_id, rule, channel, kind, status, attempts, next_attempt_at, " \
           "last_error, created_at, sent_at, digest_at"


def delivery_id(source_id: str, external_id: str, rule: str, channel: str, kind: str) -> str:
    """Stable across retries, restarts and even a rebuilt database."""
    key = "\x1f".join((source_id, external_id, rule, channel, kind))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def enqueue(db: Database, statement_id: int, rule: str, channel: str, kind: str, now: datetime,
            digest_at: datetime | None = None) -> bool:
    """Adds the row unless it exists; returns True when it was new. A row of a digest rule waits
    until `digest_at`, the end of its period."""
    row = db.execute("select source_id, external_id, published_at, fetched_at from statements where id = ?",
                     [statement_id]).fetchone()
    classified = db.execute("select max(classified_at) from classifications where statement_id = ?",
                            [statement_id]).fetchone()[0]
    cursor = db.execute(
        "insert or ignore into alerts (delivery_id, statement_id, rule, channel, kind, status, attempts, "
        "created_at, next_attempt_at, published_at, fetched_at, classified_at, digest_at) "
        "values (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?)",
        [delivery_id(row[0], row[1], rule, channel, kind), statement_id, rule, channel, kind,
         iso(now), iso(digest_at or now), row[2], row[3], classified, iso(digest_at)])
    return cursor.rowcount == 1


def has_alert(db: Database, statement_id: int, rule: str, channel: str, kind: str) -> bool:
    return db.execute("select 1 from alerts where statement_id = ? and rule = ? and channel = ? and kind = ?",
                      [statement_id, rule, channel, kind]).fetchone() is not None


def recover_interrupted(db: Database) -> int:
    """Hands rows left `sending` by a crash back to the queue; returns how many."""
    with db.conn:
        return db.execute("update alerts set status = 'pending' where status = 'sending'").rowcount


def due(db: Database, now: datetime, limit: int = 100) -> list[OutboxRow]:
    """Pending rows whose time has come, oldest first. A row waits while an older row of its channel
    waits for a retry, so a channel that comes back gets its alerts in order."""
    sql = f"select {_COLUMNS} from alerts a where status = 'pending' and " \
          "(next_attempt_at is null or next_attempt_at <= :now) and not exists (select 1 from alerts b " \
          "where b.channel = a.channel and b.status = 'pending' and b.attempts > 0 and b.id < a.id " \
          "and b.next_attempt_at > :now) order by id limit :limit"
    return [OutboxRow(*row) for row in db.execute(sql, {"now": iso(now), "limit": limit})]


def digest_rows(db: Database, rule: str, channel: str, digest_at: str) -> list[OutboxRow]:
    """The pending rows of one digest (rule, channel, period), oldest first."""
    sql = f"select {_COLUMNS} from alerts where status = 'pending' and rule = ? and channel = ? " \
          "and digest_at = ? order by id"
    return [OutboxRow(*row) for row in db.execute(sql, [rule, channel, digest_at])]


def digest_delivery_id(rule: str, channel: str, digest_at: str) -> str:
    """Stable for a (rule, channel, period), so a digest resent after a crash has the same id."""
    return hashlib.sha256("\x1f".join(("digest", rule, channel, digest_at)).encode("utf-8")).hexdigest()[:32]


def claim_many(db: Database, row_ids: list[int], now: datetime) -> bool:
    """Marks every row `sending` in one transaction, or none if another worker took one."""
    with db.conn:
        for row_id in row_ids:
            if db.execute("update alerts set status = 'sending', attempts = attempts + 1, sending_at = ? "
                          "where id = ? and status = 'pending'", [iso(now), row_id]).rowcount != 1:
                db.conn.rollback()
                return False
    return True


def remote_ref(db: Database, statement_id: int, rule: str, channel: str) -> str | None:
    """The channel's id of the `new` alert about a statement (a Slack ts), for threading follow-ups."""
    row = db.execute("select remote_ref from alerts where statement_id = ? and rule = ? and channel = ? "
                     "and kind = 'new'", [statement_id, rule, channel]).fetchone()
    return row[0] if row and row[0] else None


def last_alert_at(db: Database, rule: str, actor: str | None) -> str | None:
    """When the rule last queued a `new` alert about this actor (for `cooldown`)."""
    return db.execute("select max(a.created_at) from alerts a join statements s on s.id = a.statement_id "
                      "where a.rule = ? and a.kind = 'new' and s.actor is ?", [rule, actor]).fetchone()[0]


def next_due_at(db: Database) -> str | None:
    return db.execute("select min(next_attempt_at) from alerts where status = 'pending'").fetchone()[0]


def claim(db: Database, row_id: int, now: datetime) -> bool:
    """Marks the row `sending` and counts the attempt; False if another worker took it."""
    with db.conn:
        cursor = db.execute("update alerts set status = 'sending', attempts = attempts + 1, sending_at = ? "
                            "where id = ? and status = 'pending'", [iso(now), row_id])
    return cursor.rowcount == 1


def mark_sent(db: Database, row_id: int, now: datetime, ref: str | None = None) -> None:
    with db.conn:
        db.execute("update alerts set status = 'sent', sent_at = ?, last_error = null, next_attempt_at = null, "
                   "remote_ref = coalesce(?, remote_ref) where id = ?", [iso(now), ref or None, row_id])


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
