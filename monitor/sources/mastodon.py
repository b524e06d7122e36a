"""kind = "mastodon": an account's statuses through the Mastodon API; Truth Social speaks the same API.

The account id is looked up once (`/api/v1/accounts/lookup?acct=`) and kept in the cursor. An edit
keeps the status id and changes `edited_at`, which `since_id` alone never returns, so each poll
re-reads the recent window: `since_id` is the oldest of the source's recent statements, and the
`Link: rel="next"` pages are followed down to it. A recent status missing from that listing is
looked up (`/api/v1/statuses/:id`) and marked deleted only on a 404 or 410.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from monitor.config import SourceConfig
from monitor.errors import SourceChangedError
from monitor.models import Cursor, PollResult, Statement
from monitor.sources.base import PollContext, decode_json, dump_position, fetch, fetch_json, id_order, load_position
from monitor.text import html_to_text, parse_iso

WINDOW = 20
PAGE = 40  # the API's maximum `limit`
MAX_PAGES = 20


def split_handle(handle: str) -> tuple[str, str]:
    """("user", "server") from "user@server" or "@user@server"."""
    user, _, server = handle.lstrip("@").partition("@")
    return user, server


def poll(ctx: PollContext, source: SourceConfig, cursor: Cursor | None) -> PollResult:
    user, server = split_handle(source.handle or "")
    if not user or not (server or source.api_base):
        raise SourceChangedError(source.id, f"handle {source.handle!r} must be user@server (or set api_base)")
    base = (source.api_base or f"https://{server}").rstrip("/")
    state = load_position(cursor)
    if state.get("handle") != source.handle or not state.get("account_id"):
        state = {"handle": source.handle, "account_id": _account_id(ctx, source, base, user, server)}
    first = not state.get("filled")
    recent = [] if first else sorted(ctx.recent(), key=id_order)[-WINDOW:]
    since = recent[0] if recent else state.get("newest_id")
    params = {"limit": str(min(PAGE, source.backfill)) if first else str(PAGE)}
    if not source.include_replies:
        params["exclude_replies"] = "true"
    if not source.include_reposts:
        params["exclude_reblogs"] = "true"
    if since and not first:
        params["since_id"] = since
    url = f"{base}/api/v1/accounts/{state['account_id']}/statuses?{urlencode(params)}"
    statuses = _pages(ctx, source, url, since if not first else None, source.backfill if first else None)
    statements = [s for s in (parse_status(x, source) for x in statuses) if s is not None]
    if first:
        statements = statements[: source.backfill]
    listed = {str(x.get("id")) for x in statuses}
    vanished = [r for r in recent if since and id_order(r) > id_order(since) and r not in listed]
    deleted = [r for r in vanished if _is_deleted(ctx, source, f"{base}/api/v1/statuses/{r}")]
    ids = [str(x["id"]) for x in statuses] + ([state["newest_id"]] if state.get("newest_id") else [])
    state.update(filled=True, newest_id=max(ids, key=id_order) if ids else None)
    return PollResult(statements=tuple(statements), cursor=Cursor(position=dump_position(state)),
                      deleted=tuple(deleted))


def _account_id(ctx: PollContext, source: SourceConfig, base: str, user: str, server: str) -> str:
    same_server = not server or urlsplit(base).hostname == server
    acct = user if same_server else f"{user}@{server}"
    body = fetch_json(ctx, source, f"{base}/api/v1/accounts/lookup", params={"acct": acct})
    if not isinstance(body, dict) or not body.get("id"):
        raise SourceChangedError(source.id, f"account {acct!r} not found on {base}; check the handle")
    return str(body["id"])


def _pages(ctx: PollContext, source: SourceConfig, url: str, since: str | None,
           limit: int | None) -> list[dict[str, Any]]:
    """Statuses newest first, following `Link: rel="next"` while pages come back full."""
    statuses: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        response = fetch(ctx, source, url, headers={"Accept": "application/json"})
        page = decode_json(source, response, "a list of statuses")
        if not isinstance(page, list):
            raise SourceChangedError(source.id, f"GET {url.split('?')[0]}: layout changed: expected a list of "
                                     f"statuses, got {type(page).__name__}")
        statuses += [x for x in page if isinstance(x, dict) and x.get("id")]
        following = response.links.get("next", {}).get("url")
        if not page or not following or (limit is not None and len(statuses) >= limit):
            break
        url = _with_since(following, since)
    return statuses


def _with_since(url: str, since: str | None) -> str:
    """The server copies only `limit` and filters into its links; keep our lower bound too."""
    if since is None:
        return url
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    query.setdefault("since_id", [since])
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))


def parse_status(status: dict[str, Any], source: SourceConfig) -> Statement | None:
    """One status (or boost) as a statement; None for a status with no text at all (media only)."""
    reblog = status.get("reblog") if isinstance(status.get("reblog"), dict) else None
    shown = reblog or status
    text = html_to_text(shown.get("content") or "")
    warning = (shown.get("spoiler_text") or "").strip() or None
    if not text and not warning:
        return None
    account = shown.get("account") or {}
    raw = {k: status.get(k) for k in ("id", "created_at", "edited_at", "in_reply_to_id", "url", "uri",
                                      "language", "version")}
    raw["reblog_id"] = reblog.get("id") if reblog else None
    return Statement(
        source_id=source.id, external_id=str(status["id"]), text=text, title=warning,
        url=shown.get("url") or shown.get("uri"), actor=source.actor,
        author=account.get("acct") if isinstance(account, dict) else None,
        lang=shown.get("language") or source.lang,
        published_at=parse_iso(status.get("created_at")),
        is_reply=status.get("in_reply_to_id") is not None, is_repost=reblog is not None,
        raw=json.dumps(raw, ensure_ascii=False))


def _is_deleted(ctx: PollContext, source: SourceConfig, url: str) -> bool:
    """A direct lookup: 404 or 410 means deleted; any other failure raises and decides nothing."""
    return fetch(ctx, source, url, headers={"Accept": "application/json"}, allow=(404, 410)).status_code in (404, 410)
