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
  `filtered:` and `mapped:` (record counts);
* `xfail:` an optional reason (tests/ expects such a case to fail).

Case files are checked before any case runs, like mappings: unknown keys (with a did-you-mean
hint), values of the wrong kind, a missing mapping or input file are diagnostics located at the
case file's line:col, and a case with problems does not run.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from mapper.api import compile_path, compile_text
from mapper.compiler import compile_standalone
from mapper.errors import Diagnostic, SourceSpan, format_loc, suggest
from mapper.interpreter import Record, RecordResult
from mapper.loader import SourceMap, parse_yaml, read_mapping_file
from mapper.pipeline import map_records
from mapper.plan import Plan, ValueNode
from mapper.sinks import write_atomic
from mapper.sources import BadRecord, InputProblem, expand_inputs, iter_records

CASE_SUFFIX = ".cases.yaml"

# What each map of a case file may hold: key -> (accepted Python types, what to write).
Shape = Mapping[str, tuple[tuple[type, ...], str]]
_TEXT, _COUNT = ((str,), "text"), ((int,), "a whole number")
_LIST = ((list,), "a list")
FILE_SHAPE: Shape = {"cases": ((list,), "a list of cases")}
CASE_SHAPE: Shape = {
    "title": _TEXT,
    "mapping": ((str,), "YAML text (write `mapping: |` and the mapping below it)"),
    "mapping_file": ((str,), "a path relative to the case file"),
    "given": ((list, dict), "a list of records"),
    "input": ((str,), "a path relative to the case file"),
    "records": ((str,), "a JMESPath expression, e.g. items[]"),
    "expect": ((dict,), "a map"),
    "xfail": ((str,), "the reason, as text"),
}
EXPECT_SHAPE: Shape = {
    "objects": _LIST,
    "file": ((str,), "a path relative to the case file"),
    "diagnostics": _LIST,
    "rejected": _COUNT,
    "filtered": _COUNT,
    "mapped": _COUNT,
}
DIAGNOSTIC_SHAPE: Shape = {
    "code": _TEXT,
    "severity": _TEXT,
    "loc": ((str,), "text such as objects[0].fields.id"),
    "line": _COUNT,
    "col": _COUNT,
    "expr_col": _COUNT,
    "pointer": _TEXT,
    "index": _COUNT,
}
# Keys a case may hold only one of: (keys, is one of them required).
CASE_CHOICES = ((("mapping", "mapping_file"), True), (("given", "input"), False))


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
    """Case files named directly or found (recursively) in folders (see `locate_case_files`)."""
    return locate_case_files(paths)[0]


def locate_case_files(paths: list[str]) -> tuple[list[Path], list[Diagnostic]]:
    """Case files named directly or found (recursively) in folders, and the paths that gave none.

    A path that does not exist is an `input.not-found` problem (as for `mapper run`); a folder
    without case files is `case.none-found`.
    """
    found: list[Path] = []
    problems: list[Diagnostic] = []
    for name in paths:
        path = Path(name)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            inside = sorted(path.rglob(f"*{CASE_SUFFIX}"))
            found.extend(inside)
            if not inside:
                problems.append(
                    Diagnostic("case.none-found", f"no *{CASE_SUFFIX} files under {name}")
                )
        else:
            problems.extend(p.diagnostic for p in expand_inputs([name])[1])
    return found, problems


def load_cases(path: Path) -> tuple[list[Case], list[Diagnostic]]:
    """Read the cases of one file (through the loader, so errors carry line:col).

    Returns the cases without problems and every problem found; a case with problems is left
    out, so a misspelt expectation can never pass unnoticed.
    """
    text, problem = read_mapping_file(path)
    if problem:
        return [], [problem]
    data, smap, diags = parse_yaml(text or "", str(path))
    if diags:
        return [], diags
    problems = list(check_shape(data, FILE_SHAPE, "a case file"))
    if isinstance(data, dict) and "cases" not in data:
        problems.append(_missing("a case file needs `cases:`, a list of cases"))
    cases: list[Case] = []
    for i, body in enumerate(_as_list(data, "cases")):
        found = [d.within("cases", i) for d in check_case(body, path.parent)]
        problems += found
        if not found:
            cases.append(Case(str(body.get("title", f"case {i}")), path, i, body))
    return cases, [_locate(smap, d) for d in problems]


def check_shape(data: Any, shape: Shape, what: str) -> Iterator[Diagnostic]:
    """Unknown keys (with a did-you-mean hint) and values of the wrong kind in one map."""
    if not isinstance(data, dict):
        yield Diagnostic("case.invalid-value", f"{what} must be a map")
        return
    for key, value in data.items():
        if key not in shape:
            hint = suggest(key, shape) or f"{what} may hold: {', '.join(shape)}"
            yield Diagnostic("case.unknown-key", f"unknown key {key!r}", loc=(key,), hint=hint)
            continue
        types, described = shape[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            yield Diagnostic("case.invalid-value", f"`{key}` must be {described}", loc=(key,))


def check_case(body: Any, base: Path) -> Iterator[Diagnostic]:
    """Every problem of one case: its keys, its expectations and the files it names."""
    yield from check_shape(body, CASE_SHAPE, "a case")
    if not isinstance(body, dict):
        return
    for keys, required in CASE_CHOICES:
        yield from _check_choice(body, keys, required=required)
    if "expect" not in body:
        yield _missing("a case needs `expect:` (use `expect: {}` to only compile)")
    yield from (d.within("expect") for d in _check_expect(body.get("expect")))
    yield from _check_files(body, base)


def _check_expect(expect: Any) -> Iterator[Diagnostic]:
    if not isinstance(expect, dict):
        return  # reported by check_case
    yield from check_shape(expect, EXPECT_SHAPE, "`expect:`")
    for j, want in enumerate(_as_list(expect, "diagnostics")):
        found = check_shape(want, DIAGNOSTIC_SHAPE, "an expected diagnostic")
        yield from (d.within("diagnostics", j) for d in found)


def _check_choice(
    body: dict[str, Any], keys: tuple[str, ...], *, required: bool
) -> Iterator[Diagnostic]:
    present = [k for k in body if k in keys]  # in file order: the later one is reported
    either = " or ".join(f"`{k}:`" for k in keys)
    if len(present) > 1:
        yield Diagnostic(
            "case.conflicting-keys", f"a case takes {either}, not both", loc=(present[-1],)
        )
    elif required and not present:
        yield _missing(f"a case needs {either}")


def _check_files(body: dict[str, Any], base: Path) -> Iterator[Diagnostic]:
    mapping = body.get("mapping_file")
    if isinstance(mapping, str) and not (base / mapping).is_file():
        yield Diagnostic(
            "case.mapping-not-found",
            f"no mapping file {mapping!r}{_looked_for(base, mapping)}",
            loc=("mapping_file",),
            hint="`mapping_file:` is relative to the folder of the case file",
        )
    given = body.get("input")
    if isinstance(given, str):
        for problem in expand_inputs([str(base / given)])[1]:
            yield Diagnostic(
                "case.input-not-found",
                f"input {given!r}: {problem.diagnostic.message}{_looked_for(base, given)}",
                loc=("input",),
                hint="`input:` is relative to the folder of the case file",
            )


def _looked_for(base: Path, name: str) -> str:
    target = str(base / name)
    return f" (looked for {target})" if target != name else ""


def _missing(message: str) -> Diagnostic:
    # Located at the map that lacks the key: the callers prepend its location.
    return Diagnostic("case.missing-key", message)


def _as_list(data: Any, key: str) -> list[Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, list) else []


def _locate(smap: SourceMap, diag: Diagnostic) -> Diagnostic:
    located = smap.locate(diag, prefer_key=diag.code == "case.unknown-key")
    if located.span is None:  # an empty document has no node positions
        return replace(located, span=SourceSpan(smap.path, 1, 1))
    return located


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
    # Lines count from the mapping text's first line, so it is named as a text of its own.
    name = f"<{case.file.name} cases[{case.index}].mapping>"
    return compile_text(str(body.get("mapping", "")), name, base=case.file.parent)


def _records(case: Case, plan: Plan) -> tuple[list[Record], list[str]]:
    body = case.body
    if "given" in body:
        given = body["given"] if isinstance(body["given"], list) else [body["given"]]
        return [Record("given", i, r) for i, r in enumerate(given)], []
    if "input" not in body:
        return [], []
    paths, missing = expand_inputs([str(case.file.parent / str(body["input"]))])
    selector, failures = _selector(case, plan)
    failures += [str(p.diagnostic) for p in missing]
    records: list[Record] = []
    for item in iter_records(paths, selector=selector):
        if isinstance(item, Record):
            records.append(item)
        elif isinstance(item, BadRecord | InputProblem):
            failures.append(f"input problem: {item.diagnostic}")
    return records, failures


def _selector(case: Case, plan: Plan) -> tuple[Any, list[str]]:
    """The case's `records:` selector, else the mapping's own."""
    if "records" not in case.body:
        return (plan.records.evaluate if plan.records else None), []
    expr, diags = compile_standalone(str(case.body["records"]), plan.functions, "records")
    if expr is None:
        return None, ["`records:` does not compile:\n" + "\n".join(map(str, diags))]
    return expr.evaluate, []


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
