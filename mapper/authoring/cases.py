"""Running cases: compile a case's mapping, map its input, compare with what it expects.

Shared by `mapper test` and tests/; the case file format and its checks are in `casefile.py`.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from mapper.authoring.casefile import CASE_SUFFIX as CASE_SUFFIX
from mapper.authoring.casefile import Case as Case
from mapper.authoring.casefile import Expect, ExpectedDiagnostic
from mapper.authoring.casefile import find_case_files as find_case_files
from mapper.authoring.casefile import load_cases as load_cases
from mapper.authoring.casefile import locate_case_files as locate_case_files
from mapper.engine.plans import compile_path, compile_text
from mapper.errors import Diagnostic, UsageError, format_loc
from mapper.io.atomic import write_atomic
from mapper.io.inputs import expand_inputs, iter_records
from mapper.io.sinks import line_payload
from mapper.language.plan import Plan, ValueNode
from mapper.paths import follow
from mapper.records import BadRecord, InputProblem, Record, RecordResult
from mapper.run.files import reading_of
from mapper.run.pipeline import map_records


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


def run_case(case: Case, *, update: bool = False) -> CaseResult:
    """Compile the case's mapping, map its input and compare with its expectations."""
    result = CaseResult(case)
    plan, diags = _compile(case)
    result.plan = plan
    expect = case.spec.expect
    if expect.diagnostics is not None:
        result.failures += _compare_diagnostics(expect.diagnostics, diags)
    elif plan is None:
        result.failures.append("the mapping does not compile:\n" + "\n".join(map(str, diags)))
    if plan is None:
        return result
    from mapper.language.params import resolve_params

    given = {
        k: str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in (case.spec.params or {}).items()
    }
    plan.functions.params, bad = resolve_params(plan.params, given, "params:")
    result.failures += [d.message for d in bad]
    records, problems = _records(case, plan)
    result.failures += problems
    result.results = map_records(plan, records)
    if expect.diagnostics is not None:
        found = [d for r in result.results for d in r.diagnostics]
        result.failures = _compare_diagnostics(expect.diagnostics, diags + found)
    result.failures += _compare_counts(expect, result.results)
    objects = [line_payload(o) for r in result.results for o in r.objects]  # as in JSONL output
    if expect.objects is not None:
        result.failures += _compare_objects(expect.objects, objects)
    if expect.file is not None:
        path = case.file.parent / expect.file
        clash = _read_by_case(case, path)
        if clash:  # --update would replace a file the case reads
            result.failures.append(f"expect.file {expect.file} is {clash}: name another file")
        else:
            result.failures += _compare_file(path, objects, update, result)
    return result


def case_notes(result: CaseResult) -> list[str]:
    """What `mapper test` tells about a case besides pass/fail: the counts of its records, each
    record a `where:` filtered (with the rule and condition), and the warnings of a run that
    filtered or rejected most of its records when the case expects no such counts."""
    if result.plan is None or not result.results:
        return []
    from mapper.io.sinks import MemorySink, RejectsSink
    from mapper.run.alarms import alarms
    from mapper.run.pipeline import account, counts_line
    from mapper.run.report import RunReport

    plan, report = result.plan, RunReport(result.plan.path)
    report.selector = result.case.spec.records
    sink, rejects = MemorySink(), RejectsSink(None)
    notes = []
    for res in result.results:
        account(report, res, res.record, sink, rejects)
        if res.outcome == "filtered" and res.filtered_example is not None:
            rule = res.filtered_example[0]
            where = next((r.where.text for r in plan.rules if r.name == rule and r.where), None)
            notes.append(
                f"record #{res.record.index} was filtered by rule {rule!r} (where: {where})"
            )
    expect = result.case.spec.expect
    expected = any(
        v is not None
        for v in (expect.filtered, expect.rejected, expect.partial, expect.items_rejected)
    )
    if not expected:
        notes += alarms(report, plan)
    return [counts_line(report), *notes] if notes else notes


def _compile(case: Case) -> tuple[Plan | None, list[Diagnostic]]:
    if case.spec.mapping_file is not None:
        return compile_path(case.file.parent / case.spec.mapping_file)
    # Lines count from the mapping text's first line, so it is named as a text of its own.
    name = f"<{case.file.name} cases[{case.index}].mapping>"
    return compile_text(case.spec.mapping or "", name, base=case.file.parent)


def _records(case: Case, plan: Plan) -> tuple[list[Record], list[str]]:
    spec = case.spec
    if spec.given is not None:
        given = spec.given if isinstance(spec.given, list) else [spec.given]
        return [Record("given", i, r) for i, r in enumerate(given)], []
    if spec.input is None:
        return [], []
    paths, missing = expand_inputs([str(case.file.parent / spec.input)])
    try:
        reading = reading_of(plan, spec.records, label="records")
    except UsageError as error:
        return [], ["`records:` does not compile:\n" + "\n".join(map(str, error.diagnostics))]
    failures = [str(p.diagnostic) for p in missing]
    records: list[Record] = []
    for item in iter_records(paths, **reading.kwargs()):
        if isinstance(item, Record):
            records.append(item)
        elif isinstance(item, BadRecord | InputProblem):
            failures.append(f"input problem: {item.diagnostic}")
    return records, failures


def _compare_counts(expect: Expect, results: list[RecordResult]) -> list[str]:
    wanted = expect.model_dump(
        include={"mapped", "rejected", "filtered", "partial", "items_rejected", "held_back"},
        exclude_none=True,
    )
    counts = {k: sum(1 for r in results if r.outcome == k) for k in wanted}
    if "items_rejected" in wanted:
        counts["items_rejected"] = sum(len(r.rejected) for r in results)
    if "held_back" in wanted:
        counts["held_back"] = sum(r.held_back for r in results)
    return [
        f"expected {wanted[k]} {k.replace('_', ' ')}"
        f"{'' if k in ('items_rejected', 'held_back') else ' record(s)'}, got {counts[k]}"
        for k in counts
        if wanted[k] != counts[k]
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


def _compare_diagnostics(expected: list[ExpectedDiagnostic], actual: list[Diagnostic]) -> list[str]:
    facts = [_diag_facts(d) for d in actual]
    failures = []
    for want in (e.model_dump(exclude_none=True) for e in expected):
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


def _read_by_case(case: Case, path: Path) -> str | None:
    """What `path` is, when the case itself reads it (its case file, mapping or input)."""
    spec = case.spec
    read = {case.file: "the case file itself"}
    if spec.mapping_file is not None:
        read[case.file.parent / spec.mapping_file] = "the case's mapping"
    if spec.input is not None:
        read[case.file.parent / spec.input] = "the case's input"
    target = path.resolve()
    return next((what for file, what in read.items() if file.resolve() == target), None)


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
                if any(follow(p, path) is not None for p in payloads):
                    hit.add(name)
    return out
