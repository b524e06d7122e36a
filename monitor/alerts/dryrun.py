"""`monitor alerts replay`: what a rule would have sent over stored history. Pure: nothing is sent
or written. Time is the statements' own (published, or else fetched): cooldowns and digest periods
are replayed as if each statement had been alerted when it was published."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from monitor.alerts.rules import digest_period_end, in_cooldown, matches, wants
from monitor.config import RuleConfig
from monitor.models import Alert, StoredStatement
from monitor.text import iso, parse_iso


@dataclass
class Planned:
    """One message the rule would have sent to each of its channels."""

    at: str
    kind: str
    statements: list[StoredStatement] = field(default_factory=list)
    period: str | None = None

    def alert(self, rule: RuleConfig, channel: str) -> Alert:
        first = self.statements[0]
        return Alert(id=0, delivery_id="dry-run", rule=rule.name, channel=channel, kind=self.kind, attempts=0,
                     statement=first, digest=tuple(self.statements) if self.kind == "digest" else (),
                     period=self.period)


@dataclass
class ReplayResult:
    planned: list[Planned]
    matched: int
    cooled: int
    considered: int


def _when(s: StoredStatement) -> datetime | None:
    return parse_iso(s.published_at) or parse_iso(s.fetched_at)


def replay(rule: RuleConfig, statements: Sequence[StoredStatement]) -> ReplayResult:
    """The messages, in time order; a statement without a classification never matches."""
    planned: list[Planned] = []
    digests: dict[str, Planned] = {}
    last_by_actor: dict[str | None, datetime] = {}
    matched = cooled = 0
    for s in sorted(statements, key=lambda x: (_when(x) or datetime.min.astimezone(), x.id)):
        when = _when(s)
        if when is None or not matches(rule, s):
            continue
        matched += 1
        if not wants(rule, "new"):
            continue
        if in_cooldown(rule, last_by_actor.get(s.actor), when):
            cooled += 1
            continue
        last_by_actor[s.actor] = when
        period = digest_period_end(rule, when)
        if period is None:
            planned.append(Planned(iso(when) or "", "new", [s]))
            for kind, at in (("edited", s.edited_at), ("deleted", s.deleted_at)):
                if at and wants(rule, kind):
                    planned.append(Planned(at, kind, [s]))
            continue
        key = iso(period) or ""
        if key not in digests:
            digests[key] = Planned(key, "digest", [], key)
            planned.append(digests[key])
        digests[key].statements.append(s)
    planned.sort(key=lambda p: p.at)
    return ReplayResult(planned, matched, cooled, len(statements))
