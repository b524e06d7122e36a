"""--json, --nl, --csv and --tsv, as sqlite-utils prints rows, on `sources` and `alerts list`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.output import format_rows
from tests.workbench import data

ROWS = [{"id": 1, "actor": "Cancillería, Colombia", "error": None}, {"id": 2, "actor": 'say "no"', "error": "x"}]


@pytest.mark.parametrize("fmt", ["json", "nl", "csv", "tsv"])
def test_formats_round_trip(fmt: str) -> None:
    text = format_rows(ROWS, fmt)
    if fmt == "json":
        assert json.loads(text) == ROWS
    elif fmt == "nl":
        assert [json.loads(line) for line in text.splitlines()] == ROWS
    else:
        parsed = list(csv.DictReader(io.StringIO(text), delimiter="," if fmt == "csv" else "\t"))
        assert [r["actor"] for r in parsed] == [r["actor"] for r in ROWS] and parsed[0]["error"] == ""


def test_cli_prints_rows_in_each_format(tmp_path: Path) -> None:
    data.build(tmp_path / "monitor.db").conn.close()
    config = tmp_path / "monitor.toml"
    config.write_text(f'[monitor]\ndatabase = "{tmp_path / "monitor.db"}"\n', encoding="utf-8")
    run = lambda *args: CliRunner().invoke(cli, ["--config", str(config), *args])  # noqa: E731
    sources = [json.loads(line) for line in run("sources", "--nl").output.splitlines()]
    assert {s["id"] for s in sources} == {"presidencia", "treasury"}
    alerts = list(csv.DictReader(io.StringIO(run("alerts", "list", "--csv").stdout)))
    assert {a["status"] for a in alerts} == {"sent", "failed"}
    assert json.loads(run("alerts", "list", "--status", "failed", "--json").stdout)[0]["last_error"].startswith("HTTP")
