"""A fast path for well-formed RSS 2.0 and Atom feeds, read with lxml.

feedparser takes about 8 ms for a five-item feed: polling hundreds of feeds, it was the largest
cost of a pass. Most official feeds are well-formed RSS 2.0 or Atom, which lxml reads in a tenth of
a millisecond. `parse` returns entries in the shape `rss.py` reads from feedparser (the same keys,
`*_parsed` as UTC struct_time), or None for anything it is not sure of: a syntax error, RSS 1.0,
an undeclared entity, XHTML content, a date it cannot read. feedparser then parses the feed as
before, so the fast path never loses a feed that feedparser could read.
tests/sources/test_feedxml.py checks that both paths give the same statements.
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC = "{http://purl.org/dc/elements/1.1/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=True, remove_pis=True)


class _NotSure(Exception):
    """Something the fast path does not handle exactly as feedparser does."""


def parse(content: bytes, base_url: str | None) -> tuple[list[dict[str, Any]], str | None] | None:
    """(entries, feed language) of an RSS 2.0 or Atom feed, or None to let feedparser decide."""
    try:
        root = etree.fromstring(content, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    try:
        if root.tag == "rss":
            channel = root.find("channel")
            if channel is None:
                return None
            lang = _text(channel.find("language"))
            return [_rss_item(item, base_url) for item in channel.iter("item")], lang
        if root.tag == ATOM + "feed":
            return [_atom_entry(entry, base_url) for entry in root.iter(ATOM + "entry")], root.get(XML_LANG)
    except _NotSure:
        return None
    return None


def _text(node: Any) -> str | None:
    if node is None:
        return None
    if len(node):  # child elements (inline XHTML or unknown markup): feedparser serialises these
        raise _NotSure
    return (node.text or "").strip()


def _rss_item(item: Any, base_url: str | None) -> dict[str, Any]:
    for child in item:
        if isinstance(child.tag, str) and child.tag.startswith("{") and not child.tag.startswith(
                (DC, CONTENT[:CONTENT.index("}") + 1])):
            raise _NotSure  # media:, itunes:, georss: … elements that feedparser maps to keys
    entry: dict[str, Any] = {}
    title = item.find("title")
    if title is not None:
        entry["title"] = _text(title)
    guid = item.find("guid")
    link = _text(item.find("link"))
    if guid is not None:
        entry["id"] = _text(guid)
        if guid.get("isPermaLink", "true").lower() != "false":
            entry["id"] = _absolute(base_url, entry["id"])  # as feedparser does
            link = link or entry["id"]
    if link:
        entry["link"] = _absolute(base_url, link)
    description = item.find("description")
    if description is not None:
        entry["summary"] = _text(description)
    encoded = item.find(CONTENT)
    if encoded is not None:
        entry["content"] = [{"value": _text(encoded)}]
    creator = item.find(DC + "creator")
    if item.find("author") is not None:
        raise _NotSure  # "email (Name)": feedparser splits it
    if creator is not None:
        entry["author"] = _text(creator)
    published = _text(item.find("pubDate"))
    if published:
        entry["published"], entry["published_parsed"] = published, _rfc822(published)
    updated = _text(item.find(DC + "date"))
    if updated:
        entry["updated"], entry["updated_parsed"] = updated, _iso(updated)
    tags = [{"term": _text(c), "scheme": c.get("domain"), "label": None} for c in item.findall("category")]
    if tags:
        entry["tags"] = tags
    return entry


def _atom_entry(node: Any, base_url: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    title = node.find(ATOM + "title")
    if title is not None:
        entry["title"] = _atom_text(title)
        lang = title.get(XML_LANG) or node.get(XML_LANG)
        if lang:
            entry["title_detail"] = {"language": lang}
    ident = _text(node.find(ATOM + "id"))
    if ident:
        entry["id"] = _absolute(base_url, ident)
    links = node.findall(ATOM + "link")
    href = next((ln.get("href") for ln in links if ln.get("rel", "alternate") == "alternate"), None)
    if href:
        entry["link"] = _absolute(base_url, href)
    summary = node.find(ATOM + "summary")
    if summary is not None:
        entry["summary"] = _atom_text(summary)
    content = node.find(ATOM + "content")
    if content is not None:
        if content.get("src"):
            raise _NotSure
        entry["content"] = [{"value": _atom_text(content)}]
    name = node.find(f"{ATOM}author/{ATOM}name")
    if name is not None:
        entry["author"] = _text(name)
    for key in ("published", "updated"):
        value = _text(node.find(ATOM + key))
        if value:
            entry[key], entry[key + "_parsed"] = value, _iso(value)
    tags = [{"term": c.get("term"), "scheme": c.get("scheme"), "label": c.get("label")}
            for c in node.findall(ATOM + "category")]
    if tags:
        entry["tags"] = tags
    return entry


def _absolute(base_url: str | None, value: str) -> str:
    return urljoin(base_url, value) if base_url and value else value


def _atom_text(node: Any) -> str | None:
    if node.get("type") == "xhtml":
        raise _NotSure
    return _text(node)


def _rfc822(value: str) -> time.struct_time:
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise _NotSure from None
    return _utc(moment)


def _iso(value: str) -> time.struct_time:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _NotSure from None
    return _utc(moment)


def _utc(moment: datetime) -> time.struct_time:
    if moment.tzinfo is None:
        raise _NotSure  # feedparser's guess for a zone-less date is not ours to copy
    return moment.astimezone(UTC).timetuple()
