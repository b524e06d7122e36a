"""The README opens with the two commands, and the public surface is what __init__ exports."""

import inspect

import monitor
from tests.helpers import ROOT


def test_readme_opens_with_make_run_and_make_test() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_code = readme.split("```")[1]
    assert "make run" in first_code and "make test" in first_code
    for tool in ("sqlite3", "sqlite-utils", "datasette", "make demo"):
        assert tool in readme


def test_public_surface() -> None:
    public = {name for name, value in vars(monitor).items()
              if not name.startswith("_") and not inspect.ismodule(value)}
    assert set(monitor.__all__) - {"__version__"} == public
