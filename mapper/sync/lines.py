"""The skip path: input lines whose objects the state already holds, unchanged.

A record that maps cleanly (`run.pipeline.clean_path`: every rule plain, no lookups) becomes
exactly one object per rule, and the same JSONL line under the same mapping, mapper and
parameters becomes the same objects. So the state keeps, per object, the digest of the line
whose clean record last made it (`objects.line`), and a sync run told a line's digest by the
reader asks which objects carry it: when that is one object per rule, none deleted and none
seen (or waiting to be decided) in this run already, the line is *known*. It is then neither
parsed nor mapped: its objects count as unchanged and are marked seen, as the general path would
have decided them (an unchanged object is never written), and the highest lastUpdatedAt moves
with the objects' stored cursor.

The digests are only trusted under the `line_key` they were recorded with: a digest of the plan
(rule by rule, expression by expression), mapper's environment (version, source, libraries),
the run's parameters (when an expression reads one) and the hashing rule. A run under another
key clears them first. With a mapping's `cursor:`, each object also keeps its record's value of
it (`objects.mark`, as JSON), which a known line hands to the run's cursor as the record would;
a record whose value is not a cursor value (a finding each run) is not recorded.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from mapper.io.plancache import environment_digest
from mapper.language.plan import Plan
from mapper.language.reads import ast_calls, calls

_LEFT_OUT = frozenset({"loc", "span", "functions", "warnings", "path"})
"""Plan fields that do not change what a record maps to (`path` of a Plan is its file; a
CompiledExpr's `path` is derived from its text)."""


def line_key(plan: Plan, params: Mapping[str, str], exclude: frozenset[str]) -> str:
    """The key the line digests of a run are recorded under (the parameters count only when
    an expression calls param(): an incremental run's new `since` then changes nothing)."""
    given = sorted(params.items()) if _reads_params(plan) else []
    shape = json.dumps(
        [_shape(plan), given, sorted(exclude), environment_digest()], separators=(",", ":")
    )
    return hashlib.sha256(shape.encode()).hexdigest()


_PARAM = frozenset({"param"})


def _reads_params(plan: Plan) -> bool:
    """True when an expression of the plan may call param()."""
    exprs = [r.fields for r in plan.rules]
    if any(calls(node, _PARAM) for node in exprs):
        return True
    return plan.cursor is not None and ast_calls(plan.cursor.ast, _PARAM)


def _shape(value: Any) -> Any:
    """The plan as JSON-able data: every field that decides the output, no callables."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        kept = (f.name for f in fields if f.compare and f.name not in _LEFT_OUT)
        return [type(value).__name__, {name: _shape(getattr(value, name)) for name in kept}]
    if isinstance(value, enum.Enum):
        return _shape(value.value)
    if isinstance(value, (list, tuple)):
        return [_shape(v) for v in value]
    if isinstance(value, dict):
        return [[str(k), _shape(v)] for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if callable(value):
        return None  # (an evaluator: its expression's text is beside it)
    return repr(value)
