"""The workbench on years of data: every canned query and every dashboard query of
datasette/metadata.yml, timed through Datasette (in process) on a database of 1,000,000 statements.

Builds the database once (schema by `open_db`, i.e. the real migrations; rows with the FTS
triggers on, the rollup by `refresh_rollup`, which also runs ANALYZE), then prints a table of
timings: each query's first run apart (it reads the pages it needs into the caches), then the
median and the worst of the next 3 runs. Target: each at most 1 s.

    .venv/bin/python benchmarks/workbench.py [--statements 1000000] [--db /tmp/workbench-1m/monitor.db]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from monitor.store import open_db  # noqa: E402
from monitor.store.rollup import refresh_rollup  # noqa: E402
from monitor.workbench.serve import DEFAULT_SETTINGS  # noqa: E402

ACTORS = ["US Treasury", "US Department of State", "The White House", "Gustavo Petro", "Cancillería de Colombia",
          "Presidencia de Colombia", "UK Foreign Office", "UN News", "Nicolás Maduro", "Gobierno de México",
          "European Commission", "Ministry of Foreign Affairs of Brazil"]
SUBJECTS_EN = ["The Treasury", "The Department", "The President", "The Secretary", "The Government", "The Ministry"]
VERBS_EN = ["imposed sanctions on", "announced new tariffs against", "welcomed talks with", "condemned",
            "suspended aid to", "signed an agreement with", "recalled its ambassador from", "warned",
            "extended cooperation with", "designated", "lifted restrictions on", "called for dialogue with"]
OBJECTS = ["Colombia", "Venezuela", "Mexico", "the cartel leadership", "officials of the regime", "Brazil",
           "the shipping companies", "the armed group", "the trade delegation", "the border authorities"]
SUBJECTS_ES = ["El Gobierno", "La Cancillería", "El presidente", "El Ministerio", "La Presidencia"]
VERBS_ES = ["rechaza las sanciones contra", "anuncia aranceles de represalia a", "propone una mesa de diálogo con",
            "condena la decisión de", "suspende la cooperación con", "firma un acuerdo con",
            "llama a consultas a su embajador en", "celebra el acercamiento con", "denuncia la injerencia de"]
OBJECTS_ES = ["Estados Unidos", "Washington", "la Casa Blanca", "Venezuela", "los gobiernos vecinos",
              "la comunidad internacional", "el Departamento del Tesoro", "las autoridades migratorias"]
FILLER = ["in a statement released on Tuesday", "according to officials", "after weeks of negotiations",
          "citing national security concerns", "while markets reacted cautiously", "during a press conference"]
FILLER_ES = ["en un comunicado oficial", "según fuentes del Gobierno", "tras semanas de tensiones",
             "por razones de soberanía nacional", "durante una rueda de prensa", "ante la comunidad internacional"]
TOPICS = ["sanctions", "trade", "aid", "drugs", "military", "diplomacy", "legal", "migration", "other"]
MODEL = "stance-topic/benchmark"


def sentence(rng: random.Random, spanish: bool) -> str:
    if spanish:
        return (f"{rng.choice(SUBJECTS_ES)} {rng.choice(VERBS_ES)} {rng.choice(OBJECTS_ES)} "
                f"{rng.choice(FILLER_ES)}.")
    return f"{rng.choice(SUBJECTS_EN)} {rng.choice(VERBS_EN)} {rng.choice(OBJECTS)} {rng.choice(FILLER)}."


def build(path: Path, n: int, seed: int = 7) -> None:
    """Fills a fresh database with n statements over three years, classifications and alerts."""
    rng = random.Random(seed)
    db = open_db(path)
    db.execute("insert into settings (key, value) values ('active_model', ?)", [MODEL])
    db.conn.executemany("insert into sources (id, kind, actor, lang, config) values (?, 'rss', ?, ?, '{}')",
                        [(f"src-{i}", a, "es" if i % 3 == 1 else "en") for i, a in enumerate(ACTORS)])
    db.conn.executemany("insert into source_state (source_id, last_success_at, consecutive_failures) "
                        "values (?, '2025-11-01T00:00:00Z', ?)", [(f"src-{i}", i % 4) for i in range(len(ACTORS))])
    # bulk load: indexes and FTS triggers (exactly as the migrations made them) come back afterwards
    saved = [sql for (sql,) in db.execute("select sql from sqlite_master where type in ('index', 'trigger') "
                                          "and sql is not null and tbl_name in ('statements', 'classifications', "
                                          "'alerts')")]
    for kind, name in db.execute("select type, name from sqlite_master where type in ('index', 'trigger') "
                                 "and sql is not null and tbl_name in ('statements', 'classifications', 'alerts')"
                                 ).fetchall():
        db.execute(f"drop {kind} {name}")
    db.conn.commit()
    db.execute("pragma synchronous = off")
    db.execute("pragma cache_size = -400000")
    start, span = datetime(2022, 11, 1, tzinfo=UTC), 3 * 365 * 86400
    batch, started = 20_000, time.monotonic()
    for offset in range(0, n, batch):
        statements, classifications = [], []
        for i in range(offset, min(n, offset + batch)):
            actor_index = rng.randrange(len(ACTORS))
            spanish = actor_index % 3 == 1
            published = start + timedelta(seconds=int(span * i / n) + rng.randrange(600))
            text = " ".join(sentence(rng, spanish) for _ in range(rng.randint(2, 5)))
            at = published.strftime("%Y-%m-%dT%H:%M:%SZ")
            edited = at if rng.random() < 0.005 else None
            deleted = at if rng.random() < 0.002 else None
            statements.append((i + 1, f"src-{actor_index}", f"item-{i}", f"https://example.org/{i}",
                               ACTORS[actor_index], text[:90], text, "es" if spanish else "en", at, at, edited,
                               deleted, f"h{i}", 2 if edited else 1))
            roll = rng.random()
            stance = "escalatory" if roll < 0.25 else "de-escalatory" if roll < 0.5 else "neutral"
            score = rng.uniform(0.5, 0.99) if stance == "escalatory" else rng.uniform(0.0, 0.45)
            topics = rng.sample(TOPICS, rng.randint(1, 2))
            classifications.append((i + 1, MODEL, "1", stance, json.dumps({stance: 0.8}), json.dumps(topics),
                                    int(score >= 0.6), round(score, 4), json.dumps(text.split()[1:4]), at, f"h{i}"))
        with db.conn:
            db.conn.executemany(
                "insert into statements (id, source_id, external_id, url, actor, title, text, lang, published_at, "
                "fetched_at, edited_at, deleted_at, content_hash, version) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", statements)
            db.conn.executemany(
                "insert into classifications (statement_id, model, model_version, stance, stance_scores, topics, "
                "escalation, escalation_score, cues, classified_at, content_hash) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", classifications)
            db.conn.executemany(
                "insert into alerts (delivery_id, statement_id, rule, channel, kind, status, attempts, last_error, "
                "created_at, next_attempt_at) values (?, ?, 'escalation', 'desk-slack', 'new', ?, ?, ?, ?, ?)",
                [(f"d{c[0]}", c[0], "failed" if c[0] % 50 == 0 else "sent", 1, "HTTP 500" if c[0] % 50 == 0
                  else None, c[9], c[9]) for c in classifications if c[6] and c[0] % 5 == 0])
        print(f"  {min(n, offset + batch):>9,} statements  {time.monotonic() - started:6.0f} s", file=sys.stderr)
    with db.conn:
        db.execute("insert into statements_fts (statements_fts) values ('rebuild')")
        for sql in saved:
            db.execute(sql)
    print(f"  indexes and full-text index: {time.monotonic() - started:.0f} s", file=sys.stderr)
    result = refresh_rollup(db)   # first refresh: builds the rollup from scratch, then ANALYZE
    print(f"  rollup: {result.days} days, analyzed={result.analyzed}, total {time.monotonic() - started:.0f} s",
          file=sys.stderr)
    db.conn.close()


def cases(metadata: dict, last_day: str) -> list[tuple[str, str]]:
    """(name, path) of every read canned query and every dashboard chart query."""
    month = (datetime.fromisoformat(last_day) - timedelta(days=30)).date().isoformat()
    params = {"since": month, "actor": "", "topic": "", "q": "sanciones", "statement_id": "4242", "until": ""}
    out = []
    for name, query in metadata["databases"]["monitor"]["queries"].items():
        if query.get("write"):
            continue
        used = set(re.findall(r"(?<!:):(\w+)", query["sql"])) & set(params)
        suffix = ".atom" if name == "escalations_feed" else ".json"
        args = "&".join(f"{k}={params[k]}" for k in sorted(used))
        out.append((name, f"/monitor/{name}{suffix}?{args}"))
        if name in ("latest_escalations", "statement_search"):
            extra = "actor=Gustavo Petro&topic=trade" if name == "latest_escalations" else "actor=Gustavo Petro"
            out.append((f"{name} (actor)", f"/monitor/{name}.json?{args.replace('actor=&', '')}&{extra}"
                        .replace("&topic=&", "&")))
    dashboard = metadata["plugins"]["datasette-dashboards"]["escalation"]
    sql = re.sub(r"\[\[.*?\]\]", "", dashboard["filters"]["actor"]["query"])
    out.append(("dashboard filter: actor", "/monitor.json?" + _q(sql, "")))
    for name, chart in dashboard["charts"].items():
        for label, since, actor in (("", month, ""), (" (3 years)", "2022-11-01", ""),
                                    (" (actor)", month, "Gustavo Petro")):
            sql = chart["query"]
            sql = sql.replace("[[", "").replace("]]", "") if actor else re.sub(r"\[\[.*?\]\]", "", sql)
            out.append((f"dashboard {name}{label}", "/monitor.json?" + _q(sql, since, actor)))
    out.append(("table page: statements", "/monitor/statements.json?_size=50"))
    out.append(("table page: escalations, _nocount", "/monitor/escalations.json?_nocount=1&_size=50"))
    out.append(("table page: recent_escalations + 3 facets", "/monitor/recent_escalations.json?_size=50"))
    out.append(("table search: statements ?_search=", "/monitor/statements.json?_search=aranceles&_size=50"))
    return out


def _q(sql: str, since: str, actor: str = "") -> str:
    from urllib.parse import urlencode

    params = {"sql": sql, "_shape": "array"}
    if ":since" in sql:
        params["since"] = since
    if ":actor" in sql:
        params["actor"] = actor
    return urlencode(params)


async def time_all(path: Path, metadata: dict, runs: int) -> list[tuple[str, int, list[float]]]:
    from datasette.app import Datasette

    metadata = json.loads(json.dumps(metadata))
    metadata["plugins"].pop("datasette-auth-passwords", None)
    metadata["plugins"].pop("datasette-auth-tokens", None)
    # as `datasette serve --setting` converts them: "off" is a string, and a true one, in Python
    settings = {k: {"on": True, "off": False}.get(v, v) for k, v in DEFAULT_SETTINGS.items()}
    ds = Datasette([str(path)], metadata=metadata, settings=settings)
    cookies = {"ds_actor": ds.sign({"a": {"id": "bench", "role": "analyst"}}, "actor")}
    last_day = (await ds.get_database("monitor").execute("select max(day) from escalation_daily")).rows[0][0]
    results = []
    for name, url in cases(metadata, last_day):
        times, status = [], 0
        for _ in range(runs + 1):  # the first run is reported apart: it reads pages into the caches
            began = time.perf_counter()
            response = await ds.client.get(url, cookies=cookies)
            times.append(time.perf_counter() - began)
            status = response.status_code
        results.append((name, status, times))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/workbench-1m/monitor.db"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not args.db.exists():
        args.db.parent.mkdir(parents=True, exist_ok=True)
        print(f"building {args.db} ({args.statements:,} statements)...", file=sys.stderr)
        build(args.db, args.statements)
    if args.db.name != "monitor.db":   # Datasette names a database after its file; the metadata says monitor
        parser.error("--db must be a file named monitor.db")
    path = args.db
    metadata = yaml.safe_load((ROOT / "datasette" / "metadata.yml").read_text(encoding="utf-8"))
    rows = asyncio.run(time_all(path, metadata, args.runs))
    count = open_db(args.db, migrate=False).execute("select count(*) from statements").fetchone()[0]
    print(f"\n{count:,} statements, Datasette 0.65: the first run of each query (caches cold for it), "
          f"then the median and worst of the next {args.runs}\n")
    print(f"| {'query':<48} | status | first s | median s | worst s |\n"
          f"|{'-' * 50}|--------|---------|----------|---------|")
    for name, status, (first, *times) in rows:
        flag = "" if max(times) <= 1.0 else "  > 1 s"
        median = statistics.median(times)
        print(f"| {name:<48} | {status:>6} | {first:7.3f} | {median:8.3f} | {max(times):7.3f} |{flag}")
    slow = [name for name, _, (_, *times) in rows if max(times) > 1.0]
    cold = [name for name, _, (first, *_) in rows if first > 1.0]
    print(f"\n{len(rows) - len(slow)} of {len(rows)} at most 1 s once warm"
          + (f"; over: {', '.join(slow)}" if slow else ""))
    print(f"first runs over 1 s: {', '.join(cold) or 'none'}")


if __name__ == "__main__":
    main()
