"""The configuration: one TOML file, validated once into frozen dataclasses.

This is the only module that reads the environment. Every problem is collected and reported at
once, each naming the file and the key (`sources[2].interval: expected a duration, got "soon"`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from monitor.errors import ConfigError

DEFAULT_CONFIG = Path("config/monitor.toml")
USER_AGENT = "statement-monitor/0.1 (+https://github.com/statement-monitor/statement-monitor)"


def duration(default: float, **kw: Any) -> Any:
    """A field holding seconds, written in TOML as "30s", "2m", "1h", "1d" or a number."""
    return field(default=default, metadata={"duration": True, **kw})


@dataclass(frozen=True)
class MonitorSettings:
    database: Path
    health_window: float = duration(1800.0)
    log_level: str = "info"
    log_format: str = "text"


@dataclass(frozen=True)
class HttpConfig:
    timeout_seconds: float = 20.0
    max_body_bytes: int = 10_000_000
    user_agent: str = USER_AGENT
    max_connections: int = 50
    poll_processes: int = -1
    """Worker processes that fetch and parse: -1 automatic (16 per CPU core from 100 enabled
    sources on, none below), 0 none (poll in the daemon's own threads), N that many."""


@dataclass(frozen=True)
class ClassifierConfig:
    model: str = "models/stance-topic"
    escalation_threshold: float | None = None
    """None: the threshold chosen on the dev disputes when the model was trained (0.5 if it names none)."""
    batch_size: int = 16
    device: str = "cpu"
    threads: int = 0


@dataclass(frozen=True)
class DaemonConfig:
    classify_interval: float = duration(30.0)
    alerts_interval: float = duration(10.0)
    jitter: float = duration(5.0)
    max_backoff: float = duration(3600.0)
    workers: int = 4
    rollup_interval: float = duration(300.0)
    rollup_delay: float = duration(5.0)


@dataclass(frozen=True)
class SourceConfig:
    id: str
    kind: str
    actor: str
    country: str | None = None
    lang: str | None = None
    interval: float = duration(600.0)
    enabled: bool = True
    backfill: int = 50
    user_agent: str | None = None
    url: str | None = None
    fetch_full_text: bool = False
    item_selector: str | None = None
    link_selector: str | None = None
    title_selector: str | None = None
    date_selector: str | None = None
    handle: str | None = None
    bearer_token: str | None = field(default=None, repr=False)
    api_base: str | None = None
    include_replies: bool = True
    include_reposts: bool = True
    channel: str | None = None
    conditions: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ChannelConfig:
    name: str
    kind: str
    enabled: bool = True
    webhook_url: str | None = field(default=None, repr=False)
    host: str | None = None
    port: int = 587
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    from_addr: str | None = field(default=None, metadata={"key": "from"})
    to: tuple[str, ...] = ()
    timeout_seconds: float = 20.0
    token: str | None = field(default=None, repr=False)
    slack_channel: str | None = field(default=None, metadata={"key": "channel"})
    api_base: str = "https://slack.com/api"
    secret: str | None = field(default=None, repr=False)
    urls: tuple[str, ...] = field(default=(), repr=False)


ALERT_DIGESTS = ("hourly", "daily")


@dataclass(frozen=True)
class RuleConfig:
    name: str
    channels: tuple[str, ...]
    enabled: bool = True
    escalation: bool | None = None
    min_score: float | None = None
    stances: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    cooldown: float = duration(0.0)
    digest: str | None = None


@dataclass(frozen=True)
class AlertsConfig:
    channels: tuple[ChannelConfig, ...] = ()
    rules: tuple[RuleConfig, ...] = ()
    max_attempts: int = 20
    backoff: float = duration(2.0)
    max_backoff: float = duration(900.0)
    max_age: float = duration(2 * 86400.0)
    failing_after: int = 3


@dataclass(frozen=True)
class ServeConfig:
    """`monitor serve` (Datasette). Secrets are named by environment variable, never written here,
    and read only when Datasette starts, so the daemon never needs them."""

    host: str = "127.0.0.1"
    port: int = 8001
    metadata: str = "datasette/metadata.yml"
    datasette: str = ""
    analysts: Mapping[str, Any] | None = None
    tokens: Mapping[str, Any] | None = None
    secret_env: str = "DATASETTE_SECRET"
    settings: Mapping[str, Any] | None = None


MIN_TOKEN_LENGTH = 16


def serve_environment(serve: ServeConfig, path: Path,
                      environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables `monitor serve` hands to Datasette (password hashes, tokens, secret), checked:
    every one set, hashes in Datasette's pbkdf2 form, tokens long enough to be unguessable."""
    environ = os.environ if environ is None else environ
    problems, found = [], {}
    for kind, table in (("analysts", serve.analysts or {}), ("tokens", serve.tokens or {})):
        for name, variable in table.items():
            key = f"{path}: serve.{kind}.{name}"
            if not isinstance(variable, str) or not _ENV_NAME.match(variable):
                problems.append(f"{key}: expected the name of an environment variable (such as "
                                f"ALICE_PASSWORD_HASH), not a value: secrets stay out of the file")
            elif not environ.get(variable):
                problems.append(f"{key}: environment variable {variable} is not set")
            elif kind == "analysts" and not environ[variable].startswith("pbkdf2_sha256$"):
                problems.append(f"{key}: {variable} is not a password hash (make one with "
                                "`datasette hash-password`)")
            elif kind == "tokens" and len(environ[variable]) < MIN_TOKEN_LENGTH:
                problems.append(f"{key}: the token in {variable} is shorter than {MIN_TOKEN_LENGTH} characters")
            else:
                found[variable] = environ[variable]
    if not serve.analysts and not serve.tokens:
        problems.append(f"{path}: serve.analysts: no analyst and no token configured, so nobody could read "
                        "anything; add at least one")
    if problems:
        raise ConfigError(problems)
    if environ.get(serve.secret_env):
        found[serve.secret_env] = environ[serve.secret_env]
    return found


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Config:
    path: Path
    monitor: MonitorSettings
    http: HttpConfig = HttpConfig()
    classifier: ClassifierConfig = ClassifierConfig()
    daemon: DaemonConfig = DaemonConfig()
    sources: tuple[SourceConfig, ...] = ()
    alerts: AlertsConfig = AlertsConfig()
    serve: ServeConfig = ServeConfig()

    def source(self, source_id: str) -> SourceConfig:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise ConfigError([f"{self.path}: no source with id {source_id!r} "
                           f"(known: {', '.join(s.id for s in self.sources) or 'none'})"])


SOURCE_KINDS: dict[str, tuple[set[str], set[str]]] = {
    # kind: (required keys, optional keys) besides the common ones
    "rss": ({"url"}, {"fetch_full_text"}),
    "html": ({"url", "item_selector", "link_selector"}, {"title_selector", "date_selector"}),
    "x": ({"handle", "bearer_token"}, {"api_base", "include_replies", "include_reposts"}),
    "mastodon": ({"handle"}, {"api_base", "include_replies", "include_reposts"}),
    "bluesky": ({"handle"}, {"api_base", "include_replies", "include_reposts"}),
    "telegram": ({"channel"}, {"api_base"}),
    "federal_register": (set(), {"conditions", "api_base"}),
}
SOURCE_COMMON = {"id", "kind", "actor", "country", "lang", "interval", "enabled", "backfill", "user_agent"}
CHANNEL_KINDS: dict[str, tuple[set[str], set[str]]] = {
    "console": (set(), set()),
    # slack: webhook_url, or token + channel (checked in _channel_problems)
    "slack": (set(), {"webhook_url", "token", "channel", "api_base", "timeout_seconds"}),
    "webhook": ({"webhook_url", "secret"}, {"timeout_seconds"}),
    "apprise": ({"urls"}, set()),
    "email": ({"host", "from", "to"},
              {"port", "starttls", "ssl", "username", "password", "timeout_seconds"}),
}
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: object) -> float:
    """Seconds from 30, "30s", "2m", "1h" or "1d"; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(value)
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(value)
    return float(match.group(1)) * _UNITS[match.group(2)]


class _Loader:
    """Walks the TOML document, collecting every problem with its key path."""

    def __init__(self, path: Path, environ: Mapping[str, str]) -> None:
        self.path, self.environ, self.problems = path, environ, []  # type: list[str]

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.path}: {key}: {message}")

    def resolve(self, value: Any, key: str) -> Any:
        if isinstance(value, str):
            def sub(match: re.Match[str]) -> str:
                name = match.group(1)
                if name not in self.environ:
                    self.problem(key, f"environment variable {name} is not set")
                    return ""
                return self.environ[name]
            return _ENV.sub(sub, value)
        if isinstance(value, list):
            return [self.resolve(v, f"{key}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: self.resolve(v, f"{key}.{k}") for k, v in value.items()}
        return value

    def build(self, cls: type, table: Any, key: str, allowed: set[str] | None = None,
              **given: Any) -> Any:
        """Builds the dataclass `cls` from a TOML table, checking keys and types."""
        if not isinstance(table, dict):
            self.problem(key, f"expected a table, got {type(table).__name__}")
            return None
        fields = {f.metadata.get("key", f.name): f for f in dataclasses.fields(cls) if f.name not in given}
        names = set(fields) if allowed is None else allowed & set(fields)
        hints = get_type_hints(cls)
        values: dict[str, Any] = dict(given)
        ok = True
        for name in table:
            if name not in names:
                self.problem(f"{key}.{name}", "unknown key" + _suggest(name, names))
                ok = False
        for name, f in fields.items():
            if name not in table:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    self.problem(f"{key}.{name}", "required key is missing")
                    ok = False
                continue
            if name not in names:
                continue
            converted, error = _convert(table[name], hints[f.name], bool(f.metadata.get("duration")))
            if error:
                self.problem(f"{key}.{name}", error)
                ok = False
            values[f.name] = converted
        return cls(**values) if ok else None


def _suggest(name: str, names: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _convert(value: Any, hint: Any, is_duration: bool) -> tuple[Any, str | None]:
    """Converts one TOML value to the field's type, or returns an error message."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None:
            return None, None
        hint = next(a for a in args if a is not type(None))
        origin, args = get_origin(hint), get_args(hint)
    shown = f"{value!r}" if not isinstance(value, dict | list) else type(value).__name__
    if is_duration:
        try:
            return parse_duration(value), None
        except ValueError:
            return None, f'expected a duration such as 30, "30s", "2m" or "1h", got {shown}'
    if hint is bool:
        return (value, None) if isinstance(value, bool) else (None, f"expected true or false, got {shown}")
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return (value, None) if ok else (None, f"expected an integer, got {shown}")
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return (float(value), None) if ok else (None, f"expected a number, got {shown}")
    if hint is str:
        return (value, None) if isinstance(value, str) else (None, f"expected a string, got {shown}")
    if hint is Path:
        return (Path(value), None) if isinstance(value, str) else (None, f"expected a path, got {shown}")
    if origin is tuple:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value), None
        return None, f"expected a list of strings, got {shown}"
    if origin is Mapping or hint is Mapping:
        return (value, None) if isinstance(value, dict) else (None, f"expected a table, got {shown}")
    raise TypeError(f"unsupported config type {hint}")  # a bug in this module, not in the file


def load_config(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Reads and validates the configuration file; raises ConfigError listing every problem."""
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get("MONITOR_CONFIG") or DEFAULT_CONFIG)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: configuration file not found"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    loader = _Loader(path, environ)
    return _build_config(loader, document)


def _build_config(loader: _Loader, doc: dict[str, Any]) -> Config:
    for name in doc:
        if name not in {"monitor", "http", "classifier", "daemon", "sources", "alerts", "serve"}:
            loader.problem(name, "unknown section" + _suggest(name, {"monitor", "http", "classifier",
                                                                       "daemon", "sources", "alerts", "serve"}))
    if "monitor" not in doc:
        loader.problem("monitor", "required section is missing (it needs at least database = ...)")
    monitor = loader.build(MonitorSettings, loader.resolve(doc.get("monitor", {}), "monitor"), "monitor")
    sections = {name: loader.build(cls, loader.resolve(doc.get(name, {}), name), name)
                for name, cls in (("http", HttpConfig), ("classifier", ClassifierConfig),
                                  ("daemon", DaemonConfig), ("serve", ServeConfig))}
    sources = _build_sources(loader, doc.get("sources", []))
    alerts = _build_alerts(loader, doc.get("alerts", {}))
    http = sections["http"]
    if isinstance(http, HttpConfig) and http.poll_processes < -1:
        loader.problem("http.poll_processes", f"expected -1 (automatic), 0 or a number of processes, "
                       f"got {http.poll_processes}")
    if loader.problems:
        raise ConfigError(loader.problems)
    return Config(path=loader.path, monitor=monitor, sources=sources, alerts=alerts, **sections)


def _resolve_unless_disabled(loader: _Loader, table: Any, key: str) -> Any:
    if isinstance(table, dict) and table.get("enabled") is False:
        return {k: (_ENV.sub("", v) if isinstance(v, str) else v) for k, v in table.items()}
    return loader.resolve(table, key)


def _build_sources(loader: _Loader, tables: Any) -> tuple[SourceConfig, ...]:
    if not isinstance(tables, list):
        loader.problem("sources", "expected an array of tables ([[sources]])")
        return ()
    sources, seen = [], set()
    for i, table in enumerate(tables):
        key = f"sources[{i}]"
        if isinstance(table, dict) and isinstance(table.get("id"), str):
            key = f"sources[{i}] (id {table['id']!r})"
            if table["id"] in seen:
                loader.problem(f"{key}.id", f"duplicate source id {table['id']!r}")
            seen.add(table["id"])
        kind = table.get("kind") if isinstance(table, dict) else None
        if kind not in SOURCE_KINDS:
            loader.problem(f"{key}.kind", f"unknown kind {kind!r} (one of {', '.join(SOURCE_KINDS)})")
            continue
        required, optional = SOURCE_KINDS[kind]
        for name in sorted(required - set(table)):
            loader.problem(f"{key}.{name}", f"required for kind {kind!r}")
        built = loader.build(SourceConfig, _resolve_unless_disabled(loader, table, key), key,
                             allowed=SOURCE_COMMON | required | optional)
        if built is not None:
            sources.append(built)
    return tuple(sources)


def _build_alerts(loader: _Loader, doc: Any) -> AlertsConfig | None:
    if not isinstance(doc, dict):
        loader.problem("alerts", "expected a table")
        return None
    channels_doc, rules_doc = doc.get("channels", {}), doc.get("rules", [])
    rest = {k: v for k, v in doc.items() if k not in ("channels", "rules")}
    channels = []
    for name, table in (channels_doc.items() if isinstance(channels_doc, dict) else []):
        key = f"alerts.channels.{name}"
        kind = table.get("kind") if isinstance(table, dict) else None
        if kind not in CHANNEL_KINDS:
            loader.problem(f"{key}.kind", f"unknown kind {kind!r} (one of {', '.join(CHANNEL_KINDS)})")
            continue
        required, optional = CHANNEL_KINDS[kind]
        for problem in _channel_problems(kind, table, required):
            loader.problem(key, problem)
        built = loader.build(ChannelConfig, _resolve_unless_disabled(loader, table, key), key,
                             allowed={"kind", "enabled"} | required | optional, name=name)
        if built is not None:
            channels.append(built)
    if not isinstance(rules_doc, list):
        loader.problem("alerts.rules", "expected an array of tables ([[alerts.rules]])")
        rules_doc = []
    rules, names = [], {c.name for c in channels}
    for i, table in enumerate(rules_doc):
        key = f"alerts.rules[{i}]"
        rule = loader.build(RuleConfig, loader.resolve(table, key), key)
        if rule is None:
            continue
        for channel in rule.channels:
            if channel not in names and channel not in (channels_doc or {}):
                loader.problem(f"{key}.channels", f"no channel named {channel!r} in [alerts.channels]")
        for problem in _rule_problems(rule):
            loader.problem(key, problem)
        rules.append(rule)
    settings = loader.build(AlertsConfig, loader.resolve(rest, "alerts"), "alerts",
                            channels=tuple(channels), rules=tuple(rules))
    return settings


def _channel_problems(kind: str, table: dict[str, Any], required: set[str]) -> list[str]:
    """Keys a channel of this kind needs, beyond what the type checks catch."""
    problems = [f"{name}: required for kind {kind!r}" for name in sorted(required - set(table))]
    if kind == "slack" and "webhook_url" not in table and not {"token", "channel"} <= set(table):
        problems.append("slack needs webhook_url (an incoming webhook) or token and channel (a bot token "
                        "for chat.postMessage)")
    return problems


def _rule_problems(rule: RuleConfig) -> list[str]:
    from monitor.models import ALERT_KINDS

    problems = [f"kinds: unknown kind {k!r} (one of {', '.join(ALERT_KINDS)})"
                for k in rule.kinds if k not in ALERT_KINDS]
    if rule.digest is not None and rule.digest not in ALERT_DIGESTS:
        problems.append(f"digest: expected one of {', '.join(ALERT_DIGESTS)}, got {rule.digest!r}")
    return problems
