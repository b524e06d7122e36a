"""The command line: help everywhere, one clear sentence for errors, the commands of SPEC.md."""

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from monitor.cli import cli
from tests.helpers import ROOT, rss_source, write_config

COMMANDS = ["init", "run", "poll", "classify", "sources", "status", "alerts", "alerts list", "alerts test",
            "alerts retry", "train", "eval"]


def all_commands(group: click.Group = cli, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    for name, command in group.commands.items():
        out.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            out += all_commands(command, f"{prefix}{name} ")
    return out


@pytest.mark.parametrize("name, command", all_commands())
def test_every_command_has_help_and_is_in_the_readme(name: str, command: click.Command) -> None:
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0 and command.help and "Example" in command.help
    assert f"monitor {name}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_spec_commands_exist() -> None:
    assert {n for n, _ in all_commands()} >= set(COMMANDS)


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def test_bad_config_is_one_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[monitor]\ndatabase = "x.db"\nsurprise = 1\n')
    result = run(config, "init")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{config}: monitor.surprise: unknown key" in result.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    result = run(tmp_path / "nope.toml", "sources")
    assert result.returncode == 1 and "configuration file not found" in result.stderr


def test_classify_text_prints_the_spec_fields() -> None:
    result = run(ROOT / "config" / "monitor.toml", "classify",
                 "The Treasury imposed sanctions on the president and his family.")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"stance", "stance_scores", "topics", "escalation", "escalation_score", "cues", "model"}


def test_poll_sources_status_and_alerts(tmp_path: Path, site) -> None:  # type: ignore[no-untyped-def]
    feed = (ROOT / "tests" / "fixtures" / "rss" / "wordpress_press.xml").read_bytes()
    site.routes["/feed.xml"] = lambda request: (200, {"Content-Type": "application/rss+xml"}, feed)
    config = write_config(tmp_path, rss_source("press", f"{site.url}/feed.xml"))
    assert run(config, "status").returncode == 1
    polled = run(config, "poll", "press")
    assert polled.returncode == 0, polled.stderr
    assert "press: 3 new, 0 edited" in polled.stdout and "Sanctions on Officials" in polled.stdout
    assert "press: 0 new" in run(config, "poll", "press").stdout
    assert "healthy" in run(config, "status").stdout
    health = json.loads(run(config, "sources", "--json").stdout)
    assert health[0]["id"] == "press" and health[0]["statements"] == 3
    assert run(config, "poll", "ghost").returncode == 1
    assert run(config, "alerts", "list").returncode == 0
    assert "0 failed alerts queued again" in run(config, "alerts", "retry").stdout


def test_alerts_test_sends_to_a_channel(tmp_path: Path, site) -> None:  # type: ignore[no-untyped-def]
    received = []
    site.routes["/hook"] = lambda request: (received.append(request.json()) or (200, {}, b"ok"))
    channel = f'[alerts.channels.desk]\nkind = "slack"\nwebhook_url = "{site.url}/hook"\n'
    config = write_config(tmp_path, channels=channel)
    result = run(config, "alerts", "test", "desk")
    assert result.returncode == 0, result.stderr
    assert "&lt;!channel&gt;" in json.dumps(received[0]) and "<!channel>" not in json.dumps(received[0])
    assert run(config, "alerts", "test", "nope").returncode == 1


def test_run_once_without_network_reports_every_source(tmp_path: Path) -> None:
    sources = rss_source("a", "http://127.0.0.1:9/feed.xml") + rss_source("b", "http://127.0.0.1:9/other.xml")
    result = run(write_config(tmp_path, sources), "run", "--once")
    assert result.returncode == 0, result.stderr
    assert "polled 2 sources (2 failed)" in result.stdout
    assert result.stderr.count("connection failed") == 2 and "Traceback" not in result.stderr
