"""The three jobs of the pipeline, each reading its input from the store:

    poll_source(runtime, id)    HTTP -> statements -> store (+ cursor, health)
    classify_pending(runtime)   unclassified statements -> classifier -> store -> outbox rows
    send_pending_alerts(rt)     due outbox rows -> channels -> sent / retry / failed

The only module that sees more than one stage. A crash anywhere loses nothing: the next job
starts again from the rows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from monitor.alerts import Channel
from monitor.alerts.rules import is_recent, targets
from monitor.classify import Classifier, statement_text
from monitor.config import Config
from monitor.errors import SourceError
from monitor.models import Alert, Delivery, StoredStatement
from monitor.sources import POLLERS, PollContext
from monitor.store import open_db, outbox, set_setting
from monitor.store.state import get_cursor, record_failure, record_success
from monitor.store.statements import (
    item_hash,
    load_statements,
    pending_classification,
    previous_text,
    save_classifications,
    save_statements,
)

log = logging.getLogger("monitor")


@dataclass
class Runtime:
    """Everything a job needs, built once by the shell (cli) and shared by the jobs."""

    config: Config
    client: httpx.Client
    channels: dict[str, Channel]
    classifier_factory: Callable[[], Classifier]
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    stop: threading.Event = field(default_factory=threading.Event)
    _classifier: Classifier | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def classifier(self) -> Classifier:
        """Loaded on first use, once: polling alone never pays for the model."""
        with self._lock:
            if self._classifier is None:
                self._classifier = self.classifier_factory()
            return self._classifier

    def db(self, migrate: bool = False):  # type: ignore[no-untyped-def]
        return open_db(self.config.monitor.database, migrate=migrate)


@dataclass(frozen=True)
class PollOutcome:
    source_id: str
    new: tuple[int, ...] = ()
    edited: tuple[int, ...] = ()
    error: str | None = None
    next_poll_at: datetime | None = None


def poll_source(runtime: Runtime, source_id: str) -> PollOutcome:
    """Polls one source and stores what is new; a failure is recorded, never raised."""
    source = runtime.config.source(source_id)
    db = runtime.db()
    started, start_clock = runtime.now(), time.monotonic()
    ctx = PollContext(client=runtime.client, max_bytes=runtime.config.http.max_body_bytes,
                      known=lambda external_id: item_hash(db, source.id, external_id))
    try:
        result = POLLERS[source.kind](ctx, source, get_cursor(db, source.id))
    except Exception as exc:  # one source's failure, of whatever kind, never stops the others
        message = str(exc) if isinstance(exc, SourceError) else \
            f"source {source.id!r}: internal error while polling ({type(exc).__name__}: {exc})"
        if not isinstance(exc, SourceError):
            log.exception(message)
        retry_after = exc.retry_after if isinstance(exc, SourceError) else None
        next_at = record_failure(db, source.id, message, runtime.now(), source.interval,
                                 runtime.config.daemon.max_backoff, retry_after)
        log.warning("%s (failure; next try %s)", message, next_at.strftime("%H:%M:%S"))
        return PollOutcome(source.id, error=message, next_poll_at=next_at)
    saved = save_statements(db, result.statements, runtime.now())
    next_at = started + timedelta(seconds=source.interval)
    with db.conn:
        record_success(db, source.id, result.cursor, runtime.now(), len(saved.new),
                       int((time.monotonic() - start_clock) * 1000), next_at)
    if saved.new or saved.edited:
        log.info("source %r: %d new, %d edited", source.id, len(saved.new), len(saved.edited))
    else:
        log.debug("source %r: nothing new%s", source.id, " (304)" if result.not_modified else "")
    return PollOutcome(source.id, new=saved.new, edited=saved.edited, next_poll_at=next_at)


def poll_all(runtime: Runtime) -> list[PollOutcome]:
    """Polls every enabled source once, concurrently."""
    enabled = [s.id for s in runtime.config.sources if s.enabled]
    if not enabled:
        return []
    with ThreadPoolExecutor(max_workers=min(len(enabled), max(4, runtime.config.http.max_connections))) as pool:
        return list(pool.map(lambda source_id: poll_source(runtime, source_id), enabled))


def classify_pending(runtime: Runtime, batch: int = 32) -> int:
    """Classifies every statement the current model has not seen in its current text, batch by batch,
    and queues the alerts the rules ask for. Returns how many it classified."""
    db = runtime.db()
    classifier = runtime.classifier
    set_setting(db, "active_model", classifier.name)
    done = 0
    while not runtime.stop.is_set():
        pending = pending_classification(db, classifier.name, batch)
        if not pending:
            break
        results = classifier.classify([statement_text(p.title, p.text) for p in pending])
        save_classifications(db, list(zip(pending, results, strict=True)), classifier.version, runtime.now())
        queue_alerts(runtime, db, [p.id for p in pending])
        done += len(pending)
    if done:
        log.info("classified %d statements with %s", done, classifier.name)
    return done


def queue_alerts(runtime: Runtime, db, statement_ids: list[int]) -> int:  # type: ignore[no-untyped-def]
    """Adds outbox rows for freshly classified statements: `new` where a rule matches, `edited` for
    an edited statement that already alerted on that rule and channel."""
    config, now, queued = runtime.config.alerts, runtime.now(), 0
    with db.conn:
        for statement in load_statements(db, statement_ids, runtime.classifier.name):
            pairs = targets(config.rules, statement) if is_recent(statement, now, config.max_age) else []
            for rule, channel in pairs:
                if channel in runtime.channels and not outbox.has_alert(db, statement.id, rule, channel, "new"):
                    queued += outbox.enqueue(db, statement.id, rule, channel, "new", now)
            if statement.edited_at:
                for rule, channel in _alerted(db, statement.id):
                    if channel in runtime.channels:
                        queued += outbox.enqueue(db, statement.id, rule, channel, "edited", now)
    return queued


def _alerted(db, statement_id: int) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    rows = db.execute("select rule, channel from alerts where statement_id = ? and kind = 'new'", [statement_id])
    return [(r[0], r[1]) for r in rows]


@dataclass
class DeliveryStats:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def send_pending_alerts(runtime: Runtime) -> DeliveryStats:
    """Sends every due outbox row. A channel that fails is skipped for the rest of the pass so its
    rows keep their order."""
    db, stats, failing = runtime.db(), DeliveryStats(), set()
    settings = runtime.config.alerts
    for row in outbox.due(db, runtime.now()):
        if runtime.stop.is_set():
            break
        if row.channel in failing or not outbox.claim(db, row.id, runtime.now()):
            continue
        channel = runtime.channels.get(row.channel)
        if channel is None:
            outbox.mark_failed(db, row.id, f"channel {row.channel!r} is not configured or not enabled")
            stats.failed += 1
            continue
        delivery = _send(channel, _alert(runtime, db, row))
        attempts = row.attempts + 1
        if delivery.ok:
            outbox.mark_sent(db, row.id, runtime.now())
            stats.sent += 1
            log.info("alert %s sent to %r (rule %r, statement %d)", row.delivery_id, row.channel, row.rule,
                     row.statement_id)
        elif delivery.permanent or attempts >= settings.max_attempts:
            outbox.mark_failed(db, row.id, delivery.error or "failed")
            stats.failed += 1
            log.error("alert %s to %r failed after %d attempts: %s", row.delivery_id, row.channel, attempts,
                      delivery.error)
        else:
            wait = min(settings.max_backoff, settings.backoff * 2 ** (attempts - 1))
            wait = max(wait, delivery.retry_after or 0.0)
            outbox.mark_retry(db, row.id, delivery.error or "failed", runtime.now() + timedelta(seconds=wait))
            failing.add(row.channel)
            stats.retrying += 1
            log.warning("alert %s to %r: %s (attempt %d, retry in %.0f s)", row.delivery_id, row.channel,
                        delivery.error, attempts, wait)
    return stats


def _send(channel: Channel, alert: Alert) -> Delivery:
    try:
        return channel.send(alert)
    except Exception as exc:  # a channel bug must not stop the other channels
        log.exception("channel %r raised while sending %s", channel.name, alert.delivery_id)
        return Delivery(ok=False, error=f"{type(exc).__name__}: {exc}")


def _alert(runtime: Runtime, db, row: outbox.OutboxRow) -> Alert:  # type: ignore[no-untyped-def]
    model = runtime.classifier.name if runtime._classifier else _active_model(db)
    statement: StoredStatement = load_statements(db, [row.statement_id], model)[0]
    thread = outbox.delivery_id(statement.source_id, statement.external_id, row.rule, row.channel, "new")
    return Alert(id=row.id, delivery_id=row.delivery_id, rule=row.rule, channel=row.channel, kind=row.kind,
                 attempts=row.attempts + 1, statement=statement,
                 previous_text=previous_text(db, row.statement_id) if row.kind == "edited" else None,
                 thread_id=thread)


def _active_model(db) -> str:  # type: ignore[no-untyped-def]
    row = db.execute("select value from settings where key = 'active_model'").fetchone()
    return row[0] if row else ""


def deliver_until_settled(runtime: Runtime, grace: float = 30.0) -> DeliveryStats:
    """Sends due alerts, waiting for retries that fall within `grace` seconds (for `run --once`)."""
    total = DeliveryStats()
    deadline = runtime.now() + timedelta(seconds=grace)
    db = runtime.db()
    while not runtime.stop.is_set():
        stats = send_pending_alerts(runtime)
        total.sent, total.failed = total.sent + stats.sent, total.failed + stats.failed
        nxt = outbox.next_due_at(db)
        if nxt is None or nxt > deadline.strftime("%Y-%m-%dT%H:%M:%SZ"):
            total.retrying = stats.retrying
            break
        wait = (datetime.fromisoformat(nxt.replace("Z", "+00:00")) - runtime.now()).total_seconds()
        runtime.stop.wait(max(0.05, wait))
    return total


def run_once(runtime: Runtime) -> tuple[list[PollOutcome], int, DeliveryStats]:
    """One pass: poll every enabled source, classify, deliver."""
    outbox.recover_interrupted(runtime.db())
    outcomes = poll_all(runtime)
    classified = classify_pending(runtime)
    return outcomes, classified, deliver_until_settled(runtime)
