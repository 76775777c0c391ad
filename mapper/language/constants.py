"""Which values of a mapping read nothing from the record, and whether the checks accept them.

A field whose expression is a literal or a pure function of literals has the same value for
every record: the compiler checks it once (`field.constant-rejected`), and the engine's fast
path evaluates it once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from mapper.errors import Diagnostic
from mapper.language.plan import PathPart, ValueNode
from mapper.language.reads import CONTEXT_FUNCTIONS
from mapper.model import OBJECT_TYPES
from mapper.model.fastcheck import built_model, checked_value
from mapper.model.validate import check_object

PLACEHOLDER = "REPLACE-ME"  # what `mapper init` writes where it could not guess a value
_CONSTANT_NODES = frozenset({"literal", "function_expression", "multi_select_list",
                             "multi_select_dict", "key_val_pair"})  # fmt: skip



def constant_fields(node: ValueNode) -> dict[tuple[PathPart, ...], tuple[ValueNode, Any]]:
    """The fields of an object node whose value is the same, and not null, for every record:
    output path -> (node, value). Nested objects written field by field are searched too."""
    found: dict[tuple[PathPart, ...], tuple[ValueNode, Any]] = {}
    for key, child in node.children:
        if child.kind == "object":
            inner = constant_fields(child)
            found.update({(key, *path): value for path, value in inner.items()})
            continue
        value = _constant_value(child)
        if value is not None:
            found[(key,)] = (child, value)
    return found


def passes_fast_check(model: type[BaseModel], path: tuple[PathPart, ...], value: Any) -> bool:
    """True when the generated checks accept `value` at `path` (payload keys) of `model`, as
    they would in every record; False when they do not, or cannot tell."""
    for i, part in enumerate(path):
        names = {info.alias or name: name for name, info in model.model_fields.items()}
        name = names.get(str(part))
        if name is None:
            return False
        if i == len(path) - 1:
            return checked_value(model, name, value)[0]
        nested = built_model(model.model_fields[name])
        if nested is None:
            return False
        model = nested
    return False



def _constant_value(node: ValueNode) -> Any:
    if node.kind == "const":
        return node.const
    if node.kind != "expr" or node.has_default or node.omit_empty or len(node.exprs) != 1:
        return None
    if not is_constant(node.exprs[0].ast):
        return None
    try:
        return node.exprs[0].evaluate({})
    except Exception:  # an error is reported per record, as usual
        return None


def is_constant(ast: Any) -> bool:
    """True when an expression reads nothing from the record (literals and pure functions)."""
    if not isinstance(ast, dict) or ast.get("type") not in _CONSTANT_NODES:
        return False
    if ast.get("type") == "function_expression" and ast.get("value") in CONTEXT_FUNCTIONS:
        return False
    return all(is_constant(child) for child in ast.get("children", ()))




def holds_placeholder(value: Any) -> bool:
    """True when a constant is, or contains, the `REPLACE-ME` placeholder of `mapper init`."""
    if isinstance(value, str):
        return PLACEHOLDER in value
    if isinstance(value, dict):
        return any(holds_placeholder(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_placeholder(v) for v in value)
    return False


_NOT_THE_CONSTANTS = frozenset(
    {"object.missing", "object.required-by-type", "object.unknown-field"}
)  # problems of the fields left out of the object of constants, or reported elsewhere


def constant_problems(type_name: str, node: ValueNode) -> Iterator[Diagnostic]:
    """Fields whose value is the same for every record and fails validation: the mapping would
    reject every record (e.g. a `REPLACE-ME` key left by `mapper init`). The constants are
    checked together, as one object, by the reference validation."""
    constants = constant_fields(node)
    placeholders = {path: found for path, found in constants.items() if holds_placeholder(found[1])}
    yield from (placeholder_problem(type_name, child) for child, _value in placeholders.values())
    constants = {path: found for path, found in constants.items() if path not in placeholders}
    if not constants or type_name not in OBJECT_TYPES:
        return
    model = OBJECT_TYPES[type_name]
    if all(passes_fast_check(model, path, value) for path, (_, value) in constants.items()):
        return  # the usual case, decided without building the reference validator
    payload: dict[str, Any] = {}
    for path, (_node, value) in constants.items():
        target = payload
        for part in path[:-1]:
            target = target.setdefault(str(part), {})
        target[str(path[-1])] = value
    _checked, diags = check_object(type_name, payload, fast=False)
    for diag in diags:
        if not diag.is_error or diag.code in _NOT_THE_CONSTANTS:
            continue
        for path, (child, _value) in constants.items():
            if tuple(diag.loc[: len(path)]) == path:
                yield Diagnostic(
                    "field.constant-rejected",
                    f"this value is the same for every record, and every record would be "
                    f"rejected for it: {diag.message}",
                    loc=child.loc,
                    span=child.span,
                    hint=diag.hint or "map it from the record, or give a valid constant",
                )
                break


def placeholder_problem(type_name: str, node: ValueNode) -> Diagnostic:
    """A `REPLACE-ME` left by `mapper init`: the field still waits for its value."""
    return Diagnostic(
        "field.placeholder",
        f"still holds the placeholder {PLACEHOLDER} left by `mapper init`",
        loc=node.loc,
        span=node.span,
        hint=f"map it from the record; `mapper types {type_name}` says what it takes",
    )
