"""Plain data passed between the stages. No I/O and no imports from monitor.*."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

STANCES = ("escalatory", "de-escalatory", "neutral")
TOPICS = ("sanctions", "trade", "aid", "drugs", "military", "diplomacy", "legal", "migration", "other")
ALERT_KINDS = ("new", "edited", "deleted")
MESSAGE_KINDS = ALERT_KINDS + ("digest", "notice")
"""What a channel may be asked to send: an alert of one of ALERT_KINDS, a digest, or a notice
about the monitor itself (a channel failing or back)."""


@dataclass(frozen=True)
class Statement:
    """One post or press release, normalised to plain text, as a source served it."""

    source_id: str
    external_id: str
    text: str
    url: str | None = None
    title: str | None = None
    actor: str | None = None
    author: str | None = None
    lang: str | None = None
    published_at: datetime | None = None
    is_reply: bool = False
    is_repost: bool = False
    raw: str | None = None
    item_hash: str | None = None
    """Hash of the item as the listing showed it; lets a poller skip refetching known pages."""


@dataclass(frozen=True)
class Cursor:
    """What a source remembers between polls: validators and a position."""

    etag: str | None = None
    last_modified: str | None = None
    position: str | None = None


@dataclass(frozen=True)
class PollResult:
    """What one poll returned: the statements it saw (new or not) and the next cursor."""

    statements: tuple[Statement, ...]
    cursor: Cursor
    not_modified: bool = False
    deleted: tuple[str, ...] = ()
    """External ids of statements the platform confirmed deleted (a direct lookup found nothing)."""


@dataclass(frozen=True)
class Classification:
    """Stance, topics, escalation score and cues of one text by one model."""

    stance: str
    stance_scores: dict[str, float]
    topics: tuple[str, ...]
    escalation_score: float
    escalation: bool
    cues: tuple[str, ...]
    model: str


@dataclass(frozen=True)
class StoredStatement:
    """A statement as the store holds it, with its row id and its current classification."""

    id: int
    source_id: str
    external_id: str
    text: str
    url: str | None
    title: str | None
    actor: str | None
    lang: str | None
    published_at: str | None
    fetched_at: str
    edited_at: str | None = None
    deleted_at: str | None = None
    classification: Classification | None = None
    country: str | None = None


@dataclass(frozen=True)
class Alert:
    """One row of the outbox, with the statement it is about."""

    id: int
    delivery_id: str
    rule: str
    channel: str
    kind: str
    attempts: int
    statement: StoredStatement
    previous_text: str | None = None
    thread_id: str | None = None
    """The delivery id of the first alert about this statement, for threading follow-ups."""
    thread_ref: str | None = None
    """The channel's own id of that first message (a Slack `ts`), when the channel returned one."""
    digest: tuple[StoredStatement, ...] = ()
    """For kind `digest`: every statement of the period, oldest first."""
    period: str | None = None
    """For kind `digest`: the end of the period, as a UTC ISO time."""


@dataclass(frozen=True)
class Delivery:
    """The outcome of one send: accepted, or failed with a reason and maybe a wait."""

    ok: bool
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False
    extra: dict[str, str] = field(default_factory=dict)
