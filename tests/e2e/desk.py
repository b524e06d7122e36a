"""A local newsroom for end-to-end tests: RSS feeds, a Slack webhook receiver, an SMTP server,
a config file pointing at them, and the daemon as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.replay import Item, LocalSite, Request, Response, conditional, rss_document
from tests.helpers import ROOT, rss_source, wait_until, write_config

ESCALATORY = [
    ("Treasury sanctions the defence minister", "The Treasury today imposed sanctions on the defence minister "
     "and froze all of his assets. We will not tolerate the smuggling of weapons and further measures will follow."),
    ("Tariffs of 50 per cent on all imports", "The President announced tariffs of 50 per cent on every import "
     "from the neighbouring republic, effective Monday, in retaliation for its hostile trade practices."),
    ("Gobierno expulsa al embajador", "El Gobierno nacional declaró persona non grata al embajador y ordenó su "
     "expulsión inmediata. Rechazamos categóricamente la injerencia y no daremos un paso atrás."),
]
CALM = [
    ("Minister's schedule for Tuesday", "The Minister will attend the cabinet meeting at 10:00 and meet "
     "the agriculture committee in the afternoon. Media access is limited to the opening remarks."),
    ("Welcoming the resumption of talks", "We welcome the agreement to resume talks and thank our partners "
     "for their constructive spirit. Dialogue is the path to lasting cooperation."),
]


class Desk:
    def __init__(self, folder: Path, feeds: int = 2, slack_script: list[int] | None = None) -> None:
        self.folder = folder
        self.site = LocalSite().start()
        self.items: dict[str, list[Item]] = {f"feed{i}": [] for i in range(feeds)}
        self.slack_script = list(slack_script or [])
        self.slack: list[tuple[float, dict[str, Any], str]] = []   # (time, payload, delivery id) answered 200
        self.slack_seen: list[str] = []                          # every delivery id that arrived
        self.hold = threading.Event()
        self.holding = 0
        self.lock = threading.Lock()
        for feed in self.items:
            self.site.routes[f"/{feed}.xml"] = self._feed(feed)
        self.site.routes["/slack"] = self._slack
        self.counter = 0

    def add(self, feed: str, title: str, text: str, when: datetime | None = None) -> str:
        self.counter += 1
        guid = f"{feed}-{self.counter}"
        moment = when or datetime.now(UTC) - timedelta(minutes=5)
        with self.lock:
            self.items[feed].append(Item(feed, guid, title, moment, text[:80], f"<p>{text}</p>"))
        return guid

    def _feed(self, feed: str) -> Any:
        def handle(request: Request) -> Response:
            with self.lock:
                items = list(self.items[feed])
            body = rss_document(f"Feed {feed}", "https://www.example.gov/", "en", items, self.site.url)
            return conditional(request, body, "application/rss+xml", max((i.published for i in items), default=None))
        return handle

    def _slack(self, request: Request) -> Response:
        delivery = request.headers.get("x-delivery-id", "")
        with self.lock:
            self.slack_seen.append(delivery)
            status = self.slack_script.pop(0) if self.slack_script else 200
            if status == 0:            # hold the request: the daemon is killed while it waits
                self.holding += 1
        if status == 0:
            self.hold.wait(30)
            return 500, {}, b"held"
        if status != 200:
            return status, {"Content-Type": "text/plain"}, b"internal_error"
        with self.lock:
            self.slack.append((time.time(), request.json(), delivery))
        return 200, {"Content-Type": "text/plain"}, b"ok"

    def config(self, smtp_port: int | None = None, rule: str = "escalation = true", interval: str = "1s",
               sources: str | None = None) -> Path:
        channels = f'[alerts.channels.desk-slack]\nkind = "slack"\nwebhook_url = "{self.site.url}/slack"\n'
        names = ['"desk-slack"']
        if smtp_port:
            channels += (f'\n[alerts.channels.desk-mail]\nkind = "email"\nhost = "127.0.0.1"\nport = {smtp_port}\n'
                         'from = "monitor@example.org"\nto = ["desk@example.org"]\n')
            names.append('"desk-mail"')
        rules = f'[[alerts.rules]]\nname = "escalation"\n{rule}\nchannels = [{", ".join(names)}]\n'
        if sources is None:
            sources = "".join(rss_source(f, f"{self.site.url}/{f}.xml", actor=f"Actor {f}", interval=interval)
                              for f in self.items)
        return write_config(self.folder, sources, channels, rules)

    @property
    def db(self) -> Path:
        return self.folder / "monitor.db"

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if not self.db.exists():
            return []
        con = sqlite3.connect(self.db)
        try:
            return con.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            return []
        finally:
            con.close()

    def count(self, sql: str, *args: Any) -> int:
        rows = self.query(sql, *args)
        return int(rows[0][0]) if rows else 0

    def settled(self, statements: int) -> bool:
        return (self.count("select count(*) from statements") >= statements
                and self.count("select count(*) from statements s where not exists (select 1 from "
                               "current_classifications c where c.statement_id = s.id)") == 0
                and self.count("select count(*) from alerts where status in ('pending', 'sending')") == 0)

    def stop(self) -> None:
        self.hold.set()
        self.site.stop()


RUNNING: list[Daemon] = []


class Daemon:
    """`python -m monitor run` as a subprocess, its output in files. A test that fails midway
    leaves none behind: tests/e2e/conftest.py kills every one still running."""

    def __init__(self, config: Path, *args: str) -> None:
        RUNNING.append(self)
        self.log = config.parent / f"daemon-{time.time_ns()}.log"
        self.out = open(self.log, "w")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run", *args],
                                        stdout=self.out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)

    def output(self) -> str:
        if not self.out.closed:
            self.out.flush()
        return self.log.read_text()

    def wait_started(self) -> None:
        wait_until(lambda: "monitor running" in self.output() or self.process.poll() is not None, 120,
                   message="the daemon to start")
        assert self.process.poll() is None, self.output()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.out.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        self.out.close()


def payload_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)
