"""Replays a bundled scenario as RSS feeds on a local HTTP server (for `make demo`, benchmarks and
tests): each item appears at its turn, article pages are served for summary-only items, and the
feeds answer conditional GETs with 304 like WordPress does."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Response = tuple[int, dict[str, str], bytes]
Handler = Callable[["Request"], Response]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: fifty clients connecting at once overflow it, and
    # the dropped SYNs are retried only after a second. Real servers accept far more.
    request_queue_size = 128


class LocalSite:
    """A threaded HTTP server on 127.0.0.1 whose routes are Python functions; it records requests."""

    def __init__(self, port: int = 0) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        site = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle's algorithm on, a keep-alive client
            # then waits ~40 ms for the delayed ACK before the body arrives.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                  self.rfile.read(length) if length else b"")
                with site.lock:
                    site.requests.append(request)
                handler = site.routes.get(self.path.split("?")[0])
                status, headers, body = handler(request) if handler else (404, {}, b"not found")
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    if "content-length" not in {k.lower() for k in headers}:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command != "HEAD" and status != 304:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", port), _Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> LocalSite:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> LocalSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_to(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path.split("?")[0] == path]


def conditional(request: Request, body: bytes, content_type: str, modified: datetime | None) -> Response:
    """200 with ETag and Last-Modified, or 304 when the client's validators match."""
    etag = '"' + hashlib.md5(body).hexdigest() + '"'
    last_modified = format_datetime(modified, usegmt=True) if modified else None
    headers = {"Content-Type": content_type, "ETag": etag, "Cache-Control": "max-age=0"}
    if last_modified:
        headers["Last-Modified"] = last_modified
    if request.headers.get("if-none-match") == etag:
        return 304, {"ETag": etag}, b""
    return 200, headers, body


@dataclass
class Item:
    feed: str
    guid: str
    title: str
    published: datetime
    summary: str
    content_html: str
    summary_only: bool = False
    official_link: str = ""


def rss_document(title: str, link: str, lang: str, items: list[Item], base_url: str) -> bytes:
    """A WordPress-shaped RSS 2.0 feed: dc:creator, pubDate, guid isPermaLink=false, CDATA
    description, and content:encoded unless the item is summary-only."""
    def cdata(text: str) -> str:
        return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"

    entries = []
    for item in sorted(items, key=lambda i: i.published, reverse=True):
        content = "" if item.summary_only else f"\n    <content:encoded>{cdata(item.content_html)}</content:encoded>"
        entries.append(
            f"  <item>\n    <title>{escape(item.title)}</title>\n"
            f"    <link>{base_url}/articles/{item.guid}</link>\n"
            f"    <dc:creator>{cdata(title)}</dc:creator>\n"
            f"    <pubDate>{format_datetime(item.published, usegmt=True)}</pubDate>\n"
            f"    <guid isPermaLink=\"false\">{escape(item.guid)}</guid>\n"
            f"    <description>{cdata(item.summary)}</description>{content}\n  </item>")
    newest = max((i.published for i in items), default=None)
    build = f"  <lastBuildDate>{format_datetime(newest, usegmt=True)}</lastBuildDate>\n" if newest else ""
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\" "
            "xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" "
            "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n"
            f"<channel>\n  <title>{escape(title)}</title>\n  <link>{escape(link)}</link>\n"
            f"  <description>{escape(title)}</description>\n{build}  <language>{lang}</language>\n"
            + "\n".join(entries) + "\n</channel>\n</rss>\n").encode("utf-8")


def article_page(item: Item) -> bytes:
    """An article page with site chrome around the text, as a real newsroom page has."""
    source = f"<p>Official source: {escape(item.official_link)}</p>" if item.official_link else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(item.title)}</title>"
            "<script>window.analytics = {};</script></head><body>"
            "<nav><a href='/'>Home</a> | <a href='/news'>News</a> | <a href='/contact'>Contact</a></nav>"
            f"<main><article><h1>{escape(item.title)}</h1>{item.content_html}{source}</article></main>"
            "<footer>Privacy policy · Accessibility · Site map</footer></body></html>").encode()


class Replay:
    """Feeds of a scenario on a LocalSite, revealing one more item every `step` seconds. An edit
    shows `edit_delay` steps after its original, so a poller sees both versions."""

    def __init__(self, scenario: dict[str, Any], site: LocalSite, step: float = 1.0,
                 start: float | None = None, edit_delay: int = 4) -> None:
        self.meta, self.site, self.step, self.edit_delay = scenario["feeds"], site, step, edit_delay
        self.items = sorted((_item(raw) for raw in scenario["items"]), key=lambda i: i.published)
        self.edits = [(_item({**self._original(e["guid"]), **e}), e["guid"]) for e in scenario.get("edits", [])]
        self.start = time.time() if start is None else start
        for feed in self.meta:
            site.routes[f"/feeds/{feed}.xml"] = self._feed_handler(feed)
        for item in self.items:
            site.routes[f"/articles/{item.guid}"] = self._article_handler(item.guid)

    def _original(self, guid: str) -> dict[str, Any]:
        for item in self.items:
            if item.guid == guid:
                return {**item.__dict__, "published": item.published.isoformat()}
        raise KeyError(guid)

    def revealed(self, now: float | None = None) -> list[Item]:
        """Items visible at `now`, with edits applied once their own time has come."""
        elapsed = (time.time() if now is None else now) - self.start
        count = int(elapsed / self.step) + 1 if self.step > 0 else len(self.items)
        visible = {i.guid: i for i in self.items[:min(count, len(self.items))]}
        positions = {item.guid: n for n, item in enumerate(self.items)}
        for edited, guid in self.edits:
            if guid in visible and (self.step <= 0 or count > positions[guid] + self.edit_delay):
                visible[guid] = Item(**{**edited.__dict__, "published": visible[guid].published})
        return list(visible.values())

    @property
    def finished_at(self) -> float:
        return self.start + self.step * (len(self.items) + self.edit_delay)

    def _feed_handler(self, feed: str) -> Handler:
        def handle(request: Request) -> Response:
            items = [i for i in self.revealed() if i.feed == feed]
            meta = self.meta[feed]
            body = rss_document(meta["title"], meta["link"], meta.get("lang", "en"), items, self.site.url)
            return conditional(request, body, "application/rss+xml; charset=UTF-8",
                               max((i.published for i in items), default=None))
        return handle

    def _article_handler(self, guid: str) -> Handler:
        def handle(request: Request) -> Response:
            for item in self.revealed():
                if item.guid == guid:
                    return 200, {"Content-Type": "text/html; charset=utf-8"}, article_page(item)
            return 404, {"Content-Type": "text/plain"}, b"not found"
        return handle


def _item(raw: dict[str, Any]) -> Item:
    published = raw["published"]
    if isinstance(published, str):
        published = datetime.fromisoformat(published.replace("Z", "+00:00"))
    return Item(feed=raw["feed"], guid=raw["guid"], title=raw["title"], published=published,
                summary=raw.get("summary", ""), content_html=raw.get("content_html", ""),
                summary_only=bool(raw.get("summary_only")), official_link=raw.get("link", raw.get("official_link", "")))


def load_scenario(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
