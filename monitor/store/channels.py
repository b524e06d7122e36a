"""Channel health (failures in a row) and the notices about failing channels, in the database so a
restart neither forgets a failing channel nor sends its notice twice."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from monitor.text import iso


def record_result(db: Database, channel: str, ok: bool, now: datetime, error: str | None = None) -> int:
    """Counts a send's outcome; returns the failures in a row after it (0 after a success)."""
    with db.conn:
        db.execute("insert or ignore into channel_health (channel, consecutive_failures) values (?, 0)", [channel])
        if ok:
            db.execute("update channel_health set consecutive_failures = 0, failing_since = null, "
                       "last_success_at = ? where channel = ?", [iso(now), channel])
            return 0
        db.execute("update channel_health set consecutive_failures = consecutive_failures + 1, "
                   "failing_since = coalesce(failing_since, ?), last_error = ? where channel = ?",
                   [iso(now), error, channel])
        return int(db.execute("select consecutive_failures from channel_health where channel = ?",
                              [channel]).fetchone()[0])


@dataclass(frozen=True)
class Health:
    channel: str
    consecutive_failures: int
    failing_since: str | None
    last_error: str | None
    notified_at: str | None


def health(db: Database, channel: str) -> Health | None:
    row = db.execute("select channel, consecutive_failures, failing_since, last_error, notified_at "
                     "from channel_health where channel = ?", [channel]).fetchone()
    return Health(*row) if row else None


def failing_channels(db: Database, threshold: int) -> set[str]:
    rows = db.execute("select channel from channel_health where consecutive_failures >= ?", [threshold])
    return {r[0] for r in rows}


def set_notified(db: Database, channel: str, when: datetime | None) -> None:
    with db.conn:
        db.execute("update channel_health set notified_at = ? where channel = ?", [iso(when), channel])


def queue_notice(db: Database, about: str, kind: str, since: str, targets: list[str], message: str,
                 now: datetime) -> int:
    """One `notices` row per target channel; the same (about, kind, since, target) is queued once."""
    queued = 0
    with db.conn:
        for target in targets:
            key = "\x1f".join(("notice", about, kind, since, target))
            delivery_id = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
            queued += db.execute(
                "insert or ignore into notices (delivery_id, about, target, kind, message, status, attempts, "
                "created_at, next_attempt_at) values (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
                [delivery_id, about, target, kind, message, iso(now), iso(now)]).rowcount
    return queued


@dataclass(frozen=True)
class Notice:
    id: int
    delivery_id: str
    about: str
    target: str
    kind: str
    message: str
    attempts: int
    created_at: str


def due_notices(db: Database, now: datetime) -> list[Notice]:
    rows = db.execute("select id, delivery_id, about, target, kind, message, attempts, created_at from notices "
                      "where status = 'pending' and next_attempt_at <= ? order by id", [iso(now)])
    return [Notice(*r) for r in rows]


def finish_notice(db: Database, notice_id: int, now: datetime, error: str | None = None,
                  retry_at: datetime | None = None) -> None:
    """Sent when `error` is None; else pending again until `retry_at`, or failed without one."""
    with db.conn:
        if error is None:
            db.execute("update notices set status = 'sent', sent_at = ?, attempts = attempts + 1, "
                       "last_error = null where id = ?", [iso(now), notice_id])
        else:
            db.execute("update notices set status = ?, attempts = attempts + 1, last_error = ?, "
                       "next_attempt_at = ? where id = ?",
                       ["pending" if retry_at else "failed", error, iso(retry_at), notice_id])
