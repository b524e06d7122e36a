"""Word-level differences between two versions of a statement, for `edited` alerts. Pure functions."""

from __future__ import annotations

import difflib
import html

from monitor.alerts.slack_text import slack_escape

CONTEXT_WORDS = 6
"""Unchanged words kept on each side of a change; longer unchanged runs are shortened to "…"."""


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """(op, words) pieces, op being "=" (kept), "-" (removed) or "+" (added), in reading order."""
    a, b = old.split(), new.split()
    pieces: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            pieces.append(("=", " ".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            pieces.append(("-", " ".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            pieces.append(("+", " ".join(b[j1:j2])))
    return [_shorten(p, first=i == 0, last=i == len(pieces) - 1) if p[0] == "=" else p
            for i, p in enumerate(pieces)]


def _shorten(piece: tuple[str, str], first: bool, last: bool) -> tuple[str, str]:
    words = piece[1].split()
    keep = CONTEXT_WORDS
    if len(words) <= keep * 2 + 1:
        return piece
    head = [] if first else words[:keep]
    tail = [] if last else words[-keep:]
    return "=", " ".join([*head, "…", *tail])


def diff_text(old: str, new: str) -> str:
    """`[-removed-]` and `{+added+}` marks, as `git diff --word-diff` prints them."""
    marks = {"=": "{}", "-": "[-{}-]", "+": "{{+{}+}}"}
    return " ".join(marks[op].format(words) for op, words in word_diff(old, new))


def diff_html(old: str, new: str) -> str:
    """Escaped HTML with <del> and <ins>."""
    tags = {"=": "{}", "-": "<del style='color:#a00'>{}</del>", "+": "<ins style='color:#070'>{}</ins>"}
    return " ".join(tags[op].format(html.escape(words)) for op, words in word_diff(old, new))


def diff_slack(old: str, new: str) -> str:
    """Slack mrkdwn: removed words struck through, added words in bold, all text escaped."""
    marks = {"=": "{}", "-": "~{}~", "+": "*{}*"}
    return " ".join(marks[op].format(slack_escape(words)) for op, words in word_diff(old, new))
