"""Which outbox rows a classified, edited or deleted statement adds: rules, `kinds`, per-actor
`cooldown` and digest periods applied over the store. Cooldown is read back from the `alerts`
table and a digest row carries its period end, so a restart keeps both."""

from __future__ import annotations

import logging
from collections.abc import Container
from datetime import datetime

from sqlite_utils import Database

from monitor.alerts.rules import digest_period_end, in_cooldown, is_recent, targets, wants
from monitor.config import AlertsConfig, RuleConfig
from monitor.models import StoredStatement
from monitor.store import outbox
from monitor.text import parse_iso

log = logging.getLogger("monitor")


def _rule(config: AlertsConfig, name: str) -> RuleConfig | None:
    return next((r for r in config.rules if r.name == name), None)


def queue_new(config: AlertsConfig, channels: Container[str], db: Database, statement: StoredStatement,
              now: datetime) -> int:
    """`new` rows for every (rule, channel) that matches a freshly classified statement."""
    if not is_recent(statement, now, config.max_age):
        return 0
    queued, cooled = 0, set()
    for rule_name, channel in targets(config.rules, statement):
        rule = _rule(config, rule_name)
        if rule is None or not wants(rule, "new") or channel not in channels \
                or outbox.has_alert(db, statement.id, rule_name, channel, "new"):
            continue
        if rule_name in cooled or (rule_name not in _queued_now(db, statement.id) and in_cooldown(
                rule, parse_iso(outbox.last_alert_at(db, rule_name, statement.actor)), now)):
            cooled.add(rule_name)
            continue
        queued += outbox.enqueue(db, statement.id, rule_name, channel, "new", now, digest_period_end(rule, now))
    if cooled:
        log.info("statement %d: rules %s in cooldown for %r, not alerted", statement.id, sorted(cooled),
                 statement.actor)
    return queued


def _queued_now(db: Database, statement_id: int) -> set[str]:
    """Rules that already queued this statement (on another channel): cooldown must not cut them short."""
    return {r[0] for r in db.execute("select rule from alerts where statement_id = ? and kind = 'new'",
                                     [statement_id])}


def queue_follow_ups(config: AlertsConfig, channels: Container[str], db: Database, statement_id: int,
                     kind: str, now: datetime) -> int:
    """`edited` or `deleted` rows wherever the statement already alerted, for rules that want that kind."""
    queued = 0
    rows = db.execute("select rule, channel from alerts where statement_id = ? and kind = 'new'", [statement_id])
    for rule_name, channel in [(r[0], r[1]) for r in rows]:
        rule = _rule(config, rule_name)
        if rule is None or not wants(rule, kind) or channel not in channels:
            continue
        queued += outbox.enqueue(db, statement_id, rule_name, channel, kind, now, digest_period_end(rule, now))
    return queued
