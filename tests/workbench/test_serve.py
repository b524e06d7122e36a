"""`monitor serve`: Datasette as a real subprocess on a database written at the same time.
Every canned query, the Atom feed and the dashboard answer; anonymous callers see nothing; the
token reads and never writes; an analyst logs in and re-queues a failed alert."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
import yaml

from monitor.store import open_db
from monitor.store.rollup import refresh_rollup
from monitor.workbench.serve import build_metadata, command
from tests.helpers import ROOT, free_port, wait_until
from tests.workbench import data

pytest.importorskip("datasette", reason="install requirements-datasette.txt (make install does)")

TOKEN = "reader-token-0123456789abcdef"
PASSWORD = "correct horse battery staple"
METADATA = yaml.safe_load((ROOT / "datasette" / "metadata.yml").read_text(encoding="utf-8"))
QUERIES = METADATA["databases"]["monitor"]["queries"]
READ_QUERIES = {name: q for name, q in QUERIES.items() if not q.get("write")}
PARAMS = {"since": "2025-09-01", "actor": "", "topic": "", "q": "sanción", "statement_id": "1", "until": ""}


class Server:
    def __init__(self, base: str, db_path: Path, process: subprocess.Popen[bytes]) -> None:
        self.base, self.db_path, self.process = base, db_path, process
        self.client = httpx.Client(base_url=base, timeout=20)
        self.log_path = Path()


def _hash(password: str) -> str:
    from datasette_auth_passwords.utils import hash_password

    return str(hash_password(password))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve")
    db_path = folder / "monitor.db"
    data.build(db_path).conn.close()
    port = free_port()
    config = folder / "monitor.toml"
    config.write_text(f'[monitor]\ndatabase = "{db_path}"\n\n[serve]\nanalysts = {{ alice = "TEST_ALICE_HASH" }}\n'
                      'tokens = { scripts = "TEST_READER_TOKEN" }\n', encoding="utf-8")
    env = {**os.environ, "TEST_ALICE_HASH": _hash(PASSWORD), "TEST_READER_TOKEN": TOKEN,
           "DATASETTE_SECRET": "test-secret"}
    log = (folder / "serve.log").open("wb")   # a file, not a pipe: a full pipe would block Datasette
    process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "serve", "--port",
                                str(port)], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    served = Server(f"http://127.0.0.1:{port}", db_path, process)
    served.log_path = folder / "serve.log"
    try:
        wait_until(lambda: _responds(served), timeout=60, message="datasette to answer")
        yield served
    finally:
        process.terminate()
        process.wait(timeout=20)
        served.client.close()
        log.close()


def _responds(server: Server) -> bool:
    assert server.process.poll() is None, server.log_path.read_text(errors="replace")
    try:
        return server.client.get("/-/static/app.css").status_code == 200
    except httpx.TransportError:
        return False


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def test_never_immutable_and_named_after_the_file(tmp_path: Path) -> None:
    from monitor.config import load_config

    path = tmp_path / "m.toml"
    path.write_text(f'[monitor]\ndatabase = "{tmp_path / "desk.db"}"\n[serve]\ndatasette = "datasette"\n')
    config = load_config(path)
    args = command(config, tmp_path / "meta.yml", "127.0.0.1", 8001)
    assert "-i" not in args and "--immutable" not in args and str(tmp_path / "desk.db") in args
    metadata = build_metadata(METADATA, config)
    assert "desk" in metadata["databases"] and "monitor" not in metadata["databases"]
    assert metadata["databases"]["desk"]["queries"]["retry_failed_alert"]["on_success_redirect"] == \
        "/desk/failed_alerts"
    charts = metadata["plugins"]["datasette-dashboards"]["escalation"]["charts"]
    assert {c["db"] for c in charts.values()} == {"desk"}


def test_anonymous_callers_see_nothing(server: Server) -> None:
    paths = ["/", "/monitor", "/monitor/statements.json", "/monitor.json?sql=select+1",
             "/monitor/escalations_feed.atom", "/-/dashboards/escalation", "/-/dashboards"]
    paths += [f"/monitor/{name}.json" for name in QUERIES]
    for path in paths:
        assert server.client.get(path).status_code == 403, path
    robots = server.client.get("/robots.txt")
    assert robots.status_code == 200 and "Disallow: /" in robots.text
    assert server.client.get("/-/static/app.css").status_code == 200   # the health probe


def test_every_canned_query_answers_while_the_daemon_writes(server: Server) -> None:
    stop, written, errors = threading.Event(), [], []

    def writer() -> None:   # the daemon's writes, through the same store functions
        db = open_db(server.db_path)
        try:
            day = 10
            while not stop.is_set():
                written.extend(data.add_statements(db, day, 4, prefix="live"))
                refresh_rollup(db)
                day += 1
        except Exception as exc:  # reported below: a failed write is a failed test
            errors.append(exc)
        finally:
            db.conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        first = _count(server)
        for name in READ_QUERIES:
            response = server.client.get(f"/monitor/{name}.json", params={**PARAMS, "_shape": "objects"},
                                         headers=bearer())
            assert response.status_code == 200, (name, response.text[:300])
            assert response.json()["ok"], name
        wait_until(lambda: _count(server) > first, timeout=30, message="datasette to see the new rows")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors and written


def _count(server: Server) -> int:
    response = server.client.get("/monitor.json", params={"sql": "select count(*) as n from statements",
                                                          "_shape": "array"}, headers=bearer())
    assert response.status_code == 200, response.text
    return int(response.json()[0]["n"])


def test_queries_return_what_analysts_ask(server: Server) -> None:
    get = lambda name, **kw: server.client.get(f"/monitor/{name}.json",  # noqa: E731
                                               params={**PARAMS, **kw, "_shape": "objects"}, headers=bearer())
    found = get("statement_search", q="sancion", actor="Gustavo Petro").json()["rows"]
    assert found and all(r["actor"] == "Gustavo Petro" for r in found) and "[sanci" in found[0]["snippet"]
    actors = {r["actor"]: r for r in get("escalations_by_actor").json()["rows"]}
    assert actors["Gustavo Petro"]["escalations"] >= 6 and actors["Gustavo Petro"]["de_escalatory"] >= 6
    failed = get("failed_alerts").json()["rows"]
    assert [r["last_error"] for r in failed] == ["HTTP 404 from Slack: no_service"]
    changes = get("edits_and_deletions").json()["rows"]
    assert changes[0]["change"] == "edited" and changes[0]["version"] == 2
    latest = get("latest_escalations", topic="trade").json()["rows"]
    assert latest and all("trade" in r["topics"] for r in latest)


def test_atom_feed_and_dashboard(server: Server) -> None:
    feed = server.client.get("/monitor/escalations_feed.atom", params={"_auth_token": TOKEN})
    assert feed.status_code == 200 and "xml" in feed.headers["content-type"]
    entries = ElementTree.fromstring(feed.content).findall("{http://www.w3.org/2005/Atom}entry")
    assert entries and entries[0].find("{http://www.w3.org/2005/Atom}id").text.startswith("tag:statement-monitor")
    page = server.client.get("/-/dashboards/escalation", params={"since": "2025-09-01"}, headers=bearer())
    assert page.status_code == 200 and "Escalation monitor" in page.text
    dashboard = METADATA["plugins"]["datasette-dashboards"]["escalation"]
    for name, chart in dashboard["charts"].items():   # the queries the dashboard's charts fetch
        sql = re.sub(r"\[\[.*?\]\]", "", chart["query"])
        rows = server.client.get("/monitor.json", params={"sql": sql, "since": "2025-09-01", "_shape": "array"},
                                 headers=bearer())
        assert rows.status_code == 200 and rows.json(), (name, rows.text[:300])


def test_the_token_reads_only(server: Server) -> None:
    alert_id = _failed_alert(server)
    response = server.client.post("/monitor/retry_failed_alert", data={"alert_id": alert_id},
                                  headers={**bearer(), "Accept": "application/json"})
    assert response.status_code == 403
    assert _status(server, alert_id) == "failed"


def test_analyst_logs_in_and_requeues_a_failed_alert(server: Server) -> None:
    alert_id = _failed_alert(server)
    with httpx.Client(base_url=server.base, timeout=20) as browser:
        form = browser.get("/-/login")
        csrf = re.search(r'name="csrftoken" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        wrong = browser.post("/-/login", data={"username": "alice", "password": "nope", "csrftoken": csrf})
        assert "ds_actor" not in wrong.cookies
        login = browser.post("/-/login", data={"username": "alice", "password": PASSWORD, "csrftoken": csrf})
        assert login.status_code == 302 and "ds_actor" in browser.cookies
        assert browser.get("/monitor/statements.json").status_code == 200
        page = browser.get("/monitor/retry_failed_alert")
        csrf = re.search(r'name="csrftoken" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        done = browser.post("/monitor/retry_failed_alert", data={"alert_id": alert_id, "csrftoken": csrf})
        assert done.status_code == 302 and done.headers["location"].endswith("/monitor/failed_alerts")
    assert _status(server, alert_id) == "pending"


def _failed_alert(server: Server) -> int:
    db = open_db(server.db_path, migrate=False)
    try:
        with db.conn:
            db.execute("update alerts set status = 'failed' where rule = 'escalation' and last_error is not null")
        return int(db.execute("select id from alerts where status = 'failed'").fetchone()[0])
    finally:
        db.conn.close()


def _status(server: Server, alert_id: int) -> str:
    db = open_db(server.db_path, migrate=False)
    try:
        return str(db.execute("select status from alerts where id = ?", [alert_id]).fetchone()[0])
    finally:
        db.conn.close()
