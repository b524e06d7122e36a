"""kind = "bluesky": app.bsky.feed.getAuthorFeed on a public AppView (no account needed).

The feed has no `since` parameter: a later poll reads pages (`cursor`) until it reaches what the
last poll saw. Post record keys are TIDs, which sort by time, so a recent post of the account
whose key lies inside the listed range and is missing from it is looked up with
app.bsky.feed.getPosts and marked deleted when the AppView no longer returns it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from monitor.config import SourceConfig
from monitor.errors import SourceChangedError
from monitor.models import Cursor, PollResult, Statement
from monitor.sources.base import PollContext, dump_position, fetch_json, load_position
from monitor.text import clean_text, parse_iso

DEFAULT_API = "https://public.api.bsky.app"
MAX_PAGES = 10
PAGE = 50


def poll(ctx: PollContext, source: SourceConfig, cursor: Cursor | None) -> PollResult:
    base = (source.api_base or DEFAULT_API).rstrip("/")
    url = f"{base}/xrpc/app.bsky.feed.getAuthorFeed"
    state = load_position(cursor)
    first = not state.get("filled")
    params = {"actor": (source.handle or "").lstrip("@"), "limit": str(min(100, source.backfill) if first else PAGE),
              "filter": "posts_with_replies" if source.include_replies else "posts_no_replies"}
    items: list[dict[str, Any]] = []
    page_cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = fetch_json(ctx, source, url, params={**params, **({"cursor": page_cursor} if page_cursor else {})})
        feed = page.get("feed") if isinstance(page, dict) else None
        if not isinstance(feed, list):
            raise SourceChangedError(source.id, f"GET {url}: layout changed: the answer has no 'feed' list")
        items += [i for i in feed if isinstance(i, dict) and isinstance(i.get("post"), dict)]
        page_cursor = page.get("cursor")
        if not page_cursor or not feed:
            break
        if first and len(items) >= source.backfill:
            break
        if not first and any(_seen_at(i) <= state.get("newest", "") for i in feed):
            break  # reached what the previous poll saw
    statements = [s for s in (parse_item(i, source) for i in items) if s is not None]
    if not source.include_reposts:
        statements = [s for s in statements if not s.is_repost]
    if first:
        statements = statements[: source.backfill]
    own = [i["post"] for i in items if not _is_repost(i)]
    did = state.get("did") or next((p.get("author", {}).get("did") for p in own), None)
    deleted = _deleted(ctx, source, base, own, ctx.recent() if not first else [], did)
    times = [_seen_at(i) for i in items] + [state.get("newest", "")]
    state.update(filled=True, newest=max(times), did=did)
    return PollResult(statements=tuple(statements), cursor=Cursor(position=dump_position(state)),
                      deleted=tuple(deleted))


def _is_repost(item: dict[str, Any]) -> bool:
    reason = item.get("reason")
    return isinstance(reason, dict) and str(reason.get("$type", "")).endswith("#reasonRepost")


def _seen_at(item: dict[str, Any]) -> str:
    """When the AppView indexed the item (the repost time for a repost): the order of the feed."""
    reason = item.get("reason") if _is_repost(item) else None
    return str((reason or {}).get("indexedAt") or item["post"].get("indexedAt") or "")


def rkey(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def parse_item(item: dict[str, Any], source: SourceConfig) -> Statement | None:
    """One feed item as a statement: a repost gets its own id, a post its at:// URI."""
    post = item["post"]
    record = post.get("record") if isinstance(post.get("record"), dict) else {}
    text = expand_links(str(record.get("text") or ""), record.get("facets") or [])
    if not text.strip() or not post.get("uri"):
        return None
    author = post.get("author") or {}
    handle = author.get("handle") or author.get("did") or ""
    repost = _is_repost(item)
    external_id = str(post["uri"])
    if repost:
        reason = item["reason"]
        by = (reason.get("by") or {}).get("did", "")
        external_id = str(reason.get("uri") or f"{post['uri']}#repost-by-{by}")
    langs = record.get("langs") or []
    raw = {"uri": post.get("uri"), "cid": post.get("cid"), "indexedAt": post.get("indexedAt"),
           "createdAt": record.get("createdAt"), "reason": item.get("reason")}
    return Statement(
        source_id=source.id, external_id=external_id, text=clean_text(text),
        url=f"https://bsky.app/profile/{handle}/post/{rkey(str(post['uri']))}", actor=source.actor,
        author=handle, lang=(langs[0].split("-")[0] if langs else None) or source.lang,
        published_at=parse_iso(record.get("createdAt") or post.get("indexedAt")),
        is_reply=bool(record.get("reply") or item.get("reply")), is_repost=repost,
        raw=json.dumps(raw, ensure_ascii=False))


def expand_links(text: str, facets: list[Any]) -> str:
    """Replaces shortened link text with the facet's full URL (facet offsets count UTF-8 bytes)."""
    data = text.encode("utf-8")
    links = []
    for facet in facets:
        index = facet.get("index") if isinstance(facet, dict) else None
        uri = next((f.get("uri") for f in facet.get("features", []) if isinstance(f, dict)
                    and str(f.get("$type", "")).endswith("#link")), None) if isinstance(facet, dict) else None
        if isinstance(index, dict) and uri and 0 <= index.get("byteStart", -1) < index.get("byteEnd", -1) <= len(data):
            links.append((index["byteStart"], index["byteEnd"], uri))
    for start, end, uri in sorted(links, reverse=True):
        data = data[:start] + uri.encode("utf-8") + data[end:]
    return data.decode("utf-8", errors="replace")


def _deleted(ctx: PollContext, source: SourceConfig, base: str, own: list[dict[str, Any]], recent: list[str],
             did: str | None) -> list[str]:
    """Recent posts of the account inside the listed range and missing from it, confirmed gone."""
    if not own or not did:
        return []
    listed = {str(p.get("uri")) for p in own}
    oldest = min(rkey(u) for u in listed)
    prefix = f"at://{did}/app.bsky.feed.post/"
    vanished = [u for u in recent if u.startswith(prefix) and u not in listed and rkey(u) > oldest][:25]
    if not vanished:
        return []
    url = f"{base}/xrpc/app.bsky.feed.getPosts?" + urlencode([("uris", u) for u in vanished])
    body = fetch_json(ctx, source, url)
    posts = body.get("posts") if isinstance(body, dict) else None
    if not isinstance(posts, list):
        raise SourceChangedError(source.id, f"GET {base}/xrpc/app.bsky.feed.getPosts: layout changed: "
                                 "the answer has no 'posts' list")
    found = {str(p.get("uri")) for p in posts if isinstance(p, dict)}
    return [u for u in vanished if u not in found]
