"""The daemon as a real subprocess against local feeds, a local Slack receiver and a real SMTP server."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.desk import CALM, ESCALATORY, Daemon, Desk
from tests.helpers import ROOT, free_port, rss_source, wait_until


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = Desk(tmp_path)
    yield d
    d.stop()


def test_each_escalatory_statement_reaches_slack_and_email_once(desk: Desk, smtp_server) -> None:  # type: ignore[no-untyped-def]
    for n, (title, text) in enumerate(ESCALATORY[:2] + CALM):
        desk.add(f"feed{n % 2}", title, text)
    config = desk.config(smtp_port=smtp_server.port)
    daemon = Daemon(config)
    daemon.wait_started()
    wait_until(lambda: desk.settled(4), 90, message="four statements stored, classified and delivered")

    published = time.time()
    title, text = ESCALATORY[2]
    desk.add("feed1", title, text)
    wait_until(lambda: any(title in str(p) for _, p, _ in desk.slack), 30, message="the new alert on Slack")
    received = next(t for t, p, _ in desk.slack if title in str(p))
    found_by = min(r.at for r in desk.site.requests_to("/feed1.xml") if r.at >= published)
    assert received - found_by <= 5.0, f"alert came {received - found_by:.1f} s after the poll that found it"
    wait_until(lambda: desk.settled(5), 30, message="everything delivered")
    wait_until(lambda: len(smtp_server.messages) == len(desk.slack), 15, message="e-mails")
    assert daemon.stop() == 0, daemon.output()

    assert desk.count("select count(*) from statements") == 5
    escalatory = desk.count("select count(*) from escalations")
    assert escalatory >= 2 and len(desk.slack) == escalatory and len(smtp_server.messages) == escalatory
    assert len({d for _, _, d in desk.slack}) == escalatory
    assert len({m["Message-ID"] for m in smtp_server.messages}) == escalatory

    again = Daemon(config)
    again.wait_started()
    polls = len(desk.site.requests_to("/feed0.xml"))
    wait_until(lambda: len(desk.site.requests_to("/feed0.xml")) >= polls + 2, 30, message="two more polls")
    assert again.stop() == 0
    assert len(desk.slack) == escalatory and len(smtp_server.messages) == escalatory
    assert desk.count("select count(*) from statements") == 5


def test_slack_that_fails_twice_gets_the_alert_once(tmp_path: Path) -> None:
    desk = Desk(tmp_path, feeds=1, slack_script=[500, 500])
    try:
        desk.add("feed0", *ESCALATORY[0])
        daemon = Daemon(desk.config(rule=""))
        daemon.wait_started()
        wait_until(lambda: desk.slack, 60, message="the alert after two 500s")
        wait_until(lambda: desk.settled(1), 10, message="the outbox to settle")
        assert daemon.stop() == 0
        assert len(desk.slack_seen) == 3 and len(desk.slack) == 1 and len(set(desk.slack_seen)) == 1
        assert desk.query("select status, attempts from alerts") == [("sent", 3)]
    finally:
        desk.stop()


def test_sigkill_during_delivery_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    desk = Desk(tmp_path, feeds=2, slack_script=[0])
    try:
        for n, (title, text) in enumerate(ESCALATORY + CALM[:1]):
            desk.add(f"feed{n % 2}", title, text)
        config = desk.config(rule="")
        daemon = Daemon(config)
        daemon.wait_started()
        wait_until(lambda: desk.holding == 1, 60, message="a delivery in flight")
        daemon.kill()
        assert desk.query("select count(*) from alerts where status = 'sending'") == [(1,)]
        desk.hold.set()

        restarted = Daemon(config)
        restarted.wait_started()
        wait_until(lambda: desk.settled(4), 60, message="every statement delivered after the restart")
        assert restarted.stop() == 0
        assert desk.count("select count(*) from statements") == 4
        assert desk.count("select count(distinct source_id || external_id) from statements") == 4
        accepted = Counter(d for _, _, d in desk.slack)
        assert len(accepted) == 4 and set(accepted.values()) == {1}
        held = desk.slack_seen[0]
        assert desk.slack_seen.count(held) == 2 and accepted[held] == 1  # resent with the same delivery id
        assert "were being sent when the last run stopped" in restarted.output()
    finally:
        desk.stop()


def test_unreachable_sources_are_reported_and_the_daemon_keeps_running(tmp_path: Path) -> None:
    desk = Desk(tmp_path, feeds=1)
    try:
        desk.add("feed0", *CALM[0])
        desk.site.routes["/broken.xml"] = lambda request: (500, {}, b"down")
        sources = (rss_source("good", f"{desk.site.url}/feed0.xml")
                   + rss_source("refused", f"http://127.0.0.1:{free_port()}/feed.xml")
                   + rss_source("broken", f"{desk.site.url}/broken.xml"))
        config = desk.config(sources=sources)
        daemon = Daemon(config)
        daemon.wait_started()
        wait_until(lambda: desk.count("select count(*) from source_state where consecutive_failures > 0") == 2
                   and desk.count("select count(*) from statements") == 1, 60, message="errors recorded")
        health = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "sources"],
                                capture_output=True, text=True, cwd=ROOT)
        assert "connection failed" in health.stdout and "server error (HTTP 500)" in health.stdout
        assert daemon.process.poll() is None
        assert daemon.stop(signal.SIGINT) == 0
        log = daemon.output()
        assert "source 'refused'" in log and "monitor stopped" in log and "Traceback" not in log
    finally:
        desk.stop()


def test_the_daemon_polls_through_worker_processes_and_stops_them(tmp_path: Path) -> None:
    desk = Desk(tmp_path, feeds=2)
    try:
        desk.add("feed0", *ESCALATORY[0])
        desk.add("feed1", *CALM[0])
        config = desk.config(rule="")
        config.write_text(config.read_text() + "\n[http]\npoll_processes = 2\n")
        daemon = Daemon(config)
        daemon.wait_started()
        started = re.search(r"2 poll worker processes started \(pids ([\d ]+)\)", daemon.output())
        assert started, daemon.output()
        wait_until(lambda: desk.settled(2), 60, message="both statements stored, classified and delivered")
        title, text = ESCALATORY[1]
        desk.add("feed1", title, text)
        wait_until(lambda: any(title in str(p) for _, p, _ in desk.slack), 30, message="the new alert on Slack")
        assert daemon.stop() == 0, daemon.output()
        _wait_gone(started.group(1).split())

        killed = Daemon(config)  # SIGKILL: the workers notice the daemon is gone and end too
        killed.wait_started()
        again = re.search(r"poll worker processes started \(pids ([\d ]+)\)", killed.output())
        assert again, killed.output()
        killed.kill()
        killed.process.wait()
        _wait_gone(again.group(1).split())
    finally:
        desk.stop()


def _wait_gone(pids: list[str]) -> None:
    def gone(pid: str) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
        except OSError:
            return True
    for pid in pids:
        wait_until(lambda pid=pid: gone(pid), 10, message=f"worker process {pid} to end")
