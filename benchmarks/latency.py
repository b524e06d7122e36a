"""Alert latency, end to end: publication on a feed -> receipt by a Slack receiver.

Starts a local RSS feed and a local Slack webhook receiver, runs the real daemon
(`python -m monitor run`) polling the feed every 2 s, publishes 50 statements one by one at
irregular moments, and prints p50/p95/max of (receipt time - publication time). Publication
time is when the item appeared in the feed; receipt time is when the receiver got the POST.

    .venv/bin/python benchmarks/latency.py [--n 50] [--interval 2s] [--gap 0.5]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.replay import Item, LocalSite, Request, Response, conditional, rss_document  # noqa: E402

TEXTS = [
    "The Treasury today imposed sanctions on the defence minister and froze all of his assets.",
    "El Gobierno anunció aranceles del 50 por ciento a todas las importaciones del país vecino.",
    "The Minister will attend the cabinet meeting at 10:00 and meet the agriculture committee.",
    "We welcome the agreement to resume talks and thank our partners for their constructive spirit.",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="statements to publish")
    parser.add_argument("--interval", default="2s", help="the source's poll interval")
    parser.add_argument("--gap", type=float, default=0.5, help="mean seconds between two publications")
    args = parser.parse_args()

    items: list[Item] = []
    published: dict[str, float] = {}
    received: dict[str, float] = {}
    lock = threading.Lock()

    def feed(request: Request) -> Response:
        with lock:
            current = list(items)
        body = rss_document("Ministry", "https://www.example.gov/", "en", current, site.url)
        return conditional(request, body, "application/rss+xml", max((i.published for i in current), default=None))

    def slack(request: Request) -> Response:
        text = json.dumps(request.json(), ensure_ascii=False)
        with lock:
            for key in published:
                if key in text and key not in received:
                    received[key] = request.at
        return 200, {"Content-Type": "text/plain"}, b"ok"

    with LocalSite() as site, tempfile.TemporaryDirectory() as tmp:
        site.routes["/feed.xml"], site.routes["/slack"] = feed, slack
        config = Path(tmp) / "monitor.toml"
        config.write_text(
            f'[monitor]\ndatabase = "{Path(tmp) / "monitor.db"}"\n'
            f'[classifier]\nmodel = "{ROOT / "models" / "stance-topic"}"\n'
            '[daemon]\nclassify_interval = "30s"\nalerts_interval = "10s"\njitter = "0s"\n'
            f'[[sources]]\nid = "ministry"\nkind = "rss"\nurl = "{site.url}/feed.xml"\nactor = "Ministry"\n'
            f'interval = "{args.interval}"\n'
            f'[alerts]\nmax_age = "0"\n[alerts.channels.slack]\nkind = "slack"\nwebhook_url = "{site.url}/slack"\n'
            '[[alerts.rules]]\nname = "all"\nchannels = ["slack"]\n', encoding="utf-8")
        log = open(Path(tmp) / "daemon.log", "w")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        daemon = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                                  stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        try:
            deadline = time.monotonic() + 180
            while "monitor running" not in (Path(tmp) / "daemon.log").read_text():
                if daemon.poll() is not None or time.monotonic() > deadline:
                    sys.exit("the daemon did not start:\n" + (Path(tmp) / "daemon.log").read_text())
                time.sleep(0.1)
            rng = random.Random(1)
            for n in range(args.n):
                key = f"Statement {n:03d}"
                with lock:
                    published[key] = time.time()
                    items.append(Item("feed", f"item-{n}", key, datetime.now(UTC), TEXTS[n % 4][:80],
                                      f"<p>{TEXTS[n % 4]}</p>"))
                time.sleep(rng.uniform(0, 2 * args.gap))
            deadline = time.monotonic() + 60
            while len(received) < args.n and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            daemon.terminate()
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                print("the daemon did not stop within 30 s of SIGTERM; its log ends:\n"
                      + (Path(tmp) / "daemon.log").read_text()[-3000:])
            log.close()
    latencies = [received[k] - published[k] for k in published if k in received]
    print(f"{len(latencies)}/{args.n} statements received; source polled every {args.interval}; "
          f"publication -> Slack receipt:")
    if latencies:
        print(f"  p50 {percentile(latencies, 50):.2f} s   p95 {percentile(latencies, 95):.2f} s   "
              f"max {max(latencies):.2f} s   mean {sum(latencies) / len(latencies):.2f} s")
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
