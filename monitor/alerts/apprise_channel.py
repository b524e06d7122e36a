"""kind = "apprise": any apprise URL (Teams, Telegram, Matrix, ntfy, Discord, …) through that library.

The body is always sent as plain text (`body_format=TEXT`), so `<!channel>` in a statement reaches a
Slack URL escaped, never as a live mention. apprise retries nothing here (`retry=0` is its default):
the outbox owns retries and backoff. apprise does not report `Retry-After`, so a rate-limited
service is retried on our backoff alone. apprise uses `requests`, not our httpx client.
"""

from __future__ import annotations

import re
import sys
import warnings

from monitor.alerts.render import plain_text, subject
from monitor.config import ChannelConfig
from monitor.errors import ConfigError
from monitor.models import Alert, Delivery

if sys.version_info < (3, 13):
    # apprise's PGP shim imports the deprecated `imghdr`, which warns on import (fatal under
    # `-W error`); importing it once here, silenced, keeps that warning out of every send.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import imghdr  # noqa: F401

import apprise  # noqa: E402

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I)


class AppriseChannel:
    def __init__(self, config: ChannelConfig) -> None:
        self.name, self.timeout = config.name, config.timeout_seconds
        self.apprise = apprise.Apprise()
        for i, url in enumerate(config.urls):
            if not self.apprise.add(url):
                # the URL holds secrets: name its position and scheme only
                scheme = url.split("://", 1)[0] if "://" in url else "?"
                raise ConfigError([f"alerts.channels.{config.name}.urls[{i}]: apprise does not understand "
                                   f"this {scheme}:// URL (see https://appriseit.com/services/)"])

    def send(self, alert: Alert) -> Delivery:
        notify_type = apprise.NotifyType.INFO if alert.kind in ("digest", "notice") else apprise.NotifyType.WARNING
        result = self.apprise.notify(body=plain_text(alert), title=subject(alert), notify_type=notify_type,
                                     body_format=apprise.NotifyFormat.TEXT, timeout=self.timeout)
        if result:
            return Delivery(ok=True)
        lines = [_URL.sub("<url>", entry.message) for entry in result.logs()
                 if entry.level in ("WARNING", "ERROR", "CRITICAL")]
        failed = [r.name for r in result.results if r.status.name != "SUCCESS"]
        error = f"apprise {result.status.name.lower()} ({', '.join(failed) or 'no service'}): " + \
            ("; ".join(dict.fromkeys(lines)) or "no detail")
        return Delivery(ok=False, error=error[:500])
