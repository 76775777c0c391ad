"""Case files: a mapping, input records and what they must give. Shared by `mapper test` and tests/.

A case file (`*.cases.yaml`) is a YAML map with `cases:`, each case holding:

* `title`: a readable name;
* the mapping: `mapping:` YAML text (line numbers in expected diagnostics count from its first
  line) or `mapping_file:` a path relative to the case file;
* the input: `given:` a list of records, or `input:` a path (JSON, JSONL, folder), with an
  optional `records:` selector;
* `expect:` any of `objects:` (a list, compared in output order; each expected object lists only
  the keys it cares about), `file:` (a JSONL file compared exactly, rewritten by --update),
  `diagnostics:` (a list of `{code, line, col, loc, expr_col}` subsets), `rejected:`,
  `filtered:` and `mapped:` (record counts).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from mapper.api import compile_path, compile_text
from mapper.errors import Diagnostic, format_loc
from mapper.interpreter import Record, RecordResult
from mapper.loader import parse_yaml, read_mapping_file
from mapper.pipeline import map_records
from mapper.plan import Plan, ValueNode
from mapper.sinks import write_atomic
from mapper.sources import BadRecord, InputProblem, expand_inputs, iter_records

CASE_SUFFIX = ".cases.yaml"


@dataclass
class Case:
    """One case, as read from a case file."""

    title: str
    file: Path
    index: int
    body: dict[str, Any]

    @property
    def id(self) -> str:
        """Readable test id: `<file>::<title>`."""
        return f"{self.file.name}::{self.title}"


@dataclass
class CaseResult:
    """The outcome of one case: failures (empty when it passed) and what it exercised."""

    case: Case
    failures: list[str] = field(default_factory=list)
    plan: Plan | None = None
    results: list[RecordResult] = field(default_factory=list)
    updated: bool = False

    @property
    def passed(self) -> bool:
        """True when nothing failed."""
        return not self.failures


def find_case_files(paths: list[str]) -> list[Path]:
    """Case files named directly or found (recursively) in folders."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(p.rglob(f"*{CASE_SUFFIX}")))
        elif p.is_file():
            found.append(p)
    return found


def load_cases(path: Path) -> tuple[list[Case], list[Diagnostic]]:
    """Read the cases of one file (through the loader, so errors carry line:col)."""
    text, problem = read_mapping_file(path)
    if problem:
        return [], [problem]
    data, _smap, diags = parse_yaml(text or "", str(path))
    if diags or not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        return [], diags or [Diagnostic("case.invalid", f"{path}: expected a map with `cases:`")]
    cases = [
        Case(str(c.get("title", f"case {i}")), path, i, c)
        for i, c in enumerate(data["cases"])
        if isinstance(c, dict)
    ]
    return cases, []


def run_case(case: Case, *, update: bool = False) -> CaseResult:
    """Compile the case's mapping, map its input and compare with its expectations."""
    result = CaseResult(case)
    plan, diags = _compile(case)
    result.plan = plan
    expect = case.body.get("expect") or {}
    if "diagnostics" in expect:
        result.failures += _compare_diagnostics(expect["diagnostics"], diags)
    elif plan is None:
        result.failures.append("the mapping does not compile:\n" + "\n".join(map(str, diags)))
    if plan is None:
        return result
    records, problems = _records(case, plan)
    result.failures += problems
    result.results = map_records(plan, records)
    if "diagnostics" in expect:
        found = [d for r in result.results for d in r.diagnostics]
        result.failures = _compare_diagnostics(expect["diagnostics"], diags + found)
    result.failures += _compare_counts(expect, result.results)
    objects = [o.payload for r in result.results for o in r.objects]
    if "objects" in expect:
        result.failures += _compare_objects(expect["objects"], objects)
    if "file" in expect:
        result.failures += _compare_file(case.file.parent / expect["file"], objects, update, result)
    return result


def _compile(case: Case) -> tuple[Plan | None, list[Diagnostic]]:
    body = case.body
    if "mapping_file" in body:
        return compile_path(case.file.parent / str(body["mapping_file"]))
    return compile_text(str(body.get("mapping", "")), "mapping.yaml", base=case.file.parent)


def _records(case: Case, plan: Plan) -> tuple[list[Record], list[str]]:
    body = case.body
    if "given" in body:
        given = body["given"] if isinstance(body["given"], list) else [body["given"]]
        return [Record("given", i, r) for i, r in enumerate(given)], []
    if "input" not in body:
        return [], []
    paths, missing = expand_inputs([str(case.file.parent / str(body["input"]))])
    selector = plan.records.evaluate if plan.records else None
    records: list[Record] = []
    failures = [str(p.diagnostic) for p in missing]
    for item in iter_records(paths, selector=selector):
        if isinstance(item, Record):
            records.append(item)
        elif isinstance(item, BadRecord | InputProblem):
            failures.append(f"input problem: {item.diagnostic}")
    return records, failures


def _compare_counts(expect: dict[str, Any], results: list[RecordResult]) -> list[str]:
    counts = {
        k: sum(1 for r in results if r.outcome == k) for k in ("mapped", "rejected", "filtered")
    }
    return [
        f"expected {expect[k]} {k} record(s), got {counts[k]}"
        for k in counts
        if k in expect and expect[k] != counts[k]
    ]


def _matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _matches(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(_matches(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual and type(expected) is type(actual)) or (
        isinstance(expected, int | float)
        and not isinstance(expected, bool)
        and isinstance(actual, int | float)
        and not isinstance(actual, bool)
        and expected == actual
    )


def _compare_objects(expected: list[Any], actual: list[dict[str, Any]]) -> list[str]:
    if len(expected) != len(actual):
        return [f"expected {len(expected)} object(s), got {len(actual)}:\n" + _pretty(actual)]
    return [
        f"object {i} differs:\n" + _diff(e, a)
        for i, (e, a) in enumerate(zip(expected, actual, strict=True))
        if not _matches(e, a)
    ]


def _compare_diagnostics(expected: list[dict[str, Any]], actual: list[Diagnostic]) -> list[str]:
    facts = [_diag_facts(d) for d in actual]
    failures = []
    for want in expected:
        if not any(_matches(want, f) for f in facts):
            failures.append(f"no diagnostic matches {want}; got:\n" + "\n".join(map(str, actual)))
    return failures


def _diag_facts(d: Diagnostic) -> dict[str, Any]:
    facts: dict[str, Any] = {"code": d.code, "severity": d.severity, "loc": format_loc(d.loc)}
    if d.span:
        facts.update(line=d.span.line, col=d.span.col)
    if d.expr_col is not None:
        facts["expr_col"] = d.expr_col
    if d.record:
        facts["pointer"] = d.record.pointer
        facts["index"] = d.record.index
    return facts


def _compare_file(
    path: Path, objects: list[dict[str, Any]], update: bool, result: CaseResult
) -> list[str]:
    text = b"".join(orjson.dumps(o, option=orjson.OPT_SORT_KEYS) + b"\n" for o in objects)
    if update:
        if not path.exists() or path.read_bytes() != text:
            write_atomic(path, text)
            result.updated = True
        return []
    if not path.exists():
        return [f"expected file {path} does not exist (run with --update to create it)"]
    expected = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    if expected == objects:
        return []
    return [f"output differs from {path}:\n" + _diff(expected, objects)]


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _diff(expected: Any, actual: Any) -> str:
    lines = difflib.unified_diff(
        _pretty(expected).splitlines(),
        _pretty(actual).splitlines(),
        "expected",
        "actual",
        lineterm="",
        n=2,
    )
    return "\n".join(lines)


def iter_leaves(
    node: ValueNode, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], ValueNode]]:
    """(output path, leaf) for the expressions, constants and coalesces of a compiled object."""
    if node.kind in ("object", "list"):
        for key, child in node.children:
            yield from iter_leaves(child, (*path, key))
    else:
        yield path, node


def coverage(results: list[CaseResult]) -> dict[str, tuple[set[str], set[str]]]:
    """Per mapping: (all mapped expression fields, those that produced a non-null value).

    Fields are named by rule and output path, so values from `{use: NAME}` count too.
    """
    out: dict[str, tuple[set[str], set[str]]] = {}
    for res in results:
        if res.plan is None:
            continue
        every, hit = out.setdefault(res.plan.path, (set(), set()))
        for rule in res.plan.rules:
            payloads = [o.payload for r in res.results for o in r.objects if o.rule == rule.name]
            for path, leaf in iter_leaves(rule.fields):
                if leaf.kind == "const" or isinstance(path[-1], int):
                    continue
                name = f"{rule.name}.{format_loc(path)}"
                every.add(name)
                if any(_has_value(p, path) for p in payloads):
                    hit.add(name)
    return out


def _has_value(payload: Any, path: tuple[Any, ...]) -> bool:
    node = payload
    for part in path:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            node = node[part]
        else:
            return False
    return node is not None
