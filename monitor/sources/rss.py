"""kind = "rss": RSS 0.9x/1.0/2.0 and Atom press-release feeds, parsed from bytes: well-formed RSS 2.0
and Atom by the lxml fast path (feedxml), everything else by feedparser."""

from __future__ import annotations

import calendar
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import feedparser

from monitor.config import SourceConfig
from monitor.errors import SourceChangedError, SourceError
from monitor.models import Cursor, PollResult, Statement
from monitor.sources import feedxml
from monitor.sources.base import PollContext, conditional_headers, cursor_from, fetch, is_block_page, not_modified
from monitor.text import article_text, html_to_text

_FEED_TYPES = ("xml", "rss", "atom", "rdf")


def poll(ctx: PollContext, source: SourceConfig, cursor: Cursor | None) -> PollResult:
    """Conditional GET of the feed; returns every item it lists (the store drops known ones)."""
    assert source.url is not None
    response = fetch(ctx, source, source.url, headers=conditional_headers(cursor))
    if response.status_code == 304:
        return not_modified(cursor)
    content_type = response.headers.get("content-type", "")
    entries = parse_feed(response.content, source, content_type=content_type, url=str(response.url))
    if cursor is None or cursor.position is None:
        entries = entries[: source.backfill]
    statements = []
    for entry in entries:
        statement = _to_statement(entry, source)
        if source.fetch_full_text and _is_summary_only(entry):
            if ctx.known(statement.external_id) == statement.item_hash:
                continue
            statement = _with_full_text(ctx, source, statement)
        statements.append(statement)
    newest = statements[0].external_id if statements else (cursor.position if cursor else None)
    return PollResult(statements=tuple(statements), cursor=cursor_from(response, cursor, newest or ""))


def parse_feed(content: bytes, source: SourceConfig, *, content_type: str = "application/rss+xml",
               url: str | None = None) -> list[Any]:
    """The feed's entries, newest first; raises SourceChangedError for what is not a feed."""
    if not content.strip():
        raise SourceChangedError(source.id, "empty response body where a feed was expected")
    if is_block_page(content):
        raise SourceChangedError(source.id, "blocked by the site's bot protection (challenge page)")
    if _is_truncated(content):
        raise SourceChangedError(source.id, "malformed or truncated feed: the document ends before its "
                                 "closing tag")
    fast = feedxml.parse(content, url or source.url)
    if fast is not None:
        entries, feed_lang = fast
    else:
        entries, feed_lang = _feedparser_entries(content, source, content_type, url)
    lang = (feed_lang or "").split("-")[0].lower() or None
    for entry in entries:
        entry.setdefault("feed_language", lang)
    entries.sort(key=lambda e: _timestamp(e) or 0, reverse=True)
    return entries


def _feedparser_entries(content: bytes, source: SourceConfig, content_type: str,
                        url: str | None) -> tuple[list[Any], str | None]:
    """What feedparser makes of a feed the fast path left to it (any version, encoding or damage)."""
    parsed = feedparser.parse(content, response_headers={"content-type": content_type or "application/xml",
                                                         "content-location": url or source.url or ""})
    if not parsed.entries:
        if parsed.get("bozo") and not parsed.get("version"):
            kind = "wrong content type" if "html" in content_type and "xml" not in content_type else \
                "malformed or truncated feed"
            raise SourceChangedError(source.id, f"{kind} ({content_type or 'no content type'}): "
                                     f"{_bozo_message(parsed)}")
        if not parsed.get("version"):
            raise SourceChangedError(source.id, f"not an RSS or Atom feed ({content_type or 'no content type'})")
    return list(parsed.entries), parsed.feed.get("language")


_CLOSING = (b"</rss>", b"</feed>", b"</rdf:rdf>", b"</channel>")


def _is_truncated(content: bytes) -> bool:
    """An XML feed whose end is cut off: feedparser would recover half an item from it."""
    tail = content.rstrip()[-64:].lower()
    head = content.lstrip()[:512].lower()
    looks_xml = head.startswith(b"<?xml") or b"<rss" in head or b"<feed" in head or b"<rdf" in head
    return looks_xml and not any(tail.endswith(tag) for tag in _CLOSING)


def _get(entry: Any, key: str, default: Any = None) -> Any:
    """A field as parsed, without feedparser's deprecated updated->published fallback."""
    return dict.get(entry, key, default)


def _bozo_message(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    return f"{type(exc).__name__}: {exc}" if exc else "unparseable"


def _timestamp(entry: Any) -> float | None:
    moment = _get(entry, "published_parsed") or _get(entry, "updated_parsed")
    return calendar.timegm(moment) if moment else None


def _is_summary_only(entry: Any) -> bool:
    return not entry.get("content") and bool(entry.get("link"))


def _to_statement(entry: Any, source: SourceConfig) -> Statement:
    body_html = entry["content"][0].get("value", "") if entry.get("content") else entry.get("summary", "")
    title = html_to_text(entry.get("title", "")) or None
    link = entry.get("link")
    external_id = entry.get("id") or link or hashlib.sha256(
        f"{title}\n{body_html}".encode()).hexdigest()[:32]
    stamp = _timestamp(entry)
    text = html_to_text(body_html)
    # of the text, not the markup: the fast path and feedparser (which rewrites markup) agree on it
    item_hash = hashlib.sha256(json.dumps([title, link, text], ensure_ascii=False).encode()).hexdigest()
    raw = {k: _get(entry, k) for k in ("id", "link", "title", "published", "updated", "author", "tags")}
    return Statement(
        source_id=source.id, external_id=str(external_id), text=text, url=link,
        title=title, actor=source.actor, author=entry.get("author"),
        lang=source.lang or _language(entry) or entry.get("feed_language"),
        published_at=datetime.fromtimestamp(stamp, UTC) if stamp else None,
        raw=json.dumps(raw, ensure_ascii=False, default=str), item_hash=item_hash,
    )


def _language(entry: Any) -> str | None:
    detail = entry.get("title_detail") or entry.get("summary_detail") or {}
    lang = detail.get("language") if hasattr(detail, "get") else None
    return lang.split("-")[0].lower() if lang else None


def _with_full_text(ctx: PollContext, source: SourceConfig, statement: Statement) -> Statement:
    """Replaces a summary with the article page's text; keeps the summary if the page fails."""
    assert statement.url is not None
    try:
        page = fetch(ctx, source, statement.url)
    except SourceError:
        return Statement(**{**statement.__dict__, "item_hash": None})
    text = article_text(page.text)
    return Statement(**{**statement.__dict__, "text": text}) if len(text) > len(statement.text) else statement
