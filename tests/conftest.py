"""Shared fixtures: isolated environment, local HTTP sites, a real SMTP server, the real model."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.config import HttpConfig
from monitor.http import make_client
from monitor.replay import LocalSite
from tests.helpers import ROOT, free_port


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("MONITOR_"):
            monkeypatch.delenv(name)


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with LocalSite() as local:
        yield local


@pytest.fixture
def mock_client() -> Callable[[Callable[[httpx.Request], httpx.Response]], httpx.Client]:
    def build(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
        return make_client(HttpConfig(timeout_seconds=5), transport=httpx.MockTransport(handler))
    return build


class SmtpServer:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []
        self.port = free_port()
        server = self

        class Handler:
            async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
                server.envelopes.append(envelope)
                server.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture(scope="session")
def classifier() -> Any:
    from monitor.classify import load_classifier
    from monitor.config import ClassifierConfig

    return load_classifier(ClassifierConfig(model=str(ROOT / "models" / "stance-topic")))


@pytest.fixture
def fixtures() -> Path:
    return Path(__file__).parent / "fixtures"
