"""Make the README's screenshots (`docs/img/*.svg`) from real mapper commands.

    python scripts/screenshots.py            # writes docs/img/*.svg
    python scripts/screenshots.py --out DIR  # elsewhere (tests/test_screenshots.py compares)

Each command runs in this process through the real command line, with its output recorded by
a rich console 100 columns wide, and is exported with rich's `Console.export_svg`. What would
differ between machines or runs is fixed: the commands run in a scratch folder holding copies
of the bundled files they read (so every path is relative), the environment (NO_COLOR,
COLUMNS, TERM) is not read, and the run's timing is written as `took 0.01s`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 100
BROKEN = """\
# yaml-language-server: $schema=../mapping.schema.json
version: 1
objects:
  - name: commit
    type: atlassian:comit
    each: commits[]
    fields:
      id: id
      displayName: first_line(message
      url: url
      createdAt: to_rfc3339(timestamp)
      lastUpdatedAt: to_rfc3339(timestamp)
      permissions: permissions([principal('CONTAINER')])
"""
PUSH = ["mappings/github/push.yaml", "samples/github/push-webhook.json"]
SHOTS: dict[str, list[str]] = {
    "validate": ["validate", "my-mapping.yaml"],
    "preview": ["preview", *PUSH, "-n", "2"],
    "explain": ["explain", PUSH[0], "samples/github/push-late-commit.json", "--field", "At"],
    "run": ["run", *PUSH, "-o", "out/push.jsonl"],
}
"""Screenshot name -> the mapper command it shows."""
_TIMING = re.compile(r"took \d+\.\d+s \([\d,]+ records/s\)")


def make(out_dir: Path) -> list[Path]:
    """Write one SVG per entry of SHOTS into `out_dir`; return the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with _scratch() as here:
        for name, args in SHOTS.items():
            svg = _shot(here, args)
            path = out_dir / f"{name}.svg"
            path.write_text(svg, encoding="utf-8")
            written.append(path)
    return written


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    """A folder with the files the commands read, as the current directory."""
    before = Path.cwd()
    with tempfile.TemporaryDirectory() as name:
        here = Path(name)
        shutil.copytree(ROOT / "mappings/github", here / "mappings/github")
        (here / "samples/github").mkdir(parents=True)
        shutil.copy(ROOT / PUSH[1], here / PUSH[1])
        shutil.copy(ROOT / "mapping.schema.json", here / "mapping.schema.json")
        (here / "my-mapping.yaml").write_text(BROKEN, encoding="utf-8")
        push = json.loads((ROOT / PUSH[1]).read_text(encoding="utf-8"))
        del push["commits"][2]["timestamp"]  # explain shows what that does
        (here / "samples/github/push-late-commit.json").write_text(json.dumps(push, indent=2))
        os.chdir(here)
        try:
            yield here
        finally:
            os.chdir(before)


def _shot(here: Path, args: list[str]) -> str:
    from rich.console import Console
    from rich.segment import Segment

    from mapper import cli
    from mapper.cli import app

    console = Console(
        width=WIDTH,
        record=True,
        force_terminal=True,
        color_system="truecolor",
        no_color=False,
        legacy_windows=False,
        file=io.StringIO(),
        highlight=False,
        soft_wrap=False,  # long lines wrap at 100 columns, as a terminal shows them
        _environ={},
    )
    saved = [lazy._console for lazy in (cli.out, cli.err)]
    for lazy in (cli.out, cli.err):
        object.__setattr__(lazy, "_console", console)
    try:
        console.print(f"[bold]$ mapper {' '.join(args)}[/]")
        with contextlib.suppress(SystemExit):
            app(args, prog_name="mapper")
    finally:
        for lazy, old in zip((cli.out, cli.err), saved, strict=True):
            object.__setattr__(lazy, "_console", old)
    buffer = console._record_buffer  # the timing varies from run to run
    buffer[:] = [Segment(_TIMING.sub("took 0.01s (400 records/s)", s.text), s.style, s.control)
                 for s in buffer]
    return console.export_svg(title=f"mapper {args[0]}")


def main() -> None:
    """Parse the options and write the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs/img", help="output folder")
    options = parser.parse_args()
    for path in make(options.out):
        sys.stdout.write(f"{path}\n")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
