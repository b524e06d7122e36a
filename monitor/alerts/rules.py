"""Which classified statements deserve an alert, and on which channels. Pure functions."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.config import RuleConfig
from monitor.models import StoredStatement
from monitor.text import parse_iso


def matches(rule: RuleConfig, statement: StoredStatement) -> bool:
    """True when every filter the rule sets holds; a filter left out does not filter."""
    c = statement.classification
    if not rule.enabled or c is None:
        return False
    if rule.escalation is not None and c.escalation != rule.escalation:
        return False
    if rule.min_score is not None and c.escalation_score < rule.min_score:
        return False
    if rule.stances and c.stance not in rule.stances:
        return False
    if rule.topics and not set(rule.topics) & set(c.topics):
        return False
    if rule.actors and (statement.actor or "").casefold() not in {a.casefold() for a in rule.actors}:
        return False
    return not (rule.sources and statement.source_id not in rule.sources)


def is_recent(statement: StoredStatement, now: datetime, max_age: float) -> bool:
    """Whether a statement is new enough to alert on (max_age 0 means any age), so that the first
    poll of a feed with years of history does not page anyone."""
    if not max_age:
        return True
    published = parse_iso(statement.published_at) or parse_iso(statement.fetched_at)
    return published is None or published >= now - timedelta(seconds=max_age)


def targets(rules: tuple[RuleConfig, ...], statement: StoredStatement) -> list[tuple[str, str]]:
    """(rule, channel) pairs for a statement, in config order, without repeats."""
    out: list[tuple[str, str]] = []
    for rule in rules:
        if matches(rule, statement):
            for channel in rule.channels:
                if (rule.name, channel) not in out:
                    out.append((rule.name, channel))
    return out
