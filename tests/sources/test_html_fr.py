"""kind = "html" (a press list page, articles through trafilatura) and kind = "federal_register"."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from monitor.pipeline import poll_source
from monitor.replay import LocalSite, Request, Response
from tests.sources.platforms import html_response, json_response, rows, runtime_for

ITEMS = [("Paginas/Gobierno-rechaza-designacion-251024.aspx", "Gobierno rechaza la designación de la OFAC",
          "viernes, 24 de octubre de 2025"),
         ("Paginas/Consejo-de-Ministros-251022.aspx", "Consejo de Ministros pide diálogo directo",
          "22 de octubre de 2025"),
         ("/en/newsroom/news/ambassador-recalled", "Ambassador recalled for consultations", "October 20, 2025")]


def list_page(items: list[tuple[str, str, str]]) -> str:
    rows_html = "".join(f'<div class="item-noticia"><span class="fecha-noticia">{d}</span>'
                        f'<h3 class="titulo-noticia"><a href="{h}">{t}</a></h3>'
                        f'<p class="resumen-noticia">Resumen breve.</p></div>' for h, t, d in items)
    return (f"<!doctype html><html><head><title>Prensa</title></head><body><nav>Inicio | Prensa</nav>"
            f"<main>{rows_html}</main><footer>Presidencia</footer></body></html>")


def article(title: str) -> str:
    body = ("<p>Bogotá, 24 de octubre de 2025. El Gobierno nacional rechaza la decisión anunciada hoy por el "
            "Departamento del Tesoro y anuncia que acudirá a los tribunales para defender el buen nombre del país."
            "</p><p>La Cancillería entregó una nota de protesta y convocó a los embajadores de la región para "
            "explicar la posición oficial, insistiendo en el diálogo directo como camino para superar la crisis."
            "</p>")
    return (f"<!doctype html><html><head><title>{title}</title></head><body><nav>Inicio · Prensa · Contacto</nav>"
            f"<article><h1>{title}</h1>{body}</article><aside>Noticias relacionadas</aside>"
            f"<footer>Casa de Nariño</footer></body></html>")


HTML_SOURCE = ('[[sources]]\nid = "presidencia"\nkind = "html"\nurl = "{url}/prensa/"\n'
               'item_selector = "div.item-noticia"\nlink_selector = "h3.titulo-noticia a"\n'
               'title_selector = "h3.titulo-noticia"\ndate_selector = ".fecha-noticia"\n'
               'actor = "Presidencia de Colombia"\nlang = "es"\ninterval = "1m"\n')


def serve_press(site: LocalSite, items: list[tuple[str, str, str]]) -> None:
    site.routes["/prensa/"] = lambda r: html_response(list_page(items))
    for href, title, _ in items:
        path = href if href.startswith("/") else "/prensa/" + href
        site.routes[path] = (lambda t: lambda r: html_response(article(t)))(title)


def test_list_page_selectors_dates_and_article_text(site: LocalSite, tmp_path: Path) -> None:
    serve_press(site, ITEMS)
    runtime = runtime_for(tmp_path, HTML_SOURCE.format(url=site.url))
    assert len(poll_source(runtime, "presidencia").new) == 3
    stored = {r[0]: r[1:] for r in rows(runtime, "select url, title, published_at, text from statements")}
    first = stored[f"{site.url}/prensa/Paginas/Gobierno-rechaza-designacion-251024.aspx"]
    assert first[0] == "Gobierno rechaza la designación de la OFAC" and first[1] == "2025-10-24T00:00:00Z"
    assert "acudirá a los tribunales" in first[2] and "Casa de Nariño" not in first[2]
    assert "Noticias relacionadas" not in first[2]
    assert stored[f"{site.url}/en/newsroom/news/ambassador-recalled"][1] == "2025-10-20T00:00:00Z"
    # a later poll fetches only the link it has not seen
    serve_press(site, [("Paginas/Nuevo-comunicado-251025.aspx", "Nuevo comunicado", "25 de octubre de 2025")]
                + ITEMS)
    before = len(site.requests)
    assert len(poll_source(runtime, "presidencia").new) == 1
    assert sorted(r.path for r in site.requests[before:]) == \
        ["/prensa/", "/prensa/Paginas/Nuevo-comunicado-251025.aspx"]


def test_selectors_that_match_nothing_are_a_layout_change(site: LocalSite, tmp_path: Path) -> None:
    site.routes["/prensa/"] = lambda r: html_response("<html><body><ul class='news'><li>x</li></ul></body></html>")
    runtime = runtime_for(tmp_path, HTML_SOURCE.format(url=site.url))
    error = poll_source(runtime, "presidencia").error
    assert error is not None and "layout changed: item_selector 'div.item-noticia' matched nothing" in error
    site.routes["/prensa/"] = lambda r: html_response(list_page(ITEMS).replace("<h3", "<h4").replace("</h3", "</h4"))
    error = poll_source(runtime, "presidencia").error
    assert error is not None and "layout changed: link_selector" in error
    assert rows(runtime, "select count(*) from statements") == [(0,)]


DOCUMENTS = [
    {"title": "Notice of OFAC Sanctions Actions", "type": "Notice", "document_number": "2025-19876",
     "abstract": "The Department of the Treasury's Office of Foreign Assets Control is publishing the names of "
                 "persons whose property and interests in property are blocked.",
     "html_url": "https://www.federalregister.gov/documents/2025/10/29/2025-19876/notice-of-ofac-sanctions-actions",
     "pdf_url": "https://www.govinfo.gov/content/pkg/FR-2025-10-29/pdf/2025-19876.pdf",
     "public_inspection_pdf_url": "https://public-inspection.federalregister.gov/2025-19876.pdf",
     "publication_date": "2025-10-29",
     "agencies": [{"raw_name": "DEPARTMENT OF THE TREASURY", "name": "Treasury Department", "id": 497,
                   "slug": "treasury-department"},
                  {"raw_name": "Office of Foreign Assets Control", "name": "Foreign Assets Control Office",
                   "id": 203, "parent_id": 497, "slug": "foreign-assets-control-office"}]},
    {"title": "Unblocking of Specially Designated Nationals", "type": "Notice", "document_number": "2025-18001",
     "abstract": None, "html_url": "https://www.federalregister.gov/d/2025-18001", "pdf_url": None,
     "publication_date": "2025-10-01", "agencies": [], "excerpts": "removal of <span class=\"match\">names</span>"},
]


def test_federal_register_conditions_pages_and_later_polls(site: LocalSite, tmp_path: Path) -> None:
    def documents(request: Request) -> Response:
        query = parse_qs(urlsplit(request.path).query)
        if query.get("page") == ["2"]:
            return json_response({"count": 2, "total_pages": 2, "results": DOCUMENTS[1:]})
        if "conditions[publication_date][gte]" in query:
            return json_response({"count": 1, "total_pages": 1, "results": DOCUMENTS[:1]})
        return json_response({"count": 2, "total_pages": 2, "results": DOCUMENTS[:1],
                              "next_page_url": f"{site.url}/api/v1/documents.json?page=2"})

    site.routes["/api/v1/documents.json"] = documents
    runtime = runtime_for(tmp_path, (
        f'[[sources]]\nid = "fr-ofac"\nkind = "federal_register"\napi_base = "{site.url}"\nactor = "OFAC"\n'
        'conditions = { agencies = ["foreign-assets-control-office"], type = ["NOTICE"], term = "Colombia" }\n'))
    assert len(poll_source(runtime, "fr-ofac").new) == 2
    first = parse_qs(urlsplit(site.requests_to("/api/v1/documents.json")[0].path).query)
    assert first["conditions[agencies][]"] == ["foreign-assets-control-office"]
    assert first["conditions[type][]"] == ["NOTICE"] and first["conditions[term]"] == ["Colombia"]
    stored = {r[0]: r[1:] for r in rows(runtime, "select external_id, title, text, url, published_at, author, raw "
                                                 "from statements")}
    notice = stored["2025-19876"]
    assert notice[0] == "Notice of OFAC Sanctions Actions" and notice[1].startswith("The Department of the Treasury")
    assert notice[3] == "2025-10-29T00:00:00Z" and "Foreign Assets Control Office" in notice[4]
    assert "2025-19876.pdf" in notice[5] and "public-inspection" in notice[5]
    assert stored["2025-18001"][1] == "removal of names"
    poll_source(runtime, "fr-ofac")
    later = parse_qs(urlsplit(site.requests_to("/api/v1/documents.json")[-1].path).query)
    assert later["conditions[publication_date][gte]"] == ["2025-10-29"]
