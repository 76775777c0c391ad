"""A `mapper run` on a plan from the compiled-mapping cache starts light: a clean run imports no
pydantic, models, rich, YAML or compiler; a record that needs the reference path loads them
then and gets exactly the diagnostics of a run that compiled the mapping afresh."""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.console import Console

from mapper.api import apply
from mapper.cli import plain, render
from mapper.engine.cache import LazyModel, freeze, thaw
from mapper.engine.plans import compile_path
from mapper.errors import Diagnostic, SourceSpan
from mapper.model.advisories import ADVISORS

HEAVY = ("pydantic", "rich", "yaml", "mapper.language.compiler", "mapper.functions.docs")

# run the console entry point, then list the modules loaded (on stderr, after the run's output)
PROBE = textwrap.dedent("""\
    import atexit, sys
    atexit.register(lambda: sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n"))
    sys.argv = ["mapper", *sys.argv[1:]]
    from mapper._entry import main
    main()
    """)


def _mapping(folder: Path, display_name: bool = True) -> Path:
    name = "      displayName: full_name\n" if display_name else ""
    mapping = folder / "repo.yaml"
    mapping.write_text(
        "version: 1\nobjects:\n  - type: atlassian:repository\n    fields:\n"
        "      id: full_name\n" + name + "      url: html_url\n"
        "      createdAt: to_rfc3339(created_at)\n      lastUpdatedAt: to_rfc3339(updated_at)\n"
        "      permissions: permissions([principal('ATLASSIAN_WORKSPACE')])\n",
        encoding="utf-8",
    )
    return mapping


def _record(i: int, url: str | None = None) -> dict[str, Any]:
    return {
        "full_name": f"acme/r{i}",
        "html_url": url or f"https://github.com/acme/r{i}",
        "created_at": "2024-05-01T12:00:00Z",
        "updated_at": 1714636800 + i,
    }


def _run(
    tmp: Path, mapping: Path, records: list[dict[str, Any]] | list[Path], *extra: str
) -> dict[str, Any]:
    """Run mapping over `records` (written to a JSONL file), or over the input files named."""
    src = tmp / "in.jsonl"
    if records and isinstance(records[0], Path):
        inputs = [str(p) for p in records]
    else:
        src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        inputs = [str(src)]
    out = tmp / "out.jsonl"
    out.unlink(missing_ok=True)
    env = {**os.environ, "MAPPER_CACHE_DIR": str(tmp / "cache")}
    env.pop("MAPPER_NO_CACHE", None)
    cmd = [sys.executable, "-c", PROBE, "run", str(mapping), *inputs, "-o", str(out), "--quiet"]
    done = subprocess.run([*cmd, *extra], capture_output=True, text=True, env=env, check=False)
    stderr, _, modules = done.stderr.rpartition("\nMODULES ")
    rejects = tmp / "out.rejects.jsonl"
    return {
        "code": done.returncode,
        "stderr": stderr,
        "modules": set(modules.split()),
        "out": out.read_bytes() if out.exists() else None,
        "rejects": rejects.read_bytes() if rejects.exists() else None,
    }


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m in HEAVY or m.startswith("mapper.model.common")}


def test_a_clean_run_on_a_cached_plan_imports_no_pydantic(tmp_path: Path) -> None:
    mapping = _mapping(tmp_path)
    records = [_record(i) for i in range(3)]
    cold = _run(tmp_path, mapping, records)
    assert cold["code"] == 0, cold["stderr"]
    assert {"pydantic", "yaml", "mapper.language.compiler"} <= cold["modules"]  # it compiled
    warm = _run(tmp_path, mapping, records)
    assert warm["code"] == 0, warm["stderr"]
    assert _heavy(warm["modules"]) == set()
    assert warm["out"] == cold["out"] and warm["out"]


UNUSED_BY_A_CLEAN_JSONL_RUN = (
    "mapper.engine.interpreter",  # every record takes the compiled rules' shortcut
    "mapper.io.spans",  # no large array, no --workers
    "mapper.run.parts",
    "mapper.io.remote",  # no URL
)


def test_a_clean_jsonl_run_on_a_cached_plan_imports_no_interpreter(tmp_path: Path) -> None:
    mapping = _mapping(tmp_path)
    records = [_record(i) for i in range(3)]
    cold = _run(tmp_path, mapping, records)
    warm = _run(tmp_path, mapping, records)
    assert warm["code"] == cold["code"] == 0, warm["stderr"]
    assert warm["modules"] & set(UNUSED_BY_A_CLEAN_JSONL_RUN) == set()
    assert warm["out"] == cold["out"] and warm["out"]
    rejected = _run(tmp_path, mapping, [_record(0), {"full_name": 5}])  # the general path
    assert rejected["code"] == 3 and "mapper.engine.interpreter" in rejected["modules"]


ROOT = Path(__file__).resolve().parents[1]
BUNDLED = {  # a restricted containerKey type, a document category, a pull-request status
    "confluence pages": ("confluence/pages-v2.yaml", ["confluence/pages-v2.json"]),
    "teams messages": ("microsoft-teams/messages.yaml", ["microsoft-teams/channel-messages.json"]),
    "github pulls": ("github/pulls.yaml", ["github/pulls.json"]),
    "notion users": ("notion/users.yaml", ["notion/users.json"]),  # users: and groups: rules
    "jira group members": ("jira/group-members.yaml", ["jira/group-jira-developers-members.json"]),
}


@pytest.mark.parametrize("name", BUNDLED)
def test_a_bundled_mapping_on_a_cached_plan_imports_no_pydantic(tmp_path: Path, name: str) -> None:
    mapping, samples = BUNDLED[name]
    inputs = [ROOT / "samples" / sample for sample in samples]
    cold = _run(tmp_path, ROOT / "mappings" / mapping, inputs)
    warm = _run(tmp_path, ROOT / "mappings" / mapping, inputs)
    assert warm["code"] == cold["code"] == 0, warm["stderr"]
    assert _heavy(warm["modules"]) == set()
    assert (warm["out"], warm["stderr"]) == (cold["out"], cold["stderr"]) and warm["out"]


def test_a_record_for_the_reference_path_gets_the_same_diagnostics(tmp_path: Path) -> None:
    mapping = _mapping(tmp_path)
    assert _run(tmp_path, mapping, [_record(0)])["code"] == 0  # the plan is now cached
    records = [_record(0), _record(1, url="github.com/acme/r1"), _record(2, url="ftp://x")]
    warm = _run(tmp_path, mapping, records)
    assert "pydantic" in warm["modules"]  # the fast check gave up: the models decided
    fresh = _run(tmp_path, mapping, records, "--no-cache")
    assert warm["code"] == fresh["code"] == 3
    assert warm["rejects"] == fresh["rejects"] and b"object.url" in (warm["rejects"] or b"")
    assert (warm["out"], warm["stderr"]) == (fresh["out"], fresh["stderr"])


def _lazy_models(plan: Any) -> list[LazyModel]:
    found = []
    for rule in plan.rules:
        if rule.checked is not None:
            found += [v for v in rule.checked.__globals__.values() if isinstance(v, LazyModel)]
    return found


def test_an_advisor_given_a_lazy_model_warns_as_with_the_class(tmp_path: Path) -> None:
    plan, diags = compile_path(_mapping(tmp_path, display_name=False))
    assert plan is not None
    thawed, _ = thaw(freeze(plan, diags))
    assert _lazy_models(thawed) and not _lazy_models(plan)  # the thawed plan has the stand-in
    fresh, warm = apply(plan, _record(0)), apply(thawed, _record(0))
    assert [o.payload for o in warm.objects] == [o.payload for o in fresh.objects]
    assert warm.diagnostics == fresh.diagnostics
    assert [d.code for d in warm.diagnostics] == ["object.missing-display-name"]


def test_a_lazy_model_is_its_class_when_used() -> None:
    lazy = LazyModel("mapper.model.devinfo", "CommitObject")
    model = importlib.import_module("mapper.model.devinfo").CommitObject
    assert lazy.resolve() is model and lazy.model_fields is model.model_fields
    with pytest.raises(AttributeError):
        _ = lazy.no_such_attribute


def test_a_models_classmethod_is_thawed_lazily_and_checks_as_before() -> None:
    from mapper.engine import cache
    from mapper.model.common import SpaceContainerKey

    check = SpaceContainerKey._check_type  # (a validator generated checks may call)
    frozen = io.BytesIO()
    cache._Freezer(frozen).dump(check)
    lazy = cache._Thawer(io.BytesIO(frozen.getvalue())).load()
    assert isinstance(lazy, cache.LazyMethod) and lazy.owner.resolve() is SpaceContainerKey
    assert lazy("atlassian:space") == check("atlassian:space") == "atlassian:space"
    errors = []
    for validator in (check, lazy):
        with pytest.raises(Exception) as raised:  # noqa: PT011 (the two must raise alike)
            validator("atlassian:document")
        errors.append((type(raised.value), str(raised.value)))
    assert errors[0] == errors[1]


@pytest.mark.parametrize("name", sorted(ADVISORS))
def test_every_advised_model_name_is_a_model(name: str) -> None:
    module, _, attr = name.rpartition(".")
    assert isinstance(getattr(importlib.import_module(module), attr), type)


class _Stream(io.StringIO):
    """A UTF-8 standard error that is, or is not, a terminal."""

    encoding = "utf-8"  # type: ignore[assignment]
    tty = False

    def isatty(self) -> bool:
        return self.tty


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
DIAGNOSTICS = st.lists(
    st.builds(
        Diagnostic,
        code=st.sampled_from(["expr.open-fallback", "object.url", "field.required"]),
        message=TEXT,
        loc=st.lists(st.text(max_size=5) | st.integers(0, 9), max_size=3).map(tuple),
        span=st.none() | st.builds(SourceSpan, TEXT, st.integers(1, 99), st.integers(1, 99)),
        expr=st.none() | TEXT,
        expr_col=st.none() | st.integers(0, 30),
        hint=st.none() | TEXT,
        severity=st.sampled_from(["error", "warning"]),
    ),
    max_size=4,
)


@settings(max_examples=150, deadline=None)
@given(diags=DIAGNOSTICS, limit=st.integers(1, 5))
@example(diags=[Diagnostic("object.url", "a\tb", hint="日本語\tx")], limit=5)
def test_plain_diagnostics_are_what_rich_writes(diags: list[Diagnostic], limit: int) -> None:
    drawn = io.StringIO()
    render.diagnostics(Console(file=drawn, highlight=False, soft_wrap=True), diags, limit)
    written = _Stream()
    with mock.patch.dict(os.environ, clear=True), mock.patch.object(sys, "stderr", written):
        done = plain.write_diagnostics(diags, limit)
    assert written.getvalue() == (drawn.getvalue() if done else "")
    assert done == (
        "\t" not in drawn.getvalue()
        and "\t" not in "".join(line for line, _ in plain.diagnostic_lines(diags, limit))
    )


def test_a_terminal_or_forced_colour_is_left_to_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _Stream()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    assert plain.plain_stderr()
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert not plain.plain_stderr()
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    assert not plain.plain_stderr()
    monkeypatch.delenv("TTY_COMPATIBLE")
    stream.tty = True
    assert not plain.plain_stderr()
    assert not plain.write_diagnostics([Diagnostic("object.url", "x")]) and not stream.getvalue()


def test_a_run_with_mapping_warnings_imports_no_rich(tmp_path: Path) -> None:
    mapping = _mapping(tmp_path)
    text = mapping.read_text(encoding="utf-8").replace(
        "permissions([principal('ATLASSIAN_WORKSPACE')])",
        "permissions(private && users(owner) || [principal('ATLASSIAN_WORKSPACE')])",
    )
    mapping.write_text(text, encoding="utf-8")
    records = [_record(0)]
    cold = _run(tmp_path, mapping, records)
    warm = _run(tmp_path, mapping, records)
    assert "expr.open-fallback" in warm["stderr"]
    assert (warm["code"], warm["stderr"], warm["out"]) == (
        cold["code"],
        cold["stderr"],
        cold["out"],
    )
    assert _heavy(warm["modules"]) == set()
