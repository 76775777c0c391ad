"""evaluate(plan, record) -> RecordResult: pure, per record, never raises for bad data.

The interpreter evaluates each rule's compiled nodes against the record (or each `each` item),
applies the null/missing/empty policy, validates the built object with the Teamwork Graph
models and turns every problem into a Diagnostic located in the mapping and in the record.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

from jmespath.exceptions import JMESPathError, JMESPathTypeError

from mapper.engine.fallback import FALLBACK
from mapper.engine.null_causes import null_cause, type_error_message
from mapper.errors import Diagnostic, EvalError, RecordRef, json_pointer
from mapper.functions.context import NO_LOOKUPS, EvalContext
from mapper.functions.timestamps import epoch_ms_of
from mapper.language.plan import EMPTY, CompiledExpr, ObjectRule, PathPart, Plan, ValueNode
from mapper.paths import follow
from mapper.records import MappedObject, Record, RecordResult, RejectedItem


@dataclass
class _Item:
    """Evaluation state for one item of one rule."""

    record: Record
    data: Any
    prefix: tuple[PathPart, ...] | None
    diags: list[Diagnostic] = field(default_factory=list)
    strict: bool = False

    def ref(self, path: tuple[PathPart, ...] | None = None) -> RecordRef:
        if self.prefix is None:
            return RecordRef(self.record.source, self.record.index)
        parts = self.prefix if path is None else (*self.prefix, *path)
        return RecordRef(self.record.source, self.record.index, json_pointer(parts))


@dataclass
class _Candidates:
    """What one record's rules made so far: every candidate lands in exactly one list."""

    objects: list[tuple[MappedObject, ObjectRule, int | None, Any]] = field(default_factory=list)
    rejected: list[RejectedItem] = field(default_factory=list)
    filtered_by: list[str] = field(default_factory=list)
    diags: list[Diagnostic] = field(default_factory=list)
    count: int = 0
    filtered_example: tuple[str, str, Any] | None = None

    def add(self, rule: ObjectRule, obj: MappedObject, index: int | None, data: Any) -> None:
        self.count += 1
        self.objects.append((obj, rule, index, data))

    def reject(
        self, rule: ObjectRule, index: int | None, pointer: str, data: Any, errors: list[Diagnostic]
    ) -> None:
        self.count += 1
        self.rejected.append(RejectedItem(rule.name, index, pointer, data, tuple(errors)))


def evaluate(
    plan: Plan,
    record: Record,
    *,
    lookups: Mapping[str, Mapping[str, Any]] = NO_LOOKUPS,
    strict: bool = False,
) -> RecordResult:
    """Apply every rule of `plan` to one record. Never raises for any JSON record.

    Each object candidate (an item of `each`, or the record) is mapped, rejected or filtered
    on its own; rules marked `together` are held back as a group when one of them fails.
    An optional field whose expression fails is omitted with a `field.optional-failed`
    warning, an error under `strict` (or the mapping's `strict: true`).
    """
    plan.functions.context = EvalContext(record.data, record.source, lookups)
    data = record.data
    objects: list[MappedObject] = []
    for rule in plan.rules:  # the usual case: every rule plain and clean, without bookkeeping
        if rule.each is not None or rule.where is not None or rule.checked is None:
            break
        done = rule.checked(data)
        if done is FALLBACK or done[1]:
            break
        objects.append(MappedObject(rule.type_name, rule.name, done[0]))
    else:
        return RecordResult(record, tuple(objects), items_in=len(objects))
    return _evaluate_rules(plan, record, objects, strict or plan.strict)


def _evaluate_rules(
    plan: Plan, record: Record, done_objects: list[MappedObject], strict: bool
) -> RecordResult:
    """The general path, after the rules whose objects `done_objects` are (the fast part)."""
    acc = _Candidates()
    for rule, obj in zip(plan.rules, done_objects, strict=False):
        acc.add(rule, obj, None, record.data)
    for rule in plan.rules[len(done_objects) :]:
        plain = rule.each is None and rule.where is None and rule.checked is not None
        if plain:  # built and checked in one go, warnings to locate
            done = rule.checked(record.data)  # type: ignore[misc]  # not None when plain
            if done is not FALLBACK:
                if done[1]:  # warnings to locate
                    item = _Item(record, record.data, ())
                    acc.add(rule, _take_checked(rule, item, done, acc.diags), None, record.data)
                else:
                    acc.add(
                        rule, MappedObject(rule.type_name, rule.name, done[0]), None, record.data
                    )
                continue
        try:
            _apply_rule(rule, record, acc, checked=not plain, strict=strict)
        except RecursionError:
            diag = Diagnostic(
                "record.too-deep",
                "the record nests too deeply to evaluate",
                loc=rule.loc,
                span=rule.span,
                record=RecordRef(record.source, record.index),
            )
            acc.diags.append(diag)
            acc.reject(rule, None, "", record.data, [diag])
    if len(acc.objects) > MAX_OBJECTS_PER_RECORD:
        _reject_all(acc, _too_many_objects(plan, record, len(acc.objects)))
    if acc.rejected and any(r.together for _, r, _, _ in acc.objects):
        _hold_back(acc, record, {r.name for r in plan.rules if r.together})
    return RecordResult(
        record,
        tuple(obj for obj, _, _, _ in acc.objects),
        tuple(acc.diags),
        len(acc.filtered_by),
        tuple(acc.filtered_by),
        tuple(acc.rejected),
        acc.count,
        acc.filtered_example,
    )


def _hold_back(acc: _Candidates, record: Record, names: set[str]) -> None:
    """Objects of `together` rules go only with all of their record's `together` candidates."""
    failing = next((r for r in acc.rejected if r.rule in names), None)
    if failing is None:
        return
    where = f"{failing.rule} item {failing.item}" if failing.item is not None else failing.rule
    if failing.pointer:
        where += f" ({failing.pointer})"
    kept = []
    for obj, rule, index, data in acc.objects:
        if not rule.together:
            kept.append((obj, rule, index, data))
            continue
        diag = Diagnostic(
            "object.held-back",
            f"valid, but held back with the rejected {where}: the rule goes together with it",
            loc=rule.loc,
            span=rule.span,
            record=RecordRef(record.source, record.index, obj.pointer),
            hint="fix the rejected item, or drop `together: true` to send the valid objects alone",
        )
        acc.diags.append(diag)
        acc.rejected.append(RejectedItem(rule.name, index, obj.pointer, data, (diag,), True))
    acc.objects = kept


def _reject_all(acc: _Candidates, diag: Diagnostic) -> None:
    """Too many objects from one record: each candidate is rejected with `diag` (counted)."""
    acc.diags.append(diag)
    for obj, rule, index, data in acc.objects:
        acc.rejected.append(RejectedItem(rule.name, index, obj.pointer, data, (diag,)))
    acc.objects = []


def _too_many_objects(plan: Plan, record: Record, count: int) -> Diagnostic:
    return Diagnostic(
        "record.too-many-objects",
        f"the record gave {count:,} objects; at most {MAX_OBJECTS_PER_RECORD:,} are allowed",
        loc=("objects",),
        span=plan.rules[0].span if plan.rules else None,
        record=RecordRef(record.source, record.index),
    )


def _apply_rule(
    rule: ObjectRule, record: Record, acc: _Candidates, *, checked: bool = True, strict: bool
) -> None:
    """Evaluate a rule on every item; `checked=False` skips its checked function (it failed)."""
    each_diags: list[Diagnostic] = []
    outcomes = list(rule_items(rule, record, each_diags, checked=checked, strict=strict))
    acc.diags.extend(each_diags)
    each_errors = [d for d in each_diags if d.is_error]
    if each_errors:
        acc.reject(rule, None, "", record.data, each_errors)
    for outcome in outcomes:
        acc.diags.extend(outcome.diags)
        errors = [d for d in outcome.diags if d.is_error]
        if errors or (outcome.obj is None and not outcome.filtered):
            acc.reject(rule, outcome.index, outcome.pointer, outcome.data, errors)
        elif outcome.filtered:
            acc.count += 1
            acc.filtered_by.append(rule.name)
            if acc.filtered_example is None:
                acc.filtered_example = (rule.name, outcome.pointer, outcome.data)
        else:
            acc.add(rule, outcome.obj, outcome.index, outcome.data)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """One item of a rule: its data, its object (None when filtered or rejected), its problems,
    its position among the rule's items (None without `each`) and JSON pointer ("" unknown)."""

    data: Any
    obj: MappedObject | None
    filtered: bool
    diags: tuple[Diagnostic, ...]
    index: int | None = None
    pointer: str = ""


def rule_items(
    rule: ObjectRule,
    record: Record,
    each_diags: list[Diagnostic],
    *,
    checked: bool = True,
    strict: bool = False,
) -> Iterator[ItemOutcome]:
    """The items of one rule on one record (one item without `each`), each built and judged on
    its own; problems of the `each` expression itself go to `each_diags`."""
    for n, (data, prefix) in enumerate(_items(rule, record, each_diags)):
        item = _Item(record, data, prefix, strict=strict)
        index = None if rule.each is None else n
        pointer = _pointer(item)
        if rule.where is not None and not _truthy(_eval(rule.where, item)):
            yield ItemOutcome(data, None, True, tuple(item.diags), index, pointer)
            continue
        obj = _build(rule, item, checked=checked)
        yield ItemOutcome(data, obj, False, tuple(item.diags), index, pointer)


def _items(rule: ObjectRule, record: Record, diags: list[Diagnostic]) -> list[tuple[Any, Any]]:
    if rule.each is None:
        return [(record.data, ())]
    item = _Item(record, record.data, ())
    found = _eval(rule.each.expr, item)
    diags.extend(item.diags)
    if found is None:
        return []
    if not isinstance(found, list):
        return [(found, None)]
    if len(found) > MAX_ITEMS_PER_RULE:
        diags.append(
            Diagnostic(
                "record.too-many-items",
                f"`each` gave {len(found):,} items; a record may give at most "
                f"{MAX_ITEMS_PER_RULE:,} per rule",
                loc=rule.each.expr.loc,
                span=rule.each.expr.span,
                record=RecordRef(record.source, record.index),
                hint="split the record upstream, or select fewer items with `each`",
            )
        )
        return []
    return list(zip(found, _item_pointers(rule, record.data, len(found)), strict=True))


MAX_ITEMS_PER_RULE = 10_000
"""Items one rule's `each` may give for one record (its objects are held and written together)."""
MAX_OBJECTS_PER_RECORD = 10_000
"""Objects all rules together may make from one record."""


def _item_pointers(rule: ObjectRule, data: Any, count: int) -> list[Any]:
    """JSON paths of each item when `each` is a plain projection over a list, else None."""
    base_path = rule.each.base_path if rule.each else None
    base = follow(data, base_path) if base_path is not None else None
    if isinstance(base, list):
        kept = [i for i, v in enumerate(base) if v is not None]
        if len(kept) == count and not any(isinstance(base[i], list) for i in kept):
            return [(*base_path, i) for i in kept]  # type: ignore[misc]
    return [None] * count


def _truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, "", [] and {} are false; 0 is true."""
    return not (value is None or value is False or value in EMPTY)


def _eval(expr: CompiledExpr, item: _Item) -> Any:
    try:
        return expr.evaluate(item.data)
    except EvalError as err:
        item.diags.append(_expr_diag(err.code, err.message, expr, item))
    except JMESPathTypeError as err:  # worded here: jmespath shows values as Python reprs
        item.diags.append(_expr_diag("expr.type-error", type_error_message(err), expr, item))
    except JMESPathError as err:
        code = "expr.arity" if "arguments" in str(err) else "expr.type-error"
        item.diags.append(_expr_diag(code, _one_line(err), expr, item))
    except RecursionError:
        raise
    except Exception as err:  # a bug in a function must not stop the run
        item.diags.append(
            _expr_diag("expr.internal-error", f"{type(err).__name__}: {err}", expr, item)
        )
    return None


def evaluate_expr(
    expr: CompiledExpr, record: Record, data: Any = None
) -> tuple[Any, list[Diagnostic]]:
    """One expression on one record (or on `data` inside it): its value and, when it failed,
    the located diagnostic (`mapper eval`). The functions' context must be set by the caller."""
    item = _Item(record, record.data if data is None else data, ())
    value = _eval(expr, item)
    return value, item.diags


def _one_line(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _expr_diag(code: str, message: str, expr: CompiledExpr, item: _Item) -> Diagnostic:
    return Diagnostic(
        code, message, loc=expr.loc, span=expr.span, expr=expr.text, record=item.ref(expr.path)
    )


def _value(node: ValueNode, item: _Item) -> Any:
    kind = node.kind
    problems = len(item.diags)
    if kind == "expr":
        value = _eval(node.exprs[0], item) if node.exprs else None
    elif kind == "const":
        value = node.const
    elif kind == "coalesce":
        value = _coalesce(node, item)
    elif kind == "list":
        value = [v for _, child in node.children if (v := _value(child, item)) is not None]
    else:
        value = {
            k: v for k, child in node.children if (v := _value(child, item)) is not None
        } or None
    raw = value
    if node.omit_empty and (value is None or value in EMPTY):
        value = None
    failed = bool(node.exprs) and len(item.diags) > problems
    if failed and (value is not None or node.has_default or not (node.required or node.needed)):
        _forgive(node, item, problems, recovered=value is not None or node.has_default)
    if value is None:
        return _absent(node, item, raw, failed=failed)
    return value


_UNFORGIVEN = frozenset({"function.regex-timeout", "record.too-deep"})


def _forgive(node: ValueNode, item: _Item, start: int, *, recovered: bool) -> None:
    """The errors of a field that has a value after all (a later `coalesce` expression, a
    `default:`) or is optional become `field.optional-failed` warnings (errors when strict and
    the field is omitted), naming the field, the expression and the cause."""
    name = next((p for p in reversed(node.loc) if isinstance(p, str)), "value")
    for i in range(start, len(item.diags)):
        diag = item.diags[i]
        if not diag.is_error or diag.code in _UNFORGIVEN:
            continue
        what = "the default was used" if node.has_default else "the field was omitted"
        if recovered and not node.has_default:
            what = "the next expression was used"
        item.diags[i] = replace(
            diag,
            code="field.optional-failed",
            message=f"{name!r}: {what} because {diag.code}: {diag.message}",
            severity="error" if item.strict and not recovered else "warning",
            hint=diag.hint or "give the field a `default:`, or fix the expression",
        )


def _coalesce(node: ValueNode, item: _Item) -> Any:
    for expr in node.exprs:
        value = _eval(expr, item)
        if value is not None:
            return value
    return None


def _absent(node: ValueNode, item: _Item, raw: Any = None, *, failed: bool = False) -> Any:
    if node.has_default:
        return node.default
    if node.required:
        expr = node.exprs[0] if node.exprs else None
        name = next((p for p in reversed(node.loc) if isinstance(p, str)), "value")
        only = expr if len(node.exprs) == 1 else None  # a coalesce: every expression gave null
        what, hint = null_cause(only, item.data, raw, failed=failed)
        item.diags.append(
            Diagnostic(
                "field.required",
                f"{name!r} is required but {what}",
                loc=node.loc,
                span=node.span,
                expr=expr.text if expr else None,
                record=item.ref(expr.path if expr else None),
                hint=hint,
            )
        )
    return None


def _take_checked(
    rule: ObjectRule, item: _Item, done: Any, diags: list[Diagnostic]
) -> MappedObject:
    """The object a rule's checked function built; its warnings, located, go to `diags`."""
    checked, warnings = cast(tuple[dict[str, Any], list[Diagnostic]], done)
    diags.extend(_locate_object_problem(rule, item, d) for d in warnings)
    return MappedObject(rule.type_name, rule.name, checked, _pointer(item))


def _build(rule: ObjectRule, item: _Item, *, checked: bool = True) -> MappedObject | None:
    done = rule.checked(item.data) if checked and rule.checked is not None else FALLBACK
    if done is not FALLBACK:  # built and checked in one go (the usual case)
        return _take_checked(rule, item, done, item.diags)
    fast = rule.fused(item.data) if rule.fused is not None else FALLBACK
    if fast is FALLBACK:  # a problem somewhere: evaluate field by field to locate it
        fast = _value(rule.fields, item)
        if any(d.is_error for d in item.diags):
            return None
    payload: dict[str, Any] = fast or {}  # a dict or None here
    if rule.derive_usn and "updateSequenceNumber" not in payload:
        usn = epoch_ms_of(payload.get("lastUpdatedAt"))
        if usn is not None:
            payload["updateSequenceNumber"] = usn
    clean, problems = _check_object(rule.type_name, payload)
    if clean is None and not item.strict:
        clean, problems = _without_bad_optional(rule, payload, problems)
    item.diags.extend(_locate_object_problem(rule, item, d) for d in problems)
    if clean is None:
        return None
    return MappedObject(rule.type_name, rule.name, clean, _pointer(item))


def _check_object(
    type_name: str, payload: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[Diagnostic]]:
    """`model.validate.check_object`, imported when a record first takes the reference path
    (it loads pydantic and the object models: a clean run on a cached plan never does)."""
    from mapper.model.validate import check_object as check

    return check(type_name, payload)


def _optional_path(rule: ObjectRule, loc: tuple[PathPart, ...]) -> tuple[PathPart, ...] | None:
    """The mapped optional field (top level, or in the type block) a problem is in, if any."""
    path = loc[:2] if loc and loc[0] == rule.type_name else loc[:1]
    node = rule.fields
    for part in path:
        child = node.child(part) if node.kind == "object" else None
        if child is None or child.required or child.needed:
            return None
        node = child
    return path if len(path) == (2 if path[:1] == (rule.type_name,) else 1) else None


def _without_bad_optional(
    rule: ObjectRule, payload: dict[str, Any], problems: list[Diagnostic]
) -> tuple[dict[str, Any] | None, list[Diagnostic]]:
    """An object refused only for values of optional fields: the object without them, and
    the refusals as `field.optional-failed` warnings. An object refused for a required field
    too: (None, problems), its optional fields' refusals said as warnings all the same (they
    are not why it was rejected)."""
    errors = [d for d in problems if d.is_error]
    paths = [_optional_path(rule, d.loc) for d in errors]
    if not errors:
        return None, problems
    if any(p is None for p in paths):
        optional = {id(d) for d, p in zip(errors, paths, strict=True) if p is not None}
        return None, [_forgiven(d, "would be") if id(d) in optional else d for d in problems]
    trimmed = dict(payload)
    for path in paths:
        assert path is not None
        if len(path) == 1:
            trimmed.pop(str(path[0]), None)
        elif isinstance(trimmed.get(str(path[0])), dict):
            trimmed[str(path[0])] = {k: v for k, v in trimmed[str(path[0])].items() if k != path[1]}
    clean, again = _check_object(rule.type_name, trimmed)
    if clean is None:
        return None, problems
    forgiven = [_forgiven(d, "was") for d in errors]
    return clean, forgiven + [d for d in problems if not d.is_error] + again


def _forgiven(diag: Diagnostic, was: str) -> Diagnostic:
    """A model problem of an optional field as the `field.optional-failed` warning it is."""
    message = f"the field {was} omitted because {diag.code}: {diag.message}"
    return replace(diag, code="field.optional-failed", message=message, severity="warning")


def _pointer(item: _Item) -> str:
    return "" if not item.prefix else json_pointer(item.prefix)


def _locate_object_problem(rule: ObjectRule, item: _Item, diag: Diagnostic) -> Diagnostic:
    """Point a model problem (located in the payload) at the mapping field that produced it."""
    node, depth = rule.fields, 0
    for part in diag.loc:
        child = node.child(part) if node.kind in ("object", "list") else None
        if child is None:
            break
        node, depth = child, depth + 1
    rest = diag.loc[depth:]
    expr = node.exprs[0] if node.kind == "expr" and node.exprs else None
    path = None
    if expr is not None and expr.path is not None:
        is_call = isinstance(expr.ast, dict) and expr.ast.get("type") == "function_expression"
        # a plain path copies the record's value, so the rest of the payload path applies to it;
        # a function call's result is new data: point at its argument only for the whole value
        path = expr.path if is_call and not rest else None if is_call else (*expr.path, *rest)
    out_path = _payload_path(diag.loc)
    message = f"{out_path}: {diag.message}" if out_path else diag.message
    return replace(
        diag,
        message=message,
        loc=node.loc,
        span=node.span,
        expr=expr.text if expr else None,
        record=item.ref(path),
    )


def _payload_path(loc: tuple[PathPart, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (("." if out else "") + str(part))
    return out
