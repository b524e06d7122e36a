"""kind = "telegram" against a local server serving t.me/s/<channel> preview pages."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from monitor.pipeline import poll_source
from monitor.replay import LocalSite, Request, Response
from tests.sources.platforms import html_response, rows, runtime_for, tg_message, tg_page

CH = "espejo_cancilleria"
NEWER = [
    tg_message(CH, 1204, "El Gobierno <b>rechaza</b> la designación y anuncia acciones legales.",
               "2025-10-24T15:10:33+00:00"),
    tg_message(CH, 1205, "Precisamos: la nota de protesta se entregó esta mañana.", "2025-10-24T15:40:00+00:00",
               edited=True, reply_to=(1204, "El Gobierno rechaza la designación")),
    tg_message(CH, 1206, "Reenviamos el comunicado de la embajada.", "2025-10-24T16:00:00+00:00",
               forwarded="Embajada Espejo"),
]
OLDER = [tg_message(CH, 1201, "Agenda del canciller para hoy.", "2025-10-23T09:00:00+00:00"),
         tg_message(CH, 1202, "Reunión con el encargado de negocios.", "2025-10-23T12:00:00+00:00")]
SOURCE = (f'[[sources]]\nid = "cancilleria-tg"\nkind = "telegram"\nchannel = "{CH}"\napi_base = "{{url}}"\n'
          'actor = "Cancillería"\nlang = "es"\ninterval = "1m"\n')


class Channel:
    def __init__(self, site: LocalSite) -> None:
        self.newer, self.gone = list(NEWER), set()  # type: set[int]
        site.routes[f"/s/{CH}"] = self.page
        for i in range(1201, 1207):
            site.routes[f"/{CH}/{i}"] = self.embed

    def page(self, request: Request) -> Response:
        before = parse_qs(urlsplit(request.path).query).get("before")
        if before == ["1203"]:
            return html_response(tg_page(CH, OLDER, None))
        return html_response(tg_page(CH, self.newer, 1203))

    def embed(self, request: Request) -> Response:
        message_id = int(request.path.split("?")[0].rsplit("/", 1)[-1])
        if message_id in self.gone:
            return html_response('<html><body><div class="tgme_widget_message_error">Post not found</div>'
                                 '</body></html>')
        return html_response(tg_page(CH, [tg_message(CH, message_id, "…", "2025-10-24T15:10:33+00:00")], None))


def test_first_fill_pages_back_and_reads_the_body_not_the_quote(site: LocalSite, tmp_path: Path) -> None:
    Channel(site)
    runtime = runtime_for(tmp_path, SOURCE.format(url=site.url))
    assert len(poll_source(runtime, "cancilleria-tg").new) == 5
    assert [parse_qs(urlsplit(r.path).query).get("before") for r in site.requests_to(f"/s/{CH}")] == \
        [None, ["1203"]]
    stored = {r[0]: r[1:] for r in rows(runtime, "select external_id, text, is_reply, is_repost, published_at, "
                                                 "url, raw from statements")}
    assert stored["1205"][0] == "Precisamos: la nota de protesta se entregó esta mañana."
    assert stored["1205"][1] == 1 and '"edited": true' in stored["1205"][5]
    assert stored["1206"][2] == 1 and stored["1204"][3] == "2025-10-24T15:10:33Z"
    assert stored["1204"][0] == "El Gobierno rechaza la designación y anuncia acciones legales."
    assert stored["1204"][4] == f"{site.url}/{CH}/1204"


def test_edits_and_confirmed_deletions(site: LocalSite, tmp_path: Path) -> None:
    channel = Channel(site)
    runtime = runtime_for(tmp_path, SOURCE.format(url=site.url))
    poll_source(runtime, "cancilleria-tg")
    channel.newer[0] = tg_message(CH, 1204, "El Gobierno rechaza la designación y anuncia una demanda.",
                                  "2025-10-24T15:10:33+00:00", edited=True)
    assert len(poll_source(runtime, "cancilleria-tg").edited) == 1
    channel.newer.pop(1)  # 1205 vanishes; the embed page still shows it: not deleted
    assert poll_source(runtime, "cancilleria-tg").deleted == ()
    channel.gone.add(1205)
    assert len(poll_source(runtime, "cancilleria-tg").deleted) == 1
    assert rows(runtime, "select external_id from statements where deleted_at is not null") == [("1205",)]


def test_a_channel_without_preview_and_a_changed_layout(site: LocalSite, tmp_path: Path) -> None:
    site.routes[f"/s/{CH}"] = lambda r: (302, {"Location": f"/{CH}"}, b"")
    site.routes[f"/{CH}"] = lambda r: html_response("<html><body>Channel</body></html>")
    runtime = runtime_for(tmp_path, SOURCE.format(url=site.url))
    error = poll_source(runtime, "cancilleria-tg").error
    assert error is not None and "has no public web preview" in error
    site.routes[f"/s/{CH}"] = lambda r: html_response("<html><body><div class='new-design'>x</div></body></html>")
    error = poll_source(runtime, "cancilleria-tg").error
    assert error is not None and "layout changed" in error
