"""Read-only queries over past alerts and statements: latency figures and rule dry-runs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from monitor.models import StoredStatement
from monitor.store import get_setting
from monitor.store.statements import load_statements


@dataclass(frozen=True)
class SentTimes:
    """When one sent alert's statement was published, fetched and classified, and when it left."""

    channel: str
    kind: str
    published_at: str | None
    fetched_at: str | None
    classified_at: str | None
    sent_at: str


def sent_times(db: Database, since: str | None = None) -> list[SentTimes]:
    sql = "select channel, kind, published_at, fetched_at, classified_at, sent_at from alerts " \
          "where status = 'sent' and sent_at is not null"
    args: list[object] = []
    if since:
        sql += " and sent_at >= ?"
        args.append(since)
    return [SentTimes(*row) for row in db.execute(sql + " order by id", args)]


def statements_since(db: Database, since: str, model: str) -> list[StoredStatement]:
    """Statements published (or, without a date, fetched) at or after `since`, oldest first."""
    ids = [r[0] for r in db.execute("select id from statements where coalesce(published_at, fetched_at) >= ? "
                                    "order by coalesce(published_at, fetched_at), id", [since])]
    by_id = {s.id: s for s in load_statements(db, ids, model)}
    return [by_id[i] for i in ids]


def active_model(db: Database) -> str:
    return get_setting(db, "active_model") or ""
