"""The README's screenshots (`docs/img/*.svg`) are what `scripts/screenshots.py` makes now: a
change to what a command prints fails here until they are made again."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "screenshots.py"
REMAKE = "run `python scripts/screenshots.py` and commit docs/img"


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("screenshots", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("shots")
    return {p.name: p.read_text(encoding="utf-8") for p in _script().make(out)}


@pytest.mark.parametrize("name", ["validate.svg", "preview.svg", "explain.svg", "run.svg"])
def test_screenshot_is_up_to_date(made: dict[str, str], name: str) -> None:
    checked_in = ROOT / "docs" / "img" / name
    assert checked_in.exists(), REMAKE
    assert made[name] == checked_in.read_text(encoding="utf-8"), REMAKE


@pytest.mark.parametrize(("name", "shown"), [
    ("validate.svg", ["object.unknown-type", "did&#160;you&#160;mean&#160;&#x27;atlassian:commit"]),
    ("explain.svg", ["commit[2]&#160;→&#160;atlassian:commit", "`timestamp`&#160;is&#160;missing"]),
    ("run.svg", ["run&#160;summary", "took&#160;0.01s"]),
    ("preview.svg", ["atlassian:repository"]),
])
def test_screenshots_show_the_real_output_without_machine_details(
    made: dict[str, str], name: str, shown: list[str]
) -> None:
    svg = made[name]
    for text in shown:
        assert text in svg
    assert str(ROOT) not in svg and "/tmp" not in svg
    assert not re.search(r"took&#160;(?!0\.01s)", svg)


def test_readme_shows_every_screenshot() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("validate", "preview", "explain", "run"):
        assert f"docs/img/{name}.svg" in readme
