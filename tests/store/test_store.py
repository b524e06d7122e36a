import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import SourceConfig
from monitor.models import Classification, Cursor, Statement
from monitor.store import open_db, outbox, pending_migrations
from monitor.store.state import get_cursor, record_failure, record_success, source_health, sync_sources
from monitor.store.statements import pending_classification, save_classifications, save_statements
from tests.helpers import ROOT

NOW = datetime(2025, 10, 24, 20, 0, tzinfo=UTC)


def statement(external_id: str = "1", text: str = "Sanciones impuestas hoy.", title: str = "Título") -> Statement:
    return Statement(source_id="s", external_id=external_id, text=text, title=title, actor="A", lang="es",
                     published_at=NOW)


def test_init_is_idempotent_and_matches_the_spec(tmp_path: Path) -> None:
    config = tmp_path / "m.toml"
    config.write_text(f'[monitor]\ndatabase = "{tmp_path / "m.db"}"\n')
    for _ in range(2):
        run = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "init"],
                             capture_output=True, text=True, cwd=ROOT)
        assert run.returncode == 0, run.stderr
    check = subprocess.run([sys.executable, str(ROOT.parent / "shared" / "checks" / "spec_tables.py"),
                            str(Path(sys.executable).parent / "monitor")], capture_output=True, text=True)
    if (ROOT.parent / "shared" / "checks" / "spec_tables.py").exists():
        assert check.returncode == 0, check.stdout
    assert pending_migrations(open_db(tmp_path / "m.db")) == []


def test_wal_and_a_reader_while_writing(tmp_path: Path) -> None:
    db = open_db(tmp_path / "m.db")
    assert db.journal_mode == "wal"
    db.conn.execute("begin immediate")
    db.conn.execute("insert into settings values ('k', 'v')")
    reader = sqlite3.connect(tmp_path / "m.db")
    assert reader.execute("select count(*) from statements").fetchone() == (0,)
    db.conn.commit()


def test_statements_are_stored_once(tmp_path: Path) -> None:
    db = open_db(tmp_path / "m.db")
    first = save_statements(db, [statement("1"), statement("2", "Otro texto.")], NOW)
    again = save_statements(db, [statement("1"), statement("2", "Otro texto.")], NOW)
    assert len(first.new) == 2 and again.new == () and again.edited == ()
    assert db["statements"].count == 2


def test_an_edit_becomes_a_new_version(tmp_path: Path) -> None:
    db = open_db(tmp_path / "m.db")
    (sid,) = save_statements(db, [statement()], NOW).new
    result = save_statements(db, [statement(text="Sanciones impuestas hoy. Corrección: a cuatro personas.")],
                             NOW + timedelta(hours=1))
    assert result.edited == (sid,)
    row = db["statements"].get(sid)
    assert row["edited_at"] == "2025-10-24T21:00:00Z" and row["version"] == 2
    versions = [r["text"] for r in db.query("select text from statement_versions order by version")]
    assert versions == ["Sanciones impuestas hoy.", "Sanciones impuestas hoy. Corrección: a cuatro personas."]


def test_full_text_search_ignores_accents(tmp_path: Path) -> None:
    db = open_db(tmp_path / "m.db")
    save_statements(db, [statement(text="La sanción fue impuesta por la Oficina."), statement("2", "Nada.")], NOW)
    hits = db.execute("select rowid from statements_fts where statements_fts match 'sancion'").fetchall()
    assert len(hits) == 1


def test_pending_classification_follows_the_text(tmp_path: Path) -> None:
    db = open_db(tmp_path / "m.db")
    save_statements(db, [statement()], NOW)
    pending = pending_classification(db, "m/1")
    c = Classification("escalatory", {"escalatory": 0.9}, ("sanctions",), 0.9, True, ("sanciones",), "m/1")
    save_classifications(db, [(pending[0], c)], "1", NOW)
    assert pending_classification(db, "m/1") == [] and len(pending_classification(db, "m/2")) == 1
    save_statements(db, [statement(text="Texto corregido.")], NOW)
    assert len(pending_classification(db, "m/1")) == 1


def test_views_use_the_active_model(tmp_path: Path) -> None:
    db = open_db(tmp_path / "m.db")
    save_statements(db, [statement()], NOW)
    p = pending_classification(db, "m/1")[0]
    for model, esc in (("m/1", True), ("m/2", False)):
        c = Classification("escalatory" if esc else "neutral", {}, ("other",), 0.9 if esc else 0.1, esc, (), model)
        save_classifications(db, [(p, c)], "1", NOW)
    db.execute("insert into settings values ('active_model', 'm/2')")
    db.conn.commit()
    assert db.execute("select count(*) from current_classifications").fetchone()[0] == 1
    assert db.execute("select count(*) from escalations").fetchone()[0] == 0


def test_outbox_claims_and_recovers(tmp_path: Path) -> None:
    db = open_db(tmp_path / "m.db")
    (sid,) = save_statements(db, [statement()], NOW).new
    assert outbox.enqueue(db, sid, "r", "slack", "new", NOW) is True
    assert outbox.enqueue(db, sid, "r", "slack", "new", NOW) is False
    (row,) = outbox.due(db, NOW)
    assert outbox.claim(db, row.id, NOW) and not outbox.claim(db, row.id, NOW)
    assert outbox.due(db, NOW) == [] and outbox.recover_interrupted(db) == 1
    (again,) = outbox.due(db, NOW)
    assert again.delivery_id == row.delivery_id and again.attempts == 1


def test_source_state_backs_off_exponentially(tmp_path: Path) -> None:
    db = open_db(tmp_path / "m.db")
    sync_sources(db, (SourceConfig(id="s", kind="rss", actor="A", url="u", bearer_token="secret"),))
    waits = [(record_failure(db, "s", "boom", NOW, 60, 600) - NOW).total_seconds() for _ in range(5)]
    assert waits == [60, 120, 240, 480, 600]
    assert "secret" not in db["sources"].get("s")["config"]
    with db.conn:
        record_success(db, "s", Cursor(etag='"e"', position="p"), NOW, 3, 12, NOW)
    assert get_cursor(db, "s") == Cursor(etag='"e"', last_modified=None, position="p")
    (health,) = source_health(db)
    assert health.consecutive_failures == 0 and health.last_error is None
