"""What a connector's mappings emit, read from their compiled plans: fields, sources, ACLs.

Everything the generated documentation and the lint say about the data comes from here, so
it changes when a mapping changes: per rule, each output field and the expression it comes
from, and the principals its `permissions` can grant with the source data of their ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mapper.connector.loader import ConnectorMapping, LoadedConnector
from mapper.connector.unparse import unparse
from mapper.errors import SourceSpan
from mapper.language.plan import ObjectRule, ValueNode

PRINCIPAL_TYPES = ("USER", "GROUP", "CONTAINER", "ATLASSIAN_WORKSPACE", "EVERYONE",
                   "MUST_HAVE_VIEWED")
WORKSPACE_WIDE = frozenset({"EVERYONE", "ATLASSIAN_WORKSPACE"})
UNKNOWN = "?"  # a principal whose type is computed from the record
_KEY_BUILDERS = frozenset({"entity_key", "entity_key_as", "entity_key_of"})


@dataclass(frozen=True, slots=True)
class FieldSource:
    """One output field of a rule and where its value comes from."""

    field: str  # dotted output path, e.g. `atlassian:commit.hash`, `thumbnail.externalUrl`
    source: str  # the expression text, a JSON literal, or how it is derived
    kind: str  # expression | coalesce | constant | derived
    required: bool
    origin: str | None = None  # the `define:` entry it comes from
    default: str | None = None  # the JSON of the value used when the source gives null


@dataclass(frozen=True, slots=True)
class Grant:
    """A principal a rule's permissions can grant, and the source data of its id."""

    type: str  # USER, GROUP, ... or `?` when the type is computed
    source: str | None  # e.g. `record().sender.login`; None for principals without an id


@dataclass(frozen=True, slots=True)
class PermissionFacts:
    """What a rule's `permissions` field can grant."""

    grants: tuple[Grant, ...]
    texts: tuple[str, ...]  # the permissions expressions (or JSON literal) as compiled
    origin: str | None
    span: SourceSpan | None

    @property
    def types(self) -> frozenset[str]:
        """The principal types granted (`?` included when one is computed)."""
        return frozenset(g.type for g in self.grants)

    @property
    def is_known(self) -> bool:
        """True when every principal type is visible in the mapping (not read from the data)."""
        return bool(self.grants) and UNKNOWN not in self.types

    @property
    def is_workspace_wide(self) -> bool:
        """True when the rule grants nothing narrower than the whole workspace."""
        return self.is_known and self.types <= WORKSPACE_WIDE

    def sources(self, kind: str) -> tuple[str, ...]:
        """The source data of the ids of one principal type, without repeats."""
        return tuple(dict.fromkeys(g.source for g in self.grants if g.type == kind and g.source))


@dataclass(frozen=True, slots=True)
class RuleFacts:
    """One object rule of one of the connector's mappings."""

    mapping: ConnectorMapping
    rule: ObjectRule
    fields: tuple[FieldSource, ...]
    permissions: PermissionFacts
    container: str | None  # the containerKey type, when the mapping names it

    @property
    def where(self) -> str:
        """`push.yaml` rule `commit` (line 20), for documents and hints."""
        line = f" (line {self.rule.span.line})" if self.rule.span else ""
        return f"`{self.mapping.ref.file}` rule `{self.rule.name}`{line}"


def connector_facts(connector: LoadedConnector) -> tuple[RuleFacts, ...]:
    """The facts of every rule of every mapping of the connector that compiled, in order."""
    return tuple(
        rule_facts(mapping, rule) for mapping, plan in connector.plans for rule in plan.rules
    )


def rule_facts(mapping: ConnectorMapping, rule: ObjectRule) -> RuleFacts:
    """The facts of one rule."""
    fields = tuple(iter_field_sources(rule.fields, ()))
    if rule.derive_usn:
        derived = "epoch milliseconds of `lastUpdatedAt` (computed: a newer version wins)"
        fields = (*fields, FieldSource("updateSequenceNumber", derived, "derived", True))
    acl = rule.fields.child("permissions")
    key = rule.fields.child("containerKey")
    permissions = permission_facts(acl) if acl else PermissionFacts((), (), None, rule.span)
    return RuleFacts(mapping, rule, fields, permissions, container_type(key) if key else None)


def iter_field_sources(node: ValueNode, path: tuple[str, ...]) -> Iterator[FieldSource]:
    """One FieldSource per leaf value below `node` (objects are walked, lists numbered)."""
    if node.kind in ("object", "list"):
        for key, child in node.children:
            step = f"[{key}]" if isinstance(key, int) else str(key)
            inner = (*path[:-1], path[-1] + step) if isinstance(key, int) and path else (
                *path, step)
            yield from iter_field_sources(child, inner)
        return
    default = json.dumps(node.default, ensure_ascii=False) if node.has_default else None
    yield FieldSource(".".join(path), _source_text(node), _kind(node), node.required,
                      node.origin, default)


def _kind(node: ValueNode) -> str:
    return "constant" if node.kind == "const" else str(node.kind).replace("expr", "expression")


def _source_text(node: ValueNode) -> str:
    if node.kind == "const":
        return json.dumps(node.const, ensure_ascii=False)
    texts = [e.text for e in node.exprs]
    if node.kind == "coalesce":  # the directive means what the function of that name does
        return f"coalesce({', '.join(texts)})"
    return texts[0] if texts else ""


def permission_facts(node: ValueNode) -> PermissionFacts:
    """The principals a `permissions` value can grant, found in its expressions and literals."""
    grants = tuple(dict.fromkeys(_grants_of_node(node)))
    texts = tuple(e.text for e in _exprs(node)) or (json.dumps(_consts(node)),)
    return PermissionFacts(grants, texts, node.origin, node.span)


def _exprs(node: ValueNode) -> Iterator[Any]:
    yield from node.exprs
    for _key, child in node.children:
        yield from _exprs(child)


def _consts(node: ValueNode) -> Any:
    if node.kind == "const":
        return node.const
    return [_consts(child) for _key, child in node.children]


def _grants_of_node(node: ValueNode) -> Iterator[Grant]:
    if node.kind == "const":
        yield from _grants_of_value(node.const)
        return
    for expr in node.exprs:
        yield from _grants_of_ast(expr.ast)
    kind, ident = node.child("type"), node.child("id")
    if kind is not None:  # a principal written as a map: {type: {const: USER}, id: login}
        name = str(kind.const).upper() if kind.kind == "const" else UNKNOWN
        yield Grant(name, _source_text(ident) if ident else None)
    for key, child in node.children:
        if key not in ("type", "id"):
            yield from _grants_of_node(child)


def _grants_of_ast(node: Mapping[str, Any]) -> Iterator[Grant]:
    kids = [c for c in node.get("children", ()) if isinstance(c, Mapping)]
    if node.get("type") == "function_expression":
        name = node.get("value")
        if name == "principal":
            yield _principal_call(kids)
            return
        if name in ("users", "groups") and kids:
            yield Grant("USER" if name == "users" else "GROUP", unparse(kids[0]))
            return
    if node.get("type") == "literal":
        yield from _grants_of_value(node.get("value"))
    for child in kids:
        yield from _grants_of_ast(child)


def _principal_call(args: list[Mapping[str, Any]]) -> Grant:
    first = args[0] if args else {}
    if first.get("type") != "literal" or not isinstance(first.get("value"), str):
        return Grant(UNKNOWN, unparse(first) if first else None)
    kind = str(first["value"]).upper()
    has_id = kind not in WORKSPACE_WIDE | {"CONTAINER", "MUST_HAVE_VIEWED"} and len(args) > 1
    return Grant(kind, unparse(args[1]) if has_id else None)


def _grants_of_value(value: Any) -> Iterator[Grant]:
    if isinstance(value, dict):
        kind = value.get("type")
        if isinstance(kind, str) and kind.upper() in PRINCIPAL_TYPES:
            ident = value.get("id")
            yield Grant(kind.upper(), None if ident is None else json.dumps(ident))
            return
        for item in value.values():
            yield from _grants_of_value(item)
    elif isinstance(value, list):
        for item in value:
            yield from _grants_of_value(item)


def container_type(node: ValueNode) -> str | None:
    """The object type a `containerKey` points at, when the mapping writes it literally."""
    kind = node.child("type")
    if kind is not None and kind.kind == "const":
        return str(kind.const)
    if node.kind == "const" and isinstance(node.const, dict):
        return str(node.const.get("type")) if node.const.get("type") else None
    return next((t for e in node.exprs for t in _key_types(e.ast)), None)


def _key_types(node: Mapping[str, Any]) -> Iterator[str]:
    kids = [c for c in node.get("children", ()) if isinstance(c, Mapping)]
    if node.get("type") == "function_expression" and node.get("value") in _KEY_BUILDERS:
        first = kids[0] if kids else {}
        if first.get("type") == "literal" and isinstance(first.get("value"), str):
            yield str(first["value"])
    for child in kids:
        yield from _key_types(child)
