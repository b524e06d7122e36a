"""Fetch-and-parse, in the daemon's own threads or in worker processes.

`fetch_and_parse` is the part of a poll that needs no write access: the HTTP requests and the
parsing of what they return (feedparser, trafilatura, selectolax, JSON). The pipeline stores its
result. Python runs one thread at a time, so with hundreds of sources this part saturates one
core while the others idle; `PollWorkers` runs it in a pool of worker processes instead. Each
worker is single-threaded and waits on the network most of the time, hence several per core.

Workers start from a forkserver that has already imported the pollers, so a worker starts in
milliseconds and never inherits the daemon's threads or its SQLite connections. A worker that
dies (killed, out of memory) fails only the polls it had in flight; the pool is rebuilt and the
next poll of those sources runs as usual.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import httpx

from monitor.config import Config, SourceConfig
from monitor.errors import SourceError, SourceUnavailableError
from monitor.models import Cursor, PollResult
from monitor.sources import POLLERS, PollContext
from monitor.store import open_db
from monitor.store.statements import item_hash, recent_external_ids

log = logging.getLogger("monitor")

AUTO_MIN_SOURCES = 100
"""With `poll_processes = -1`, worker processes are used from this many enabled sources on."""
PER_CORE = 16
MAX_PROCESSES = 64


def fetch_and_parse(client: httpx.Client, db, config: Config, source: SourceConfig,  # type: ignore[no-untyped-def]
                    cursor: Cursor | None) -> PollResult:
    """Runs the source's poller; `db` answers what the store already has (read only)."""
    ctx = PollContext(client=client, max_bytes=config.http.max_body_bytes,
                      known=lambda external_id: item_hash(db, source.id, external_id),
                      recent=lambda: recent_external_ids(db, source.id))
    return POLLERS[source.kind](ctx, source, cursor)


def process_count(config: Config) -> int:
    """How many worker processes `[http] poll_processes` asks for (0: poll in-process)."""
    wanted = config.http.poll_processes
    if wanted >= 0:
        return wanted
    enabled = sum(1 for s in config.sources if s.enabled)
    cores = os.cpu_count() or 1
    return min(MAX_PROCESSES, PER_CORE * cores) if enabled >= AUTO_MIN_SOURCES and cores > 1 else 0


class WorkerCrashError(Exception):
    """An exception a worker could not send back as itself (kept as its type name and text)."""

    def __init__(self, kind: str, text: str) -> None:
        self.kind, self.text = kind, text
        super().__init__(f"{kind}: {text}")

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return type(self), (self.kind, self.text)


class PollWorkers:
    """A pool of worker processes running `fetch_and_parse`."""

    def __init__(self, config: Config, processes: int) -> None:
        self.config, self.processes = config, processes
        self._lock = threading.Lock()
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["monitor.workers"])
        return ProcessPoolExecutor(self.processes, mp_context=context, initializer=_start_worker,
                                   initargs=(self.config, os.getpid()))

    def warm(self, timeout: float = 60.0) -> set[int]:
        """Starts every worker now rather than on the first polls; returns their process ids."""
        with self._lock:
            executor = self._executor
        seen: set[int] = set()
        deadline = time.monotonic() + timeout
        while len(seen) < self.processes and time.monotonic() < deadline:
            seen.update(executor.map(_ready, [0.05] * self.processes))
        return seen

    def submit(self, source: SourceConfig, cursor: Cursor | None) -> Future[tuple[PollResult, float]]:
        """Hands the poll to a worker; the future gives (PollResult, seconds the worker took)."""
        with self._lock:
            executor = self._executor
        try:
            return executor.submit(_poll, source.id, cursor)
        except BrokenProcessPool:
            self._replace(executor)
            return failed_future(BrokenProcessPool("the pool of poll workers was broken"))

    def outcome(self, future: Future[tuple[PollResult, float]],
                source: SourceConfig) -> tuple[PollResult, float]:
        """The future's result; raises what the poller raised, or SourceUnavailableError when the
        worker died (the pool is then replaced, so the next poll runs in a new worker)."""
        try:
            return future.result()
        except BrokenProcessPool:
            with self._lock:
                executor = self._executor
            self._replace(executor)
            raise SourceUnavailableError(source.id, "the worker process polling it died; "
                                         "the next poll runs in a new one") from None

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken and getattr(broken, "_broken", True):
                log.error("a poll worker process died; starting a new pool")
                broken.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()

    def close(self) -> None:
        with self._lock:
            self._executor.shutdown(wait=True, cancel_futures=True)


def failed_future(exc: BaseException) -> Future[tuple[PollResult, float]]:
    """A future that has already failed with `exc`."""
    future: Future[tuple[PollResult, float]] = Future()
    future.set_exception(exc)
    return future


# --- inside a worker process -----------------------------------------------------------------

_worker: dict[str, object] = {}


def _start_worker(config: Config, daemon_pid: int) -> None:
    from monitor.http import make_client

    _worker["config"] = config
    _worker["client"] = make_client(config.http)
    threading.Thread(target=_exit_with, args=(daemon_pid,), name="watch-daemon", daemon=True).start()


def _exit_with(daemon_pid: int, every: float = 1.0) -> None:
    """Ends this worker once the daemon is gone. A daemon killed with SIGKILL cannot stop its
    workers, and a worker waiting for its next task would otherwise wait forever."""
    while True:
        time.sleep(every)
        try:
            os.kill(daemon_pid, 0)
        except (ProcessLookupError, PermissionError):  # gone, or the pid now is another user's
            os._exit(0)


def _ready(seconds: float) -> int:
    threading.Event().wait(seconds)  # long enough that every worker gets one
    return os.getpid()


def _poll(source_id: str, cursor: Cursor | None) -> tuple[PollResult, float]:
    start = time.monotonic()
    config = _worker["config"]
    assert isinstance(config, Config)
    if "db" not in _worker:
        _worker["db"] = open_db(config.monitor.database, migrate=False)
    try:
        result = fetch_and_parse(_worker["client"], _worker["db"], config,  # type: ignore[arg-type]
                                 config.source(source_id), cursor)
        return result, time.monotonic() - start
    except Exception as exc:  # SourceErrors travel as themselves; anything else as its name and text
        if isinstance(exc, SourceError):
            raise
        log.exception("source %r: internal error while polling", source_id)
        raise WorkerCrashError(type(exc).__name__, str(exc)) from None
