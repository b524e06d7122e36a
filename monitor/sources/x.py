"""kind = "x": one account's timeline through the X API v2 (GET /2/users/:id/tweets).

The user id is looked up once and kept in the cursor. Each later poll asks for everything newer
than the oldest of the source's recent statements (`since_id`), so the same listing shows new
posts, edits (a new id whose `edit_history_tweet_ids` starts with the original) and which recent
posts vanished; a vanished post is confirmed with GET /2/tweets before it is marked deleted.
The bearer token travels only in the Authorization header and is scrubbed from every message.
"""

from __future__ import annotations

import json
from typing import Any

from monitor.config import SourceConfig
from monitor.errors import SourceChangedError, SourceError
from monitor.models import Cursor, PollResult, Statement
from monitor.sources.base import PollContext, dump_position, fetch_json, id_order, load_position
from monitor.text import clean_text, parse_iso

DEFAULT_API = "https://api.x.com"
TWEET_FIELDS = "created_at,lang,edit_history_tweet_ids,note_tweet,referenced_tweets,in_reply_to_user_id," \
               "conversation_id,author_id"
EXPANSIONS = "referenced_tweets.id,edit_history_tweet_ids"
WINDOW = 20  # recent statements re-read each poll, to see edits and deletions
MAX_PAGES = 20


def poll(ctx: PollContext, source: SourceConfig, cursor: Cursor | None) -> PollResult:
    """Polls the timeline; any error message has the bearer token removed."""
    token = source.bearer_token or ""
    if not token or any(c.isspace() or not c.isprintable() for c in token):
        raise SourceChangedError(source.id, "the X bearer token is empty or has characters a header cannot "
                                 "carry; set it with bearer_token = \"${X_BEARER_TOKEN}\"")
    try:
        return _poll(ctx, source, cursor, {"Authorization": f"Bearer {token}"})
    except SourceError as exc:
        if token in str(exc) or "HTTP 401" in str(exc):
            raise type(exc)(source.id, _scrub(str(exc).split(": ", 1)[-1], token), retry_after=exc.retry_after) \
                from None
        raise


def _scrub(message: str, token: str) -> str:
    message = message.replace(token, "[bearer token]")
    if "HTTP 401" in message:
        message += "; X refused the bearer token: check X_BEARER_TOKEN"
    return message


def _poll(ctx: PollContext, source: SourceConfig, cursor: Cursor | None, auth: dict[str, str]) -> PollResult:
    base = (source.api_base or DEFAULT_API).rstrip("/")
    handle = (source.handle or "").lstrip("@")
    state = load_position(cursor)
    if state.get("handle") != handle or not state.get("user_id"):
        state = {"handle": handle, "user_id": _user_id(ctx, source, base, handle, auth)}
    first = not state.get("filled")
    recent = [] if first else sorted(ctx.recent(), key=id_order)[-WINDOW:]
    since = recent[0] if recent else state.get("newest_id")
    params = {"max_results": str(min(100, max(5, source.backfill))) if first else "100",
              "tweet.fields": TWEET_FIELDS, "expansions": EXPANSIONS}
    excluded = [name for name, keep in (("replies", source.include_replies), ("retweets", source.include_reposts))
                if not keep]
    if excluded:
        params["exclude"] = ",".join(excluded)
    if since and not first:
        params["since_id"] = since
    posts, included = _pages(ctx, source, f"{base}/2/users/{state['user_id']}/tweets", params, auth,
                             limit=source.backfill if first else None)
    statements = [parse_post(p, included, source, handle) for p in posts]
    statements = [s for s in statements
                  if (source.include_replies or not s.is_reply) and (source.include_reposts or not s.is_repost)]
    if first:
        statements = statements[: source.backfill]
    listed = {s.external_id for s in statements} | {p["id"] for p in posts}
    vanished = [r for r in recent if since and id_order(r) > id_order(since) and r not in listed]
    deleted = _confirm_deleted(ctx, source, base, vanished, auth) if vanished else []
    ids = [p["id"] for p in posts] + ([state["newest_id"]] if state.get("newest_id") else [])
    state.update(filled=True, newest_id=max(ids, key=id_order) if ids else None)
    return PollResult(statements=tuple(statements), cursor=Cursor(position=dump_position(state)),
                      deleted=tuple(deleted))


def _user_id(ctx: PollContext, source: SourceConfig, base: str, handle: str, auth: dict[str, str]) -> str:
    body = fetch_json(ctx, source, f"{base}/2/users/by/username/{handle}", headers=auth)
    user = body.get("data") if isinstance(body, dict) else None
    if not isinstance(user, dict) or not user.get("id"):
        detail = _problem(body) or "no user in the answer"
        raise SourceChangedError(source.id, f"X user @{handle} not found ({detail}); check the handle")
    return str(user["id"])


def _problem(body: Any) -> str:
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("detail") or errors[0].get("title") or errors[0].get("message") or "")
    return ""


def _pages(ctx: PollContext, source: SourceConfig, url: str, params: dict[str, str], auth: dict[str, str],
           limit: int | None) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every page of the timeline (`pagination_token`), newest first, and the expanded posts by id."""
    posts: list[dict[str, Any]] = []
    included: dict[str, dict[str, Any]] = {}
    token: str | None = None
    for _ in range(MAX_PAGES):
        page = fetch_json(ctx, source, url, headers=auth,
                          params={**params, **({"pagination_token": token} if token else {})})
        if not isinstance(page, dict) or not isinstance(page.get("data", []), list) \
                or not isinstance(page.get("meta", {}), dict):
            raise SourceChangedError(source.id, f"GET {url}: layout changed: the answer has no 'data' list")
        if "data" not in page and "meta" not in page and page.get("errors"):
            raise SourceChangedError(source.id, f"GET {url}: X answered with an error: {_problem(page)}")
        posts += [p for p in page.get("data", []) if isinstance(p, dict) and p.get("id")]
        for extra in (page.get("includes") or {}).get("tweets", []):
            if isinstance(extra, dict) and extra.get("id"):
                included[str(extra["id"])] = extra
        token = page.get("meta", {}).get("next_token")
        if not token or (limit is not None and len(posts) >= limit):
            break
    return posts, included


def parse_post(post: dict[str, Any], included: dict[str, dict[str, Any]], source: SourceConfig,
               handle: str) -> Statement:
    """One timeline post as a statement; an edit keeps the id of the first version."""
    history = post.get("edit_history_tweet_ids") or [post["id"]]
    refs = {r.get("type"): str(r.get("id")) for r in post.get("referenced_tweets") or [] if isinstance(r, dict)}
    text = _full_text(post)
    if "retweeted" in refs and refs["retweeted"] in included:
        # a retweet's own text is cut short; the original carries the whole of it
        prefix = text.split(":", 1)[0] + ": " if text.startswith("RT @") and ":" in text else ""
        text = prefix + _full_text(included[refs["retweeted"]])
    lang = post.get("lang") if post.get("lang") not in (None, "und", "zxx", "qme", "qht") else None
    raw = {k: post.get(k) for k in ("id", "created_at", "edit_history_tweet_ids", "referenced_tweets",
                                    "in_reply_to_user_id", "conversation_id", "lang")}
    return Statement(
        source_id=source.id, external_id=str(history[0]), text=clean_text(text),
        url=f"https://x.com/{handle}/status/{post['id']}", actor=source.actor, author=f"@{handle}",
        lang=lang or source.lang, published_at=parse_iso(post.get("created_at")),
        is_reply="replied_to" in refs or bool(post.get("in_reply_to_user_id")),
        is_repost="retweeted" in refs, raw=json.dumps(raw, ensure_ascii=False))


def _full_text(post: dict[str, Any]) -> str:
    note = post.get("note_tweet")
    if isinstance(note, dict) and note.get("text"):
        return str(note["text"])  # a long post: `text` stops near 280 characters
    return str(post.get("text") or "")


def _confirm_deleted(ctx: PollContext, source: SourceConfig, base: str, ids: list[str],
                     auth: dict[str, str]) -> list[str]:
    """The ids that GET /2/tweets reports as not found (deleted); withheld or protected ones are not."""
    body = fetch_json(ctx, source, f"{base}/2/tweets", headers=auth,
                      params={"ids": ",".join(ids[:100]), "tweet.fields": "edit_history_tweet_ids"})
    if not isinstance(body, dict):
        return []
    found = {str(h) for p in body.get("data") or [] if isinstance(p, dict)
             for h in (p.get("edit_history_tweet_ids") or [p.get("id")])}
    missing = {str(e.get("resource_id") or e.get("value")) for e in body.get("errors") or []
               if isinstance(e, dict) and str(e.get("type", "")).endswith("resource-not-found")}
    return [i for i in ids if i in missing and i not in found]
