"""What every poller shares: the Poller protocol, the poll context and one GET that turns every
class of HTTP failure into a SourceError with its own clear message."""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from monitor.config import SourceConfig
from monitor.errors import SourceChangedError, SourceUnavailableError
from monitor.http import BodyTooLargeError, get_limited
from monitor.models import Cursor, PollResult

_BLOCK_MARKERS = re.compile(
    rb"(cf-chl|challenge-platform|Just a moment\.\.\.|Attention Required! \| Cloudflare|"
    rb"cf-browser-verification|_Incapsula_Resource|Access Denied</title>|px-captcha)", re.I)


@dataclass(frozen=True)
class PollContext:
    """What a poller may use: the shared client, the body limit, and what the store already has."""

    client: httpx.Client
    max_bytes: int = 10_000_000
    known: Callable[[str], str | None] = lambda external_id: None
    """Returns the stored item hash of an external id, or None for a statement never seen."""
    recent: Callable[[], list[str]] = list
    """External ids of the source's newest stored statements not marked deleted (for deletion checks)."""


class Poller(Protocol):
    def __call__(self, ctx: PollContext, source: SourceConfig, cursor: Cursor | None) -> PollResult: ...


def conditional_headers(cursor: Cursor | None) -> dict[str, str]:
    """If-None-Match / If-Modified-Since from the stored validators (RFC 9110 allows both)."""
    headers = {}
    if cursor and cursor.etag:
        headers["If-None-Match"] = cursor.etag
    if cursor and cursor.last_modified:
        headers["If-Modified-Since"] = cursor.last_modified
    return headers


def is_block_page(body: bytes) -> bool:
    """True when the body is a bot-protection challenge (Cloudflare, Incapsula, PerimeterX)."""
    return bool(_BLOCK_MARKERS.search(body[:20000]))


def retry_after_seconds(response: httpx.Response, now: datetime | None = None) -> float | None:
    """Seconds to wait from Retry-After (seconds or HTTP date) or x-rate-limit-reset (epoch)."""
    value = response.headers.get("retry-after")
    now = now or datetime.now(UTC)
    if value:
        if value.strip().isdigit():
            return float(value.strip())
        try:
            return max(0.0, (email.utils.parsedate_to_datetime(value) - now).total_seconds())
        except (TypeError, ValueError):
            return None
    for name in ("x-rate-limit-reset", "x-ratelimit-reset"):
        reset = response.headers.get(name, "").strip()
        if reset.isdigit():  # X: Unix epoch seconds
            return max(0.0, int(reset) - now.timestamp())
        if reset:  # Mastodon and Truth Social: an ISO 8601 time
            try:
                moment = datetime.fromisoformat(reset.replace("Z", "+00:00"))
            except ValueError:
                continue
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            return max(0.0, (moment - now).total_seconds())
    return None


def fetch(ctx: PollContext, source: SourceConfig, url: str, *, headers: dict[str, str] | None = None,
          params: dict[str, str] | None = None, allow: tuple[int, ...] = ()) -> httpx.Response:
    """GET `url` for `source`; returns a 2xx, 304 or `allow`ed response, raises SourceError otherwise."""
    if source.user_agent:
        headers = {**(headers or {}), "User-Agent": source.user_agent}
    try:
        response = get_limited(ctx.client, url, max_bytes=ctx.max_bytes, headers=headers, params=params)
    except httpx.TimeoutException as exc:
        raise SourceUnavailableError(source.id, f"GET {url}: timed out ({type(exc).__name__})") from exc
    except httpx.ConnectError as exc:
        raise SourceUnavailableError(source.id, f"GET {url}: connection failed ({exc})") from exc
    except BodyTooLargeError as exc:
        raise SourceChangedError(source.id, f"GET {url}: oversized body (over {exc.limit:,} bytes)") from exc
    except httpx.HTTPError as exc:
        raise SourceUnavailableError(source.id, f"GET {url}: {type(exc).__name__}: {exc}") from exc
    status = response.status_code
    if status == 304 or response.is_success or status in allow:
        return response
    if status in (403, 429, 503) and is_block_page(response.content):
        raise SourceChangedError(source.id, f"GET {url}: blocked by the site's bot protection (HTTP {status})")
    if status == 429:
        wait = retry_after_seconds(response)
        raise SourceUnavailableError(source.id, f"GET {url}: rate limited (HTTP 429)"
                                     + (f", retry after {wait:.0f} s" if wait is not None else ""),
                                     retry_after=wait)
    if status >= 500:
        raise SourceUnavailableError(source.id, f"GET {url}: server error (HTTP {status}), will retry")
    raise SourceChangedError(source.id, f"GET {url}: client error (HTTP {status} {response.reason_phrase})")


def cursor_from(response: httpx.Response, previous: Cursor | None, position: str | None = None) -> Cursor:
    """The next cursor: new validators when the server sent them, the old ones otherwise."""
    return Cursor(
        etag=response.headers.get("etag") or (previous.etag if previous else None),
        last_modified=response.headers.get("last-modified") or (previous.last_modified if previous else None),
        position=position if position is not None else (previous.position if previous else None),
    )


def not_modified(cursor: Cursor | None) -> PollResult:
    return PollResult(statements=(), cursor=cursor or Cursor(), not_modified=True)


def fetch_json(ctx: PollContext, source: SourceConfig, url: str, *, headers: dict[str, str] | None = None,
               params: dict[str, str] | None = None, what: str = "JSON") -> Any:
    """GET `url` and decode its JSON body; a block page, HTML, an empty or cut-off body each raise
    SourceChangedError with their own message."""
    response = fetch(ctx, source, url, headers={"Accept": "application/json", **(headers or {})}, params=params)
    return decode_json(source, response, what)


def decode_json(source: SourceConfig, response: httpx.Response, what: str = "JSON") -> Any:
    """The JSON of a 2xx response, with the failure classes told apart."""
    body, content_type = response.content, response.headers.get("content-type", "")
    where = f"GET {_shown(response)}"
    if is_block_page(body):
        raise SourceChangedError(source.id, f"{where}: blocked by the site's bot protection (challenge page, "
                                 f"HTTP {response.status_code})")
    if not body.strip():
        raise SourceChangedError(source.id, f"{where}: empty response body where {what} was expected")
    if "json" not in content_type.lower():
        raise SourceChangedError(source.id, f"{where}: wrong content type {content_type or 'none'!r} "
                                 f"where {what} was expected")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceChangedError(source.id, f"{where}: malformed or truncated JSON body ({exc})") from None


def _shown(response: httpx.Response) -> str:
    """The URL without its query string: short, and never carries credentials."""
    return str(response.url.copy_with(query=None))


def layout_changed(source: SourceConfig, url: str, detail: str) -> SourceChangedError:
    """The page parsed but the expected elements are gone: the site changed its markup."""
    return SourceChangedError(source.id, f"GET {url}: layout changed: {detail}; check the selectors")


def load_position(cursor: Cursor | None) -> dict[str, Any]:
    """The JSON state a poller keeps in Cursor.position; {} for none or a foreign value."""
    if cursor is None or not cursor.position:
        return {}
    try:
        value = json.loads(cursor.position)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def dump_position(state: dict[str, Any]) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


def id_order(value: str) -> tuple[int, str]:
    """Sort key for platform ids (X, Mastodon, Telegram): numeric order for decimal strings."""
    return len(value), value
