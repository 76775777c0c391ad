"""Principal checks across a run: every USER / GROUP principal must name a user or group sent
with setUsers / setGroups, else the object is silently invisible to it (reference §1.4).

`PrincipalChecker` sees the run's entries one at a time (objects, users and groups in any
order) and reports, at the end:

* `access.unknown-user` / `access.unknown-group`: a principal id that no user / group has as
  externalId, per object and principal;
* `access.unknown-member`: a group member that is no user sent with setUsers;
* `access.empty-group`: a group with no members;
* `access.unreferenced-user`: a user no object grants access to, directly or via a group;
* `access.missing-container`: a CONTAINER principal whose container is not in the outputs;
* `access.workspace-only`: in a run that replicates permissions, an object granted only to
  EVERYONE / ATLASSIAN_WORKSPACE.

Unknown principals are warnings, errors with `strict=True`; the others are warnings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mapper.access.acl import (
    CONTAINER,
    GROUP,
    OPEN,
    USER,
    ObjectFacts,
    Principal,
    facts_of,
    iter_id_principals,
)
from mapper.access.outputs import Entry
from mapper.errors import Diagnostic, Loc, Severity, SourceSpan

EXAMPLES_PER_PRINCIPAL = 3


class KnownIdentities(Protocol):
    """Users and groups sent before this run (e.g. kept by a sync state store)."""

    def has_user(self, external_id: str) -> bool:
        """True when a user with this externalId was sent."""
        ...

    def has_group(self, external_id: str) -> bool:
        """True when a group with this externalId was sent."""
        ...


RuleLocations = Mapping[str, tuple[Loc, SourceSpan | None]]
"""Object type -> where its rule's `permissions` field is written (for the diagnostics)."""


@dataclass(frozen=True, slots=True)
class AccessFindings:
    """What the checks found: the diagnostics (examples, capped) and the full counts."""

    diagnostics: tuple[Diagnostic, ...]
    counts: Mapping[str, int]
    objects: int
    users: int
    groups: int

    @property
    def has_errors(self) -> bool:
        """Any finding is an error (unknown principals under `strict`)."""
        return any(d.is_error for d in self.diagnostics)

    def to_dict(self) -> dict[str, Any]:
        """The findings for a JSON report."""
        return {
            "objects": self.objects,
            "users": self.users,
            "groups": self.groups,
            "counts": dict(sorted(self.counts.items())),
            "examples": [d.to_dict() for d in self.diagnostics],
        }


@dataclass
class _Seen:
    """What the checker keeps: ids sent, principals referenced (counted, a few examples)."""

    users: set[str] = field(default_factory=set)
    groups: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # id, type
    referenced: Counter[Principal] = field(default_factory=Counter)
    examples: dict[Principal, list[tuple[str, str]]] = field(default_factory=dict)
    object_keys: set[int] = field(default_factory=set)
    containers: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    missing_containers: Counter[tuple[str, str]] = field(default_factory=Counter)
    open_only: list[tuple[str, str]] = field(default_factory=list)
    open_only_count: int = 0
    objects: int = 0


class PrincipalChecker:
    """Collects a run's entries and checks their principals when `finish()` is called."""

    def __init__(
        self,
        *,
        known: KnownIdentities | None = None,
        changes_only: bool = False,
        replicates_permissions: bool = False,
        strict: bool = False,
        locations: RuleLocations | None = None,
    ) -> None:
        self.known = known
        self.changes_only = changes_only
        """The entries are what changed (a sync run's): skip the checks that need them all."""
        self.replicates_permissions = replicates_permissions
        self.severity: Severity = "error" if strict else "warning"
        self.locations: RuleLocations = locations or {}
        self.seen = _Seen()

    def add_all(self, entries: Iterable[Entry]) -> None:
        """Add every entry."""
        for entry in entries:
            self.add(entry)

    def add(self, entry: Entry) -> None:
        """Add one object, user or group."""
        payload = entry.payload
        if entry.kind == "user":
            self.seen.users.add(str(payload.get("externalId")))
        elif entry.kind == "group":
            members = payload.get("members")
            found = members if isinstance(members, list) else ()
            ids = tuple(
                (str(m.get("externalId")), str(m.get("type") or USER))
                for m in found
                if isinstance(m, dict)
            )
            self.seen.groups[str(payload.get("externalId"))] = ids
        else:
            self.add_facts(facts_of(payload))

    def add_facts(self, facts: ObjectFacts) -> None:
        """Add one object, already read (`acl.facts_of`)."""
        seen = self.seen
        seen.objects += 1
        key = (facts.type, facts.id)
        seen.object_keys.add(hash(key))
        controls = facts.controls
        for principal in set(iter_id_principals(controls)):
            seen.referenced[principal] += 1
            kept = seen.examples.setdefault(principal, [])
            if len(kept) < EXAMPLES_PER_PRINCIPAL:
                kept.append(key)
        if any(p.type == CONTAINER for control in controls for p in control):
            container = facts.container
            if container is None:
                seen.missing_containers[("", "")] += 1
                seen.containers.setdefault(("", ""), key)
            else:
                seen.containers.setdefault(container, key)
        if controls and all(p.type in OPEN for control in controls for p in control):
            seen.open_only_count += 1
            if len(seen.open_only) < EXAMPLES_PER_PRINCIPAL:
                seen.open_only.append(key)

    def finish(self) -> AccessFindings:
        """Check what was added; the findings, with counts per code."""
        counts: Counter[str] = Counter()
        whole = not self.changes_only
        diags = [
            *self._unknown_principals(counts),
            *self._group_problems(counts),
            *(self._unreferenced_users(counts) if whole else ()),
            *(self._missing_containers(counts) if whole else ()),
            *self._open_only(counts),
        ]
        seen = self.seen
        return AccessFindings(
            tuple(diags), dict(counts), seen.objects, len(seen.users), len(seen.groups)
        )

    def _has(self, principal: Principal) -> bool:
        pid = principal.id or ""
        if principal.type == USER:
            return pid in self.seen.users or bool(self.known and self.known.has_user(pid))
        return pid in self.seen.groups or bool(self.known and self.known.has_group(pid))

    def _unknown_principals(self, counts: Counter[str]) -> list[Diagnostic]:
        diags: list[Diagnostic] = []
        for principal in sorted(self.seen.referenced):
            if self._has(principal):
                continue
            is_user = principal.type == USER
            code = "access.unknown-user" if is_user else "access.unknown-group"
            counts[code] += self.seen.referenced[principal]
            pool = self.seen.users if is_user else self.seen.groups
            hint = _closest(principal.id or "", pool) or (
                f"no `{'users' if is_user else 'groups'}:` rule gave externalId "
                f"{principal.id!r}; the object is invisible to it after ingestion"
            )
            for type_name, object_id in self.seen.examples[principal]:
                loc, span = self.locations.get(type_name, ((), None))
                diags.append(
                    Diagnostic(
                        code,
                        f"{type_name} {object_id!r} grants {principal}, which is no "
                        f"{'user' if is_user else 'group'} sent with "
                        f"{'setUsers' if is_user else 'setGroups'}",
                        loc=loc,
                        span=span,
                        hint=hint,
                        severity=self.severity,
                    )
                )
            more = self.seen.referenced[principal] - len(self.seen.examples[principal])
            if more > 0:
                message = f"{principal} is granted by {more} more object(s)"
                diags.append(Diagnostic(code, message, severity=self.severity))
        return diags

    def _group_problems(self, counts: Counter[str]) -> list[Diagnostic]:
        diags = []
        for group_id, members in sorted(self.seen.groups.items()):
            if not members:
                counts["access.empty-group"] += 1
                diags.append(
                    _warning("access.empty-group", f"group {group_id!r} has no members")
                )
            for member, kind in members if self.seen.users or self.known else ():
                if not self._has(Principal(GROUP if kind == GROUP else USER, member)):
                    counts["access.unknown-member"] += 1
                    diags.append(
                        _warning(
                            "access.unknown-member",
                            f"group {group_id!r} lists member {kind} {member!r}, which was not "
                            f"sent with {'setGroups' if kind == GROUP else 'setUsers'}",
                        )
                    )
        return diags

    def _unreferenced_users(self, counts: Counter[str]) -> list[Diagnostic]:
        if not self.seen.objects:  # a run of users alone: the objects come from another run
            return []
        reached = {p.id for p in self.seen.referenced if p.type == USER}
        todo = [p.id or "" for p in self.seen.referenced if p.type == GROUP]
        groups_done = set(todo)
        while todo:  # members of granted groups, through nested groups
            for member, kind in self.seen.groups.get(todo.pop(), ()):
                if kind != GROUP:
                    reached.add(member)
                elif member not in groups_done:
                    groups_done.add(member)
                    todo.append(member)
        diags = []
        for user in sorted(self.seen.users - reached):
            counts["access.unreferenced-user"] += 1
            diags.append(
                _warning(
                    "access.unreferenced-user",
                    f"user {user!r} is granted access to no object (directly or via a group)",
                )
            )
        return diags

    def _missing_containers(self, counts: Counter[str]) -> list[Diagnostic]:
        diags = []
        for container, example in sorted(self.seen.containers.items()):
            if container != ("", "") and hash(container) in self.seen.object_keys:
                continue
            counts["access.missing-container"] += 1
            what = (
                "has no containerKey"
                if container == ("", "")
                else f"has container {container[0]} {container[1]!r}, which is not in the outputs"
            )
            diags.append(
                _warning(
                    "access.missing-container",
                    f"{example[0]} {example[1]!r} grants CONTAINER but {what}",
                    hint="CONTAINER grants nobody mapper can name until the container is sent",
                )
            )
        return diags

    def _open_only(self, counts: Counter[str]) -> list[Diagnostic]:
        if not self.replicates_permissions or not self.seen.open_only_count:
            return []
        counts["access.workspace-only"] = self.seen.open_only_count
        return [
            _warning(
                "access.workspace-only",
                f"{type_name} {object_id!r} is granted only to EVERYONE / ATLASSIAN_WORKSPACE, "
                "in a run that replicates permissions",
                hint=f"{self.seen.open_only_count} object(s) in all; map the source ACL",
            )
            for type_name, object_id in self.seen.open_only
        ]


def _warning(code: str, message: str, *, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, hint=hint, severity="warning")


def _closest(name: str, pool: Iterable[str]) -> str | None:
    """Did-you-mean among the ids sent, for ids that differ only in case, braces or spaces
    (opaque ids that merely look alike are not suggested: they are different users)."""
    wanted = _bare(name)
    for known in pool:
        if _bare(known) == wanted:
            return f"did you mean {known!r}? (ids are compared exactly)"
    return None


def _bare(value: str) -> str:
    return value.strip().strip("{}").lower()
