"""Statements, their versions and their classifications."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from monitor.models import Classification, Statement, StoredStatement
from monitor.store import transaction
from monitor.text import content_hash, iso


@dataclass(frozen=True)
class SaveResult:
    """Row ids of the statements a poll added, and of those whose text changed."""

    new: tuple[int, ...] = ()
    edited: tuple[int, ...] = ()


def save_statements(db: Database, statements: Iterable[Statement], now: datetime) -> SaveResult:
    """Inserts unseen statements and records a new version of changed ones, in one transaction.

    Runs once per poll: it calls the sqlite3 connection directly, skipping sqlite-utils' per-call
    SQL inspection, which cost more than the inserts (benchmarks/poll.py)."""
    new, edited = [], []
    seen_at = iso(now)
    with transaction(db):
        for s in statements:
            digest = content_hash(s.title, s.text)
            row = db.conn.execute("select id, content_hash, version from statements "
                                  "where source_id = ? and external_id = ?", [s.source_id, s.external_id]).fetchone()
            if row is None:
                cursor = db.conn.execute(
                    "insert into statements (source_id, external_id, url, actor, author, title, text, lang, "
                    "published_at, fetched_at, is_reply, is_repost, content_hash, raw, item_hash, version) "
                    "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                    [s.source_id, s.external_id, s.url, s.actor, s.author, s.title, s.text, s.lang,
                     iso(s.published_at), seen_at, int(s.is_reply), int(s.is_repost), digest, s.raw,
                     s.item_hash])
                statement_id = cursor.lastrowid
                assert statement_id is not None
                _save_version(db, statement_id, 1, s, digest, seen_at)
                new.append(statement_id)
            elif row[1] != digest:
                statement_id, version = row[0], row[2] + 1
                db.conn.execute("update statements set title = ?, text = ?, url = coalesce(?, url), "
                                "content_hash = ?, item_hash = ?, raw = ?, edited_at = ?, version = ? where id = ?",
                                [s.title, s.text, s.url, digest, s.item_hash, s.raw, seen_at, version, statement_id])
                _save_version(db, statement_id, version, s, digest, seen_at)
                edited.append(statement_id)
            elif s.item_hash:
                db.conn.execute("update statements set item_hash = ? where id = ? and item_hash is not ?",
                                [s.item_hash, row[0], s.item_hash])
    return SaveResult(new=tuple(new), edited=tuple(edited))


def _save_version(db: Database, statement_id: int, version: int, s: Statement, digest: str,
                  seen_at: str | None) -> None:
    db.conn.execute("insert into statement_versions (statement_id, version, title, text, content_hash, seen_at) "
                    "values (?, ?, ?, ?, ?, ?)", [statement_id, version, s.title, s.text, digest, seen_at])


def item_hash(db: Database, source_id: str, external_id: str) -> str | None:
    """The stored listing hash of a statement, or None when it was never seen."""
    row = db.conn.execute("select item_hash from statements where source_id = ? and external_id = ?",
                          [source_id, external_id]).fetchone()
    return row[0] if row else None


_PENDING = """
select s.id, s.title, s.text, s.lang, s.content_hash from statements s
left join classifications c on c.statement_id = s.id and c.model = :model
where s.deleted_at is null and (c.statement_id is null or c.content_hash is not s.content_hash)
order by s.id limit :limit
"""


@dataclass(frozen=True)
class PendingText:
    id: int
    title: str | None
    text: str
    lang: str | None
    content_hash: str


def pending_classification(db: Database, model: str, limit: int = 64) -> list[PendingText]:
    """Statements that `model` has not classified in their current version, oldest first."""
    return [PendingText(*row) for row in db.execute(_PENDING, {"model": model, "limit": limit})]


def save_classifications(db: Database, items: Sequence[tuple[PendingText, Classification]],
                         model_version: str, now: datetime) -> None:
    """Stores one row per (statement, model), replacing that model's row for an older version."""
    with transaction(db):
        for pending, c in items:
            db.execute(
                "insert or replace into classifications (statement_id, model, model_version, stance, "
                "stance_scores, topics, escalation, escalation_score, cues, classified_at, content_hash) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [pending.id, c.model, model_version, c.stance, json.dumps(c.stance_scores),
                 json.dumps(list(c.topics)), int(c.escalation), c.escalation_score,
                 json.dumps(list(c.cues), ensure_ascii=False), iso(now), pending.content_hash])


_STORED = """
select s.id, s.source_id, s.external_id, s.text, s.url, s.title, s.actor, s.lang, s.published_at,
       s.fetched_at, s.edited_at, s.deleted_at, src.country,
       c.model, c.stance, c.stance_scores, c.topics, c.escalation_score, c.escalation, c.cues
from statements s
left join sources src on src.id = s.source_id
left join classifications c on c.statement_id = s.id and c.model = :model
where s.id in ({ids})
order by s.id
"""


def load_statements(db: Database, ids: Sequence[int], model: str) -> list[StoredStatement]:
    """Stored statements by id, each with its classification by `model` when there is one."""
    if not ids:
        return []
    sql = _STORED.format(ids=", ".join(str(int(i)) for i in ids))
    out = []
    for row in db.execute(sql, {"model": model}):
        classification = None
        if row[13] is not None:
            classification = Classification(
                stance=row[14], stance_scores=json.loads(row[15]), topics=tuple(json.loads(row[16])),
                escalation_score=row[17], escalation=bool(row[18]), cues=tuple(json.loads(row[19])),
                model=row[13])
        out.append(StoredStatement(*row[:12], classification=classification, country=row[12]))
    return out


def previous_text(db: Database, statement_id: int) -> str | None:
    """The text a statement had before its latest version, or None for an unedited one."""
    row = db.execute("select text from statement_versions where statement_id = ? "
                     "order by version desc limit 1 offset 1", [statement_id]).fetchone()
    return row[0] if row else None


def recent_external_ids(db: Database, source_id: str, limit: int = 40) -> list[str]:
    """External ids of the source's newest statements not yet marked deleted, newest first."""
    rows = db.execute("select external_id from statements where source_id = ? and deleted_at is null "
                      "order by coalesce(published_at, fetched_at) desc, id desc limit ?", [source_id, limit])
    return [row[0] for row in rows]


def mark_deleted(db: Database, source_id: str, external_ids: Iterable[str], now: datetime) -> list[int]:
    """Sets `deleted_at` on the statements the platform deleted (their versions stay); returns their ids."""
    ids = []
    with transaction(db):
        for external_id in external_ids:
            row = db.execute("select id from statements where source_id = ? and external_id = ? "
                             "and deleted_at is null", [source_id, external_id]).fetchone()
            if row is not None:
                db.execute("update statements set deleted_at = ? where id = ?", [iso(now), row[0]])
                ids.append(row[0])
    return ids


def texts_since(db: Database, since: str | None = None) -> list[PendingText]:
    """Every stored, not deleted statement published (or fetched) since `since`, oldest first."""
    sql = "select id, title, text, lang, content_hash from statements where deleted_at is null"
    args: list[str] = []
    if since:
        sql += " and coalesce(published_at, fetched_at) >= ?"
        args.append(since)
    return [PendingText(*row) for row in db.execute(sql + " order by id", args)]
