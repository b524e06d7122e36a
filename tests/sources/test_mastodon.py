"""kind = "mastodon" (and Truth Social) against a local server speaking the Mastodon API."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.pipeline import poll_source
from monitor.replay import LocalSite, Request, Response
from tests.helpers import ROOT
from tests.sources.platforms import html_response, json_response, rows, runtime_for, status

BOOSTED = status("115429729902197935", "2025-10-24T14:58:20.118Z",
                 "<p>Washington anuncia sanciones contra altos funcionarios colombianos. "
                 "<a href=\"https://mastodon.example/tags/sanciones\" class=\"mention hashtag\" rel=\"tag\">"
                 "#<span>Sanciones</span></a></p>", acct="vigia")
STATUSES = [
    status("115430129887626700", "2025-10-24T16:40:03.412Z", "", reblog=BOOSTED),
    status("115430000000000000", "2025-10-24T16:07:00.000Z",
           "<p>La Cancillería rechaza la medida<br>y anuncia una nota de protesta.</p>"
           "<script>alert(1)</script>"),
    status("115429900000000000", "2025-10-24T15:41:00.000Z", "<p>Seguimos: el embajador viaja a Bogotá.</p>",
           reply_to="115429800000000000"),
    status("115429800000000000", "2025-10-24T15:15:00.000Z", "<p>Embajador llamado a consultas.</p>"),
    status("115429700000000000", "2025-10-24T14:51:00.000Z", "<p>Mensaje con aviso.</p>", spoiler="Política"),
    status("115429600000000000", "2025-10-24T14:20:00.000Z", "<p>Calendario de la semana.</p>", lang="en"),
]


class MastodonServer:
    def __init__(self, site: LocalSite, statuses: list[dict[str, Any]], limit_cap: int = 4) -> None:
        self.site, self.statuses, self.limit_cap, self.gone = site, statuses, limit_cap, set()  # type: set[str]
        self.blocked = False
        site.routes["/api/v1/accounts/lookup"] = self.lookup
        site.routes["/api/v1/accounts/109862388527368000/statuses"] = self.list
        for s in statuses:
            site.routes[f"/api/v1/statuses/{s['id']}"] = self.one

    def lookup(self, request: Request) -> Response:
        assert parse_qs(urlsplit(request.path).query)["acct"] == ["comunicados@mastodon.example"]
        return json_response({"id": "109862388527368000", "username": "comunicados", "acct": "comunicados"})

    def list(self, request: Request) -> Response:
        if self.blocked:
            return 403, {"Content-Type": "text/html"}, (ROOT / "tests" / "fixtures" / "rss" /
                                                        "cloudflare.html").read_bytes()
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        items = [s for s in self.statuses if s["id"] not in self.gone]
        if query.get("exclude_replies") == "true":
            items = [s for s in items if s["in_reply_to_id"] is None]
        if query.get("exclude_reblogs") == "true":
            items = [s for s in items if s["reblog"] is None]
        for key, keep in (("since_id", lambda i, v: int(i) > int(v)), ("max_id", lambda i, v: int(i) < int(v))):
            if key in query:
                items = [s for s in items if keep(s["id"], query[key])]
        limit = min(int(query.get("limit", 20)), self.limit_cap)
        page = items[:limit]
        path = f"{self.site.url}/api/v1/accounts/109862388527368000/statuses?limit={limit}"
        links = []
        if len(page) == limit:
            links.append(f'<{path}&max_id={page[-1]["id"]}>; rel="next"')
        if page:
            links.append(f'<{path}&min_id={page[0]["id"]}>; rel="prev"')
        return json_response(page, **({"Link": ", ".join(links)} if links else {}))

    def one(self, request: Request) -> Response:
        status_id = request.path.split("?")[0].rsplit("/", 1)[-1]
        if status_id in self.gone:
            return json_response({"error": "Record not found"}, 404)
        return json_response(next(s for s in self.statuses if s["id"] == status_id))


def source(site: LocalSite, **extra: str) -> str:
    lines = "\n".join(f"{k} = {v}" for k, v in extra.items())
    return (f'[[sources]]\nid = "cancilleria-masto"\nkind = "mastodon"\nhandle = "comunicados@mastodon.example"\n'
            f'api_base = "{site.url}"\nactor = "Cancillería"\ncountry = "CO"\ninterval = "1m"\n{lines}\n')


def test_first_poll_follows_link_pages_and_reduces_html(site: LocalSite, tmp_path: Path) -> None:
    MastodonServer(site, STATUSES)
    runtime = runtime_for(tmp_path, source(site, user_agent='"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"'))
    assert len(poll_source(runtime, "cancilleria-masto").new) == 6
    stored = {r[0]: r[1:] for r in rows(runtime, "select external_id, text, is_reply, is_repost, title, lang, url "
                                                 "from statements")}
    assert stored["115430000000000000"][0].split() == "La Cancillería rechaza la medida y anuncia una nota de " \
        "protesta.".split()  # <br> kept as a line break, the script dropped
    boost = stored["115430129887626700"]
    assert boost[0].startswith("Washington anuncia sanciones") and "#Sanciones" in boost[0] and boost[2] == 1
    assert boost[5] == "https://mastodon.example/@vigia/115429729902197935"
    assert stored["115429900000000000"][1] == 1 and stored["115429700000000000"][3] == "Política"
    assert stored["115429600000000000"][4] == "en"
    pages = site.requests_to("/api/v1/accounts/109862388527368000/statuses")
    assert len(pages) == 2 and "max_id=" in pages[1].path
    assert all(r.headers["user-agent"].startswith("Mozilla/5.0") for r in site.requests)


def test_exclude_options_are_sent(site: LocalSite, tmp_path: Path) -> None:
    MastodonServer(site, STATUSES, limit_cap=40)
    runtime = runtime_for(tmp_path, source(site, include_replies="false", include_reposts="false"))
    poll_source(runtime, "cancilleria-masto")
    query = parse_qs(urlsplit(site.requests_to("/api/v1/accounts/109862388527368000/statuses")[0].path).query)
    assert query["exclude_replies"] == ["true"] and query["exclude_reblogs"] == ["true"]
    assert rows(runtime, "select sum(is_reply), sum(is_repost), count(*) from statements") == [(0, 0, 4)]


def test_an_edit_of_a_known_status_is_a_new_version_and_a_deletion_is_confirmed(site: LocalSite,
                                                                                 tmp_path: Path) -> None:
    server = MastodonServer(site, [dict(s) for s in STATUSES], limit_cap=40)
    runtime = runtime_for(tmp_path, source(site))
    poll_source(runtime, "cancilleria-masto")
    server.statuses[3].update(content="<p>Embajador llamado a consultas de inmediato.</p>",
                              edited_at="2025-10-24T16:50:00.000Z")
    outcome = poll_source(runtime, "cancilleria-masto")
    assert len(outcome.edited) == 1 and outcome.new == ()
    later = parse_qs(urlsplit(site.requests_to("/api/v1/accounts/109862388527368000/statuses")[-1].path).query)
    assert later["since_id"] == ["115429600000000000"]  # re-reads the recent window, not just what is newer
    assert rows(runtime, "select max(v.version) from statement_versions v join statements s on s.id = v.statement_id "
                         "where s.external_id = '115429800000000000'") == [(2,)]
    server.gone.add("115430000000000000")
    outcome = poll_source(runtime, "cancilleria-masto")
    assert len(outcome.deleted) == 1
    assert rows(runtime, "select external_id from statements where deleted_at is not null") == \
        [("115430000000000000",)]
    assert site.requests_to("/api/v1/statuses/115430000000000000")


def test_a_cloudflare_page_is_reported_as_bot_protection(site: LocalSite, tmp_path: Path) -> None:
    server = MastodonServer(site, STATUSES)
    runtime = runtime_for(tmp_path, source(site))
    server.blocked = True
    error = poll_source(runtime, "cancilleria-masto").error
    assert error is not None and "blocked by the site's bot protection (HTTP 403)" in error
    assert rows(runtime, "select last_error from source_state where source_id = 'cancilleria-masto'") == [(error,)]


def test_429_uses_the_iso_reset_header(site: LocalSite, tmp_path: Path) -> None:
    site.routes["/api/v1/accounts/lookup"] = lambda r: json_response(
        {"error": "Too many requests"}, 429, **{"x-ratelimit-reset": "2099-01-01T00:00:00.000Z"})
    error = poll_source(runtime_for(tmp_path, source(site)), "cancilleria-masto").error
    assert error is not None and "rate limited (HTTP 429), retry after" in error


def test_truth_social_reads_the_same_api(site: LocalSite, tmp_path: Path) -> None:
    site.routes["/api/v1/accounts/lookup"] = lambda r: json_response({"id": "107780257626128497",
                                                                      "username": "realDonaldTrump"})
    truth = status("116731447139970106", "2025-10-19T20:10:00.000Z",
                   "<p>THE PAYMENTS STOP TODAY. A DEAL IS STILL POSSIBLE, BUT NOT ON THESE TERMS!</p>", lang="en",
                   acct="realDonaldTrump")
    truth["version"] = "1"
    site.routes["/api/v1/accounts/107780257626128497/statuses"] = lambda r: json_response([truth])
    config = source(site).replace("comunicados@mastodon.example", "realDonaldTrump@truthsocial.com")
    runtime = runtime_for(tmp_path, config)
    assert len(poll_source(runtime, "cancilleria-masto").new) == 1
    assert parse_qs(urlsplit(site.requests_to("/api/v1/accounts/lookup")[0].path).query)["acct"] == \
        ["realDonaldTrump@truthsocial.com"]


def test_html_where_json_was_expected(site: LocalSite, tmp_path: Path) -> None:
    site.routes["/api/v1/accounts/lookup"] = lambda r: html_response("<html><body>Maintenance</body></html>")
    error = poll_source(runtime_for(tmp_path, source(site)), "cancilleria-masto").error
    assert error is not None and "wrong content type 'text/html" in error
