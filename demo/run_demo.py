"""`make demo`: the US–Colombia dispute of Sept–Oct 2025, replayed offline.

A local server publishes the bundled scenario (demo/scenario.json, texts written for this demo)
as five RSS feeds, one item every STEP seconds. The real daemon polls them, classifies every
statement, prints the alerts on the console and fills demo/out/demo.db. At the end a few ad-hoc
SQL queries show what an analyst would ask of the database.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.replay import LocalSite, Replay, load_scenario  # noqa: E402

STEP = float(os.environ.get("DEMO_STEP", "0.5"))
OUT = ROOT / "demo" / "out"
ACTORS = {"state-dept": "US Department of State", "white-house": "The White House",
          "treasury": "US Treasury", "presidencia-co": "Presidencia de Colombia",
          "cancilleria-co": "Cancillería de Colombia"}
COUNTRIES = {"state-dept": "US", "white-house": "US", "treasury": "US", "presidencia-co": "CO",
             "cancilleria-co": "CO"}

QUERIES = [
    ("Escalations per actor",
     "select actor, count(*) as escalations, round(avg(escalation_score), 2) as mean_score "
     "from escalations group by actor order by escalations desc"),
    ("The five most escalatory statements",
     "select substr(published_at, 1, 10) as day, actor, substr(coalesce(title, text), 1, 70) as statement, "
     "round(escalation_score, 2) as score from escalations order by escalation_score desc limit 5"),
    ("Stance by language",
     "select s.lang, c.stance, count(*) as n from statements s join current_classifications c "
     "on c.statement_id = s.id group by 1, 2 order by 1, 2"),
    ("Full-text search without accents: 'sancion*' finds 'sanción' and 'sanciones'",
     "select s.actor, substr(s.title, 1, 70) as title from statements_fts f join statements s "
     "on s.id = f.rowid where statements_fts match 'sancion*' limit 5"),
    ("Edited statements and their versions",
     "select s.actor, substr(s.title, 1, 60) as title, count(v.version) as versions, s.edited_at "
     "from statements s join statement_versions v on v.statement_id = s.id "
     "where s.edited_at is not null group by s.id"),
    ("Alerts sent",
     "select a.channel, a.kind, count(*) as sent from alerts a where a.status = 'sent' group by 1, 2"),
]


def write_config(site_url: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in ("demo.db", "demo.db-wal", "demo.db-shm"):
        (OUT / name).unlink(missing_ok=True)
    sources = "".join(
        f'\n[[sources]]\nid = "{feed}"\nkind = "rss"\nurl = "{site_url}/feeds/{feed}.xml"\n'
        f'actor = "{actor}"\ncountry = "{COUNTRIES[feed]}"\ninterval = "1s"\nfetch_full_text = true\n'
        for feed, actor in ACTORS.items())
    path = OUT / "monitor.toml"
    path.write_text(
        f'[monitor]\ndatabase = "{OUT / "demo.db"}"\n\n[daemon]\nclassify_interval = "2s"\n'
        'alerts_interval = "1s"\njitter = "0s"\n' + sources +
        '\n[alerts]\nmax_age = "0"\n\n[alerts.channels.console]\nkind = "console"\n\n'
        '[[alerts.rules]]\nname = "escalation"\nescalation = true\nchannels = ["console"]\n',
        encoding="utf-8")
    return path


def settled(db: Path, expected: int) -> bool:
    if not db.exists():
        return False
    con = sqlite3.connect(db)
    try:
        stored = con.execute("select count(*) from statements").fetchone()[0]
        unclassified = con.execute("select count(*) from statements s where not exists (select 1 from "
                                   "current_classifications c where c.statement_id = s.id)").fetchone()[0]
        queued = con.execute("select count(*) from alerts where status in ('pending', 'sending')").fetchone()[0]
        return stored >= expected and unclassified == 0 and queued == 0
    except sqlite3.Error:
        return False
    finally:
        con.close()


def print_table(con: sqlite3.Connection, title: str, sql: str) -> None:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    rows = [[("" if v is None else str(v)) for v in row] for row in cursor.fetchall()]
    widths = [max(len(n), *(len(r[i]) for r in rows)) if rows else len(n) for i, n in enumerate(names)]
    print(f"\n-- {title}\n-- {sql}")
    print("  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def main() -> int:
    scenario = load_scenario(ROOT / "demo" / "scenario.json")
    with LocalSite() as site:
        replay = Replay(scenario, site, step=STEP)
        config = write_config(site.url)
        print(f"Replaying {len(replay.items)} statements from {len(ACTORS)} official feeds on {site.url}, "
              f"one every {STEP} s: {scenario['title']}\n", flush=True)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        daemon = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"], env=env,
                                  cwd=ROOT)
        deadline = replay.finished_at + 120
        try:
            while time.time() < deadline and daemon.poll() is None:
                if time.time() > replay.finished_at + 3 and settled(OUT / "demo.db", len(replay.items)):
                    break
                time.sleep(0.5)
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=30)
    con = sqlite3.connect(OUT / "demo.db")
    print("\n" + "=" * 78 + f"\nThe daemon stopped (exit {code}). What the database holds now "
          f"({OUT / 'demo.db'}):")
    for title, sql in QUERIES:
        print_table(con, title, sql)
    print(f"\nExplore it yourself: sqlite3 {OUT / 'demo.db'}  or  datasette {OUT / 'demo.db'}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
