import json
from collections.abc import Callable

import httpx

from monitor.alerts.email import EmailChannel
from monitor.alerts.render import html_body, plain_text, slack_blocks
from monitor.alerts.rules import matches, targets
from monitor.alerts.slack import SlackChannel
from monitor.config import ChannelConfig, RuleConfig
from monitor.models import Alert, Classification, StoredStatement

HOSTILE = "<!channel> <@U024BE7LH> read <https://evil.example|this> & <script>alert(1)</script> Sanción"
Client = Callable[[Callable[[httpx.Request], httpx.Response]], httpx.Client]


def alert(text: str = HOSTILE, kind: str = "new", previous: str | None = None, stance: str = "escalatory",
          score: float = 0.91) -> Alert:
    c = Classification(stance, {"escalatory": score}, ("sanctions", "legal"), score, score >= 0.5,
                       ("imposed sanctions",), "stance-topic/1")
    s = StoredStatement(id=7, source_id="us-treasury", external_id="x1", text=text, url="https://t.example/sb0292",
                        title="Treasury sanctions <b>officials</b>", actor="US Treasury", lang="en",
                        published_at="2025-10-24T15:10:00Z", fetched_at="2025-10-24T15:10:05Z", classification=c)
    return Alert(7, "d" * 32, "escalation", "desk", kind, 1, s, previous, thread_id="t" * 32)


def test_slack_text_cannot_ping_or_link() -> None:
    payload = json.dumps(slack_blocks(alert()))
    assert "<!channel>" not in payload and "<@U024BE7LH>" not in payload and "<https://evil" not in payload
    assert "&lt;!channel&gt;" in payload and "&amp;" in payload
    assert "<https://t.example/sb0292|Open the statement>" in payload


def test_slack_blocks_show_the_evidence() -> None:
    payload = slack_blocks(alert())
    fields = " ".join(f["text"] for f in payload["blocks"][1]["fields"])
    for expected in ("US Treasury", "escalatory", "0.91", "sanctions, legal", "imposed sanctions"):
        assert expected in fields


def test_email_html_is_escaped() -> None:
    body = html_body(alert())
    assert "<script>" not in body and "&lt;script&gt;" in body and "&lt;b&gt;officials" in body
    assert "Sanción" in plain_text(alert())


def test_rules_filter_on_every_key() -> None:
    a = alert().statement
    assert matches(RuleConfig("r", ("c",)), a)
    assert matches(RuleConfig("r", ("c",), escalation=True, min_score=0.9, topics=("trade", "legal"),
                              actors=("us treasury",)), a)
    assert not matches(RuleConfig("r", ("c",), min_score=0.95), a)
    assert not matches(RuleConfig("r", ("c",), topics=("trade",)), a)
    assert not matches(RuleConfig("r", ("c",), escalation=False), a)
    assert not matches(RuleConfig("r", ("c",), sources=("other",)), a)
    assert targets((RuleConfig("r", ("a", "b", "a")),), a) == [("r", "a"), ("r", "b")]


def slack(mock_client: Client, handler: Callable[[httpx.Request], httpx.Response]) -> SlackChannel:
    return SlackChannel(ChannelConfig("desk", "slack", webhook_url="https://hooks.slack.example/T/B/secret"),
                        mock_client(handler))


def test_slack_delivery_outcomes(mock_client: Client) -> None:
    assert slack(mock_client, lambda r: httpx.Response(200, text="ok")).send(alert()).ok
    limited = slack(mock_client, lambda r: httpx.Response(429, headers={"retry-after": "7"})).send(alert())
    assert not limited.ok and limited.retry_after == 7 and not limited.permanent
    down = slack(mock_client, lambda r: httpx.Response(500, text="oops")).send(alert())
    assert not down.ok and not down.permanent and "HTTP 500" in (down.error or "")
    gone = slack(mock_client, lambda r: httpx.Response(404, text="no_service")).send(alert())
    assert gone.permanent


def test_slack_errors_never_show_the_webhook_url(mock_client: Client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)
    delivery = slack(mock_client, handler).send(alert())
    assert not delivery.ok and "secret" not in (delivery.error or "") and "hooks" not in (delivery.error or "")


def test_email_has_text_and_html_parts_and_threads_follow_ups(smtp_server) -> None:  # type: ignore[no-untyped-def]
    channel = EmailChannel(ChannelConfig("mail", "email", host="127.0.0.1", port=smtp_server.port,
                                         from_addr="monitor@example.org", to=("desk@example.org",)))
    assert channel.send(alert()).ok
    assert channel.send(alert(kind="edited", previous="Old text")).ok
    first, edited = smtp_server.messages
    assert first["Message-ID"] == f"<{'d' * 32}@statement-monitor>"
    assert edited["In-Reply-To"] == f"<{'t' * 32}@statement-monitor>"
    assert edited["Subject"].startswith("EDITED: [escalatory] US Treasury")
    parts = {p.get_content_type(): p.get_content() for p in first.walk() if not p.is_multipart()}
    assert "Sanción" in parts["text/plain"] and "&lt;script&gt;" in parts["text/html"]
    assert smtp_server.envelopes[0].rcpt_tos == ["desk@example.org"]


def test_email_unreachable_server_is_a_retryable_failure() -> None:
    from tests.helpers import free_port

    channel = EmailChannel(ChannelConfig("mail", "email", host="127.0.0.1", port=free_port(),
                                         from_addr="m@example.org", to=("d@example.org",), timeout_seconds=2))
    delivery = channel.send(alert())
    assert not delivery.ok and not delivery.permanent and "unreachable" in (delivery.error or "")
