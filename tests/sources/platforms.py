"""Documents in each platform's documented shape, with texts written for these tests, and a
pipeline runtime over a temporary database. See ../shared/reference/source-formats.md."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.cli import build_runtime
from monitor.config import load_config
from monitor.pipeline import Runtime
from monitor.replay import Response
from monitor.store.state import sync_sources
from tests.helpers import write_config

JSON = {"Content-Type": "application/json; charset=utf-8"}


def json_response(body: Any, status: int = 200, **headers: str) -> Response:
    return status, {**JSON, **headers}, json.dumps(body, ensure_ascii=False).encode()


def html_response(body: str, status: int = 200) -> Response:
    return status, {"Content-Type": "text/html; charset=utf-8"}, body.encode()


def runtime_for(tmp_path: Path, sources: str, channels: str = "", rules: str = "") -> Runtime:
    """A runtime whose database is migrated and knows the sources, as `monitor run` makes it."""
    config = load_config(write_config(tmp_path, sources=sources, channels=channels, rules=rules), environ={})
    runtime = build_runtime(config)
    db = runtime.db(migrate=True)
    sync_sources(db, config.sources)
    return runtime


def rows(runtime: Runtime, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in runtime.db().execute(sql, params or [])]


# --- X API v2 -------------------------------------------------------------------------------

def snowflake(moment: str) -> str:
    """An X id that encodes `moment` the way X ids do."""
    ms = int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)
    return str((ms - 1288834974657) << 22)


def tweet(moment: str, text: str, *, history: list[str] | None = None, note: str | None = None,
          refs: list[tuple[str, str]] | None = None, lang: str = "es", reply_to_user: str | None = None,
          id: str | None = None) -> dict[str, Any]:
    tweet_id = id or snowflake(moment)
    post: dict[str, Any] = {"edit_history_tweet_ids": history or [tweet_id], "id": tweet_id, "text": text,
                            "created_at": moment.replace("Z", ".000Z"), "author_id": "900100", "lang": lang,
                            "conversation_id": tweet_id}
    if note:
        post["note_tweet"] = {"text": note}
    if refs:
        post["referenced_tweets"] = [{"type": t, "id": i} for t, i in refs]
    if reply_to_user:
        post["in_reply_to_user_id"] = reply_to_user
    return post


def timeline(posts: list[dict[str, Any]], next_token: str | None = None,
             included: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if not posts:
        return {"meta": {"result_count": 0}}
    meta: dict[str, Any] = {"result_count": len(posts), "newest_id": posts[0]["id"], "oldest_id": posts[-1]["id"]}
    if next_token:
        meta["next_token"] = next_token
    body: dict[str, Any] = {"data": posts, "meta": meta}
    if included:
        body["includes"] = {"tweets": included}
    return body


# --- Mastodon / Truth Social ----------------------------------------------------------------

def status(id: str, moment: str, html: str, *, lang: str | None = "es", reply_to: str | None = None,
           reblog: dict[str, Any] | None = None, edited_at: str | None = None, spoiler: str = "",
           acct: str = "comunicados") -> dict[str, Any]:
    url = f"https://mastodon.example/@{acct}/{id}"
    return {"id": id, "created_at": moment, "in_reply_to_id": reply_to,
            "in_reply_to_account_id": "1" if reply_to else None, "sensitive": bool(spoiler), "spoiler_text": spoiler,
            "visibility": "public", "language": None if reblog else lang,
            "uri": url + ("/activity" if reblog else ""), "url": url + ("/activity" if reblog else ""),
            "replies_count": 0, "reblogs_count": 0, "favourites_count": 0, "edited_at": edited_at,
            "content": "" if reblog else html, "reblog": reblog,
            "account": {"id": "109862388527368000", "username": acct, "acct": acct},
            "media_attachments": [], "mentions": [], "tags": [], "emojis": [], "card": None, "poll": None}


# --- Bluesky --------------------------------------------------------------------------------

DID = "did:plc:k4x2mirrorvw7q3ehtzfbn5c"
OTHER_DID = "did:plc:u7wq0therpz3mm2fyt6xkeab"


def bsky_item(rkey: str, text: str, indexed: str, *, langs: tuple[str, ...] = ("es",), reply: bool = False,
              repost_by: str | None = None, author: tuple[str, str] = (DID, "espejo-colombia.bsky.social"),
              facets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    did, handle = author
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text, "createdAt": indexed,
                              "langs": list(langs)}
    if facets:
        record["facets"] = facets
    parent = {"uri": f"at://{did}/app.bsky.feed.post/3m3aaaaaaaa2a", "cid": "bafyreiparent"}
    if reply:
        record["reply"] = {"root": parent, "parent": parent}
    item: dict[str, Any] = {"post": {
        "uri": f"at://{did}/app.bsky.feed.post/{rkey}", "cid": f"bafyrei{rkey}",
        "author": {"did": did, "handle": handle, "displayName": handle.split(".")[0]},
        "record": record, "replyCount": 0, "repostCount": 0, "likeCount": 0, "quoteCount": 0,
        "indexedAt": indexed, "labels": []}}
    if repost_by:
        item["reason"] = {"$type": "app.bsky.feed.defs#reasonRepost", "indexedAt": repost_by,
                          "by": {"did": DID, "handle": "espejo-colombia.bsky.social"},
                          "uri": f"at://{DID}/app.bsky.feed.repost/{rkey}r", "cid": "bafyreirepost"}
    if reply:
        item["reply"] = {"root": {"$type": "app.bsky.feed.defs#postView", **parent},
                         "parent": {"$type": "app.bsky.feed.defs#postView", **parent}}
    return item


# --- Telegram -------------------------------------------------------------------------------

def tg_message(channel: str, id: int, html: str, moment: str, *, edited: bool = False,
               reply_to: tuple[int, str] | None = None, forwarded: str | None = None) -> str:
    reply = (f'<a class="tgme_widget_message_reply" href="https://t.me/{channel}/{reply_to[0]}">'
             f'<span class="tgme_widget_message_author_name">Canal</span>'
             f'<div class="tgme_widget_message_text js-message_reply_text" dir="auto">{reply_to[1]}</div></a>'
             if reply_to else "")
    forward = (f'<div class="tgme_widget_message_forwarded_from">Forwarded from '
               f'<a class="tgme_widget_message_forwarded_from_name" href="https://t.me/x">{forwarded}</a></div>'
               if forwarded else "")
    return (f'<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message '
            f'text_not_supported_wrap js-widget_message" data-post="{channel}/{id}">'
            f'<div class="tgme_widget_message_bubble">{forward}{reply}'
            f'<div class="tgme_widget_message_text js-message_text" dir="auto">{html}</div>'
            f'<div class="tgme_widget_message_footer compact js-message_footer">'
            f'<span class="tgme_widget_message_views">1.2K</span><span class="tgme_widget_message_meta">'
            f'{"edited " if edited else ""}<a class="tgme_widget_message_date" href="https://t.me/{channel}/{id}">'
            f'<time datetime="{moment}" class="time">15:10</time></a></span></div></div></div></div>')


def tg_page(channel: str, messages: list[str], before: int | None) -> str:
    more = (f'<div class="tgme_widget_message_centered js-messages_more_wrap"><a href="/s/{channel}?before={before}" '
            f'class="tme_messages_more js-messages_more" data-before="{before}"></a></div>' if before else "")
    return (f'<!DOCTYPE html><html><head><title>Canal</title></head><body><div class="tgme_channel_info">'
            f'<div class="tgme_channel_info_header_title"><span>Espejo</span></div></div>'
            f'<section class="tgme_channel_history js-message_history">{more}{"".join(messages)}</section>'
            f'</body></html>')


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
