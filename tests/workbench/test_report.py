"""`monitor report`: a valid PNG (and SVG, HTML) with the expected series, drawn offline."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.store import open_db
from monitor.workbench.report import build_figure, load_report
from tests.helpers import ROOT
from tests.workbench import data

pytest.importorskip("matplotlib", reason="install the report extra (make install does)")


@pytest.fixture
def db_config(tmp_path: Path) -> Path:
    data.build(tmp_path / "monitor.db").conn.close()
    config = tmp_path / "monitor.toml"
    config.write_text(f'[monitor]\ndatabase = "{tmp_path / "monitor.db"}"\n', encoding="utf-8")
    return config


def monitor(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "report", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_report_writes_a_valid_png(db_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "escalation.png"
    result = monitor(db_config, "--since", "2025-09-01", "--actor", "Gustavo Petro", "--actor", "US Treasury",
                     "--output", str(out))
    assert result.returncode == 0, result.stderr
    raw = out.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR"
    width, height = struct.unpack(">II", raw[16:24])
    assert width > 800 and height > 400
    import matplotlib.image

    pixels = matplotlib.image.imread(str(out))   # decodes the whole image: not truncated
    assert pixels.shape[:2] == (height, width)


def test_report_has_the_expected_series(db_config: Path) -> None:
    db = open_db(db_config.with_name("monitor.db"))
    report = load_report(db, data.START.date(), ("Gustavo Petro", "US Treasury"))
    petro, treasury = report.series
    assert len(petro.days) == len(treasury.days) == 6
    assert petro.mean_score == pytest.approx([(0.84 + 0.08) / 2] * 6)
    assert [p.cue for p in petro.alerted] == ["aranceles de represalia"]   # the one alerted statement
    assert len(petro.de_escalatory) == 6 and not treasury.de_escalatory   # the thaw is drawn too
    figure = build_figure(report)
    axes = figure.axes
    assert [ax.get_title(loc="left") for ax in axes] == ["Gustavo Petro", "US Treasury"]
    assert list(axes[0].lines[0].get_ydata()) == pytest.approx(petro.mean_score)
    assert [len(c.get_offsets()) for c in axes[0].collections] == [1, 6]   # alerts, de-escalatory
    assert [t.get_text() for t in axes[0].texts] == ["aranceles de represalia"]


@pytest.mark.parametrize("suffix", [".svg", ".html"])
def test_report_other_formats(db_config: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"r{suffix}"
    assert monitor(db_config, "--since", "2025-09-01", "--output", str(out)).returncode == 0
    text = out.read_text(encoding="utf-8")
    expected = ["<svg"] if suffix == ".svg" else ["data:image/png;base64,", "aranceles de represalia"]
    assert all(part in text for part in expected)


def test_report_explains_an_unknown_actor(db_config: Path, tmp_path: Path) -> None:
    result = monitor(db_config, "--since", "2025-09-01", "--actor", "Nobody", "--output", str(tmp_path / "x.png"))
    assert result.returncode == 1 and "'Nobody'" in result.stderr and "Gustavo Petro" in result.stderr
