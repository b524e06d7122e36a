"""The webhook, Slack bot-token and apprise channels against a local receiver that injects faults."""

import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest

from monitor.alerts.slack import SlackChannel
from monitor.alerts.webhook import WebhookChannel, payload
from monitor.config import ChannelConfig, HttpConfig
from monitor.http import make_client
from tests.alerts.receiver import Receiver
from tests.alerts.test_alerts import alert


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def webhook(receiver: Receiver, timeout: float = 5) -> WebhookChannel:
    config = ChannelConfig("hook", "webhook", webhook_url=f"{receiver.url}/hook", secret="s3cret",
                           timeout_seconds=timeout)
    return WebhookChannel(config, make_client(HttpConfig(timeout_seconds=timeout)))


def test_webhook_payload_is_versioned_and_signed(receiver: Receiver) -> None:
    assert webhook(receiver).send(alert(kind="edited", previous="Old words here")).ok
    (got,) = receiver.accepted
    expected = "sha256=" + hmac.new(b"s3cret", got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-signature"] == expected and got.delivery_id == "d" * 32
    body = got.json()
    assert body["version"] == 1 and body["delivery_id"] == "d" * 32 and body["kind"] == "edited"
    assert body["statement"]["classification"]["stance"] == "escalatory"
    assert body["thread_id"] == "t" * 32 and {"op": "-", "text": "Old words here"} in body["diff"]
    assert set(body) == set(payload(alert()))  # every kind has the same keys


@pytest.mark.parametrize("fault, retry_after, permanent", [
    (500, None, False), (429, 7.0, False), ("reset", None, False), ("timeout", None, False), (400, None, True)])
def test_webhook_faults(receiver: Receiver, fault: object, retry_after: float | None, permanent: bool) -> None:
    receiver.script, receiver.retry_after = [fault], "7"
    delivery = webhook(receiver, timeout=1).send(alert())
    assert not delivery.ok and delivery.retry_after == retry_after and delivery.permanent == permanent
    assert receiver.url not in (delivery.error or "")


def bot(receiver: Receiver) -> SlackChannel:
    config = ChannelConfig("desk", "slack", token="xoxb-secret", slack_channel="C1", api_base=receiver.url)
    return SlackChannel(config, make_client(HttpConfig(timeout_seconds=5)))


def test_slack_bot_posts_blocks_and_threads_follow_ups(receiver: Receiver) -> None:
    from dataclasses import replace

    first = bot(receiver).send(alert())
    assert first.ok and first.extra["remote_ref"] == "1730000000.000001"
    edited = replace(alert(kind="edited", previous="Old"), thread_ref=first.extra["remote_ref"])
    assert bot(receiver).send(edited).ok
    original, follow_up = (r.json() for r in receiver.accepted)
    assert receiver.accepted[0].headers["authorization"] == "Bearer xoxb-secret"
    assert original["channel"] == "C1" and "thread_ts" not in original and original["blocks"]
    assert follow_up["thread_ts"] == "1730000000.000001" and "<!channel>" not in json.dumps(follow_up)


def test_slack_bot_api_errors(receiver: Receiver, mock_client) -> None:  # type: ignore[no-untyped-def]
    import httpx

    def answer(error: str) -> SlackChannel:
        config = ChannelConfig("desk", "slack", token="xoxb-secret", slack_channel="C1")
        return SlackChannel(config, mock_client(lambda r: httpx.Response(200, json={"ok": False, "error": error},
                                                                         headers={"retry-after": "30"})))
    gone = answer("channel_not_found").send(alert())
    assert not gone.ok and gone.permanent and "channel_not_found" in (gone.error or "")
    limited = answer("ratelimited").send(alert())
    assert not limited.permanent and limited.retry_after == 30
    receiver.script = [429]
    assert bot(receiver).send(alert()).retry_after == 1


def test_apprise_sends_plain_text_and_reports_failures_without_the_url(receiver: Receiver) -> None:
    from monitor.alerts.apprise_channel import AppriseChannel

    url = f"json://127.0.0.1:{receiver.server.server_address[1]}/apprise"
    channel = AppriseChannel(ChannelConfig("other", "apprise", urls=(url,), timeout_seconds=5))
    assert channel.send(alert()).ok
    body = receiver.accepted[0].json()
    assert body["title"].startswith("[escalatory] US Treasury") and "<!channel>" in body["message"]
    receiver.script = [500]
    failed = channel.send(alert())
    assert not failed.ok and "apprise failure" in (failed.error or "") and "127.0.0.1:" not in (failed.error or "")


def test_apprise_refuses_an_unknown_url() -> None:
    from monitor.alerts.apprise_channel import AppriseChannel
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError, match=r"urls\[0\]: apprise does not understand this nope:// URL"):
        AppriseChannel(ChannelConfig("other", "apprise", urls=("nope://token@x",)))
