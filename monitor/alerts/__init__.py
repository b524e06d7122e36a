"""Alert channels: the Channel protocol and how the configured channels are built."""

from __future__ import annotations

from typing import Protocol, TextIO

import httpx

from monitor.config import ChannelConfig
from monitor.models import Alert, Delivery


class Channel(Protocol):
    name: str

    def send(self, alert: Alert) -> Delivery: ...


def build_channel(config: ChannelConfig, client: httpx.Client, stream: TextIO | None = None) -> Channel:
    from monitor.alerts.console import ConsoleChannel
    from monitor.alerts.email import EmailChannel
    from monitor.alerts.slack import SlackChannel
    from monitor.alerts.webhook import WebhookChannel

    if config.kind == "console":
        return ConsoleChannel(config.name, stream)
    if config.kind == "slack":
        return SlackChannel(config, client)
    if config.kind == "email":
        return EmailChannel(config)
    if config.kind == "webhook":
        return WebhookChannel(config, client)
    if config.kind == "apprise":
        from monitor.alerts.apprise_channel import AppriseChannel  # imports apprise only when used

        return AppriseChannel(config)
    raise ValueError(f"channel kind {config.kind!r} has no implementation")


def build_channels(configs: tuple[ChannelConfig, ...], client: httpx.Client,
                   stream: TextIO | None = None) -> dict[str, Channel]:
    """The enabled channels by name."""
    return {c.name: build_channel(c, client, stream) for c in configs if c.enabled}
