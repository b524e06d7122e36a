"""`monitor run`: the pipeline's jobs on an APScheduler 3 scheduler.

One job per enabled source at its interval (with jitter, coalescing, one instance at a time),
plus one `classify` and one `alerts` job. A poll that finds something wakes the classify job at
once, and classification that queues alerts wakes the alerts job, so an alert goes out seconds
after the poll that found its statement. SIGINT and SIGTERM shut the scheduler down after the
jobs in flight finish.

The scheduler runs in the background and the main thread waits for the stop event. A signal
handler only sets that event: shutting the scheduler down from inside the handler could deadlock,
because the handler may interrupt the main thread while it holds the scheduler's job-store lock
that a finishing job needs.
"""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from monitor.pipeline import Runtime, classify_pending, poll_source, send_pending_alerts, update_rollup
from monitor.store import outbox

log = logging.getLogger("monitor")


def _wake(scheduler: BackgroundScheduler, job_id: str, when: datetime | None = None) -> None:
    """Moves a job's next run to `when` (now by default)."""
    try:
        if scheduler.running:
            scheduler.modify_job(job_id, next_run_time=when or datetime.now(UTC))
    except JobLookupError:
        pass


def build_scheduler(runtime: Runtime) -> BackgroundScheduler:
    daemon = runtime.config.daemon
    scheduler = BackgroundScheduler(
        # a poll handed to a worker process holds its thread while it waits: one more per process
        executors={"default": ThreadPoolExecutor(
            max_workers=daemon.workers + (runtime.workers.processes if runtime.workers else 0))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone=UTC,
    )
    now = datetime.now(UTC)

    def poll_job(source_id: str) -> None:
        outcome = poll_source(runtime, source_id)
        if outcome.new or outcome.edited:
            _wake(scheduler, "classify")
        if outcome.deleted:
            _wake(scheduler, "alerts")  # `deleted` alerts were queued by the poll itself
        if outcome.error and outcome.next_poll_at:
            _wake(scheduler, f"poll:{source_id}", outcome.next_poll_at)  # backoff of a failing source

    def classify_job() -> None:
        if classify_pending(runtime):
            _wake(scheduler, "alerts")
            _wake(scheduler, "rollup", datetime.now(UTC) + timedelta(seconds=daemon.rollup_delay))

    def alerts_job() -> None:
        send_pending_alerts(runtime)
        nxt = outbox.next_due_at(runtime.db())
        job = scheduler.get_job("alerts")
        if nxt and job is not None:
            due = datetime.fromisoformat(nxt.replace("Z", "+00:00"))
            if job.next_run_time and due < job.next_run_time:
                _wake(scheduler, "alerts", max(due, datetime.now(UTC) + timedelta(milliseconds=200)))

    for i, source in enumerate(s for s in runtime.config.sources if s.enabled):
        scheduler.add_job(poll_job, "interval", args=[source.id], id=f"poll:{source.id}",
                          name=f"poll {source.id}", seconds=source.interval,
                          jitter=min(daemon.jitter, source.interval / 4) or None,
                          next_run_time=now + timedelta(milliseconds=50 * i))
    scheduler.add_job(classify_job, "interval", id="classify", seconds=daemon.classify_interval,
                      next_run_time=now)
    scheduler.add_job(alerts_job, "interval", id="alerts", seconds=daemon.alerts_interval, next_run_time=now)
    # the Datasette charts read escalation_daily: refreshed shortly after each classification
    scheduler.add_job(update_rollup, "interval", args=[runtime], id="rollup", seconds=daemon.rollup_interval,
                      next_run_time=now)

    def on_event(event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its run time", event.job_id)
        else:
            log.error("job %s crashed: %r", event.job_id, event.exception, exc_info=event.exception)

    scheduler.add_listener(on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def run(runtime: Runtime) -> None:
    """Runs until SIGINT or SIGTERM; then lets in-flight jobs finish and returns."""
    recovered = outbox.recover_interrupted(runtime.db())
    if recovered:
        log.warning("%d alerts were being sent when the last run stopped; sending them again "
                    "with the same delivery ids", recovered)
    scheduler = build_scheduler(runtime)

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping after the jobs in flight", signal.Signals(signum).name)
        runtime.stop.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    enabled = sum(1 for s in runtime.config.sources if s.enabled)
    scheduler.start()
    log.info("monitor running: %d sources, database %s", enabled, runtime.config.monitor.database)
    while not runtime.stop.wait(1.0):
        pass
    scheduler.shutdown(wait=True)
    log.info("monitor stopped")
