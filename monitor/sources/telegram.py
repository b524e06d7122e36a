"""kind = "telegram": a public channel's web preview, `t.me/s/<channel>` (no API, no account).

The page lists about 20 messages, oldest first. The first poll pages back with `?before=<id>`
until it has `backfill` messages; later polls read the newest page. A recent message whose id lies
inside the page's range but is missing from it is looked up on its embed page
(`t.me/<channel>/<id>?embed=1`) and marked deleted when Telegram says the post is not found.
"""

from __future__ import annotations

import json
from typing import Any

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from monitor.config import SourceConfig
from monitor.errors import SourceChangedError
from monitor.models import Cursor, PollResult, Statement
from monitor.sources.base import PollContext, dump_position, fetch, is_block_page, layout_changed, load_position
from monitor.text import html_to_text, parse_iso

DEFAULT_BASE = "https://t.me"
MAX_PAGES = 10


def poll(ctx: PollContext, source: SourceConfig, cursor: Cursor | None) -> PollResult:
    base = (source.api_base or DEFAULT_BASE).rstrip("/")
    channel = (source.channel or "").lstrip("@")
    state = load_position(cursor)
    first = not state.get("filled")
    messages: list[dict[str, Any]] = []
    before: str | None = None
    for _ in range(MAX_PAGES if first else 1):
        page_messages, more = _page(ctx, source, f"{base}/s/{channel}", before)
        messages = page_messages + messages
        if not first or not more or len(messages) >= source.backfill or not page_messages:
            break
        before = more
    listed = {m["id"] for m in messages}
    statements = [_statement(m, source, base, channel) for m in reversed(messages) if m["text"]]
    if first:
        statements = statements[: source.backfill]
    deleted: list[str] = []
    if not first and messages:
        low, high = min(int(i) for i in listed), max(int(i) for i in listed)
        vanished = [r for r in ctx.recent() if r.isdigit() and low < int(r) < high and r not in listed]
        deleted = [r for r in vanished[:20] if _is_deleted(ctx, source, base, channel, r)]
    newest = max([int(i) for i in listed] + [int(state.get("newest", 0))])
    state.update(filled=True, newest=newest)
    return PollResult(statements=tuple(statements), cursor=Cursor(position=dump_position(state)),
                      deleted=tuple(deleted))


def _page(ctx: PollContext, source: SourceConfig, url: str,
          before: str | None) -> tuple[list[dict[str, Any]], str | None]:
    response = fetch(ctx, source, url, params={"before": before} if before else None)
    if "/s/" not in response.url.path:
        raise SourceChangedError(source.id, f"GET {url}: the channel has no public web preview "
                                 f"(redirected to {response.url}); it cannot be read without the Telegram API")
    content_type = response.headers.get("content-type", "")
    if is_block_page(response.content):
        raise SourceChangedError(source.id, f"GET {url}: blocked by the site's bot protection (challenge page)")
    if "html" not in content_type.lower():
        raise SourceChangedError(source.id, f"GET {url}: wrong content type {content_type or 'none'!r} "
                                 "where the channel page (HTML) was expected")
    return parse_page(response.text, source, url)


def parse_page(html: str, source: SourceConfig, url: str = "") -> tuple[list[dict[str, Any]], str | None]:
    """The page's messages, oldest first, and the `before` id of the older page (None at the start)."""
    if not html.rstrip().lower().endswith("</html>"):
        raise SourceChangedError(source.id, f"GET {url}: malformed or truncated page (no closing </html>)")
    tree = HTMLParser(html)
    nodes = tree.css("div.tgme_widget_message[data-post]")
    if not nodes and tree.css_first(".tgme_channel_history, .tgme_channel_info") is None:
        raise layout_changed(source, url, "no message (div.tgme_widget_message[data-post]) and no channel "
                                          "header on the page")
    more = tree.css_first("a.tme_messages_more[data-before]")
    return [_message(node) for node in nodes], (more.attributes.get("data-before") if more else None)


def _message(node: Node) -> dict[str, Any]:
    post = node.attributes.get("data-post") or ""
    # the reply preview has its own .tgme_widget_message_text (js-message_reply_text): never read it
    body = node.css_first(".tgme_widget_message_text.js-message_text")
    time = node.css_first("a.tgme_widget_message_date time[datetime]")
    meta = node.css_first(".tgme_widget_message_meta")
    author = node.css_first(".tgme_widget_message_owner_name, .tgme_widget_message_author_name")
    return {
        "id": post.rsplit("/", 1)[-1],
        "text": html_to_text(body.html or "") if body is not None else "",
        "datetime": time.attributes.get("datetime") if time is not None else None,
        "edited": meta is not None and "edited" in (meta.text() or "").lower(),
        "forwarded": node.css_first(".tgme_widget_message_forwarded_from") is not None,
        "reply_to": _reply_id(node),
        "author": author.text(strip=True) if author is not None else None,
    }


def _reply_id(node: Node) -> str | None:
    reply = node.css_first("a.tgme_widget_message_reply")
    if reply is None:
        return None
    return (reply.attributes.get("href") or "").rstrip("/").rsplit("/", 1)[-1] or "?"


def _statement(message: dict[str, Any], source: SourceConfig, base: str, channel: str) -> Statement:
    return Statement(
        source_id=source.id, external_id=message["id"], text=message["text"],
        url=f"{base}/{channel}/{message['id']}", actor=source.actor, author=message["author"],
        lang=source.lang, published_at=parse_iso(message["datetime"]),
        is_reply=message["reply_to"] is not None, is_repost=message["forwarded"],
        raw=json.dumps({k: v for k, v in message.items() if k != "text"}, ensure_ascii=False))


def _is_deleted(ctx: PollContext, source: SourceConfig, base: str, channel: str, message_id: str) -> bool:
    """The embed page of a deleted post shows an error block instead of the message."""
    response = fetch(ctx, source, f"{base}/{channel}/{message_id}", params={"embed": "1"}, allow=(404,))
    if response.status_code == 404:
        return True
    # only Telegram's own "not found" block counts: an unknown page must never delete anything
    return "tgme_widget_message_error" in response.text
