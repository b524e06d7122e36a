from collections.abc import Callable

import httpx
import pytest

from monitor.config import SourceConfig
from monitor.errors import SourceChangedError, SourceUnavailableError
from monitor.models import Cursor
from monitor.sources import rss
from monitor.sources.base import PollContext
from tests.helpers import FIXTURES

URL = "https://www.example.gov/rss-feed/press-releases/feed/"
Client = Callable[[Callable[[httpx.Request], httpx.Response]], httpx.Client]


def source(**extra: object) -> SourceConfig:
    return SourceConfig(id="press", kind="rss", actor="Ministry", url=URL, **extra)  # type: ignore[arg-type]


def feed_response(name: str = "wordpress_press.xml", **headers: str) -> httpx.Response:
    return httpx.Response(200, content=(FIXTURES / "rss" / name).read_bytes(),
                          headers={"content-type": "application/rss+xml; charset=UTF-8", **headers})


def test_poll_returns_items_newest_first_with_clean_text(mock_client: Client) -> None:
    client = mock_client(lambda r: feed_response(etag='"a1"', **{"last-modified": "Fri, 24 Oct 2025 20:11:30 GMT"}))
    result = rss.poll(PollContext(client), source(), None)
    first = result.statements[0]
    assert [s.external_id for s in result.statements] == [
        "https://www.example.gov/?p=700101", "https://www.example.gov/?p=700088", "https://www.example.gov/?p=700070"]
    assert first.title == "Sanctions on Officials Who Obstructed Counternarcotics Cooperation"
    assert first.text.startswith("WASHINGTON — Today the Department imposed sanctions")
    assert "alert(" not in first.text and "<" not in first.text
    assert first.published_at is not None and first.published_at.isoformat() == "2025-10-24T20:11:30+00:00"
    assert first.lang == "en" and first.actor == "Ministry"
    assert result.cursor == Cursor(etag='"a1"', last_modified="Fri, 24 Oct 2025 20:11:30 GMT",
                                   position="https://www.example.gov/?p=700101")


def test_conditional_get_sends_validators_and_304_costs_nothing(mock_client: Client) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(304)

    cursor = Cursor(etag='"a1"', last_modified="Fri, 24 Oct 2025 20:11:30 GMT", position="x")
    result = rss.poll(PollContext(mock_client(handler)), source(), cursor)
    assert result.not_modified and result.statements == () and result.cursor == cursor
    assert seen[0].headers["if-none-match"] == '"a1"'
    assert seen[0].headers["if-modified-since"] == "Fri, 24 Oct 2025 20:11:30 GMT"
    assert seen[0].headers["user-agent"].startswith("statement-monitor/")


def test_first_poll_keeps_only_backfill_items(mock_client: Client) -> None:
    result = rss.poll(PollContext(mock_client(lambda r: feed_response())), source(backfill=2), None)
    assert len(result.statements) == 2
    later = rss.poll(PollContext(mock_client(lambda r: feed_response())), source(backfill=2), result.cursor)
    assert len(later.statements) == 3


@pytest.mark.parametrize("name, expected", [("govuk.atom", "Statement on the maritime incident in the strait"),
                                            ("rdf.xml", "Minister meets visiting trade delegation")])
def test_atom_and_rss1(mock_client: Client, name: str, expected: str) -> None:
    result = rss.poll(PollContext(mock_client(lambda r: feed_response(name))), source(), None)
    assert result.statements[0].title == expected and result.statements[0].published_at is not None


def test_declared_latin1_encoding_is_decoded(mock_client: Client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=(FIXTURES / "rss" / "latin1.xml").read_bytes(),
                              headers={"content-type": "application/xml"})
    statement = rss.poll(PollContext(mock_client(handler)), source(), None).statements[0]
    assert statement.title == "Comunicado sobre la sanción impuesta al presidente"
    assert "República" in statement.text and statement.lang == "es"


def test_summary_only_items_get_the_article_text(mock_client: Client) -> None:
    page = (FIXTURES / "rss" / "newsroom_page.html").read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/feed/"):
            return feed_response()
        return httpx.Response(200, content=page, headers={"content-type": "text/html"})

    result = rss.poll(PollContext(mock_client(handler)), source(fetch_full_text=True), None)
    by_id = {s.external_id: s for s in result.statements}
    assert "reciprocal tariffs of 25 per cent" in by_id["https://www.example.gov/?p=700088"].text
    assert by_id["https://www.example.gov/?p=700101"].text.startswith("WASHINGTON")  # had content:encoded


def test_known_unchanged_summary_items_are_not_fetched_again(mock_client: Client) -> None:
    fetched: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        fetched.append(request.url.path)
        if request.url.path.endswith("/feed/"):
            return feed_response()
        return httpx.Response(200, content=b"<html><body><p>page</p></body></html>")

    first = rss.poll(PollContext(mock_client(handler)), source(fetch_full_text=True), None)
    hashes = {s.external_id: s.item_hash for s in first.statements}
    fetched.clear()
    again = rss.poll(PollContext(mock_client(handler), known=hashes.get), source(fetch_full_text=True), first.cursor)
    assert fetched == ["/rss-feed/press-releases/feed/"]
    assert [s.external_id for s in again.statements] == ["https://www.example.gov/?p=700101"]


def raises(mock_client: Client, handler: Callable[[httpx.Request], httpx.Response], error: type, text: str,
           max_bytes: int = 10_000_000) -> None:
    with pytest.raises(error) as info:
        rss.poll(PollContext(mock_client(handler), max_bytes=max_bytes), source(), None)
    assert text in str(info.value) and "source 'press'" in str(info.value)


def test_timeout(mock_client: Client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)
    raises(mock_client, handler, SourceUnavailableError, "timed out")


def test_refused_connection(mock_client: Client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
    raises(mock_client, handler, SourceUnavailableError, "connection failed")


@pytest.mark.parametrize("status, error, text", [
    (404, SourceChangedError, "client error (HTTP 404"), (410, SourceChangedError, "HTTP 410"),
    (500, SourceUnavailableError, "server error (HTTP 500)"), (503, SourceUnavailableError, "HTTP 503")])
def test_http_errors(mock_client: Client, status: int, error: type, text: str) -> None:
    raises(mock_client, lambda r: httpx.Response(status, text="nope"), error, text)


def test_429_carries_retry_after(mock_client: Client) -> None:
    with pytest.raises(SourceUnavailableError) as info:
        rss.poll(PollContext(mock_client(lambda r: httpx.Response(429, headers={"retry-after": "120"}))),
                 source(), None)
    assert info.value.retry_after == 120 and "rate limited (HTTP 429), retry after 120 s" in str(info.value)


def test_cloudflare_challenge_is_reported_as_bot_protection(mock_client: Client) -> None:
    page = (FIXTURES / "rss" / "cloudflare.html").read_bytes()
    raises(mock_client, lambda r: httpx.Response(403, content=page, headers={"content-type": "text/html"}),
           SourceChangedError, "blocked by the site's bot protection")
    raises(mock_client, lambda r: httpx.Response(200, content=page, headers={"content-type": "text/html"}),
           SourceChangedError, "blocked by the site's bot protection")


def test_truncated_feed(mock_client: Client) -> None:
    raises(mock_client, lambda r: feed_response("truncated.xml"), SourceChangedError, "malformed or truncated feed")


def test_html_instead_of_a_feed(mock_client: Client) -> None:
    page = (FIXTURES / "rss" / "newsroom_page.html").read_bytes()
    raises(mock_client, lambda r: httpx.Response(200, content=page, headers={"content-type": "text/html"}),
           SourceChangedError, "wrong content type (text/html)")


def test_empty_body(mock_client: Client) -> None:
    raises(mock_client, lambda r: httpx.Response(200, content=b""), SourceChangedError, "empty response body")


def test_oversized_body_is_refused_while_streaming(mock_client: Client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(b"<rss>" + b"x" * 5000))
    raises(mock_client, handler, SourceChangedError, "oversized body (over 1,000 bytes)", max_bytes=1000)
