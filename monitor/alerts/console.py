"""kind = "console": prints each alert to standard output (the default channel of `make run`)."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from monitor.alerts.render import plain_text
from monitor.models import Alert, Delivery

_LOCK = threading.Lock()


class ConsoleChannel:
    def __init__(self, name: str, stream: TextIO | None = None) -> None:
        self.name, self.stream = name, stream

    def send(self, alert: Alert) -> Delivery:
        stream = self.stream or sys.stdout
        rule = "=" * 78
        with _LOCK:
            stream.write(f"{rule}\nALERT ({self.name})\n{plain_text(alert)}\n{rule}\n")
            stream.flush()
        return Delivery(ok=True)
