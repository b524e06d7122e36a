"""kind = "html": a press-release list page read with CSS selectors, each new article's text
extracted with trafilatura.

The list page is fetched with a conditional GET; each item's link is its external id, and only
links the store has never seen are fetched. Selectors that match nothing are a "layout changed"
error, never an empty success.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from urllib.parse import urljoin

import httpx
import trafilatura
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from monitor.config import SourceConfig
from monitor.errors import SourceChangedError, SourceError
from monitor.models import Cursor, PollResult, Statement
from monitor.sources.base import (
    PollContext,
    conditional_headers,
    cursor_from,
    dump_position,
    fetch,
    is_block_page,
    layout_changed,
    load_position,
    not_modified,
)
from monitor.sources.dates import parse_date
from monitor.text import article_text, clean_text, html_to_text

ARTICLE_FETCHES = 4
"""Article pages of one source fetched at once."""


def poll(ctx: PollContext, source: SourceConfig, cursor: Cursor | None) -> PollResult:
    assert source.url is not None
    state = load_position(cursor)
    response = fetch(ctx, source, source.url, headers=conditional_headers(cursor) if state else None)
    if response.status_code == 304:
        return not_modified(cursor)
    items = parse_list(_html(source, response), source, str(response.url))
    if not state.get("filled"):
        items = items[: source.backfill]
    fresh = [item for item in items if ctx.known(item.external_id) is None]  # seen ones: never again
    # a few article pages at once, as a browser would: a first fill of 50 pages one by one takes
    # 50 round trips
    with ThreadPoolExecutor(max_workers=max(1, min(ARTICLE_FETCHES, len(fresh)))) as pool:
        statements = list(pool.map(lambda item: _with_article(ctx, source, item), fresh))
    return PollResult(statements=tuple(statements),
                      cursor=cursor_from(response, cursor, dump_position({"filled": True})))


def _html(source: SourceConfig, response: httpx.Response) -> str:
    content_type, body, url = response.headers.get("content-type", ""), response.content, response.url
    if not body.strip():
        raise SourceChangedError(source.id, f"GET {url}: empty response body where the list page was expected")
    if is_block_page(body):
        raise SourceChangedError(source.id, f"GET {url}: blocked by the site's bot protection (challenge page)")
    if "html" not in content_type.lower():
        raise SourceChangedError(source.id, f"GET {url}: wrong content type {content_type or 'none'!r} "
                                 "where an HTML list page was expected")
    return response.text


def parse_list(html: str, source: SourceConfig, url: str) -> list[Statement]:
    """The page's items in page order, each with link, title, date and listing text."""
    tree = HTMLParser(html)
    nodes = tree.css(source.item_selector or "")
    if not nodes:
        detail = f"item_selector {source.item_selector!r} matched nothing"
        if not html.rstrip().lower().endswith("</html>"):
            raise SourceChangedError(source.id, f"GET {url}: malformed or truncated page ({detail}, and the "
                                     "document ends before </html>)")
        raise layout_changed(source, url, detail)
    items, seen = [], set()
    for node in nodes:
        link = node.css_first(source.link_selector or "")
        href = (link.attributes.get("href") or "").strip() if link is not None else ""
        if not href or href.startswith(("#", "javascript:")):
            continue
        absolute = urljoin(url, href)
        if absolute in seen:
            continue
        seen.add(absolute)
        title = _text(node.css_first(source.title_selector)) if source.title_selector else ""
        title = title or _text(link)
        published = _date(node.css_first(source.date_selector)) if source.date_selector else None
        summary = html_to_text(node.html or "")
        digest = hashlib.sha256(json.dumps([title, absolute], ensure_ascii=False).encode()).hexdigest()
        items.append(Statement(source_id=source.id, external_id=absolute, text=summary, url=absolute,
                               title=title or None, actor=source.actor, lang=source.lang, published_at=published,
                               item_hash=digest, raw=json.dumps({"listing": summary[:2000]}, ensure_ascii=False)))
    if not items:
        raise layout_changed(source, url, f"link_selector {source.link_selector!r} matched no link inside the "
                                          f"{len(nodes)} items")
    return items


def _text(node: Node | None) -> str:
    return clean_text(node.text(separator=" ")) if node is not None else ""


def _date(node: Node | None) -> datetime | None:
    if node is None:
        return None
    inner = node.css_first("time[datetime]")
    stamp = node.attributes.get("datetime") or (inner.attributes.get("datetime") if inner is not None else None)
    return parse_date(stamp) or parse_date(node.text(separator=" "))


def extract_article(html: str, url: str | None = None) -> str:
    """The main text of an article page: trafilatura first, our own reader when it finds nothing."""
    text = trafilatura.extract(html, url=url, include_comments=False, include_tables=True,
                               favor_precision=True, deduplicate=True, fast=True) or ""
    return clean_text(text) or article_text(html)


def _with_article(ctx: PollContext, source: SourceConfig, item: Statement) -> Statement:
    """The item with its article text; when the page fails the listing text stays and the item is
    fetched again next poll (no item hash)."""
    assert item.url is not None
    try:
        page = fetch(ctx, source, item.url)
    except SourceError:
        return Statement(**{**item.__dict__, "item_hash": None})
    text = extract_article(page.text, item.url)
    if not text:
        return item
    published = item.published_at
    if published is None:
        meta = trafilatura.extract_metadata(page.text)
        published = parse_date(meta.date) if meta is not None and meta.date else None
    return Statement(**{**item.__dict__, "text": text, "published_at": published})
