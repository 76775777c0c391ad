"""Which function results are valid by construction for which model fields (no check needed).

`engine.guarantees` asks these tables when it writes a rule's generated function; every claim is
checked against the full validation in `tests/test_fastcheck.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from mapper.model.common import Association
from mapper.model.fastcheck import checked_value
from mapper.model.introspect import field_shape

TRUSTED_RESULTS: dict[str, Callable[[Any], bool]] = {
    "to_rfc3339": lambda shape: shape.kind in ("timestamp", "date-or-timestamp"),
    "user_ref": lambda shape: shape.kind == "userRef",
    "associations": lambda shape: shape.kind == "list[object]" and shape.model is Association,
}
"""Mapping function -> the fields (by shape) its result is valid for as it is: null, or a value
the check would return unchanged, key order included, with no warning. to_rfc3339 returns
canonical UTC text; user_ref a userReference with externalId, keys in model order; associations
issueIdOrKeys associations of non-empty strings. `tests/test_fastcheck.py` checks each claim."""


def trusts(model: type[BaseModel], field: str, function: str) -> bool:
    """True when `function`'s result needs no check as the value of `model.field`."""
    accepts = TRUSTED_RESULTS.get(function)
    validated = any(field in dec.info.fields for dec in _decorators(model))
    return accepts is not None and not validated and accepts(field_shape(model.model_fields[field]))


TRUSTED_WITH_LITERALS: dict[str, int] = {"entity_key": 1, "entity_key_as": 2}
"""Function -> how many leading arguments, given as literals, decide whether all its results
are valid: the last argument only becomes a non-empty id string (or the result is null). So
one sample result, checked once, stands for all of them (`trusts_call`)."""


def trusts_call(
    model: type[BaseModel], field: str, function: str, literals: list[Any], sample: Any
) -> bool:
    """True when the results of `function(*literals, id)` need no check as `model.field`.

    `sample` is the result for the id "x"; it must pass the field's checks unchanged.
    """
    if TRUSTED_WITH_LITERALS.get(function) != len(literals) or sample is None:
        return False
    if any(field in dec.info.fields for dec in _decorators(model)):
        return False
    ok, checked = checked_value(model, field, sample)
    return ok and json.dumps(checked) == json.dumps(sample)


def _decorators(model: type[BaseModel]) -> list[Any]:
    return list(model.__pydantic_decorators__.field_validators.values())
