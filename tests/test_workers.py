"""Polling in worker processes stores what polling in the daemon's threads stores, reports the same
errors, and survives a worker that dies."""

from __future__ import annotations

import os
import pickle
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cli import build_runtime
from monitor.config import load_config
from monitor.errors import SourceChangedError, SourceUnavailableError
from monitor.pipeline import Runtime, poll_all, poll_source
from monitor.replay import Item, LocalSite, rss_document
from monitor.store.state import sync_sources
from monitor.workers import WorkerCrashError, process_count
from tests.helpers import rss_source, wait_until, write_config
from tests.sources.platforms import rows
from tests.sources.test_x import NEUTRAL, ORIGINAL, REPLY, RETWEET, XServer, x_source

START = datetime(2025, 10, 24, 12, tzinfo=UTC)


def serve_feeds(site: LocalSite) -> str:
    items = [Item("f", f"g{n}", f"Comunicado {n}", START + timedelta(hours=n),
                  f"La Cancillería informa sobre la reunión número {n} de la comisión binacional.",
                  f"<p>La Cancillería informa sobre la reunión número {n} de la comisión binacional.</p>")
             for n in range(3)]
    feed = rss_document("Cancillería", "https://cancilleria.example", "es", items, site.url)
    site.routes["/feed.xml"] = lambda r: (200, {"Content-Type": "application/rss+xml"}, feed)
    site.routes["/down.xml"] = lambda r: (500, {"Content-Type": "text/plain"}, b"internal error")
    site.routes["/cut.xml"] = lambda r: (200, {"Content-Type": "application/rss+xml"}, feed[: len(feed) // 2])
    XServer(site, [RETWEET, ORIGINAL, REPLY, NEUTRAL])
    return (rss_source("feed", f"{site.url}/feed.xml") + rss_source("down", f"{site.url}/down.xml")
            + rss_source("cut", f"{site.url}/cut.xml") + x_source(site))


def runtime_with(folder: Path, sources: str, processes: int) -> Runtime:
    folder.mkdir()
    path = write_config(folder, sources=sources, extra=f"[http]\npoll_processes = {processes}\n")
    config = load_config(path, environ={})
    runtime = build_runtime(config, poll_workers=True)
    sync_sources(runtime.db(migrate=True), config.sources)
    return runtime


def stored(runtime: Runtime) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    statements = rows(runtime, "select source_id, external_id, title, text, url, published_at, is_reply, "
                               "is_repost, version from statements order by source_id, external_id")
    health = rows(runtime, "select source_id, last_error, consecutive_failures from source_state "
                           "order by source_id")
    return statements, health


def test_worker_processes_store_and_report_what_threads_do(site: LocalSite, tmp_path: Path) -> None:
    sources = serve_feeds(site)
    threads = runtime_with(tmp_path / "threads", sources, 0)
    workers = runtime_with(tmp_path / "workers", sources, 2)
    assert threads.workers is None and workers.workers is not None
    try:
        assert len(workers.workers.warm()) == 2  # two distinct worker processes
        for _ in range(2):  # the second pass reads the cursors and the stored ids the first one left
            poll_all(threads)
            poll_all(workers)
        assert stored(workers) == stored(threads)
        statements, health = stored(workers)
        assert len(statements) == 7
        errors = dict((source, error) for source, error, _ in health)
        assert errors["feed"] is None and errors["petro-x"] is None
        assert "server error (HTTP 500)" in errors["down"] and "truncated" in errors["cut"]
        assert len(site.requests_to("/2/users/by/username/petro_espejo")) == 2  # once per database
    finally:
        threads.close()
        workers.close()


def test_a_dead_worker_fails_only_the_polls_it_had(site: LocalSite, tmp_path: Path) -> None:
    runtime = runtime_with(tmp_path / "one", serve_feeds(site), 1)
    assert runtime.workers is not None
    try:
        (pid,) = runtime.workers.warm()
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not Path(f"/proc/{pid}").exists() or "Z" in _state(pid), 10, message="worker gone")
        outcome = poll_source(runtime, "feed")
        assert outcome.error is not None and "worker process polling it died" in outcome.error
        again = poll_source(runtime, "feed")  # a new pool, a new worker
        assert again.error is None and len(again.new) == 3
        assert poll_source(runtime, "petro-x").error is None
    finally:
        runtime.close()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return "Z"


def test_errors_cross_the_process_boundary_as_themselves() -> None:
    for error in (SourceUnavailableError("s", "GET x: rate limited (HTTP 429)", retry_after=30.0),
                  SourceChangedError("s", "GET x: layout changed")):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and str(back) == str(error)
        assert back.retry_after == error.retry_after and back.source_id == "s"
    crash = pickle.loads(pickle.dumps(WorkerCrashError("KeyError", "'entries'")))
    assert (crash.kind, crash.text) == ("KeyError", "'entries'")


@pytest.mark.parametrize(("wanted", "enabled", "cores", "expected"), [
    (-1, 99, 4, 0), (-1, 100, 2, 32), (-1, 500, 8, 64), (-1, 500, 1, 0), (0, 500, 8, 0), (3, 5, 8, 3)])
def test_automatic_process_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wanted: int, enabled: int,
                                 cores: int, expected: int) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    sources = "".join(rss_source(f"s{i}", f"http://127.0.0.1:9/{i}.xml") for i in range(enabled))
    path = write_config(tmp_path, sources=sources, extra=f"[http]\npoll_processes = {wanted}\n")
    assert process_count(load_config(path, environ={})) == expected
