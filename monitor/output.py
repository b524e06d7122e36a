"""Rows as the command line prints them for programs: the formats and flag names of sqlite-utils
(--json: a JSON array, --nl: one JSON object per line, --csv / --tsv with a header row)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

FORMATS = {
    "json": "Print a JSON array of objects.",
    "nl": "Print newline-delimited JSON, one object per line.",
    "csv": "Print CSV with a header row.",
    "tsv": "Print TSV with a header row.",
}


def format_rows(rows: Sequence[Mapping[str, Any]], fmt: str) -> str:
    """The rows in one of FORMATS, without a trailing newline."""
    if fmt == "json":
        return json.dumps([dict(r) for r in rows], indent=2, ensure_ascii=False, default=str)
    if fmt == "nl":
        return "\n".join(json.dumps(dict(r), ensure_ascii=False, default=str) for r in rows)
    if fmt in ("csv", "tsv"):
        buffer = io.StringIO()
        columns = list(rows[0]) if rows else []
        writer = csv.DictWriter(buffer, columns, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")
    raise ValueError(f"unknown output format {fmt!r} (one of {', '.join(FORMATS)})")
