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
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from monitor.alert_queue import queue_follow_ups, queue_new
from monitor.alerts import Channel
from monitor.classify import Classifier, statement_text
from monitor.config import Config, SourceConfig
from monitor.delivery import DeliveryStats, send_pending_alerts
from monitor.errors import SourceError
from monitor.models import PollResult
from monitor.store import open_db, outbox, set_setting, transaction, writing
from monitor.store.rollup import RollupResult, refresh_rollup
from monitor.store.state import get_cursor, record_failure, record_success
from monitor.store.statements import (
    load_statements,
    mark_deleted,
    pending_classification,
    save_classifications,
    save_statements,
)
from monitor.workers import PollWorkers, WorkerCrashError, failed_future, fetch_and_parse

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
    workers: PollWorkers | None = None
    """Worker processes for fetch-and-parse; None: polls run in the calling thread."""
    _classifier: Classifier | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    @property
    def classifier(self) -> Classifier:
        """Loaded on first use, once: polling alone never pays for the model."""
        with self._lock:
            if self._classifier is None:
                self._classifier = self.classifier_factory()
            return self._classifier

    def db(self, migrate: bool = False):  # type: ignore[no-untyped-def]
        """This thread's connection, opened once (SQLite connections must not cross threads)."""
        if migrate:
            return open_db(self.config.monitor.database, migrate=True)
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = open_db(self.config.monitor.database, migrate=False)
        return db

    def close(self) -> None:
        """Stops the worker processes and closes the shared client."""
        if self.workers is not None:
            self.workers.close()
        self.client.close()


@dataclass(frozen=True)
class PollOutcome:
    source_id: str
    new: tuple[int, ...] = ()
    edited: tuple[int, ...] = ()
    error: str | None = None
    deleted: tuple[int, ...] = ()
    next_poll_at: datetime | None = None


def poll_source(runtime: Runtime, source_id: str) -> PollOutcome:
    """Polls one source and stores what is new; a failure is recorded, never raised."""
    source = runtime.config.source(source_id)
    db = runtime.db()
    started, start_clock = runtime.now(), time.monotonic()
    try:
        cursor = get_cursor(db, source.id)
        if runtime.workers is not None:
            result, seconds = runtime.workers.outcome(runtime.workers.submit(source, cursor), source)
        else:
            result = fetch_and_parse(runtime.client, db, runtime.config, source, cursor)
            seconds = time.monotonic() - start_clock
    except Exception as exc:  # one source's failure, of whatever kind, never stops the others
        return _record_failure(runtime, db, source, exc)
    return _store(runtime, db, source, result, started, seconds)


def _record_failure(runtime: Runtime, db, source: SourceConfig,  # type: ignore[no-untyped-def]
                    exc: Exception) -> PollOutcome:
    kind, text = (exc.kind, exc.text) if isinstance(exc, WorkerCrashError) else (type(exc).__name__, exc)
    message = str(exc) if isinstance(exc, SourceError) else \
        f"source {source.id!r}: internal error while polling ({kind}: {text})"
    if not isinstance(exc, SourceError | WorkerCrashError):  # a worker logs its own traceback
        log.error(message, exc_info=exc)
    retry_after = exc.retry_after if isinstance(exc, SourceError) else None
    with writing():
        next_at = record_failure(db, source.id, message, runtime.now(), source.interval,
                                 runtime.config.daemon.max_backoff, retry_after)
    log.warning("%s (failure; next try %s)", message, next_at.strftime("%H:%M:%S"))
    return PollOutcome(source.id, error=message, next_poll_at=next_at)


def _store(runtime: Runtime, db, source: SourceConfig, result: PollResult,  # type: ignore[no-untyped-def]
           started: datetime, seconds: float) -> PollOutcome:
    next_at = started + timedelta(seconds=source.interval)
    # one transaction: the statements, the deletions with their `deleted` alerts, and the cursor
    with writing(), transaction(db):
        saved = save_statements(db, result.statements, runtime.now())
        deleted = _record_deletions(runtime, db, source.id, result.deleted)
        record_success(db, source.id, result.cursor, runtime.now(), len(saved.new), int(seconds * 1000),
                       next_at)
    if saved.new or saved.edited or deleted:
        log.info("source %r: %d new, %d edited, %d deleted", source.id, len(saved.new), len(saved.edited),
                 len(deleted))
    else:
        log.debug("source %r: nothing new%s", source.id, " (304)" if result.not_modified else "")
    return PollOutcome(source.id, new=saved.new, edited=saved.edited, next_poll_at=next_at,
                       deleted=tuple(deleted))


def _record_deletions(runtime: Runtime, db, source_id: str,  # type: ignore[no-untyped-def]
                      external_ids: tuple[str, ...]) -> list[int]:
    """Marks confirmed deletions and queues a `deleted` alert wherever the statement had alerted."""
    if not external_ids:
        return []
    ids = mark_deleted(db, source_id, external_ids, runtime.now())
    for statement_id in ids:  # in _store's transaction: the mark and its alerts commit together
        queue_follow_ups(runtime.config.alerts, runtime.channels, db, statement_id, "deleted", runtime.now())
    return ids


def poll_all(runtime: Runtime) -> list[PollOutcome]:
    """Polls every enabled source once, concurrently."""
    enabled = [s for s in runtime.config.sources if s.enabled]
    if not enabled:
        return []
    if runtime.workers is None:
        workers = min(len(enabled), max(4, 2 * runtime.config.http.max_connections))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda source: poll_source(runtime, source.id), enabled))
    # worker processes fetch and parse; this thread stores each result as it comes back, so the
    # writes need no other thread and no lock contention
    db, started = runtime.db(), runtime.now()
    futures = {}
    for source in enabled:
        try:
            futures[runtime.workers.submit(source, get_cursor(db, source.id))] = source
        except Exception as exc:
            futures[failed_future(exc)] = source
    outcomes = {}
    for future in as_completed(futures):
        source = futures[future]
        try:
            result, seconds = runtime.workers.outcome(future, source)
        except Exception as exc:
            outcomes[source.id] = _record_failure(runtime, db, source, exc)
        else:
            outcomes[source.id] = _store(runtime, db, source, result, started, seconds)
    return [outcomes[source.id] for source in enabled]


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
        # one transaction: a crash between the two would leave statements classified (so never
        # picked up again) without the alerts they should have raised
        with transaction(db):
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
    with transaction(db):
        for statement in load_statements(db, statement_ids, runtime.classifier.name):
            queued += queue_new(config, runtime.channels, db, statement, now)
            if statement.edited_at:
                queued += queue_follow_ups(config, runtime.channels, db, statement.id, "edited", now)
    return queued


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


def update_rollup(runtime: Runtime) -> RollupResult:
    """Refreshes the escalation_daily rollup for what changed (ANALYZE after large changes)."""
    result = refresh_rollup(runtime.db())
    if result.days:
        log.debug("rollup: %d days refreshed after %d classifications%s", result.days, result.changed,
                  ", statistics updated" if result.analyzed else "")
    return result


def run_once(runtime: Runtime) -> tuple[list[PollOutcome], int, DeliveryStats]:
    """One pass: poll every enabled source, classify, deliver, refresh the rollup."""
    outbox.recover_interrupted(runtime.db())
    outcomes = poll_all(runtime)
    classified = classify_pending(runtime)
    stats = deliver_until_settled(runtime)
    update_rollup(runtime)
    return outcomes, classified, stats


def reclassify(runtime: Runtime, classifier: Classifier, since: str | None = None,
               on_batch: Callable[[int], None] = lambda n: None, batch: int = 32) -> int:
    """Runs stored statements through `classifier`, adding (or refreshing) its rows and keeping
    every other model's rows, so versions can be compared with SQL. Queues no alerts."""
    from monitor.store.statements import texts_since

    db = runtime.db()
    pending = texts_since(db, since)
    for start in range(0, len(pending), batch):
        chunk = pending[start:start + batch]
        results = classifier.classify([statement_text(p.title, p.text) for p in chunk])
        save_classifications(db, list(zip(chunk, results, strict=True)), classifier.version, runtime.now())
        on_batch(len(chunk))
    return len(pending)
