"""The made-up alert that `monitor alerts test CHANNEL` sends."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.models import Alert, Classification, StoredStatement


def sample_alert(channel: str) -> Alert:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    statement = StoredStatement(
        id=0, source_id="test", external_id="test", url=None, title="Test message from Statement Monitor",
        text="This is a test alert. If you can read it, the channel works. <!channel> must not ping anyone.",
        actor="Statement Monitor", lang="en", published_at=now, fetched_at=now,
        classification=Classification(stance="neutral", stance_scores={"escalatory": 0.0, "de-escalatory": 0.0,
                                      "neutral": 1.0}, topics=("other",), escalation_score=0.0,
                                      escalation=False, cues=(), model="test"))
    return Alert(id=0, delivery_id=f"test-{channel}-{now}", rule="test", channel=channel, kind="new",
                 attempts=1, statement=statement)
