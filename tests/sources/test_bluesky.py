"""kind = "bluesky" against a local AppView speaking app.bsky.feed.getAuthorFeed."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.pipeline import poll_source
from monitor.replay import LocalSite, Request, Response
from tests.sources.platforms import DID, OTHER_DID, bsky_item, json_response, rows, runtime_for

LINK = "https://x.com/petro_espejo/status/1981750571299803144"
SHORT = "x.com/petro_espejo/status/198175..."
TEXT = f"Declaración del presidente sobre las sanciones: {SHORT}"
START = len("Declaración del presidente sobre las sanciones: ".encode())
FEED = [
    bsky_item("3m3xc6dioas2f", TEXT, "2025-10-24T16:30:00.000Z", facets=[{
        "index": {"byteStart": START, "byteEnd": START + len(SHORT.encode())},
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": LINK}]}]),
    bsky_item("3m3xb2aaaaa2a", "Washington congela los bienes del mandatario.", "2025-10-24T15:00:00.000Z",
              langs=("es",), author=(OTHER_DID, "vigia-eeuu.bsky.social"), repost_by="2025-10-24T16:00:00.000Z"),
    bsky_item("3m3xa5bbbbb2a", "Y el canciller ya está en contacto con Washington.", "2025-10-24T14:00:00.000Z",
              reply=True),
    bsky_item("3m3x7ccccc22a", "Consejo de ministros esta noche.", "2025-10-22T21:30:00.000Z"),
]


class AppView:
    def __init__(self, site: LocalSite, feed: list[dict[str, Any]], page: int = 2) -> None:
        self.feed, self.page, self.gone = feed, page, set()  # type: set[str]
        site.routes["/xrpc/app.bsky.feed.getAuthorFeed"] = self.author_feed
        site.routes["/xrpc/app.bsky.feed.getPosts"] = self.get_posts

    def author_feed(self, request: Request) -> Response:
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        assert query["actor"] == "espejo-colombia.bsky.social"
        items = [i for i in self.feed if i["post"]["uri"] not in self.gone]
        start = int(query.get("cursor", 0))
        size = min(self.page, int(query["limit"]))
        body: dict[str, Any] = {"feed": items[start:start + size]}
        if start + size < len(items):
            body["cursor"] = str(start + size)
        return json_response(body)

    def get_posts(self, request: Request) -> Response:
        uris = parse_qs(urlsplit(request.path).query)["uris"]
        return json_response({"posts": [{"uri": u} for u in uris if u not in self.gone]})


SOURCE = ('[[sources]]\nid = "espejo-bsky"\nkind = "bluesky"\nhandle = "espejo-colombia.bsky.social"\n'
          'api_base = "{url}"\nactor = "Gustavo Petro"\ninterval = "1m"\n')


def test_cursor_pages_flags_links_and_full_urls(site: LocalSite, tmp_path: Path) -> None:
    AppView(site, FEED)
    runtime = runtime_for(tmp_path, SOURCE.format(url=site.url))
    assert len(poll_source(runtime, "espejo-bsky").new) == 4
    assert len(site.requests_to("/xrpc/app.bsky.feed.getAuthorFeed")) == 2
    stored = {r[0]: r[1:] for r in rows(runtime, "select external_id, text, url, is_reply, is_repost, lang "
                                                 "from statements")}
    first = stored[f"at://{DID}/app.bsky.feed.post/3m3xc6dioas2f"]
    assert first[0] == f"Declaración del presidente sobre las sanciones: {LINK}"
    assert first[1] == "https://bsky.app/profile/espejo-colombia.bsky.social/post/3m3xc6dioas2f"
    repost = stored[f"at://{DID}/app.bsky.feed.repost/3m3xb2aaaaa2ar"]
    assert repost[3] == 1 and repost[1] == "https://bsky.app/profile/vigia-eeuu.bsky.social/post/3m3xb2aaaaa2a"
    assert stored[f"at://{DID}/app.bsky.feed.post/3m3xa5bbbbb2a"][2] == 1


def test_later_polls_stop_at_what_was_seen_and_deletions_are_confirmed(site: LocalSite, tmp_path: Path) -> None:
    view = AppView(site, FEED, page=10)
    runtime = runtime_for(tmp_path, SOURCE.format(url=site.url))
    poll_source(runtime, "espejo-bsky")
    view.feed = [bsky_item("3m3xd7zzzzz2a", "Nueva declaración oficial.", "2025-10-24T18:00:00.000Z")] + FEED
    assert len(poll_source(runtime, "espejo-bsky").new) == 1
    gone = f"at://{DID}/app.bsky.feed.post/3m3xa5bbbbb2a"
    view.gone.add(gone)
    outcome = poll_source(runtime, "espejo-bsky")
    assert len(outcome.deleted) == 1
    assert rows(runtime, "select external_id from statements where deleted_at is not null") == [(gone,)]
    lookup = parse_qs(urlsplit(site.requests_to("/xrpc/app.bsky.feed.getPosts")[-1].path).query)
    assert lookup["uris"] == [gone]


def test_truncated_json_is_reported(site: LocalSite, tmp_path: Path) -> None:
    site.routes["/xrpc/app.bsky.feed.getAuthorFeed"] = lambda r: (
        200, {"Content-Type": "application/json"}, b'{"feed": [{"post": {"uri": "at://')
    error = poll_source(runtime_for(tmp_path, SOURCE.format(url=site.url)), "espejo-bsky").error
    assert error is not None and "malformed or truncated JSON body" in error
