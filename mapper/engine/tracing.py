"""Per-field explanation of how one record was mapped: expression, raw value, final value, why."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mapper.engine.interpreter import evaluate, rule_items
from mapper.engine.null_causes import error_message, null_part
from mapper.errors import Diagnostic, format_loc, show_value
from mapper.functions.context import NO_LOOKUPS
from mapper.language.plan import ObjectRule, Plan, ValueNode
from mapper.paths import follow
from mapper.records import Record, RecordResult

_NOT_EVALUATED = object()


@dataclass(frozen=True, slots=True)
class FieldTrace:
    """What happened to one output field of one object."""

    rule: str
    item: int
    field: str  # output path, e.g. atlassian:commit.hash
    loc: str  # mapping location
    source: str  # the expression(s) or "const"
    raw: Any
    final: Any
    status: str  # ok | omitted | defaulted | rejected | invalid | filtered | not-built
    reason: str = ""
    type_name: str = ""  # the rule's object type, e.g. atlassian:commit
    cause: str = ""  # why the value is null: "`commit.author` is null", or the error


def explain(
    plan: Plan, record: Record, *, lookups: Mapping[str, Mapping[str, Any]] = NO_LOOKUPS
) -> tuple[RecordResult, list[FieldTrace]]:
    """Map one record and trace every field of every rule and item."""
    result = evaluate(plan, record, lookups=lookups)  # also sets the functions' context
    traces: list[FieldTrace] = []
    for rule in plan.rules:
        traces.extend(_trace_rule(rule, record))
    return result, traces


def _trace_rule(rule: ObjectRule, record: Record) -> Iterator[FieldTrace]:
    """Each item of an `each` rule is traced with its own object and problems, built and judged
    by the interpreter's own per-item steps (`rule_items`), exactly as `evaluate` does."""
    each_problems: list[Diagnostic] = []
    items = list(rule_items(rule, record, each_problems))
    if rule.each is not None and each_problems:
        yield _each_failed(rule, each_problems[0])
    for i, outcome in enumerate(items):
        if outcome.filtered:
            yield _filtered(rule, i, list(outcome.diags))
            continue
        payload = outcome.obj.payload if outcome.obj is not None else None
        for path, leaf in _leaves(rule.fields, ()):
            yield _trace_leaf(rule, i, path, leaf, outcome.data, payload, outcome.diags)


def _each_failed(rule: ObjectRule, problem: Diagnostic) -> FieldTrace:
    each = rule.each.expr if rule.each is not None else None
    loc, text = (format_loc(each.loc), each.text) if each is not None else ("", "")
    return FieldTrace(
        rule.name, 0, "(each)", loc, text, None, None, "rejected", problem.message, rule.type_name
    )


def _filtered(rule: ObjectRule, i: int, problems: list[Diagnostic]) -> FieldTrace:
    where = rule.where
    assert where is not None  # only called for rules with a `where:`
    errors = [d for d in problems if d.is_error]
    status, reason = (
        ("rejected", errors[0].message)
        if errors
        else ("filtered", "the `where:` condition is false")
    )
    return FieldTrace(
        rule.name,
        i,
        "(where)",
        format_loc(where.loc),
        where.text,
        False,
        None,
        status,
        reason,
        rule.type_name,
    )


def _leaves(node: ValueNode, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], ValueNode]]:
    if node.kind in ("object", "list"):
        for key, child in node.children:
            yield from _leaves(child, (*path, key))
    else:
        yield path, node


def _raw_value(leaf: ValueNode, item: Any) -> tuple[Any, str]:
    """The first non-null value of the leaf's expressions (a failing one gives null, as in the
    interpreter's `coalesce`), and why it is null when it is: the first error, or the missing
    or null part of the (only) expression's path."""
    failed = ""
    for expr in leaf.exprs:
        try:
            value = expr.evaluate(item)
        except Exception as err:  # reported by the interpreter; here it is the cause
            failed = failed or error_message(err)
            continue
        if value is not None:
            return value, ""
    only = leaf.exprs[0] if len(leaf.exprs) == 1 else None
    return None, failed or (null_part(only.path, item) if only is not None else None) or ""


def _trace_leaf(
    rule: ObjectRule,
    i: int,
    path: tuple[Any, ...],
    leaf: ValueNode,
    item: Any,
    payload: dict[str, Any] | None,
    diags: tuple[Diagnostic, ...],
) -> FieldTrace:
    if leaf.kind == "const":
        raw, source, cause = leaf.const, "const", ""
    else:
        raw, cause = _raw_value(leaf, item)
        source = " ?? ".join(e.text for e in leaf.exprs)
    final = follow(payload, path) if payload is not None else _NOT_EVALUATED
    status, reason = _status(leaf, raw, final, diags, cause)
    return FieldTrace(
        rule.name,
        i,
        format_loc(path),
        format_loc(leaf.loc),
        source,
        raw,
        None if final is _NOT_EVALUATED else final,
        status,
        reason,
        rule.type_name,
        cause,
    )


def _status(
    leaf: ValueNode, raw: Any, final: Any, diags: tuple[Diagnostic, ...], cause: str
) -> tuple[str, str]:
    problems = [d for d in diags if d.loc == leaf.loc and d.is_error]
    if problems:
        return "rejected", problems[0].message
    empty = raw is None or (leaf.omit_empty and raw in ("", [], {}))
    why = cause or ("empty" if raw is not None else "null or missing")
    if empty and leaf.has_default:
        return "defaulted", f"{why}, so the default {show_value(leaf.default)} is used"
    if empty:
        return "omitted", f"{why}, and the field is optional"
    if final is _NOT_EVALUATED:
        return "not-built", "the object was not built (see the record's problems)"
    if final is None:
        return "omitted", "dropped after evaluation"
    return "ok", "" if final == raw else "normalised by validation"
