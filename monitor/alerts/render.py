"""What an alert says, for each medium: plain text, HTML and Slack Block Kit. Pure functions.

Statement text comes from the outside world, so it is escaped for every medium: HTML-escaped in
e-mail, and in Slack `&`, `<` and `>` are escaped so `<!channel>`, `<@U123>` or `<http://x|y>`
in a statement can neither ping anyone nor make a link.

Kinds: `new`; `edited` (with a word-level diff against the previous text); `deleted` (with the
last text the statement had); `digest` (every match of a period in one message); `notice` (about
the monitor itself, such as a failing channel).
"""

from __future__ import annotations

import html
from typing import Any

from monitor.alerts.diff import diff_html, diff_slack, diff_text
from monitor.alerts.slack_text import slack_escape
from monitor.models import Alert, StoredStatement

__all__ = ["excerpt", "subject", "facts", "plain_text", "html_body", "slack_escape", "slack_blocks"]

EXCERPT_CHARS = 600
DIGEST_ITEMS = 40
"""A digest lists at most this many statements in full and counts the rest (Slack caps blocks at 50)."""
_KIND_LABEL = {"new": "", "edited": "EDITED: ", "deleted": "DELETED: "}


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def subject(alert: Alert) -> str:
    s = alert.statement
    if alert.kind == "notice":
        return s.title or "Statement Monitor notice"
    if alert.kind == "digest":
        return f"Digest for rule {alert.rule}: {len(alert.digest)} statements until {alert.period}"
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
    if alert.kind == "deleted" and s.deleted_at:
        rows.append(("Deleted", s.deleted_at))
    if s.url:
        rows.append(("Link", s.url))
    return rows


def _one_line(s: StoredStatement) -> str:
    c = s.classification
    score = f"{c.stance} {c.escalation_score:.2f}" if c else "unclassified"
    return f"{s.published_at or '?'}  {s.actor or s.source_id} [{score}]: {s.title or excerpt(s.text, 120)}"


def plain_text(alert: Alert) -> str:
    s = alert.statement
    lines = [subject(alert), ""]
    if alert.kind == "notice":
        lines += [s.text]
    elif alert.kind == "digest":
        lines += [f"- {_one_line(d)}" + (f"\n  {d.url}" if d.url else "") for d in alert.digest[:DIGEST_ITEMS]]
        if len(alert.digest) > DIGEST_ITEMS:
            lines.append(f"… and {len(alert.digest) - DIGEST_ITEMS} more")
    else:
        lines += [f"{label}: {value}" for label, value in facts(alert)]
        lines += ["", ("Last text before deletion:\n" if alert.kind == "deleted" else "") + excerpt(s.text)]
        if alert.previous_text is not None:
            lines += ["", "Changes:", diff_text(alert.previous_text, s.text)]
    lines += ["", f"delivery id: {alert.delivery_id}"]
    return "\n".join(lines)


def html_body(alert: Alert) -> str:
    s = alert.statement
    footer = f"<p style='color:#888'>delivery id {html.escape(alert.delivery_id)}</p></body></html>"
    head = f"<html><body><h2>{html.escape(subject(alert))}</h2>"
    if alert.kind == "notice":
        return f"{head}<p>{html.escape(s.text)}</p>{footer}"
    if alert.kind == "digest":
        items = "".join(f"<li>{html.escape(_one_line(d))}" + (f" <a href=\"{html.escape(d.url, quote=True)}\">link</a>"
                        if d.url and d.url.startswith(("http://", "https://")) else "") + "</li>"
                        for d in alert.digest[:DIGEST_ITEMS])
        more = f"<p>… and {len(alert.digest) - DIGEST_ITEMS} more</p>" if len(alert.digest) > DIGEST_ITEMS else ""
        return f"{head}<ul>{items}</ul>{more}{footer}"
    rows = "".join(
        f"<tr><th align='left'>{html.escape(label)}</th><td>"
        + (f"<a href=\"{html.escape(value, quote=True)}\">{html.escape(value)}</a>" if label == "Link"
           and value.startswith(("http://", "https://")) else html.escape(value))
        + "</td></tr>" for label, value in facts(alert))
    last = "<h3>Last text before deletion</h3>" if alert.kind == "deleted" else ""
    changes = "" if alert.previous_text is None else \
        f"<h3>Changes</h3><p>{diff_html(alert.previous_text, s.text)}</p>"
    return f"{head}<table>{rows}</table>{last}<blockquote>{html.escape(excerpt(s.text))}</blockquote>{changes}{footer}"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def slack_blocks(alert: Alert) -> dict[str, Any]:
    """A chat.postMessage / incoming-webhook payload: a fallback `text` and Block Kit blocks."""
    s = alert.statement
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": excerpt(subject(alert), 150)}}]
    if alert.kind == "notice":
        blocks.append(_mrkdwn(slack_escape(s.text)))
    elif alert.kind == "digest":
        for d in alert.digest[:DIGEST_ITEMS]:
            link = f" <{slack_escape(d.url).replace('|', '%7C')}|link>" if d.url and d.url.startswith(
                ("http://", "https://")) else ""
            blocks.append(_mrkdwn(slack_escape(_one_line(d)) + link))
        if len(alert.digest) > DIGEST_ITEMS:
            blocks.append(_mrkdwn(f"… and {len(alert.digest) - DIGEST_ITEMS} more"))
    else:
        fields = [{"type": "mrkdwn", "text": f"*{label}*\n{slack_escape(value)}"}
                  for label, value in facts(alert) if label not in ("Link", "Model", "Source")][:10]
        label = "*Last text before deletion*\n" if alert.kind == "deleted" else ""
        blocks += [{"type": "section", "fields": fields},
                   _mrkdwn(label + "> " + slack_escape(excerpt(s.text, 2500)))]
        if alert.previous_text is not None:
            blocks.append(_mrkdwn("*Changes* (~removed~, *added*)\n" + diff_slack(alert.previous_text, s.text)))
    context = [{"type": "mrkdwn", "text": f"delivery `{alert.delivery_id}`"}]
    if alert.kind not in ("digest", "notice") and s.url and s.url.startswith(("http://", "https://")):
        context.insert(0, {"type": "mrkdwn",
                           "text": f"<{slack_escape(s.url).replace('|', '%7C')}|Open the statement>"})
    blocks.append({"type": "context", "elements": context})
    return {"text": slack_escape(subject(alert)), "blocks": blocks, "unfurl_links": False,
            "unfurl_media": False}
