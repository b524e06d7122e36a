import dataclasses
import re
from pathlib import Path

import pytest

from monitor import config as cfg
from monitor.config import ConfigError, load_config, parse_duration
from tests.helpers import ROOT

EXAMPLE_ENV = {"X_BEARER_TOKEN": "t", "SLACK_WEBHOOK_URL": "https://hooks.example/x", "SMTP_USER": "u",
               "SMTP_PASSWORD": "p"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_file_loads_with_every_key() -> None:
    config = load_config(ROOT / "config" / "monitor.example.toml", EXAMPLE_ENV)
    assert {s.kind for s in config.sources} == set(cfg.SOURCE_KINDS)
    assert {c.kind for c in config.alerts.channels} == set(cfg.CHANNEL_KINDS)
    assert config.alerts.rules[0].min_score == 0.6


@pytest.mark.parametrize("cls", [cfg.MonitorSettings, cfg.HttpConfig, cfg.ClassifierConfig, cfg.DaemonConfig,
                                 cfg.SourceConfig, cfg.ChannelConfig, cfg.RuleConfig, cfg.AlertsConfig,
                                 cfg.ServeConfig])
def test_every_config_field_is_documented_in_the_example(cls: type) -> None:
    example = (ROOT / "config" / "monitor.example.toml").read_text(encoding="utf-8")
    keys = set(re.findall(r"^\s*([a-z_]+)\s*=", example, re.M)) | set(re.findall(r"\[([a-z_.]+)", example))
    skip = {"name", "channels", "rules"}
    for field in dataclasses.fields(cls):
        key = field.metadata.get("key", field.name)
        if key not in skip:
            assert key in keys, f"{cls.__name__}.{key} is not in config/monitor.example.toml"


def test_default_config_needs_no_credentials() -> None:
    config = load_config(ROOT / "config" / "monitor.toml", {})
    assert config.sources and all(s.enabled == (s.bearer_token is None) for s in config.sources)
    assert {"rss", "html", "mastodon", "x", "federal_register"} <= {s.kind for s in config.sources}
    assert config.alerts.channels[0].kind == "console"


def test_minimal_file_is_valid(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[monitor]\ndatabase = "x.db"\n'), {})
    assert config.monitor.database == Path("x.db") and config.sources == ()


@pytest.mark.parametrize("text, message", [
    ('[monitor]\ndatabase = "x.db"\nevry = 3\n', "monitor.evry: unknown key"),
    ('[monitor]\ndatabase = 3\n', "monitor.database: expected a path, got 3"),
    ('[monitor]\ndatabase = "x"\n[[sources]]\nid = "a"\nkind = "rss"\nurl = "u"\nactor = "A"\ninterval = "soon"\n',
     "interval: expected a duration"),
    ('[monitor]\ndatabase = "x"\n[[sources]]\nid = "a"\nkind = "rss"\nurl = "u"\nactor = "A"\n'
     '[[sources]]\nid = "a"\nkind = "rss"\nurl = "v"\nactor = "B"\n', "duplicate source id 'a'"),
    ('[monitor]\ndatabase = "x"\n[[sources]]\nid = "a"\nkind = "gopher"\nactor = "A"\n', "unknown kind 'gopher'"),
    ('[monitor]\ndatabase = "x"\n[[sources]]\nid = "a"\nkind = "rss"\nactor = "A"\n', "url: required for kind"),
    ('[monitor]\ndatabase = "x"\n[[sources]]\nid = "a"\nkind = "rss"\nurl = "u"\nactor = "A"\nhandle = "h"\n',
     "handle: unknown key"),
    ('[monitor]\ndatabase = "x"\n[alerts.channels.s]\nkind = "slack"\nwebhook_url = "${NOPE}"\n',
     "alerts.channels.s.webhook_url: environment variable NOPE is not set"),
    ('[monitor]\ndatabase = "x"\n[[alerts.rules]]\nname = "r"\nchannels = ["ghost"]\n', "no channel named 'ghost'"),
    ('[monitor\n', "not valid TOML"),
    ('[database]\npath = "x"\n', "monitor: required section is missing"),
])
def test_errors_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert message in str(info.value) and str(path) in str(info.value)


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, '[monitor]\ndatabase = "x"\ncolour = 1\n[http]\ntimeout_seconds = "slow"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert len(info.value.problems) == 2


def test_poll_processes_below_minus_one_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[monitor]\ndatabase = "x"\n[http]\npoll_processes = -4\n')
    with pytest.raises(ConfigError, match=r"http.poll_processes: expected -1 \(automatic\), 0 or a number"):
        load_config(path, {})


def test_environment_variables_are_substituted(tmp_path: Path) -> None:
    path = write(tmp_path, '[monitor]\ndatabase = "${DATA}/m.db"\n')
    assert load_config(path, {"DATA": "/srv"}).monitor.database == Path("/srv/m.db")


def test_disabled_source_may_name_a_missing_variable(tmp_path: Path) -> None:
    path = write(tmp_path, '[monitor]\ndatabase = "x"\n[[sources]]\nid = "p"\nkind = "x"\nhandle = "h"\n'
                           'bearer_token = "${X_BEARER_TOKEN}"\nactor = "A"\nenabled = false\n')
    assert load_config(path, {}).sources[0].enabled is False


def test_config_path_comes_from_monitor_config(tmp_path: Path) -> None:
    path = write(tmp_path, '[monitor]\ndatabase = "from-env.db"\n')
    assert load_config(None, {"MONITOR_CONFIG": str(path)}).monitor.database == Path("from-env.db")


def test_secrets_are_not_in_the_repr(tmp_path: Path) -> None:
    path = write(tmp_path, '[monitor]\ndatabase = "x"\n[alerts.channels.s]\nkind = "slack"\n'
                           'webhook_url = "${HOOK}"\n')
    assert "hooks.secret" not in repr(load_config(path, {"HOOK": "https://hooks.secret/T1"}))


@pytest.mark.parametrize("value, seconds", [(30, 30.0), ("30s", 30.0), ("2m", 120.0), ("1h", 3600.0),
                                            ("1.5d", 129600.0), ("250ms", 0.25)])
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds
