"""Takes the README's pictures: the escalation dashboard (headless Chromium from Debian's
`chromium` package) and a report (`monitor report`), on a copy of the demo database.

    make demo && .venv/bin/python docs/screenshots.py

Datasette runs here on 127.0.0.1 with the shipped metadata minus its `allow` blocks, only for the
time of the screenshot, because a headless browser cannot log in.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from monitor.config import load_config  # noqa: E402
from monitor.store import open_db  # noqa: E402
from monitor.store.rollup import refresh_rollup  # noqa: E402
from monitor.workbench.serve import build_metadata, command  # noqa: E402

IMAGES = ROOT / "docs" / "images"
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", "--virtual-time-budget=15000"]


def strip_allow(node: object) -> None:
    if isinstance(node, dict):
        node.pop("allow", None)
        for value in node.values():
            strip_allow(value)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copy(ROOT / "demo" / "out" / "demo.db", folder / "monitor.db")
        refresh_rollup(open_db(folder / "monitor.db"))
        (folder / "monitor.toml").write_text(f'[monitor]\ndatabase = "{folder / "monitor.db"}"\n')
        config = load_config(folder / "monitor.toml")
        metadata = build_metadata(yaml.safe_load((ROOT / "datasette" / "metadata.yml").read_text()), config)
        strip_allow(metadata)
        (folder / "meta.yml").write_text(yaml.safe_dump(metadata, allow_unicode=True))
        server = subprocess.Popen(command(config, folder / "meta.yml", "127.0.0.1", 8799),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen("http://127.0.0.1:8799/-/static/app.css", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            subprocess.run([*CHROMIUM, f"--user-data-dir={folder / 'chrome'}", "--window-size=1280,1500",
                            f"--screenshot={IMAGES / 'dashboard.png'}",
                            "http://127.0.0.1:8799/-/dashboards/escalation?since=2025-09-01"],
                           check=True, timeout=120, capture_output=True)
        finally:
            server.terminate()
            server.wait(timeout=10)
        subprocess.run([sys.executable, "-m", "monitor", "--config", str(folder / "monitor.toml"), "report",
                        "--since", "2025-09-01", "--output", str(IMAGES / "report.png")], check=True)


if __name__ == "__main__":
    main()
