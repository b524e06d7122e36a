"""What an alert says, for each medium: plain text, HTML and Slack Block Kit. Pure functions.

Statement text comes from the outside world, so it is escaped for every medium: HTML-escaped in
e-mail, and in Slack `&`, `<` and `>` are escaped so `<!channel>`, `<@U123>` or `<http://x|y>`
in a statement can neither ping anyone nor make a link.
"""

from __future__ import annotations

import html
from typing import Any

from monitor.models import Alert

EXCERPT_CHARS = 600
_KIND_LABEL = {"new": "", "edited": "EDITED: ", "deleted": "DELETED: "}


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def subject(alert: Alert) -> str:
    s = alert.statement
    c = s.classification
    stance = c.stance if c else "unclassified"
    headline = s.title or excerpt(s.text, 80)
    return f"{_KIND_LABEL.get(alert.kind, '')}[{stance}] {s.actor or s.source_id}: {headline}"


def facts(alert: Alert) -> list[tuple[str, str]]:
    """(label, value) pairs every medium shows: actor, stance, score, topics, cues, time, link."""
    s, c = alert.statement, alert.statement.classification
    rows = [("Actor", s.actor or s.source_id), ("Source", s.source_id)]
    if c:
        rows += [("Stance", c.stance), ("Escalation score", f"{c.escalation_score:.2f}"),
                 ("Topics", ", ".join(c.topics)), ("Cues", "; ".join(f"“{q}”" for q in c.cues) or "none found"),
                 ("Model", c.model)]
    rows += [("Published", s.published_at or "unknown"), ("Rule", alert.rule)]
    if s.url:
        rows.append(("Link", s.url))
    return rows


def plain_text(alert: Alert) -> str:
    s = alert.statement
    lines = [subject(alert), ""]
    lines += [f"{label}: {value}" for label, value in facts(alert)]
    lines += ["", excerpt(s.text)]
    if alert.previous_text is not None:
        lines += ["", "Previous text:", excerpt(alert.previous_text)]
    lines += ["", f"delivery id: {alert.delivery_id}"]
    return "\n".join(lines)


def html_body(alert: Alert) -> str:
    s = alert.statement
    rows = "".join(
        f"<tr><th align='left'>{html.escape(label)}</th><td>"
        + (f"<a href=\"{html.escape(value, quote=True)}\">{html.escape(value)}</a>" if label == "Link"
           and value.startswith(("http://", "https://")) else html.escape(value))
        + "</td></tr>" for label, value in facts(alert))
    previous = "" if alert.previous_text is None else \
        f"<h3>Previous text</h3><blockquote>{html.escape(excerpt(alert.previous_text))}</blockquote>"
    return (f"<html><body><h2>{html.escape(subject(alert))}</h2><table>{rows}</table>"
            f"<blockquote>{html.escape(excerpt(s.text))}</blockquote>{previous}"
            f"<p style='color:#888'>delivery id {html.escape(alert.delivery_id)}</p></body></html>")


def slack_escape(text: str) -> str:
    """Slack's three control characters; with them escaped, no mention or link can be formed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_blocks(alert: Alert) -> dict[str, Any]:
    """An incoming-webhook payload: a fallback `text` and Block Kit blocks."""
    s = alert.statement
    fields = [{"type": "mrkdwn", "text": f"*{label}*\n{slack_escape(value)}"}
              for label, value in facts(alert) if label not in ("Link", "Model", "Source")][:10]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": excerpt(subject(alert), 150)}},
        {"type": "section", "fields": fields},
        {"type": "section", "text": {"type": "mrkdwn", "text": "> " + slack_escape(excerpt(s.text, 2500))}},
    ]
    if alert.previous_text is not None:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                       "text": "*Previous text*\n> " + slack_escape(excerpt(alert.previous_text, 1500))}})
    context = [{"type": "mrkdwn", "text": f"delivery `{alert.delivery_id}`"}]
    if s.url and s.url.startswith(("http://", "https://")):
        context.insert(0, {"type": "mrkdwn",
                           "text": f"<{slack_escape(s.url).replace('|', '%7C')}|Open the statement>"})
    blocks.append({"type": "context", "elements": context})
    return {"text": slack_escape(subject(alert)), "blocks": blocks, "unfurl_links": False,
            "unfurl_media": False}
