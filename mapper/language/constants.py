"""Which values of a mapping read nothing from the record, and whether the checks accept them.

A field whose expression is a literal or a pure function of literals has the same value for
every record: the compiler checks it once (`field.constant-rejected`), and the engine's fast
path evaluates it once.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mapper.language.plan import PathPart, ValueNode
from mapper.model.fastcheck import built_model, checked_value

PLACEHOLDER = "REPLACE-ME"  # what `mapper init` writes where it could not guess a value
CONTEXT_FUNCTIONS = frozenset({"record", "source", "lookup", "param"})  # vary per record or run
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
