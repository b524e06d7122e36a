"""The delivery stage in-process, on a real SQLite file and local receivers, with a clock the test
moves: outages, Retry-After, digests across a restart, cooldown, threaded follow-ups, notices."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.alert_queue import queue_follow_ups
from monitor.alerts import build_channels
from monitor.config import load_config
from monitor.http import make_client
from monitor.models import Classification, Statement
from monitor.pipeline import Runtime, classify_pending, send_pending_alerts
from monitor.store import open_db, outbox
from monitor.store.statements import mark_deleted, save_statements
from tests.alerts.receiver import Receiver

START = datetime(2025, 10, 24, 15, 40, tzinfo=UTC)


class Keyword:
    """A stand-in classifier for stages other than classify: "sanction" means escalatory."""

    name, version = "keyword/1", "1"

    def classify(self, texts: list[str]) -> list[Classification]:
        out = []
        for text in texts:
            hot = "sanction" in text.lower()
            out.append(Classification("escalatory" if hot else "neutral", {"escalatory": 0.9 if hot else 0.1},
                                      ("sanctions",) if hot else ("other",), 0.9 if hot else 0.1, hot,
                                      ("sanctions",) if hot else (), "keyword/1"))
        return out


@dataclass
class World:
    folder: Path
    a: Receiver
    b: Receiver
    clock: datetime = START

    def runtime(self, rule: str = "", channels: str = '"a", "b"', a_kind: str = "webhook") -> Runtime:
        a = (f'kind = "slack"\ntoken = "xoxb-t"\nchannel = "C1"\napi_base = "{self.a.url}"' if a_kind == "bot"
             else f'kind = "slack"\nwebhook_url = "{self.a.url}/slack"')
        path = self.folder / "monitor.toml"
        path.write_text(
            f'[monitor]\ndatabase = "{self.folder / "m.db"}"\n[alerts]\nmax_age = "0"\nbackoff = "2s"\n'
            'max_backoff = "15m"\nmax_attempts = 20\nfailing_after = 3\n'
            f'[alerts.channels.a]\n{a}\n'
            f'[alerts.channels.b]\nkind = "webhook"\nwebhook_url = "{self.b.url}/hook"\nsecret = "s"\n'
            f'[[alerts.rules]]\nname = "r"\n{rule}\nchannels = [{channels}]\n', encoding="utf-8")
        config = load_config(path, {})
        open_db(config.monitor.database)                     # creates and migrates, as `monitor init`
        client = make_client(config.http)
        return Runtime(config, client, build_channels(config.alerts.channels, client), Keyword,
                       now=lambda: self.clock)

    def add(self, runtime: Runtime, n: int, text: str = "The Treasury imposed sanctions.", actor: str = "Treasury",
            title: str | None = None) -> None:
        statement = Statement("gov", f"item-{n}", text, title=title or f"Item {n}", actor=actor,
                              published_at=self.clock - timedelta(seconds=30))
        save_statements(runtime.db(), [statement], self.clock)
        classify_pending(runtime)

    def run(self, runtime: Runtime, seconds: float, step: float = 60) -> None:
        """Moves the clock forward `seconds`, running a delivery pass every `step`."""
        end = self.clock + timedelta(seconds=seconds)
        while self.clock < end:
            send_pending_alerts(runtime)
            self.clock += timedelta(seconds=step)
        send_pending_alerts(runtime)

    def rows(self, sql: str) -> list[tuple]:  # type: ignore[type-arg]
        return list(open_db(self.folder / "m.db").execute(sql))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path, Receiver(), Receiver())
    yield w
    w.a.stop()
    w.b.stop()


def test_a_channel_down_for_an_hour_gets_everything_in_order(world: World) -> None:
    runtime = world.runtime()
    world.a.down = True
    for n in range(6):                        # a statement every 10 minutes while Slack is down
        world.add(runtime, n)
        world.run(runtime, 600)
    assert world.a.accepted == [] and len(world.b.ids()) == 6 + 1   # b got every alert and the notice
    notice = world.b.accepted[-1].json() if world.b.accepted[-1].json()["kind"] == "notice" else \
        next(r.json() for r in world.b.accepted if r.json()["kind"] == "notice")
    assert notice["subject"] == "Channel 'a' is failing" and "503" in notice["message"]
    world.a.down = False
    world.run(runtime, 1800)
    expected = [r[0] for r in world.rows("select delivery_id from alerts where channel = 'a' order by id")]
    assert world.a.ids() == expected and len(set(expected)) == 6      # all, once, in order
    assert world.rows("select count(*) from alerts where status != 'sent'") == [(0,)]
    assert [r.json()["subject"] for r in world.b.accepted if r.json()["kind"] == "notice"] == [
        "Channel 'a' is failing", "Channel 'a' is back"]


def test_retry_after_is_honoured(world: World) -> None:
    runtime = world.runtime(channels='"a"')
    world.a.script, world.a.retry_after = [429], "120"
    world.add(runtime, 1)
    world.run(runtime, 110, step=10)
    assert len(world.a.seen) == 1 and world.a.accepted == []
    world.run(runtime, 20, step=10)
    assert len(world.a.accepted) == 1


def test_hourly_digest_goes_out_on_time_after_a_restart(world: World) -> None:
    runtime = world.runtime(rule='digest = "hourly"', channels='"b"')
    world.add(runtime, 1)
    world.add(runtime, 2, actor="Minister")
    world.run(runtime, 600)
    assert world.b.accepted == []
    restarted = world.runtime(rule='digest = "hourly"', channels='"b"')   # a new process, same database
    db = restarted.db()
    row = next(r for r in outbox.due(db, START + timedelta(hours=1)) if r.digest_at)
    assert outbox.claim_many(db, [r.id for r in outbox.digest_rows(db, "r", "b", row.digest_at)], world.clock)
    assert outbox.recover_interrupted(db) == 2                              # killed mid-send
    world.run(restarted, 600)                                               # 15:50 -> 16:00
    (digest,) = [r.json() for r in world.b.accepted]
    assert digest["kind"] == "digest" and digest["digest"]["period_end"] == "2025-10-24T16:00:00Z"
    assert [s["title"] for s in digest["digest"]["statements"]] == ["Item 1", "Item 2"]
    assert digest["delivery_id"] == outbox.digest_delivery_id("r", "b", "2025-10-24T16:00:00Z")


def test_cooldown_per_actor_survives_a_restart(world: World) -> None:
    runtime = world.runtime(rule='cooldown = "1h"', channels='"b"')
    world.add(runtime, 1)
    world.add(runtime, 2, actor="Minister")
    world.run(runtime, 600)
    restarted = world.runtime(rule='cooldown = "1h"', channels='"b"')
    world.add(restarted, 3)                                                 # Treasury again, 10 min later
    world.run(restarted, 3600)
    world.add(restarted, 4)                                                 # an hour later: alerted
    world.run(restarted, 60)
    assert [r.json()["statement"]["title"] for r in world.b.accepted] == ["Item 1", "Item 2", "Item 4"]


def test_edits_and_deletions_follow_the_original_in_its_slack_thread(world: World) -> None:
    runtime = world.runtime(channels='"a"', a_kind="bot")
    world.add(runtime, 1, "The Treasury imposed sanctions on the minister.")
    world.run(runtime, 60)
    world.add(runtime, 1, "The Treasury imposed sanctions on the minister and his family.")
    world.run(runtime, 60)
    db = runtime.db()
    (statement_id,) = mark_deleted(db, "gov", ["item-1"], world.clock)
    with db.conn:
        queue_follow_ups(runtime.config.alerts, runtime.channels, db, statement_id, "deleted", world.clock)
    world.run(runtime, 60)
    new, edited, deleted = (r.json() for r in world.a.accepted)
    assert "thread_ts" not in new and edited["thread_ts"] == deleted["thread_ts"] == "1730000000.000001"
    assert "on the ~minister.~ *minister and his family.*" in str(edited["blocks"])
    assert edited["text"].startswith("EDITED:") and deleted["text"].startswith("DELETED:")
    assert "Last text before deletion" in str(deleted["blocks"]) and "and his family" in str(deleted["blocks"])


def test_stats_and_replay_commands(world: World) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    runtime = world.runtime(channels='"b"')
    for n in range(3):
        world.add(runtime, n)
    world.add(runtime, 9, "A calm schedule note.")
    world.run(runtime, 60)
    config = str(world.folder / "monitor.toml")
    stats = CliRunner().invoke(cli, ["--config", config, "alerts", "stats"])
    assert stats.exit_code == 0 and "b" in stats.output and "publish→sent p50" in stats.output
    replay = CliRunner().invoke(cli, ["--config", config, "alerts", "replay", "--rule", "r", "--since", "2025-10-24"])
    assert replay.exit_code == 0, replay.output
    assert replay.output.count("new ") == 4 and "nothing was sent" in replay.output
    assert len(world.b.accepted) == 4                                      # the dry-run sent nothing


def test_failed_row_is_listed_with_its_error_and_retry_sends_it(world: World) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    runtime = world.runtime(channels='"b"')
    world.b.script = [500, "reset", 400]                  # two retryable faults, then one that is not
    world.add(runtime, 1)
    world.run(runtime, 30, step=5)
    config = str(world.folder / "monitor.toml")
    listed = CliRunner().invoke(cli, ["--config", config, "alerts", "list", "--status", "failed"])
    assert listed.exit_code == 0 and "failed   3x" in listed.output and "HTTP 400" in listed.output
    assert CliRunner().invoke(cli, ["--config", config, "alerts", "retry"]).output.startswith("1 failed")
    world.clock = datetime.now(UTC) + timedelta(seconds=1)   # `alerts retry` queues for the real now
    world.run(runtime, 5, step=5)
    assert len(world.b.accepted) == 1 and world.rows("select status from alerts") == [("sent",)]


def test_a_crash_while_queueing_leaves_the_statement_to_classify_again(world: World,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Classifications and their outbox rows commit together: a crash between them must not leave
    a statement classified (never picked up again) without its alerts."""
    runtime = world.runtime()

    def crash(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("killed while queueing")

    with monkeypatch.context() as patch:
        patch.setattr(outbox, "enqueue", crash)
        with pytest.raises(RuntimeError):
            world.add(runtime, 1)
    assert world.rows("select count(*) from classifications") == [(0,)]
    assert classify_pending(runtime) == 1  # the next classify job takes it again
    assert world.rows("select kind, status from alerts") == [("new", "pending"), ("new", "pending")]
