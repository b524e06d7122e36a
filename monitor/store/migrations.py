"""The schema, one function per step. Never edit a step once released: add a new one."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("monitor")

FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"


@migrations()
def m001_initial(db: Database) -> None:
    db["sources"].create({"id": str, "kind": str, "actor": str, "country": str, "lang": str, "config": str},
                         pk="id")
    db["source_state"].create({
        "source_id": str, "cursor": str, "etag": str, "last_modified": str, "last_poll_at": str,
        "last_success_at": str, "last_error": str, "consecutive_failures": int, "next_poll_at": str,
        "last_new": int, "last_duration_ms": int,
    }, pk="source_id", defaults={"consecutive_failures": 0, "last_new": 0})
    db["statements"].create({
        "id": int, "source_id": str, "external_id": str, "url": str, "actor": str, "author": str,
        "title": str, "text": str, "lang": str, "published_at": str, "fetched_at": str, "edited_at": str,
        "deleted_at": str, "is_reply": int, "is_repost": int, "content_hash": str, "raw": str,
        "item_hash": str, "version": int,
    }, pk="id", not_null={"source_id", "external_id", "text", "fetched_at"},
        defaults={"is_reply": 0, "is_repost": 0, "version": 1})
    db["statements"].create_index(["source_id", "external_id"], unique=True)
    db["statements"].create_index(["published_at"])
    db["statements"].enable_fts(["title", "text"], create_triggers=True, tokenize=FTS_TOKENIZE)
    db["statement_versions"].create({
        "statement_id": int, "version": int, "title": str, "text": str, "content_hash": str, "seen_at": str,
    }, pk=("statement_id", "version"), foreign_keys=[("statement_id", "statements", "id")])
    db["classifications"].create({
        "statement_id": int, "model": str, "model_version": str, "stance": str, "stance_scores": str,
        "topics": str, "escalation": int, "escalation_score": float, "cues": str, "classified_at": str,
        "content_hash": str,
    }, pk=("statement_id", "model"), foreign_keys=[("statement_id", "statements", "id")])
    db["classifications"].create_index(["model", "escalation"])
    db["settings"].create({"key": str, "value": str}, pk="key")
    db["alerts"].create({
        "id": int, "delivery_id": str, "statement_id": int, "rule": str, "channel": str, "kind": str,
        "status": str, "attempts": int, "next_attempt_at": str, "last_error": str, "created_at": str,
        "sending_at": str, "sent_at": str, "published_at": str, "fetched_at": str, "classified_at": str,
    }, pk="id", not_null={"delivery_id", "statement_id", "rule", "channel", "kind", "status"},
        defaults={"attempts": 0, "status": "pending"},
        foreign_keys=[("statement_id", "statements", "id")])
    db["alerts"].create_index(["statement_id", "rule", "channel", "kind"], unique=True)
    db["alerts"].create_index(["delivery_id"], unique=True)
    db["alerts"].create_index(["status", "next_attempt_at"])
    db.execute("""
        create view current_classifications as
        select c.* from classifications c
        where c.model = coalesce(
            (select value from settings where key = 'active_model'),
            (select c2.model from classifications c2 where c2.statement_id = c.statement_id
             order by c2.classified_at desc limit 1))
    """)
    db.execute("""
        create view escalations as
        select s.id, s.source_id, s.actor, s.title, s.text, s.url, s.lang, s.published_at, s.fetched_at,
               s.edited_at, s.deleted_at, c.model, c.stance, c.escalation_score, c.topics, c.cues,
               c.classified_at
        from statements s join current_classifications c on c.statement_id = s.id
        where c.escalation = 1
    """)


@migrations()
def m003_alerts(db: Database) -> None:
    # digest_at: the end of the digest period a row waits for; remote_ref: the channel's id of the
    # sent message (Slack ts), so follow-ups can thread under it.
    db["alerts"].add_column("digest_at", str)
    db["alerts"].add_column("remote_ref", str)
    db["alerts"].create_index(["rule", "kind", "created_at"])
    db["channel_health"].create({
        "channel": str, "consecutive_failures": int, "failing_since": str, "last_error": str,
        "last_success_at": str, "notified_at": str,
    }, pk="channel", defaults={"consecutive_failures": 0})
    db["notices"].create({
        "id": int, "delivery_id": str, "about": str, "target": str, "kind": str, "message": str,
        "status": str, "attempts": int, "next_attempt_at": str, "last_error": str, "created_at": str,
        "sent_at": str,
    }, pk="id", not_null={"delivery_id", "about", "target", "kind", "status"},
        defaults={"attempts": 0, "status": "pending"})
    db["notices"].create_index(["delivery_id"], unique=True)


@migrations()
def m004_workbench(db: Database) -> None:
    # The analyst's workbench (Datasette, `monitor report`): the escalation_daily rollup and the
    # indexes its canned queries and dashboard need, then statistics so SQLite picks them.
    from monitor.store import rollup

    rollup.create_schema(db)
    rollup.fill_daily(db)
    db.execute("analyze")
