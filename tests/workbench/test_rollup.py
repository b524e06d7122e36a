"""The escalation_daily rollup: refreshed for the days that changed, rebuilt on a model change,
and ANALYZE after large changes."""

from __future__ import annotations

from pathlib import Path

from monitor.store import set_setting
from monitor.store.rollup import ANALYZE_MIN_ROWS, maybe_analyze, rebuild_daily, refresh_rollup
from tests.workbench import data


def daily(db) -> dict[tuple[str, str], tuple]:  # type: ignore[no-untyped-def]
    rows = db.execute("select day, actor, statements, escalations, escalatory, de_escalatory, neutral, "
                      "round(score_mean, 4), score_max from escalation_daily")
    return {(r[0], r[1]): r[2:] for r in rows}


def test_rollup_counts_by_stance_with_mean_and_max(tmp_path: Path) -> None:
    db = data.build(tmp_path / "m.db", days=2)
    rows = daily(db)
    assert rows[("2025-09-01", "Gustavo Petro")] == (2, 1, 1, 1, 0, round((0.84 + 0.08) / 2, 4), 0.84)
    assert rows[("2025-09-01", "US Treasury")] == (2, 1, 1, 0, 1, round((0.91 + 0.12) / 2, 4), 0.91)
    before = dict(rows)
    rebuild_daily(db)
    assert daily(db) == before   # the incremental refresh and a full rebuild agree


def test_refresh_touches_only_changed_days(tmp_path: Path) -> None:
    db = data.build(tmp_path / "m.db", days=2)
    db.execute("update escalation_daily set statements = 99 where day = '2025-09-01'")   # a marker
    data.add_statements(db, 1, 2, prefix="late")   # two more statements on the second day
    result = refresh_rollup(db)
    rows = daily(db)
    assert result.days == 1 and rows[("2025-09-02", "US Treasury")][0] == 3
    assert rows[("2025-09-01", "US Treasury")][0] == 99   # untouched day, not recomputed


def test_model_change_rebuilds(tmp_path: Path) -> None:
    db = data.build(tmp_path / "m.db", days=2)
    set_setting(db, "active_model", "another-model/2")   # nothing classified by it yet
    refresh_rollup(db)
    assert daily(db) == {}


def test_analyze_after_large_changes(tmp_path: Path) -> None:
    db = data.build(tmp_path / "m.db", days=1)
    db.execute("delete from sqlite_stat1")
    set_setting(db, "analyze_pending", "0")
    assert not maybe_analyze(db, ANALYZE_MIN_ROWS - 1)
    assert db.execute("select count(*) from sqlite_stat1").fetchone()[0] == 0
    assert maybe_analyze(db, 1)   # the pending changes add up
    assert db.execute("select count(*) from sqlite_stat1 where tbl = 'statements'").fetchone()[0] > 0
