"""Latency of delivered alerts: p50 and p95 of publish→sent and fetch→sent per channel. Pure."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.store.history import SentTimes
from monitor.text import parse_iso


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class ChannelLatency:
    channel: str
    count: int
    publish_p50: float | None
    publish_p95: float | None
    fetch_p50: float | None
    fetch_p95: float | None
    classify_p50: float | None


def _seconds(start: str | None, end: str) -> float | None:
    a, b = parse_iso(start), parse_iso(end)
    return None if a is None or b is None else max(0.0, (b - a).total_seconds())


def latency(rows: Iterable[SentTimes]) -> list[ChannelLatency]:
    """Per channel, in name order. Only `new` alerts count: a follow-up's statement was published
    long before its edit, which would say nothing about how fast the monitor is."""
    spans: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        if r.kind != "new":
            continue
        counts[r.channel] += 1
        for name, start in (("publish", r.published_at), ("fetch", r.fetched_at), ("classify", r.classified_at)):
            value = _seconds(start, r.sent_at)
            if value is not None:
                spans[r.channel][name].append(value)

    def p(channel: str, name: str, q: float) -> float | None:
        values = spans[channel][name]
        return percentile(values, q) if values else None

    return [ChannelLatency(c, counts[c], p(c, "publish", 50), p(c, "publish", 95), p(c, "fetch", 50),
                           p(c, "fetch", 95), p(c, "classify", 50)) for c in sorted(counts)]


def format_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.0f} s"
    return f"{value / 60:.1f} min" if value < 7200 else f"{value / 3600:.1f} h"
