"""kind = "federal_register": the Federal Register documents API (no key), filtered by `conditions`.

`conditions` is a table such as `{ agencies = ["foreign-assets-control-office"], type = ["NOTICE"],
term = "Colombia" }`; each key becomes `conditions[key]` (a list `conditions[key][]`, a table
`conditions[key][sub]`). The first poll follows `next_page_url` up to `backfill` documents; later
polls ask only for documents published on or after the newest date seen.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from monitor.config import SourceConfig
from monitor.errors import SourceChangedError
from monitor.models import Cursor, PollResult, Statement
from monitor.sources.base import PollContext, dump_position, fetch_json, load_position
from monitor.text import clean_text, html_to_text

DEFAULT_API = "https://www.federalregister.gov"
FIELDS = ("title", "type", "abstract", "document_number", "html_url", "pdf_url", "public_inspection_pdf_url",
          "publication_date", "agencies", "excerpts", "full_text_xml_url", "body_html_url")
MAX_PAGES = 10


def query(source: SourceConfig, since: str | None, per_page: int) -> list[tuple[str, str]]:
    """The documents.json query: conditions, newest first, the fields we keep."""
    pairs: list[tuple[str, str]] = []
    for key, value in (source.conditions or {}).items():
        if isinstance(value, list | tuple):
            pairs += [(f"conditions[{key}][]", str(v)) for v in value]
        elif isinstance(value, dict):
            pairs += [(f"conditions[{key}][{sub}]", str(v)) for sub, v in value.items()]
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            pairs.append((f"conditions[{key}]", str(value)))
        else:
            raise SourceChangedError(source.id, f"conditions.{key}: expected a string, a list or a table")
    if since:
        pairs.append(("conditions[publication_date][gte]", since))
    pairs += [("order", "newest"), ("per_page", str(per_page))] + [("fields[]", f) for f in FIELDS]
    return pairs


def poll(ctx: PollContext, source: SourceConfig, cursor: Cursor | None) -> PollResult:
    base = (source.api_base or DEFAULT_API).rstrip("/")
    state = load_position(cursor)
    first = not state.get("filled")
    url: str | None = f"{base}/api/v1/documents.json?" + urlencode(
        query(source, None if first else state.get("newest"), min(100, source.backfill) if first else 100))
    documents: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        if url is None:
            break
        page = fetch_json(ctx, source, url)
        results = page.get("results") if isinstance(page, dict) else None
        if results is None and isinstance(page, dict) and page.get("count") == 0:
            results = []  # an empty search may leave `results` out
        if not isinstance(results, list):
            raise SourceChangedError(source.id, f"GET {base}/api/v1/documents.json: layout changed: the answer "
                                     "has no 'results' list")
        documents += [d for d in results if isinstance(d, dict) and d.get("document_number")]
        url = page.get("next_page_url") or None
        if first and len(documents) >= source.backfill:
            break
    if first:
        documents = documents[: source.backfill]
    statements = [parse_document(d, source) for d in documents]
    dates = [str(d.get("publication_date")) for d in documents if d.get("publication_date")]
    state.update(filled=True, newest=max(dates + ([state["newest"]] if state.get("newest") else []), default=None))
    return PollResult(statements=tuple(statements), cursor=Cursor(position=dump_position(state)))


def parse_document(document: dict[str, Any], source: SourceConfig) -> Statement:
    """One document: title, abstract (or the search excerpt), publication date and its links."""
    title = clean_text(str(document.get("title") or "")) or None
    excerpts = document.get("excerpts")
    text = clean_text(str(document.get("abstract") or "")) or html_to_text(str(excerpts or "")) or title or ""
    agencies = [a.get("name") or a.get("raw_name") for a in document.get("agencies") or [] if isinstance(a, dict)]
    raw = {k: document.get(k) for k in ("document_number", "type", "publication_date", "html_url", "pdf_url",
                                        "public_inspection_pdf_url", "full_text_xml_url", "body_html_url")}
    raw["agencies"] = agencies
    return Statement(
        source_id=source.id, external_id=str(document["document_number"]), text=text, title=title,
        url=document.get("html_url"), actor=source.actor, author=", ".join(a for a in agencies if a) or None,
        lang=source.lang or "en", published_at=_date(document.get("publication_date")),
        raw=json.dumps(raw, ensure_ascii=False))


def _date(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
