"""Per-source state: cursors, and the health that `monitor sources` shows."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from monitor.config import SourceConfig
from monitor.models import Cursor
from monitor.text import iso

_SECRET_KEYS = {"bearer_token"}


def sync_sources(db: Database, sources: tuple[SourceConfig, ...]) -> None:
    """Writes the configured sources into `sources` (secrets left out) and creates their state rows."""
    with db.conn:
        for s in sources:
            config = {k: v for k, v in asdict(s).items() if k not in _SECRET_KEYS and v is not None}
            db.execute("insert into sources (id, kind, actor, country, lang, config) values (?, ?, ?, ?, ?, ?) "
                       "on conflict(id) do update set kind = excluded.kind, actor = excluded.actor, "
                       "country = excluded.country, lang = excluded.lang, config = excluded.config",
                       [s.id, s.kind, s.actor, s.country, s.lang, json.dumps(config, default=str)])
            db.execute("insert or ignore into source_state (source_id) values (?)", [s.id])


def get_cursor(db: Database, source_id: str) -> Cursor | None:
    row = db.conn.execute("select cursor, etag, last_modified from source_state where source_id = ?",
                          [source_id]).fetchone()
    if row is None or (row[0] is None and row[1] is None and row[2] is None):
        return None
    return Cursor(etag=row[1], last_modified=row[2], position=row[0])


def record_success(db: Database, source_id: str, cursor: Cursor, now: datetime, new: int,
                   duration_ms: int, next_poll_at: datetime) -> None:
    """Saves the cursor and marks the poll healthy. Call in the same transaction as the statements."""
    db.conn.execute("insert or ignore into source_state (source_id) values (?)", [source_id])
    db.conn.execute("update source_state set cursor = ?, etag = ?, last_modified = ?, last_poll_at = ?, "
                    "last_success_at = ?, last_error = null, consecutive_failures = 0, next_poll_at = ?, "
                    "last_new = ?, last_duration_ms = ? where source_id = ?",
                    [cursor.position, cursor.etag, cursor.last_modified, iso(now), iso(now), iso(next_poll_at),
                     new, duration_ms, source_id])


def record_failure(db: Database, source_id: str, error: str, now: datetime, interval: float,
                   max_backoff: float, retry_after: float | None = None) -> datetime:
    """Counts the failure and backs off exponentially; returns when the source should be polled next."""
    with db.conn:
        db.execute("insert or ignore into source_state (source_id) values (?)", [source_id])
        failures = db.execute("select consecutive_failures from source_state where source_id = ?",
                              [source_id]).fetchone()[0] + 1
        wait = min(max_backoff, interval * 2 ** (failures - 1))
        if retry_after is not None:
            # the server said when it will answer again (Retry-After, X's reset): asking sooner only
            # burns the rate limit; a day at most, so a bogus header cannot park the source for good
            wait = max(wait, min(retry_after, 86400.0))
        next_poll_at = now + timedelta(seconds=wait)
        db.execute("update source_state set last_poll_at = ?, last_error = ?, consecutive_failures = ?, "
                   "next_poll_at = ? where source_id = ?",
                   [iso(now), error, failures, iso(next_poll_at), source_id])
    return next_poll_at


@dataclass(frozen=True)
class SourceHealth:
    id: str
    kind: str
    actor: str
    last_success_at: str | None
    last_error: str | None
    consecutive_failures: int
    next_poll_at: str | None
    statements: int


def source_health(db: Database) -> list[SourceHealth]:
    sql = """
        select s.id, s.kind, s.actor, st.last_success_at, st.last_error,
               coalesce(st.consecutive_failures, 0), st.next_poll_at,
               (select count(*) from statements where source_id = s.id)
        from sources s left join source_state st on st.source_id = s.id order by s.id
    """
    return [SourceHealth(*row) for row in db.execute(sql)]


def last_success(db: Database) -> str | None:
    row = db.execute("select max(last_success_at) from source_state").fetchone()
    return row[0] if row else None
