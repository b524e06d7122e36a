from monitor.text import article_text, clean_text, content_hash, html_to_text
from tests.helpers import FIXTURES


def test_hostile_html_is_reduced_to_text() -> None:
    html = ('<p onclick="steal()">Hola <b>mundo</b> &amp; más</p><script>alert(1)</script>'
            '<style>p{}</style><iframe src="evil"></iframe><img src=x onerror=alert(1)><p>Segundo</p>')
    assert html_to_text(html) == "Hola mundo & más\n\nSegundo"


def test_unclosed_tags_and_entities() -> None:
    assert html_to_text("<div><p>Uno<p>Dos &eacute; &#8212; tres") == "Uno\n\nDos é — tres"


def test_article_text_drops_page_chrome() -> None:
    text = article_text((FIXTURES / "rss" / "newsroom_page.html").read_text())
    assert text.startswith("The Ministry answers the tariff announcement")
    assert "reciprocal tariffs of 25 per cent" in text
    assert "Menu item" not in text and "Privacy" not in text and "track()" not in text


def test_content_hash_ignores_whitespace_only() -> None:
    assert content_hash("T", "a  b\n") == content_hash("T", "a b")
    assert content_hash("T", "a b") != content_hash("T", "a c")


def test_clean_text_normalises_unicode() -> None:
    assert clean_text("Bogota\u0301  \u00a0 hoy") == "Bogotá hoy"
