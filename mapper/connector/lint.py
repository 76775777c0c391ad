"""Checks that a connector file tells the truth about its mappings; every finding located in it.

Each check is a small `check_<what>(connector, facts)` generator listed in `CHECKS`. Findings
carry a `connector.*` code and the location of the claim they contradict (a capability, an
`objectTypes:` entry, a `mappings:` entry), with a hint naming the mapping rule involved.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from mapper.connector.facts import RuleFacts, connector_facts
from mapper.connector.loader import LoadedConnector
from mapper.connector.spec import ConnectorSpec
from mapper.errors import Diagnostic, Loc, suggest
from mapper.functions import MapperFunctions
from mapper.language.compiler import compile_standalone
from mapper.model import OBJECT_TYPES

Facts = tuple[RuleFacts, ...]
Check = Callable[[LoadedConnector, Facts], Iterator[Diagnostic]]
_REPLICATES: Loc = ("capabilities", "replicatesPermissions")
_FIDELITY: Loc = ("capabilities", "syncFidelity")
_INCREMENTAL: Loc = ("capabilities", "supportsIncrementalSync")


def lint_connector(connector: LoadedConnector) -> list[Diagnostic]:
    """Run every check; the diagnostics are located in the connector file."""
    facts = connector_facts(connector)
    found = (d for check in CHECKS for d in check(connector, facts))
    return [connector.smap.locate(d) for d in found]


def _warn(code: str, message: str, loc: Loc, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, loc=loc, hint=hint, severity="warning")


def fidelity(spec: ConnectorSpec) -> str | None:
    """The sync fidelity the connector declares (or, without capabilities, runs with)."""
    declared = spec.capabilities.syncFidelity if spec.capabilities else None
    return declared or spec.sync.mode


def replicates(spec: ConnectorSpec) -> bool:
    """True when the connector declares `replicatesPermissions: true`."""
    return bool(spec.capabilities and spec.capabilities.replicatesPermissions)


def incremental(spec: ConnectorSpec) -> bool:
    """True when the connector declares `supportsIncrementalSync: true`."""
    return bool(spec.capabilities and spec.capabilities.supportsIncrementalSync)


def check_capabilities_declared(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """Without a capabilities block, admins read "Capabilities not declared by developer"."""
    if connector.spec.capabilities is None:
        yield _warn("connector.no-capabilities", "the connector declares no capabilities", (),
                    "admins will see 'Capabilities not declared by developer'; add `capabilities: "
                    "{replicatesPermissions, syncFidelity, supportsIncrementalSync}`")


def check_workspace_wide_rules(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """`replicatesPermissions: true` while a rule grants only EVERYONE / ATLASSIAN_WORKSPACE."""
    if not replicates(connector.spec):
        return
    for rule in facts:
        if rule.permissions.is_workspace_wide:
            granted = ", ".join(sorted(rule.permissions.types))
            yield Diagnostic(
                "connector.permissions-not-replicated",
                f"replicatesPermissions is true, but {rule.mapping.ref.file} rule "
                f"{rule.rule.name!r} grants only {granted}",
                loc=_REPLICATES,
                hint=f"map that rule's source access list, or declare replicatesPermissions: "
                f"false; permissions at {rule.permissions.span}",
            )


def check_unknown_permissions(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """Permissions read from the data as they are cannot be checked against the claim."""
    if not replicates(connector.spec):
        return
    for rule in facts:
        if not rule.permissions.is_known:
            yield _warn(
                "connector.permissions-unchecked",
                f"{rule.mapping.ref.file} rule {rule.rule.name!r}: which principals its "
                f"permissions grant is computed from the data",
                _REPLICATES,
                f"build them with users(), groups() and principal('TYPE') to have them checked "
                f"and documented; permissions at {rule.permissions.span}",
            )


def check_identity_rules(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """USER / GROUP principals need users / groups rules, or their ids match no one."""
    if not replicates(connector.spec):
        return
    for kind, key in (("USER", "users"), ("GROUP", "groups")):
        granting = [r for r in facts if kind in r.permissions.types]
        listed = getattr(connector.spec, key)
        if granting and not listed:
            first = granting[0]
            yield Diagnostic(
                "connector.missing-identity-rules",
                f"{len(granting)} rule(s) grant {kind} principals, but the connector lists no "
                f"`{key}:` rules (first: {first.mapping.ref.file} rule {first.rule.name!r})",
                loc=(key,) if key in connector.spec.model_fields_set else _REPLICATES,
                hint=f"list the rules that send set{key.title()} payloads under `{key}:`: "
                f"principal ids must equal their externalIds, else the objects are visible "
                f"to no one",
            )


def check_containers(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """CONTAINER grants whoever may see the container: the connector must ingest that type."""
    if not replicates(connector.spec):
        return
    produced = produced_types(facts)
    for rule in facts:
        container = rule.container
        if "CONTAINER" in rule.permissions.types and container and container not in produced:
            yield _warn(
                "connector.container-not-ingested",
                f"{rule.mapping.ref.file} rule {rule.rule.name!r} grants CONTAINER, but no "
                f"mapping of the connector produces its container type {container}",
                ("mappings", rule.mapping.index),
                "add the mapping that sends the containers (with their own permissions), or "
                "its objects have no access list to inherit",
            )


def check_identity_files(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """Each `users:` / `groups:` file must send that payload: a `users:` / `groups:` rule.

    A missing or invalid file is reported by the loader, in the file itself.
    """
    for entry in connector.identity:
        kind = entry.key[:-1]  # users -> user
        if entry.plan is not None and kind not in entry.plan.identity_kinds:
            made = ", ".join(entry.plan.object_types + entry.plan.identity_kinds) or "nothing"
            yield Diagnostic(
                "connector.not-identity-rules",
                f"{entry.key} rules {entry.name!r} have no `{entry.key}:` rule (they produce "
                f"{made})",
                loc=(entry.key, entry.index),
                hint=f"list here the mappings whose `{entry.key}:` rules send set"
                f"{entry.key.title()} payloads; object mappings belong under `mappings:`",
            )


def check_mirror_state(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """A mirror deletes what a run no longer sees: it needs the state of what was sent."""
    if fidelity(connector.spec) == "mirror" and connector.spec.sync.state is None:
        where = _FIDELITY if connector.spec.capabilities else ("sync", "mode")
        yield Diagnostic(
            "connector.mirror-without-state",
            "syncFidelity is mirror, but `sync:` names no state store",
            loc=where,
            hint="add `sync: {state: FILE}`: the ids sent per type, so that a run can delete "
            "those it no longer sees",
        )


def check_mirror_feeds(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """Mappings over events (webhooks) never see a deletion, so a mirror cannot delete them."""
    if fidelity(connector.spec) != "mirror":
        return
    for mapping in connector.mappings:
        if mapping.ref.feed == "events":
            yield Diagnostic(
                "connector.mirror-blind-rules",
                f"syncFidelity is mirror, but {mapping.ref.file} reads events: its rules can "
                f"never see a deletion",
                loc=("mappings", mapping.index),
                hint="mirror from a listing (every object in scope, each run), or declare "
                "syncFidelity: upsert",
            )


def check_event_like_feeds(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """A mapping named after webhooks is probably an events feed."""
    for mapping in connector.mappings:
        plan = mapping.plan
        names = (Path(mapping.ref.file).name, plan.name if plan and plan.name != plan.path else "")
        if mapping.ref.feed == "listing" and any("webhook" in n.lower() for n in names):
            yield _warn(
                "connector.feed-looks-like-events",
                f"{mapping.ref.file} looks like a webhook mapping but is declared a listing",
                ("mappings", mapping.index),
                f"write `{{file: {mapping.ref.file}, feed: events}}` if it reads events",
            )


def check_incremental_cursor(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """Incremental sync compares each record with a saved cursor: it needs one, and a state."""
    sync = connector.spec.sync
    if incremental(connector.spec) and sync.cursor is None:
        yield Diagnostic(
            "connector.incremental-without-cursor",
            "supportsIncrementalSync is true, but `sync:` names no cursor",
            loc=_INCREMENTAL,
            hint="add `sync: {cursor: EXPR}`, e.g. updated_at: records not newer than the "
            "saved cursor are skipped",
        )
    if incremental(connector.spec) and sync.state is None:
        yield Diagnostic("connector.incremental-without-state",
                         "supportsIncrementalSync is true, but `sync:` names no state store",
                         loc=_INCREMENTAL, hint="the cursor is kept in `sync: {state: FILE}`")


def check_cursor_expression(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """The cursor is a JMESPath expression, compiled like a mapping's."""
    cursor = connector.spec.sync.cursor
    if cursor is None:
        return
    for diag in _cursor_diagnostics(cursor):
        yield replace(diag, loc=("sync", "cursor"), span=None)


def check_cursor_in_mappings(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """`mapper sync` moves the state's cursor by a mapping's `cursor:` (else by the objects'
    lastUpdatedAt): the cursor the connector documents must be one that some listing moves.
    (Each mapping keeps a state and a cursor of its own, so listings of other records may move
    other cursors.)"""
    cursor = connector.spec.sync.cursor
    if cursor is None or not incremental(connector.spec):
        return
    if any(d.is_error for d in _cursor_diagnostics(cursor)):
        return  # (check_cursor_expression says so)
    wanted = {_squash(cursor), _squash(f"to_rfc3339({cursor})")}
    moved: dict[str, str] = {}  # mapping file -> the cursor its sync runs move
    for fact in facts:
        plan, ref = fact.mapping.plan, fact.mapping.ref
        if plan is None or ref.feed == "events":
            continue
        if plan.cursor is not None:
            moved[ref.file] = plan.cursor.text
            continue
        for field in fact.fields:
            if field.field == "lastUpdatedAt":
                moved.setdefault(ref.file, field.source)
    if not moved or any(_squash(text) in wanted for text in moved.values()):
        return
    shown = "; ".join(f"{file}: {text}" for file, text in moved.items())
    yield Diagnostic(
        "connector.cursor-not-in-mapping",
        f"sync.cursor is {cursor}, but no listing's sync runs move that cursor (a mapping's "
        f"`cursor:`, else its lastUpdatedAt): {shown}",
        loc=("sync", "cursor"), severity="warning",
        hint=f"give the mapping whose records carry it `cursor: {cursor}`, or make sync.cursor "
        "name the cursor a mapping moves, so --incremental filters on what the documentation says",
    )  # fmt: skip


@functools.lru_cache(maxsize=8)
def _cursor_diagnostics(cursor: str) -> tuple[Diagnostic, ...]:
    """What compiling a connector's `sync.cursor` says (both cursor checks ask)."""
    return tuple(compile_standalone(cursor, MapperFunctions(), "cursor")[1])


def _squash(text: str) -> str:
    return "".join(text.split())


def check_sync_mode(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """The mode the connector runs with must be the fidelity it declares."""
    spec = connector.spec
    declared = spec.capabilities.syncFidelity if spec.capabilities else None
    if declared and spec.sync.mode and declared != spec.sync.mode:
        yield Diagnostic(
            "connector.mode-mismatch",
            f"sync.mode is {spec.sync.mode}, but the connector declares syncFidelity: {declared}",
            loc=("sync", "mode"),
        )


def produced_types(facts: Facts) -> dict[str, RuleFacts]:
    """Each object type the mappings produce, with the first rule producing it."""
    first: dict[str, RuleFacts] = {}
    for rule in facts:
        first.setdefault(rule.rule.type_name, rule)
    return first


def check_declared_types(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """Every declared type must be a supported one that some mapping produces."""
    produced = produced_types(facts)
    complete = all(m.plan is not None for m in connector.mappings)
    for index, name in enumerate(connector.spec.objectTypes):
        loc = ("objectTypes", index)
        if name not in OBJECT_TYPES:
            hint = suggest(name, OBJECT_TYPES) or "see `mapper types`"
            yield Diagnostic("connector.unsupported-type",
                             f"{name!r} is not a supported Teamwork Graph object type", loc=loc,
                             hint=hint)
        elif name not in produced and complete:
            yield Diagnostic("connector.unproduced-type",
                             f"{name} is declared, but no mapping of the connector produces it",
                             loc=loc, hint="drop it from objectTypes, or add the mapping")


def check_undeclared_types(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """Every produced type must be declared: Atlassian rejects objects of undeclared types."""
    declared = set(connector.spec.objectTypes)
    for name, rule in produced_types(facts).items():
        if name not in declared:
            yield Diagnostic(
                "connector.undeclared-type",
                f"{rule.mapping.ref.file} produces {name}, which objectTypes does not declare",
                loc=("mappings", rule.mapping.index),
                hint=f"add {name} to objectTypes (the manifest must declare every type sent)",
            )


def check_scopes(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """`scopes:` says in words which data of each type is ingested (the data scope topic)."""
    scopes = connector.spec.scopes
    declared = connector.spec.objectTypes
    for name in scopes:
        if name not in declared:
            yield Diagnostic("connector.unknown-scope", f"scope for undeclared type {name!r}",
                             loc=("scopes", name), hint=suggest(name, declared))
    missing = [t for t in declared if not scopes.get(t)]
    if missing:
        yield _empty("dataScope", ("scopes",), f"no scope is given for {', '.join(missing)}",
                     "say per type which source data is ingested, e.g. `atlassian:document: "
                     "files in the shared drives the admin selects`")


def _empty(topic: str, loc: Loc, message: str, hint: str) -> Diagnostic:
    return Diagnostic("connector.empty-topic", f"{topic}: {message}", loc=loc, hint=hint)


def check_topics(connector: LoadedConnector, facts: Facts) -> Iterator[Diagnostic]:
    """The five documentation topics each need the words only the author can give."""
    spec = connector.spec
    if not spec.source:
        yield _empty("dataScope", ("source",), "the source system is not named",
                     "add `source:` with the system's official name")
    if spec.sync.schedule is None:
        yield _empty("sync", ("sync", "schedule"), "the sync cadence is not given",
                     "add `sync: {schedule: {every: 1, unit: hours}}`")
    for key in ("scoping", "permissions", "pausing"):
        if not getattr(spec.controls, key):
            yield _empty("controls", ("controls", key), f"controls.{key} is empty",
                         f"say in words how admins control {key} (or that they cannot)")


CHECKS: tuple[Check, ...] = (
    check_capabilities_declared,
    check_workspace_wide_rules,
    check_unknown_permissions,
    check_identity_rules,
    check_containers,
    check_identity_files,
    check_mirror_state,
    check_mirror_feeds,
    check_event_like_feeds,
    check_incremental_cursor,
    check_cursor_expression,
    check_cursor_in_mappings,
    check_sync_mode,
    check_declared_types,
    check_undeclared_types,
    check_scopes,
    check_topics,
)


def codes(diags: Iterable[Diagnostic]) -> list[tuple[str, Loc]]:
    """(code, loc) pairs, the part of a diagnostic that tests compare."""
    return [(d.code, d.loc) for d in diags]
