"""kind = "slack": an incoming webhook, POSTed through the shared httpx client."""

from __future__ import annotations

import httpx

from monitor.alerts.render import slack_blocks
from monitor.config import ChannelConfig
from monitor.models import Alert, Delivery


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    return float(value) if value.replace(".", "", 1).isdigit() else None


class SlackChannel:
    def __init__(self, config: ChannelConfig, client: httpx.Client) -> None:
        assert config.webhook_url
        self.name, self.url, self.client, self.timeout = config.name, config.webhook_url, client, \
            config.timeout_seconds

    def send(self, alert: Alert) -> Delivery:
        try:
            response = self.client.post(self.url, json=slack_blocks(alert), timeout=self.timeout,
                                        headers={"X-Delivery-Id": alert.delivery_id})
        except httpx.HTTPError as exc:
            # the URL is a secret: name the error class, never the request
            return Delivery(ok=False, error=f"Slack webhook unreachable ({type(exc).__name__})")
        if response.is_success:
            return Delivery(ok=True)
        body = response.text[:200].strip()
        error = f"Slack webhook answered HTTP {response.status_code}" + (f": {body}" if body else "")
        if response.status_code == 429 or response.status_code >= 500:
            return Delivery(ok=False, error=error, retry_after=retry_after(response))
        return Delivery(ok=False, error=error, permanent=response.status_code in (400, 403, 404, 410))
