"""The compiled form of a mapping: frozen rules and value nodes, ready to evaluate many times."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from mapper.errors import Diagnostic, Loc, SourceSpan

Evaluator = Callable[[Any], Any]
NodeKind = Literal["expr", "const", "coalesce", "list", "object"]
EMPTY: tuple[object, ...] = ("", [], {})
"""The empty values: `omit_empty` treats them as null, and JMESPath counts them as false."""
PathPart = str | int


@dataclass(frozen=True, slots=True)
class CompiledExpr:
    """One JMESPath expression, compiled once, with where it was written."""

    text: str
    evaluate: Evaluator
    loc: Loc
    span: SourceSpan | None
    path: tuple[PathPart, ...] | None = None  # set when `text` is a plain path (a.b[0].c)
    ast: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ValueNode:
    """A field value: where it comes from and what to do when it is null, missing or empty."""

    kind: NodeKind
    loc: Loc
    span: SourceSpan | None
    exprs: tuple[CompiledExpr, ...] = ()
    const: Any = None
    children: tuple[tuple[PathPart, ValueNode], ...] = ()
    required: bool = False
    has_default: bool = False
    default: Any = None
    omit_empty: bool = False
    origin: str | None = None  # name of the `define:` entry it came from
    needed: bool = False  # the object model requires this key: a failure is never forgiven

    def child(self, key: PathPart) -> ValueNode | None:
        """The child node for an output key or list index, if this node has one."""
        for k, node in self.children:
            if k == key:
                return node
        return None


@dataclass(frozen=True, slots=True)
class EachStep:
    """How a rule iterates: the expression and, when it is a plain projection, the source path."""

    expr: CompiledExpr
    base_path: tuple[PathPart, ...] | None  # e.g. ("commits",) for `commits[]`


@dataclass(frozen=True, slots=True)
class ObjectRule:
    """One `objects:` entry, compiled."""

    name: str
    type_name: str
    index: int
    fields: ValueNode  # kind "object": the whole output object
    each: EachStep | None
    where: CompiledExpr | None
    loc: Loc
    span: SourceSpan | None
    derive_usn: bool  # updateSequenceNumber is unmapped: derive it from lastUpdatedAt
    together: bool = False  # its objects are held back when any `together` candidate fails
    fused: Evaluator | None = field(default=None, compare=False, repr=False)  # engine.fusion
    checked: Evaluator | None = field(default=None, compare=False, repr=False)  # fuse_checked


@dataclass(frozen=True, slots=True)
class LookupTable:
    """A `lookups:` entry: the file to find and how to index its rows."""

    name: str
    file: str
    key: CompiledExpr
    records: CompiledExpr | None
    span: SourceSpan | None


@dataclass(frozen=True, slots=True)
class Param:
    """A declared mapping parameter."""

    name: str
    type: str
    description: str | None
    default: Any
    required: bool
    span: SourceSpan | None


@dataclass(frozen=True, slots=True)
class Plan:
    """A mapping that compiled without errors."""

    path: str
    name: str
    rules: tuple[ObjectRule, ...]
    records: CompiledExpr | None
    lookups: tuple[LookupTable, ...]
    functions: Any  # the MapperFunctions instance all evaluators share (its context is per record)
    warnings: tuple[Diagnostic, ...] = ()
    strict: bool = False  # `strict: true`: an optional field that fails rejects its object
    params: tuple[Param, ...] = ()
    replicates_permissions: bool = False  # `replicatesPermissions: true` in the mapping
    cursor: CompiledExpr | None = None  # `cursor:`: evaluated per input record by a sync run
    includes: tuple[str, ...] = ()  # the files the mapping includes (resolved): never outputs

    @property
    def object_types(self) -> tuple[str, ...]:
        """The object types this plan can produce, in rule order, without repeats."""
        return tuple(dict.fromkeys(r.type_name for r in self.rules if ":" in r.type_name))

    @property
    def identity_kinds(self) -> tuple[str, ...]:
        """The identity payloads (`user`, `group`) its `users:` / `groups:` rules produce."""
        return tuple(dict.fromkeys(r.type_name for r in self.rules if ":" not in r.type_name))
