"""Small helpers shared by the tests: waiting on conditions, free ports, config files."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.05,
               message: str = "condition") -> T:
    """Polls `predicate` until it returns something truthy; fails the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_source(source_id: str, url: str, actor: str = "Ministry", interval: str = "1s", **extra: object) -> str:
    lines = [f'[[sources]]\nid = "{source_id}"\nkind = "rss"\nurl = "{url}"\nactor = "{actor}"\n'
             f'interval = "{interval}"']
    lines += [f"{k} = {_toml(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def write_config(folder: Path, sources: str = "", channels: str = "", rules: str = "",
                 extra: str = "") -> Path:
    """A config file for tests: fast daemon intervals, any-age alerts, the repo's model."""
    path = folder / "monitor.toml"
    path.write_text(
        f'[monitor]\ndatabase = "{folder / "monitor.db"}"\n\n'
        f'[classifier]\nmodel = "{ROOT / "models" / "stance-topic"}"\n\n'
        '[daemon]\nclassify_interval = "1s"\nalerts_interval = "1s"\njitter = "0s"\nmax_backoff = "5s"\n\n'
        f'{extra}\n{sources}\n[alerts]\nmax_age = "0"\nbackoff = "0.2s"\nmax_attempts = 5\n\n{channels}\n{rules}\n',
        encoding="utf-8")
    return path
