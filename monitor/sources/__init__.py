"""Pollers by kind: each turns one source's HTTP answers into statements and a cursor."""

from __future__ import annotations

from monitor.sources import bluesky, federal_register, html, mastodon, rss, telegram, x
from monitor.sources.base import PollContext, Poller

POLLERS: dict[str, Poller] = {
    "rss": rss.poll,
    "html": html.poll,
    "x": x.poll,
    "mastodon": mastodon.poll,
    "bluesky": bluesky.poll,
    "telegram": telegram.poll,
    "federal_register": federal_register.poll,
}

__all__ = ["POLLERS", "PollContext", "Poller"]
