"""The README stays true: its mapping examples compile and its `mapper` commands run."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mapper.api import compile_text
from mapper.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README, flags=re.S)

MAPPINGS = [text for lang, text in BLOCKS
            if lang == "yaml" and text.startswith("version: 1") and "objects:" in text
            and "..." not in text]
_PLACEHOLDER = re.compile(r"\b[A-Z]{2,}\b|\.\.\.")
_CANDIDATES = [line.strip() for lang, text in BLOCKS if lang in ("sh", "")
               for line in text.splitlines()]
_CANDIDATES += re.findall(r"`(mapper [^`]+)`", README)  # inline commands, e.g. the mappings table
_CANDIDATES += [m.strip() for m in re.findall(r"\.venv/bin/(mapper [^`\n]+)", README)]
_NEEDS_FILES = ("run", "test", "preview", "validate", "explain", "batch", "init", "eval", "sync",
                "sync-batch",
                "index")
# Servers run until SIGTERM: the README mentions them plainly, tests/test_serve*.py start them
# as real processes (readiness line, port 0) instead.
_LONG_RUNNING = ("serve",)


def _is_complete(command: str) -> bool:
    """A whole command, not a fragment quoted in prose such as `mapper run --records`."""
    words = command.split("#")[0].split()
    if len(words) < 2 or _PLACEHOLDER.search(command.split("#")[0]):
        return False
    return words[1] not in _NEEDS_FILES or any(w.startswith("mappings") for w in words)


COMMANDS = sorted({c for c in _CANDIDATES
                   if c.startswith("mapper ") and _is_complete(c)
                   and "--install-completion" not in c and "--help" not in c
                   and "--watch" not in c  # a watch runs until Ctrl-C: tests/test_watch.py
                   and c.split()[1] not in _LONG_RUNNING})


def test_readme_has_examples() -> None:
    assert len(MAPPINGS) >= 1
    assert len(COMMANDS) >= 40


def test_long_running_commands_are_mentioned_but_not_run() -> None:
    mentioned = [c for c in _CANDIDATES if c.startswith("mapper serve ") and _is_complete(c)]
    assert mentioned, "the README should show a complete `mapper serve` command"
    assert not [c for c in COMMANDS if c.split()[1] in _LONG_RUNNING]


@pytest.mark.parametrize("text", MAPPINGS, ids=[f"mapping-{i}" for i in range(len(MAPPINGS))])
def test_readme_mapping_compiles(text: str) -> None:
    plan, diags = compile_text(text, "README.md", base=ROOT)
    assert plan is not None, "\n".join(map(str, diags))


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = shlex.split(command.split("#")[0])[1:]
    args = args[:1] + [str(tmp_path / a) if a.startswith("out") else  # not the command name:
                       str(ROOT / a) if (ROOT / a).exists() else a  # `docs` is also a folder
                       for a in args[1:]]
    if any(("*" in a) for a in args):  # a shell glob the README relies on the shell to expand
        pattern = next(a for a in args if "*" in a)
        expanded = sorted(str(p) for p in ROOT.glob(pattern))
        assert expanded, pattern
        i = args.index(pattern)
        args = [*args[:i], *expanded, *args[i + 1:]]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 3), f"{command}: exit {result.exit_code}\n{result.output}"


def test_readme_exit_codes_match_the_cli() -> None:
    from mapper import cli

    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", README, flags=re.M)}
    assert documented >= {cli.EXIT_OK, cli.EXIT_MAPPING, cli.EXIT_USAGE, cli.EXIT_REJECTED,
                          cli.EXIT_IO, cli.EXIT_INTERRUPTED}


def test_readme_lists_every_bundled_job() -> None:
    for jobs_file in sorted((ROOT / "mappings").glob("*/jobs.yaml")):
        for job in yaml.safe_load(jobs_file.read_text())["jobs"]:
            mapping = (jobs_file.parent / job["mapping"]).relative_to(ROOT)
            assert str(mapping) in README, f"{mapping} is missing from the README table"


def test_readme_puts_mapper_on_the_path_before_the_first_bare_command() -> None:
    """Line by line on a fresh machine: the venv's bin is on PATH before `mapper ...` is typed."""
    shell_lines = [line.strip() for lang, text in BLOCKS if lang == "sh"
                   for line in text.splitlines()]
    first = next(i for i, line in enumerate(shell_lines) if line.startswith("mapper "))
    assert any(".venv/bin/activate" in line or 'PATH="$PWD/.venv/bin' in line
               for line in shell_lines[:first]), shell_lines[:first + 1]


def test_readme_install_names_the_distribution() -> None:
    import tomllib

    name = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    assert name == "twg-mapper"  # `mapper` on PyPI is an unrelated project
    assert f"`{name}`" in README
    assert "pipx install" in README and "uv tool install" in README


def _prose() -> str:
    """The README without its code blocks (a `#` line in a block is no heading)."""
    return re.sub(r"```.*?```", "", README, flags=re.S)


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_readme_links_resolve_to_headings() -> None:
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", _prose(), flags=re.M)}
    links = set(re.findall(r"\]\(#([^)]+)\)", README))
    assert links and not links - anchors, sorted(links - anchors)


def _command_fragments() -> list[str]:
    """Every `mapper ...` the README names: inline, and lines of code blocks."""
    fragments = re.findall(r"`(mapper [^`]+)`", _prose())
    for _, text in BLOCKS:
        for line in text.splitlines():
            line = line.strip().removeprefix("$ ")
            if re.match(r"mapper (--?\w|[a-z][\w-]*(\s|$))", line):
                fragments.append(line)
    return [f.split("#")[0] for f in fragments]


def _options(command: Any) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help", "-h"}


def test_readme_names_only_commands_and_options_that_exist() -> None:
    """`mapper state cursor --state FILE`, `mapper run --strict`: each command and option exists."""
    import typer

    from mapper.cli.lazy import load_all

    root = typer.main.get_command(app)
    load_all(root)
    wrong = []
    for fragment in _command_fragments():
        command, path, words = root, ["mapper"], fragment.split()[1:]
        while words and hasattr(command, "commands"):
            word = words.pop(0)
            if word == "--allow-path" and words:
                words.pop(0)
            elif not word.startswith("-") and not word.isupper() and word not in ("...", "…"):
                name = word.split("|")[0].replace("\\", "")
                if name not in command.commands:
                    wrong.append(f"{fragment}: no command {name!r}")
                    break
                command, path = command.commands[name], [*path, name]
            elif not word.startswith("-"):
                break
        known = _options(command)
        wrong += [f"{fragment}: {' '.join(path)} has no option {m[1]}" for w in words
                  if (m := re.match(r"^\[?(--?[a-zA-Z][\w-]*)", w)) and m[1] not in known]
    assert not wrong, "\n".join(wrong)


def test_readme_commands_table_lists_every_command() -> None:
    import typer

    table = _prose()[_prose().index("## Commands"):]
    table = table[:table.index("\n\n", table.index("| command |"))]
    named = set(re.findall(r"^\| `mapper ([a-z][\w-]*)", table, flags=re.M))
    from mapper.cli.lazy import load_all

    assert named == set(load_all(typer.main.get_command(app))), named


def test_readme_functions_table_names_every_custom_function() -> None:
    from mapper.functions import CUSTOM_FUNCTIONS

    section = README[README.index("### Custom functions"):README.index("### Validation")]
    missing = [name for name in CUSTOM_FUNCTIONS if f"`{name}" not in section]
    assert not missing, missing


def test_readme_paths_of_the_repository_exist() -> None:
    """`mappings/...`, `samples/...`, `benchmarks/...` named in a command or in backticks exist."""
    words = {w.strip("`'\",;:()") for f in _command_fragments() for w in f.split()}
    words |= set(re.findall(r"`((?:mappings|samples|benchmarks|docs|scripts|tests)/[^`\s]+)`", README))
    paths = {w.split("=")[-1] for w in words
             if re.match(r"(mappings|samples|benchmarks|docs|scripts|tests)/", w.split("=")[-1])}
    missing = sorted(p for p in paths if not any(c in p for c in "*<…{")
                     and not (ROOT / p.split("::")[0]).exists()
                     and not p.startswith("benchmarks/.data/"))  # made by benchmarks.run
    assert not missing, missing


def _is_mapping_like(path: Path) -> bool:
    """Not a `mapper serve` config (those have `routes:`), which `mapper validate` refuses."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return not (isinstance(document, dict) and "routes" in document)


def test_the_ci_workflow_and_the_pre_commit_hook_select_only_files_validate_reads() -> None:
    import fnmatch

    find = re.search(r"\$\(find mappings (.*?)\)", README)
    assert find, "the README's CI workflow lost its find command"
    names = re.findall(r"! -name '?([^' ]+)'?", find[1])
    paths = re.findall(r"! -path '([^']+)'", find[1])
    selected = [p for p in ROOT.glob("mappings/**/*.yaml")
                if not any(fnmatch.fnmatch(p.name, n) for n in names)
                and not any(fnmatch.fnmatch(str(p.relative_to(ROOT)), q) for q in paths)]
    hook = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0]
    hooked = [p for p in ROOT.glob("mappings/**/*.y*ml")
              if re.search(hook["files"], str(p.relative_to(ROOT)))
              and not re.search(hook["exclude"], str(p.relative_to(ROOT)))]
    assert selected and hooked
    wrong = sorted({str(p.relative_to(ROOT)) for p in [*selected, *hooked] if not _is_mapping_like(p)})
    assert not wrong, wrong
