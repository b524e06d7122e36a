"""The delivery stage: due outbox rows -> channels -> sent, retried or failed.

Each row (or each digest: every row of one rule, channel and period) is marked `sending` and
committed before the send and `sent` after it, so a crash in between leaves rows that the next
start resends with the same delivery id. A channel's rows go out in order: while its oldest row
waits for a retry, the younger ones wait too. Every send's outcome is counted in `channel_health`;
after `[alerts] failing_after` failures in a row the other channels get a "channel X is failing"
notice, and a "channel X is back" one when it next succeeds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlite_utils import Database

from monitor.alerts import Channel
from monitor.models import Alert, Delivery, StoredStatement
from monitor.store import channels as health
from monitor.store import outbox
from monitor.store.history import active_model
from monitor.store.statements import load_statements, previous_text

if TYPE_CHECKING:
    from monitor.pipeline import Runtime

log = logging.getLogger("monitor")


@dataclass
class DeliveryStats:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def send_pending_alerts(runtime: Runtime) -> DeliveryStats:
    """Sends every due outbox row, then every due notice. A channel that fails is skipped for the
    rest of the pass so its rows keep their order."""
    db, stats, failing = runtime.db(), DeliveryStats(), set()
    for row in outbox.due(db, runtime.now()):
        if runtime.stop.is_set():
            break
        if row.channel in failing:
            continue
        rows = outbox.digest_rows(db, row.rule, row.channel, row.digest_at) if row.digest_at else [row]
        if not rows or rows[0].id != row.id or not outbox.claim_many(db, [r.id for r in rows], runtime.now()):
            continue  # another worker took it, or it went out with its digest already
        channel = runtime.channels.get(row.channel)
        if channel is None:
            for r in rows:
                outbox.mark_failed(db, r.id, f"channel {row.channel!r} is not configured or not enabled")
            stats.failed += len(rows)
            continue
        alert = _digest(runtime, db, rows) if row.digest_at else _alert(runtime, db, row)
        delivery = _send(channel, alert)
        _settle(runtime, db, rows, alert, delivery, stats, failing)
    _send_notices(runtime, db, failing)
    return stats


def _settle(runtime: Runtime, db: Database, rows: list[outbox.OutboxRow], alert: Alert, delivery: Delivery,
            stats: DeliveryStats, failing: set[str]) -> None:
    """Records the outcome of one send on its rows and on the channel's health."""
    settings, now, name = runtime.config.alerts, runtime.now(), alert.channel
    attempts = max(r.attempts for r in rows) + 1
    if delivery.ok:
        for r in rows:
            outbox.mark_sent(db, r.id, now, delivery.extra.get("remote_ref"))
        stats.sent += len(rows)
        log.info("alert %s sent to %r (rule %r, %s)", alert.delivery_id, name, alert.rule,
                 f"digest of {len(rows)}" if alert.kind == "digest" else f"statement {rows[0].statement_id}")
        _on_success(runtime, db, name)
        return
    if delivery.permanent or attempts >= settings.max_attempts:
        for r in rows:
            outbox.mark_failed(db, r.id, delivery.error or "failed")
        stats.failed += len(rows)
        log.error("alert %s to %r failed after %d attempts: %s", alert.delivery_id, name, attempts, delivery.error)
    else:
        wait = min(settings.max_backoff, settings.backoff * 2 ** (attempts - 1))
        wait = max(wait, delivery.retry_after or 0.0)
        for r in rows:
            outbox.mark_retry(db, r.id, delivery.error or "failed", now + timedelta(seconds=wait))
        stats.retrying += len(rows)
        log.warning("alert %s to %r: %s (attempt %d, retry in %.0f s)", alert.delivery_id, name,
                    delivery.error, attempts, wait)
    failing.add(name)
    _on_failure(runtime, db, name, delivery.error or "failed")


def _on_failure(runtime: Runtime, db: Database, name: str, error: str) -> None:
    threshold = runtime.config.alerts.failing_after
    if health.record_result(db, name, False, runtime.now(), error) < threshold or not threshold:
        return
    state = health.health(db, name)
    if state is None or state.notified_at:
        return
    others = [c for c in runtime.channels if c != name]
    message = (f"Channel {name!r} is failing: {state.consecutive_failures} sends in a row have failed since "
               f"{state.failing_since}. Last error: {error}. Its alerts are kept and will be sent, in order, "
               f"when it works again; see `monitor alerts list`.")
    health.queue_notice(db, name, "failing", state.failing_since or "", others, message, runtime.now())
    health.set_notified(db, name, runtime.now())
    log.error("channel %r is failing (%d sends in a row); telling %s", name, state.consecutive_failures,
              ", ".join(others) or "no other channel")


def _on_success(runtime: Runtime, db: Database, name: str) -> None:
    state = health.health(db, name)
    health.record_result(db, name, True, runtime.now())
    if state is not None and state.notified_at:
        others = [c for c in runtime.channels if c != name]
        message = f"Channel {name!r} works again (it was failing since {state.failing_since})."
        health.queue_notice(db, name, "recovered", state.failing_since or "", others, message, runtime.now())
        health.set_notified(db, name, None)


def _send_notices(runtime: Runtime, db: Database, failing: set[str]) -> None:
    bad = failing | health.failing_channels(db, runtime.config.alerts.failing_after or 1)
    for notice in health.due_notices(db, runtime.now()):
        channel = runtime.channels.get(notice.target)
        if channel is None:
            health.finish_notice(db, notice.id, runtime.now(), f"channel {notice.target!r} is not configured")
            continue
        if notice.target in bad:
            continue  # a failing channel cannot carry news; it is retried when it recovers
        title = f"Channel {notice.about!r} is " + ("failing" if notice.kind == "failing" else "back")
        delivery = _send(channel, notice_alert(notice.delivery_id, notice.target, title, notice.message,
                                               notice.created_at, notice.attempts + 1))
        retry = runtime.now() + timedelta(seconds=runtime.config.alerts.backoff * 2 ** min(notice.attempts, 10))
        health.finish_notice(db, notice.id, runtime.now(), None if delivery.ok else delivery.error or "failed",
                             None if notice.attempts + 1 >= runtime.config.alerts.max_attempts else retry)


def notice_alert(delivery_id: str, channel: str, title: str, message: str, when: str, attempts: int = 1) -> Alert:
    """A message about the monitor itself, in the shape every channel renders."""
    statement = StoredStatement(id=0, source_id="statement-monitor", external_id=delivery_id, text=message,
                                url=None, title=title, actor="Statement Monitor", lang="en", published_at=when,
                                fetched_at=when)
    return Alert(id=0, delivery_id=delivery_id, rule="monitor", channel=channel, kind="notice",
                 attempts=attempts, statement=statement)


def _send(channel: Channel, alert: Alert) -> Delivery:
    try:
        return channel.send(alert)
    except Exception as exc:  # a channel bug must not stop the other channels
        log.exception("channel %r raised while sending %s", channel.name, alert.delivery_id)
        return Delivery(ok=False, error=f"{type(exc).__name__}: {exc}")


def _model(runtime: Runtime, db: Database) -> str:
    if runtime._classifier:
        return runtime.classifier.name
    return active_model(db)


def _alert(runtime: Runtime, db: Database, row: outbox.OutboxRow) -> Alert:
    statement: StoredStatement = load_statements(db, [row.statement_id], _model(runtime, db))[0]
    thread = outbox.delivery_id(statement.source_id, statement.external_id, row.rule, row.channel, "new")
    follow_up = row.kind in ("edited", "deleted")
    return Alert(id=row.id, delivery_id=row.delivery_id, rule=row.rule, channel=row.channel, kind=row.kind,
                 attempts=row.attempts + 1, statement=statement,
                 previous_text=previous_text(db, row.statement_id) if row.kind == "edited" else None,
                 thread_id=thread,
                 thread_ref=outbox.remote_ref(db, row.statement_id, row.rule, row.channel) if follow_up else None)


def _digest(runtime: Runtime, db: Database, rows: list[outbox.OutboxRow]) -> Alert:
    first = rows[0]
    assert first.digest_at is not None
    by_id = {s.id: s for s in load_statements(db, sorted({r.statement_id for r in rows}), _model(runtime, db))}
    items = tuple(by_id[r.statement_id] for r in rows if r.statement_id in by_id)
    return Alert(id=first.id, delivery_id=outbox.digest_delivery_id(first.rule, first.channel, first.digest_at),
                 rule=first.rule, channel=first.channel, kind="digest", attempts=first.attempts + 1,
                 statement=items[0], digest=items, period=first.digest_at)


def next_due(db: Database) -> datetime | None:
    """When the next row or notice is due (for the daemon's wake-up)."""
    values = [v for v in (outbox.next_due_at(db), db.execute(
        "select min(next_attempt_at) from notices where status = 'pending'").fetchone()[0]) if v]
    return datetime.fromisoformat(min(values).replace("Z", "+00:00")) if values else None

