"""Text normalisation: HTML to clean plain text, content hashes, and UTC time strings."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, datetime

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

_BLOCKS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
           "tr", "table", "section", "article", "header", "footer", "pre", "hr", "figcaption"}
_DROP = "script, style, noscript, template, iframe, object, embed, svg, form, button, input, select"
_SPACE = re.compile(r"[ \t\u00a0\u200b\r\f\v]+")


def html_to_text(html: str | None) -> str:
    """Plain text of an HTML fragment: scripts and styles dropped, one paragraph per line."""
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        return clean_text(html)
    tree = HTMLParser(html)
    for node in tree.css(_DROP):
        node.decompose()
    root = tree.body or tree.root
    parts: list[str] = []
    if root is not None:
        _walk(root, parts)
    return clean_text("".join(parts))


def _walk(node: Node, parts: list[str]) -> None:
    for child in node.iter(include_text=True):
        if child.tag == "-text":
            parts.append(child.text_content or "")
            continue
        block = child.tag in _BLOCKS
        if block:
            parts.append("\n")
        _walk(child, parts)
        if block:
            parts.append("\n")


def clean_text(text: str) -> str:
    """NFC-normalised text with runs of spaces folded and blank lines collapsed."""
    text = unicodedata.normalize("NFC", text)
    lines = [_SPACE.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def content_hash(title: str | None, text: str) -> str:
    """A stable hash of what a reader sees: title and text, whitespace-insensitive."""
    normal = " ".join(f"{title or ''}\n{text}".split())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def iso(moment: datetime | None) -> str | None:
    """`2025-10-24T18:02:11Z` for a datetime (naive ones are taken as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str | None) -> datetime | None:
    """The datetime of an ISO 8601 string such as those `iso` writes; None for None."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_CHROME = "nav, header, footer, aside, menu, [role=navigation], [role=banner], [role=contentinfo], " \
          ".breadcrumb, .breadcrumbs, .share, .social, .sidebar, .menu, .cookie, #cookie-banner"


def article_text(html: str) -> str:
    """The main text of an article page: the `article` or `main` element without page chrome."""
    tree = HTMLParser(html)
    for node in tree.css(_DROP + ", " + _CHROME):
        node.decompose()
    for selector in ("article", "main", "[role=main]", "#content", ".content", "body"):
        node = tree.css_first(selector)
        if node is not None and len(node.text(strip=True)) > 40:
            parts: list[str] = []
            _walk(node, parts)
            return clean_text("".join(parts))
    return html_to_text(html)
