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

from mapper.engine.fusion import FALLBACK
from mapper.engine.null_causes import null_cause, type_error_message
from mapper.errors import Diagnostic, EvalError, RecordRef, json_pointer
from mapper.functions import EvalContext
from mapper.functions.context import NO_LOOKUPS
from mapper.functions.timestamps import epoch_ms_of
from mapper.language.plan import EMPTY, CompiledExpr, ObjectRule, PathPart, Plan, ValueNode
from mapper.model.validate import check_object
from mapper.paths import follow
from mapper.records import MappedObject, Record, RecordResult


@dataclass
class _Item:
    """Evaluation state for one item of one rule."""

    record: Record
    data: Any
    prefix: tuple[PathPart, ...] | None
    diags: list[Diagnostic] = field(default_factory=list)

    def ref(self, path: tuple[PathPart, ...] | None = None) -> RecordRef:
        if self.prefix is None:
            return RecordRef(self.record.source, self.record.index)
        parts = self.prefix if path is None else (*self.prefix, *path)
        return RecordRef(self.record.source, self.record.index, json_pointer(parts))


def evaluate(
    plan: Plan, record: Record, *, lookups: Mapping[str, Mapping[str, Any]] = NO_LOOKUPS
) -> RecordResult:
    """Apply every rule of `plan` to one record. Never raises for any JSON record."""
    plan.functions.context = EvalContext(record.data, record.source, lookups)
    objects: list[MappedObject] = []
    diags: list[Diagnostic] = []
    filtered_by: list[str] = []
    for rule in plan.rules:
        plain = rule.each is None and rule.where is None and rule.checked is not None
        if plain:  # the usual case, without the general machinery
            done = rule.checked(record.data)  # type: ignore[misc]  # not None when plain
            if done is not FALLBACK:
                if done[1]:  # warnings to locate
                    item = _Item(record, record.data, ())
                    objects.append(_take_checked(rule, item, done, diags))
                else:
                    objects.append(MappedObject(rule.type_name, rule.name, done[0]))
                continue
        try:
            _apply_rule(rule, record, objects, diags, filtered_by, checked=not plain)
        except RecursionError:
            diags.append(
                Diagnostic(
                    "record.too-deep",
                    "the record nests too deeply to evaluate",
                    loc=rule.loc,
                    span=rule.span,
                    record=RecordRef(record.source, record.index),
                )
            )
    if len(objects) > MAX_OBJECTS_PER_RECORD:
        diags.append(_too_many_objects(plan, record, len(objects)))
    if diags and any(d.is_error for d in diags):
        objects = []
    return RecordResult(record, tuple(objects), tuple(diags), len(filtered_by), tuple(filtered_by))


def _too_many_objects(plan: Plan, record: Record, count: int) -> Diagnostic:
    return Diagnostic(
        "record.too-many-objects",
        f"the record gave {count:,} objects; at most {MAX_OBJECTS_PER_RECORD:,} are allowed",
        loc=("objects",),
        span=plan.rules[0].span if plan.rules else None,
        record=RecordRef(record.source, record.index),
    )


def _apply_rule(
    rule: ObjectRule,
    record: Record,
    objects: list[MappedObject],
    diags: list[Diagnostic],
    filtered_by: list[str],
    *,
    checked: bool = True,
) -> None:
    """Evaluate a rule on every item; `checked=False` skips its checked function (it failed)."""
    for outcome in rule_items(rule, record, diags, checked=checked):
        diags.extend(outcome.diags)
        if outcome.filtered:
            if not outcome.diags:
                filtered_by.append(rule.name)
        elif outcome.obj is not None:
            objects.append(outcome.obj)


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """One item of a rule: its data, its object (None when filtered or rejected), its problems."""

    data: Any
    obj: MappedObject | None
    filtered: bool
    diags: tuple[Diagnostic, ...]


def rule_items(
    rule: ObjectRule, record: Record, each_diags: list[Diagnostic], *, checked: bool = True
) -> Iterator[ItemOutcome]:
    """The items of one rule on one record (one item without `each`), each built and judged on
    its own; problems of the `each` expression itself go to `each_diags`."""
    for data, prefix in _items(rule, record, each_diags):
        item = _Item(record, data, prefix)
        if rule.where is not None and not _truthy(_eval(rule.where, item)):
            yield ItemOutcome(data, None, True, tuple(item.diags))
            continue
        obj = _build(rule, item, checked=checked)
        yield ItemOutcome(data, obj, False, tuple(item.diags))


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
    if value is None:
        return _absent(node, item, raw, failed=bool(node.exprs) and len(item.diags) > problems)
    return value


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
    payload: dict[str, Any] = fast or {}  # type: ignore[assignment]  # a dict or None here
    if rule.derive_usn and "updateSequenceNumber" not in payload:
        usn = epoch_ms_of(payload.get("lastUpdatedAt"))
        if usn is not None:
            payload["updateSequenceNumber"] = usn
    clean, problems = check_object(rule.type_name, payload)
    item.diags.extend(_locate_object_problem(rule, item, d) for d in problems)
    if clean is None:
        return None
    return MappedObject(rule.type_name, rule.name, clean, _pointer(item))


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
