"""Escaping statement text for Slack mrkdwn. Pure."""

from __future__ import annotations


def slack_escape(text: str) -> str:
    """Slack's three control characters; with them escaped, no mention or link can be formed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
