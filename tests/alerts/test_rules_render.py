"""Pure parts of the alerting layer: the new rule keys, digests, dry-runs, diffs and latency figures."""

import json
from dataclasses import replace
from datetime import UTC, datetime

from monitor.alerts.diff import diff_text, word_diff
from monitor.alerts.dryrun import replay
from monitor.alerts.render import html_body, plain_text, slack_blocks, subject
from monitor.alerts.rules import digest_period_end, in_cooldown, matches, wants
from monitor.alerts.stats import latency, percentile
from monitor.config import RuleConfig
from monitor.store.history import SentTimes
from tests.alerts.test_alerts import HOSTILE, alert


def rule(**keys):  # type: ignore[no-untyped-def]
    return RuleConfig("r", ("c",), **keys)


def test_keywords_ignore_case_and_accents_and_start_words() -> None:
    s = replace(alert(text="El Gobierno anunció SANCIONES contra el ministro.").statement, country="CO", lang="es-CO")
    assert matches(rule(keywords=("sanción",)), s) and matches(rule(keywords=("Sancion", "tariff")), s)
    assert not matches(rule(keywords=("ancion",)), s) and not matches(rule(keywords=("arancel",)), s)
    assert matches(rule(keywords=("treasury sanctions",)), s)  # the title counts too
    assert matches(rule(languages=("es",)), s) and not matches(rule(languages=("en",)), s)
    assert matches(rule(countries=("co", "US")), s) and not matches(rule(countries=("US",)), s)


def test_kinds_cooldown_and_digest_periods() -> None:
    assert wants(rule(), "deleted") and not wants(rule(kinds=("new",)), "edited")
    now = datetime(2025, 10, 24, 15, 40, 12, tzinfo=UTC)
    assert in_cooldown(rule(cooldown=3600), datetime(2025, 10, 24, 15, 0, tzinfo=UTC), now)
    assert not in_cooldown(rule(cooldown=600), datetime(2025, 10, 24, 15, 0, tzinfo=UTC), now)
    assert not in_cooldown(rule(), now, now)
    assert digest_period_end(rule(digest="hourly"), now) == datetime(2025, 10, 24, 16, tzinfo=UTC)
    assert digest_period_end(rule(digest="daily"), now) == datetime(2025, 10, 25, tzinfo=UTC)
    assert digest_period_end(rule(), now) is None


def test_edited_alert_shows_a_word_level_diff_escaped_everywhere() -> None:
    old = "The Treasury imposed sanctions on the minister today."
    new = "The Treasury imposed sanctions on the minister and <!channel> his family today."
    assert diff_text(old, new) == "The Treasury imposed sanctions on the minister {+and <!channel> his family+} today."
    assert ("-", "tomorrow.") in word_diff("see you tomorrow.", "see you today.")
    a = alert(text=new, kind="edited", previous=old)
    assert "Changes:" in plain_text(a) and "{+and <!channel> his family+}" in plain_text(a)
    assert "<ins style='color:#070'>and &lt;!channel&gt; his family</ins>" in html_body(a)
    payload = json.dumps(slack_blocks(a))
    assert "*and &lt;!channel&gt; his family*" in payload and "<!channel>" not in payload


def test_deleted_alert_carries_the_last_text() -> None:
    a = alert(kind="deleted")
    a = replace(a, statement=replace(a.statement, deleted_at="2025-10-24T16:00:00Z"))
    assert subject(a).startswith("DELETED: [escalatory]")
    assert "Last text before deletion:" in plain_text(a) and "Deleted: 2025-10-24T16:00:00Z" in plain_text(a)
    assert "&lt;!channel&gt;" in json.dumps(slack_blocks(a)) and "<!channel>" not in json.dumps(slack_blocks(a))


def test_digest_lists_every_statement_and_escapes_them() -> None:
    statements = tuple(replace(alert().statement, id=i, title=f"Statement {i} <@U1>") for i in range(3))
    a = replace(alert(), kind="digest", digest=statements, period="2025-10-24T16:00:00Z")
    assert subject(a) == "Digest for rule escalation: 3 statements until 2025-10-24T16:00:00Z"
    text = plain_text(a)
    assert all(f"Statement {i}" in text for i in range(3))
    assert "<@U1>" not in json.dumps(slack_blocks(a)) and "&lt;@U1&gt;" in html_body(a)


def test_replay_applies_cooldown_and_digest_in_statement_time() -> None:
    base = alert(text=HOSTILE).statement
    times = ["2025-10-24T15:00:00Z", "2025-10-24T15:20:00Z", "2025-10-24T16:30:00Z"]
    statements = [replace(base, id=i, published_at=t) for i, t in enumerate(times)]
    cooled = replay(rule(cooldown=3600), statements)
    assert [p.at for p in cooled.planned] == [times[0], times[2]] and cooled.cooled == 1
    digest = replay(rule(digest="hourly"), statements)
    assert [(p.kind, p.at, len(p.statements)) for p in digest.planned] == [
        ("digest", "2025-10-24T16:00:00Z", 2), ("digest", "2025-10-24T17:00:00Z", 1)]
    assert replay(rule(escalation=False), statements).planned == []


def test_latency_percentiles_per_channel() -> None:
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50) == 5 and percentile([1, 2, 3, 100], 95) == 100
    rows = [SentTimes("slack", "new", "2025-10-24T15:00:00Z", "2025-10-24T15:00:02Z", None,
                      f"2025-10-24T15:00:0{n}Z") for n in (3, 4, 5, 9)]
    rows.append(SentTimes("slack", "edited", "2025-10-20T00:00:00Z", None, None, "2025-10-24T15:00:00Z"))
    (stats,) = latency(rows)
    assert (stats.channel, stats.count, stats.publish_p50, stats.publish_p95) == ("slack", 4, 4.0, 9.0)
    assert (stats.fetch_p50, stats.fetch_p95) == (2.0, 7.0)


def test_config_checks_the_new_channel_and_rule_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from monitor.config import ConfigError, load_config

    path = tmp_path / "m.toml"
    path.write_text('[monitor]\ndatabase = "x.db"\n[alerts.channels.s]\nkind = "slack"\ntoken = "t"\n'
                    '[alerts.channels.h]\nkind = "webhook"\nwebhook_url = "http://h"\n'
                    '[[alerts.rules]]\nname = "r"\nchannels = ["s"]\nkinds = ["new", "moved"]\ndigest = "weekly"\n')
    with pytest.raises(ConfigError) as error:
        load_config(path, {})
    message = str(error.value)
    for expected in ("alerts.channels.s: slack needs webhook_url", "alerts.channels.h: secret: required",
                     "kinds: unknown kind 'moved'", "digest: expected one of hourly, daily, got 'weekly'"):
        assert expected in message
