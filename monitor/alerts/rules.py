"""Which classified statements deserve an alert, and on which channels. Pure functions."""

from __future__ import annotations

import re
import unicodedata
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
    if rule.sources and statement.source_id not in rule.sources:
        return False
    if rule.languages and _primary(statement.lang) not in {_primary(lang) for lang in rule.languages}:
        return False
    if rule.countries and (statement.country or "").upper() not in {c.upper() for c in rule.countries}:
        return False
    return not rule.keywords or has_keyword(rule.keywords, f"{statement.title or ''}\n{statement.text}")


def wants(rule: RuleConfig, kind: str) -> bool:
    """Whether the rule sends alerts of this kind (`new`, `edited`, `deleted`); all when `kinds` is unset."""
    return not rule.kinds or kind in rule.kinds


def fold(text: str) -> str:
    """Lower case without accents: "Sanción" and "SANCION" both fold to "sancion"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def has_keyword(keywords: tuple[str, ...], text: str) -> bool:
    """True when a keyword starts a word of the text ("sancion" finds "sanciones" but not "presancion")."""
    folded = fold(text)
    return any(re.search(r"(?<!\w)" + re.escape(fold(k).strip()), folded) for k in keywords if k.strip())


def _primary(lang: str | None) -> str:
    return (lang or "").split("-")[0].split("_")[0].casefold()


def in_cooldown(rule: RuleConfig, last_alert_at: datetime | None, now: datetime) -> bool:
    """Whether the rule alerted on the same actor less than `cooldown` ago."""
    return bool(rule.cooldown) and last_alert_at is not None and now - last_alert_at < timedelta(
        seconds=rule.cooldown)


def digest_period_end(rule: RuleConfig, now: datetime) -> datetime | None:
    """When the digest that a match at `now` belongs to is due: the next full hour or midnight, UTC."""
    if rule.digest is None:
        return None
    start = now.replace(minute=0, second=0, microsecond=0)
    if rule.digest == "daily":
        start = start.replace(hour=0)
        return start + timedelta(days=1)
    return start + timedelta(hours=1)


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
