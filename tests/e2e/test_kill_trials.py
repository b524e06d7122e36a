"""The daemon as a subprocess, killed with SIGKILL at random moments during delivery in 20 trials,
against local feeds and a slow local Slack receiver. Counts statements lost, alerts lost and
duplicates; a duplicate is allowed only with the same delivery_id (a resend after a kill)."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

from tests.alerts.receiver import Receiver
from tests.e2e.desk import ESCALATORY, Daemon, Desk
from tests.helpers import rss_source, wait_until, write_config

TRIALS = 20
PER_TRIAL = 3


def kill_during_delivery(daemon: Daemon, slack: Receiver, requests: int, extra: float) -> None:
    """SIGKILL once the receiver has seen `requests` requests and `extra` more seconds have passed:
    mid-request (the receiver answers after 0.15 s), just after an answer, or at the next row."""
    wait_until(lambda: len(slack.seen) >= requests or daemon.process.poll() is not None, 60,
               message="a delivery to kill the daemon in")
    assert daemon.process.poll() is None, daemon.output()
    time.sleep(extra)  # the random moment itself, not a wait for a condition
    daemon.kill()


def test_sigkill_at_random_moments_loses_nothing_and_duplicates_only_with_the_same_id(tmp_path: Path) -> None:
    rng = random.Random(5)
    desk, slack = Desk(tmp_path, feeds=1), Receiver(delay=0.15)
    try:
        config = write_config(tmp_path, rss_source("feed0", f"{desk.site.url}/feed0.xml", interval="1s"),
                              f'[alerts.channels.slack]\nkind = "slack"\nwebhook_url = "{slack.url}/slack"\n',
                              '[[alerts.rules]]\nname = "all"\nchannels = ["slack"]\n')
        added = 0
        for _ in range(TRIALS):
            for _ in range(PER_TRIAL):
                title, text = ESCALATORY[added % len(ESCALATORY)]
                desk.add("feed0", f"{title} #{added}", text)
                added += 1
            kill_during_delivery(Daemon(config), slack, len(slack.seen) + rng.randint(1, PER_TRIAL),
                                 rng.uniform(0, 0.2))
        final = Daemon(config)
        final.wait_started()
        wait_until(lambda: desk.settled(added), 60, message="every alert delivered after the last restart")
        assert final.stop() == 0, final.output()

        titles = {d: r.json()["text"] for r in slack.accepted for d in [r.delivery_id]}
        statements = desk.count("select count(distinct external_id) from statements")
        sent_ids = {r[0] for r in desk.query("select delivery_id from alerts where status = 'sent'")}
        accepted = Counter(slack.ids())
        lost_alerts = added - len(sent_ids & set(accepted))
        duplicates = sum(n - 1 for n in accepted.values())
        print(f"\n{TRIALS} kills: {added} statements, {added - statements} lost; {lost_alerts} alerts lost; "
              f"{duplicates} duplicates, all with the delivery id of the first send")
        assert statements == added and lost_alerts == 0
        assert len(set(titles.values())) == len(titles) == added     # one delivery id per statement
        assert desk.count("select count(*) from alerts where status != 'sent'") == 0
    finally:
        slack.stop()
        desk.stop()
