"""Pollers by kind: each turns one source's HTTP answers into statements and a cursor."""

from __future__ import annotations

from monitor.sources import rss
from monitor.sources.base import PollContext, Poller

POLLERS: dict[str, Poller] = {
    "rss": rss.poll,
}

__all__ = ["POLLERS", "PollContext", "Poller"]
