"""kind = "webhook": a versioned JSON payload (docs/webhook.md), signed with HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from monitor.alerts.diff import word_diff
from monitor.alerts.render import subject
from monitor.alerts.slack import retry_after
from monitor.config import ChannelConfig
from monitor.models import Alert, Delivery, StoredStatement

PAYLOAD_VERSION = 1


def _statement(s: StoredStatement) -> dict[str, Any]:
    c = s.classification
    return {
        "id": s.id, "source_id": s.source_id, "external_id": s.external_id, "actor": s.actor,
        "country": s.country, "lang": s.lang, "title": s.title, "text": s.text, "url": s.url,
        "published_at": s.published_at, "fetched_at": s.fetched_at, "edited_at": s.edited_at,
        "deleted_at": s.deleted_at,
        "classification": None if c is None else {
            "stance": c.stance, "stance_scores": c.stance_scores, "topics": list(c.topics),
            "escalation": c.escalation, "escalation_score": c.escalation_score, "cues": list(c.cues),
            "model": c.model},
    }


def payload(alert: Alert) -> dict[str, Any]:
    """The documented body: the same fields for every kind, unused ones null or empty."""
    body: dict[str, Any] = {
        "version": PAYLOAD_VERSION, "delivery_id": alert.delivery_id, "kind": alert.kind, "rule": alert.rule,
        "channel": alert.channel, "attempt": alert.attempts, "thread_id": alert.thread_id,
        "subject": subject(alert), "statement": None, "previous_text": alert.previous_text, "diff": None,
        "digest": None, "message": None,
    }
    if alert.kind == "notice":
        body["message"] = alert.statement.text
    elif alert.kind == "digest":
        body["digest"] = {"period_end": alert.period, "statements": [_statement(s) for s in alert.digest]}
    else:
        body["statement"] = _statement(alert.statement)
        if alert.previous_text is not None:
            body["diff"] = [{"op": op, "text": text} for op, text in word_diff(alert.previous_text,
                                                                             alert.statement.text)]
    return body


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>` of the raw body, as GitHub and Stripe-style receivers verify it."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    def __init__(self, config: ChannelConfig, client: httpx.Client) -> None:
        assert config.webhook_url and config.secret
        self.name, self.url, self.secret = config.name, config.webhook_url, config.secret
        self.client, self.timeout = client, config.timeout_seconds

    def send(self, alert: Alert) -> Delivery:
        body = json.dumps(payload(alert), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", "X-Delivery-Id": alert.delivery_id,
                   "X-Signature": signature(self.secret, body), "X-Monitor-Payload-Version": str(PAYLOAD_VERSION)}
        try:
            response = self.client.post(self.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            # the URL may carry a token: name the error class, never the request
            return Delivery(ok=False, error=f"webhook {self.name!r} unreachable ({type(exc).__name__})")
        if response.is_success:
            return Delivery(ok=True)
        text = response.text[:200].strip()
        error = f"webhook {self.name!r} answered HTTP {response.status_code}" + (f": {text}" if text else "")
        if response.status_code in (408, 425, 429) or response.status_code >= 500:
            return Delivery(ok=False, error=error, retry_after=retry_after(response))
        return Delivery(ok=False, error=error, permanent=True)
