"""Every class of failure gets its own message, for every platform kind (httpx.MockTransport)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from monitor.config import SourceConfig
from monitor.errors import SourceChangedError, SourceUnavailableError
from monitor.sources import POLLERS
from monitor.sources.base import PollContext

SOURCES = {
    "x": SourceConfig(id="s", kind="x", actor="A", handle="h", bearer_token="tok-123", api_base="https://api.test"),
    "mastodon": SourceConfig(id="s", kind="mastodon", actor="A", handle="u@masto.test"),
    "bluesky": SourceConfig(id="s", kind="bluesky", actor="A", handle="h.bsky.social", api_base="https://bsky.test"),
    "telegram": SourceConfig(id="s", kind="telegram", actor="A", channel="c", api_base="https://t.test"),
    "html": SourceConfig(id="s", kind="html", actor="A", url="https://press.test/list", item_selector="div.item",
                         link_selector="a"),
    "federal_register": SourceConfig(id="s", kind="federal_register", actor="A", api_base="https://fr.test"),
}
JSON_KINDS = ("x", "mastodon", "bluesky", "federal_register")
CLOUDFLARE = (b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head><body>"
              b"<div class='cf-error-details'>Sorry, you have been blocked</div></body></html>")


def run(mock_client: Callable[..., httpx.Client], kind: str, handler: Callable[[httpx.Request], httpx.Response],
        max_bytes: int = 10_000_000) -> str:
    with pytest.raises((SourceChangedError, SourceUnavailableError)) as info:
        POLLERS[kind](PollContext(mock_client(handler), max_bytes=max_bytes), SOURCES[kind], None)
    assert "tok-123" not in str(info.value)
    return str(info.value)


def raise_(error: type) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("boom", request=request)
    return handler


CASES: list[tuple[str, Callable[[httpx.Request], httpx.Response], str]] = [
    ("timeout", raise_(httpx.ReadTimeout), "timed out"),
    ("refused", raise_(httpx.ConnectError), "connection failed"),
    ("4xx", lambda r: httpx.Response(404, json={"error": "Record not found"}), "client error (HTTP 404"),
    ("5xx", lambda r: httpx.Response(502, text="bad gateway"), "server error (HTTP 502)"),
    ("429", lambda r: httpx.Response(429, headers={"retry-after": "30"}), "rate limited (HTTP 429), retry after 30 s"),
    ("block page", lambda r: httpx.Response(403, content=CLOUDFLARE, headers={"content-type": "text/html"}),
     "blocked by the site's bot protection"),
    ("block page 200", lambda r: httpx.Response(200, content=CLOUDFLARE, headers={"content-type": "text/html"}),
     "blocked by the site's bot protection"),
    ("oversized", lambda r: httpx.Response(200, content=b"x" * 5000, headers={"content-type": "application/json"}),
     "oversized body"),
]


@pytest.mark.parametrize("kind", list(SOURCES))
@pytest.mark.parametrize("name, handler, text", CASES, ids=[c[0] for c in CASES])
def test_common_failure_classes(mock_client: Callable[..., httpx.Client], kind: str, name: str,
                                handler: Callable[[httpx.Request], httpx.Response], text: str) -> None:
    assert text in run(mock_client, kind, handler, max_bytes=1000)


@pytest.mark.parametrize("kind", JSON_KINDS)
def test_json_kinds_tell_malformed_wrong_type_and_layout_apart(mock_client: Callable[..., httpx.Client],
                                                                kind: str) -> None:
    truncated = run(mock_client, kind, lambda r: httpx.Response(
        200, content=b'{"data": [{"id": "1', headers={"content-type": "application/json"}))
    assert "malformed or truncated JSON body" in truncated
    html = run(mock_client, kind, lambda r: httpx.Response(200, text="<html><body>Hello</body></html>",
                                                           headers={"content-type": "text/html"}))
    assert "wrong content type 'text/html'" in html
    shape = run(mock_client, kind, lambda r: httpx.Response(200, json={"unexpected": True} if kind != "x" else
                                                            {"data": {"id": "1"}, "unexpected": True}))
    assert "layout changed" in shape or "not found" in shape


@pytest.mark.parametrize("kind", ("telegram", "html"))
def test_page_kinds_tell_truncated_wrong_type_and_layout_apart(mock_client: Callable[..., httpx.Client],
                                                                kind: str) -> None:
    cut = run(mock_client, kind, lambda r: httpx.Response(200, text="<html><body><div class='tgme_wid",
                                                          headers={"content-type": "text/html"}))
    assert "malformed or truncated page" in cut
    wrong = run(mock_client, kind, lambda r: httpx.Response(200, json={"a": 1}))
    assert "wrong content type 'application/json'" in wrong
    layout = run(mock_client, kind, lambda r: httpx.Response(200, text="<html><body><p>new site</p></body></html>",
                                                             headers={"content-type": "text/html"}))
    assert "layout changed" in layout
