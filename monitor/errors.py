"""The one exception tree of the project.

    MonitorError                     base: caught at the shells (cli, daemon)
    ├── ConfigError                  bad or missing config or environment variable (fatal at start)
    ├── SourceError                  .source_id: one source failed; others go on
    │   ├── SourceUnavailableError   network, timeout, 429, 5xx: transient, the schedule retries
    │   └── SourceChangedError       other 4xx, unparseable or oversized body: needs a human
    ├── StoreError                   schema or migration problem
    ├── ClassifierError              model missing or broken
    └── DeliveryError                .channel: one channel failed; others go on
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class of every error the project raises on purpose."""


class ConfigError(MonitorError):
    """The configuration file or an environment variable it names is wrong."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems) if len(problems) < 2 else
                         "invalid configuration:\n  " + "\n  ".join(problems))


class SourceError(MonitorError):
    """One source could not be polled."""

    def __init__(self, source_id: str, message: str, *, retry_after: float | None = None) -> None:
        self.source_id, self.detail = source_id, message
        self.retry_after = retry_after
        super().__init__(f"source {source_id!r}: {message}")

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # pickled by the poll worker processes; the default would call __init__ with one argument
        return type(self), (self.source_id, self.detail), {"retry_after": self.retry_after}


class SourceUnavailableError(SourceError):
    """A transient failure: the next scheduled poll may succeed."""


class SourceChangedError(SourceError):
    """The source answered with something we cannot use: a person should look."""


class StoreError(MonitorError):
    """The database could not be opened or migrated."""


class ClassifierError(MonitorError):
    """The classifier model is missing or broken."""


class DeliveryError(MonitorError):
    """One channel could not deliver an alert."""

    def __init__(self, channel: str, message: str, *, retry_after: float | None = None) -> None:
        self.channel = channel
        self.retry_after = retry_after
        super().__init__(f"channel {channel!r}: {message}")
