"""`monitor serve`: Datasette 0.65 on the live database with the shipped metadata.yml, completed
with the analysts' logins and the read-only tokens of the configuration.

The completed metadata holds only `{"$env": NAME}` references: the secrets travel to Datasette
in its environment, never through a file.
"""

from __future__ import annotations

import copy
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from monitor.config import Config, serve_environment
from monitor.errors import MonitorError

PROJECT = Path(__file__).resolve().parents[2]
SHIPPED_NAME = "monitor"   # the database name datasette/metadata.yml is written for
DEFAULT_SETTINGS = {
    "sql_time_limit_ms": 3000, "facet_time_limit_ms": 500, "suggest_facets": "off",
    "max_returned_rows": 5000, "allow_download": "off",
}


class ServeError(MonitorError):
    """Datasette cannot be started as configured."""


def database_name(path: Path) -> str:
    """The name Datasette gives a database file: its stem."""
    return Path(path).stem


def build_metadata(shipped: dict[str, Any], config: Config) -> dict[str, Any]:
    """The shipped metadata, renamed to the configured database and with the auth plugins filled."""
    metadata = copy.deepcopy(shipped)
    name = database_name(config.monitor.database)
    databases = metadata.setdefault("databases", {})
    if SHIPPED_NAME in databases and name != SHIPPED_NAME:
        databases[name] = databases.pop(SHIPPED_NAME)
        _rename(metadata, name)
    serve = config.serve
    plugins = metadata.setdefault("plugins", {})
    analysts = dict(serve.analysts or {})
    plugins["datasette-auth-passwords"] = {
        **{f"{user}_password_hash": {"$env": variable} for user, variable in analysts.items()},
        "actors": {user: {"id": user, "role": "analyst"} for user in analysts},
    }
    plugins["datasette-auth-tokens"] = {
        "tokens": [{"token": {"$env": variable}, "actor": {"id": token, "role": "reader"}}
                   for token, variable in (serve.tokens or {}).items()],
        "param": "_auth_token",   # feed readers that cannot send an Authorization header
    }
    return metadata


def _rename(node: Any, name: str) -> None:
    """Points the dashboards' `db:` keys and the redirect paths at the configured database name."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "db" and value == SHIPPED_NAME:
                node[key] = name
            elif key == "on_success_redirect" and isinstance(value, str):
                node[key] = value.replace(f"/{SHIPPED_NAME}/", f"/{name}/", 1)
            else:
                _rename(value, name)
    elif isinstance(node, list):
        for item in node:
            _rename(item, name)


def datasette_executable(config: Config) -> str:
    """The configured datasette, else the one installed beside this Python, else the PATH's."""
    if config.serve.datasette:
        return config.serve.datasette
    beside = Path(sys.executable).with_name("datasette")
    found = str(beside) if beside.exists() else shutil.which("datasette")
    if not found:
        raise ServeError("datasette is not installed: install it with "
                         "`.venv/bin/pip install -r requirements-datasette.txt` (or set [serve] datasette)")
    return found


def command(config: Config, metadata_path: Path, host: str, port: int) -> list[str]:
    """The datasette command line: the live file (never -i/--immutable), our metadata and settings."""
    settings = {**DEFAULT_SETTINGS, **dict(config.serve.settings or {})}
    args = [datasette_executable(config), "serve", str(config.monitor.database), "-m", str(metadata_path),
            "-h", host, "-p", str(port)]
    for name, value in settings.items():
        args += ["--setting", name, str(value).lower() if isinstance(value, bool) else str(value)]
    return args


def load_shipped(config: Config) -> dict[str, Any]:
    path = Path(config.serve.metadata)
    if not path.is_absolute() and not path.exists() and (PROJECT / path).exists():
        path = PROJECT / path   # run from another folder: the project's own file
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ServeError(f"cannot read the Datasette metadata {path}: {exc.strerror}; "
                         "set [serve] metadata to datasette/metadata.yml of the project") from exc
    except yaml.YAMLError as exc:
        raise ServeError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ServeError(f"{path} must hold a YAML mapping")
    return loaded


def serve(config: Config, host: str | None = None, port: int | None = None,
          on_start: Any = None) -> int:
    """Runs Datasette until it exits or we are told to stop; returns its exit status."""
    import os

    if not Path(config.monitor.database).exists():
        raise ServeError(f"database {config.monitor.database} does not exist yet: run `monitor init` first")
    env = {**os.environ, **serve_environment(config.serve, config.path)}
    metadata = build_metadata(load_shipped(config), config)
    with tempfile.TemporaryDirectory(prefix="monitor-serve-") as folder:
        metadata_path = Path(folder) / "metadata.yml"
        metadata_path.write_text(yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True), encoding="utf-8")
        args = command(config, metadata_path, host or config.serve.host, port or config.serve.port)
        process = subprocess.Popen(args, env=env)
        if on_start:
            on_start(args)

        def forward(signum: int, frame: FrameType | None) -> None:
            process.send_signal(signum)

        previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            return process.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
