"""A small workbench database filled through the store functions, as the daemon fills it.
The texts are written for these tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import SourceConfig
from monitor.models import Classification, Statement
from monitor.store import open_db, outbox, set_setting
from monitor.store.rollup import refresh_rollup
from monitor.store.state import sync_sources
from monitor.store.statements import pending_classification, save_classifications, save_statements

MODEL = "test-model/1"
START = datetime(2025, 9, 1, 12, tzinfo=UTC)
SOURCES = (SourceConfig(id="treasury", kind="rss", actor="US Treasury", url="http://127.0.0.1/t.xml"),
           SourceConfig(id="presidencia", kind="rss", actor="Gustavo Petro", url="http://127.0.0.1/p.xml"))
# (source, title, text, stance, score, topics, cues): an escalation, its answer and a thaw
TEXTS = (
    ("treasury", "Treasury imposes sanctions on the president",
     "The Treasury imposed sanctions on the president and froze his assets.", "escalatory", 0.91,
     ["sanctions"], ["imposed sanctions on"]),
    ("presidencia", "Colombia rechaza las sanciones",
     "El Gobierno rechaza la sanción y anuncia aranceles de represalia.", "escalatory", 0.84,
     ["sanctions", "trade"], ["aranceles de represalia"]),
    ("presidencia", "Colombia propone diálogo",
     "El presidente propone una mesa de diálogo para reducir las tensiones.", "de-escalatory", 0.08,
     ["diplomacy"], ["mesa de diálogo"]),
    ("treasury", "Treasury publishes a routine notice",
     "The Treasury published its weekly schedule of notices.", "neutral", 0.12, ["other"], []),
)


def add_statements(db, day: int, count: int, prefix: str = "s") -> list[int]:  # type: ignore[no-untyped-def]
    """Stores and classifies `count` statements on day `day` after START; returns their ids."""
    now = START + timedelta(days=day)
    items = []
    for i in range(count):
        source, title, text, *_ = TEXTS[i % len(TEXTS)]
        items.append(Statement(source_id=source, external_id=f"{prefix}-{day}-{i}", text=text, title=title,
                               actor=next(s.actor for s in SOURCES if s.id == source),
                               url=f"http://127.0.0.1/{prefix}/{day}/{i}", lang="en",
                               published_at=now + timedelta(minutes=i)))
    saved = save_statements(db, items, now)
    pending = {p.id: p for p in pending_classification(db, MODEL, 10_000)}
    pairs = []
    for sid in saved.new:
        row = db.execute("select title from statements where id = ?", [sid]).fetchone()
        _, _, _, stance, score, topics, cues = next(t for t in TEXTS if t[1] == row[0])
        pairs.append((pending[sid], Classification(
            stance=stance, stance_scores={stance: 0.8}, topics=tuple(topics), escalation_score=score,
            escalation=score >= 0.5, cues=tuple(cues), model=MODEL)))
    save_classifications(db, pairs, "1", now)
    return list(saved.new)


def build(path: Path, days: int = 6):  # type: ignore[no-untyped-def]
    """The database: statements over `days` days, a sent and a failed alert, an edit, the rollup."""
    db = open_db(path)
    sync_sources(db, SOURCES)
    set_setting(db, "active_model", MODEL)
    ids = []
    for day in range(days):
        ids += add_statements(db, day, 4)
    now = START + timedelta(days=days)
    with db.conn:
        outbox.enqueue(db, ids[0], "escalation", "desk-slack", "new", now)
        outbox.enqueue(db, ids[1], "escalation", "desk-slack", "new", now)
    rows = {r[1]: r[0] for r in db.execute("select id, statement_id from alerts")}
    outbox.mark_sent(db, rows[ids[0]], now)
    outbox.mark_failed(db, rows[ids[1]], "HTTP 404 from Slack: no_service")
    edited = Statement(source_id="treasury", external_id="s-0-0", text="The Treasury imposed sanctions "
                       "on the president, froze his assets and barred his family.",
                       title=TEXTS[0][1], actor="US Treasury", published_at=START)
    save_statements(db, [edited], now)
    refresh_rollup(db)
    return db
