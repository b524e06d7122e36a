"""The `escalation_daily` rollup (per actor and day: counts by stance, mean and max escalation
score) that keeps Datasette's charts fast on years of data, and `ANALYZE` after large changes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlite_utils import Database

from monitor.store import get_setting

# The day a statement belongs to: when it was published, or when we first saw it if the source
# gave no date. `statements_day` (m004_workbench) indexes exactly this expression.
DAY = "coalesce(s.published_at, s.fetched_at)"

_SELECT = f"""
select substr({DAY}, 1, 10) as day, coalesce(s.actor, '') as actor, count(*) as statements,
       sum(c.escalation) as escalations,
       sum(c.stance = 'escalatory') as escalatory,
       sum(c.stance = 'de-escalatory') as de_escalatory,
       sum(c.stance = 'neutral') as neutral,
       sum(c.escalation_score) as score_sum,
       avg(c.escalation_score) as score_mean,
       max(c.escalation_score) as score_max
from statements s join current_classifications c on c.statement_id = s.id
where s.deleted_at is null {{where}}
group by 1, 2
"""
_COLUMNS = ("day, actor, statements, escalations, escalatory, de_escalatory, neutral, "
            "score_sum, score_mean, score_max")
_TOUCHED = f"""
select distinct substr({DAY}, 1, 10) from classifications c join statements s on s.id = c.statement_id
where c.classified_at >= :since
union
select distinct substr({DAY}, 1, 10) from statements s where s.deleted_at >= :since
"""
ANALYZE_MIN_ROWS = 1000     # never re-analyze for fewer changed rows than this
ANALYZE_FRACTION = 0.10     # ... or than this share of the statements seen at the last ANALYZE


@dataclass(frozen=True)
class RollupResult:
    days: int
    changed: int
    analyzed: bool


def create_schema(db: Database) -> None:
    """The rollup table and the indexes that the workbench's queries need (m004_workbench)."""
    db.execute("""create table if not exists escalation_daily (
        day text not null, actor text not null, statements integer not null, escalations integer not null,
        escalatory integer not null, de_escalatory integer not null, neutral integer not null,
        score_sum real not null, score_mean real not null, score_max real not null,
        primary key (day, actor))""")
    db.execute("create index if not exists escalation_daily_actor on escalation_daily (actor, day)")
    db.execute(f"create index if not exists statements_day on statements ({DAY.replace('s.', '')})")
    db.execute("create index if not exists statements_actor_published on statements (actor, published_at)")
    # partial indexes: edits and deletions are rare, so `edits_and_deletions` reads only them
    db.execute("create index if not exists statements_edited on statements (edited_at) where edited_at is not null")
    db.execute("create index if not exists statements_deleted on statements (deleted_at) "
               "where deleted_at is not null")
    db.execute("create index if not exists classifications_classified_at on classifications (classified_at)")
    db.execute("create index if not exists alerts_status_created on alerts (status, created_at)")
    # bounded, so Datasette's default facets (actor, topics array, lang) stay fast on years of data;
    # relative to the newest statement, not to now, so a replayed or archived database shows too
    db.execute("""create view if not exists recent_escalations as
        select * from escalations
        where published_at >= (select date(max(published_at), '-30 days') from statements)""")


def rebuild_daily(db: Database) -> int:
    """Recomputes the whole rollup from the tables; returns how many (day, actor) rows it holds."""
    with db.conn:
        fill_daily(db)
    return int(db.execute("select count(*) from escalation_daily").fetchone()[0])


def fill_daily(db: Database) -> None:
    """Replaces the rollup's rows, inside the caller's transaction (a migration's, say)."""
    db.execute("delete from escalation_daily")
    db.execute(f"insert into escalation_daily ({_COLUMNS}) " + _SELECT.format(where=""))


def refresh_days(db: Database, days: Iterable[str]) -> int:
    """Recomputes the rollup rows of the given days (YYYY-MM-DD), each through the day index."""
    count = 0
    with db.conn:
        for day in sorted(set(days)):
            try:
                upper = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
            except ValueError:  # a malformed date from a source: recompute by the exact prefix
                upper = day + "\uffff"
            db.execute("delete from escalation_daily where day = ?", [day])
            db.execute(f"insert into escalation_daily ({_COLUMNS}) "
                       + _SELECT.format(where=f"and {DAY} >= :lo and {DAY} < :hi"), {"lo": day, "hi": upper})
            count += 1
    return count


def refresh_rollup(db: Database) -> RollupResult:
    """Brings the rollup up to date with what was classified (or deleted) since the last refresh,
    rebuilding it when the model in use changed; then runs ANALYZE if the change was large."""
    model = get_setting(db, "active_model") or ""
    since = get_setting(db, "rollup_since")
    mark = db.execute("select max(classified_at) from classifications").fetchone()[0]
    if since is None or get_setting(db, "rollup_model") != model:
        rebuild_daily(db)
        changed = int(db.execute("select count(*) from classifications").fetchone()[0])
        days = int(db.execute("select count(distinct day) from escalation_daily").fetchone()[0])
    else:
        changed = int(db.execute("select count(*) from classifications where classified_at >= ?",
                                 [since]).fetchone()[0])
        touched = [row[0] for row in db.execute(_TOUCHED, {"since": since}) if row[0]]
        days = refresh_days(db, touched)
    _set(db, {"rollup_since": mark or "", "rollup_model": model})
    return RollupResult(days=days, changed=changed, analyzed=maybe_analyze(db, changed))


def maybe_analyze(db: Database, changed: int) -> bool:
    """Runs ANALYZE once the rows changed since the last one add up to a large share of the table,
    so SQLite keeps choosing the date indexes (without statistics a 9 ms page took seconds)."""
    pending = int(get_setting(db, "analyze_pending") or 0) + changed
    baseline = int(get_setting(db, "analyze_rows") or 0)
    if pending < max(ANALYZE_MIN_ROWS, ANALYZE_FRACTION * baseline):
        _set(db, {"analyze_pending": str(pending)})
        return False
    analyze(db)
    return True


def analyze(db: Database) -> None:
    """ANALYZE now, and remember the table size it saw."""
    db.execute("analyze")
    rows = db.execute("select count(*) from statements").fetchone()[0]
    _set(db, {"analyze_pending": "0", "analyze_rows": str(rows)})


def _set(db: Database, values: dict[str, str]) -> None:
    with db.conn:
        for key, value in values.items():
            db.execute("insert into settings (key, value) values (?, ?) "
                       "on conflict(key) do update set value = excluded.value", [key, value])
