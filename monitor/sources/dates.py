"""Dates as press pages write them, in English and Spanish ("October 24, 2025", "24 de octubre de
2025", "viernes, 24 de octubre de 2025 - 3:30 p. m.", "2025-10-24T15:52:10Z")."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}
_ABBREVIATIONS = {name[:3]: n for name, n in _MONTHS.items()} | {"sept": 9, "ene": 1, "abr": 4, "ago": 8,
                                                               "dic": 12}
_MONTH = r"([a-záéíóú]+)\.?"
_DAY_FIRST = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th|º|°)?\s+(?:de\s+)?{_MONTH},?\s+(?:de\s+|del\s+)?(\d{{4}})\b")
_MONTH_FIRST = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?:de\s+)?(\d{{4}})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")
_NUMERIC = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_TIME = re.compile(r"\b(\d{1,2})[:.](\d{2})\s*([ap])?\.?\s*m?\.?", re.I)


def _month(word: str) -> int | None:
    word = word.lower().strip(".")
    return _MONTHS.get(word) or _ABBREVIATIONS.get(word[:4]) or _ABBREVIATIONS.get(word[:3])


def parse_date(text: str | None, *, day_first: bool = False) -> datetime | None:
    """The first date in `text` (UTC; a time of day when one follows), or None when there is none."""
    if not text:
        return None
    value = " ".join(text.split()).lower()
    iso = _ISO.search(value)
    if iso:
        try:
            parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
        y, m, d, hh, mm, ss = iso.groups()
        return _build(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    found: tuple[int, int, int] | None = None
    end = 0
    # "24 de octubre de 2025" (day, month) first, then "October 24, 2025" (month, day)
    for pattern, day_group, month_group in ((_DAY_FIRST, 1, 2), (_MONTH_FIRST, 2, 1)):
        for match in pattern.finditer(value):
            month = _month(match.group(month_group))
            if month:
                found, end = (int(match.group(3)), month, int(match.group(day_group))), match.end()
                break
        if found is not None:
            break
    if found is None:
        numeric = _NUMERIC.search(value)
        if not numeric:
            return None
        a, b, year = int(numeric.group(1)), int(numeric.group(2)), int(numeric.group(3))
        day, month = (a, b) if day_first or a > 12 else (b, a)
        found, end = (year, month, day), numeric.end()
    hour = minute = 0
    clock = _TIME.search(value, end)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if clock.group(3) and clock.group(3).lower() == "p" and hour < 12:
            hour += 12
        elif clock.group(3) and clock.group(3).lower() == "a" and hour == 12:
            hour = 0
    return _build(*found, hour, minute, 0)


def _build(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime | None:
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
