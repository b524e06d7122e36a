"""kind = "slack": an incoming webhook, or a bot token with chat.postMessage (which threads
follow-ups under the original message), through the shared httpx client."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from monitor.alerts.render import slack_blocks
from monitor.config import ChannelConfig
from monitor.models import Alert, Delivery

# chat.postMessage errors that retrying cannot fix (https://api.slack.com/methods/chat.postMessage)
PERMANENT_API_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "not_authed",
                        "account_inactive", "token_revoked", "no_permission", "missing_scope", "invalid_blocks",
                        "msg_too_long", "restricted_action"}


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header, in either of its forms (seconds or an HTTP date)."""
    value = response.headers.get("retry-after", "").strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds()) if when.tzinfo else None


class SlackChannel:
    def __init__(self, config: ChannelConfig, client: httpx.Client) -> None:
        assert config.webhook_url or (config.token and config.slack_channel)
        self.name, self.config, self.client, self.timeout = config.name, config, client, config.timeout_seconds

    def send(self, alert: Alert) -> Delivery:
        body = slack_blocks(alert)
        headers = {"X-Delivery-Id": alert.delivery_id}
        if self.config.token:
            url = self.config.api_base.rstrip("/") + "/chat.postMessage"
            headers["Authorization"] = f"Bearer {self.config.token}"
            body["channel"] = self.config.slack_channel
            if alert.thread_ref and alert.kind in ("edited", "deleted"):
                body["thread_ts"] = alert.thread_ref
                body["reply_broadcast"] = True  # a correction must be seen, not hidden in the thread
            what = "Slack chat.postMessage"
        else:
            url, what = self.config.webhook_url or "", "Slack webhook"
        try:
            response = self.client.post(url, json=body, timeout=self.timeout, headers=headers)
        except httpx.HTTPError as exc:
            # the URL and token are secrets: name the error class, never the request
            return Delivery(ok=False, error=f"{what} unreachable ({type(exc).__name__})")
        if response.status_code == 429 or response.status_code >= 500:
            return Delivery(ok=False, error=_error(what, response), retry_after=retry_after(response))
        if not response.is_success:
            return Delivery(ok=False, error=_error(what, response),
                            permanent=response.status_code in (400, 401, 403, 404, 410))
        return self._api_outcome(response) if self.config.token else Delivery(ok=True)

    def _api_outcome(self, response: httpx.Response) -> Delivery:
        """chat.postMessage answers 200 with {"ok": false, "error": ...} for most failures."""
        try:
            data = response.json()
        except ValueError:
            return Delivery(ok=False, error="Slack chat.postMessage answered with something that is not JSON")
        if data.get("ok"):
            return Delivery(ok=True, extra={"remote_ref": str(data.get("ts") or "")})
        code = str(data.get("error") or "unknown_error")
        return Delivery(ok=False, error=f"Slack chat.postMessage refused the message: {code}",
                        permanent=code in PERMANENT_API_ERRORS,
                        retry_after=retry_after(response) if code == "ratelimited" else None)


def _error(what: str, response: httpx.Response) -> str:
    body = response.text[:200].strip()
    return f"{what} answered HTTP {response.status_code}" + (f": {body}" if body else "")
