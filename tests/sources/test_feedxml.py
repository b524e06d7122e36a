"""The lxml fast path gives the statements feedparser gives, and leaves it whatever it is unsure of."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import SourceConfig
from monitor.replay import Item, rss_document
from monitor.sources import feedxml, rss
from tests.helpers import FIXTURES

BASE = "https://www.example.gov/newsroom/feed/"
START = datetime(2025, 10, 24, 9, 30, tzinfo=UTC)


def source() -> SourceConfig:
    return SourceConfig(id="press", kind="rss", actor="Ministry", url=BASE)


def rss2(items: str, channel: str = "<language>es-CO</language>", ns: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" {ns}><channel><title>Sala de prensa'
            f"</title><link>https://www.example.gov/</link><description>Comunicados</description>{channel}"
            f"{items}</channel></rss>").encode()


DC = 'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
REPLAY = rss_document("Cancillería", "https://www.example.gov.co", "es", [
    Item("f", f"co-{n}", f"Comunicado {n}: la Cancillería & la embajada", START + timedelta(hours=n),
         f"Resumen {n} con <b>negritas</b> y “comillas”.", "" if n == 2 else f"<p>Texto completo {n}.</p>"
         f"<script>alert(1)</script><p>Segundo párrafo.</p>") for n in range(3)], "https://www.example.gov.co")

FAST = {
    "wordpress fixture": (FIXTURES / "rss" / "wordpress_press.xml").read_bytes(),
    "atom fixture": (FIXTURES / "rss" / "govuk.atom").read_bytes(),
    "declared latin-1": (FIXTURES / "rss" / "latin1.xml").read_bytes(),
    "replay feed": REPLAY,
    "relative links, permalink guid, dc:date, categories": rss2(
        "<item><title>Aranceles &amp; comercio: &lt;b&gt;nota&lt;/b&gt;</title><link>/prensa/nota-1</link>"
        "<guid isPermaLink='false'>n-1</guid><dc:date>2025-10-24T14:00:00-05:00</dc:date>"
        "<category>Comercio</category><category domain='tema'>Aranceles</category>"
        "<description><![CDATA[<p>El Gobierno anuncia <a href='/x'>medidas</a>.</p>]]></description></item>"
        "<item><title>Sin enlace</title><guid>https://www.example.gov/prensa/nota-2</guid>"
        "<pubDate>Fri, 24 Oct 2025 22:00:00 GMT</pubDate><dc:creator>Oficina de Prensa</dc:creator>"
        "<content:encoded><![CDATA[<div>Texto <em>largo</em></div>]]></content:encoded></item>"
        "<item><title>Sin fecha</title><link>https://www.example.gov/prensa/3</link></item>", ns=DC),
    "atom with languages, html content and authors": (
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="es"><id>t</id><title>t</title>'
        '<entry xml:lang="en-GB"><id>e1</id><title type="html">Tariffs &amp;amp; talks</title>'
        '<link rel="self" href="/self"/><link href="/news/e1"/><published>2025-10-24T10:00:00Z</published>'
        '<updated>2025-10-25T10:00:00+02:00</updated><author><name>Press Office</name></author>'
        '<category term="trade" label="Trade"/><content type="html">&lt;p&gt;We will answer.&lt;/p&gt;</content>'
        "</entry><entry><id>tag:example.gov,2025:e2</id><title>Sólo resumen</title>"
        "<updated>2025-10-23T08:00:00Z</updated>"
        '<link rel="alternate" href="https://www.example.gov/e2"/><summary>Resumen breve.</summary></entry>'
        "</feed>").encode(),
}
SLOW = {
    "rss 1.0": (FIXTURES / "rss" / "rdf.xml").read_bytes(),
    "undeclared entity": rss2("<item><title>A&nbsp;B</title><link>https://e.gov/1</link></item>"),
    "media namespace": rss2('<item><title>V</title><link>https://e.gov/v</link><media:content url="https://e.gov/v.mp4"'
                            "/></item>", ns='xmlns:media="http://search.yahoo.com/mrss/"'),
    "rss author with e-mail": rss2("<item><title>A</title><link>https://e.gov/a</link>"
                                   "<author>press@e.gov (Press Office)</author></item>"),
    "date without zone": rss2("<item><title>A</title><link>https://e.gov/a</link>"
                              "<pubDate>24 Oct 2025 10:00</pubDate></item>"),
    "xhtml content": (b'<feed xmlns="http://www.w3.org/2005/Atom"><id>t</id><entry><id>x</id><title>x</title>'
                      b'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div></content>'
                      b"</entry></feed>"),
}


def statements(content: bytes, monkeypatch: pytest.MonkeyPatch, fast: bool) -> list[dict[str, object]]:
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(feedxml, "parse", lambda content, base_url: None)
        entries = rss.parse_feed(content, source(), url=BASE)
    out = []
    for entry in entries:
        statement = asdict(rss._to_statement(entry, source()))
        statement["summary_only"] = rss._is_summary_only(entry)
        out.append(statement)
    return out


@pytest.mark.parametrize("name", FAST)
def test_fast_path_gives_the_statements_feedparser_gives(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    content = FAST[name]
    assert feedxml.parse(content, BASE) is not None, "the fast path should take this feed"
    fast, slow = statements(content, monkeypatch, True), statements(content, monkeypatch, False)
    assert fast and fast == slow


@pytest.mark.parametrize("name", SLOW)
def test_what_the_fast_path_is_unsure_of_goes_to_feedparser(name: str) -> None:
    assert feedxml.parse(SLOW[name], BASE) is None


def test_hostile_xml_is_left_to_feedparser_without_expanding_entities() -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
              b'<!ENTITY c "&b;&b;&b;&b;&b;&b;">]><rss version="2.0"><channel><item><title>&c;</title>'
              b"</item></channel></rss>")
    external = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<rss version="2.0"><channel><item><title>&x;</title></item></channel></rss>')
    assert feedxml.parse(laughs, BASE) is None
    assert feedxml.parse(external, BASE) is None
